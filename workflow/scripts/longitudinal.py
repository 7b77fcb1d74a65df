"""Snakemake adapter: cohort C's readings per exam (per view, summed, area-normalised) and how each tracks the burden."""

from pathlib import Path

import pandas as pd

from bacseg.logs import logged_job
from bacseg.longitudinal import by_subject, per_exam, summary, summary_markdown
from bacseg.quantification import read_metrics

with logged_job(snakemake.log[0]):
    metric = f"TAM_{snakemake.params.settings['intensity_threshold']}"
    truth_table = snakemake.input.get("image_truth")  # synthetic data only
    truth = pd.read_csv(truth_table, dtype={"image_id": str}) if truth_table else None
    exams = per_exam(read_metrics(snakemake.input.metrics), truth, metric=metric)
    exams.to_csv(snakemake.output.per_exam, index=False)
    table = summary(by_subject(exams, metric=metric))
    table.to_csv(snakemake.output.table, index=False)
    Path(snakemake.output.markdown).write_text(summary_markdown(table, metric=metric))
