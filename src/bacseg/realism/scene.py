"""Where each distractor of one synthetic image lies: the generator's own structures, re-derived read-only.

A cohort writes the exact BAC and look-alike pixels (``truth_masks/``) but not where its fibrous strands, fat
lobules' walls, uncalcified vessels, skin line, pectoral edge, unexposed strips and burned-in label are. They are
recomputed here from the generator's public pieces: ``bacseg.synthetic.cohorts.image_scene`` draws the breast and
the view geometry from the same random streams as the cohort's images are drawn from. ``check_scene`` compares the
re-derived breast outline with the written image and fails loudly when the generator's streams have moved on.

Each map marks the pixels within a reach of its structure: the structure's own half-width (a vessel's radius,
two Gaussian widths of a strand; a lobule wall where it reaches a quarter of its peak) plus ``margin_mm``, about
half the band the judge marks along a calcified vessel on real FFDM (1.6-1.8 mm).
"""

from __future__ import annotations

import cv2
import numpy as np

from bacseg.io.mdai import rasterize_polylines
from bacseg.synthetic.anatomy import Breast
from bacseg.synthetic.cohorts import TRUTH_MASK_BAC, TRUTH_MASK_LOOKALIKE, ImagePlan, image_scene
from bacseg.synthetic.geometry import ViewGeometry, breast_maps
from bacseg.synthetic.lobules import septum_layer
from bacseg.synthetic.mammogram import LABEL_LEVEL, SKIN_MM
from bacseg.synthetic.vessels import runs

_BAND_ROWS = 512
WALL_SHOWS = 0.25  # a lobule wall counts where it reaches this fraction of its peak


class SceneMismatch(ValueError):
    """The re-derived scene does not match the written image (the generator changed how it draws)."""


def scene_maps(
    plan: ImagePlan, seed: int, stored: np.ndarray, bits_stored: int, spacing_mm: float, truth_values: np.ndarray,
    label: np.ndarray, margin_mm: float,
) -> dict[str, np.ndarray]:  # fmt: skip
    """Boolean maps of one synthetic image in its orientation, one per cause of ``causes.CAUSES`` but "other".

    ``stored``: its MONOCHROME2 values (``read_pixels(voi="none")``); ``truth_values``: its truth-mask PNG;
    ``label``: the BAC label mask the judge is scored against (``bac`` is near it or near the exact BAC)."""
    shape = stored.shape
    breast, geometry = image_scene(plan, seed)
    mirror = plan.laterality == "R"
    foreground, skin, pectoral = _outline_maps(geometry, mirror)
    unexposed = _unexposed(geometry)
    label_pixels = check_scene(stored, bits_stored, foreground, unexposed)
    margin_px = margin_mm / spacing_mm
    vessels = _uncalcified_stretches(breast, geometry, plan.burden)
    strands = [(geometry.to_image(strand.disc_points), 2 * strand.sigma_mm * geometry.px_per_mm())
               for strand in breast.strands]  # fmt: skip
    return {
        "label": _near(label_pixels, margin_px),
        "bac": _near(label | (truth_values == TRUTH_MASK_BAC), margin_px),
        "lookalike": _near(truth_values == TRUTH_MASK_LOOKALIKE, margin_px),
        "collimator_edge": _near(_inner_edge(unexposed), margin_px),
        "pectoral_edge": _near(_inner_edge(pectoral), margin_px),
        "skin_edge": _near(skin, margin_px),
        "vessel": _near_polylines(shape, vessels, margin_px, mirror),
        "strand": _near_polylines(shape, strands, margin_px, mirror),
        "lobule_wall": _near(_lobule_walls(breast, geometry, mirror), margin_px),
    }


def _lobule_walls(breast: Breast, geometry: ViewGeometry, mirror: bool) -> np.ndarray:
    """Where the fat lobules' walls reach a quarter of their peak (in fat; the generator dims them in dense tissue)."""
    walls = septum_layer(breast.lobules, geometry, breast.size_mm) >= np.float32(WALL_SHOWS * breast.lobules.peak)
    return np.ascontiguousarray(walls[:, ::-1]) if mirror else walls


