"""Preprocessing applied to files: the images of a manifest, each DICOM file -> PNGs and a table row.

The workflow and ``bacseg preprocess`` both run ``preprocess_manifest`` (the CLI on a one-image
manifest), so the two write the same bytes for the same image. Errors name the image by its
pseudonymous id, never by its file path (paths may name patients; messages reach logs).
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import partial
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from bacseg.ingest import portable_polylines
from bacseg.io.dicom import DicomReadError, read_header, read_pixels
from bacseg.io.mdai import read_export
from bacseg.io.png import write_png
from bacseg.preprocess.image import annotation_mask, preprocess_image
from bacseg.preprocess.params import PreprocessError, PreprocessParams

# The table's contract (later stages read these; columns may be added, not renamed). Paths are
# relative to the table's folder; bac_mask_png is "" for an image without annotation.
TABLE_COLUMNS = [
    "image_id", "split", "rows", "columns", "pixel_spacing_mm", "size_scale", "breast_area_px", "window_low",
    "window_high", "annotated", "polylines", "bac_pixels", "bac_pixels_in_breast", "image_png", "breast_mask_png",
    "bac_mask_png",
]  # fmt: skip


@dataclass(frozen=True)
class PreprocessOutputs:
    """Where preprocessing writes: the table and the three PNG folders (``<image_id>.png`` in each)."""

    table: Path
    images: Path
    breast_masks: Path
    bac_masks: Path

    @classmethod
    def in_folder(cls, out_dir: Path | str) -> PreprocessOutputs:
        """The CLI's layout, the workflow's too: preprocessed.csv beside images/, breast_masks/, bac_masks/."""
        out_dir = Path(out_dir)
        return cls(out_dir / "preprocessed.csv", out_dir / "images", out_dir / "breast_masks", out_dir / "bac_masks")


def preprocess_manifest(
    manifest: Path | str | pd.DataFrame,
    source_files: dict[str, str],
    outputs: PreprocessOutputs,
    params: PreprocessParams | None = None,
    annotations: Path | str | dict | None = None,
    workers: int = 1,
) -> pd.DataFrame:
    """Preprocess every image of a manifest in ``workers`` processes (threads, when there are fewer images);
    returns and writes the table.

    ``source_files`` maps each image_id to its DICOM file (ingest's private table); ``annotations`` is
    ingest's {image_id: polylines} JSON. The BAC mask is written for annotated images only.
    """
    params = params or PreprocessParams()
    table = manifest if isinstance(manifest, pd.DataFrame) else pd.read_csv(manifest, dtype={"image_id": str})
    polylines = _load_annotations(annotations)
    missing = sorted(set(table["image_id"]) - set(source_files))
    if missing:
        raise ValueError(f"no source file for image(s) {', '.join(missing[:5])}: is the source table this manifest's?")
    jobs = [
        (row["image_id"], source_files[row["image_id"]], row.get("split", ""), polylines.get(row["image_id"]))
        for row in table.to_dict("records")
    ]
    one_image = partial(preprocess_file, outputs=outputs, params=params, threads=max(1, workers // max(1, len(jobs))))
    if workers > 1 and len(jobs) > 1:
        with ProcessPoolExecutor(min(workers, len(jobs)), mp_context=get_context("spawn")) as pool:
            rows = list(pool.map(one_image, *zip(*jobs)))
    else:
        rows = [one_image(*job) for job in jobs]
    result = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    outputs.table.parent.mkdir(parents=True, exist_ok=True)
    result.to_csv(outputs.table, index=False)
    for folder in (outputs.images, outputs.breast_masks, outputs.bac_masks):
        folder.mkdir(parents=True, exist_ok=True)  # also when no image is annotated: the folder is an output
    return result


def preprocess_dicom_file(
    dicom_path: Path | str,
    outputs: PreprocessOutputs,
    params: PreprocessParams | None = None,
    image_id: str = "image",
    mdai_export: Path | str | None = None,
    bac_labels: tuple[str, ...] = ("BAC",),
    workers: int = 1,
) -> pd.DataFrame:
    """One DICOM file (+ its BAC centre-lines from an MD.ai export), preprocessed as the workflow does:
    ``preprocess_manifest`` on a one-image manifest, its polylines rounded as ingest stores them."""
    annotations = {}
    if mdai_export is not None:
        polylines = read_export(mdai_export, bac_labels).get(read_header(dicom_path).sop_instance_uid)
        annotations = {image_id: portable_polylines(polylines)} if polylines is not None else {}
    manifest = pd.DataFrame({"image_id": [image_id], "split": [""]})
    return preprocess_manifest(manifest, {image_id: str(dicom_path)}, outputs, params, annotations, workers)


def _load_annotations(annotations: Path | str | dict | None) -> dict[str, list[np.ndarray]]:
    if annotations is None:
        return {}
    raw = annotations if isinstance(annotations, dict) else json.loads(Path(annotations).read_text())
    return {image_id: [np.asarray(line, dtype=float) for line in lines] for image_id, lines in raw.items()}


def preprocess_file(
    image_id: str,
    dicom_path: Path | str,
    split: str,
    polylines: list[np.ndarray] | None,
    outputs: PreprocessOutputs,
    params: PreprocessParams,
    threads: int = 1,
) -> dict:
    """One image: its PNGs written under ``outputs``; returns its table row."""
    try:
        header, pixels = read_pixels(dicom_path, voi=params.voi)
        result = preprocess_image(pixels, params, header.pixel_spacing_mm, threads)
    except (DicomReadError, PreprocessError) as error:
        reason = error.reason if isinstance(error, DicomReadError) else str(error)
        raise PreprocessError(f"image {image_id} (its file: see the private source table): {reason}") from None
    name = f"{image_id}.png"
    written = {"image_png": outputs.images / name, "breast_mask_png": outputs.breast_masks / name}
    write_png(written["image_png"], result.image, params.png_compress_level)
    write_png(written["breast_mask_png"], result.breast_mask, params.png_compress_level)
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
        "bac_mask_png": "",
    }
    if polylines is not None:
        label = annotation_mask(polylines, pixels.shape, params, result.size_scale)
        written["bac_mask_png"] = outputs.bac_masks / name
        row["bac_pixels"] = int(label.sum())
        row["bac_pixels_in_breast"] = int((label & result.breast_mask).sum())
        write_png(written["bac_mask_png"], label, params.png_compress_level)
    row.update({key: Path(os.path.relpath(path, outputs.table.parent)).as_posix() for key, path in written.items()})
    return row
