# Table 1, its supplementary p-values, Figures 3 and 4: every network scored patch-wise (its best
# epoch's validation patches) and on whole validation images (stitched probability maps > cutoff).
# Scoring is one rule per network; tables and figures only read those scores, so editing a
# plotting script reruns that plot alone.


rule evaluate_model:
    input:
        predictions="results/predictions/{model}/A/predictions.csv",
        probabilities="results/predictions/{model}/A/probabilities",
        patch_counts="results/models/trained/{model}/patch_counts.csv",
        truth="results/preprocessed/A/preprocessed.csv",
        bac_masks="results/preprocessed/A/bac_masks",
        breast_masks="results/preprocessed/A/breast_masks",
    output:
        whole_image="results/evaluation/{model}/whole_image_scores.csv",
        patch="results/evaluation/{model}/patch_scores.csv",
    params:
        settings=config["evaluate"],
    log:
        "results/logs/evaluate/{model}.log",
    benchmark:
        "results/benchmarks/evaluate/{model}.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/evaluate_model.py"


rule table1:
    input:
        whole_image=expand("results/evaluation/{model}/whole_image_scores.csv", model=MODELS),
        patch=expand("results/evaluation/{model}/patch_scores.csv", model=MODELS),
    output:
        csv=report("results/tables/table1.csv", category="Tables", caption="../report/table1.rst"),
        markdown="results/tables/table1.md",
        latex="results/tables/table1.tex",
        versus_paper=report(
            "results/tables/table1_vs_paper.csv", category="Tables", caption="../report/table1_vs_paper.rst"
        ),
        versus_paper_markdown="results/tables/table1_vs_paper.md",
    params:
        models=MODELS,
    log:
        "results/logs/table1.log",
    benchmark:
        "results/benchmarks/table1.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/table1.py"


rule table1_pvalues:
    input:
        whole_image=expand("results/evaluation/{model}/whole_image_scores.csv", model=MODELS),
        patch=expand("results/evaluation/{model}/patch_scores.csv", model=MODELS),
    output:
        csv=report("results/tables/table1_pvalues.csv", category="Tables", caption="../report/table1_pvalues.rst"),
        markdown="results/tables/table1_pvalues.md",
    params:
        models=MODELS,
    log:
        "results/logs/table1_pvalues.log",
    benchmark:
        "results/benchmarks/table1_pvalues.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/table1_pvalues.py"


rule figure3:
    input:
        patch_scores="results/evaluation/SCU-Net/patch_scores.csv",
        truth="results/preprocessed/A/preprocessed.csv",
        images="results/preprocessed/A/images",
        bac_masks="results/preprocessed/A/bac_masks",
        probabilities=expand("results/predictions/{model}/A/probabilities", model=FIGURE_MODELS),
    output:
        pdf="results/figures/fig3_patches.pdf",
        png=report("results/figures/fig3_patches.png", category="Figures", caption="../report/fig3.rst"),
    params:
        models=FIGURE_MODELS,
        size=config["patches"]["size"],
        cutoff=config["evaluate"]["cutoff"],
        examples=config["evaluate"]["figure_examples"],
    log:
        "results/logs/figure3.log",
    benchmark:
        "results/benchmarks/figure3.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure3.py"


rule figure4:
    input:
        whole_image_scores="results/evaluation/SCU-Net/whole_image_scores.csv",
        truth="results/preprocessed/A/preprocessed.csv",
        images="results/preprocessed/A/images",
        bac_masks="results/preprocessed/A/bac_masks",
        probabilities=expand("results/predictions/{model}/A/probabilities", model=FIGURE_MODELS),
    output:
        pdf="results/figures/fig4_whole_images.pdf",
        png=report("results/figures/fig4_whole_images.png", category="Figures", caption="../report/fig4.rst"),
    params:
        models=FIGURE_MODELS,
        cutoff=config["evaluate"]["cutoff"],
        examples=config["evaluate"]["figure_examples"],
    log:
        "results/logs/figure4.log",
    benchmark:
        "results/benchmarks/figure4.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure4.py"


rule discrimination:
    input:
        unpack(synthetic_truth),
        whole_image=expand("results/evaluation/{model}/whole_image_scores.csv", model=MODELS),
        probabilities=expand("results/predictions/{model}/A/probabilities", model=MODELS),
        truth="results/preprocessed/A/preprocessed.csv",
        bac_masks="results/preprocessed/A/bac_masks",
    output:
        csv=report("results/tables/discrimination.csv", category="Tables", caption="../report/discrimination.rst"),
        json="results/tables/discrimination.json",
    params:
        models=MODELS,
        cutoff=config["evaluate"]["cutoff"],
    log:
        "results/logs/discrimination.log",
    benchmark:
        "results/benchmarks/discrimination.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/discrimination.py"


rule evaluation_review:
    input:
        whole_image=expand("results/evaluation/{model}/whole_image_scores.csv", model=MODELS),
        predictions=expand("results/predictions/{model}/A/probabilities", model=MODELS),
        table1="results/tables/table1.csv",
        comparison="results/tables/table1_vs_paper.csv",
        pvalues="results/tables/table1_pvalues.csv",
        discrimination="results/tables/discrimination.csv",
        preprocessed="results/preprocessed/A/preprocessed.csv",
    output:
        f1_versus_paper=report(
            "results/review/f1_versus_paper.csv", category="Review", caption="../report/evaluation_review.rst"
        ),
    params:
        models=MODELS,
        cutoff=config["evaluate"]["cutoff"],
        examples=config["evaluate"]["figure_examples"],
    log:
        # The executed notebook, kept for reading.
        notebook="results/notebooks/evaluation_review.ipynb",
    benchmark:
        "results/benchmarks/evaluation_review.tsv"
    conda:
        "../../envs/figures.yaml"
    notebook:
        "../notebooks/evaluation_review.py.ipynb"


rule evaluation_stage:
    input:
        rules.table1.output,
        rules.table1_pvalues.output,
        rules.figure3.output,
        rules.figure4.output,
        rules.discrimination.output,
        rules.evaluation_review.output,
