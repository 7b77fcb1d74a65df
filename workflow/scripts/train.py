"""Snakemake adapter: train one network on cohort A's selected patches and keep its best epoch (paper II.B)."""

import json
import shutil

from bacseg.logs import logged_job
from bacseg.runtime import configure_jax

with logged_job(snakemake.log[0]):
    configure_jax()
    from bacseg.training import train_and_evaluate

    summary = train_and_evaluate(
        snakemake.wildcards.model,
        snakemake.params.settings,
        patch_index=snakemake.input.index,
        preprocessed_table=snakemake.input.table,
        workdir=snakemake.params.resume_dir,
        best_checkpoint=snakemake.output.checkpoint,
        metrics_csv=snakemake.output.metrics,
        patch_scores_csv=snakemake.output.patch_counts,
        seed=snakemake.params.seed,
    )
    with open(snakemake.output.summary, "w") as f:
        json.dump(summary, f, indent=1)
    # Only an unfinished training needs its epoch checkpoints; a stale folder would refuse other settings.
    shutil.rmtree(snakemake.params.resume_dir)
