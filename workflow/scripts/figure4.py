"""Snakemake adapter: Figure 4, whole validation images spread from SCU-Net's best to its worst F1."""

import pandas as pd

from bacseg.evaluation import probability_maps_in
from bacseg.figures.fig4_whole_images import write_figure4
from bacseg.figures.panels import pick_examples
from bacseg.logs import logged_job

with logged_job(snakemake.log[0]):
    params = snakemake.params
    scores = pd.read_csv(snakemake.input.whole_image_scores, dtype={"image_id": str})
    images = pick_examples(scores, k=params.examples)
    maps = {model: probability_maps_in(folder) for model, folder in zip(params.models, snakemake.input.probabilities)}
    write_figure4(
        images, snakemake.input.truth, maps, pdf=snakemake.output.pdf, png=snakemake.output.png,
        cutoff=params.cutoff, models=params.models,
    )  # fmt: skip
