"""Snakemake adapter: the authors' released PyTorch SCU-Net checkpoint -> the project's checkpoint format."""

from bacseg.logs import logged_job
from bacseg.runtime import configure_jax

with logged_job(snakemake.log[0]):
    configure_jax()
    from bacseg.models.authors_weights import convert_authors_checkpoint

    convert_authors_checkpoint(snakemake.input[0], snakemake.output[0])
