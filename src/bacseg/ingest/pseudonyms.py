"""Manifest rows with pseudonymous ids, in an order that no file name influences."""

from __future__ import annotations

import hashlib
import hmac
import re

import pandas as pd

from bacseg.ingest.options import IngestOptions
from bacseg.io.dicom import MammogramHeader
from bacseg.split import assign_split

MANIFEST_COLUMNS = [
    "image_id", "subject_id", "cohort", "exam_date", "laterality", "view", "split", "annotation", "rows", "columns",
    "pixel_spacing_mm",
]  # fmt: skip


def build_manifest(
    headers: list[MammogramHeader], annotated_uids: set[str], options: IngestOptions
) -> tuple[pd.DataFrame, list[str], pd.DataFrame]:
    """One row per image with pseudonymous ids and the split, in a stable order; the rows'
    SOPInstanceUIDs (for matching annotations in memory, never written); and the private source table."""
    headers = _ordered(headers, options)
    subject_ids = _subject_ids(headers, options)
    image_ids = _image_ids(headers, subject_ids, options)
    manifest = pd.DataFrame(
        {
            "image_id": image_ids,
            "subject_id": [subject_ids[subject_key(h, options)] for h in headers],
            "cohort": options.cohort,
            "exam_date": [_iso_date(h.study_date) for h in headers],
            "laterality": [h.laterality for h in headers],
            "view": [h.view for h in headers],
            "split": "",
            "annotation": [h.sop_instance_uid in annotated_uids for h in headers],
            "rows": [h.rows for h in headers],
            "columns": [h.columns for h in headers],
            "pixel_spacing_mm": [h.pixel_spacing_mm for h in headers],
        },
        columns=MANIFEST_COLUMNS,
    )
    split_by = options.split_by if options.cohort in options.split_cohorts else "none"
    manifest["split"] = assign_split(manifest, split_by, options.val_fraction, options.seed)
    source_files = pd.DataFrame({"image_id": image_ids, "dicom_path": [str(h.path.resolve()) for h in headers]})
    return manifest, [h.sop_instance_uid for h in headers], source_files


def keyed_digest(salt: str, value: str) -> str:
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()


def subject_key(header: MammogramHeader, options: IngestOptions) -> str:
    """The subject an image belongs to: its PatientID, or the part of it ``subject_pattern`` matches."""
    if options.subject_pattern is None:
        return header.patient_id
    match = re.search(options.subject_pattern, header.patient_id)  # ingest reports files that do not match
    return match.group(1) if match.groups() else match.group(0)


def _ordered(headers: list[MammogramHeader], options: IngestOptions) -> list[MammogramHeader]:
    """A stable order independent of file names: subject (keyed digest), date, side, view, image digest."""

    def key(h: MammogramHeader):
        return (keyed_digest(options.salt, subject_key(h, options)), h.study_date, h.laterality, h.view,
                keyed_digest(options.salt, h.sop_instance_uid))

    return sorted(headers, key=key)


def _subject_ids(headers: list[MammogramHeader], options: IngestOptions) -> dict[str, str]:
    keys = list(dict.fromkeys(subject_key(h, options) for h in headers))
    if options.id_scheme == "hash":
        return {k: "S" + keyed_digest(options.salt, "subject:" + k)[:12] for k in keys}
    width = max(4, len(str(len(keys))))
    return {k: f"{options.cohort}-S{i + 1:0{width}d}" for i, k in enumerate(keys)}


def _image_ids(headers: list[MammogramHeader], subject_ids: dict[str, str], options: IngestOptions) -> list[str]:
    if options.id_scheme == "hash":
        return ["I" + keyed_digest(options.salt, "image:" + h.sop_instance_uid)[:16] for h in headers]
    counts: dict[str, int] = {}
    ids = []
    for h in headers:
        subject = subject_ids[subject_key(h, options)]
        counts[subject] = counts.get(subject, 0) + 1
        ids.append(f"{subject}-{counts[subject]:03d}")
    return ids


def _iso_date(dicom_date: str) -> str:
    return f"{dicom_date[:4]}-{dicom_date[4:6]}-{dicom_date[6:8]}" if re.fullmatch(r"\d{8}", dicom_date) else ""
