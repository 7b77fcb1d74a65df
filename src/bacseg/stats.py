"""Supplementary p-values: every model against the reference (SCU-Net) per metric, on paired samples.

The paper uses a paired t-test (``scipy.stats.ttest_rel``); the Wilcoxon signed-rank test (no
normality assumption, scores are bounded in [0, 1]) and Holm's correction are extras. Holm corrects
within one metric, over the comparisons of all models with the reference: the question asked per
metric is "does any baseline differ from SCU-Net" (statsmodels' ``multipletests(method="holm")`` computes the
same, and a test checks it, but it runs a full ``gc.collect()`` per call: seconds in a process holding a large heap,
such as a notebook or a test session that has built the networks). Samples are paired by their ID columns (image_id,
plus y and x for patches); a pair where either score is NaN (see the empty rule) is left out.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from bacseg.metrics.segmentation import SCORE_COLUMNS

ID_COLUMNS = ("image_id", "y", "x")
REFERENCE_MODEL = "SCU-Net"
TEST_COLUMNS = (
    "model", "metric", "n_pairs", "mean_difference", "t_statistic", "p_ttest", "p_wilcoxon",
    "p_ttest_holm", "p_wilcoxon_holm",
)  # fmt: skip


def _id_columns(frame: pd.DataFrame, model: str) -> list[str]:
    columns = [c for c in ID_COLUMNS if c in frame.columns]
    if not columns:
        raise ValueError(f"{model}: per-sample table has none of the ID columns {ID_COLUMNS}")
    return columns


def _paired(reference: pd.DataFrame, other: pd.DataFrame, keys: list[str], metric: str):
    """The model's and the reference's scores on the samples both define, in matching order."""
    joined = reference[[*keys, metric]].merge(other[[*keys, metric]], on=keys, suffixes=("_ref", "_other"))
    joined = joined.dropna(subset=[f"{metric}_ref", f"{metric}_other"])
    return joined[f"{metric}_other"].to_numpy(np.float64), joined[f"{metric}_ref"].to_numpy(np.float64)


def _tests(other: np.ndarray, reference: np.ndarray) -> dict[str, float]:
    if other.size < 2:
        return {"mean_difference": float(np.mean(other - reference)) if other.size else math.nan,
                "t_statistic": math.nan, "p_ttest": math.nan, "p_wilcoxon": math.nan}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # identical samples: scipy returns NaN (t) or 1 (Wilcoxon)
        t = stats.ttest_rel(other, reference)
        wilcoxon = stats.wilcoxon(other, reference)
    return {"mean_difference": float(np.mean(other - reference)), "t_statistic": float(t.statistic),
            "p_ttest": float(t.pvalue), "p_wilcoxon": float(wilcoxon.pvalue)}


def _holm(p_values: pd.Series) -> pd.Series:
    """Holm-adjusted p-values of the defined entries (NaN stays NaN)."""
    adjusted = pd.Series(np.nan, index=p_values.index)
    defined = p_values.notna()
    if defined.any():
        adjusted[defined] = holm(p_values[defined].to_numpy())
    return adjusted


def holm(p_values: np.ndarray) -> np.ndarray:
    """Holm's step-down adjustment: the i-th smallest of n p-values times (n - i), made monotone, capped at 1."""
    order = np.argsort(p_values, kind="stable")
    stepped = np.maximum.accumulate(p_values[order] * (p_values.size - np.arange(p_values.size)))
    adjusted = np.empty_like(p_values, dtype=np.float64)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def paired_tests(
    per_sample: Mapping[str, pd.DataFrame],
    *,
    reference: str = REFERENCE_MODEL,
    metrics: Sequence[str] = SCORE_COLUMNS,
) -> pd.DataFrame:
    """One row per (model, metric): pairs used, mean difference (model - reference), t, p-values.

    ``per_sample`` maps a model to its per-sample table (ID columns and score columns).
    """
    if reference not in per_sample:
        raise KeyError(f"reference model {reference!r} is not among {sorted(per_sample)}")
    keys = _id_columns(per_sample[reference], reference)
    rows = []
    for model, frame in per_sample.items():
        if model == reference:
            continue
        if _id_columns(frame, model) != keys:
            raise ValueError(f"{model}: ID columns {_id_columns(frame, model)} differ from {reference}'s {keys}")
        for metric in metrics:
            other, ref = _paired(per_sample[reference], frame, keys, metric)
            rows.append({"model": model, "metric": metric, "n_pairs": int(other.size), **_tests(other, ref)})
    table = pd.DataFrame(rows, columns=[c for c in TEST_COLUMNS if not c.endswith("_holm")])
    for test in ("ttest", "wilcoxon"):
        table[f"p_{test}_holm"] = table.groupby("metric")[f"p_{test}"].transform(_holm)
    return table
