"""Qualitative panels shared by Figures 3 and 4: one row per sample, columns image, ground truth, then
each model's predicted mask (probability > cutoff), optionally with the sample's F1 printed on it.

Scores are computed on the full-resolution arrays; only the drawing is reduced (block maximum for
masks, so one-pixel-wide calcifications stay visible; block mean for the image) to about the drawn size
(2 in at 200 dpi), then antialiased.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from PIL import Image  # noqa: E402

from bacseg.metrics.maps import read_probability_map, read_truth_mask  # noqa: E402
from bacseg.metrics.segmentation import binarise, confusion_counts, scores_from_counts  # noqa: E402

FIGURE_MODELS = ("SegNet", "ContextNet", "U-Net", "CGNet", "SCU-Net")  # the paper's Figures 3 and 4


@dataclass(frozen=True)
class PanelRow:
    """One sample ready to draw: display-sized arrays and each model's full-resolution F1."""

    label: str
    image: np.ndarray
    truth: np.ndarray
    predictions: Mapping[str, np.ndarray]
    f1: Mapping[str, float]


def reduce_for_display(array: np.ndarray, factor: int, how: str) -> np.ndarray:
    """``array`` shrunk ``factor`` times by block ``how`` ("mean" for images, "max" so thin masks stay visible)."""
    if factor == 1:
        return array
    rows, cols = (-(-s // factor) * factor for s in array.shape)
    padded = np.zeros((rows, cols), dtype=np.float32)
    padded[: array.shape[0], : array.shape[1]] = array
    blocks = padded.reshape(rows // factor, factor, cols // factor, factor)
    return blocks.max(axis=(1, 3)) if how == "max" else blocks.mean(axis=(1, 3))


def make_row(
    label: str,
    image: np.ndarray,
    truth: np.ndarray,
    probabilities: Mapping[str, np.ndarray],
    *,
    cutoff: float = 0.5,
    max_side: int = 400,
) -> PanelRow:
    """A row from full-resolution arrays: masks at the cutoff, F1 per model, drawn at most ``max_side`` px."""
    factor = max(1, math.ceil(max(truth.shape) / max_side))
    masks, f1 = {}, {}
    for model, probability in probabilities.items():
        predicted = binarise(probability, cutoff)
        counts = pd.DataFrame([confusion_counts(predicted, truth)])
        f1[model] = float(scores_from_counts(counts)["f1"].iloc[0])
        masks[model] = reduce_for_display(predicted, factor, "max") > 0
    return PanelRow(label, reduce_for_display(image, factor, "mean"), reduce_for_display(truth, factor, "max") > 0, masks, f1)


def load_rows(
    samples: pd.DataFrame,
    truth_table: Path | str,
    probability_maps: Mapping[str, Mapping[str, Path | str]],
    *,
    size: int | None = None,
    cutoff: float = 0.5,
    max_side: int = 400,
) -> list[PanelRow]:
    """Rows for ``samples`` (image_id, plus y and x with ``size`` for patches cut from the whole image).

    ``truth_table`` is ``preprocessed.csv`` (image and BAC mask PNGs); ``probability_maps`` maps a model
    to ``{image_id: map path}``. Patches are cut from the stitched whole-image maps.
    """
    truth_table = Path(truth_table)
    table = pd.read_csv(truth_table, dtype={"image_id": str}, keep_default_na=False).set_index("image_id")
    rows = []
    for sample in samples.to_dict("records"):
        image_id = sample["image_id"]
        window = (slice(None), slice(None))
        label = image_id
        if size is not None:
            window = (slice(sample["y"], sample["y"] + size), slice(sample["x"], sample["x"] + size))
            label = f"{image_id} (y {sample['y']}, x {sample['x']})"
        image = np.asarray(Image.open(truth_table.parent / table.at[image_id, "image_png"]))[window]
        truth = read_truth_mask(truth_table.parent / table.at[image_id, "bac_mask_png"])[window]
        probabilities = {
            model: read_probability_map(maps[image_id])[window] for model, maps in probability_maps.items()
            if image_id in maps
        }
        rows.append(make_row(label, image, truth, probabilities, cutoff=cutoff, max_side=max_side))
    return rows


def pick_examples(per_sample: pd.DataFrame, k: int = 3, metric: str = "f1") -> pd.DataFrame:
    """``k`` samples with a calcification, spread from the best to the worst score (not only the best)."""
    candidates = per_sample[(per_sample["tp"] + per_sample["fn"] > 0) & per_sample[metric].notna()]
    ranked = candidates.sort_values(metric, ascending=False, kind="stable").reset_index(drop=True)
    if ranked.empty:
        raise ValueError("no sample with a calcification to show")
    positions = np.unique(np.round(np.linspace(0, len(ranked) - 1, min(k, len(ranked)))).astype(int))
    return ranked.iloc[positions].reset_index(drop=True)


def panel_grid(
    rows: Sequence[PanelRow], *, models: Sequence[str] = FIGURE_MODELS, show_f1: bool = False, panel_inches: float = 2.0
) -> plt.Figure:
    """The grid: image, ground truth, then the models every row has, in ``models`` order."""
    if not rows:
        raise ValueError("no samples to draw")
    shown = [m for m in models if all(m in row.predictions for row in rows)]
    titles = ["Image", "Ground truth", *shown]
    aspect = rows[0].image.shape[0] / rows[0].image.shape[1]
    fig, axes = plt.subplots(
        len(rows), len(titles), figsize=(panel_inches * len(titles), panel_inches * aspect * len(rows) + 0.4),
        squeeze=False,
    )
    for r, row in enumerate(rows):
        panels = [row.image, row.truth, *(row.predictions[m] for m in shown)]
        for c, (ax, panel) in enumerate(zip(axes[r], panels)):
            ax.imshow(panel, cmap="gray", vmin=0, vmax=255 if c == 0 else 1, interpolation="antialiased")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(titles[c], fontsize=9)
            if show_f1 and c >= 2:
                value = row.f1[shown[c - 2]]
                text = "F1 -" if math.isnan(value) else f"F1 {value:.3f}"
                ax.text(0.03, 0.97, text, transform=ax.transAxes, ha="left", va="top", fontsize=8, color="yellow",
                        bbox={"facecolor": "black", "edgecolor": "none", "pad": 1.5})
        axes[r][0].set_ylabel(row.label, fontsize=7)
    fig.tight_layout(pad=0.3)
    return fig


def save_figure(fig: plt.Figure, *, pdf: Path | str, png: Path | str, dpi: int = 200) -> None:
    """The figure as PDF and PNG at the given paths, then closed."""
    for path in (pdf, png):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, bbox_inches="tight")
    plt.close(fig)
