"""The tile grid shared by patch cutting (training) and sliding-window prediction.

Tiles of ``size`` start every ``size - overlap`` pixels and the last one is flush with the far edge,
so every pixel is covered and no tile hangs over; an image smaller than a tile gets one tile,
zero-padded. (The authors' AutoSeg.py uses this grid with size 512 and stride 480.)
"""

from __future__ import annotations

import numpy as np


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
