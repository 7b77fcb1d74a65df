"""The 8-bit greyscale PNGs the preprocessing writes and the later stages read (masks stored as 0/255)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image


def write_png(path: Path, array: np.ndarray, compress_level: int = 1) -> None:
    """8-bit greyscale PNG; boolean masks are written as 0/255 so they can be looked at."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = array.astype(np.uint8) * 255 if array.dtype == bool else array
    Image.fromarray(data).save(path, compress_level=compress_level)


def read_png(path: Path | str) -> np.ndarray:
    """The stored array, as written."""
    with Image.open(path) as image:
        return np.asarray(image)


def read_mask_png(path: Path | str) -> np.ndarray:
    """A 0/255 mask written by ``write_png`` back as booleans."""
    return read_png(path) > 127
