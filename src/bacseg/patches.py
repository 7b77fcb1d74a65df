"""Paper II.C patches: overlapping tiles, the background filter, the patch index, and stitching back.

Tiles of ``size`` with ``overlap`` (paper: 512 / 64) start every ``size - overlap`` pixels and the
last one is aligned to the image edge, so every pixel is covered and no tile hangs over (an image
smaller than a tile gets one tile, zero-padded). A tile is background when the 8-bit preprocessed
image is dark and flat there: mean <= 20 or standard deviation <= 10, the authors' inference rule.
Training (and the patch-wise metrics) use the foreground tiles that contain calcification.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

PAPER_PATCH_COUNTS = {"train": 3455, "validation": 901}
STITCH_MODES = ("max", "mean", "gaussian")
INDEX_COLUMNS = [
    "image_id", "split", "y", "x", "size", "mean", "std", "breast_fraction", "bac_pixels",
    "foreground", "calcified", "selected",
]  # fmt: skip


@dataclass(frozen=True)
class PatchParams:
    size: int = 512
    overlap: int = 64
    background_mean_max: float = 20.0  # a tile with mean <= this is background (authors: 20)
    background_std_max: float = 10.0  # ... or with standard deviation <= this (authors: 10)
    min_breast_fraction: float = 0.0  # also background below this fraction of breast-mask pixels (0: off)
    min_bac_pixels: int = 1  # a tile is calcified with at least this many label pixels
    select: str = "calcified"  # "calcified" (paper) | "foreground": which tiles training uses

    def __post_init__(self):
        if not 0 <= self.overlap < self.size:
            raise ValueError(f"patch overlap must be in [0, size), got overlap={self.overlap}, size={self.size}")
        if self.select not in ("calcified", "foreground"):
            raise ValueError(f"patch select must be 'calcified' or 'foreground', got {self.select!r}")

    @classmethod
    def from_mapping(cls, mapping: dict | None) -> PatchParams:
        mapping = dict(mapping or {})
        unknown = sorted(set(mapping) - {f.name for f in fields(cls)})
        if unknown:
            raise ValueError(f"unknown patch key(s): {', '.join(unknown)}")
        return cls(**mapping)


def tile_starts(length: int, size: int, overlap: int) -> list[int]:
    """Start offsets along one axis: every size - overlap, plus one flush with the far edge."""
    if length <= size:
        return [0]
    starts = list(range(0, length - size + 1, size - overlap))
    if starts[-1] + size < length:
        starts.append(length - size)
    return starts


def tile_positions(shape: tuple[int, int], size: int, overlap: int) -> list[tuple[int, int]]:
    """(y, x) of the top-left corner of every tile, row by row."""
    return [(y, x) for y in tile_starts(shape[0], size, overlap) for x in tile_starts(shape[1], size, overlap)]


def cut(array: np.ndarray, y: int, x: int, size: int) -> np.ndarray:
    """The size x size tile at (y, x), zero-padded where it runs past the image."""
    tile = array[y : y + size, x : x + size]
    if tile.shape[:2] == (size, size):
        return tile
    padded = np.zeros((size, size) + array.shape[2:], dtype=array.dtype)
    padded[: tile.shape[0], : tile.shape[1]] = tile
    return padded


def is_background(tile: np.ndarray, params: PatchParams, breast: np.ndarray | None = None) -> bool:
    if tile.mean() <= params.background_mean_max or tile.std() <= params.background_std_max:
        return True
    return breast is not None and params.min_breast_fraction > 0 and breast.mean() < params.min_breast_fraction


@lru_cache(maxsize=8)
def gaussian_weights(size: int, sigma_scale: float = 1 / 8) -> np.ndarray:
    """Importance map peaking at the tile centre (nnU-Net/MONAI style), > 0 everywhere; read-only."""
    centre = (size - 1) / 2
    profile = np.exp(-0.5 * ((np.arange(size) - centre) / (sigma_scale * size)) ** 2)
    weights = np.outer(profile, profile)
    weights /= weights.max()
    weights = np.maximum(weights, weights[weights > 0].min())
    weights.setflags(write=False)
    return weights


def stitch(
    tiles, positions: list[tuple[int, int]], shape: tuple[int, int], mode: str = "max", fill_value: float = 0.0,
    sigma_scale: float = 1 / 8,
) -> np.ndarray:
    """Per-tile predictions back into one float32 image.

    ``max`` (the authors' code) keeps the largest value where tiles overlap; ``mean`` averages them;
    ``gaussian`` weights each tile by ``gaussian_weights``. Pixels no tile covers (skipped background
    tiles) get ``fill_value``. Accumulates in float64, so stitching tiles cut from an image gives the
    image back exactly.
    """
    if mode not in STITCH_MODES:
        raise ValueError(f"stitch mode must be one of {STITCH_MODES}, got {mode!r}")
    rows, cols = shape
    covered = np.zeros(shape, dtype=bool)
    if mode == "max":
        total = np.full(shape, -np.inf)
    else:
        total, weight = np.zeros(shape), np.zeros(shape)
    for tile, (y, x) in zip(tiles, positions):
        tile = np.asarray(tile, dtype=np.float64)
        size = tile.shape[0]
        h, w = min(size, rows - y), min(size, cols - x)
        region = (slice(y, y + h), slice(x, x + w))
        covered[region] = True
        if mode == "max":
            np.maximum(total[region], tile[:h, :w], out=total[region])
        else:
            tile_weight = gaussian_weights(size, sigma_scale)[:h, :w] if mode == "gaussian" else 1.0
            total[region] += tile[:h, :w] * tile_weight
            weight[region] += tile_weight
    if mode != "max":
        total = np.divide(total, weight, out=np.zeros(shape), where=covered)
    total[~covered] = fill_value
    return total.astype(np.float32)


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


def build_patch_index(
    preprocessed: Path | str | pd.DataFrame, preprocessed_dir: Path | str, params: PatchParams | None = None
) -> pd.DataFrame:
    """The patch index of every image in preprocess's table (``preprocessed.csv``)."""
    params = params or PatchParams()
    preprocessed_dir = Path(preprocessed_dir)
    table = preprocessed if isinstance(preprocessed, pd.DataFrame) else pd.read_csv(preprocessed, keep_default_na=False)
    rows = []
    for record in table.to_dict("records"):
        image = _read_png(preprocessed_dir / record["image_png"])
        breast = _read_png(preprocessed_dir / record["breast_mask_png"]) > 127
        label = _read_png(preprocessed_dir / record["bac_mask_png"]) > 127 if record.get("bac_mask_png") else None
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
    preprocessed: Path | str | pd.DataFrame,
    preprocessed_dir: Path | str,
    index_csv: Path | str,
    counts_json: Path | str,
    params: PatchParams | None = None,
) -> pd.DataFrame:
    """Index every tile of the preprocessed images; write the index CSV and the counts JSON."""
    params = params or PatchParams()
    index = build_patch_index(preprocessed, preprocessed_dir, params)
    Path(index_csv).parent.mkdir(parents=True, exist_ok=True)
    index.to_csv(index_csv, index=False)
    Path(counts_json).write_text(json.dumps(patch_counts(index, params), indent=1) + "\n")
    return index


