"""Snakemake adapter: Figure 2 from the model summary."""

import json

from bacseg.figures.fig2_parameters import parameter_bubbles
from bacseg.logs import logged_job

with logged_job(snakemake.log[0]):
    with open(snakemake.input[0]) as f:
        summary = json.load(f)
    fig = parameter_bubbles({m["name"]: m["parameters"] for m in summary["models"]})
    fig.savefig(snakemake.output.pdf, bbox_inches="tight")
    fig.savefig(snakemake.output.png, dpi=200, bbox_inches="tight")
