"""Snakemake adapter: supplementary p-values of every network against SCU-Net, per metric and level."""

from bacseg.logs import logged_job
from bacseg.tables import read_per_sample, write_pvalues

with logged_job(snakemake.log[0]):
    patch = read_per_sample(snakemake.params.models, snakemake.input.patch)
    whole_image = read_per_sample(snakemake.params.models, snakemake.input.whole_image)
    write_pvalues(patch, whole_image, csv=snakemake.output.csv, markdown=snakemake.output.markdown)
