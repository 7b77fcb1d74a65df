"""Snakemake adapter: a cohort's DICOM folder (+ MD.ai export) -> pseudonymised manifest and annotations."""

from pathlib import Path

from bacseg.ingest import IngestOptions, ingest
from bacseg.logs import logged_job

# Guarded: the worker processes (spawn) re-import this file and must not rerun the job.
if __name__ == "__main__":
    with logged_job(snakemake.log[0]):
        options = IngestOptions(
            cohort=snakemake.wildcards.cohort,
            seed=snakemake.params.seed,
            workers=snakemake.threads,
            **snakemake.params.ingest,
        )
        ingest(
            snakemake.input.dicom_dir,
            Path(snakemake.output.manifest).parent,
            mdai_export=snakemake.input.get("annotations"),
            options=options,
        )
