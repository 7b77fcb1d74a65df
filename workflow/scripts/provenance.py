"""Snakemake adapter: record versions, revision and the whole config of this run."""

import json

from bacseg.logs import logged_job
from bacseg.provenance import provenance

with logged_job(snakemake.log[0]):
    with open(snakemake.output[0], "w") as f:
        json.dump(provenance(dict(snakemake.params.config)), f, indent=2, sort_keys=True, default=str)
