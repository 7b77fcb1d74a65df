# Paper Eq. 3-4 and the clinical half: one network's stitched maps (quantify.model) and the label masks
# quantified per cohort, then Figure 5 (cohort A's validation images), the breast-CT comparison (B) and the
# longitudinal Figure 6 (C). Compute and plotting are separate rules: editing a plot reruns that plot only.


rule link_breast_ct:
    input:
        breast_ct=breast_ct_source,
        source_files=private("B/source_files.csv"),
        manifest="results/data/B/manifest.csv",
    output:
        "results/data/B/breast_ct.csv",
    params:
        ingest=config["ingest"],
        seed=config["seed"],
    log:
        "results/logs/link_breast_ct.log",
    benchmark:
        "results/benchmarks/link_breast_ct.tsv"
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/link_breast_ct.py"


rule link_synthetic_truth:
    input:
        truth=private("synthetic/{cohort}/truth.csv"),
        source_files=private("{cohort}/source_files.csv"),
    output:
        report("results/data/{cohort}/image_truth.csv", category="Data", caption="../report/truth.rst"),
    log:
        "results/logs/link_synthetic_truth/{cohort}.log",
    benchmark:
        "results/benchmarks/link_synthetic_truth/{cohort}.tsv"
    conda:
        "../../envs/data.yaml"
    script:
        "../scripts/link_synthetic_truth.py"


rule quantify:
    input:
        preprocessed="results/preprocessed/{cohort}/preprocessed.csv",
        images="results/preprocessed/{cohort}/images",
        bac_masks="results/preprocessed/{cohort}/bac_masks",
        manifest="results/data/{cohort}/manifest.csv",
        predictions=f"results/predictions/{QUANTIFIED_MODEL}/{{cohort}}/predictions.csv",
        probabilities=f"results/predictions/{QUANTIFIED_MODEL}/{{cohort}}/probabilities",
    output:
        report("results/quantification/{cohort}/metrics.csv", category="Quantification",
               caption="../report/quantification.rst"),
    params:
        settings=config["quantify"],
    log:
        "results/logs/quantify/{cohort}.log",
    benchmark:
        "results/benchmarks/quantify/{cohort}.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/quantify.py"


rule figure5_agreement:
    input:
        "results/quantification/A/metrics.csv",
    output:
        table=report("results/tables/fig5_agreement.csv", category="Tables", caption="../report/fig5_table.rst"),
        markdown="results/tables/fig5_agreement.md",
    params:
        settings=config["quantify"],
        split=config["evaluate"]["split"],
    log:
        "results/logs/figure5_agreement.log",
    benchmark:
        "results/benchmarks/figure5_agreement.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure5_agreement.py"


rule figure5:
    input:
        "results/quantification/A/metrics.csv",
    output:
        pdf="results/figures/fig5_agreement.pdf",
        png=report("results/figures/fig5_agreement.png", category="Figures", caption="../report/fig5.rst"),
    params:
        settings=config["quantify"],
        split=config["evaluate"]["split"],
    log:
        "results/logs/figure5.log",
    benchmark:
        "results/benchmarks/figure5.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure5.py"


rule ct_comparison:
    input:
        unpack(lambda wc: cohort_truth("B")),
        metrics="results/quantification/B/metrics.csv",
        breast_ct="results/data/B/breast_ct.csv",
    output:
        per_subject=report("results/quantification/B/per_subject.csv", category="Quantification",
                           caption="../report/ct_per_subject.rst"),
        table=report("results/tables/ct_comparison.csv", category="Tables", caption="../report/ct_table.rst"),
        markdown="results/tables/ct_comparison.md",
    params:
        settings=config["quantify"],
    log:
        "results/logs/ct_comparison.log",
    benchmark:
        "results/benchmarks/ct_comparison.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/ct_comparison.py"


rule figure_ct:
    input:
        "results/quantification/B/per_subject.csv",
    output:
        pdf="results/figures/ct_comparison.pdf",
        png=report("results/figures/ct_comparison.png", category="Figures", caption="../report/ct_figure.rst"),
    params:
        settings=config["quantify"],
    log:
        "results/logs/figure_ct.log",
    benchmark:
        "results/benchmarks/figure_ct.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure_ct.py"


rule longitudinal:
    input:
        unpack(lambda wc: cohort_truth("C")),
        metrics="results/quantification/C/metrics.csv",
    output:
        per_exam=report("results/quantification/C/longitudinal.csv", category="Quantification",
                        caption="../report/longitudinal_per_exam.rst"),
        table=report("results/tables/longitudinal.csv", category="Tables", caption="../report/longitudinal.rst"),
        markdown="results/tables/longitudinal.md",
    params:
        settings=config["quantify"],
    log:
        "results/logs/longitudinal.log",
    benchmark:
        "results/benchmarks/longitudinal.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/longitudinal.py"


rule figure6:
    input:
        per_exam="results/quantification/C/longitudinal.csv",
        manifest="results/data/C/manifest.csv",
        preprocessed="results/preprocessed/C/preprocessed.csv",
        images="results/preprocessed/C/images",
        breast_masks="results/preprocessed/C/breast_masks",
        predictions=f"results/predictions/{QUANTIFIED_MODEL}/C/predictions.csv",
        probabilities=f"results/predictions/{QUANTIFIED_MODEL}/C/probabilities",
    output:
        pdf="results/figures/fig6_longitudinal.pdf",
        png=report("results/figures/fig6_longitudinal.png", category="Figures", caption="../report/fig6.rst"),
    params:
        settings=config["quantify"],
    log:
        "results/logs/figure6.log",
    benchmark:
        "results/benchmarks/figure6.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure6.py"


rule quantification_stage:
    input:
        expand("results/quantification/{cohort}/metrics.csv", cohort=COHORTS),
        rules.figure5_agreement.output,
        rules.figure5.output,
        rules.ct_comparison.output if has_breast_ct() else [],
        rules.figure_ct.output if has_breast_ct() else [],
        rules.longitudinal.output if "C" in COHORTS else [],
        rules.figure6.output if "C" in COHORTS else [],
