"""Reading prediction and truth maps from disk, with one clear error per bad file.

Predictions are probability maps in [0, 1] or masks: ``.npy`` (float, e.g. the workflow's float16
maps, or bool/0-1 integers) or 8/16-bit greyscale ``.png`` (scaled by 255 or 65535, so a 0/255 mask
reads as 0/1). Truth masks are greyscale PNGs where a value above 128 is a label (255 in the
preprocessed BAC masks; the synthetic truth masks also mark benign look-alikes 128, which is not).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

PREDICTION_SUFFIXES = (".npy", ".png")
TRUTH_LABEL_ABOVE = 128


def _read_png(path: Path) -> np.ndarray:
    try:
        with Image.open(path) as image:
            if image.mode not in ("1", "L", "I;16", "I"):
                raise ValueError(f"{path}: a {image.mode} PNG; expected a greyscale map")
            return np.asarray(image)
    except (UnidentifiedImageError, OSError) as error:
        raise ValueError(f"{path}: not a readable PNG ({error})") from None


def _reject_zero_one(path: Path, values: np.ndarray, what: str) -> None:
    """A 0/1 integer PNG looks black and would silently read as empty: say so instead."""
    if values.dtype != bool and values.max(initial=0) == 1:
        raise ValueError(f"{path}: a 0/1 {what} PNG; write masks as 0/255")


def read_probability_map(path: Path | str) -> np.ndarray:
    """A prediction as float values in [0, 1] (float16/float32 kept as stored, masks as 0/1)."""
    path = Path(path)
    if path.suffix == ".npy":
        try:
            values = np.load(path, allow_pickle=False)
        except (ValueError, OSError, EOFError) as error:
            raise ValueError(f"{path}: not a readable .npy array ({error})") from None
    elif path.suffix == ".png":
        values = _read_png(path)
        _reject_zero_one(path, values, "prediction")
    else:
        raise ValueError(f"{path}: predictions must be {' or '.join(PREDICTION_SUFFIXES)} files")
    if values.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D map, got shape {values.shape}")
    if values.dtype == bool:
        return values.astype(np.float32)
    if np.issubdtype(values.dtype, np.integer):
        if path.suffix == ".png":
            return values.astype(np.float32) / (65535.0 if values.dtype.itemsize > 1 else 255.0)
        if values.min(initial=0) < 0 or values.max(initial=0) > 1:
            raise ValueError(f"{path}: integer .npy predictions must be 0/1 masks")
        return values.astype(np.float32)
    if not np.issubdtype(values.dtype, np.floating):
        raise ValueError(f"{path}: unsupported dtype {values.dtype}")
    low, high = float(np.min(values, initial=0.0)), float(np.max(values, initial=0.0))
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0 or high > 1:
        raise ValueError(f"{path}: probabilities must be finite and within [0, 1], found [{low}, {high}]")
    return values


def read_truth_mask(path: Path | str) -> np.ndarray:
    """A boolean label mask from a greyscale PNG (label where the value is above 128)."""
    path = Path(path)
    if path.suffix != ".png":
        raise ValueError(f"{path}: truth masks must be .png files")
    values = _read_png(path)
    if values.ndim != 2:
        raise ValueError(f"{path}: expected a 2-D mask, got shape {values.shape}")
    _reject_zero_one(path, values, "truth")
    return values if values.dtype == bool else values > TRUTH_LABEL_ABOVE
