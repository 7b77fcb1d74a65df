"""The realism measurement of issue 8, end to end: a paper-scale synthetic cohort A synthesised for the judge
alone (``realism.n_subjects``, ``scale``, ``seed``; the run's ``synthetic.A`` make-up otherwise, every image
annotated), the judge on every image with BAC, scored at p > ``realism.cutoff`` against the project's label
masks (the MD.ai centre-lines through preprocessing's ``annotation_mask``, as the annotators drew them), its
false positives by cause, beta of every image, and the real reference mammograms at the same pixel size.

Writes ``realism.json`` and the figure; the cohort itself goes to a scratch folder that is removed.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import time
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd
from PIL import Image

from bacseg.ingest import portable_polylines
from bacseg.io.dicom import read_pixels
from bacseg.io.mdai import read_export
from bacseg.metrics.segmentation import binarise, confusion_counts, scores_from_counts
from bacseg.preprocess.image import annotation_mask
from bacseg.realism.beta import beta_summary, image_betas
from bacseg.realism.causes import CAUSES, add_attributions, attribute_false_positives
from bacseg.realism.figure import Crop, crop_at, draw_realism_figure
from bacseg.realism.judge import Judge, load_judge
from bacseg.realism.real import RealImage, read_at_spacing, real_images
from bacseg.realism.scene import scene_maps
from bacseg.synthetic import CohortOutputs, generate_cohort
from bacseg.synthetic.cohorts import plan_cohort
from bacseg.synthetic.config import CohortConfig
from bacseg.synthetic.geometry import PAPER_SPACING_MM

LOG = logging.getLogger(__name__)
# Issue 8's goal, recorded beside the measurement.
GOAL = {"dice": 0.60, "recall": 0.60, "beta": [2.8, 3.2], "paper_dice_on_real": 0.729}
SCORES = {"dice": "f1", "recall": "recall", "precision": "precision"}


def judge_cohort_config(config: Mapping) -> dict:
    """Cohort A's synthetic section at the judge cohort's size and scale, every image annotated (the images are
    the same bytes whatever the annotated fraction: only which ones enter the MD.ai export changes)."""
    realism = config["realism"]
    return {**config["synthetic"]["A"], "n_subjects": realism["n_subjects"], "scale": realism["scale"],
            "annotated_fraction": 1.0}  # fmt: skip


def run_realism(config: Mapping, *, weights: Path | str, json_path: Path | str, figure_path: Path | str,
                workers: int = 1) -> dict:  # fmt: skip
    """Measure (see the module docstring), write ``json_path`` and ``figure_path``; returns the JSON's content."""
    realism = config["realism"]
    references = real_images(realism["real_mammograms"], realism["package_views"], realism["real_spacing_mm"])
    cohort = judge_cohort_config(config)
    spacing_mm = PAPER_SPACING_MM / cohort["scale"]
    judge = load_judge(config, weights)
    with tempfile.TemporaryDirectory(prefix="bacseg-realism-") as scratch:
        outputs = CohortOutputs.in_folder(scratch)
        start = time.perf_counter()
        generate_cohort("A", outputs, cohort, seed=realism["seed"], workers=workers)
        LOG.info(f"judge cohort: {cohort['n_subjects']} subject(s) at scale {cohort['scale']} synthesised in "
                 f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        images, crops = judge_synthetic(outputs, config, judge)
    real, real_crops = judge_real(config, judge, references, spacing_mm)
    result = realism_record(config, judge, images, real, spacing_mm)
    Path(json_path).parent.mkdir(parents=True, exist_ok=True)
    Path(json_path).write_text(json.dumps(_finite(result), indent=1, allow_nan=False) + "\n")
    draw_realism_figure(crops, real_crops, spacing_mm, realism["crop_mm"], figure_path)
    return result


def judge_synthetic(outputs: CohortOutputs, config: Mapping, judge: Judge) -> tuple[list[dict], list[Crop]]:
    """One record per image of the written cohort (beta; on images with BAC the judge's counts and false positives
    by cause), and the figure's crops of the first images with BAC."""
    realism, seed = config["realism"], config["realism"]["seed"]
    truth = pd.read_csv(outputs.truth, keep_default_na=False)
    settings = CohortConfig.from_dict("A", judge_cohort_config(config))
    plans = {plan.sop_uid: plan for plan in plan_cohort("A", settings, seed)}
    polylines = read_export(outputs.annotations, tuple(config["ingest"]["bac_labels"]))
    side_px = round(realism["crop_mm"] / (PAPER_SPACING_MM / realism["scale"]))
    records, crops = [], []
    for row in truth.to_dict("records"):
        plan = plans[row["sop_instance_uid"]]
        name = f"S{plan.subject + 1:02d} {plan.laterality}{plan.view}"
        path = outputs.truth.parent / row["dicom_path"]
        header, stored = read_pixels(path)
        record = {"image": name, "has_bac": bool(row["has_bac"]), "density_class": row["density_class"],
                  "beta": beta_summary(image_betas(stored))}  # fmt: skip
        if row["has_bac"]:
            start = time.perf_counter()
            image, probabilities = judge.read_file(path)
            lines = [np.asarray(line) for line in portable_polylines(polylines.get(plan.sop_uid, []))]  # as ingest
            label = annotation_mask(lines, stored.shape, judge.params, judge.params.size_scale(header.pixel_spacing_mm))
            predicted = binarise(probabilities, realism["cutoff"])
            truth_values = np.asarray(Image.open(outputs.truth.parent / row["truth_mask_path"]))
            maps = scene_maps(plan, seed, stored, header.bits_stored, header.pixel_spacing_mm, truth_values, label,
                              realism["cause_margin_mm"])  # fmt: skip
            record |= {**confusion_counts(predicted, label),
                       "false_positives": attribute_false_positives(predicted & ~label, maps)}  # fmt: skip
            LOG.info(f"{name}: {record['tp']} TP, {record['fp']} FP, {record['fn']} FN "
                     f"({time.perf_counter() - start:.1f} s)")  # fmt: skip
            if len(crops) < realism["figure_crops"]:
                crops.append(crop_at(name, image, probabilities, label, realism["cutoff"], side_px, label))
        records.append(record)
    return records, crops


def judge_real(
    config: Mapping, judge: Judge, references: list[RealImage], spacing_mm: float
) -> tuple[list[dict], list[Crop]]:
    """The judge on each real reference mammogram at ``spacing_mm``: its area above the cutoff, its beta (of the
    file's own pixels, as the tool measures a file) and a crop centred on its largest marked region."""
    realism = config["realism"]
    side_px = round(realism["crop_mm"] / spacing_mm)
    records, crops = [], []
    for real in references:
        image, probabilities = judge.read_pixels(read_at_spacing(real, spacing_mm), spacing_mm)
        predicted = binarise(probabilities, realism["cutoff"])
        records.append({"image": real.name, "assumed_spacing_mm": real.spacing_mm,
                        "area_above_cutoff_mm2": float(predicted.sum() * spacing_mm**2),
                        "beta": beta_summary(image_betas(read_pixels(real.path)[1]))})  # fmt: skip
        crops.append(crop_at(real.name, image, probabilities, None, realism["cutoff"], side_px, predicted))
    return records, crops


def realism_record(config: Mapping, judge: Judge, images: list[dict], real: list[dict], spacing_mm: float) -> dict:
    """The JSON: settings, per-image scores, pooled scores (summed TP/FP/FN), false positives by cause, beta."""
    realism = config["realism"]
    judged = [image for image in images if image["has_bac"]]
    counts = pd.DataFrame([{key: image[key] for key in ("tp", "fp", "tn", "fn")} for image in judged],
                          columns=["tp", "fp", "tn", "fn"], dtype="int64")  # fmt: skip
    per_image = scores_from_counts(counts)
    pooled_counts = counts.sum().to_frame().T
    pooled = scores_from_counts(pooled_counts).iloc[0]
    total = {unit: dict.fromkeys(CAUSES, 0) for unit in ("pixels", "components")}
    for image, scores in zip(judged, per_image.to_dict("records")):
        image |= {name: scores[column] for name, column in SCORES.items()}
        total = add_attributions(total, image["false_positives"])
    fp_pixels = sum(total["pixels"].values())
    medians = [image["beta"]["median"] for image in images if image["beta"]["median"] is not None]
    return {
        "what": "the authors' released SCU-Net (trained on real FFDM) on a paper-scale synthetic cohort A, through "
                "the project's whole-image inference, against the project's BAC label masks (issue 8)",
        "judge": {**judge.record(), "cutoff": realism["cutoff"]},
        "cohort": {"cohort": "A", "n_subjects": realism["n_subjects"], "scale": realism["scale"],
                   "seed": realism["seed"], "pixel_spacing_mm": spacing_mm, "images": len(images),
                   "images_with_bac": len(judged)},
        "per_image": images,
        "pooled": {**{name: float(pooled[column]) for name, column in SCORES.items()},
                   **{key: int(pooled_counts[key].iloc[0]) for key in ("tp", "fp", "fn")}},
        "false_positives": {**total, "share_of_pixels": {name: n / fp_pixels if fp_pixels else math.nan
                                                         for name, n in total["pixels"].items()},
                            "causes": CAUSES, "margin_mm": realism["cause_margin_mm"]},
        "beta": {"images": len(medians), "median": float(np.median(medians)) if medians else math.nan,
                 "min": min(medians, default=math.nan), "max": max(medians, default=math.nan),
                 "method": "../shared/tools/power_law_beta.py (bacseg.realism.beta): median over each image's "
                           "in-breast 128 px patches"},
        "real": real,
        "goal": GOAL,
    }  # fmt: skip


def _finite(value):
    """NaN (an undefined score) as JSON null, floats to 6 decimals (readable, and well within what is measured)."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) else round(float(value), 6)
    if isinstance(value, np.integer):
        return int(value)
    return value
