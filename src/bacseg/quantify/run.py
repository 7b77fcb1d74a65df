"""`bacseg quantify`: every input mammogram -> one CSV row of BAC metrics (paper Eq. 3-4) and an overlay picture.

Shareable outputs (``QuantifyOutputs``, under ``--out``): ``quantify.csv`` (one row per image), ``quantify.json``
(the model and every setting) and ``overlays/<image_id>.png``. Nothing in them comes from a file or folder name
or an identifying header field: an image is named by a pseudonym (``img0001``, ... in an order set by a keyed
digest of the SOPInstanceUID, or of a PNG's bytes, so no file name influences it; or the keyed digest itself with
the config's ``ingest.id_scheme: hash``, which gives a DICOM image the same ID as ingest does). The private
outputs (under ``--private-dir``, never inside ``--out``) hold the paths: ``source_files.csv`` (image_id ->
file) and ``skipped.csv`` (every input not quantified, with the reason).
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
from PIL import Image
from tqdm import tqdm

from bacseg.inference.dicom_file import overlay
from bacseg.ingest.pseudonyms import keyed_digest
from bacseg.metrics.quantification import column_names, quantify
from bacseg.quantify.recipes import Recipe
from bacseg.quantify.sources import Skipped, Source, find_sources

ID_COLUMNS = ["image_id", "view", "laterality", "rows", "columns", "pixel_spacing_mm"]
RUN_COLUMNS = ["model", "weights", "recipe", "cutoff", "area_cutoff"]
AUTHORS_X = 100  # the intensity threshold of AutoSeg.py's sum_intensity_100 / sum_pixels_100
INTENSITIES = "the 8-bit image the network sees (the recipe's); breast area: its pixels > 0"


@dataclass(frozen=True)
class QuantifyOutputs:
    """Where a run writes: shareable files in ``out_dir``, paths only in ``private_dir``."""

    table: Path
    record: Path
    overlays: Path
    source_files: Path
    skipped: Path

    @classmethod
    def in_folders(cls, out_dir: Path | str, private_dir: Path | str) -> QuantifyOutputs:
        out_dir, private_dir = Path(out_dir), Path(private_dir)
        if private_dir.resolve().is_relative_to(out_dir.resolve()):
            raise ValueError(f"the private folder {private_dir} must be outside the output folder {out_dir}: "
                             "it holds file paths, which may name patients")  # fmt: skip
        return cls(out_dir / "quantify.csv", out_dir / "quantify.json", out_dir / "overlays",
                   private_dir / "source_files.csv", private_dir / "skipped.csv")  # fmt: skip


@dataclass(frozen=True)
class QuantifyResult:
    table: pd.DataFrame  # what quantify.csv holds
    skipped: list[Skipped]  # in the order of skipped.csv


def pseudonymise(sources: Sequence[Source], id_scheme: str = "sequential", salt: str = "") -> list[tuple[str, Source]]:
    """(image_id, source) in an order no file name influences: that of the keyed digest of each image's key."""
    digests = {source.key: keyed_digest(salt, "image:" + source.key) for source in sources}
    ordered = sorted(sources, key=lambda source: digests[source.key])
    if id_scheme == "hash":
        return [("I" + digests[source.key][:16], source) for source in ordered]
    width = max(4, len(str(len(ordered))))
    return [(f"img{n:0{width}d}", source) for n, source in enumerate(ordered, 1)]


