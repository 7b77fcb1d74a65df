"""Snakemake adapter: a cohort's DICOM folder (+ MD.ai export) -> pseudonymised manifest and annotations,
and the private tables of source files and skipped files."""

from bacseg.ingest import IngestOptions, IngestOutputs, ingest
from bacseg.logs import logged_job

# Guarded: the worker processes (spawn) re-import this file and must not rerun the job.
if __name__ == "__main__":
    with logged_job(snakemake.log[0]):
        outputs = IngestOutputs(
            manifest=snakemake.output.manifest,
            annotations=snakemake.output.annotations,
            source_files=snakemake.output.source_files,
            skipped=snakemake.output.skipped,
        )
        options = IngestOptions.from_mapping(
            snakemake.params.ingest,
            cohort=snakemake.wildcards.cohort,
            seed=snakemake.params.seed,
            workers=snakemake.threads,
        )
        ingest(snakemake.input.dicom_dir, outputs, mdai_export=snakemake.input.get("annotations"), options=options)
