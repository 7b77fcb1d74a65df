"""Preprocessing applied to files: one DICOM file, or every image of a manifest, written as PNGs."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

from bacseg.io.dicom import read_pixels
from bacseg.preprocess.image import annotation_mask, preprocess_image
from bacseg.preprocess.params import PreprocessError, PreprocessParams


def write_png(path: Path, array: np.ndarray, compress_level: int = 1) -> None:
    """8-bit greyscale PNG; boolean masks are written as 0/255 so they can be looked at."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = array.astype(np.uint8) * 255 if array.dtype == bool else array
    Image.fromarray(data).save(path, compress_level=compress_level)


def read_png_mask(path: Path | str) -> np.ndarray:
    return np.asarray(Image.open(path)) > 127


def preprocess_dicom_file(
    path: Path | str, out_dir: Path | str, params: PreprocessParams | None = None, threads: int = 2
) -> dict[str, Path]:
    """One DICOM file -> ``<stem>.png`` (8-bit image) and ``<stem>_breast_mask.png`` in ``out_dir``."""
    params = params or PreprocessParams()
    path, out_dir = Path(path), Path(out_dir)
    header, pixels = read_pixels(path, voi=params.voi)
    try:
        result = preprocess_image(pixels, params, header.pixel_spacing_mm, threads)
    except PreprocessError as error:
        raise PreprocessError(f"{path}: {error}") from None
    paths = {"image": out_dir / f"{path.stem}.png", "breast_mask": out_dir / f"{path.stem}_breast_mask.png"}
    write_png(paths["image"], result.image, params.png_compress_level)
    write_png(paths["breast_mask"], result.breast_mask, params.png_compress_level)
    return paths


def preprocess_manifest(
    manifest: Path | str | pd.DataFrame,
    out_dir: Path | str,
    params: PreprocessParams | None = None,
    annotations: Path | str | dict | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Preprocess every image of a manifest in ``workers`` processes; returns and writes the table.

    Writes ``images/<image_id>.png``, ``breast_masks/<image_id>.png``, ``bac_masks/<image_id>.png``
    (annotated images only; ``annotations`` is ingest's {image_id: polylines} JSON) and
    ``preprocessed.csv`` (one row per image, paths relative to ``out_dir``).
    """
    params = params or PreprocessParams()
    out_dir = Path(out_dir)
    table = manifest if isinstance(manifest, pd.DataFrame) else pd.read_csv(manifest, dtype={"image_id": str})
    polylines = _load_annotations(annotations)
    jobs = [
        (row["image_id"], row["dicom_path"], row.get("split", ""), polylines.get(row["image_id"]), out_dir, params)
        for row in table.to_dict("records")
    ]
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=get_context("spawn")) as pool:
            rows = list(pool.map(_preprocess_one, jobs))
    else:
        rows = [_preprocess_one(job) for job in jobs]
    result = pd.DataFrame(rows)
    out_dir.mkdir(parents=True, exist_ok=True)
    result.to_csv(out_dir / "preprocessed.csv", index=False)
    return result


def _load_annotations(annotations: Path | str | dict | None) -> dict[str, list[np.ndarray]]:
    if annotations is None:
        return {}
    raw = annotations if isinstance(annotations, dict) else json.loads(Path(annotations).read_text())
    return {image_id: [np.asarray(line, dtype=float) for line in lines] for image_id, lines in raw.items()}


def _preprocess_one(job) -> dict:
    image_id, dicom_path, split, polylines, out_dir, params = job
    header, pixels = read_pixels(dicom_path, voi=params.voi)
    try:
        result = preprocess_image(pixels, params, header.pixel_spacing_mm)
    except PreprocessError as error:
        raise PreprocessError(f"{dicom_path} (image {image_id}): {error}") from None
    relative = {"image_png": f"images/{image_id}.png", "breast_mask_png": f"breast_masks/{image_id}.png"}
    write_png(out_dir / relative["image_png"], result.image, params.png_compress_level)
    write_png(out_dir / relative["breast_mask_png"], result.breast_mask, params.png_compress_level)
    row = {
        "image_id": image_id,
        "split": split,
        "rows": header.rows,
        "columns": header.columns,
        "pixel_spacing_mm": header.pixel_spacing_mm,
        "size_scale": result.size_scale,
        "breast_area_px": int(result.breast_mask.sum()),
        "window_low": result.window[0],
        "window_high": result.window[1],
        "annotated": polylines is not None,
        "polylines": len(polylines) if polylines is not None else 0,
        "bac_pixels": 0,
        "bac_pixels_in_breast": 0,
        **relative,
        "bac_mask_png": "",
    }
    if polylines is not None:
        label = annotation_mask(polylines, pixels.shape, params, result.size_scale)
        row["bac_mask_png"] = f"bac_masks/{image_id}.png"
        row["bac_pixels"] = int(label.sum())
        row["bac_pixels_in_breast"] = int((label & result.breast_mask).sum())
        write_png(out_dir / row["bac_mask_png"], label, params.png_compress_level)
    return row
