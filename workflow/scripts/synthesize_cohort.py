"""Snakemake adapter: one synthetic cohort as DICOM files, an MD.ai export and its truth tables."""

from bacseg.logs import logged_job
from bacseg.synthetic import CohortOutputs, generate_cohort

# Guarded: the worker processes (spawn) re-import this file and must not rerun the job.
if __name__ == "__main__":
    with logged_job(snakemake.log[0]):
        generate_cohort(
            snakemake.wildcards.cohort,
            CohortOutputs(**snakemake.output),  # the rule names its outputs after the fields
            dict(snakemake.params.cohort_config),
            seed=snakemake.params.seed,
            workers=snakemake.threads,
        )
