"""Burned-in view labels ("LCC", "RMLO") in the background, as film and many FFDM images carry.

Letters are drawn from a built-in stroke font (no font file can change the bytes): each stroke is a
one-pixel, 8-connected centre-line widened by a disk of about a third of the radius of the paper's
label-removing opening (disk(10) at 0.07 mm, i.e. 0.7 mm), so that opening, scaled to the pixel
spacing, erases them at any image scale while the letters stay 10-16 mm tall and legible.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.draw import line as draw_line
from skimage.morphology import disk

# Strokes as polylines on a 4-wide, 6-tall grid, y pointing down.
_GLYPHS = {
    "C": [[(4, 0.6), (3, 0), (1, 0), (0, 1), (0, 5), (1, 6), (3, 6), (4, 5.4)]],
    "L": [[(0, 0), (0, 6), (4, 6)]],
    "M": [[(0, 6), (0, 0), (2, 3), (4, 0), (4, 6)]],
    "O": [[(1, 0), (3, 0), (4, 1), (4, 5), (3, 6), (1, 6), (0, 5), (0, 1), (1, 0)]],
    "R": [[(0, 6), (0, 0), (3, 0), (4, 1), (4, 2), (3, 3), (0, 3)], [(2, 3), (4, 6)]],
}
_ADVANCE = 6  # grid units from one letter to the next
OPENING_RADIUS_MM = 0.7  # the paper's disk(10) at 0.07 mm


def text_mask(text: str, height_px: float, stroke_radius_px: int, angle_deg: float = 0.0) -> np.ndarray:
    """Boolean raster of ``text``: letters ``height_px`` tall, strokes 2 * ``stroke_radius_px`` + 1 wide,
    rotated by ``angle_deg`` (counter-clockwise on screen)."""
    unit = height_px / 6
    angle = np.radians(angle_deg)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    strokes = []
    for index, letter in enumerate(text):
        if letter not in _GLYPHS:
            raise ValueError(f"no glyph for {letter!r}; the font has {''.join(sorted(_GLYPHS))}")
        for stroke in _GLYPHS[letter]:
            strokes.append(((np.asarray(stroke, dtype=float) + (index * _ADVANCE, 0)) * unit) @ rotation)
    origin = np.concatenate(strokes).min(axis=0)
    strokes = [np.rint(stroke - origin).astype(int) + stroke_radius_px + 1 for stroke in strokes]
    size = np.concatenate(strokes).max(axis=0) + stroke_radius_px + 2
    raster = np.zeros((size[1], size[0]), dtype=bool)
    for stroke in strokes:  # one-pixel, 8-connected centre-lines
        for (x0, y0), (x1, y1) in zip(stroke[:-1], stroke[1:]):
            raster[draw_line(y0, x0, y1, x1)] = True
    return ndimage.binary_dilation(raster, disk(stroke_radius_px)) if stroke_radius_px else raster


def place_label(
    foreground: np.ndarray, text: str, spacing_mm: float, chest_wall_on_left: bool, rng: np.random.Generator
) -> np.ndarray:
    """Mask of a burned-in ``text`` label in an upper (else lower) corner away from the chest wall, at least
    5 mm clear of ``foreground``; all False when no corner has room."""
    rows, columns = foreground.shape
    stroke_radius = int(0.35 * OPENING_RADIUS_MM / spacing_mm)
    raster = text_mask(text, rng.uniform(10.0, 16.0) / spacing_mm, stroke_radius, angle_deg=rng.uniform(-35.0, 0.0))
    height, width = raster.shape
    margin = int(np.ceil(5.0 / spacing_mm))
    left = columns - width - margin if chest_wall_on_left else margin
    mask = np.zeros_like(foreground)
    for top in (margin, rows - height - margin):
        if left < 0 or top < 0:
            break
        clearance = foreground[
            max(top - margin, 0) : top + height + margin, max(left - margin, 0) : left + width + margin
        ]
        if not clearance.any():
            mask[top : top + height, left : left + width] = raster
            break
    return mask
