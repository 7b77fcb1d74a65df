"""Snakemake adapter: one synthetic cohort as DICOM files, an MD.ai export and its truth table."""

from pathlib import Path

from bacseg.logs import logged_job
from bacseg.synthetic import generate_cohort

# Guarded: the worker processes (spawn) re-import this file and must not rerun the job.
if __name__ == "__main__":
    with logged_job(snakemake.log[0]):
        generate_cohort(
            snakemake.wildcards.cohort,
            Path(snakemake.output.truth).parent,
            dict(snakemake.params.cohort_config),
            seed=snakemake.params.seed,
            workers=snakemake.threads,
        )
