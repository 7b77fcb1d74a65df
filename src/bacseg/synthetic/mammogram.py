"""One synthetic mammogram with exact ground truth.

Composes the pieces: the breast's projection into the view (geometry), parenchyma (texture), fibrous
strands (stroma), vessels with their calcification and the reader's centre-lines (arteries), benign
look-alikes, acquisition noise, the collimator's unexposed strips and a burned-in view label. The image
is built in display units (0 = background, 1 = brightest) with the chest wall on the left, mirrored for
right breasts, and quantised to the stored bit depth.

The truth mask is where the rendered calcification alone exceeds half its nominal peak, so "calcified
pixel" has one exact meaning, whatever the pattern or the scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bacseg.synthetic.anatomy import Breast, draw_breast
from bacseg.synthetic.arteries import centrelines, vessel_layers
from bacseg.synthetic.geometry import BreastMaps, ViewGeometry, breast_maps, draw_view_geometry
from bacseg.synthetic.labels import place_label
from bacseg.synthetic.lobules import septum_layer
from bacseg.synthetic.render import arc_length, concatenate_stamps, polyline_stamps, splat
from bacseg.synthetic.texture import dense_threshold, glandular_fraction, power_law_noise
from bacseg.synthetic.vessels import calcium_mass_mg

# Display levels (fractions of the stored range).
FAT, DENSE, PECTORAL, SKIN = 0.30, 0.56, 0.66, 0.10
VESSEL_CONTRAST, STRAND_CONTRAST, CALCIFICATION_CONTRAST, LABEL_LEVEL = 0.06, 0.06, 0.4, 0.93
NOISE_SD = 0.0045
MUSCLE_HIDES = 0.85  # fraction of the soft-tissue strands' and vessels' contrast lost behind the pectoral muscle
PARENCHYMA_BETA = 3.0  # exponent of the parenchyma's power-law noise
THICKNESS_RIM_MM = 12.0  # the compressed breast thins towards the skin over this distance
SKIN_MM = 1.5
TRUTH_LEVEL = 0.5  # calcified where the calcification layer exceeds half its nominal peak
_BAND_ROWS = 128


@dataclass(frozen=True)
class SyntheticMammogram:
    """Pixels and truth; every mask has the image's shape and orientation."""

    pixels: np.ndarray  # uint16 stored values in MONOCHROME2 orientation (bright = dense)
    bits_stored: int
    spacing_mm: float
    bac_mask: np.ndarray  # true calcified vessel pixels
    lookalike_mask: np.ndarray  # benign calcifications (never BAC)
    foreground: np.ndarray  # breast and pectoral muscle
    label_mask: np.ndarray  # the burned-in view label
    polylines: list[np.ndarray]  # BAC centre-lines, (N, 2) arrays of x (column), y (row)
    truth: dict  # scalar truth, see synthesize_mammogram


