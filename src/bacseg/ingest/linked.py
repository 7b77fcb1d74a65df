"""Tables keyed by what identifies a patient, re-keyed by the pseudonymous ids ingest assigned.

A breast-CT table comes keyed by the DICOM PatientID (real data and the synthetic cohort B alike), and the
synthetic truth by the DICOM file it describes. Both are joined here, once, through ingest's private
image_id -> DICOM file table, so that the analyses downstream only ever see subject_id and image_id.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bacseg.ingest.options import IngestOptions
from bacseg.ingest.pseudonyms import subject_key
from bacseg.ingest.tables import read_source_files
from bacseg.io.dicom import read_header


def subject_ids_by_patient(source_files: Path | str, manifest: Path | str, options: IngestOptions) -> dict[str, str]:
    """{subject key of the DICOM PatientID (ingest's ``subject_pattern`` applied): pseudonymous subject_id}."""
    subjects = pd.read_csv(manifest, dtype=str, keep_default_na=False).set_index("image_id")["subject_id"]
    keys = {}
    for image_id, dicom_path in read_source_files(source_files).items():
        keys[subject_key(read_header(dicom_path), options)] = subjects[image_id]
    return keys


def pseudonymise_subject_table(
    table: Path | str, source_files: Path | str, manifest: Path | str, options: IngestOptions,
    key_column: str = "patient_id",
) -> pd.DataFrame:  # fmt: skip
    """``table`` (CSV keyed by ``key_column``, a PatientID) with ``subject_id`` in place of the key.

    Every row must match an ingested subject: an unknown key stops with the table's name and the count of
    unmatched rows (never the keys themselves, which identify patients).
    """
    frame = pd.read_csv(table, dtype={key_column: str}, keep_default_na=False)
    if key_column not in frame.columns:
        raise ValueError(f"{table}: no {key_column!r} column (columns: {list(frame.columns)})")
    keys = subject_ids_by_patient(source_files, manifest, options)
    unmatched = int((~frame[key_column].isin(list(keys))).sum())
    if unmatched:
        raise ValueError(f"{table}: {unmatched} of {len(frame)} rows name a {key_column} that no ingested image has")
    subject_ids = frame.pop(key_column).map(keys)
    frame.insert(0, "subject_id", subject_ids)
    return frame.sort_values("subject_id", kind="stable").reset_index(drop=True)


def image_truth(source_files: Path | str, truth: Path | str) -> pd.DataFrame:
    """The synthetic truth table's rows of the ingested images: ``image_id`` first; the DICOM path, the patient
    ID and the UIDs dropped.

    The truth table (``synthetic.CohortOutputs.truth``) names each image by its DICOM file, relative to the
    table's folder; ``truth_mask_path`` is made absolute, so that the rows stand on their own.
    """
    truth = Path(truth)
    table = pd.read_csv(truth, dtype={"patient_id": str})
    table["dicom_path"] = [str((truth.parent / path).resolve()) for path in table["dicom_path"]]
    table["truth_mask_path"] = [str(truth.parent / path) for path in table["truth_mask_path"]]
    images = pd.DataFrame(
        [(image_id, str(Path(path).resolve())) for image_id, path in read_source_files(source_files).items()],
        columns=["image_id", "dicom_path"],
    )
    joined = images.merge(table, on="dicom_path", how="inner", validate="one_to_one")
    identifying = ["dicom_path", "patient_id", "study_instance_uid", "series_instance_uid", "sop_instance_uid"]
    return joined.drop(columns=identifying, errors="ignore").sort_values("image_id", kind="stable").reset_index(drop=True)
