"""Figure 3: validation patches, their ground truth and each model's predicted mask (as the paper)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from bacseg.figures.panels import FIGURE_MODELS, PanelRow, load_rows, panel_grid, save_figure


def figure3(rows: Sequence[PanelRow], *, models: Sequence[str] = FIGURE_MODELS) -> Figure:
    """Patch panels; the paper prints no score on them (Figure 4 does, per whole image)."""
    return panel_grid(rows, models=models, show_f1=False)


def write_figure3(
    patches: pd.DataFrame,
    truth_table: Path | str,
    probability_maps: Mapping[str, Mapping[str, Path | str]],
    *,
    size: int,
    pdf: Path | str,
    png: Path | str,
    cutoff: float = 0.5,
    models: Sequence[str] = FIGURE_MODELS,
) -> None:
    """Figure 3 for ``patches`` (image_id, y, x; ``size`` px), cut from the stitched whole-image maps."""
    rows = load_rows(patches, truth_table, probability_maps, size=size, cutoff=cutoff)
    save_figure(figure3(rows, models=models), pdf=pdf, png=png)
