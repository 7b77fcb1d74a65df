"""Snakemake adapter: one network's stitched probability map of every image of a cohort (or of its scored split)."""

from bacseg.evaluation import scored_images
from bacseg.logs import logged_job
from bacseg.runtime import configure_jax

with logged_job(snakemake.log[0]):
    configure_jax()
    from bacseg.inference.predictor import load_predictor
    from bacseg.inference.settings import settings_from_config
    from bacseg.inference.whole_image import predict_images

    settings, split = settings_from_config(snakemake.params.config), snakemake.params.split
    predict_images(
        snakemake.input.table,
        load_predictor(snakemake.input.checkpoint, batch_size=settings["batch_size"]),
        probabilities_dir=snakemake.output.probabilities,
        predictions_csv=snakemake.output.table,
        settings=settings,
        # Cohort A: the annotated images of the scored split; other cohorts: every image.
        image_ids=scored_images(snakemake.input.table, split) if split else None,
    )
