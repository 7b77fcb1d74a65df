"""Snakemake adapter: a synthetic cohort's exact truth per ingested image, keyed by image_id (no path, no UID)."""

from bacseg.ingest.linked import image_truth
from bacseg.logs import logged_job

with logged_job(snakemake.log[0]):
    truth = image_truth(snakemake.input.source_files, snakemake.input.truth)
    truth.drop(columns="truth_mask_path").to_csv(snakemake.output[0], index=False)