def quantify_inputs(
    paths: Sequence[Path | str],
    predictor,
    recipe: Recipe,
    outputs: QuantifyOutputs,
    *,
    cutoff: float,
    thresholds: Sequence[int],
    id_scheme: str = "sequential",
    salt: str = "",
    progress: bool = True,
) -> QuantifyResult:
    """Quantify every DICOM/PNG input found under ``paths`` (``sources.find_sources``) with ``recipe`` and
    ``predictor`` (clipped as the recipe says), writing ``outputs``. An input that cannot be read or processed is
    skipped with its reason and the others still run. The next image is read while one is predicted, and each
    overlay is written while the next image is predicted."""
    thresholds = list(thresholds)
    if recipe.name == "authors" and AUTHORS_X not in thresholds:
        thresholds.append(AUTHORS_X)
    sources, skipped = find_sources(paths, exclude=[outputs.table.parent, outputs.skipped.parent])
    if not sources and not skipped:
        raise FileNotFoundError("no files found in the paths given")  # not named: paths may name patients
    named = pseudonymise(sources, id_scheme, salt)
    _prepare_folders(outputs)
    area_cutoff = cutoff if recipe.area_cutoff is None else recipe.area_cutoff
    run = {"model": predictor.model_name, "weights": predictor.metadata.source, "recipe": recipe.name,
           "cutoff": cutoff, "area_cutoff": area_cutoff}  # fmt: skip
    rows, quantified, writing = [], [], None
    with ThreadPoolExecutor(1) as reader, ThreadPoolExecutor(1) as writer:
        upcoming = reader.submit(recipe.image, named[0][1]) if named else None
        for n, (image_id, source) in enumerate(tqdm(named, unit="image", file=sys.stderr, disable=not progress)):
            current = upcoming
            if n + 1 < len(named):
                upcoming = reader.submit(recipe.image, named[n + 1][1])
            try:
                image = current.result()
                probabilities = recipe.predict(image, predictor)
                metrics = quantify(probabilities, image, cutoff=cutoff, thresholds=thresholds,
                                   pixel_area_mm2=_pixel_area(source), area_cutoff=recipe.area_cutoff)  # fmt: skip
            except ValueError as error:  # SourceError, DicomReadError, PreprocessError: an unusable image
                skipped.append(Skipped(source.path, _reason(error, source.path), image_id))
                continue
            if writing is not None:
                writing.result()  # one overlay in flight at a time; a failed write is an error, not a skipped image
            writing = writer.submit(_write_overlay, outputs.overlays / f"{image_id}.png", image, probabilities, cutoff)
            row = {"image_id": image_id, "view": source.view, "laterality": source.laterality, "rows": image.shape[0],
                   "columns": image.shape[1], "pixel_spacing_mm": source.pixel_spacing_mm}  # fmt: skip
            if recipe.name == "authors":
                row.update(authors_columns(metrics, cutoff, image.shape))
            rows.append({**row, **metrics, **run})
            quantified.append((image_id, source))
        if writing is not None:
            writing.result()
    columns = ID_COLUMNS + (list(authors_columns({}, cutoff, (0, 0))) if recipe.name == "authors" else [])
    table = pd.DataFrame(rows, columns=columns + column_names(thresholds, physical=True) + RUN_COLUMNS)
    table.to_csv(outputs.table, index=False)
    _write_private_tables(outputs, quantified, skipped)
    record = {**run, **_predictor_record(predictor), "settings": recipe.settings, **recipe.record,
              "thresholds": thresholds, "intensities": INTENSITIES, "id_scheme": id_scheme,
              "pixel_area_mm2": "PixelSpacing (else ImagerPixelSpacing) squared; none for PNG images",
              "images": len(table), "skipped": len(skipped)}  # fmt: skip
    outputs.record.write_text(json.dumps(record, indent=1) + "\n")
    return QuantifyResult(table, skipped)


def authors_columns(metrics: dict, cutoff: float, shape: tuple[int, int]) -> dict:
    """AutoSeg.py's CSV columns under their names (its header says ``area_thre_<prob_thre>``, while the count is
    taken at 0.5), so scripts written for their CSV read this one."""
    names = {"breastarea": "breast_area_px", "prob": "PM", f"area_thre_{cutoff}": "AM", "sum_intensity": "SIM",
             "sum_intensity_100": f"TSIM_{AUTHORS_X}", "sum_pixels_100": f"TAM_{AUTHORS_X}"}  # fmt: skip
    return {**{theirs: metrics.get(ours) for theirs, ours in names.items()}, "imgsize": str(tuple(shape))}


def _pixel_area(source: Source) -> float | None:
    return source.pixel_spacing_mm**2 if source.pixel_spacing_mm else None


def _reason(error: Exception, path: Path) -> str:
    """The error's reason without the file's path (reasons reach the console)."""
    reason = getattr(error, "reason", None) or str(error).removeprefix(f"{path}: ")
    return reason.replace(str(path), "the file")


def _prepare_folders(outputs: QuantifyOutputs) -> None:
    """Create the folders; overlays of an earlier run in the same folder are removed (they may be other images')."""
    outputs.overlays.mkdir(parents=True, exist_ok=True)
    outputs.skipped.parent.mkdir(parents=True, exist_ok=True)
    for stale in outputs.overlays.glob("*.png"):
        stale.unlink()


def _write_overlay(path: Path, image: np.ndarray, probabilities: np.ndarray, cutoff: float) -> None:
    Image.fromarray(overlay(image, probabilities, cutoff)).save(path, compress_level=1)


def _write_private_tables(outputs: QuantifyOutputs, quantified: list[tuple[str, Source]], skipped: list[Skipped]):
    sources = [{"image_id": image_id, "kind": source.kind, "path": str(source.path.resolve())}
               for image_id, source in quantified]  # fmt: skip
    pd.DataFrame(sources, columns=["image_id", "kind", "path"]).to_csv(outputs.source_files, index=False)
    problems = [{"row": n, "path": str(s.path.resolve()), "reason": s.reason, "image_id": s.image_id}
                for n, s in enumerate(skipped, 1)]  # fmt: skip
    pd.DataFrame(problems, columns=["row", "path", "reason", "image_id"]).to_csv(outputs.skipped, index=False)


def _predictor_record(predictor) -> dict:
    return {"normalization": predictor.normalization, "output_activation": predictor.output_activation,
            "clipped_to": list(predictor.clip)}  # None: no upper bound
