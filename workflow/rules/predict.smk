# Whole-image prediction: each network slides over every image it is scored on (cohort A's annotated
# validation images; any image of cohorts B and C for the quantification rules to come), its tiles
# stitched into one probability map per image.


rule predict:
    input:
        checkpoint=model_checkpoint,
        table="results/preprocessed/{cohort}/preprocessed.csv",
        images="results/preprocessed/{cohort}/images",
    output:
        probabilities=directory("results/predictions/{model}/{cohort}/probabilities"),
        table="results/predictions/{model}/{cohort}/predictions.csv",
    params:
        # Tiles as the networks were trained: the patch size and overlap.
        config={"predict": config["predict"], "patches": config["patches"]},
        split=lambda wc: config["evaluate"]["split"] if wc.cohort == "A" else None,
    resources:
        gpu=config["gpu"],
    log:
        "results/logs/predict/{model}/{cohort}.log",
    benchmark:
        "results/benchmarks/predict/{model}/{cohort}.tsv"
    conda:
        jax_env()
    threads: workflow.cores
    script:
        "../scripts/predict.py"
