"""Snakemake adapter: the numbers of Figure 5, every metric of the X sweep against the label masks, beside the paper."""

from pathlib import Path

from bacseg.clinical import figure5_markdown, figure5_table
from bacseg.logs import logged_job
from bacseg.metrics.quantification import metric_names
from bacseg.quantification import read_metrics

with logged_job(snakemake.log[0]):
    settings = snakemake.params.settings
    table = figure5_table(
        read_metrics(snakemake.input[0]),
        metric_names(settings["thresholds"]),
        split=snakemake.params.split,
        intensity_threshold=settings["intensity_threshold"],
    )
    table.to_csv(snakemake.output.table, index=False)
    Path(snakemake.output.markdown).write_text(figure5_markdown(table))
