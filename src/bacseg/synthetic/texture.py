"""Parenchymal texture: power-law noise and BI-RADS breast density.

Mammographic parenchyma has a radially averaged power spectrum P(f) ~ f^-beta with beta between 2.6
and 3.2 (Burgess et al. 2001), so the tissue is power-law noise with beta = 3 shaped into glandular
(dense) and fatty tissue; the density class sets how much of the breast is dense.
"""

from __future__ import annotations

import numpy as np
import scipy.fft

DENSITY_CLASSES = ("A", "B", "C", "D")
DENSITY_PROPORTIONS = (0.072, 0.436, 0.417, 0.075)  # the paper's cohort
# Fraction of the breast that is dense tissue, per class (BI-RADS 4th edition quartiles, squeezed).
DENSE_FRACTION_RANGE = {"A": (0.03, 0.2), "B": (0.2, 0.45), "C": (0.45, 0.7), "D": (0.7, 0.9)}


def draw_density_class(rng: np.random.Generator) -> str:
    """A BI-RADS density class in the paper's proportions."""
    return DENSITY_CLASSES[rng.choice(len(DENSITY_CLASSES), p=DENSITY_PROPORTIONS)]


def power_law_noise(
    rng: np.random.Generator, shape: tuple[int, int], spacing_mm: float, beta: float = 3.0, largest_mm: float = 50.0
) -> np.ndarray:
    """Zero-mean, unit-variance float32 noise with power spectrum (f^2 + f0^2)^(-beta/2), f in cycles/mm.

    ``largest_mm`` (= 1/f0) caps the size of the largest structures, so the variance stays finite and
    the texture does not depend on how large the image is.
    """
    rows, columns = shape
    fy = scipy.fft.fftfreq(rows, d=spacing_mm).astype(np.float32)[:, None]
    fx = scipy.fft.rfftfreq(columns, d=spacing_mm).astype(np.float32)[None, :]
    amplitude = (fy * fy + fx * fx + np.float32(1.0 / largest_mm**2)) ** np.float32(-beta / 4)
    # Uniform rather than Gaussian coefficients (4x cheaper to draw); the inverse FFT sums so many of them
    # that the field is Gaussian all the same.
    spectrum = np.empty(amplitude.shape, dtype=np.complex64)
    spectrum.real = rng.random(amplitude.shape, dtype=np.float32)
    spectrum.imag = rng.random(amplitude.shape, dtype=np.float32)
    spectrum -= np.complex64(0.5 + 0.5j)
    spectrum *= amplitude
    field = scipy.fft.irfft2(spectrum, s=shape, workers=-1)
    field -= field.mean()
    field /= field.std()
    return field


def dense_threshold(tissue: np.ndarray, dense_fraction: float) -> float:
    """The tissue level above which ``dense_fraction`` of ``tissue`` (in-breast values) lies."""
    return float(np.quantile(tissue, 1.0 - dense_fraction)) if tissue.size else 0.0


def glandular_fraction(tissue: np.ndarray, threshold: float, sharpness: float = 1.0) -> np.ndarray:
    """Glandular tissue fraction in [0, 1]: ``tissue`` (noise plus a central prior) soft-thresholded at the
    dense threshold. The threshold is soft so that the texture keeps its power law."""
    return np.float32(1.0) / (np.float32(1.0) + np.exp(np.float32(-sharpness) * (tissue - np.float32(threshold))))


def power_law_exponent(
    image: np.ndarray,
    region: np.ndarray,
    spacing_mm: float,
    patch_mm: float = 25.6,
    band_cpmm: tuple[float, float] = (0.15, 1.0),
) -> float:
    """beta of P(f) ~ f^-beta: the median over the square ``patch_mm`` patches (half-overlapping) that lie
    wholly inside ``region`` of the slope fitted over ``band_cpmm`` (cycles/mm) to the patch's radially
    averaged power spectrum (mean removed, Hann window). The median keeps a patch with a calcification
    or a vessel from dragging the estimate."""
    size = int(round(patch_mm / spacing_mm))
    window = np.outer(np.hanning(size), np.hanning(size))
    k = np.fft.fftfreq(size) * size
    radius = np.rint(np.hypot(k[:, None], k[None, :])).astype(int).ravel()
    counts = np.bincount(radius)
    frequency = np.arange(counts.size) / (size * spacing_mm)
    in_band = (frequency >= band_cpmm[0]) & (frequency <= band_cpmm[1])
    betas = []
    for top in range(0, image.shape[0] - size + 1, size // 2):
        for left in range(0, image.shape[1] - size + 1, size // 2):
            if region[top : top + size, left : left + size].all():
                patch = image[top : top + size, left : left + size].astype(np.float64)
                power = np.abs(np.fft.fft2((patch - patch.mean()) * window)) ** 2
                radial = np.bincount(radius, power.ravel()) / counts
                slope = np.polyfit(np.log(frequency[in_band]), np.log(radial[in_band]), 1)[0]
                betas.append(-slope)
    if not betas:
        raise ValueError(f"no {patch_mm} mm patch fits inside the region")
    return float(np.median(betas))
