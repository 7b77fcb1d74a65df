# Executed review notebooks (kept under results/notebooks for reading) and the run's provenance.


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
