"""The cohort's quantification table (``results/quantification/{cohort}/metrics.csv``): paper Eq. 3-4 for one
network's stitched probability maps (``source = "predicted"``) and for the label masks of the annotated images
(``source = "truth"``, the mask quantified as a 0/1 map), one row per image and source.

Intensities are the 8-bit preprocessed image the network sees (``intensity_source = "preprocessed"``, the
only source so far). Preprocessing keeps the DICOM pixel grid (``size_scale`` only rescales its filter sizes),
so a preprocessed pixel is the DICOM's: ``pixel_area_mm2 = pixel_spacing_mm ** 2`` (PixelSpacing, else
ImagerPixelSpacing; square pixels assumed). Without a spacing the mm^2 columns are empty.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from bacseg import settings as config_settings
from bacseg.io.png import read_mask_png, read_png
from bacseg.metrics.maps import read_probability_map
from bacseg.metrics.quantification import column_names, quantify

PREDICTED, TRUTH = "predicted", "truth"
IMAGE_COLUMNS = ["image_id", "subject_id", "exam_date", "laterality", "view", "split"]
SETTING_COLUMNS = ["source", "model", "cutoff", "intensity_source", "pixel_area_mm2"]
TEXT_COLUMNS = [*IMAGE_COLUMNS, "source", "model", "intensity_source"]
_READERS = {PREDICTED: read_probability_map, TRUTH: read_mask_png}  # the label mask is quantified as a 0/1 map


def metrics_columns(thresholds) -> list[str]:
    """The columns of the metrics table, in order."""
    return [*IMAGE_COLUMNS, *SETTING_COLUMNS, *column_names(thresholds, physical=True)]


def quantify_settings(settings: Mapping | None) -> dict:
    """The config's ``quantify`` section checked against the schema, defaults filled; X must be swept."""
    resolved = config_settings.resolve("quantify", settings)
    if resolved["intensity_threshold"] not in resolved["thresholds"]:
        raise config_settings.SettingsError(
            f"quantify.intensity_threshold {resolved['intensity_threshold']} is not among quantify.thresholds "
            f"{resolved['thresholds']}")
    return resolved


def pixel_area_mm2(pixel_spacing_mm: float | None) -> float:
    """The area of one preprocessed pixel (NaN without a spacing)."""
    if pixel_spacing_mm is None or pd.isna(pixel_spacing_mm) or pixel_spacing_mm == "":
        return math.nan
    spacing = float(pixel_spacing_mm)
    if not spacing > 0:
        raise ValueError(f"pixel spacing must be positive, got {spacing}")
    return spacing**2


def quantify_cohort(
    preprocessed_table: Path | str,
    manifest: Path | str,
    *,
    predictions_table: Path | str | None = None,
    settings: Mapping | None = None,
) -> pd.DataFrame:
    """One row per (image, source): every image of ``predictions_table`` (predict's table) and every annotated
    image of ``preprocessed_table`` (preprocess's table); image facts from ingest's ``manifest``."""
    settings = quantify_settings(settings)
    preprocessed_table = Path(preprocessed_table)
    images = _read_table(preprocessed_table, ["image_id", "rows", "columns", "pixel_spacing_mm", "image_png",
                                              "bac_mask_png"])  # fmt: skip
    facts = _read_table(Path(manifest), IMAGE_COLUMNS)
    maps: dict[str, dict[str, Path]] = {}  # image_id -> {source: map file}
    if predictions_table is not None:
        predictions_table = Path(predictions_table)
        predictions = _read_table(predictions_table, ["image_id", "path", "model"])
        wrong = sorted(set(predictions["model"]) - {settings["model"]})
        if wrong:
            raise ValueError(f"{predictions_table}: maps of {wrong}, but quantify.model is {settings['model']!r}")
        for image_id, path in predictions["path"].items():
            maps.setdefault(image_id, {})[PREDICTED] = predictions_table.parent / path
    for image_id, path in images.loc[images["bac_mask_png"] != "", "bac_mask_png"].items():
        maps.setdefault(image_id, {})[TRUTH] = preprocessed_table.parent / path
    rows = []
    for image_id in sorted(maps):
        for table, path in ((images, preprocessed_table), (facts, manifest)):
            if image_id not in table.index:
                raise ValueError(f"{path}: no row for image {image_id}")
        image = images.loc[image_id]
        intensities = read_png(preprocessed_table.parent / image["image_png"])
        if intensities.shape != (int(image["rows"]), int(image["columns"])):
            raise ValueError(f"{preprocessed_table}: image {image_id} is {intensities.shape}, not its DICOM grid "
                             f"{image['rows']}x{image['columns']}: its pixel size is unknown")
        area = pixel_area_mm2(image["pixel_spacing_mm"])
        for source, map_path in sorted(maps[image_id].items()):
            try:
                values = quantify(_READERS[source](map_path), intensities, cutoff=settings["cutoff"],
                                  thresholds=settings["thresholds"], pixel_area_mm2=None if math.isnan(area) else area)
            except ValueError as error:
                raise ValueError(f"image {image_id} ({source}): {error}") from None
            rows.append({**facts.loc[image_id].to_dict(), "image_id": image_id, "source": source,
                         "model": settings["model"] if source == PREDICTED else "", "cutoff": settings["cutoff"],
                         "intensity_source": settings["intensity_source"], "pixel_area_mm2": area, **values})
    return pd.DataFrame(rows, columns=metrics_columns(settings["thresholds"]))


def write_quantification(
    out: Path | str,
    preprocessed_table: Path | str,
    manifest: Path | str,
    *,
    predictions_table: Path | str | None = None,
    settings: Mapping | None = None,
) -> pd.DataFrame:
    """``quantify_cohort``'s table written to ``out`` (CSV); returns it."""
    table = quantify_cohort(preprocessed_table, manifest, predictions_table=predictions_table, settings=settings)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(out, index=False)
    return table


def read_metrics(path: Path | str) -> pd.DataFrame:
    """A metrics table as written (ids, dates and views as text)."""
    table = pd.read_csv(path, dtype=dict.fromkeys(TEXT_COLUMNS, str))
    table[TEXT_COLUMNS] = table[TEXT_COLUMNS].fillna("")
    return table


def _read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = sorted(set(columns) - set(table.columns))
    if missing:
        raise ValueError(f"{path}: lacks the columns {missing}")
    repeated = sorted(table.loc[table["image_id"].duplicated(), "image_id"])
    if repeated:
        raise ValueError(f"{path}: more than one row for image(s) {', '.join(repeated[:5])}")
    return table[columns].set_index("image_id")
