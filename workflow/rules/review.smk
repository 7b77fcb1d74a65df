# Review notebooks, one per stage (data, training, evaluation, quantification, longitudinal), each executed by the
# notebook: directive, kept under results/notebooks/ (the rule's log) and rendered there to HTML; and the run's
# provenance. The evaluation review's rule lives with its stage (evaluate.smk).

REVIEW_NOTEBOOKS = ["data_review", "training_review", "evaluation_review", "quantification_review"]
REVIEW_NOTEBOOKS += ["longitudinal_review"] if "C" in COHORTS else []


rule data_review:
    input:
        manifests=expand("results/data/{cohort}/manifest.csv", cohort=COHORTS),
        annotations=expand("results/data/{cohort}/annotations.json", cohort=COHORTS),
        tables=expand("results/preprocessed/{cohort}/preprocessed.csv", cohort=COHORTS),
        patch_index="results/patches/index.csv",
        counts="results/patches/counts.json",
        # Read only to show cohort A's stored pixels, for synthetic data (see the notebook).
        source_files=private("A/source_files.csv"),
    output:
        counts=report("results/review/data_counts.csv", category="Review", caption="../report/data_review.rst"),
    params:
        patch_size=config["patches"]["size"],
        show_stored_pixels=config["data"]["source"] == "synthetic",
    log:
        # The executed notebook, kept for reading.
        notebook="results/notebooks/data_review.ipynb",
    benchmark:
        "results/benchmarks/data_review.tsv"
    conda:
        "../../envs/figures.yaml"
    notebook:
        "../notebooks/data_review.py.ipynb"



rule training_review:
    input:
        metrics=expand("results/models/trained/{model}/metrics.csv", model=MODELS),
        summaries=expand("results/models/trained/{model}/summary.json", model=MODELS),
    output:
        summary=report(
            "results/review/training_summary.csv", category="Review", caption="../report/training_review.rst"
        ),
    params:
        models=MODELS,
    log:
        # The executed notebook, kept for reading.
        notebook="results/notebooks/training_review.ipynb",
    benchmark:
        "results/benchmarks/training_review.tsv"
    conda:
        "../../envs/figures.yaml"
    notebook:
        "../notebooks/training_review.py.ipynb"


rule quantification_review:
    input:
        # Cohort B's breast-CT comparison, when this run has one.
        unpack(lambda wc: {"per_subject": rules.ct_comparison.output.per_subject,
                           "ct_comparison": rules.ct_comparison.output.table} if has_breast_ct() else {}),
        metrics="results/quantification/A/metrics.csv",
        agreement=rules.figure5_agreement.output.table,
    output:
        ratios=report(
            "results/review/quantification_ratios.csv", category="Review", caption="../report/quantification_review.rst"
        ),
    params:
        model=QUANTIFIED_MODEL,
        cutoff=config["quantify"]["cutoff"],
        intensity_threshold=config["quantify"]["intensity_threshold"],
        thresholds=config["quantify"]["thresholds"],
        split=config["evaluate"]["split"],
    log:
        # The executed notebook, kept for reading.
        notebook="results/notebooks/quantification_review.ipynb",
    benchmark:
        "results/benchmarks/quantification_review.tsv"
    conda:
        "../../envs/figures.yaml"
    notebook:
        "../notebooks/quantification_review.py.ipynb"


rule longitudinal_review:
    input:
        per_exam=rules.longitudinal.output.per_exam,
        summary=rules.longitudinal.output.table,
    output:
        by_subject=report(
            "results/review/longitudinal_by_subject.csv", category="Review", caption="../report/longitudinal_review.rst"
        ),
    params:
        intensity_threshold=config["quantify"]["intensity_threshold"],
        subjects=config["quantify"]["figure6_subjects"],
    log:
        # The executed notebook, kept for reading.
        notebook="results/notebooks/longitudinal_review.ipynb",
    benchmark:
        "results/benchmarks/longitudinal_review.tsv"
    conda:
        "../../envs/figures.yaml"
    notebook:
        "../notebooks/longitudinal_review.py.ipynb"


rule render_review:
    input:
        # The notebook rule's log: the executed notebook.
        "results/notebooks/{notebook}.ipynb",
    output:
        report("results/notebooks/{notebook}.html", category="Review", caption="../report/review_notebook.rst"),
    params:
        folder=subpath(output[0], parent=True),
        # Snakemake's preamble cell (this machine's paths, the pickled job) is not for readers.
        hidden_tag="snakemake-job-properties",
    wildcard_constraints:
        notebook="|".join(REVIEW_NOTEBOOKS),
    log:
        "results/logs/render_review/{notebook}.log",
    benchmark:
        "results/benchmarks/render_review/{notebook}.tsv"
    conda:
        "../../envs/figures.yaml"
    shell:
        "jupyter nbconvert --to html --TagRemovePreprocessor.remove_cell_tags={params.hidden_tag}"
        " --output-dir {params.folder} --output {wildcards.notebook} {input} > {log} 2>&1"


rule review_stage:
    input:
        rules.data_review.output,
        rules.training_review.output,
        rules.evaluation_review.output,
        rules.quantification_review.output,
        rules.longitudinal_review.output if "C" in COHORTS else [],
        expand("results/notebooks/{notebook}.html", notebook=REVIEW_NOTEBOOKS),


rule provenance:
    output:
        "results/provenance.json",
    params:
        config=config,
    log:
        "results/logs/provenance.log",
    benchmark:
        "results/benchmarks/provenance.tsv"
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/provenance.py"
