"""Snakemake adapter: preprocess every image of a cohort's manifest (paper II.A)."""

from pathlib import Path

from bacseg.ingest import read_source_files
from bacseg.logs import logged_job
from bacseg.preprocess import PreprocessOutputs, PreprocessParams, preprocess_manifest

# Guarded: the worker processes (spawn) re-import this file and must not rerun the job.
if __name__ == "__main__":
    with logged_job(snakemake.log[0]):
        outputs = PreprocessOutputs(
            table=Path(snakemake.output.table),
            images=Path(snakemake.output.images),
            breast_masks=Path(snakemake.output.breast_masks),
            bac_masks=Path(snakemake.output.bac_masks),
        )
        preprocess_manifest(
            snakemake.input.manifest,
            read_source_files(snakemake.input.source_files),
            outputs,
            PreprocessParams.from_mapping(snakemake.params.preprocess),
            annotations=snakemake.input.annotations,
            workers=snakemake.threads,
        )
