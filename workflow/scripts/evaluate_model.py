"""Snakemake adapter: one network's Table 1 samples, whole validation images and validation patches."""

import pandas as pd

from bacseg.evaluation import evaluate_images, probability_maps_in, score_patches
from bacseg.logs import logged_job

with logged_job(snakemake.log[0]):
    settings = snakemake.params.settings
    predicted = pd.read_csv(snakemake.input.predictions, dtype={"image_id": str})
    maps = probability_maps_in(snakemake.input.probabilities, predicted["image_id"])
    whole_image = evaluate_images(
        maps, snakemake.input.truth, cutoff=settings["cutoff"], empty=settings["empty"], region=settings["region"]
    )
    whole_image.to_csv(snakemake.output.whole_image, index=False)
    score_patches(snakemake.input.patch_counts, empty=settings["empty"]).to_csv(snakemake.output.patch, index=False)
