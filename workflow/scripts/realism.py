"""Snakemake adapter: the authors' SCU-Net as the judge of a paper-scale synthetic cohort A (bacseg.realism)."""

from bacseg.logs import logged_job
from bacseg.runtime import configure_jax

# Guarded: the synthesis workers (forkserver) re-import this file and must not rerun the job.
if __name__ == "__main__":
    with logged_job(snakemake.log[0]):
        configure_jax()
        from bacseg.realism.benchmark import run_realism

        run_realism(
            snakemake.params.config,
            weights=snakemake.input.judge,
            json_path=snakemake.output.json,
            figure_path=snakemake.output.png,
            workers=snakemake.threads,
        )
