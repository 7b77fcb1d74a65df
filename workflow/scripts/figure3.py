"""Snakemake adapter: Figure 3, validation patches spread from SCU-Net's best to its worst, and each model's mask."""

import pandas as pd

from bacseg.evaluation import probability_maps_in
from bacseg.figures.fig3_patches import write_figure3
from bacseg.figures.panels import pick_examples
from bacseg.logs import logged_job

with logged_job(snakemake.log[0]):
    params = snakemake.params
    patches = pick_examples(pd.read_csv(snakemake.input.patch_scores, dtype={"image_id": str}), k=params.examples)
    maps = {model: probability_maps_in(folder) for model, folder in zip(params.models, snakemake.input.probabilities)}
    write_figure3(
        patches, snakemake.input.truth, maps, size=params.size, pdf=snakemake.output.pdf, png=snakemake.output.png,
        cutoff=params.cutoff, models=params.models,
    )  # fmt: skip
