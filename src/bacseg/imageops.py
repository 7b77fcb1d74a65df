"""Image primitives behind the preprocessing: footprints, block means, mask resizing, components,
binary morphology, the 8-bit median and CLAHE.

The filters are OpenCV's (the authors' own library) wherever it gives the scipy/scikit-image result
and is faster; each function states its border rule and tests/test_preprocess.py checks it against
the scipy/scikit-image reference. CLAHE stays our own: OpenCV's is not close to scikit-image's.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from scipy import ndimage as ndi
from skimage.filters import rank


def disk(radius: float) -> np.ndarray:
    """Boolean disk x^2 + y^2 <= radius^2; equals skimage.morphology.disk for integer radii.

    A real radius lets the paper's disk(10) be scaled to other pixel sizes (disk(2.5) at 1/4 scale).
    """
    half = int(math.floor(radius))
    y, x = np.ogrid[-half : half + 1, -half : half + 1]
    return (x * x + y * y) <= radius * radius


def block_mean(image: np.ndarray, factor: int) -> np.ndarray:
    """Float32 mean over factor x factor blocks, the last partial blocks padded by edge values.

    OpenCV's area resize at an integer factor (equal to the numpy block mean, ~3x faster).
    """
    image = np.asarray(image, dtype=np.float32)
    if factor == 1:
        return image.copy()
    rows, cols = image.shape
    pad_rows, pad_cols = -rows % factor, -cols % factor
    if pad_rows or pad_cols:
        image = cv2.copyMakeBorder(image, 0, pad_rows, 0, pad_cols, cv2.BORDER_REPLICATE)
    size = (image.shape[1] // factor, image.shape[0] // factor)
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def upsample_mask(mask: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """A block-level mask back at full resolution (cropped to ``shape``), its edge interpolated bilinearly.

    Thresholds at one half OpenCV's bilinear resize (pixel centres aligned, edge pixels repeated), which
    equals scipy.ndimage.zoom with order=1, grid_mode=True, mode="nearest".
    """
    if factor == 1:
        return mask[: shape[0], : shape[1]].copy()
    size = (mask.shape[1] * factor, mask.shape[0] * factor)
    full = cv2.resize(mask.astype(np.float32), size, interpolation=cv2.INTER_LINEAR) > 0.5
    return full[: shape[0], : shape[1]]


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 8-connected component of ``mask`` (all False when the mask is empty).

    scipy's labelling: OpenCV's connectedComponentsWithStats was no faster on the 1/4-scale breast mask
    (0.015 s against 0.010 s).
    """
    labels, count = ndi.label(mask, structure=np.ones((3, 3), bool))
    if count == 0:
        return np.zeros_like(mask, dtype=bool)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return labels == int(sizes.argmax())


