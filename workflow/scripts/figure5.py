"""Snakemake adapter: Figure 5, predicted against ground-truth metrics (scatter and Bland-Altman) on cohort A."""

from bacseg.figures.fig5_agreement import write_figure5
from bacseg.logs import logged_job
from bacseg.quantification import read_metrics

with logged_job(snakemake.log[0]):
    x = snakemake.params.settings["intensity_threshold"]
    write_figure5(
        read_metrics(snakemake.input[0]),
        pdf=snakemake.output.pdf,
        png=snakemake.output.png,
        metrics_names=["PM", "AM", "SIM", f"TAM_{x}", f"TSIM_{x}"],
        split=snakemake.params.split,
    )
