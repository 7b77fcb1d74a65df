"""Cohort B figure: each subject's metric, summed over the views of the exam, against the breast-CT measures
(calcified voxels, calcium mass), one row per CT measure and one column per metric, R^2 of the fit on each panel.
The statistics are bacseg.clinical.regression's; this module only draws them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from bacseg.clinical import regression  # noqa: E402
from bacseg.figures.fig5_agreement import FIGURE5_METRICS, draw_regression  # noqa: E402
from bacseg.figures.panels import save_figure  # noqa: E402

CT_REFERENCES = {"ct_calcified_voxels": "CT calcified voxels", "ct_calcium_mass_mg": "CT calcium mass (mg)"}


def ct_comparison_figure(
    per_subject: pd.DataFrame,
    metrics_names: Sequence[str] = FIGURE5_METRICS,
    *,
    references: Mapping[str, str] = CT_REFERENCES,
) -> plt.Figure:
    """One panel per (reference column, metric) of the per-subject table: the metric sum against the reference."""
    missing = sorted({*metrics_names, *references} - set(per_subject.columns))
    if missing:
        raise ValueError(f"per-subject table lacks the columns {missing}")
    if per_subject.empty:
        raise ValueError("per-subject table has no subject")
    fig, axes = plt.subplots(
        len(references), len(metrics_names), figsize=(3.0 * len(metrics_names), 3.0 * len(references)), squeeze=False
    )
    for row, (reference, label) in enumerate(references.items()):
        for column, name in enumerate(metrics_names):
            pairs = per_subject[[reference, name]].dropna()
            x, y = pairs[reference].to_numpy(float), pairs[name].to_numpy(float)
            ax = axes[row][column]
            draw_regression(ax, x, y, regression(y, x))
            ax.set_xlabel(label, fontsize=8)
            ax.set_ylabel(f"{name}, sum over views", fontsize=8)
            ax.tick_params(labelsize=7)
            if row == 0:
                ax.set_title(name, fontsize=10)
    fig.tight_layout()
    return fig


def write_ct_comparison_figure(
    per_subject: pd.DataFrame, *, pdf: Path | str, png: Path | str, metrics_names: Sequence[str] = FIGURE5_METRICS,
    references: Mapping[str, str] = CT_REFERENCES,
) -> None:
    """The cohort-B figure as PDF and PNG."""
    save_figure(ct_comparison_figure(per_subject, metrics_names, references=references), pdf=pdf, png=png)