def binary_opening(mask: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Opening (erode, then dilate) by ``footprint``, pixels beyond the edges unset.

    That border rule is scipy.ndimage.binary_opening's (border_value=0), which this equals; OpenCV's
    own default would leave the outside set during the erosion.
    """
    kernel = footprint.astype(np.uint8)
    opened = cv2.morphologyEx(_as_uint8(mask), cv2.MORPH_OPEN, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
    return opened.astype(bool)


def binary_closing(mask: np.ndarray, radius: float) -> np.ndarray:
    """Closing (dilate, then erode) by disk(radius) as if the image extended, unset, beyond its edges.

    Extensive (every input pixel stays set, also at the image border): equals scipy.ndimage.binary_closing
    of the zero-padded image. Done by OpenCV on the bounding box of the set pixels, since annotation
    masks are sparse polylines: 0.04-0.08 s for eight long lines on 4096x3328, against 5-7 s for scipy.
    """
    result = np.zeros(mask.shape, dtype=bool)
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return result
    kernel = disk(radius).astype(np.uint8)
    half = kernel.shape[0] // 2
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    padded = cv2.copyMakeBorder(_as_uint8(mask[box]), half, half, half, half, cv2.BORDER_CONSTANT, value=0)
    closed = cv2.erode(cv2.dilate(padded, kernel), kernel)  # the padding keeps the edges out of it
    result[box] = closed[half : closed.shape[0] - half, half : closed.shape[1] - half].astype(bool)
    return result


def _as_uint8(mask: np.ndarray) -> np.ndarray:
    """A boolean mask as the 0/1 uint8 image OpenCV takes (a view when it can be)."""
    mask = np.ascontiguousarray(mask)
    return mask.view(np.uint8) if mask.dtype == bool else (mask != 0).astype(np.uint8)


def median_uint8(image: np.ndarray, footprint: np.ndarray) -> np.ndarray:
    """Median of an 8-bit image over ``footprint``.

    A full odd square goes through OpenCV's medianBlur (the authors' call), which repeats the edge
    pixels: it equals scipy.ndimage.median_filter with mode="nearest" everywhere, and with scipy's
    default "reflect" away from the width // 2 pixels at the border. On a 4096x3328 mammogram (5x5):
    ~0.01 s, against 0.1-0.2 s for the comparator network it replaced and 2.4-5 s for scipy.
    Other shapes go through scikit-image's histogram rank filter, whose window shrinks to the pixels
    inside the image near the border.
    """
    if image.dtype != np.uint8:
        raise TypeError(f"median_uint8 needs uint8 input, got {image.dtype}")
    width = footprint.shape[0]
    if footprint.all() and footprint.shape == (width, width) and width % 2 == 1:
        return image.copy() if width == 1 else cv2.medianBlur(image, width)
    return rank.median(image, footprint)


def clahe_uint8(image: np.ndarray, clip_limit: float = 0.01, tiles: int = 8, threads: int = 1) -> np.ndarray:
    """Contrast limited adaptive histogram equalisation of an 8-bit image, as scikit-image does it.

    Same contextual regions (1/``tiles`` of each side, image reflected at the far edges), same clip
    limit normalisation and the same bilinear blend of the neighbouring regions' mappings, with the
    excess of clipped bins spread evenly instead of scikit-image's integer round-robin, and the
    mapping applied by table look-up (cv2.LUT) per block of pixels so it runs in a fraction of the time.
    Returns uint8 stretched to the full 0..255 range, as scikit-image stretches to [0, 1].

    Kept instead of cv2.createCLAHE, which is faster but not scikit-image's algorithm: on the three real
    mammograms (tests/test_preprocess.py) OpenCV at the same clip limit differs from scikit-image by
    3.1-4.9 grey levels on average (99th percentile 12-17), this function by 0.8-1.2 (99th percentile
    2.7-3.3). On one 4096x3328 mammogram: 0.06-0.15 s here, 0.03-0.12 s OpenCV, 1.1-1.8 s scikit-image
    (benchmarks/bench_preprocess.py on the shared 2-core machine).
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
        upper = _lerp(cv2.LUT(values, luts[top, right]), cv2.LUT(values, luts[top, left]), 1 - wx)
        lower = _lerp(cv2.LUT(values, luts[bottom, right]), cv2.LUT(values, luts[bottom, left]), 1 - wx)
        out[r0:r1, c0:c1] = _lerp(lower, upper, (1 - wy)[:, None])

    jobs = [(row_band, col_band) for row_band in bands[0] for col_band in bands[1]]
    if threads > 1:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda job: blend(*job), jobs))
    else:
        for job in jobs:
            blend(*job)
    low, high = cv2.minMaxLoc(out)[:2]
    scale = 255.0 / max(high - low, 1e-12)
    return cv2.convertScaleAbs(out, alpha=scale, beta=-low * scale)  # rounded to nearest, saturated


def _lerp(start: np.ndarray, end: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """start + weight * (end - start), computed in place in ``end``."""
    end -= start
    end *= weight
    end += start
    return end


def _region_mappings(image: np.ndarray, kernel: tuple[int, int], clip_limit: float) -> np.ndarray:
    """Clipped, equalising look-up tables (float32 in [0, 1]) of every contextual region."""
    rows, cols = image.shape
    n_rows, n_cols = math.ceil(rows / kernel[0]), math.ceil(cols / kernel[1])
    padded = np.pad(image, ((0, n_rows * kernel[0] - rows), (0, n_cols * kernel[1] - cols)), mode="reflect")
    hist = np.empty((n_rows, n_cols, 256), dtype=np.float64)
    for i in range(n_rows):
        for j in range(n_cols):
            region = padded[i * kernel[0] : (i + 1) * kernel[0], j * kernel[1] : (j + 1) * kernel[1]]
            hist[i, j] = cv2.calcHist([region], [0], None, [256], [0, 256]).ravel()
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