def _read_png(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path))


class PatchLoader:
    """Cuts (image, label) tiles from the preprocessed PNGs for an index row, decoding each PNG once.

    Keeps the last ``cache_images`` decoded images: iterate the index grouped by image (as it is
    written) and each image is read once per pass. Images without a label mask give an all-False label.
    """

    def __init__(
        self, preprocessed_dir: Path | str, preprocessed: Path | str | pd.DataFrame | None = None, cache_images: int = 4
    ):
        self.root = Path(preprocessed_dir)
        table = preprocessed if preprocessed is not None else self.root / "preprocessed.csv"
        table = table if isinstance(table, pd.DataFrame) else pd.read_csv(table, keep_default_na=False)
        records = table.to_dict("records")
        self._files = {str(r["image_id"]): (r["image_png"], r.get("bac_mask_png", "")) for r in records}
        self._cache: OrderedDict[str, tuple[np.ndarray, np.ndarray | None]] = OrderedDict()
        self._cache_images = cache_images

    def __call__(self, row) -> tuple[np.ndarray, np.ndarray]:
        image, label = self._image(str(row["image_id"]))
        y, x, size = int(row["y"]), int(row["x"]), int(row["size"])
        label_tile = cut(label, y, x, size) if label is not None else np.zeros((size, size), dtype=bool)
        return cut(image, y, x, size), label_tile

    def _image(self, image_id: str) -> tuple[np.ndarray, np.ndarray | None]:
        if image_id in self._cache:
            self._cache.move_to_end(image_id)
            return self._cache[image_id]
        if image_id not in self._files:
            raise KeyError(f"image {image_id} is not in the preprocessed table under {self.root}")
        image_png, label_png = self._files[image_id]
        loaded = (_read_png(self.root / image_png), _read_png(self.root / label_png) > 127 if label_png else None)
        self._cache[image_id] = loaded
        if len(self._cache) > self._cache_images:
            self._cache.popitem(last=False)
        return loaded