def synthesize_mammogram(
    rng: np.random.Generator,
    view: str,
    laterality: str,
    shape: tuple[int, int],
    spacing_mm: float,
    *,
    breast: Breast | None = None,
    burden: float = 0.0,
    bits_stored: int = 12,
    magnification: float = 1.0,
    chest_wall_offset: float = 0.05,
) -> SyntheticMammogram:
    """Synthesize one ``view`` ("CC" | "MLO") of the ``laterality`` ("L" | "R") breast.

    ``breast`` (drawn from ``rng`` when None) is the view-independent anatomy; ``burden`` is its calcified
    fraction of arterial length (0 = no BAC). ``magnification`` and ``chest_wall_offset`` (fraction of the
    breast left outside the field) are the positioning of this exam. ``truth`` holds: bac_area_px,
    bac_area_mm2, calcified_length_mm and calcium_mass_mg (of the calcification visible in this image),
    breast_calcium_mass_mg (the whole breast), n_polylines, n_lookalikes, breast_area_px,
    breast_area_mm2 (breast + pectoral), label_present, density_class, dense_fraction, magnification
    (effective, after fitting the breast to the detector), chest_wall_offset, burden.
    """
    if laterality not in ("L", "R"):
        raise ValueError(f"laterality must be L or R, got {laterality!r}")
    breast = breast if breast is not None else draw_breast(rng)
    geometry = draw_view_geometry(rng, view, shape, spacing_mm, breast.size_mm, magnification, chest_wall_offset)
    calcified = breast.calcified(burden)
    vessel_points = [geometry.to_image(v.disc_points) for v in breast.vessels]
    visible = [_inside(geometry, points) for points in vessel_points]
    layers = _layers(rng, geometry, breast, vessel_points, calcified)
    pixels, foreground, bac_mask, lookalike_mask = _composite(rng, geometry, breast, layers, bits_stored, laterality)
    polylines = centrelines(geometry, breast.vessels, vessel_points, calcified, visible)
    truth = _truth(geometry, breast, burden, vessel_points, calcified, visible, bac_mask, foreground)
    truth.update(n_polylines=len(polylines), chest_wall_offset=chest_wall_offset)
    if laterality == "R":
        polylines = [np.column_stack([shape[1] - 1 - p[:, 0], p[:, 1]]) for p in polylines]
    label_mask = place_label(foreground, laterality + view, spacing_mm, chest_wall_on_left=laterality == "L", rng=rng)
    pixels[label_mask] = round(LABEL_LEVEL * (2**bits_stored - 1))
    truth["label_present"] = bool(label_mask.any())
    return SyntheticMammogram(
        pixels=pixels,
        bits_stored=bits_stored,
        spacing_mm=spacing_mm,
        bac_mask=bac_mask,
        lookalike_mask=lookalike_mask,
        foreground=foreground,
        label_mask=label_mask,
        polylines=polylines,
        truth=truth,
    )


@dataclass(frozen=True)
class _Layers:
    """Full-image float32 layers in the left-breast orientation."""

    noise: np.ndarray  # power-law parenchyma noise, unit variance
    soft: np.ndarray  # faint soft tissue (vessels, fibrous strands), display units
    septa: np.ndarray  # the fat lobules' walls, in units of STRAND_CONTRAST
    bac: np.ndarray  # calcification, 1 = nominal peak
    lookalike: np.ndarray  # benign calcification, 1 = nominal peak


def _layers(rng, geometry: ViewGeometry, breast: Breast, vessel_points, calcified) -> _Layers:
    noise = power_law_noise(rng, geometry.shape, geometry.spacing_mm / geometry.magnification, PARENCHYMA_BETA)
    soft, bac = vessel_layers(geometry, breast.vessels, vessel_points, calcified)
    soft *= np.float32(VESSEL_CONTRAST)
    soft += np.float32(STRAND_CONTRAST) * _strand_layer(geometry, breast)
    septa = septum_layer(breast.lobules, geometry, breast.size_mm)
    return _Layers(noise, soft, septa, bac, _lookalike_layer(geometry, breast))


