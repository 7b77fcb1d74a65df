"""Whole-image prediction by sliding window: fixed-shape batches of tiles through a predictor, stitched back.

The interface is the one MONAI's ``sliding_window_inference`` and nnU-Net's predictor made familiar (window
size, overlap, window batch size, blending mode, a predictor callable), with the paper's conventions: the
overlap in pixels, the tile grid of ``tiling.py`` (last tile flush with the edge, so the image is never
padded unless it is smaller than a tile), and the authors' background rule (a tile whose 8-bit values have
mean <= 20 or standard deviation <= 10 is not predicted and counts as ``fill_value``).

Every predictor call gets exactly ``batch_size`` tiles (the last batch padded with zero tiles), so a jitted
predictor compiles once per tile size, whatever the image sizes. When the predictor returns a JAX array
(dispatched asynchronously), the next batch is cut and dispatched before this one is stitched, so host
work overlaps with the computation.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from bacseg.inference.stitching import Stitcher
from bacseg.inference.tiling import cut, tile_positions

# (B, S, S) uint8 tiles -> (B, S, S) float32 probabilities (any array-like: NumPy, JAX).
Predictor = Callable[[np.ndarray], object]


def is_background_tile(tile: np.ndarray, mean_max: float = 20.0, std_max: float = 10.0) -> bool:
    """The authors' rule on an 8-bit tile: dark (mean <= mean_max) or flat (std <= std_max)."""
    return bool(tile.mean() <= mean_max or tile.std() <= std_max)


def sliding_window_inference(
    image: np.ndarray,
    predictor: Predictor,
    *,
    tile_size: int,
    overlap: int,
    batch_size: int,
    stitch_mode: str = "max",
    skip_background: bool = True,
    background_mean_max: float = 20.0,
    background_std_max: float = 10.0,
    fill_value: float = 0.0,
) -> np.ndarray:
    """A (H, W) uint8 image -> the (H, W) float32 map of the predictor's outputs, stitched by ``stitch_mode``."""
    image = np.asarray(image)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"sliding-window prediction takes a 2-D uint8 image, got {image.dtype} {image.shape}")
    stitcher = Stitcher(image.shape, stitch_mode, fill_value)
    skipped = np.full((tile_size, tile_size), fill_value, dtype=np.float32)
    to_predict = []
    for y, x in tile_positions(image.shape, tile_size, overlap):
        crop = image[y : y + tile_size, x : x + tile_size]
        if skip_background and is_background_tile(crop, background_mean_max, background_std_max):
            stitcher.add(skipped, y, x)
        else:
            to_predict.append((y, x))
    pending = None
    for start in range(0, len(to_predict), batch_size):
        positions = to_predict[start : start + batch_size]
        batch = np.zeros((batch_size, tile_size, tile_size), dtype=np.uint8)
        for slot, (y, x) in enumerate(positions):
            batch[slot] = cut(image, y, x, tile_size)
        dispatched = (predictor(batch), positions)
        if pending is not None:
            _stitch_batch(stitcher, *pending)
        pending = dispatched
    if pending is not None:
        _stitch_batch(stitcher, *pending)
    return stitcher.result()


def _stitch_batch(stitcher: Stitcher, outputs, positions: list[tuple[int, int]]) -> None:
    outputs = np.asarray(outputs, dtype=np.float32)  # waits for an asynchronous result
    for tile, (y, x) in zip(outputs, positions):
        stitcher.add(tile, y, x)
