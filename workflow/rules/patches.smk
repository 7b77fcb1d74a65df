# Paper II.C: 512x512 tiles with 64 px overlap over cohort A, background dropped, the patch index
# and the counts per split (the paper's 3,455 train / 901 validation beside ours).


rule patch_index:
    input:
        manifest="results/data/A/manifest.csv",
        table="results/preprocessed/A/preprocessed.csv",
        images="results/preprocessed/A/images",
        breast_masks="results/preprocessed/A/breast_masks",
        bac_masks="results/preprocessed/A/bac_masks",
    output:
        index="results/patches/index.csv",
        counts=report("results/patches/counts.json", category="Data", caption="../report/patch_counts.rst"),
    params:
        patches=config["patches"],
    log:
        "results/logs/patch_index.log",
    benchmark:
        "results/benchmarks/patch_index.tsv"
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/patch_index.py"


rule patch_stage:
    input:
        rules.patch_index.output,
        expand("results/preprocessed/{cohort}/preprocessed.csv", cohort=COHORTS),
