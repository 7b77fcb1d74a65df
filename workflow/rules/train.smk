# Paper II.B: train each network on cohort A's calcified training patches (Dice loss, AdamW, online
# augmentation), keep the epoch with the best validation Dice. One job per network; a job that is
# killed resumes from its last finished epoch (the resume folder is not an output, so it survives a
# failure; a finished job removes it, so a rerun with other settings starts afresh).


rule train:
    input:
        index="results/patches/index.csv",
        table="results/preprocessed/A/preprocessed.csv",
        images="results/preprocessed/A/images",
        bac_masks="results/preprocessed/A/bac_masks",
    output:
        checkpoint=directory("results/models/trained/{model}/best"),
        metrics=report(
            "results/models/trained/{model}/metrics.csv",
            category="Training",
            subcategory="{model}",
            caption="../report/training_metrics.rst",
        ),
        patch_counts="results/models/trained/{model}/patch_counts.csv",
        summary="results/models/trained/{model}/summary.json",
    params:
        settings=config["train"],
        seed=config["seed"],
        resume_dir=lambda wc: f"results/models/trained/{wc.model}/resume",
    resources:
        gpu=config["gpu"],
    log:
        "results/logs/train/{model}.log",
    benchmark:
        "results/benchmarks/train/{model}.tsv"
    conda:
        jax_env()
    threads: workflow.cores
    script:
        "../scripts/train.py"


rule train_stage:
    input:
        expand("results/models/trained/{model}/best", model=MODELS),
