"""A folder of DICOM mammograms (+ an MD.ai export) -> the manifest, pseudonymised.

Every file is checked before any work starts, and every problem (unreadable, not an image, not
decodable, duplicated, annotation without its image) is reported in one error, so a user fixes a
folder in one round. ``on_error="skip"`` records them in the private ``skipped`` table and goes on.

Shareable outputs (the manifest, the annotation table, logs, error messages) carry pseudonymous ids
only: no PatientName, PatientID, BirthDate or UID, and no file path, since archives name folders and
files after patients. Two private tables, kept apart from them (config key ``data.private_dir``,
outside results/), hold the paths: ``source_files`` (image_id -> original DICOM file, which
preprocessing reads) and ``skipped`` (every file left out, with its path and the reason).

Ids are either sequential in a stable order, prefixed by the cohort so they are unique across cohorts
("A-S0001", "A-S0001-003"; the default, safe without a secret) or a keyed hash (HMAC-SHA256 with a
secret salt; stable as the folder grows).

Here the whole step (``ingest``); its parts: ``scan`` (headers and problems), ``pseudonyms`` (ids and
manifest rows), ``tables`` (what is written, where the caller says), ``options`` (the settings).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bacseg.ingest.options import IngestOptions
from bacseg.ingest.pseudonyms import MANIFEST_COLUMNS, build_manifest, keyed_digest
from bacseg.ingest.scan import FileProblem, IngestError, scan_folder
from bacseg.ingest.tables import (
    IngestOutputs,
    portable_polylines,
    problem_table,
    read_source_files,
    write_outputs,
    write_skipped,
)
from bacseg.io.mdai import read_export

__all__ = [
    "MANIFEST_COLUMNS", "FileProblem", "IngestError", "IngestOptions", "IngestOutputs", "IngestResult",
    "build_manifest", "ingest", "portable_polylines", "read_source_files", "scan_folder",
]  # fmt: skip

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    manifest: pd.DataFrame
    annotations: dict[str, list[np.ndarray]]  # image_id -> BAC polylines; annotated images only
    source_files: pd.DataFrame  # private: image_id, dicom_path
    skipped: pd.DataFrame  # private: path, reason


def ingest(
    dicom_dir: Path | str,
    outputs: IngestOutputs,
    mdai_export: Path | str | None = None,
    options: IngestOptions | None = None,
) -> IngestResult:
    """Scan, check, pseudonymise, split; write ``outputs``. With on_error "raise", a problem writes only
    the private problem table, then raises."""
    options = options or IngestOptions()
    headers, problems = scan_folder(dicom_dir, options.check_pixels, options.workers)
    polylines_by_uid = read_export(mdai_export, options.bac_labels) if mdai_export is not None else {}
    problems += _annotation_problems(headers, polylines_by_uid, mdai_export, options.salt)
    problems += [
        FileProblem(h.path, f"PatientID does not match subject_pattern {options.subject_pattern!r}")
        for h in headers
        if options.subject_pattern is not None and not re.search(options.subject_pattern, h.patient_id)
    ]
    problems = sorted(problems, key=lambda p: str(p.path))
    if problems and options.on_error == "raise":
        raise IngestError(problems, write_skipped(outputs.skipped, problems))
    bad_paths = {problem.path for problem in problems}
    headers = [h for h in headers if h.path not in bad_paths]
    if not headers:
        problems += [FileProblem(Path(dicom_dir), "no usable mammograms in this folder")]
        raise IngestError(problems, write_skipped(outputs.skipped, problems))

    manifest, uids, source_files = build_manifest(headers, set(polylines_by_uid), options)
    annotations = {
        image_id: polylines_by_uid[uid] for image_id, uid in zip(manifest["image_id"], uids) if uid in polylines_by_uid
    }
    skipped = problem_table(problems)
    write_outputs(outputs, manifest, source_files, annotations, skipped)
    log.info("manifest: %d images of %d subjects, %d annotated, %d skipped", len(manifest),
             manifest["subject_id"].nunique(), int(manifest["annotation"].sum()), len(skipped))
    return IngestResult(manifest, annotations, source_files, skipped)


def _annotation_problems(
    headers: list[MammogramHeader], polylines_by_uid: dict[str, list[np.ndarray]], export: Path | str | None, salt: str
) -> list[FileProblem]:
    """Annotations for images not in the folder, and polylines outside their image."""
    by_uid = {h.sop_instance_uid: h for h in headers}
    problems = [
        FileProblem(Path(export), f"annotation for an image not in the folder "
                    f"(image key {keyed_digest(salt, uid)[:12]})")
        for uid in sorted(polylines_by_uid)
        if uid not in by_uid
    ]
    for uid, polylines in polylines_by_uid.items():
        header = by_uid.get(uid)
        if header is None or not polylines:
            continue
        x, y = np.concatenate(polylines).T
        if min(x.min(), y.min()) < -1 or x.max() > header.columns or y.max() > header.rows:
            reason = (
                f"annotation vertices outside the {header.columns}x{header.rows} image "
                f"(x {x.min():.0f}..{x.max():.0f}, y {y.min():.0f}..{y.max():.0f}): an export made for other sizes?"
            )
            problems.append(FileProblem(header.path, reason))
    return problems
