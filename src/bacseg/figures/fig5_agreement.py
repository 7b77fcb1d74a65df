"""Figure 5: agreement of each metric of the predicted maps with the same metric of the ground truth, one point per
cohort-A validation image. Top row: predicted against truth with the regression line, its R^2 and the standard
error of its slope; bottom row: Bland-Altman plots (difference against mean, mean difference and +-1.96 SD limits,
SD with ddof 1). The statistics are bacseg.clinical.agreement's; this module only draws them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bacseg.clinical import BlandAltman, Regression, agreement, paired_metrics  # noqa: E402
from bacseg.figures.panels import save_figure  # noqa: E402

FIGURE5_METRICS = ("PM", "AM", "SIM", "TAM_100", "TSIM_100")
POINT_STYLE = {"s": 14, "alpha": 0.75, "color": "#2c7fb8", "edgecolor": "none"}
STATS_BOX = {"facecolor": "white", "edgecolor": "#999999", "alpha": 0.85, "pad": 2.5}


def regression_text(fit: Regression) -> str:
    return f"R² = {fit.r2:.3f}\nSE = {fit.std_err:.3g}\nn = {fit.n}"


def bland_altman_text(ba: BlandAltman) -> str:
    return f"mean {ba.mean_difference:.3g}\n±1.96 SD: [{ba.lower_limit:.3g}, {ba.upper_limit:.3g}]"


def _corner_text(ax: plt.Axes, text: str) -> None:
    ax.text(0.04, 0.96, text, transform=ax.transAxes, ha="left", va="top", fontsize=7.5, bbox=STATS_BOX)


def draw_regression(ax: plt.Axes, x: np.ndarray, y: np.ndarray, fit: Regression) -> None:
    """Scatter of ``y`` against ``x``, the fitted line over the range of ``x``, R^2 / SE / n in the corner."""
    ax.scatter(x, y, **POINT_STYLE)
    ends = np.array([np.min(x), np.max(x)])
    ax.plot(ends, fit.intercept + fit.slope * ends, color="#d95f02", linewidth=1.2)
    _corner_text(ax, regression_text(fit))


def figure5(
    metrics: pd.DataFrame, metrics_names: Sequence[str] = FIGURE5_METRICS, *, split: str | None = "validation"
) -> plt.Figure:
    """Two rows of ``len(metrics_names)`` panels from the metrics table (one row per image and source)."""
    paired = paired_metrics(metrics, metrics_names, split=split)
    fig, axes = plt.subplots(2, len(metrics_names), figsize=(3.0 * len(metrics_names), 6.0), squeeze=False)
    for column, name in enumerate(metrics_names):
        predicted = paired[(name, "predicted")].to_numpy(float)
        truth = paired[(name, "truth")].to_numpy(float)
        result = agreement(predicted, truth)
        top, bottom = axes[0][column], axes[1][column]
        draw_regression(top, truth, predicted, result.regression)
        limits = np.array([min(truth.min(), predicted.min()), max(truth.max(), predicted.max())])
        top.plot(limits, limits, color="#999999", linewidth=0.8, linestyle=":")
        top.set_title(name, fontsize=10)
        top.set_xlabel(f"ground truth {name}", fontsize=8)
        top.set_ylabel(f"predicted {name}", fontsize=8)

        ba = result.bland_altman
        bottom.scatter((predicted + truth) / 2, predicted - truth, **POINT_STYLE)
        bottom.axhline(ba.mean_difference, color="#d95f02", linewidth=1.2)
        for limit in (ba.lower_limit, ba.upper_limit):
            bottom.axhline(limit, color="#d95f02", linewidth=0.9, linestyle="--")
        _corner_text(bottom, bland_altman_text(ba))
        bottom.set_xlabel(f"mean of predicted and truth {name}", fontsize=8)
        bottom.set_ylabel("predicted − truth", fontsize=8)
    for ax in axes.flat:
        ax.tick_params(labelsize=7)
    fig.text(0.5, 0.0, "Bland-Altman limits: mean difference ± 1.96 SD of the differences (sample SD, ddof 1); "
             "dotted: identity line", ha="center", va="top", fontsize=8)
    fig.tight_layout()
    return fig


def write_figure5(
    metrics: pd.DataFrame, *, pdf: Path | str, png: Path | str, metrics_names: Sequence[str] = FIGURE5_METRICS,
    split: str | None = "validation",
) -> None:
    """Figure 5 of a cohort's metrics table, as PDF and PNG."""
    save_figure(figure5(metrics, metrics_names, split=split), pdf=pdf, png=png)
