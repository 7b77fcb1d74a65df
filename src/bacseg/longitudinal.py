"""Cohort C (Figure 6): does a metric follow each woman's BAC over the years? Three ways to read one metric
(TAM_100 in the paper) per exam:

- ``per_view``: each view's own value over time (``<metric>_<laterality><view>``, e.g. ``TAM_100_LCC``);
- ``sum``: summed over the exam's views (``<metric>_sum``);
- ``per_area_sum``: each view's value divided by that view's breast area (pixels with intensity > 0), summed over
  the views (``<metric>_per_area_sum``; the paper's final method: positioning and magnification change the
  breast's size in the image from exam to exam, and the ratio cancels them).

Instead of only drawing them, test the paper's argument per subject: the share of year-on-year decreases of each
reading (the true burden never decreases in the synthetic cohort C), and with the synthetic truth the Spearman
correlation with the true burden over the exams (for ``per_view``, each view against its breast's burden,
averaged over the views). Real data has no truth: then only the decreases.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from bacseg.clinical import predicted_rows, truth_by_exam
from bacseg.tables import markdown_table

METHODS = ("per_view", "sum", "per_area_sum")
MIN_EXAMS_FOR_RHO = 3


def method_column(metric: str, method: str) -> str:
    """The per-exam table's column of a summed reading (``sum``, ``per_area_sum``)."""
    if method not in METHODS[1:]:
        raise ValueError(f"{method!r}: one column per view, or one of {METHODS[1:]}")
    return f"{metric}_{method}"


def per_exam(metrics: pd.DataFrame, truth: pd.DataFrame | None = None, *, metric: str = "TAM_100") -> pd.DataFrame:
    """One row per (subject_id, exam_date), oldest first: ``years_since_first_exam``, ``n_views``, the metric per
    view, ``<metric>_sum``, ``<metric>_per_area_sum``, and with ``truth`` (per image_id, ``burden``) the true
    burden per breast (``true_burden_L``/``_R``) and summed over the breasts (``true_burden``)."""
    predicted = predicted_rows(metrics, ["laterality", "view", "breast_area_px", metric]).copy()
    dates = pd.to_datetime(predicted["exam_date"].astype(str), format="ISO8601", errors="coerce")
    if dates.isna().any():
        raise ValueError(f"exams without a readable date for {sorted(set(predicted.loc[dates.isna(), 'subject_id']))}")
    predicted["series"] = predicted["laterality"].astype(str) + predicted["view"].astype(str)
    repeated = predicted.duplicated(["subject_id", "exam_date", "series"])
    if repeated.any():
        raise ValueError(f"more than one image of a view in one exam: {sorted(predicted.loc[repeated, 'image_id'])}")
    area = predicted["breast_area_px"].astype(float)
    predicted["per_area"] = predicted[metric] / area.where(area > 0)  # an empty breast area: no ratio
    keys = ["subject_id", "exam_date"]
    views = predicted.pivot(index=keys, columns="series", values=metric).add_prefix(f"{metric}_")
    grouped = predicted.groupby(keys)
    table = pd.DataFrame({"n_views": grouped.size()}).join(views)
    table[method_column(metric, "sum")] = grouped[metric].sum()
    table[method_column(metric, "per_area_sum")] = grouped["per_area"].sum(min_count=1)
    if truth is not None:
        table = table.join(truth_by_exam(predicted, truth, ["burden"]))
    table = table.reset_index()
    first = dates.groupby(predicted["subject_id"]).min()
    exam_dates = pd.to_datetime(table["exam_date"].astype(str), format="ISO8601")
    table.insert(2, "years_since_first_exam", ((exam_dates - table["subject_id"].map(first)).dt.days / 365.25).round(3))
    return table.sort_values(["subject_id", "years_since_first_exam"], kind="stable").reset_index(drop=True)


