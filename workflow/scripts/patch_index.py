"""Snakemake adapter: the patch index of cohort A and its counts per split (paper II.C)."""

from bacseg.logs import logged_job
from bacseg.patches import PatchParams, write_patch_index

with logged_job(snakemake.log[0]):
    write_patch_index(
        snakemake.input.table,
        snakemake.output.index,
        snakemake.output.counts,
        PatchParams.from_mapping(snakemake.params.patches),
    )
