"""Snakemake adapter: preprocess every image of a cohort's manifest (paper II.A)."""

from pathlib import Path

from bacseg.logs import logged_job
from bacseg.preprocess import PreprocessParams, preprocess_manifest

# Guarded: the worker processes (spawn) re-import this file and must not rerun the job.
if __name__ == "__main__":
    with logged_job(snakemake.log[0]):
        preprocess_manifest(
            snakemake.input.manifest,
            Path(snakemake.output.table).parent,
            PreprocessParams.from_mapping(snakemake.params.preprocess),
            annotations=snakemake.input.annotations,
            workers=snakemake.threads,
        )