def _uncalcified_stretches(breast: Breast, geometry: ViewGeometry, burden: float) -> list[tuple[np.ndarray, float]]:
    """Each vessel's uncalcified stretches in image (x, y), with the vessel's largest radius there in pixels."""
    stretches = []
    for vessel, flags in zip(breast.vessels, breast.calcified(burden)):
        points = geometry.to_image(vessel.disc_points)
        for start, stop in runs(~flags):
            if stop - start >= 2:
                stretches.append((points[start:stop], vessel.radius_mm[start:stop].max() * geometry.px_per_mm()))
    return stretches


def check_scene(stored: np.ndarray, bits_stored: int, foreground: np.ndarray, unexposed: np.ndarray) -> np.ndarray:
    """The burned-in label's pixels (non-zero outside the breast); raises SceneMismatch unless the re-derived
    ``foreground`` is exactly the written image's: every breast pixel non-zero, and outside it and the
    ``unexposed`` strips only zeros and the label's one grey level."""
    label_value = round(LABEL_LEVEL * (2**bits_stored - 1))
    outside = (stored != 0) & ~foreground & ~unexposed
    holes = int(np.count_nonzero(foreground & (stored == 0)))
    strays = int(np.count_nonzero(outside & (stored != label_value)))
    if holes or strays:
        raise SceneMismatch(f"the re-derived breast outline does not match the image ({holes} breast pixels are 0, "
                            f"{strays} pixels outside it are not the label): the generator's streams changed, update "
                            "bacseg.realism.scene")  # fmt: skip
    return outside


def _outline_maps(geometry: ViewGeometry, mirror: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Foreground, the skin band (within the generator's SKIN_MM of the outline) and the pectoral muscle."""
    rows, columns = geometry.shape
    maps = {name: np.empty(geometry.shape, dtype=bool) for name in ("foreground", "skin", "pectoral")}
    x = np.arange(columns, dtype=np.float32)[None, :]
    for top in range(0, rows, _BAND_ROWS):
        band = slice(top, min(top + _BAND_ROWS, rows))
        view = breast_maps(geometry, x, np.arange(band.start, band.stop, dtype=np.float32)[:, None])
        maps["foreground"][band] = view.foreground
        maps["skin"][band] = view.breast & (view.skin_depth_mm < SKIN_MM)
        maps["pectoral"][band] = view.pectoral
    if mirror:
        maps = {name: np.ascontiguousarray(mask[:, ::-1]) for name, mask in maps.items()}
    return maps["foreground"], maps["skin"], maps["pectoral"]


def _unexposed(geometry: ViewGeometry) -> np.ndarray:
    """The collimator's unexposed strips, penumbra included (whole rows, so the same for both lateralities)."""
    rows, columns = geometry.shape
    shade = geometry.collimation.shade(np.arange(rows, dtype=np.float32), rows)
    return np.broadcast_to((shade > 0)[:, None], (rows, columns))


def _inner_edge(mask: np.ndarray) -> np.ndarray:
    """The pixels of ``mask`` next to a pixel outside it; the image border is no edge."""
    eroded = cv2.erode(mask.astype(np.uint8), np.ones((3, 3), np.uint8), borderType=cv2.BORDER_REPLICATE)
    return mask & (eroded == 0)


def _near(mask: np.ndarray, reach_px: float) -> np.ndarray:
    """Pixels within ``reach_px`` (Euclidean) of ``mask``."""
    if not mask.any():
        return np.zeros(mask.shape, dtype=bool)
    distance = cv2.distanceTransform(np.where(mask, 0, 255).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_PRECISE)
    return distance <= reach_px


def _near_polylines(shape, lines: list[tuple[np.ndarray, float]], margin_px: float, mirror: bool) -> np.ndarray:
    """Pixels within each (x, y) polyline's own reach (half-width in pixels) plus ``margin_px``, drawn box by box."""
    near = np.zeros(shape, dtype=bool)
    for points, half_width in lines:
        if mirror:
            points = np.column_stack([shape[1] - 1 - points[:, 0], points[:, 1]])
        reach = half_width + margin_px
        low = np.maximum(np.floor(points.min(axis=0) - reach).astype(int), 0)
        high = np.minimum(np.ceil(points.max(axis=0) + reach).astype(int) + 1, (shape[1], shape[0]))
        if np.any(high <= low):
            continue  # wholly outside the image
        box = (slice(low[1], high[1]), slice(low[0], high[0]))
        near[box] |= _near(rasterize_polylines([points - low], (high[1] - low[1], high[0] - low[0])), reach)
    return near
