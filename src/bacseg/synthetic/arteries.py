"""Vessels on the image, and the reader's BAC centre-lines along them.

Every vessel adds a faint soft-tissue tube; every calcified stretch of an artery adds its calcification
in the vessel's pattern (tram-track walls, beads on alternate walls, or dashed plaques), broken by the
vessel's own short gaps. The reader's polylines follow the same stretches: one polyline per run of
calcification without a >= 1 cm uncalcified gap, vertices every ~2 mm where calcium shows.
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
    """Stamps of one calcified stretch in the vessel's pattern. Brightness is at least 0.6 where calcium
    shows, so the truth threshold (0.5) sees every fragment; breaks and brightness are the vessel's own,
    so they are the same in every view and exam."""
    span = slice(start, stop)
    points = points[span]
    radius = vessel.radius_mm[span] * px_per_mm
    wall = vessel.wall_sigma_mm * px_per_mm
    normal = _normals(points)
    peak = np.where(_shown(vessel, start, stop), 0.8 + 0.2 * np.tanh(vessel.brightness[span]), 0.0)
    if vessel.pattern == "tram":
        walls = [points + side * radius[:, None] * normal for side in (-1, 1)]
        return [polyline_stamps(wall_points, np.full(len(points), wall), peak) for wall_points in walls]
    if vessel.pattern == "fragmented":
        return [polyline_stamps(points, np.full(len(points), 1.5 * wall), peak)]
    # beaded: beads on a fixed grid along the vessel, alternating walls, plus one at each end of the stretch
    arc, spacing = vessel.arc_mm[span], vessel.bead_spacing_mm
    k = np.arange(np.ceil(arc[0] / spacing), np.floor(arc[-1] / spacing) + 1)
    k = k[(k * spacing - arc[0] > 0.5) & (arc[-1] - k * spacing > 0.5)]
    at = np.concatenate([[arc[0]], k * spacing, [arc[-1]]])
    offset = np.concatenate([[0.0], np.where(k % 2 == 0, -0.5, 0.5), [0.0]]) * np.interp(at, arc, radius)
    centres = [np.interp(at, arc, points[:, i]) + offset * np.interp(at, arc, normal[:, i]) for i in (0, 1)]
    return [(centres[0], centres[1], np.full(len(at), 1.6 * wall), np.interp(at, arc, peak))]


def _shown(vessel: Vessel, start: int, stop: int) -> np.ndarray:
    """Samples of a calcified stretch where calcium shows: outside the breaks between fragments, and always
    at both ends, so that a stretch on the image is as long as its calcification."""
    shown = ~vessel.broken[start:stop]
    end = round(SHOWN_END_MM / STEP_MM)
    shown[:end] = shown[-end:] = True
    return shown


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
