"""Agreement of a measure with a reference (Figure 5, the breast-CT comparison): the regression line with its R^2,
and Bland-Altman limits; Figure 5's table beside the paper's R^2 values.

- Regression of the measure on the reference (``scipy.stats.linregress``): ``std_err`` is linregress's
  ``stderr``, the standard error of the SLOPE (``intercept_stderr`` is the intercept's).
- Bland-Altman: differences measure - reference, their mean, their SD with ddof 1 (the sample SD, as pingouin's
  ``plot_blandaltman``), limits mean +- 1.96 SD. statsmodels' ``mean_diff_plot`` uses ddof 0 instead
  (statsmodels 0.15.0, ``statsmodels/graphics/agreement.py``: ``std_diff = np.std(diffs, axis=0)``), limits
  narrower by a factor sqrt((n - 1) / n).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from bacseg.tables import markdown_table, paper_results

LIMIT_SDS = 1.96
MIN_PAIRS = 3  # fewer: no regression error to speak of (2 points fit exactly)
SOURCES = ("predicted", "truth")


@dataclass(frozen=True)
class Regression:
    slope: float
    intercept: float
    r2: float
    std_err: float  # of the slope
    intercept_stderr: float
    n: int


@dataclass(frozen=True)
class BlandAltman:
    mean_difference: float
    sd_difference: float  # ddof 1
    lower_limit: float
    upper_limit: float
    n: int


@dataclass(frozen=True)
class Agreement:
    regression: Regression
    bland_altman: BlandAltman

    def as_row(self) -> dict[str, float | int]:
        """One flat record: n, the regression's fields, then Bland-Altman's."""
        ba = asdict(self.bland_altman)
        del ba["n"]
        return {**asdict(self.regression), **ba}


def _pairs(measure, reference) -> tuple[np.ndarray, np.ndarray]:
    y, x = np.asarray(measure, dtype=float), np.asarray(reference, dtype=float)
    if y.shape != x.shape or y.ndim != 1:
        raise ValueError(f"measure {y.shape} and reference {x.shape} must be 1-D and of one length")
    kept = np.isfinite(x) & np.isfinite(y)
    return y[kept], x[kept]


def regression(measure, reference) -> Regression:
    """Least-squares line of ``measure`` on ``reference`` (pairs with a NaN dropped); NaN fields when there are
    fewer than 3 pairs or the reference is constant (no line to fit); R^2 is NaN for a constant measure."""
    y, x = _pairs(measure, reference)
    if y.size < MIN_PAIRS or np.ptp(x) == 0:
        return Regression(*[math.nan] * 5, n=int(y.size))
    fit = stats.linregress(x, y)
    return Regression(float(fit.slope), float(fit.intercept), float(fit.rvalue) ** 2, float(fit.stderr),
                      float(fit.intercept_stderr), int(y.size))  # fmt: skip


def bland_altman(measure, reference, sd_limit: float = LIMIT_SDS) -> BlandAltman:
    """Mean and sample SD (ddof 1) of measure - reference and the limits mean +- ``sd_limit`` SD."""
    y, x = _pairs(measure, reference)
    differences = y - x
    mean = float(differences.mean()) if differences.size else math.nan
    sd = float(differences.std(ddof=1)) if differences.size > 1 else math.nan
    return BlandAltman(mean, sd, mean - sd_limit * sd, mean + sd_limit * sd, int(differences.size))


def agreement(predicted, truth) -> Agreement:
    """Figure 5's statistics of one metric: ``predicted`` regressed on ``truth``, and Bland-Altman."""
    return Agreement(regression(predicted, truth), bland_altman(predicted, truth))


def paired_metrics(metrics: pd.DataFrame, names: Sequence[str], *, split: str | None = "validation") -> pd.DataFrame:
    """The images of ``split`` (all when None) with both a predicted and a truth row in a metrics table, by
    image_id: columns (metric, source). Images with one source only (e.g. not annotated) are left out."""
    missing = sorted({"image_id", "source", *names, *(["split"] if split is not None else [])} - set(metrics.columns))
    if missing:
        raise ValueError(f"metrics table lacks the columns {missing}")
    if split is not None:
        metrics = metrics[metrics["split"] == split]
    metrics = metrics[metrics["source"].isin(SOURCES)]
    repeated = metrics.loc[metrics.duplicated(["image_id", "source"]), "image_id"].unique()
    if len(repeated):
        raise ValueError(f"metrics table has more than one row per image and source for {sorted(repeated)[:10]}")
    paired = metrics.pivot(index="image_id", columns="source", values=list(names))
    paired = paired.reindex(columns=pd.MultiIndex.from_product([list(names), SOURCES])).dropna(how="any")
    if paired.empty:
        raise ValueError(f"no image{' of split ' + repr(split) if split else ''} has both a predicted and a truth row")
    return paired.sort_index()


