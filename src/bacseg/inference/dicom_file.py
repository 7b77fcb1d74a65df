"""One DICOM mammogram for `bacseg predict`: its 8-bit image; its probability map, overlay and settings record.

Output files have fixed names inside the output folder (``OUTPUT_NAMES``): nothing in them comes from the
input's file name or header, since real archives name files after patients.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Mapping

import numpy as np
from PIL import Image

from bacseg.io.dicom import read_pixels
from bacseg.preprocess import PreprocessError, PreprocessParams, preprocess_image

OUTPUT_NAMES = {"probabilities": "probabilities.npy", "overlay": "overlay.png", "settings": "prediction.json"}
OVERLAY_GREEN = (0, 255, 0)


def preprocessed_image(path: Path | str, params: PreprocessParams, threads: int = 2) -> np.ndarray:
    """The 8-bit image the workflow's preprocess makes of one DICOM file (errors name the file)."""
    header, pixels = read_pixels(path, voi=params.voi)
    try:
        return preprocess_image(pixels, params, header.pixel_spacing_mm, threads).image
    except PreprocessError as error:
        raise PreprocessError(f"{path}: {error}") from None


def overlay(image: np.ndarray, probabilities: np.ndarray, cutoff: float) -> np.ndarray:
    """RGB picture: the 8-bit image in grey, pixels with probability > cutoff in green."""
    picture = np.repeat(image[..., None], 3, axis=-1)
    picture[probabilities > cutoff] = OVERLAY_GREEN
    return picture


def write_prediction(
    out_dir: Path | str, image: np.ndarray, probabilities: np.ndarray, cutoff: float, record: Mapping
) -> dict[str, Path]:
    """Write ``probabilities.npy`` (float16), ``overlay.png`` and ``prediction.json`` (``record`` and counts;
    the map's range is ``record["clipped_to"]``, [0, 1] when absent)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {key: out_dir / name for key, name in OUTPUT_NAMES.items()}
    probabilities = probabilities.astype(np.float16)  # the overlay and counts show what the file holds
    np.save(paths["probabilities"], probabilities)
    Image.fromarray(overlay(image, probabilities, cutoff)).save(paths["overlay"], compress_level=1)
    summary = {
        **record,
        "cutoff": cutoff,
        "shape": list(probabilities.shape),
        "pixels_above_cutoff": int((probabilities > cutoff).sum()),
        "probabilities_file": {"name": OUTPUT_NAMES["probabilities"], "dtype": "float16",
                              "range": list(record.get("clipped_to", (0.0, 1.0)))},  # null: unbounded
    }
    paths["settings"].write_text(json.dumps(summary, indent=1) + "\n")
    return paths
