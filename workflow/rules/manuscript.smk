# The manuscript: every table, figure and number read from this run's results into the template in manuscript/
# (words only). HTML always, standalone; a PDF beside it where pdflatex is installed (not declared: optional).

# The tables shown (each CSV's Markdown sits beside it, same name .md) and the figures with their report
# captions; cohort B's and C's only where the run has them.
MANUSCRIPT_TABLES = [
    rules.table1.output.versus_paper,
    rules.table1_pvalues.output.csv,
    rules.figure5_agreement.output.table,
    *([rules.ct_comparison.output.table] if has_breast_ct() else []),
    *([rules.longitudinal.output.table] if "C" in COHORTS else []),
]
MANUSCRIPT_FIGURES = {
    rules.figure2.output.png: "fig2.rst",
    rules.figure3.output.png: "fig3.rst",
    rules.figure4.output.png: "fig4.rst",
    rules.figure5.output.png: "fig5.rst",
    **({rules.figure_ct.output.png: "ct_figure.rst"} if has_breast_ct() else {}),
    **({rules.figure6.output.png: "fig6.rst"} if "C" in COHORTS else {}),
}


rule manuscript:
    input:
        template=in_checkout("manuscript/manuscript.md.j2"),
        page=in_checkout("manuscript/page.html.j2"),
        latex=in_checkout("manuscript/document.tex.j2"),
        provenance=rules.provenance.output[0],
        models=rules.model_summary.output[0],
        table1=rules.table1.output.csv,
        patch_counts=rules.patch_index.output.counts,
        manifests=expand("results/data/{cohort}/manifest.csv", cohort=COHORTS),
        tables=MANUSCRIPT_TABLES,
        markdown=[str(Path(csv).with_suffix(".md")) for csv in MANUSCRIPT_TABLES],
        figures=list(MANUSCRIPT_FIGURES),
        captions=[in_checkout(f"workflow/report/{rst}") for rst in MANUSCRIPT_FIGURES.values()],
    output:
        html=report("results/manuscript/manuscript.html", category="Manuscript", caption="../report/manuscript.rst"),
        markdown="results/manuscript/manuscript.md",
    params:
        cohorts=COHORTS,
    log:
        "results/logs/manuscript.log",
    benchmark:
        "results/benchmarks/manuscript.tsv"
    conda:
        "../../envs/manuscript.yaml"
    script:
        "../scripts/manuscript.py"
