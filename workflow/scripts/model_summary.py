"""Snakemake adapter: every registered network with its parameter count (the `bacseg models` JSON)."""

import json

from bacseg.logs import logged_job
from bacseg.models.summary import models_summary

with logged_job(snakemake.log[0]):
    with open(snakemake.output[0], "w") as f:
        json.dump(models_summary(), f, indent=2)
