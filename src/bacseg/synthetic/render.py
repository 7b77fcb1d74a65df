"""Drawing thin bright structures at subpixel precision: sums of Gaussian stamps.

A curve is drawn as Gaussians spaced closer than their width along it; their sum is a smooth ridge
with a Gaussian cross-section whose peak is the requested brightness, at any scale and orientation.
Stamps are accumulated with bincount over the bounding box of each batch, which is fast in numpy.
"""

from __future__ import annotations

import numpy as np

MIN_SIGMA_PX = 0.6  # narrower Gaussians alias on the pixel grid
_MAX_BATCH_ELEMENTS = 4_000_000


def polyline_stamps(points: np.ndarray, sigma: np.ndarray, peak: np.ndarray) -> tuple[np.ndarray, ...]:
    """Stamps (x, y, sigma, weight) drawing a ridge along ``points`` (N, 2) whose cross-section is a
    Gaussian of width ``sigma`` and height ``peak`` (both per point, in pixels and brightness units).

    One point, or a polyline of zero length, is a single round dot of height ``peak``.
    """
    sigma = np.maximum(np.asarray(sigma, dtype=float), MIN_SIGMA_PX)
    peak = np.asarray(peak, dtype=float)
    arc = arc_length(points)
    if arc[-1] == 0.0:
        return points[:1, 0], points[:1, 1], sigma[:1], peak[:1]
    step = 0.8 * sigma.min()
    at = np.linspace(0.0, arc[-1], int(np.ceil(arc[-1] / step)) + 1)
    step = at[1] - at[0]
    x, y = np.interp(at, arc, points[:, 0]), np.interp(at, arc, points[:, 1])
    sigma_at, peak_at = np.interp(at, arc, sigma), np.interp(at, arc, peak)
    weight = peak_at * step / (sigma_at * np.sqrt(2 * np.pi))
    keep = weight > 0
    return x[keep], y[keep], sigma_at[keep], weight[keep]


def arc_length(points: np.ndarray) -> np.ndarray:
    """Cumulative length along an (N, 2) polyline, starting at 0."""
    return np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])


def concatenate_stamps(stamps: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    """Join (x, y, sigma, weight) stamp tuples into one, for a single splat."""
    if not stamps:
        return tuple(np.empty(0) for _ in range(4))
    return tuple(np.concatenate(parts) for parts in zip(*stamps))


def splat(shape: tuple[int, int], x, y, sigma, weight) -> np.ndarray:
    """float32 image of sum_i weight_i * exp(-|p - (x_i, y_i)|^2 / (2 sigma_i^2)), each cut at 3 sigma."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    sigma = np.maximum(np.asarray(sigma, dtype=float), MIN_SIGMA_PX)
    weight = np.asarray(weight, dtype=float)
    image = np.zeros(shape, dtype=np.float32)
    # Kernel radii rounded up to powers of sqrt(2): few groups, little waste; batches sorted by row so each
    # one accumulates over a narrow band of the image.
    reach = np.ceil(2 ** (np.ceil(2 * np.log2(np.ceil(3 * sigma))) / 2)).astype(int)
    for radius in np.unique(reach):
        chosen = np.flatnonzero(reach == radius)
        chosen = chosen[np.argsort(y[chosen], kind="stable")]
        batch = max(1, _MAX_BATCH_ELEMENTS // (2 * radius + 1) ** 2)
        for start in range(0, chosen.size, batch):
            i = chosen[start : start + batch]
            _splat_batch(image, x[i], y[i], sigma[i], weight[i], radius)
    return image


def _splat_batch(image, x, y, sigma, weight, radius) -> None:
    """Add one batch of stamps with a common kernel radius. The Gaussian is separable, so the kernel is
    the outer product of per-axis factors; stamps reaching past the border get zero weight there."""
    rows, columns = image.shape
    offsets = np.arange(-radius, radius + 1)
    ix = np.rint(x).astype(np.int64)[:, None] + offsets
    iy = np.rint(y).astype(np.int64)[:, None] + offsets
    wx = np.exp(-((ix - x[:, None]) ** 2) / (2 * sigma[:, None] ** 2))
    wy = np.exp(-((iy - y[:, None]) ** 2) / (2 * sigma[:, None] ** 2)) * weight[:, None]
    wx[(ix < 0) | (ix >= columns)] = 0.0
    wy[(iy < 0) | (iy >= rows)] = 0.0
    ix, iy = np.clip(ix, 0, columns - 1), np.clip(iy, 0, rows - 1)
    top, left = iy.min(), ix.min()
    height, width = iy.max() - top + 1, ix.max() - left + 1
    flat = ((iy - top) * width)[:, :, None] + (ix - left)[:, None, :]
    values = wy[:, :, None] * wx[:, None, :]
    image[top : top + height, left : left + width] += np.bincount(
        flat.ravel(), values.ravel(), minlength=height * width
    ).reshape(height, width).astype(np.float32)
