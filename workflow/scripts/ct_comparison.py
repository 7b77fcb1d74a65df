"""Snakemake adapter: cohort B's per-subject sums against the breast CT (and the true calcium), beside the paper."""

from pathlib import Path

import pandas as pd

from bacseg.ct_comparison import ct_comparison, ct_comparison_markdown, per_subject
from bacseg.logs import logged_job
from bacseg.metrics.quantification import metric_names
from bacseg.quantification import read_metrics

with logged_job(snakemake.log[0]):
    names = metric_names(snakemake.params.settings["thresholds"])
    truth_table = snakemake.input.get("image_truth")  # synthetic data only
    truth = pd.read_csv(truth_table, dtype={"image_id": str}) if truth_table else None
    subjects = per_subject(
        read_metrics(snakemake.input.metrics),
        pd.read_csv(snakemake.input.breast_ct, dtype={"subject_id": str}),
        truth,
        names=names,
    )
    subjects.to_csv(snakemake.output.per_subject, index=False)
    table = ct_comparison(subjects, names)
    table.to_csv(snakemake.output.table, index=False)
    Path(snakemake.output.markdown).write_text(ct_comparison_markdown(table))
