"""Snakemake adapter: cohort B's per-subject metric sums against the breast CT, one panel per metric and measure."""

import pandas as pd

from bacseg.figures.ct_comparison import write_ct_comparison_figure
from bacseg.logs import logged_job

with logged_job(snakemake.log[0]):
    x = snakemake.params.settings["intensity_threshold"]
    write_ct_comparison_figure(
        pd.read_csv(snakemake.input[0], dtype={"subject_id": str}),
        pdf=snakemake.output.pdf,
        png=snakemake.output.png,
        metrics_names=["PM", "AM", "SIM", f"TAM_{x}", f"TSIM_{x}"],
    )
