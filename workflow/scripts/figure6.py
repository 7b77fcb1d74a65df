"""Snakemake adapter: Figure 6, the area-normalised metric over the years and one subject's mammograms."""

import pandas as pd

from bacseg.figures.fig6_longitudinal import write_figure6
from bacseg.logs import logged_job

with logged_job(snakemake.log[0]):
    settings = snakemake.params.settings
    write_figure6(
        pd.read_csv(snakemake.input.per_exam, dtype={"subject_id": str, "exam_date": str}),
        pd.read_csv(snakemake.input.manifest, dtype=str, keep_default_na=False),
        snakemake.input.preprocessed,
        snakemake.input.predictions,
        pdf=snakemake.output.pdf,
        png=snakemake.output.png,
        metric=f"TAM_{settings['intensity_threshold']}",
        subjects=settings["figure6_subjects"],
        view=settings["figure6_view"],
        cutoff=settings["cutoff"],
    )
