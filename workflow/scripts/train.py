"""Snakemake adapter: train one network on cohort A's selected patches and keep its best epoch (paper II.B)."""

import json

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
        patch_scores_csv=snakemake.output.patch_scores,
        seed=snakemake.params.seed,
    )
    with open(snakemake.output.summary, "w") as f:
        json.dump(summary, f, indent=1)
