"""The paper's quantification metrics (Eq. 3-4) of one image, as the authors' code computes them
(Emory-HITI/BAC_segmentation ``utils.evaluate``), from a probability map and the 8-bit image the network saw.

- ``PM``: the sum of the whole probability map;
- ``AM``: the number of pixels with p > ``area_cutoff`` (the authors count it at 0.5 whatever their cutoff);
- ``SIM``: the sum of the intensities of the pixels with p > ``cutoff``;
- ``TAM_X``: the number of pixels with p > ``cutoff`` and intensity >= X;
- ``TSIM_X``: the sum of their intensities.

The intensity threshold is inclusive (>= X), as in the authors' code. Intensity sums are exact (int64): the
authors' Python ``sum()`` over a uint8 array is exact under NumPy 1.x value-based casting but wraps at 256 under
NumPy 2. A ground-truth mask is quantified by passing it as the probabilities (0/1 values).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

BASE_METRICS = ("PM", "AM", "SIM")


def metric_names(thresholds: Sequence[int]) -> list[str]:
    """``PM, AM, SIM`` then ``TAM_X, TSIM_X`` for each threshold X in the order given."""
    return [*BASE_METRICS, *(f"{kind}_{x}" for x in _checked_thresholds(thresholds) for kind in ("TAM", "TSIM"))]


def area_names(thresholds: Sequence[int]) -> list[str]:
    """The pixel counts that also get a physical area (``<name>_mm2``): breast area, AM and each TAM_X."""
    return ["breast_area", "AM", *(f"TAM_{x}" for x in _checked_thresholds(thresholds))]


def column_names(thresholds: Sequence[int], *, physical: bool) -> list[str]:
    """The keys of ``quantify``'s result, in its order (with the mm^2 areas when ``physical``)."""
    names = ["breast_area_px", *metric_names(thresholds)]
    return names + [f"{name}_mm2" for name in area_names(thresholds)] if physical else names


def quantify(
    probabilities: np.ndarray,
    intensities: np.ndarray,
    *,
    cutoff: float,
    thresholds: Sequence[int],
    pixel_area_mm2: float | None = None,
    area_cutoff: float | None = None,
) -> dict[str, float | int]:
    """Breast area (intensity > 0) and every metric of one image; with ``pixel_area_mm2`` also the areas in mm^2
    (``breast_area_mm2``, ``AM_mm2``, ``TAM_X_mm2``), so images of different pixel size compare.
    ``area_cutoff`` (default: ``cutoff``) is the probability AM counts above."""
    probabilities, intensities = _checked_maps(probabilities, intensities)
    thresholds = _checked_thresholds(thresholds)
    cutoff = _checked_cutoff(cutoff, "cutoff")
    area_cutoff = cutoff if area_cutoff is None else _checked_cutoff(area_cutoff, "area_cutoff")
    total = float(np.sum(probabilities, dtype=np.float64))
    if not math.isfinite(total):
        raise ValueError("probabilities must be finite")
    selected = intensities[probabilities > cutoff]
    result: dict[str, float | int] = {
        "breast_area_px": int(np.count_nonzero(intensities)),
        "PM": total,
        "AM": int(np.count_nonzero(probabilities > area_cutoff)),
        "SIM": int(selected.sum(dtype=np.int64)),
    }
    for x in thresholds:
        bright = selected[selected >= x]
        result[f"TAM_{x}"] = int(bright.size)
        result[f"TSIM_{x}"] = int(bright.sum(dtype=np.int64))
    if pixel_area_mm2 is not None:
        if not (math.isfinite(pixel_area_mm2) and pixel_area_mm2 > 0):
            raise ValueError(f"pixel_area_mm2 must be a positive number, got {pixel_area_mm2}")
        for name in area_names(thresholds):
            result[f"{name}_mm2"] = result[f"{name}_px" if name == "breast_area" else name] * float(pixel_area_mm2)
    return result


def _checked_maps(probabilities: np.ndarray, intensities: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    probabilities, intensities = np.asarray(probabilities), np.asarray(intensities)
    if intensities.dtype != np.uint8:
        raise ValueError(f"intensities must be the 8-bit (uint8) image, got {intensities.dtype}")
    if intensities.ndim != 2:
        raise ValueError(f"intensities must be a 2-D image, got shape {intensities.shape}")
    if probabilities.shape != intensities.shape:
        raise ValueError(f"probability map {probabilities.shape} and image {intensities.shape} differ in shape")
    if not (probabilities.dtype == bool or np.issubdtype(probabilities.dtype, np.number)) \
            or np.issubdtype(probabilities.dtype, np.complexfloating):
        raise ValueError(f"probabilities must be real numbers or a boolean mask, got {probabilities.dtype}")
    return probabilities, intensities


def _checked_thresholds(thresholds: Sequence[int]) -> list[int]:
    values = list(thresholds)
    if any(isinstance(x, bool) or int(x) != x or not 0 <= x <= 255 for x in values):
        raise ValueError(f"intensity thresholds must be integers in 0..255, got {values}")
    if len(set(values)) != len(values):
        raise ValueError(f"intensity thresholds repeat: {values}")
    return [int(x) for x in values]


def _checked_cutoff(value: float, name: str) -> float:
    if not (isinstance(value, numbers.Real) and not isinstance(value, bool) and 0 <= value < 1):
        raise ValueError(f"{name} must be a probability in [0, 1), got {value!r}")
    return float(value)
