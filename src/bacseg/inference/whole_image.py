"""Whole-image prediction for the workflow: every preprocessed image of a table -> one probability map file.

Maps are written as ``<probabilities_dir>/<image_id>.npy``, float16 (H, W) in [0, 1] (half the bytes of
float32; the 0.5 and 0.65 cutoffs and every value in between are represented to within 2.4e-4). The
predictions table has one row per image: ``image_id, split, path`` (the map, relative to the table's
folder), ``model, seconds`` (reading the PNG excluded, stitching included).
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from bacseg.inference.predictor import Predictor
from bacseg.io.png import read_png
from bacseg.inference.settings import resolve_settings
from bacseg.inference.sliding_window import sliding_window_inference

PREDICTION_COLUMNS = ["image_id", "split", "path", "model", "seconds"]
LOG = logging.getLogger(__name__)


def predict_images(
    preprocessed_table: Path | str,
    predictor: Predictor,
    *,
    probabilities_dir: Path | str,
    predictions_csv: Path | str,
    settings: Mapping,
    image_ids: Iterable[str] | None = None,
    split: str | None = None,
) -> pd.DataFrame:
    """Predict the images of preprocess's ``preprocessed.csv`` (optionally only ``image_ids`` / one ``split``).

    ``settings`` are complete sliding-window settings (``settings.SETTING_TYPES``; the workflow's come from
    ``settings.settings_from_config``: the ``predict`` section with the patch grid). The next image's PNG
    is read while the current one is predicted. Returns the predictions table it writes.
    """
    settings = resolve_settings(settings)
    preprocessed_table, probabilities_dir = Path(preprocessed_table), Path(probabilities_dir)
    predictions_csv = Path(predictions_csv)
    records = _select(pd.read_csv(preprocessed_table, dtype={"image_id": str}, keep_default_na=False),
                      preprocessed_table, image_ids, split)  # fmt: skip
    probabilities_dir.mkdir(parents=True, exist_ok=True)
    predictions_csv.parent.mkdir(parents=True, exist_ok=True)
    png_paths = [preprocessed_table.parent / record["image_png"] for record in records]
    rows = []
    with ThreadPoolExecutor(1) as reader:
        upcoming = reader.submit(_read_image, png_paths[0]) if png_paths else None
        for n, record in enumerate(records):
            image = upcoming.result()
            if n + 1 < len(records):
                upcoming = reader.submit(_read_image, png_paths[n + 1])
            start = time.perf_counter()
            probabilities = sliding_window_inference(image, predictor, **settings)
            seconds = time.perf_counter() - start
            path = probabilities_dir / f"{record['image_id']}.npy"
            np.save(path, probabilities.astype(np.float16))
            LOG.info(f"{predictor.model_name} {record['image_id']} ({n + 1} of {len(records)}): {seconds:.2f} s")
            rows.append({
                "image_id": record["image_id"], "split": record.get("split", ""),
                "path": os.path.relpath(path, predictions_csv.parent), "model": predictor.model_name,
                "seconds": round(seconds, 3),
            })  # fmt: skip
    predictions = pd.DataFrame(rows, columns=PREDICTION_COLUMNS)
    predictions.to_csv(predictions_csv, index=False)
    return predictions


def _select(table: pd.DataFrame, source: Path, image_ids: Iterable[str] | None, split: str | None) -> list[dict]:
    if split is not None:
        table = table[table["split"] == split]
    if image_ids is not None:
        wanted = [str(image_id) for image_id in image_ids]
        missing = sorted(set(wanted) - set(table["image_id"]))
        if missing:
            raise ValueError(f"{source}: no image(s) {', '.join(missing)}" + (f" in split {split!r}" if split else ""))
        table = table.set_index("image_id", drop=False).loc[wanted]
    return table.to_dict("records")


def _read_image(path: Path) -> np.ndarray:
    image = read_png(path)
    if image.ndim != 2 or image.dtype != np.uint8:
        raise ValueError(f"{path}: expected an 8-bit greyscale PNG from preprocess, got {image.dtype} {image.shape}")
    return image
