"""Pixel-wise segmentation scores of Table 1 from confusion counts (TP, FP, TN, FN).

Scores are computed per sample (a patch or a whole image) from its own counts, then averaged
(mean +- SD over samples), as the paper reports them. A sample whose truth and prediction are both
empty has no defined recall, precision, F1 or Jaccard: ``empty="zero"`` scores it 0 as the authors'
code does (1e-6 only in the denominators); ``empty="nan"`` leaves NaN, which the averages skip, as
MONAI's ``ignore_empty`` does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

COUNT_COLUMNS = ("tp", "fp", "tn", "fn")
SCORE_COLUMNS = ("recall", "precision", "accuracy", "f1", "jaccard")
EMPTY_RULES = ("zero", "nan")


def confusion_counts(predicted: np.ndarray, truth: np.ndarray, mask: np.ndarray | None = None) -> dict[str, int]:
    """TP, FP, TN, FN of two boolean maps of one sample, over ``mask`` where given (else every pixel)."""
    predicted, truth = np.asarray(predicted, dtype=bool), np.asarray(truth, dtype=bool)
    if predicted.shape != truth.shape:
        raise ValueError(f"prediction {predicted.shape} and truth {truth.shape} differ in shape")
    if mask is not None:
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


def scores_from_counts(counts: pd.DataFrame, empty: str = "zero") -> pd.DataFrame:
    """Recall, precision, accuracy, F1 (= Dice) and Jaccard of every row of TP/FP/TN/FN counts."""
    if empty not in EMPTY_RULES:
        raise ValueError(f"empty must be one of {EMPTY_RULES}, got {empty!r}")
    tp, fp, tn, fn = (counts[c].to_numpy(dtype=np.float64) for c in COUNT_COLUMNS)
    eps = 1e-6
    scores = pd.DataFrame(
        {
            "recall": tp / (tp + fn + eps),
            "precision": tp / (tp + fp + eps),
            "accuracy": (tp + tn) / (tp + fp + tn + fn + eps),
            "f1": 2 * tp / (2 * tp + fp + fn + eps),
            "jaccard": tp / (tp + fp + fn + eps),
        },
        index=counts.index,
    )
    if empty == "nan":
        scores.loc[(tp + fn) == 0, ["recall", "f1", "jaccard"]] = np.nan
        scores.loc[(tp + fp) == 0, "precision"] = np.nan
    return scores