def figure5_table(metrics: pd.DataFrame, names: Sequence[str], *, split: str | None = "validation",
                  intensity_threshold: int = 100) -> pd.DataFrame:  # fmt: skip
    """One row per metric: ``agreement`` of the predicted maps with the ground truth over the paired images, and
    the paper's values for Figure 5's metrics (PM, AM, SIM, TAM_X, TSIM_X at X = ``intensity_threshold``): every
    R^2 above ``paper_r2_above`` (0.95), the best (TAM_100) at ``paper_r2`` (0.973)."""
    paper = paper_results()["quantification"]
    shown = {"PM", "AM", "SIM", f"TAM_{intensity_threshold}", f"TSIM_{intensity_threshold}"}
    paired = paired_metrics(metrics, names, split=split)
    rows = []
    for name in names:
        result = agreement(paired[(name, "predicted")], paired[(name, "truth")])
        rows.append({"metric": name, **result.as_row(),
                     "paper_r2_above": paper["figure5_r2_all_metrics_above"] if name in shown else math.nan,
                     "paper_r2": paper["figure5_best_r2"] if name == paper["figure5_best_metric"] else math.nan})
    return pd.DataFrame(rows)


def _number(value: float, digits: int = 3) -> str:
    return "-" if pd.isna(value) else f"{value:.{digits}f}"


def figure5_markdown(table: pd.DataFrame) -> str:
    """Figure 5's table for reading: R^2 and Bland-Altman per metric, the paper's R^2 beside."""
    body = []
    for row in table.itertuples():
        paper = _number(row.paper_r2) if not pd.isna(row.paper_r2) else (
            f"> {row.paper_r2_above:.2f}" if not pd.isna(row.paper_r2_above) else "-")
        body.append([row.metric, str(row.n), _number(row.r2), f"{row.std_err:.3g}", paper, f"{row.mean_difference:.4g}",
                     f"[{row.lower_limit:.4g}, {row.upper_limit:.4g}]"])  # fmt: skip
    header = ["Metric", "n", "R² (ours)", "SE of slope", "R² (paper)", "mean difference", "±1.96 SD (ddof 1)"]
    best = table.loc[table["r2"].idxmax()] if table["r2"].notna().any() else None
    note = f"\nHighest R² here: {best.metric} ({best.r2:.3f}); the paper's: TAM_100 (0.973).\n" if best is not None \
        else "\nNo metric has a defined R².\n"
    return markdown_table(header, body) + note


def predicted_rows(metrics: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The metrics table's rows of the predicted maps, checked to have ``columns``."""
    missing = sorted({"image_id", "subject_id", "exam_date", "source", *columns} - set(metrics.columns))
    if missing:
        raise ValueError(f"metrics table lacks the columns {missing}")
    predicted = metrics[metrics["source"] == "predicted"]
    if predicted.empty:
        raise ValueError("metrics table has no row of predicted maps")
    return predicted


def truth_by_exam(images: pd.DataFrame, truth: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """The synthetic truth (``ingest.linked.image_truth``: per image_id) of each exam, indexed by (subject_id,
    exam_date): ``true_<column>_<L|R>`` per breast (its views share the value: burden and calcium mass are the
    breast's) and ``true_<column>``, their sum over the breasts."""
    missing = sorted({"image_id", "laterality", *columns} - set(truth.columns))
    if missing:
        raise ValueError(f"truth table lacks the columns {missing}")
    known = images[["image_id", "subject_id", "exam_date"]].merge(truth[["image_id", "laterality", *columns]],
                                                                  on="image_id", how="left", indicator=True)
    unmatched = known.loc[known["_merge"] == "left_only", "image_id"]
    if len(unmatched):
        raise ValueError(f"no truth for {len(unmatched)} image(s): {', '.join(sorted(unmatched)[:10])}")
    per_breast = known.groupby(["subject_id", "exam_date", "laterality"])[list(columns)].mean().unstack("laterality")
    result = pd.DataFrame(index=per_breast.index)
    for column in columns:
        for side in per_breast[column].columns:
            result[f"true_{column}_{side}"] = per_breast[(column, side)]
        result[f"true_{column}"] = per_breast[column].sum(axis=1, min_count=1)
    return result
