"""Does the benchmark discriminate? The spread of whole-image F1 across models, and how often each model
marks the synthetic cohorts' benign look-alike calcifications (which must not be segmented).

The synthetic truth masks (the truth table's ``truth_mask_path``) mark exact BAC pixels 255 and
look-alikes 128; a look-alike pixel predicted positive outside the BAC label is a false positive on a
look-alike. A look-alike object (8-connected) is hit when any of its pixels is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from scipy import ndimage

from bacseg.ingest.linked import image_truth
from bacseg.metrics.maps import read_probability_map, read_truth_mask
from bacseg.metrics.segmentation import binarise
from bacseg.synthetic.cohorts import TRUTH_MASK_LOOKALIKE

NEAR_PERFECT_F1 = 0.95


def synthetic_truth_masks(source_files: Path | str, truth: Path | str) -> dict[str, Path]:
    """{image_id: synthetic truth mask} of the ingested images (``ingest.linked.image_truth``)."""
    table = image_truth(source_files, truth)
    return {image_id: Path(mask) for image_id, mask in zip(table["image_id"], table["truth_mask_path"])}


def lookalike_hits(predicted: np.ndarray, truth_values: np.ndarray, label: np.ndarray) -> dict[str, int]:
    """Look-alike objects and pixels of one image, those predicted, and all false-positive pixels."""
    lookalike = truth_values == TRUTH_MASK_LOOKALIKE
    objects, n_objects = ndimage.label(lookalike, structure=np.ones((3, 3)))
    false_positive = predicted & ~label
    on_lookalike = false_positive & lookalike
    return {
        "lookalike_objects": int(n_objects),
        "lookalike_objects_hit": int(np.unique(objects[on_lookalike]).size),
        "lookalike_pixels": int(lookalike.sum()),
        "lookalike_pixels_predicted": int(on_lookalike.sum()),
        "fp_pixels": int(false_positive.sum()),
    }


def lookalike_false_positives(
    probability_maps: Mapping[str, Path | str],
    truth_masks: Mapping[str, Path | str],
    truth_table: Path | str,
    *,
    cutoff: float = 0.5,
) -> pd.DataFrame:
    """Per image: ``lookalike_hits`` of one model's maps, against the BAC labels of ``preprocessed.csv``."""
    truth_table = Path(truth_table)
    table = pd.read_csv(truth_table, dtype={"image_id": str}, keep_default_na=False).set_index("image_id")
    missing = sorted(set(probability_maps) - set(truth_masks))
    if missing:
        raise ValueError(f"no synthetic truth mask for {len(missing)} image(s): {', '.join(missing[:10])}")
    rows = []
    for image_id, path in sorted(probability_maps.items()):
        values = np.asarray(Image.open(truth_masks[image_id]))
        label = read_truth_mask(truth_table.parent / table.at[image_id, "bac_mask_png"])
        predicted = binarise(read_probability_map(path), cutoff)
        if not (values.shape == label.shape == predicted.shape):
            raise ValueError(f"{image_id}: truth mask {truth_masks[image_id]} {values.shape}, label {label.shape} "
                             f"and map {path} {predicted.shape} differ in shape")
        rows.append({"image_id": image_id, **lookalike_hits(predicted, values, label)})
    return pd.DataFrame(rows)


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def discrimination_table(
    whole_image: Mapping[str, pd.DataFrame], lookalikes: Mapping[str, pd.DataFrame] | None = None
) -> pd.DataFrame:
    """Per model: whole-image F1 mean/SD/median, share of near-perfect images, and look-alike hits."""
    rows = {}
    for model, per_sample in whole_image.items():
        f1 = per_sample["f1"].dropna()
        row = {"f1_mean": f1.mean(), "f1_sd": f1.std(), "f1_median": f1.median(),
               "share_f1_above_0.95": (f1 > NEAR_PERFECT_F1).mean(), "n_images": len(f1)}
        if lookalikes is not None and model in lookalikes:
            hits = lookalikes[model].sum(numeric_only=True)
            row |= {
                "images_with_lookalikes": int((lookalikes[model]["lookalike_objects"] > 0).sum()),
                "lookalike_objects": int(hits["lookalike_objects"]),
                "lookalike_objects_hit": int(hits["lookalike_objects_hit"]),
                "share_lookalikes_hit": _ratio(hits["lookalike_objects_hit"], hits["lookalike_objects"]),
                "share_fp_on_lookalikes": _ratio(hits["lookalike_pixels_predicted"], hits["fp_pixels"]),
            }
        rows[model] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("model")


def f1_spread(table: pd.DataFrame) -> dict[str, float | str | bool]:
    """How far apart the models are: range and SD of mean F1, best and worst, and whether any is near 1."""
    means = table["f1_mean"].dropna()
    if means.empty:
        raise ValueError("no model has a defined whole-image F1")
    return {
        "models": int(means.size),
        "f1_range": float(means.max() - means.min()),
        "f1_sd_across_models": float(means.std()) if means.size > 1 else math.nan,
        "best": str(means.idxmax()),
        "worst": str(means.idxmin()),
        "near_ceiling": bool(means.max() > NEAR_PERFECT_F1),
    }


def write_discrimination(
    whole_image: Mapping[str, pd.DataFrame],
    lookalikes: Mapping[str, pd.DataFrame] | None = None,
    *,
    csv: Path | str,
    json_path: Path | str,
) -> pd.DataFrame:
    """The per-model table as CSV and the spread as JSON; returns the table."""
    table = discrimination_table(whole_image, lookalikes)
    table.to_csv(csv)
    Path(json_path).write_text(json.dumps(f1_spread(table), indent=2) + "\n")
    return table
