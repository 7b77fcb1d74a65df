"""Fast image primitives behind the preprocessing: footprints, block means, components, a sparse
binary closing, a median on 8-bit images and CLAHE.

Naive scikit-image takes ~13 s on one 4096x3328 mammogram; these pieces keep it near one second.
Each one is either exact (the median, the sparse closing) or checked against scikit-image in tests
(CLAHE).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import ndimage as ndi
from skimage.filters import rank

from bacseg.median_network import median_filter_square


def disk(radius: float) -> np.ndarray:
    """Boolean disk x^2 + y^2 <= radius^2; equals skimage.morphology.disk for integer radii.

    A real radius lets the paper's disk(10) be scaled to other pixel sizes (disk(2.5) at 1/4 scale).
    """
    half = int(math.floor(radius))
    y, x = np.ogrid[-half : half + 1, -half : half + 1]
    return (x * x + y * y) <= radius * radius


def block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Mean over factor x factor blocks (the last partial blocks are padded by edge values)."""
    if factor == 1:
        return image.astype(np.float32)
    rows, cols = image.shape
    pad_rows, pad_cols = -rows % factor, -cols % factor
    padded = np.pad(image, ((0, pad_rows), (0, pad_cols)), mode="edge") if pad_rows or pad_cols else image
    shape = (padded.shape[0] // factor, factor, padded.shape[1] // factor, factor)
    return padded.reshape(shape).mean(axis=(1, 3), dtype=np.float32)


def upsample_mask(mask: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """A block-level mask back at full resolution, its edge interpolated bilinearly (not in steps).

    Equals thresholding at one half the linear interpolation between block centres
    (scipy.ndimage.zoom with order=1, grid_mode=True, mode="nearest"), but interpolates only the
    blocks next to the mask's edge: elsewhere all neighbours agree and the value is the block's own.
    """
    if factor == 1:
        return mask[: shape[0], : shape[1]].copy()
    full = np.repeat(np.repeat(mask, factor, axis=0), factor, axis=1)
    neighbourhood = np.ones((3, 3), bool)
    mixed = ndi.binary_dilation(mask, neighbourhood) & ~ndi.binary_erosion(mask, neighbourhood, border_value=1)
    block_rows, block_cols = np.nonzero(mixed)
    offsets = np.arange(factor)
    rows = (block_rows[:, None, None] * factor + offsets[None, :, None]).repeat(factor, axis=2)
    cols = (block_cols[:, None, None] * factor + offsets[None, None, :]).repeat(factor, axis=1)
    centre_rows, centre_cols = (rows + 0.5) / factor - 0.5, (cols + 0.5) / factor - 0.5
    full[rows, cols] = _bilinear(mask.astype(np.float32), centre_rows, centre_cols) > 0.5
    return full[: shape[0], : shape[1]]


def _bilinear(values: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``values`` interpolated at real positions (clamped to the edge pixels)."""
    y0, x0 = np.floor(y).astype(np.int64), np.floor(x).astype(np.int64)
    wy, wx = y - y0, x - x0
    rows, cols = values.shape
    y0c, y1c = np.clip(y0, 0, rows - 1), np.clip(y0 + 1, 0, rows - 1)
    x0c, x1c = np.clip(x0, 0, cols - 1), np.clip(x0 + 1, 0, cols - 1)
    top = values[y0c, x0c] * (1 - wx) + values[y0c, x1c] * wx
    bottom = values[y1c, x0c] * (1 - wx) + values[y1c, x1c] * wx
    return top * (1 - wy) + bottom * wy


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of ``mask`` (all False when the mask is empty)."""
    labels, count = ndi.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return np.zeros_like(mask, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(sizes.argmax())


def binary_closing_sparse(mask: np.ndarray, radius: float, block: int = 256) -> np.ndarray:
    """Closing (dilate, then erode) by disk(radius) as if the image extended beyond its edges.

    Exact and extensive (every input pixel stays set, also at the image border), and computed only
    on the blocks within 2 radii of a set pixel, since annotation masks are sparse polylines.
    """
    footprint = disk(radius)
    halo = 2 * (footprint.shape[0] // 2) + 1
    result = np.zeros_like(mask, dtype=bool)
    rows, cols = mask.shape
    padded = np.pad(mask, halo)
    for top in range(0, rows, block):
        for left in range(0, cols, block):
            window = padded[top : top + block + 2 * halo, left : left + block + 2 * halo]
            if not window.any():
                continue
            closed = ndi.binary_erosion(ndi.binary_dilation(window, footprint), footprint)
            height, width = min(block, rows - top), min(block, cols - left)
            result[top : top + height, left : left + width] = closed[halo : halo + height, halo : halo + width]
    return result


def median_uint8(image: np.ndarray, footprint: np.ndarray, threads: int = 1) -> np.ndarray:
    """Median of an 8-bit image over ``footprint``.

    A full square goes through the merging network (exact, ndimage "reflect" edges, ~15x faster
    than ndimage); other shapes through scikit-image's histogram rank filter, whose window shrinks to
    the pixels inside the image near the border.
    """
    if image.dtype != np.uint8:
        raise TypeError(f"median_uint8 needs uint8 input, got {image.dtype}")
    if footprint.all() and footprint.shape[0] == footprint.shape[1]:
        return median_filter_square(image, footprint.shape[0], threads)
    return rank.median(image, footprint)


def clahe_uint8(image: np.ndarray, clip_limit: float = 0.01, tiles: int = 8, threads: int = 1) -> np.ndarray:
    """Contrast limited adaptive histogram equalisation of an 8-bit image, as scikit-image does it.

    Same contextual regions (1/``tiles`` of each side, image reflected at the far edges), same clip
    limit normalisation and the same bilinear blend of the neighbouring regions' mappings, with the
    excess of clipped bins spread evenly instead of scikit-image's integer round-robin, and the
    mapping applied by table look-up per block of pixels so it runs in a fraction of the time.
    Returns uint8 stretched to the full 0..255 range, as scikit-image stretches to [0, 1].
    """
    if image.dtype != np.uint8:
        raise TypeError(f"clahe_uint8 needs uint8 input, got {image.dtype}")
    rows, cols = image.shape
    kernel = (max(rows // tiles, 1), max(cols // tiles, 1))
    luts = _region_mappings(image, kernel, clip_limit)
    bands = [_bands(size, k, n) for size, k, n in zip(image.shape, kernel, luts.shape[:2])]
    out = np.empty(image.shape, dtype=np.float32)

    def blend(row_band, col_band):
        (r0, r1, top, bottom, wy), (c0, c1, left, right, wx) = row_band, col_band
        values = image[r0:r1, c0:c1]
        upper = (1 - wx) * luts[top, left][values] + wx * luts[top, right][values]
        lower = (1 - wx) * luts[bottom, left][values] + wx * luts[bottom, right][values]
        wy = wy[:, None]
        out[r0:r1, c0:c1] = (1 - wy) * upper + wy * lower

    jobs = [(row_band, col_band) for row_band in bands[0] for col_band in bands[1]]
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda job: blend(*job), jobs))
    else:
        for job in jobs:
            blend(*job)
    low, high = float(out.min()), float(out.max())
    out -= low
    out *= 255.0 / max(high - low, 1e-12)
    np.rint(out, out=out)
    return out.astype(np.uint8)


def _region_mappings(image: np.ndarray, kernel: tuple[int, int], clip_limit: float) -> np.ndarray:
    """Clipped, equalising look-up tables (float32 in [0, 1]) of every contextual region."""
    rows, cols = image.shape
    n_rows, n_cols = math.ceil(rows / kernel[0]), math.ceil(cols / kernel[1])
    padded = np.pad(image, ((0, n_rows * kernel[0] - rows), (0, n_cols * kernel[1] - cols)), mode="reflect")
    regions = padded.reshape(n_rows, kernel[0], n_cols, kernel[1])
    hist = np.empty((n_rows, n_cols, 256), dtype=np.float64)
    for i in range(n_rows):
        for j in range(n_cols):
            hist[i, j] = np.bincount(regions[i, :, j, :].ravel(), minlength=256)
    region_pixels = kernel[0] * kernel[1]
    if clip_limit > 0:
        hist = _clip_and_redistribute(hist, max(int(clip_limit * region_pixels), 1))
    return (np.cumsum(hist, axis=-1) / region_pixels).clip(0, 1).astype(np.float32)


def _clip_and_redistribute(hist: np.ndarray, limit: int) -> np.ndarray:
    """Clip bins at ``limit`` and pour the excess evenly into the bins below it, none over the limit.

    The continuous form of scikit-image's integer redistribution: the largest level ``t`` with
    sum(min(clipped + t, limit)) = sum(hist), solved exactly per region from the sorted headrooms.
    """
    clipped = np.minimum(hist, limit)
    excess = (hist - clipped).sum(axis=-1, keepdims=True)
    headroom = np.sort(limit - clipped, axis=-1)
    bins = hist.shape[-1]
    filled_before = np.cumsum(headroom, axis=-1) - headroom  # sum of the smaller headrooms
    poured_at = filled_before + (bins - np.arange(bins)) * headroom  # excess used when level = headroom
    full = (poured_at <= excess).sum(axis=-1, keepdims=True)
    room_of_full = np.take_along_axis(np.cumsum(headroom, axis=-1), np.clip(full - 1, 0, bins - 1), axis=-1)
    room_of_full = np.where(full > 0, room_of_full, 0.0)
    level = np.where(full < bins, (excess - room_of_full) / np.maximum(bins - full, 1), np.inf)
    return np.minimum(clipped + level, limit)


def _bands(size: int, kernel: int, regions: int) -> list[tuple[int, int, int, int, np.ndarray]]:
    """Spans of pixels sharing the same two neighbouring regions along one axis, with their weights.

    A pixel at ``p`` lies ``((p + kernel // 2) % kernel) / kernel`` of the way from region
    ``(p + kernel // 2) // kernel - 1`` to the next one (regions past the edges repeat the last).
    """
    bands = []
    for index in range(regions + 1):
        start, stop = max(index * kernel - kernel // 2, 0), min((index + 1) * kernel - kernel // 2, size)
        if start >= stop:
            continue
        positions = np.arange(start, stop)
        weight = ((positions + kernel // 2) % kernel / kernel).astype(np.float32)
        first, second = min(max(index - 1, 0), regions - 1), min(index, regions - 1)
        bands.append((start, stop, first, second, weight))
    return bands
