# Issue 8's realism benchmark: the authors' released SCU-Net (trained on real FFDM, converted by
# convert_authors_weights) judges a synthetic cohort A synthesised for it alone (config `realism`: its size,
# scale and seed; not the training cohort), beside real reference mammograms at the same pixel size.

rule realism:
    input:
        judge=rules.convert_authors_weights.output[0],
    output:
        json=report("results/review/realism.json", category="Review", caption="../report/realism.rst"),
        png=report("results/review/realism.png", category="Review", caption="../report/realism_figure.rst"),
    params:
        config=config,
    threads: workflow.cores
    log:
        "results/logs/realism.log",
    benchmark:
        "results/benchmarks/realism.tsv"
    conda:
        "../../envs/realism.yaml"
    script:
        "../scripts/realism.py"
