"""Parenchymal power-law exponent beta, by the method of ``../shared/tools/power_law_beta.py`` (the tool that
measured 2.8-3.2 on real mammograms and 2.25-2.96 on cohort A in issue 8), so synthetic and real images are
compared by one yardstick.

The tool's recipe: MONOCHROME2 pixels (a MONOCHROME1 image reflected), the pixels above the image's 60th
percentile as "breast", every 128x128 patch on a 64 px grid lying wholly in it, each patch's mean removed and a
Hann window applied, the radially averaged power spectrum (integer radius bins), and beta = minus the slope of
log power against log frequency over 1/64 < f < 1/4 cycles per pixel (anatomical noise, above quantum noise).
Here the patches are processed in batches and the line fitted in closed form (the least-squares slope that
``np.polyfit`` computes). Reflection and offset leave beta and the patch choice unchanged, so the project's
``read_pixels(voi="none")`` values serve as well as the tool's raw ones.
"""

from __future__ import annotations

import numpy as np

PATCH, STRIDE = 128, 64
FOREGROUND_PERCENTILE = 60
BAND = (1 / 64, 1 / 4)  # cycles per pixel, both ends excluded
_BATCH = 256


def patch_betas(patches: np.ndarray) -> np.ndarray:
    """Beta of each (N, PATCH, PATCH) patch."""
    patches = np.asarray(patches, dtype=np.float64)
    size = patches.shape[1]
    window = np.hanning(size)[:, None] * np.hanning(patches.shape[2])[None, :]
    centred = patches - patches.mean(axis=(1, 2), keepdims=True)
    power = np.abs(np.fft.fftshift(np.fft.fft2(centred * window), axes=(1, 2))) ** 2
    y, x = np.indices(patches.shape[1:])
    radius = np.hypot(y - size / 2, x - patches.shape[2] / 2).astype(int).ravel()
    bins = radius.max() + 1
    offsets = (np.arange(len(patches)) * bins)[:, None]
    sums = np.bincount((radius[None, :] + offsets).ravel(), power.reshape(len(patches), -1).ravel(),
                       minlength=len(patches) * bins).reshape(len(patches), bins)  # fmt: skip
    profile = sums / np.bincount(radius, minlength=bins)
    frequency = np.arange(bins) / size
    band = (frequency > BAND[0]) & (frequency < BAND[1])
    log_f, log_p = np.log(frequency[band]), np.log(profile[:, band])
    f_centred = log_f - log_f.mean()
    slope = (log_p - log_p.mean(axis=1, keepdims=True)) @ f_centred / (f_centred @ f_centred)
    return -slope


def image_betas(pixels: np.ndarray) -> np.ndarray:
    """Beta of every in-breast patch of one MONOCHROME2 image, in the tool's row-major patch order."""
    pixels = np.asarray(pixels, dtype=np.float64)
    rows, columns = pixels.shape
    outside = np.pad((pixels <= np.percentile(pixels, FOREGROUND_PERCENTILE)).cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    tops, lefts = np.arange(0, rows - PATCH, STRIDE), np.arange(0, columns - PATCH, STRIDE)
    top, left = (grid.ravel() for grid in np.meshgrid(tops, lefts, indexing="ij"))
    background = (outside[top + PATCH, left + PATCH] - outside[top, left + PATCH] - outside[top + PATCH, left]
                  + outside[top, left])  # fmt: skip
    corners = list(zip(top[background == 0], left[background == 0]))
    betas = [patch_betas(np.stack([pixels[i : i + PATCH, j : j + PATCH] for i, j in corners[start : start + _BATCH]]))
             for start in range(0, len(corners), _BATCH)]  # fmt: skip
    return np.concatenate(betas) if betas else np.empty(0)


def beta_summary(betas: np.ndarray) -> dict:
    """Median and interquartile range of an image's patch betas (what the tool prints), and the patch count."""
    if not len(betas):
        return {"median": None, "q25": None, "q75": None, "patches": 0}
    q25, median, q75 = np.percentile(betas, [25, 50, 75])
    return {"median": float(median), "q25": float(q25), "q75": float(q75), "patches": int(len(betas))}
