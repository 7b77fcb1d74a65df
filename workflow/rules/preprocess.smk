# Paper II.A: median filter, breast mask by opening (erases burned-in labels), annotation mask by
# closing, contrast enhancement, 8-bit output; one job per cohort, parallel over its images.


rule preprocess:
    input:
        manifest="results/data/{cohort}/manifest.csv",
        annotations="results/data/{cohort}/annotations.json",
        source_files=private("{cohort}/source_files.csv"),
    output:
        images=directory("results/preprocessed/{cohort}/images"),
        breast_masks=directory("results/preprocessed/{cohort}/breast_masks"),
        bac_masks=directory("results/preprocessed/{cohort}/bac_masks"),
        table="results/preprocessed/{cohort}/preprocessed.csv",
    params:
        preprocess=config["preprocess"],
    log:
        "results/logs/preprocess/{cohort}.log",
    benchmark:
        "results/benchmarks/preprocess/{cohort}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: workflow.cores
    script:
        "../scripts/preprocess.py"
