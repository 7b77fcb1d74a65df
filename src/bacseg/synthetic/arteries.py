"""Vessels on the image, and the reader's BAC centre-lines along them.

Every vessel adds a faint soft-tissue tube; every calcified stretch of an artery adds its calcification
as two thin walls (tram-track lines), broken in the vessel's pattern (long dashes on both walls together,
short beads, or fragments of each wall on its own). The reader's polylines follow the same stretches: one
polyline per run of calcification without a >= 1 cm uncalcified gap, vertices every ~2 mm where calcium shows
on either wall.
"""

from __future__ import annotations

import numpy as np

from bacseg.synthetic.geometry import ViewGeometry
from bacseg.synthetic.render import arc_length, concatenate_stamps, polyline_stamps, splat
from bacseg.synthetic.vessels import STEP_MM, Vessel, runs

NEW_POLYLINE_GAP_MM = 10.0  # a new polyline after >= 1 cm of uncalcified vessel
VERTEX_SPACING_MM = 2.0  # how often a reader clicks along a calcified stretch
SHOWN_END_MM = 1.0  # a calcified stretch always shows over its last millimetre at both ends


def vessel_layers(
    geometry: ViewGeometry, vessels: list[Vessel], vessel_points: list[np.ndarray], calcified: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """The soft-tissue vessel layer and the calcification layer, each with peak ~1 per structure."""
    px_per_mm = geometry.px_per_mm()
    soft, hard = [], []
    for vessel, points, flags in zip(vessels, vessel_points, calcified):
        soft.append(polyline_stamps(points, 0.55 * vessel.radius_mm * px_per_mm, np.ones(len(points))))
        for start, stop in runs(flags):
            hard.extend(_calcification_stamps(vessel, points, start, stop, px_per_mm))
    return splat(geometry.shape, *concatenate_stamps(soft)), splat(geometry.shape, *concatenate_stamps(hard))


def _calcification_stamps(vessel: Vessel, points: np.ndarray, start: int, stop: int, px_per_mm: float) -> list:
    """Stamps of one calcified stretch: its two walls, thin lines at the wall's (slightly wandering) distance
    from the centre-line, each broken where the vessel's pattern breaks it. Brightness is at least 0.6 where
    calcium shows, so the truth threshold (0.5) sees every fragment; breaks and brightness are the vessel's own,
    so they are the same in every view and exam."""
    span = slice(start, stop)
    points = points[span]
    radius = vessel.radius_mm[span] * px_per_mm
    wall = np.full(len(points), vessel.wall_sigma_mm * px_per_mm)
    normal = _normals(points)
    shown = _shown_walls(vessel, start, stop)
    stamps = []
    for index, side in enumerate((-1, 1)):
        peak = np.where(shown[index], 0.8 + 0.2 * np.tanh(vessel.brightness[index, span]), 0.0)
        offset = side * radius * vessel.wall_offset[index, span]
        stamps.append(polyline_stamps(points + offset[:, None] * normal, wall, peak))
    return stamps


def _shown_walls(vessel: Vessel, start: int, stop: int) -> np.ndarray:
    """(2, n): where each wall of a calcified stretch shows calcium: outside its breaks, and both walls always
    over the stretch's last millimetre at each end, so that a stretch on the image is as long as its calcification."""
    shown = ~vessel.broken[:, start:stop]
    end = round(SHOWN_END_MM / STEP_MM)
    shown[:, :end] = shown[:, -end:] = True
    return shown


def _shown(vessel: Vessel, start: int, stop: int) -> np.ndarray:
    """Samples of a calcified stretch where calcium shows on either wall (the reader's vertices go there)."""
    return _shown_walls(vessel, start, stop).any(axis=0)


def _normals(points: np.ndarray) -> np.ndarray:
    tangent = np.gradient(points, axis=0)
    tangent /= np.maximum(np.hypot(tangent[:, 0], tangent[:, 1]), 1e-9)[:, None]
    return np.column_stack([-tangent[:, 1], tangent[:, 0]])


def centrelines(
    geometry: ViewGeometry,
    vessels: list[Vessel],
    vessel_points: list[np.ndarray],
    calcified: list[np.ndarray],
    visible: list[np.ndarray],
) -> list[np.ndarray]:
    """BAC polylines ((N, 2) x, y): per artery, the visible calcified stretches joined across gaps shorter
    than 1 cm of image, split where the vessel leaves the breast or the image."""
    gap_px = NEW_POLYLINE_GAP_MM / geometry.spacing_mm
    vertex_px = VERTEX_SPACING_MM / geometry.spacing_mm
    polylines = []
    for vessel, points, flags, seen in zip(vessels, vessel_points, calcified, visible):
        arc = arc_length(points)
        groups: list[list[tuple[int, int]]] = []
        for start, stop in runs(flags & seen):
            previous_stop = groups[-1][-1][1] if groups else 0
            if groups and arc[start] - arc[previous_stop - 1] < gap_px and seen[previous_stop:start].all():
                groups[-1].append((start, stop))
            else:
                groups.append([(start, stop)])
        for group in groups:
            vertices = []
            for start, stop in group:
                shown = start + np.flatnonzero(_shown(vessel, start, stop))
                _, first_in_bin = np.unique(np.floor((arc[shown] - arc[start]) / vertex_px), return_index=True)
                vertices.extend(sorted(set(shown[first_in_bin]) | {shown[-1]}))
            if len(vertices) >= 2:
                polylines.append(points[vertices])
    return polylines
