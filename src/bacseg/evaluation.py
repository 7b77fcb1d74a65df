"""Table 1's per-sample tables: whole images scored from probability maps, patches from their counts.

Whole images are scored over every pixel by default (``region="image"``): the network sees the whole
tile grid, and a prediction outside the breast is a false positive a reader would see.
``region="breast"`` counts only pixels inside the breast mask (fewer true negatives, so a lower
accuracy; the other scores change only where a model predicts outside the breast).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

import pandas as pd

from bacseg.metrics.maps import PREDICTION_SUFFIXES, read_probability_map, read_truth_mask
from bacseg.metrics.segmentation import DEFAULT_EMPTY, COUNT_COLUMNS, binarise, confusion_counts, with_scores

REGIONS = ("image", "breast")
PATCH_ID_COLUMNS = ("image_id", "y", "x")
DEFAULT_CUTOFF = 0.5


def evaluate_pairs(
    pairs: Iterable[tuple[str, Path | str, Path | str, Path | str | None]],
    *,
    cutoff: float = DEFAULT_CUTOFF,
    empty: str = DEFAULT_EMPTY,
) -> pd.DataFrame:
    """One row per ``(image_id, prediction, truth, region mask or None)``: counts and scores."""
    rows = []
    for image_id, prediction_path, truth_path, region_path in pairs:
        probability = read_probability_map(prediction_path)
        truth = read_truth_mask(truth_path)
        if probability.shape != truth.shape:
            raise ValueError(f"{prediction_path} is {probability.shape} but its truth {truth_path} is {truth.shape}")
        region = None if region_path is None else read_truth_mask(region_path)
        if region is not None and region.shape != truth.shape:
            raise ValueError(f"{region_path} is {region.shape} but the truth {truth_path} is {truth.shape}")
        rows.append({"image_id": image_id, **confusion_counts(binarise(probability, cutoff), truth, region)})
    counts = pd.DataFrame(rows, columns=["image_id", *COUNT_COLUMNS])
    return with_scores(counts.sort_values("image_id", ignore_index=True), empty)


def probability_maps_in(folder: Path | str, image_ids: Iterable[str] | None = None) -> dict[str, Path]:
    """{image_id: map} of the predict stage's ``<image_id>.npy`` files: all of them, or those of ``image_ids``."""
    folder = Path(folder)
    if image_ids is None:
        return {p.stem: p for p in sorted(folder.glob("*.npy"))}
    maps = {i: folder / f"{i}.npy" for i in image_ids}
    missing = sorted(i for i, p in maps.items() if not p.is_file())
    if missing:
        raise FileNotFoundError(f"{folder}: no probability map for {len(missing)} image(s): {_names(missing)}")
    return maps


def scored_images(truth_table: Path | str, split: str) -> list[str]:
    """The images Table 1 scores whole: those of ``split`` with a BAC label mask (not every image is annotated)."""
    table = pd.read_csv(truth_table, dtype={"image_id": str}, keep_default_na=False)
    return sorted(table.loc[(table["split"] == split) & (table["bac_mask_png"] != ""), "image_id"])


def evaluate_images(
    probability_maps: Mapping[str, Path | str],
    truth_table: Path | str,
    *,
    cutoff: float = DEFAULT_CUTOFF,
    empty: str = DEFAULT_EMPTY,
    region: str = "image",
) -> pd.DataFrame:
    """Whole-image scores of ``{image_id: probability map}`` against the preprocessed table's BAC masks.

    ``truth_table`` is ``preprocessed.csv`` (paths relative to its folder). Every image given must be in
    the table with a BAC mask; images of the table without a map are not scored.
    """
    if region not in REGIONS:
        raise ValueError(f"region must be one of {REGIONS}, got {region!r}")
    truth_table = Path(truth_table)
    table = pd.read_csv(truth_table, dtype={"image_id": str}, keep_default_na=False).set_index("image_id")
    unlabelled = sorted(i for i in probability_maps if i not in table.index or not table.at[i, "bac_mask_png"])
    if unlabelled:
        raise ValueError(f"{truth_table}: no BAC mask for {len(unlabelled)} predicted image(s): {_names(unlabelled)}")
    folder = truth_table.parent
    pairs = [
        (
            image_id,
            path,
            folder / table.at[image_id, "bac_mask_png"],
            folder / table.at[image_id, "breast_mask_png"] if region == "breast" else None,
        )
        for image_id, path in probability_maps.items()
    ]
    return evaluate_pairs(pairs, cutoff=cutoff, empty=empty)


def score_patches(counts: pd.DataFrame | Path | str, empty: str = DEFAULT_EMPTY) -> pd.DataFrame:
    """Patch-wise scores from the training stage's counts (image_id, y, x, tp, fp, tn, fn per patch)."""
    source = counts if isinstance(counts, pd.DataFrame) else pd.read_csv(counts, dtype={"image_id": str})
    missing = [c for c in (*PATCH_ID_COLUMNS, *COUNT_COLUMNS) if c not in source.columns]
    if missing:
        where = "" if isinstance(counts, pd.DataFrame) else f"{counts}: "
        raise ValueError(f"{where}patch counts lack the columns {missing}")
    return with_scores(source[[*PATCH_ID_COLUMNS, *COUNT_COLUMNS]].reset_index(drop=True), empty)


def match_by_stem(prediction_dir: Path | str, truth_dir: Path | str) -> list[tuple[str, Path, Path, None]]:
    """Prediction files (.npy/.png) paired with truth PNGs of the same stem; every file must find its pair."""
    prediction_dir, truth_dir = Path(prediction_dir), Path(truth_dir)
    for folder in (prediction_dir, truth_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"{folder}: no such folder")
    predictions: dict[str, Path] = {}
    for path in sorted(p for p in prediction_dir.iterdir() if p.suffix in PREDICTION_SUFFIXES):
        if path.stem in predictions:
            first = predictions[path.stem].name
            raise ValueError(f"{prediction_dir}: two predictions for {path.stem!r}: {first}, {path.name}")
        predictions[path.stem] = path
    truths = {p.stem: p for p in sorted(truth_dir.glob("*.png"))}
    if not predictions:
        raise ValueError(f"{prediction_dir}: no .npy or .png predictions")
    problems = []
    if unmatched := sorted(set(predictions) - set(truths)):
        problems.append(f"no truth mask in {truth_dir} for {len(unmatched)} prediction(s): {_names(unmatched)}")
    if unmatched := sorted(set(truths) - set(predictions)):
        problems.append(f"no prediction in {prediction_dir} for {len(unmatched)} truth mask(s): {_names(unmatched)}")
    if problems:
        raise ValueError("; ".join(problems))
    return [(stem, predictions[stem], truths[stem], None) for stem in sorted(predictions)]


def _names(names: list[str], shown: int = 10) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
