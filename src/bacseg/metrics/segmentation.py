"""Pixel-wise segmentation scores of Table 1 from confusion counts (TP, FP, TN, FN).

Scores are computed per sample (a patch or a whole image) from its own counts, then averaged
(mean +- SD over samples), as the paper reports them.

A score is undefined when its ratio is 0/0: recall on an empty truth, precision on an empty
prediction, F1 (= Dice) and Jaccard when truth and prediction are both empty. Two rules:

- ``empty="nan"`` (the default): an undefined score is NaN and the averages skip it, as MONAI's
  ``ignore_empty`` does. Unlike MONAI, an empty truth with false positives scores F1 = 0 (2*0 / FP
  is defined), so false positives on calcification-free images still count against a model.
- ``empty="zero"``: an undefined score is 0, as the authors' code gives (1e-6 only in the
  denominators); a calcification-free image that a model rightly leaves empty then scores F1 = 0.

The default is ``nan`` because the synthetic cohorts have calcification-free images, which the rule
``zero`` would score 0 whatever the model does. On the paper's data (calcified patches, annotated
images) the rules differ only in precision, where a model predicts nothing on a calcified sample.
``summarise`` reports how many samples each rule touched.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

COUNT_COLUMNS = ("tp", "fp", "tn", "fn")
SCORE_COLUMNS = ("recall", "precision", "accuracy", "f1", "jaccard")
EMPTY_RULES = ("nan", "zero")
DEFAULT_EMPTY = "nan"


def binarise(probability: np.ndarray, cutoff: float) -> np.ndarray:
    """The predicted mask: probability strictly above the cutoff (the paper's p > 0.5)."""
    return np.asarray(probability) > cutoff


def confusion_counts(predicted: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> dict[str, int]:
    """TP, FP, TN, FN of two boolean maps of one sample, over ``mask`` where given (else every pixel)."""
    predicted, truth = np.asarray(predicted, dtype=bool), np.asarray(truth, dtype=bool)
    if predicted.shape != truth.shape:
        raise ValueError(f"prediction {predicted.shape} and truth {truth.shape} differ in shape")
    if mask is not None:
        mask = np.asarray(mask, dtype=bool)
        if mask.shape != truth.shape:
            raise ValueError(f"mask {mask.shape} and truth {truth.shape} differ in shape")
        predicted, truth = predicted[mask], truth[mask]
    tp = int(np.count_nonzero(predicted & truth))
    fp = int(np.count_nonzero(predicted)) - tp
    fn = int(np.count_nonzero(truth)) - tp
    return {"tp": tp, "fp": fp, "tn": int(truth.size) - tp - fp - fn, "fn": fn}


def batch_confusion_counts(predicted: np.ndarray, truth: np.ndarray) -> pd.DataFrame:
    """Counts of every sample of a batch (first axis), one row each."""
    predicted, truth = np.asarray(predicted, dtype=bool), np.asarray(truth, dtype=bool)
    if predicted.shape != truth.shape:
        raise ValueError(f"prediction {predicted.shape} and truth {truth.shape} differ in shape")
    axes = tuple(range(1, predicted.ndim))
    tp = np.count_nonzero(predicted & truth, axis=axes)
    fp = np.count_nonzero(predicted, axis=axes) - tp
    fn = np.count_nonzero(truth, axis=axes) - tp
    tn = np.prod(predicted.shape[1:]) - tp - fp - fn
    return pd.DataFrame({"tp": tp, "fp": fp, "tn": tn, "fn": fn}).astype("int64")


def _ratios(counts: pd.DataFrame) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Numerator and denominator of every score."""
    missing = [c for c in COUNT_COLUMNS if c not in counts.columns]
    if missing:
        raise ValueError(f"counts lack the columns {missing}; they have {list(counts.columns)}")
    tp, fp, tn, fn = (counts[c].to_numpy(dtype=np.float64) for c in COUNT_COLUMNS)
    if np.any(np.stack([tp, fp, tn, fn]) < 0):
        raise ValueError("confusion counts must not be negative")
    return {
        "recall": (tp, tp + fn),
        "precision": (tp, tp + fp),
        "accuracy": (tp + tn, tp + fp + tn + fn),
        "f1": (2 * tp, 2 * tp + fp + fn),
        "jaccard": (tp, tp + fp + fn),
    }


def undefined_scores(counts: pd.DataFrame) -> pd.DataFrame:
    """True where a score is 0/0 (the samples the empty rule decides), one column per score."""
    return pd.DataFrame({name: den == 0 for name, (_, den) in _ratios(counts).items()}, index=counts.index)


def scores_from_counts(counts: pd.DataFrame, empty: str = DEFAULT_EMPTY) -> pd.DataFrame:
    """Recall, precision, accuracy, F1 (= Dice) and Jaccard of every row of TP/FP/TN/FN counts."""
    if empty not in EMPTY_RULES:
        raise ValueError(f"empty must be one of {EMPTY_RULES}, got {empty!r}")
    fill = np.nan if empty == "nan" else 0.0
    scores = {}
    for name, (num, den) in _ratios(counts).items():
        with np.errstate(divide="ignore", invalid="ignore"):
            scores[name] = np.where(den > 0, num / np.where(den > 0, den, 1.0), fill)
    return pd.DataFrame(scores, index=counts.index)


def with_scores(counts: pd.DataFrame, empty: str = DEFAULT_EMPTY) -> pd.DataFrame:
    """The counts table with the five scores appended (one row per sample, the per-sample table)."""
    scores = scores_from_counts(counts, empty)
    return pd.concat([counts.drop(columns=[c for c in SCORE_COLUMNS if c in counts.columns]), scores], axis=1)


def _sd(values: np.ndarray, ddof: int) -> float:
    return float(np.std(values, ddof=ddof)) if values.size > ddof else math.nan


def summarise(per_sample: pd.DataFrame, ddof: int = 1) -> dict[str, Any]:
    """Mean and SD (sample SD, ``ddof=1``) of every score over the samples where it is not NaN.

    Returns ``{"n": samples, "n_empty_truth", "n_empty_prediction", "n_empty_both",
    "<score>": {"mean", "sd", "n" (samples averaged), "n_undefined" (0/0 samples the empty rule
    decided)}}``; the counts come from the TP/FP/TN/FN columns, the scores from the score columns.
    """
    undefined = undefined_scores(per_sample)
    truth_empty = (per_sample["tp"] + per_sample["fn"]) == 0
    prediction_empty = (per_sample["tp"] + per_sample["fp"]) == 0
    summary: dict[str, Any] = {
        "n": len(per_sample),
        "n_empty_truth": int(truth_empty.sum()),
        "n_empty_prediction": int(prediction_empty.sum()),
        "n_empty_both": int((truth_empty & prediction_empty).sum()),
    }
    for name in SCORE_COLUMNS:
        values = per_sample[name].to_numpy(dtype=np.float64)
        values = values[~np.isnan(values)]
        summary[name] = {
            "mean": float(values.mean()) if values.size else math.nan,
            "sd": _sd(values, ddof),
            "n": int(values.size),
            "n_undefined": int(undefined[name].sum()),
        }
    return summary
