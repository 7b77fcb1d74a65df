"""Figure 4: whole validation mammograms, ground truth and each model's mask with its F1 printed on it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from bacseg.figures.panels import FIGURE_MODELS, PanelRow, load_rows, panel_grid, save_figure


def figure4(rows: Sequence[PanelRow], *, models: Sequence[str] = FIGURE_MODELS) -> Figure:
    """Whole-image panels, the image's F1 (full resolution, at the cutoff) on every model's panel."""
    return panel_grid(rows, models=models, show_f1=True)


def write_figure4(
    images: pd.DataFrame,
    truth_table: Path | str,
    probability_maps: Mapping[str, Mapping[str, Path | str]],
    *,
    pdf: Path | str,
    png: Path | str,
    cutoff: float = 0.5,
    models: Sequence[str] = FIGURE_MODELS,
) -> None:
    """Figure 4 for ``images`` (an image_id column), from the preprocessed table and the probability maps."""
    rows = load_rows(images, truth_table, probability_maps, cutoff=cutoff)
    save_figure(figure4(rows, models=models), pdf=pdf, png=png)
