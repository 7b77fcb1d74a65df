"""Snakemake adapter: a cohort's metrics table (paper Eq. 3-4), the quantified network's maps and the label masks."""

from bacseg.logs import logged_job
from bacseg.quantification import write_quantification

with logged_job(snakemake.log[0]):
    write_quantification(
        snakemake.output[0],
        snakemake.input.preprocessed,
        snakemake.input.manifest,
        predictions_table=snakemake.input.predictions,
        settings=snakemake.params.settings,
    )
