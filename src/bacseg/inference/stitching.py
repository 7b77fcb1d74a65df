"""Per-tile predictions back into one whole-image map: max (the authors' code), mean or Gaussian."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

STITCH_MODES = ("max", "mean", "gaussian")


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


class Stitcher:
    """Accumulates tiles one at a time, so stitching can run while the next batch is being predicted.

    ``max`` (the authors' code) keeps the largest value where tiles overlap; ``mean`` averages them;
    ``gaussian`` weights each tile by ``gaussian_weights``. Pixels no tile covers get ``fill_value``.
    Mean and Gaussian accumulate in float64, so stitching tiles cut from an image gives it back exactly.
    """

    def __init__(self, shape: tuple[int, int], mode: str = "max", fill_value: float = 0.0, sigma_scale: float = 1 / 8):
        if mode not in STITCH_MODES:
            raise ValueError(f"stitch mode must be one of {STITCH_MODES}, got {mode!r}")
        self.shape, self.mode, self.fill_value, self.sigma_scale = tuple(shape), mode, fill_value, sigma_scale
        self._covered = np.zeros(self.shape, dtype=bool)
        if mode == "max":  # a maximum is exact in float32
            self._total = np.full(self.shape, -np.inf, dtype=np.float32)
        else:
            self._total, self._weight = np.zeros(self.shape), np.zeros(self.shape)

    def add(self, tile, y: int, x: int) -> None:
        """Put a square tile (array-like) with its top-left corner at (y, x); parts past the edge are cut off."""
        tile = np.asarray(tile)
        size = tile.shape[0]
        h, w = min(size, self.shape[0] - y), min(size, self.shape[1] - x)
        region = (slice(y, y + h), slice(x, x + w))
        self._covered[region] = True
        if self.mode == "max":
            np.maximum(self._total[region], tile[:h, :w], out=self._total[region])
            return
        weight = gaussian_weights(size, self.sigma_scale)[:h, :w] if self.mode == "gaussian" else 1.0
        self._total[region] += tile[:h, :w] * weight
        self._weight[region] += weight

    def result(self) -> np.ndarray:
        """The stitched float32 map."""
        if self.mode == "max":
            total = self._total.copy()
        else:
            total = np.divide(self._total, self._weight, out=np.zeros(self.shape), where=self._covered)
        total[~self._covered] = self.fill_value
        return total.astype(np.float32, copy=False)


def stitch(
    tiles, positions: list[tuple[int, int]], shape: tuple[int, int], mode: str = "max", fill_value: float = 0.0,
    sigma_scale: float = 1 / 8,
) -> np.ndarray:
    """Per-tile predictions (top-left corners at ``positions``) back into one float32 image; see ``Stitcher``."""
    stitcher = Stitcher(shape, mode, fill_value, sigma_scale)
    for tile, (y, x) in zip(tiles, positions):
        stitcher.add(tile, y, x)
    return stitcher.result()
