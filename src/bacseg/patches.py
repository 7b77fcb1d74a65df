"""Paper II.C patches: overlapping tiles, the background filter and the patch index.

Tiles of ``size`` with ``overlap`` (paper: 512 / 64) start every ``size - overlap`` pixels and the
last one is aligned to the image edge, so every pixel is covered and no tile hangs over (an image
smaller than a tile gets one tile, zero-padded). A tile is background when the 8-bit preprocessed
image is dark and flat there: mean <= 20 or standard deviation <= 10, the authors' inference rule.
Training (and the patch-wise metrics) use the foreground tiles that contain calcification.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bacseg import settings
from bacseg.inference.sliding_window import is_background_tile
from bacseg.inference.tiling import cut, tile_positions
from bacseg.io.png import read_mask_png, read_png

PAPER_PATCH_COUNTS = {"train": 3455, "validation": 901}
INDEX_COLUMNS = [
    "image_id", "split", "y", "x", "size", "mean", "std", "breast_fraction", "bac_pixels",
    "foreground", "calcified", "selected",
]  # fmt: skip


@dataclass(frozen=True)
@settings.schema_defaults("patches")
class PatchParams:
    """Tiling and the background filter: the config section ``patches`` (meanings, defaults, ranges in its schema)."""

    size: int
    overlap: int
    background_mean_max: float
    background_std_max: float
    min_breast_fraction: float
    min_bac_pixels: int
    select: str

    def __post_init__(self):
        settings.resolve("patches", asdict(self))
        if self.overlap >= self.size:
            raise settings.SettingsError(f"patches.overlap must be < size, got {self.overlap} >= {self.size}")

    @classmethod
    def from_mapping(cls, mapping: dict | None) -> PatchParams:
        """From a config section; an unknown key or bad value is an error naming it."""
        return cls(**settings.resolve("patches", mapping))


def is_background(tile: np.ndarray, params: PatchParams, breast: np.ndarray | None = None) -> bool:
    """The authors' dark-or-flat rule (the one whole-image prediction skips tiles by), or too little breast."""
    if is_background_tile(tile, params.background_mean_max, params.background_std_max):
        return True
    return breast is not None and params.min_breast_fraction > 0 and breast.mean() < params.min_breast_fraction


def index_image(
    image_id: str,
    split: str,
    image: np.ndarray,
    breast: np.ndarray | None,
    label: np.ndarray | None,
    params: PatchParams,
) -> list[dict]:
    """One index row per tile of one preprocessed image, with its statistics and flags."""
    rows = []
    for y, x in tile_positions(image.shape, params.size, params.overlap):
        tile = cut(image, y, x, params.size)
        breast_tile = cut(breast, y, x, params.size) if breast is not None else None
        bac_pixels = int(cut(label, y, x, params.size).sum()) if label is not None else 0
        foreground = not is_background(tile, params, breast_tile)
        calcified = bac_pixels >= params.min_bac_pixels
        rows.append({
            "image_id": image_id,
            "split": split,
            "y": y,
            "x": x,
            "size": params.size,
            "mean": round(float(tile.mean()), 3),
            "std": round(float(tile.std()), 3),
            "breast_fraction": round(float(breast_tile.mean()), 4) if breast_tile is not None else np.nan,
            "bac_pixels": bac_pixels,
            "foreground": foreground,
            "calcified": calcified,
            "selected": foreground and (calcified or params.select == "foreground"),
        })  # fmt: skip
    return rows


def build_patch_index(preprocessed: Path | str, params: PatchParams | None = None) -> pd.DataFrame:
    """The patch index of every image in preprocess's table (``preprocessed.csv``), whose PNG paths are
    relative to the table's own folder."""
    params = params or PatchParams()
    folder = Path(preprocessed).parent
    table = pd.read_csv(preprocessed, keep_default_na=False)
    rows = []
    for record in table.to_dict("records"):
        image = read_png(folder / record["image_png"])
        breast = read_mask_png(folder / record["breast_mask_png"])
        label = read_mask_png(folder / record["bac_mask_png"]) if record.get("bac_mask_png") else None
        rows += index_image(str(record["image_id"]), record.get("split", ""), image, breast, label, params)
    return pd.DataFrame(rows, columns=INDEX_COLUMNS)


def patch_counts(index: pd.DataFrame, params: PatchParams) -> dict:
    """Tiles per split (all, foreground, calcified, selected), with the paper's counts beside."""
    counts = {
        str(split): {
            "images": int(group["image_id"].nunique()),
            "tiles": int(len(group)),
            "foreground": int(group["foreground"].sum()),
            "calcified": int((group["foreground"] & group["calcified"]).sum()),
            "selected": int(group["selected"].sum()),
        }
        for split, group in index.groupby("split")
    }
    return {"counts": counts, "paper_selected": PAPER_PATCH_COUNTS, "params": asdict(params)}


def write_patch_index(
    preprocessed: Path | str, index_csv: Path | str, counts_json: Path | str, params: PatchParams | None = None
) -> pd.DataFrame:
    """Index every tile of the images of preprocess's table; write the index CSV and the counts JSON."""
    params = params or PatchParams()
    index = build_patch_index(preprocessed, params)
    Path(index_csv).parent.mkdir(parents=True, exist_ok=True)
    index.to_csv(index_csv, index=False)
    Path(counts_json).write_text(json.dumps(patch_counts(index, params), indent=1) + "\n")
    return index