def _composite(rng, geometry: ViewGeometry, breast: Breast, layers: _Layers, bits_stored: int, laterality: str):
    """Stored pixels and the foreground, calcification and look-alike masks, in the final orientation.

    Works in bands of rows, so that the per-pixel temporaries stay in cache (3x faster at full size).
    """
    shape = geometry.shape
    threshold = _dense_threshold(geometry, layers.noise, breast.dense_fraction)
    max_value = np.float32(2**bits_stored - 1)
    pixels = np.empty(shape, dtype=np.uint16)
    foreground, bac_mask, lookalike_mask = (np.empty(shape, dtype=bool) for _ in range(3))
    columns = np.arange(shape[1], dtype=np.float32)[None, :]
    flip = slice(None, None, -1) if laterality == "R" else slice(None)
    for top in range(0, shape[0], _BAND_ROWS):
        band = slice(top, min(top + _BAND_ROWS, shape[0]))
        rows = np.arange(band.start, band.stop, dtype=np.float32)[:, None]
        maps = breast_maps(geometry, columns, rows, collimated=False)
        inside = maps.foreground
        bac, lookalike = layers.bac[band] * inside, layers.lookalike[band] * inside
        thickness = _thickness(maps.skin_depth_mm)
        image = _parenchyma(layers.noise[band], layers.septa[band], maps, threshold, thickness)
        soft = layers.soft[band] * (np.float32(0.5) + np.float32(0.5) * thickness)
        if maps.pectoral.any():  # the muscle hides the breast's strands and vessels behind it
            soft *= np.float32(1.0) - np.float32(MUSCLE_HIDES) * _muscle(maps)
        image += soft
        image += np.float32(CALCIFICATION_CONTRAST) * np.minimum(bac + lookalike, np.float32(1.3))
        noise = _acquisition_noise(rng, image.shape)
        image += noise
        image *= inside
        exposed = _collimate(image, noise, geometry, rows, columns)
        np.clip(image, 0.0, 1.0, out=image)
        pixels[band] = np.rint(image * max_value)[:, flip]
        foreground[band] = (inside & exposed)[:, flip]
        bac_mask[band] = ((bac > TRUTH_LEVEL) & exposed)[:, flip]
        lookalike_mask[band] = ((lookalike > TRUTH_LEVEL) & exposed)[:, flip]
    return pixels, foreground, bac_mask, lookalike_mask


def _collimate(image: np.ndarray, noise: np.ndarray, geometry: ViewGeometry, rows, columns) -> np.ndarray:
    """Blend the unexposed strips into a band of ``image`` in place (over the penumbra the tissue fades into the
    strip's level); returns which of its rows are exposed (a column, broadcast against the band)."""
    collimation = geometry.collimation
    shade = collimation.shade(rows, geometry.shape[0])
    if shade.any():
        slope = np.float32(collimation.level_slope / max(geometry.shape[1] - 1, 1))
        level = np.float32(collimation.level) + slope * (columns - np.float32(geometry.shape[1] / 2))
        image += shade * (level + noise - image)
    return shade == 0


def _thickness(skin_depth_mm: np.ndarray) -> np.ndarray:
    """Relative compressed thickness: 1 inside, falling like a half-circle over the rim to 0 at the skin."""
    inner = np.clip(np.float32(1.0) - skin_depth_mm / np.float32(THICKNESS_RIM_MM), 0.0, 1.0)
    return np.sqrt(np.float32(1.0) - inner * inner)


def _central_prior(maps: BreastMaps) -> np.ndarray:
    """Glandular tissue gathers behind the nipple, away from skin and chest wall."""
    u, v = maps.disc_x, maps.disc_y
    return np.float32(1.5) * np.exp(-(((u - np.float32(0.4)) * np.float32(2.2)) ** 2) - (v * np.float32(1.43)) ** 2)


def _dense_threshold(geometry: ViewGeometry, noise: np.ndarray, dense_fraction: float) -> float:
    """The tissue level that makes ``dense_fraction`` of the breast dense, from every 7th pixel."""
    rows, columns = geometry.shape
    x = np.arange(0, columns, 7, dtype=np.float32)[None, :]
    y = np.arange(0, rows, 7, dtype=np.float32)[:, None]
    maps = breast_maps(geometry, x, y)
    tissue = noise[::7, ::7] + _central_prior(maps)
    return dense_threshold(tissue[maps.breast], dense_fraction)


def _parenchyma(noise: np.ndarray, septa: np.ndarray, maps: BreastMaps, threshold: float, thickness: np.ndarray):
    """Fat and glandular tissue, thinning towards the skin, the fat lobules' walls (where there is fat), the skin
    line and the pectoral muscle."""
    glandular = glandular_fraction(noise + _central_prior(maps), threshold)
    glandular *= np.clip(maps.skin_depth_mm * np.float32(1 / 6.0), 0.0, 1.0)  # subcutaneous fat
    tissue = np.float32(FAT) + np.float32(DENSE - FAT) * glandular
    tissue += np.float32(STRAND_CONTRAST) * septa * (np.float32(1.0) - glandular)
    tissue *= np.float32(0.35) + np.float32(0.65) * thickness
    tissue += np.float32(SKIN) * np.clip(np.float32(1.0) - maps.skin_depth_mm * np.float32(1 / SKIN_MM), 0.0, 1.0)
    if maps.pectoral.any():  # brighter towards the axilla, with a soft edge where the muscle thins out
        depth = np.clip(maps.pectoral_depth, 0.0, 1.0)
        muscle = np.float32(PECTORAL) * (np.float32(0.9) + np.float32(0.2) * depth + np.float32(0.04) * noise)
        tissue += _muscle(maps) * np.maximum(muscle - tissue, 0.0)
    return tissue


