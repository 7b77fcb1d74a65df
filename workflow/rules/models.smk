# Paper II.B / Fig. 1-2: the 13 networks from the registry, their parameter counts, Figure 2, and the
# authors' released SCU-Net weights converted to the project's checkpoint format.


rule model_summary:
    output:
        report("results/models/models.json", category="Models", caption="../report/models.rst"),
    log:
        "results/logs/model_summary.log",
    benchmark:
        "results/benchmarks/model_summary.tsv"
    conda:
        "../../envs/jax.yaml"
    script:
        "../scripts/model_summary.py"


rule figure2:
    input:
        "results/models/models.json",
    output:
        pdf="results/figures/fig2_parameters.pdf",
        png=report("results/figures/fig2_parameters.png", category="Figures", caption="../report/fig2.rst"),
    log:
        "results/logs/figure2.log",
    benchmark:
        "results/benchmarks/figure2.tsv"
    conda:
        "../../envs/figures.yaml"
    script:
        "../scripts/figure2.py"


rule convert_authors_weights:
    input:
        in_checkout(config["authors_weights"]),
    output:
        directory("results/models/authors/SCU-Net"),
    log:
        "results/logs/convert_authors_weights.log",
    benchmark:
        "results/benchmarks/convert_authors_weights.tsv"
    conda:
        "../../envs/torch.yaml"
    script:
        "../scripts/convert_authors_weights.py"