def _trend(values: pd.Series, truth: pd.Series | None) -> dict[str, float]:
    """Decreases between consecutive exams (exams without a value skipped) and Spearman's rho with the truth."""
    kept = values.notna() if truth is None else values.notna() & truth.notna()
    values = values[kept].to_numpy(float)
    steps = np.diff(values)
    result = {"pairs": int(steps.size), "decreases": int((steps < 0).sum())}
    if truth is not None:
        truth = truth[kept].to_numpy(float)
        constant = values.size < MIN_EXAMS_FOR_RHO or np.ptp(values) == 0 or np.ptp(truth) == 0
        result["spearman_rho"] = math.nan if constant else float(stats.spearmanr(values, truth).statistic)
    return result


def by_subject(table: pd.DataFrame, *, metric: str = "TAM_100") -> pd.DataFrame:
    """One row per subject and method (``per_exam``'s table in): exams, pairs of consecutive exams, decreases and
    their share, and ``spearman_rho`` when the table has the truth (``per_view``: the mean over the views)."""
    has_truth = "true_burden" in table.columns
    views = [c for c in table.columns if c.startswith(f"{metric}_") and c.removeprefix(f"{metric}_")[:1] in "LR"]
    rows = []
    for subject, exams in table.groupby("subject_id", sort=True):
        exams = exams.sort_values("years_since_first_exam")
        series = {"per_view": [(exams[c], exams.get(f"true_burden_{c.removeprefix(metric + '_')[0]}")) for c in views
                               if exams[c].notna().any()]}  # fmt: skip
        for method in METHODS[1:]:
            series[method] = [(exams[method_column(metric, method)], exams.get("true_burden"))]
        for method in METHODS:
            trends = [_trend(values, truth if has_truth else None) for values, truth in series[method]]
            pairs, decreases = sum(t["pairs"] for t in trends), sum(t["decreases"] for t in trends)
            row = {"subject_id": subject, "method": method, "exams": len(exams), "series": len(trends),
                   "pairs": pairs, "decreases": decreases, "share_decreases": decreases / pairs if pairs else math.nan}
            if has_truth:
                rhos = [t["spearman_rho"] for t in trends if not math.isnan(t["spearman_rho"])]
                row["spearman_rho"] = float(np.mean(rhos)) if rhos else math.nan
            rows.append(row)
    return pd.DataFrame(rows)


def summary(subjects: pd.DataFrame) -> pd.DataFrame:
    """Per method over the subjects (``by_subject``'s table): the pooled share of year-on-year decreases, its mean
    over the subjects, and with the truth the mean, median and lowest Spearman rho."""
    rows = []
    for method in METHODS:
        rows_of = subjects[subjects["method"] == method]
        pairs = int(rows_of["pairs"].sum())
        row = {"method": method, "subjects": len(rows_of), "pairs": pairs, "decreases": int(rows_of["decreases"].sum()),
               "share_decreases": rows_of["decreases"].sum() / pairs if pairs else math.nan,
               "mean_share_decreases": rows_of["share_decreases"].mean()}  # fmt: skip
        if "spearman_rho" in rows_of.columns:
            rho = rows_of["spearman_rho"]
            row |= {"subjects_with_rho": int(rho.notna().sum()), "mean_rho": rho.mean(), "median_rho": rho.median(),
                    "min_rho": rho.min()}  # fmt: skip
        rows.append(row)
    return pd.DataFrame(rows)


def summary_markdown(table: pd.DataFrame, metric: str = "TAM_100") -> str:
    """The summary for reading: one row per method."""
    labels = {"per_view": f"{metric} per view", "sum": f"{metric} summed over views",
              "per_area_sum": f"{metric} / breast area, summed over views (paper)"}
    has_rho = "mean_rho" in table.columns
    header = ["Method", "subjects", "year-on-year decreases", "mean share per subject"]
    header += ["Spearman ρ with true burden: mean", "median", "min"] if has_rho else []
    body = []
    for row in table.to_dict("records"):
        cells = [labels[row["method"]], str(row["subjects"]), f"{row['decreases']}/{row['pairs']}",
                 "-" if pd.isna(row["mean_share_decreases"]) else f"{row['mean_share_decreases']:.2f}"]
        cells += ["-" if pd.isna(row[k]) else f"{row[k]:.3f}" for k in ("mean_rho", "median_rho", "min_rho")] \
            if has_rho else []
        body.append(cells)
    return markdown_table(header, body)
