"""Breast arteries and veins, and where the arteries calcify.

Vessels are tortuous curves in the breast's canonical frame (see geometry.py), sampled every 0.25 mm
of breast. Each artery carries a smooth calcification propensity along its length; a breast with
calcium burden b (the calcified fraction of its arterial length) calcifies where the propensity is in
the top b. A larger burden therefore calcifies a superset of a smaller one, which is how one breast's
BAC grows from exam to exam. Veins never calcify.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from bacseg.synthetic.render import arc_length

STEP_MM = 0.25
MIN_CALCIFIED_RUN_MM = 2.0
# Medial calcification lies in the arterial wall, which the beam sees edge-on at both sides of the vessel: every
# pattern is two thin walls (tram-track lines), differing in how they break up. "tram": long dashes, both walls
# breaking together; "beaded": short dashes, each wall on its own; "fragmented": dashes of a few mm, each wall
# on its own, so that one wall often shows alone.
PATTERNS = ("tram", "beaded", "fragmented")
PATTERN_PROBABILITIES = (0.5, 0.2, 0.3)
# (dash, gap) length ranges in mm of the breaks in each wall of a calcified stretch.
PATTERN_BREAKS = {"tram": ((2.0, 6.0), (0.3, 1.0)), "beaded": ((0.4, 1.2), (0.3, 0.8)),
                  "fragmented": ((0.8, 3.0), (0.4, 1.5))}  # fmt: skip
SHARED_BREAKS = {"tram": True, "beaded": False, "fragmented": False}  # do both walls break at the same places
VEIN_PROBABILITY = 0.3
TRUNK_RADIUS_RANGE_MM = (0.5, 1.0)  # at the chest wall; vessels narrow by 30 % along their length
# Width (Gaussian sigma) of a calcified wall's line on the image: the calcified layer of the media seen edge-on,
# 0.1-0.2 mm across at half maximum.
WALL_SIGMA_RANGE_MM = (0.045, 0.09)
WALL_JITTER = 0.08  # the walls' distance from the centre-line wanders by this fraction of the radius
CALCIFIED_WALL_MM = 0.1  # thickness of the calcified layer of the arterial wall
CALCIUM_MG_PER_MM3 = 1.0  # calcium per volume of calcified wall


@dataclass(frozen=True)
class Vessel:
    """One vessel; arrays are per 0.25 mm sample along it."""

    disc_points: np.ndarray  # (N, 2) canonical disc coordinates
    arc_mm: np.ndarray  # (N,) arc length in mm of breast
    radius_mm: np.ndarray  # (N,)
    propensity: np.ndarray  # (N,) calcification propensity, -inf for veins
    brightness: np.ndarray  # (2, N) per wall: smooth unit noise modulating how dense the calcification is
    broken: np.ndarray  # (2, N) bool per wall: in a short break between fragments of a calcified stretch
    wall_offset: np.ndarray  # (2, N) per wall: its distance from the centre-line, in radii (about 1)
    pattern: str  # one of PATTERNS
    wall_sigma_mm: float  # width (Gaussian sigma) of a calcified wall's line

    @property
    def is_artery(self) -> bool:
        return bool(np.isfinite(self.propensity[0]))


def grow_vessels(rng: np.random.Generator, breast_size_mm: tuple[float, float]) -> list[Vessel]:
    """4-7 vessels from behind the chest wall towards the nipple, each with 0-2 branches."""
    depth, half_height = breast_size_mm
    vessels = []
    for _ in range(rng.integers(4, 8)):
        start = np.array([rng.uniform(-0.1, 0.1) * depth, rng.uniform(-0.75, 0.75) * half_height])
        aim = np.array([0.95 * depth, rng.normal(0.3, 0.15) * start[1]])
        heading = np.arctan2(*(aim - start)[::-1]) + rng.normal(0.0, 0.15)
        radius = rng.uniform(*TRUNK_RADIUS_RANGE_MM)
        trunk = _vessel(rng, start, heading, radius, 1.4 * depth, breast_size_mm)
        if trunk is None:
            continue
        vessels.append(trunk)
        for _ in range(rng.integers(0, 3)):
            at = rng.integers(int(0.2 * len(trunk.arc_mm)), int(0.7 * len(trunk.arc_mm)) + 1)
            origin = trunk.disc_points[at] * (depth, half_height)
            direction = trunk.disc_points[min(at + 4, len(trunk.arc_mm) - 1)] - trunk.disc_points[max(at - 4, 0)]
            along = np.arctan2(direction[1] * half_height, direction[0] * depth)
            branch_heading = along + rng.choice((-1, 1)) * rng.uniform(0.35, 0.8)
            branch = _vessel(rng, origin, branch_heading, 0.7 * trunk.radius_mm[at], 0.6 * depth, breast_size_mm)
            if branch is not None:
                vessels.append(branch)
    return vessels


def _vessel(rng, start_mm, heading, radius_mm, length_mm, breast_size_mm) -> Vessel | None:
    """A tortuous path: a smoothly wandering heading plus a small perpendicular meander, cut at the skin."""
    n = int(length_mm / STEP_MM)
    s = np.arange(n) * STEP_MM
    theta = heading + 0.35 * _smooth_unit_noise(rng, n, 12.0)
    centre = start_mm + np.cumsum(np.stack([np.cos(theta), np.sin(theta)], axis=1), axis=0) * STEP_MM
    meander = rng.uniform(0.1, 0.5) * (1 + 0.5 * _smooth_unit_noise(rng, n, 8.0))
    meander *= np.sin(2 * np.pi * s / rng.uniform(6.0, 14.0) + rng.uniform(0, 2 * np.pi))
    points = centre + meander[:, None] * np.stack([-np.sin(theta), np.cos(theta)], axis=1)
    disc = points / np.asarray(breast_size_mm)
    outside = np.flatnonzero(np.hypot(disc[:, 0], disc[:, 1]) > 0.96)
    end = outside[0] if outside.size else n
    if end * STEP_MM < 15.0:
        return None
    disc, points = disc[:end], points[:end]
    arc = arc_length(points)
    is_vein = rng.random() < VEIN_PROBABILITY
    pattern = PATTERNS[rng.choice(len(PATTERNS), p=PATTERN_PROBABILITIES)]
    propensity = _smooth_unit_noise(rng, end, 4.0) + rng.normal(0.0, 0.6)
    return Vessel(
        disc_points=disc,
        arc_mm=arc,
        radius_mm=radius_mm * np.linspace(1.0, 0.7, end) * (1.3 if is_vein else 1.0),
        propensity=np.full(end, -np.inf) if is_vein else propensity,
        brightness=np.stack([_smooth_unit_noise(rng, end, 1.0) for _ in range(2)]),
        broken=_wall_breaks(rng, arc, pattern),
        wall_offset=1.0 + WALL_JITTER * np.stack([_smooth_unit_noise(rng, end, 1.5) for _ in range(2)]),
        pattern=pattern,
        wall_sigma_mm=rng.uniform(*WALL_SIGMA_RANGE_MM),
    )


def _wall_breaks(rng: np.random.Generator, arc_mm: np.ndarray, pattern: str) -> np.ndarray:
    """(2, N): the breaks of each wall, shared by both walls or drawn for each (SHARED_BREAKS)."""
    first = _breaks(rng, arc_mm, PATTERN_BREAKS[pattern])
    return np.stack([first, first if SHARED_BREAKS[pattern] else _breaks(rng, arc_mm, PATTERN_BREAKS[pattern])])


def _breaks(rng: np.random.Generator, arc_mm: np.ndarray, lengths) -> np.ndarray:
    """Which samples fall in a break of an alternating dash/gap sequence with random lengths."""
    (dash_low, dash_high), (gap_low, gap_high) = lengths
    n = int(arc_mm[-1] / (dash_low + gap_low)) + 2
    pieces = np.column_stack([rng.uniform(dash_low, dash_high, n), rng.uniform(gap_low, gap_high, n)]).ravel()
    edges = np.cumsum(pieces) - rng.uniform(0, pieces[0])
    return np.searchsorted(edges, arc_mm, side="right") % 2 == 1


def _smooth_unit_noise(rng: np.random.Generator, n: int, correlation_mm: float) -> np.ndarray:
    """Gaussian-smoothed white noise along a vessel, rescaled to unit standard deviation."""
    sigma = correlation_mm / STEP_MM
    noise = gaussian_filter1d(rng.standard_normal(n), sigma, mode="reflect")
    return noise / (noise.std() + 1e-12)


def calcified_samples(vessels: list[Vessel], burden: float) -> list[np.ndarray]:
    """Per vessel, the samples that are calcified at ``burden`` (calcified fraction of arterial length).

    Nested in ``burden``: every sample calcified at b is calcified at any b' > b. Stretches shorter than
    MIN_CALCIFIED_RUN_MM are dropped (they would be specks, not vessel calcification).
    """
    if not 0.0 <= burden <= 1.0:
        raise ValueError(f"burden is a fraction of arterial length, got {burden}")
    arterial = [v.propensity for v in vessels if v.is_artery]
    if burden == 0.0 or not arterial:
        return [np.zeros(len(v.arc_mm), dtype=bool) for v in vessels]
    threshold = np.quantile(np.concatenate(arterial), 1.0 - burden)
    flags = []
    for vessel in vessels:
        calcified = vessel.propensity >= threshold
        for start, stop in runs(calcified):
            if vessel.arc_mm[stop - 1] - vessel.arc_mm[start] < MIN_CALCIFIED_RUN_MM:
                calcified[start:stop] = False
        flags.append(calcified)
    return flags


def runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, stop) index ranges of the True stretches of a boolean array."""
    edges = np.diff(np.concatenate([[0], flags.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)))


def calcium_mass_mg(vessel: Vessel, calcified: np.ndarray) -> float:
    """Calcium in the calcified samples: a calcified wall ring of CALCIFIED_WALL_MM around the lumen."""
    segment_mm = np.gradient(vessel.arc_mm) if len(vessel.arc_mm) > 1 else np.zeros(1)
    ring_mm2 = 2 * np.pi * vessel.radius_mm * CALCIFIED_WALL_MM
    return float(np.sum(segment_mm * ring_mm2 * calcified) * CALCIUM_MG_PER_MM3)
