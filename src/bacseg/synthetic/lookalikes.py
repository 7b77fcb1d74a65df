"""Benign calcifications that look like BAC to a naive detector and must not be segmented.

Secretory (ductal) rods point towards the nipple, punctate clusters and coarse "popcorn" blobs sit in
the parenchyma; all are kept well away from every vessel, so that on the image they are as bright as
BAC but never lie along an artery.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from bacseg.synthetic.vessels import Vessel

KEEP_AWAY_MM = 8.0  # from any vessel centre-line


@dataclass(frozen=True)
class Lookalike:
    """One benign calcification as strokes: (K, 2, 2) start/end points in disc coordinates (start == end
    for a dot), with a Gaussian width and a peak brightness per stroke."""

    kind: str  # "rod" | "punctate" | "coarse"
    strokes: np.ndarray
    sigma_mm: np.ndarray
    peak: np.ndarray


def scatter_lookalikes(
    rng: np.random.Generator, vessels: list[Vessel], breast_size_mm: tuple[float, float]
) -> list[Lookalike]:
    """1-8 benign calcifications (rods, punctate clusters, coarse blobs) away from the vessels."""
    size = np.asarray(breast_size_mm)
    vessel_tree = cKDTree(np.concatenate([v.disc_points for v in vessels]) * size) if vessels else None
    counts = {_rod: rng.integers(0, 5), _cluster: rng.integers(0, 3), _coarse: rng.integers(0, 2)}
    makers = [make for make, count in counts.items() for _ in range(count)] or [_cluster]
    found = []
    for make in makers:
        for _ in range(50):
            centre_mm = np.array([rng.uniform(0.1, 0.85), rng.uniform(-0.7, 0.7)]) * size
            if np.hypot(*(centre_mm / size)) > 0.85:
                continue
            lookalike = make(rng, centre_mm, size)
            ends_mm = lookalike.strokes.reshape(-1, 2) * size
            if vessel_tree is None or vessel_tree.query(ends_mm)[0].min() >= KEEP_AWAY_MM:
                found.append(lookalike)
                break
    return found


def _rod(rng, centre_mm, size) -> Lookalike:
    """A secretory calcification: a short solid rod along the duct, i.e. pointing at the nipple."""
    towards_nipple = np.array([size[0], 0.0]) - centre_mm
    angle = np.arctan2(towards_nipple[1], towards_nipple[0]) + rng.normal(0.0, 0.3)
    half = rng.uniform(0.75, 2.5) * np.array([np.cos(angle), np.sin(angle)])
    strokes = np.stack([centre_mm - half, centre_mm + half])[None] / size
    return Lookalike("rod", strokes, np.array([rng.uniform(0.15, 0.3)]), np.array([rng.uniform(0.8, 1.0)]))


def _cluster(rng, centre_mm, size) -> Lookalike:
    """Punctate calcifications: 4-12 round dots within a few millimetres."""
    n = int(rng.integers(4, 13))
    dots = centre_mm + rng.normal(0.0, rng.uniform(1.0, 2.5), size=(n, 2))
    strokes = np.repeat(dots[:, None, :], 2, axis=1) / size
    return Lookalike("punctate", strokes, rng.uniform(0.1, 0.2, n), rng.uniform(0.7, 1.0, n))


def _coarse(rng, centre_mm, size) -> Lookalike:
    """A coarse ("popcorn") calcification: a few dense, overlapping lumps."""
    n = int(rng.integers(3, 8))
    lumps = centre_mm + rng.normal(0.0, 0.6, size=(n, 2))
    strokes = np.repeat(lumps[:, None, :], 2, axis=1) / size
    return Lookalike("coarse", strokes, rng.uniform(0.2, 0.4, n), rng.uniform(0.7, 0.9, n))
