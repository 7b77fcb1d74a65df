"""Fat lobules and the Cooper's ligaments around them.

The fat of a breast is a mosaic of lobules a few millimetres across, each wrapped in a thin fibrous septum. In
projection the septa are a network of thin bright arcs that fills every fatty region: on a real mammogram they are
the commonest thin bright curves, brightest where the beam runs along them, and a network that never saw them can
take them for BAC (a model trained on these cohorts before they had lobules marked them on the real film MG1).

The lobules are a Voronoi mosaic of jittered centres in the breast's canonical frame (millimetres of breast), its
cell walls bent by a smooth warp; each wall is a Gaussian ridge, some walls faint or absent. The walls are found
on a coarse grid (the distance to the bisector of the two nearest centres is linear between grid points) and drawn
at full resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import cKDTree

from bacseg.synthetic.geometry import ViewGeometry

GRID_MM = 0.5  # coarse grid of the wall distance
BENDS = 6  # plane waves of the warp that bends the walls


@dataclass(frozen=True)
class Lobules:
    centres_mm: np.ndarray  # (N, 2) lobule centres, canonical (u, v) times the breast's size
    visibility: np.ndarray  # (N,) in [0, 1]: a wall shows with the geometric mean of its two lobules'
    warp: np.ndarray  # (K, 5) wave vector (2, rad/mm), phase, amplitude (mm) and direction (rad) of each bend
    sigma_mm: float  # Gaussian half-width of a wall
    peak: float  # a fully visible wall's brightness, relative to the strands' contrast


def draw_lobules(rng: np.random.Generator, size_mm: tuple[float, float]) -> Lobules:
    """Lobules 4-9 mm apart (one spacing per breast) over the canonical half-disc and a little beyond."""
    depth, half_height = size_mm
    spacing = rng.uniform(4.0, 9.0)
    u = np.arange(-0.1 * depth, 1.05 * depth, spacing)
    v = np.arange(-1.05 * half_height, 1.05 * half_height, spacing)
    grid = np.stack(np.meshgrid(u, v, indexing="ij"), axis=-1).reshape(-1, 2)
    centres = grid + rng.uniform(-0.45, 0.45, size=grid.shape) * spacing
    visibility = np.clip(rng.uniform(-0.3, 1.0, size=len(centres)), 0.0, 1.0) ** 0.5
    wavelength = rng.uniform(6.0, 20.0, size=BENDS)
    angle = rng.uniform(0.0, np.pi, size=BENDS)
    wave = (2 * np.pi / wavelength)[:, None] * np.column_stack([np.cos(angle), np.sin(angle)])
    warp = np.column_stack([wave, rng.uniform(0, 2 * np.pi, BENDS), 0.08 * wavelength, rng.uniform(0, np.pi, BENDS)])
    sigma_mm, peak = float(rng.uniform(0.15, 0.35)), float(rng.uniform(1.0, 2.0))
    return Lobules(centres, visibility, warp, sigma_mm, peak)


def septum_layer(lobules: Lobules, geometry: ViewGeometry, size_mm: tuple[float, float]) -> np.ndarray:
    """The walls at every pixel of the view (left-breast orientation), float32 from 0 to ``lobules.peak``."""
    shape, px_per_mm = geometry.shape, geometry.px_per_mm()
    step = max(1, int(round(GRID_MM / geometry.spacing_mm)))
    # Grid points where cv2.resize puts its source samples when it enlarges step-fold.
    rows, columns = (np.arange(-(-n // step), dtype=np.float32) * step + (step - 1) / 2 for n in shape)
    u, v = geometry.to_disc(columns[None, :].astype(np.float64), rows[:, None].astype(np.float64))
    points = np.stack([u * size_mm[0], v * size_mm[1]], axis=-1).reshape(-1, 2)
    points += _bend(lobules.warp, points)
    distance, nearest = cKDTree(lobules.centres_mm).query(points, k=2)
    first, second = lobules.centres_mm[nearest[:, 0]], lobules.centres_mm[nearest[:, 1]]
    to_wall = (distance[:, 1] ** 2 - distance[:, 0] ** 2) / (2 * np.linalg.norm(second - first, axis=1))
    weight = np.sqrt(lobules.visibility[nearest[:, 0]] * lobules.visibility[nearest[:, 1]])
    coarse = (rows.size, columns.size)
    size = (columns.size * step, rows.size * step)
    to_wall_px = cv2.resize((to_wall * px_per_mm).reshape(coarse).astype(np.float32), size)[: shape[0], : shape[1]]
    weight = cv2.resize(weight.reshape(coarse).astype(np.float32), size)[: shape[0], : shape[1]]
    # A pixel averages the wall over its width (variance 1/12 px^2 more), keeping the wall's integral: a wall
    # narrower than a pixel is fainter, not missed between pixel centres.
    sigma_px = lobules.sigma_mm * px_per_mm
    blurred_px = np.sqrt(sigma_px**2 + 1 / 12)
    to_wall_px /= np.float32(blurred_px)
    to_wall_px *= to_wall_px
    to_wall_px *= np.float32(-0.5)
    np.exp(to_wall_px, out=to_wall_px)
    to_wall_px *= weight
    to_wall_px *= np.float32(lobules.peak * sigma_px / blurred_px)
    return to_wall_px


def _bend(warp: np.ndarray, points: np.ndarray) -> np.ndarray:
    """A smooth displacement (mm) of canonical points: a few plane waves, each along its own direction."""
    shift = np.zeros_like(points)
    for kx, ky, phase, amplitude, direction in warp:
        wave = amplitude * np.sin(points[:, 0] * kx + points[:, 1] * ky + phase)
        shift += wave[:, None] * np.array([np.cos(direction), np.sin(direction)])
    return shift
