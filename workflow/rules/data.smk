# Paper II.A input: synthetic cohorts with known truth (default) or the user's DICOM + MD.ai export,
# ingested into one pseudonymised manifest per cohort; the paths of the original files go to private tables.


rule synthesize_cohort:
    # The synthetic archive stands in for a hospital's: patient names, birth dates and IDs in the headers, folders
    # named after the patients, a breast-CT table keyed by PatientID. So it lives with the private tables, outside
    # the shareable results/ (ingest pseudonymises it; image_truth links its truth to the image IDs).
    output:
        dicom_dir=directory(private("synthetic/{cohort}/dicom")),
        annotations=private("synthetic/{cohort}/annotations.json"),
        truth_masks=directory(private("synthetic/{cohort}/truth_masks")),
        truth=private("synthetic/{cohort}/truth.csv"),
        breast_ct=private("synthetic/{cohort}/breast_ct.csv"),  # cohort B's breast CT; header only for A, C
    params:
        cohort_config=lambda wc: config["synthetic"][wc.cohort],
        seed=lambda wc: config["seed"],
    log:
        "results/logs/synthesize_cohort/{cohort}.log",
    benchmark:
        "results/benchmarks/synthesize_cohort/{cohort}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: workflow.cores
    script:
        "../scripts/synthesize_cohort.py"


rule ingest:
    input:
        unpack(lambda wc: raw_cohort(wc.cohort)),
    output:
        manifest=report("results/data/{cohort}/manifest.csv", category="Data", caption="../report/manifest.rst"),
        annotations="results/data/{cohort}/annotations.json",
        source_files=private("{cohort}/source_files.csv"),
        skipped=private("{cohort}/skipped.csv"),
    params:
        ingest=config["ingest"],
        seed=config["seed"],
    log:
        "results/logs/ingest/{cohort}.log",
    benchmark:
        "results/benchmarks/ingest/{cohort}.tsv"
    conda:
        "../../envs/data.yaml"
    threads: workflow.cores
    script:
        "../scripts/ingest.py"


rule data_stage:
    input:
        expand("results/data/{cohort}/manifest.csv", cohort=COHORTS),
