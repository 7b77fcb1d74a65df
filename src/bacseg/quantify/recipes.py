"""The two inference recipes: how one input becomes the 8-bit image the network sees and its probability map.

- ``project`` (default): the workflow's preprocessing (the config's ``preprocess`` section: breast mask that
  erases the burned-in labels, median filter, contrast enhancement) and its sliding-window settings
  (``settings_from_config``); probabilities clipped to [0, 1]; the cutoff is the config's.
- ``authors``: Emory-HITI/BAC_segmentation ``AutoSeg.py`` step by step, so a user of their tool gets its numbers:
  the PNG read by ``cv2.imread`` + ``COLOR_BGR2GRAY``, ``cv2.medianBlur(grey, 5)``, 512 px tiles at stride 480
  with the last tile flush with the edge, tiles with mean <= 20 or std <= 10 skipped, ``/255`` then
  Normalize(0.2813, 0.1256) (the weights' normalisation), the per-pixel maximum into an array of zeros (so
  negative outputs become 0 while outputs above 1 stay: the map is not clipped at 1, and their PM sums it raw),
  SIM/TAM/TSIM at p > 0.65 (their ``prob_thre``) and AM at p > 0.5 (their ``area_thre``), at full resolution.
  Their tool reads PNGs only; a DICOM file is first made the 8-bit image their PNGs were: the pixels as the
  Emory HITI lab's PNG extractor (Niffler ``ImageExtractor.py``, whose hashed folder names AutoSeg.py's
  default data path carries) wrote them, ``uint8(max(v, 0) / max(v) * 255)`` (truncated), here on the modality
  values turned MONOCHROME2 (``read_pixels(voi="none")``; the same numbers for the usual MONOCHROME2 file with
  identity rescale, and a MONOCHROME1 file is not left inverted).

In both recipes the intensities of SIM/TAM_X/TSIM_X and the breast area (pixels > 0) are those of that same
8-bit image.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import cv2
import numpy as np

from bacseg.inference.dicom_file import preprocessed_image
from bacseg.inference.settings import resolve_settings, settings_from_config
from bacseg.inference.sliding_window import sliding_window_inference
from bacseg.io.dicom import read_pixels
from bacseg.preprocess import PreprocessParams, preprocess_image
from bacseg.quantify.sources import Source, SourceError, read_png_grey

RECIPE_NAMES = ("project", "authors")
AUTHORS_MEDIAN_SIZE = 5
AUTHORS_CUTOFF, AUTHORS_AREA_CUTOFF = 0.65, 0.5


@dataclass(frozen=True)
class Recipe:
    """``image(source)``: the 8-bit image; ``predict(image, predictor)``: its stitched probability map.

    ``clip`` is what the predictor clips its outputs to (None: no upper bound). ``cutoff`` is the recipe's
    own (authors: 0.65) or None, leaving it to the config; ``area_cutoff`` is AM's when it differs."""

    name: str
    image: Callable[[Source], np.ndarray]
    settings: dict  # sliding-window settings (bacseg.inference.settings)
    clip: tuple[float, float | None]
    cutoff: float | None
    area_cutoff: float | None
    record: dict = field(default_factory=dict)  # the image steps, for the settings record

    def predict(self, image: np.ndarray, predictor) -> np.ndarray:
        return sliding_window_inference(image, predictor, **self.settings)


def make_recipe(name: str, config: Mapping, *, stitch: str | None = None, threads: int = 2) -> Recipe:
    """The named recipe; the project's from ``config`` (``bacseg.settings.load_config``), with ``stitch``
    overriding its stitch mode (the authors' recipe has one: the maximum)."""
    if name == "authors":
        if stitch not in (None, "max"):
            raise ValueError(f"the authors' recipe stitches by the maximum; --stitch {stitch} needs --recipe project")
        return authors_recipe()
    if name != "project":
        raise ValueError(f"unknown recipe {name!r}; expected one of {', '.join(RECIPE_NAMES)}")
    params = PreprocessParams.from_mapping(config["preprocess"])
    settings = settings_from_config(config)
    if stitch:
        settings = resolve_settings({**settings, "stitch_mode": stitch})
    return Recipe("project", lambda source: project_image(source, params, threads), settings, (0.0, 1.0),
                  cutoff=None, area_cutoff=None, record={"preprocess": params.to_mapping()})  # fmt: skip


def authors_recipe() -> Recipe:
    """AutoSeg.py's recipe (see the module docstring)."""
    steps = {
        "png": "cv2.imread + cv2.COLOR_BGR2GRAY",
        "dicom": "read_pixels(voi='none'), then uint8(max(v, 0) / max(v) * 255) (Niffler's 8-bit PNG extraction)",
        "filter": f"cv2.medianBlur({AUTHORS_MEDIAN_SIZE})",
    }
    return Recipe("authors", authors_image, resolve_settings(recipe="authors"), (0.0, None),
                  cutoff=AUTHORS_CUTOFF, area_cutoff=AUTHORS_AREA_CUTOFF, record={"image": steps})  # fmt: skip


def project_image(source: Source, params: PreprocessParams, threads: int = 2) -> np.ndarray:
    """The workflow's 8-bit preprocessed image of a DICOM file, or of a PNG's grey values (no pixel spacing)."""
    if source.kind == "dicom":
        return preprocessed_image(source.path, params, threads)
    return preprocess_image(read_png_grey(source.path).astype(np.float32), params, None, threads).image


def authors_image(source: Source) -> np.ndarray:
    """AutoSeg.py's ``preprocess_img``: the 8-bit grey image, median-filtered (5x5)."""
    grey = read_png_grey(source.path) if source.kind == "png" else niffler_uint8(read_pixels(source.path)[1])
    if not grey.any():
        raise SourceError(source.path, "the image is black everywhere")
    return cv2.medianBlur(grey, AUTHORS_MEDIAN_SIZE)


def niffler_uint8(pixels: np.ndarray) -> np.ndarray:
    """Niffler's 8-bit PNG values: ``np.uint8(np.maximum(v, 0) / v.max() * 255.0)``, in float64."""
    pixels = np.asarray(pixels, dtype=np.float64)
    top = pixels.max()
    if not top > 0:
        return np.zeros(pixels.shape, dtype=np.uint8)
    return (np.maximum(pixels, 0) / top * 255.0).astype(np.uint8)
