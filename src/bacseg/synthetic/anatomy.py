"""One breast as it is between exams: size, density, vessels, benign calcifications, fibrous strands, fat lobules.

Everything here is view-independent and lives in the canonical frame (see geometry.py), so the CC
and MLO of one breast, and its yearly exams, show the same vessels and the same calcifications.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bacseg.synthetic.lobules import Lobules, draw_lobules
from bacseg.synthetic.lookalikes import Lookalike, scatter_lookalikes
from bacseg.synthetic.stroma import Strand, grow_strands
from bacseg.synthetic.texture import DENSE_FRACTION_RANGE, draw_density_class
from bacseg.synthetic.vessels import Vessel, calcified_samples, grow_vessels


@dataclass(frozen=True)
class Breast:
    size_mm: tuple[float, float]  # compressed CC depth (chest wall to nipple) and half-height
    density_class: str
    dense_fraction: float
    vessels: list[Vessel]
    lookalikes: list[Lookalike]
    strands: list[Strand]
    lobules: Lobules

    def calcified(self, burden: float) -> list[np.ndarray]:
        """Per vessel, which samples are calcified at ``burden`` (calcified fraction of arterial length)."""
        return calcified_samples(self.vessels, burden)


def draw_breast(
    rng: np.random.Generator, lookalike_probability: float = 0.5, density_class: str | None = None
) -> Breast:
    """A breast with a random size, density (paper proportions unless given), vessels and, with
    ``lookalike_probability``, benign calcifications."""
    size_mm = (rng.uniform(65.0, 125.0), rng.uniform(75.0, 115.0))
    density_class = density_class or draw_density_class(rng)
    dense_fraction = rng.uniform(*DENSE_FRACTION_RANGE[density_class])
    vessels = grow_vessels(rng, size_mm)
    lookalikes = scatter_lookalikes(rng, vessels, size_mm) if rng.random() < lookalike_probability else []
    strands = grow_strands(rng, size_mm)
    lobules = draw_lobules(rng.spawn(1)[0], size_mm)  # a stream of its own: the rest is as it was before lobules
    return Breast(size_mm, density_class, dense_fraction, vessels, lookalikes, strands, lobules)