def _muscle(maps: BreastMaps) -> np.ndarray:
    """How much of a pixel is pectoral muscle: 0 outside, 1 inside, with a soft edge where the muscle thins out."""
    return np.minimum(np.clip(maps.pectoral_depth, 0.0, 1.0) * np.float32(15.0), np.float32(1.0))


def _acquisition_noise(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Zero-mean noise of SD NOISE_SD: a sum of two uniforms (near-Gaussian, 4x cheaper to draw)."""
    uniforms = rng.random((2, *shape), dtype=np.float32)
    return (uniforms[0] + uniforms[1] - np.float32(1.0)) * np.float32(NOISE_SD * np.sqrt(6.0))


def _inside(geometry: ViewGeometry, points: np.ndarray) -> np.ndarray:
    """Which (x, y) points fall on a foreground pixel (the one they round to), i.e. are seen in the image."""
    pixel = np.rint(points)
    return breast_maps(geometry, pixel[:, 0], pixel[:, 1]).foreground


def _lookalike_layer(geometry: ViewGeometry, breast: Breast) -> np.ndarray:
    px_per_mm = geometry.px_per_mm()
    stamps = []
    for lookalike in breast.lookalikes:
        ends = geometry.to_image(lookalike.strokes.reshape(-1, 2)).reshape(-1, 2, 2)
        for stroke, sigma, peak in zip(ends, lookalike.sigma_mm * px_per_mm, lookalike.peak):
            stamps.append(polyline_stamps(stroke, np.full(2, sigma), np.full(2, peak)))
    return splat(geometry.shape, *concatenate_stamps(stamps))


def _strand_layer(geometry: ViewGeometry, breast: Breast) -> np.ndarray:
    px_per_mm = geometry.px_per_mm()
    stamps = []
    for strand in breast.strands:
        ones = np.ones(len(strand.disc_points))
        points = geometry.to_image(strand.disc_points)
        stamps.append(polyline_stamps(points, ones * strand.sigma_mm * px_per_mm, ones * strand.peak))
    return splat(geometry.shape, *concatenate_stamps(stamps))


def _truth(geometry, breast, burden, vessel_points, calcified, visible, bac_mask, foreground) -> dict:
    pixel_mm2 = geometry.spacing_mm**2
    length_px = sum(
        float(np.sum(np.gradient(arc_length(points)) * (flags & seen)))
        for points, flags, seen in zip(vessel_points, calcified, visible)
    )
    bac_area_px = int(bac_mask.sum())
    breast_area_px = int(foreground.sum())
    strokes_seen = [_inside(geometry, geometry.to_image(la.strokes.reshape(-1, 2))) for la in breast.lookalikes]
    return {
        "bac_area_px": bac_area_px,
        "bac_area_mm2": bac_area_px * pixel_mm2,
        "calcified_length_mm": length_px * geometry.spacing_mm,
        "calcium_mass_mg": sum(calcium_mass_mg(v, f & s) for v, f, s in zip(breast.vessels, calcified, visible)),
        "breast_calcium_mass_mg": sum(calcium_mass_mg(v, f) for v, f in zip(breast.vessels, calcified)),
        "burden": burden,
        "breast_area_px": breast_area_px,
        "breast_area_mm2": breast_area_px * pixel_mm2,
        "density_class": breast.density_class,
        "dense_fraction": breast.dense_fraction,
        "magnification": geometry.magnification,
        "n_lookalikes": sum(bool(seen.any()) for seen in strokes_seen),
    }
