"""Fibrous strands of the breast stroma: Cooper's ligaments and ducts.

Real parenchyma is not only clouds of dense tissue: faint curvilinear strands run through it towards
the nipple. They are thin and bright like calcified vessel walls, only much fainter and unconnected to
any vessel, so a segmentation network has to learn to tell them apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

STEP_MM = 0.5


@dataclass(frozen=True)
class Strand:
    disc_points: np.ndarray  # (N, 2) canonical disc coordinates
    sigma_mm: float  # Gaussian half-width
    peak: float  # relative brightness in [0, 1]


def grow_strands(rng: np.random.Generator, breast_size_mm: tuple[float, float], count: int = 140) -> list[Strand]:
    """``count`` gently curving strands, 10-50 mm long, heading roughly for the nipple."""
    size = np.asarray(breast_size_mm)
    strands = []
    for _ in range(count):
        start = np.array([rng.uniform(0.0, 0.9), rng.uniform(-0.9, 0.9)]) * size
        towards_nipple = np.array([size[0], 0.0]) - start
        heading = np.arctan2(towards_nipple[1], towards_nipple[0]) + rng.normal(0.0, 0.3)
        n = max(2, int(rng.uniform(10.0, 50.0) / STEP_MM))
        bend = gaussian_filter1d(rng.standard_normal(n), 10.0 / STEP_MM, mode="reflect")
        theta = heading + 0.3 * bend / (bend.std() + 1e-12)
        path = start + np.cumsum(np.column_stack([np.cos(theta), np.sin(theta)]), axis=0) * STEP_MM
        disc = path / size
        outside = np.flatnonzero(np.hypot(disc[:, 0], disc[:, 1]) >= 0.97)
        end = outside[0] if outside.size else n
        sigma_mm, peak = rng.uniform(0.2, 0.5), rng.uniform(0.2, 1.0)
        if end >= 2:
            strands.append(Strand(disc[:end], sigma_mm, peak))
    return strands
