"""Where a breast lands in one image: the projection of its canonical disc into a CC or MLO view.

Every breast lives in one canonical frame, the unit disc (x towards the nipple, y across), so its
vessels and calcifications are the same objects in both views and in every yearly exam; a view is an
affine map of that disc into the detector (stretch, tilt, magnification, how far the breast is pulled
in), clipped by the chest wall at the image edge. Images are built with the chest wall on the left
(left breast orientation) and mirrored for right breasts at the very end.

The collimator may leave an unexposed strip along the top or bottom edge, as on many clinical mammograms: no
dose reaches it, so a for-presentation image shows it bright, with a soft edge (the penumbra) over whatever
tissue lies there. The breast is seen only in the exposed field between the strips.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

PAPER_SPACING_MM = 0.07
DETECTOR_SHAPES = {"large": (4096, 3328), "small": (3328, 2560)}
UNEXPOSED_STRIP_PROBABILITY = 0.5  # per edge (top, bottom) and image


def image_shape(detector: str, scale: float) -> tuple[int, int]:
    """Rows, columns of a detector's image at ``scale`` (1.0 = the paper's full size)."""
    rows, columns = DETECTOR_SHAPES[detector]
    return round(rows * scale), round(columns * scale)


@dataclass(frozen=True)
class Collimation:
    """Unexposed strips along the top and bottom edges (0 px = none), each with a penumbra and a display level."""

    top_px: float = 0.0  # the exposed field starts at this row
    bottom_px: float = 0.0  # ... and ends this many rows above the last one
    penumbra_px: float = 1.0
    level: float = 0.9  # display level of the unexposed strip
    level_slope: float = 0.0  # the strip's level changes by this much from the left edge to the right

    def shade(self, y: np.ndarray, rows: int) -> np.ndarray:
        """How unexposed rows ``y`` are: 0 in the field, rising over the penumbra to 1 in the strip."""
        y = np.asarray(y, dtype=np.float32)
        into_top = (np.float32(self.top_px) - y) / np.float32(self.penumbra_px)
        into_bottom = (y - np.float32(rows - 1 - self.bottom_px)) / np.float32(self.penumbra_px)
        return np.clip(np.maximum(into_top, into_bottom), 0.0, 1.0)

    def exposed(self, y: np.ndarray, rows: int) -> np.ndarray:
        """Rows of the exposed field, where the breast is seen (shade 0)."""
        return (y >= self.top_px) & (y <= rows - 1 - self.bottom_px)


@dataclass(frozen=True)
class ViewGeometry:
    """The canonical disc's placement in one image (left-breast orientation, pixel units)."""

    shape: tuple[int, int]
    spacing_mm: float
    magnification: float
    centre: tuple[float, float]  # (x, y) of the disc centre; x < 0 puts part of the disc behind the chest wall
    matrix: tuple[tuple[float, float], tuple[float, float]]  # disc (u, v) -> image offset (x, y), pixels
    ripple: tuple[float, ...]  # outline ripple: coefficients of a polynomial in sin(polar angle)
    pectoral: tuple[float, float] | None  # (x where it meets the top edge, y where it meets the left edge), MLO
    collimation: Collimation = Collimation()

    def to_image(self, disc_points: np.ndarray) -> np.ndarray:
        """(N, 2) canonical disc points -> (N, 2) image (x, y) in pixels."""
        return np.asarray(self.centre) + disc_points @ np.asarray(self.matrix).T

    def to_disc(self, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Canonical disc coordinates (u, v) of pixel columns ``x`` and rows ``y`` (broadcast together)."""
        return _disc_coordinates(x, y, self.centre, self.matrix)

    def px_per_mm(self) -> float:
        """Image pixels per millimetre of breast (magnification included)."""
        return self.magnification / self.spacing_mm


def draw_view_geometry(
    rng: np.random.Generator,
    view: str,
    shape: tuple[int, int],
    spacing_mm: float,
    breast_size_mm: tuple[float, float],
    magnification: float = 1.0,
    chest_wall_offset: float = 0.05,
) -> ViewGeometry:
    """Place a breast of CC ``breast_size_mm`` (depth, half-height) into a CC or MLO image.

    The MLO shows the breast longer and sheared downwards (nipple below the centre, the upper part running
    off the top edge into the axilla), with the pectoral muscle in the upper chest-wall corner.
    ``chest_wall_offset`` is the fraction of the disc left behind the chest wall (positioning). The breast
    is shrunk where it would not fit the detector, so the returned magnification is the effective one.
    """
    rows, columns = shape
    depth, half_height = np.asarray(breast_size_mm) * magnification / spacing_mm
    if view == "CC":
        shear = rng.uniform(-0.05, 0.05)
        centre_y = rows * (0.5 + rng.uniform(-0.04, 0.04))
    elif view == "MLO":
        depth, half_height = depth * rng.uniform(1.05, 1.2), half_height * rng.uniform(1.15, 1.35)
        shear = rng.uniform(0.35, 0.6)
        centre_y = rows * rng.uniform(0.34, 0.4)
    else:
        raise ValueError(f"view must be CC or MLO, got {view!r}")
    # Lowest point of the sheared ellipse; a CC must also clear the top edge, an MLO runs off it.
    reach_below = np.hypot(half_height, shear * depth)
    room_below = rows - centre_y - (0.03 if view == "CC" else 0.05) * rows
    room_above = centre_y - 0.03 * rows if view == "CC" else np.inf
    room_right = 0.8 * columns / (depth * (1 - chest_wall_offset))  # keep the far corners free for the label
    shrink = min(1.0, room_below / reach_below, room_above / reach_below, room_right)
    depth, half_height = depth * shrink, half_height * shrink
    centre_x = -chest_wall_offset * depth
    matrix = ((depth, 0.0), (shear * depth, half_height))
    pectoral = (rng.uniform(0.25, 0.45) * depth, rows * rng.uniform(0.35, 0.65)) if view == "MLO" else None
    collimation = _draw_collimation(rng.spawn(1)[0], spacing_mm)
    return ViewGeometry(
        shape=shape,
        spacing_mm=spacing_mm,
        magnification=magnification * shrink,
        centre=(float(centre_x), float(centre_y)),
        matrix=tuple(tuple(float(m) for m in row) for row in matrix),
        ripple=tuple(rng.normal(0.0, 0.015, size=4)),
        pectoral=pectoral,
        collimation=collimation,
    )


def _draw_collimation(rng: np.random.Generator, spacing_mm: float) -> Collimation:
    """Each of the top and bottom edges carries an unexposed strip half of the time, 0.5-3.5 mm wide (sizes
    measured on MG1 of ../shared/reference/real_mammograms, a DDSM film scan: 0.8 and 2.8 mm, the penumbra 0.3-1.4 mm).

    Drawn from a stream of its own (a child of the image's): the rest of an image's pixels are what they were
    before the generator had strips."""
    top, bottom = [rng.uniform(0.5, 3.5) / spacing_mm if rng.random() < UNEXPOSED_STRIP_PROBABILITY else 0.0
                   for _edge in ("top", "bottom")]  # fmt: skip
    return Collimation(
        top_px=float(top),
        bottom_px=float(bottom),
        penumbra_px=float(rng.uniform(0.3, 1.0) / spacing_mm),
        level=float(rng.uniform(0.85, 0.95)),
        level_slope=float(rng.uniform(-0.03, 0.03)),
    )


def _disc_coordinates(x, y, centre, matrix):
    """Canonical disc coordinates of image points (any broadcastable x, y)."""
    (a, b), (c, d) = matrix
    determinant = a * d - b * c
    dx, dy = x - centre[0], y - centre[1]
    return (d * dx - b * dy) / determinant, (a * dy - c * dx) / determinant


@dataclass(frozen=True)
class BreastMaps:
    """Maps of one view (left-breast orientation) at a set of pixels."""

    disc_x: np.ndarray  # canonical disc coordinates, float32
    disc_y: np.ndarray
    breast: np.ndarray  # inside the skin outline (bool)
    pectoral_depth: np.ndarray  # > 0 inside the pectoral muscle, growing to 1 at the image corner (MLO)
    skin_depth_mm: np.ndarray  # distance inside the skin outline, mm of breast (float32)

    @property
    def pectoral(self) -> np.ndarray:
        return self.pectoral_depth > 0

    @property
    def foreground(self) -> np.ndarray:
        """Everything that is not background: breast and pectoral muscle."""
        return self.breast | self.pectoral


def breast_maps(geometry: ViewGeometry, x: np.ndarray, y: np.ndarray, collimated: bool = True) -> BreastMaps:
    """The view's maps at pixel columns ``x`` and rows ``y`` (broadcast together: a row of x against a column
    of y gives a raster, two equal-length vectors give points). Pixels outside the image are background, and
    so are those outside the exposed field unless ``collimated`` is False (the tissue the penumbra shades)."""
    x, y = np.asarray(x, dtype=np.float32), np.asarray(y, dtype=np.float32)
    matrix = np.asarray(geometry.matrix, dtype=np.float32)
    u, v = _disc_coordinates(x, y, np.float32(geometry.centre), matrix)
    radius = np.sqrt(u * u + v * v)
    safe_radius = np.maximum(radius, np.float32(1e-3))
    sine = v / safe_radius
    outline = np.float32(0.0)
    for coefficient in reversed(geometry.ripple):  # Horner: 1 + sum_k c_k sine^(k+1)
        outline = (outline + np.float32(coefficient)) * sine
    outline += np.float32(1.0) + np.float32(0.015) * np.exp(-((sine * np.float32(12.5)) ** 2))  # and the nipple
    relative_radius = radius / outline
    # distance to the outline ~ (1 - r) / |grad r|; grad r = M^-T (u, v) / r for the disc-to-image matrix M
    (i11, i12), (i21, i22) = np.linalg.inv(matrix)
    gradient = np.maximum(np.sqrt((u * i11 + v * i21) ** 2 + (u * i12 + v * i22) ** 2), np.float32(1e-12))
    skin_depth_mm = (np.float32(1.0) - relative_radius) * safe_radius / (gradient * np.float32(geometry.px_per_mm()))
    rows, columns = geometry.shape
    in_image = (x >= 0) & (x <= columns - 1) & (y >= 0) & (y <= rows - 1)
    if collimated:
        in_image &= geometry.collimation.exposed(y, rows)
    breast = (relative_radius <= 1.0) & in_image
    pectoral_depth = np.float32(-1.0)
    if geometry.pectoral is not None:
        top_x, left_y = geometry.pectoral
        s, t = x / np.float32(top_x), y / np.float32(left_y)
        pectoral_depth = np.where(in_image, np.float32(1.0) - (s + t - np.float32(0.35) * s * t), np.float32(-1.0))
    return BreastMaps(u, v, breast, np.broadcast_to(pectoral_depth, breast.shape), skin_depth_mm)
