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
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from bacseg import settings
from bacseg.io.dicom import DicomReadError, MammogramHeader, read_header, read_pixels
from bacseg.io.mdai import read_export
from bacseg.split import assign_split

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = [
    "image_id", "subject_id", "cohort", "exam_date", "laterality", "view", "split", "annotation", "rows", "columns",
    "pixel_spacing_mm",
]  # fmt: skip
SOURCE_FILES_COLUMNS = ["image_id", "dicom_path"]
SKIPPED_COLUMNS = ["path", "reason"]


@dataclass(frozen=True)
class FileProblem:
    """A file that cannot be used, and why (the reason never quotes identifying header values)."""

    path: Path
    reason: str


class IngestError(ValueError):
    """Every problem found in the scan, one per line, by its row in the private problem table (no paths:
    the message reaches logs)."""

    def __init__(self, problems: list[FileProblem], listed_in: Path | None = None):
        listing = "\n".join(f"  {row}: {problem.reason}" for row, problem in enumerate(problems, 1))
        where = f"{listed_in} (private: file paths may name patients)" if listed_in else "the private problem table"
        super().__init__(
            f"{len(problems)} problem(s) found before ingest (fix them, or use on_error='skip'); the files are "
            f"listed, by the row numbers below, in {where}:\n{listing}"
        )
        self.problems = problems


@dataclass(frozen=True)
class IngestOutputs:
    """Where ingest writes: two shareable files and two private ones (paths that may identify patients)."""

    manifest: Path
    annotations: Path
    source_files: Path  # private: image_id -> original DICOM file
    skipped: Path  # private: files left out, with their paths and reasons

    @classmethod
    def in_folders(cls, out_dir: Path | str, private_dir: Path | str) -> IngestOutputs:
        """The CLI's layout: the shareable files in ``out_dir``, the private ones in ``private_dir``."""
        out_dir, private_dir = Path(out_dir), Path(private_dir)
        return cls(out_dir / "manifest.csv", out_dir / "annotations.json", private_dir / "source_files.csv",
                   private_dir / "skipped.csv")  # fmt: skip


_DEFAULTS = settings.section_defaults("ingest")


@dataclass(frozen=True)
class IngestOptions:
    """How images become manifest rows: the config section ``ingest`` (meanings and ranges in its schema),
    plus the cohort, the seed and the number of worker processes."""

    cohort: str = "A"
    id_scheme: str = _DEFAULTS["id_scheme"]
    salt: str = _DEFAULTS["salt"]
    subject_pattern: str | None = _DEFAULTS["subject_pattern"]  # match (group 1 if any) in PatientID
    split_by: str = _DEFAULTS["split_by"]
    split_cohorts: tuple[str, ...] = tuple(_DEFAULTS["split_cohorts"])  # the others are all "test"
    val_fraction: float = _DEFAULTS["val_fraction"]
    seed: int = 0
    on_error: str = _DEFAULTS["on_error"]
    check_pixels: bool = _DEFAULTS["check_pixels"]
    workers: int = 1
    bac_labels: tuple[str, ...] = tuple(_DEFAULTS["bac_labels"])

    def __post_init__(self):
        settings.resolve("ingest", {key: getattr(self, key) for key in _DEFAULTS})
        if self.id_scheme == "hash" and not self.salt:
            raise ValueError("id_scheme 'hash' needs a secret salt: an unkeyed hash of a PatientID can be reversed")
        if self.subject_pattern is not None:
            re.compile(self.subject_pattern)

    @classmethod
    def from_mapping(cls, mapping: dict | None, cohort: str = "A", seed: int = 0, workers: int = 1) -> "IngestOptions":
        """From the config section ``ingest``; an unknown key or bad value is an error naming it."""
        values = settings.resolve("ingest", mapping)
        values.update(bac_labels=tuple(values["bac_labels"]), split_cohorts=tuple(values["split_cohorts"]))
        return cls(cohort=cohort, seed=seed, workers=workers, **values)


@dataclass(frozen=True)
class IngestResult:
    manifest: pd.DataFrame
    annotations: dict[str, list[np.ndarray]]  # image_id -> BAC polylines; annotated images only
    source_files: pd.DataFrame  # private: image_id, dicom_path
    skipped: pd.DataFrame  # private: path, reason


def scan_folder(
    folder: Path | str, check_pixels: bool = True, workers: int = 1
) -> tuple[list[MammogramHeader], list[FileProblem]]:
    """Headers of every usable image under ``folder`` (recursively; hidden files ignored) and every problem.

    With ``check_pixels`` each image is also decoded, in ``workers`` processes, so that a file that
    reads but does not decode is found now rather than halfway through preprocessing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: DICOM folder not found")
    paths = sorted(
        p
        for p in folder.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
    headers, problems = [], []
    for path in paths:
        try:
            headers.append(read_header(path))
        except DicomReadError as error:
            problems.append(FileProblem(path, error.reason))
    if check_pixels and headers:
        decode_problems = _decode_all([h.path for h in headers], workers)
        bad = {problem.path for problem in decode_problems}
        headers = [h for h in headers if h.path not in bad]
        problems += decode_problems
    headers, duplicates = _drop_duplicates(headers)
    problems += duplicates
    anonymous = [h for h in headers if not h.patient_id]
    problems += [FileProblem(h.path, "no PatientID: cannot tell whose image it is") for h in anonymous]
    headers = [h for h in headers if h.patient_id]
    log.info("scanned %d files: %d usable images, %d problems", len(paths), len(headers), len(problems))
    return headers, sorted(problems, key=lambda p: str(p.path))


def _decode_all(paths: list[Path], workers: int) -> list[FileProblem]:
    if workers > 1 and len(paths) > 1:
        with ProcessPoolExecutor(min(workers, len(paths)), mp_context=get_context("spawn")) as pool:
            outcomes = list(pool.map(_decode_problem, paths, chunksize=4))
    else:
        outcomes = [_decode_problem(path) for path in paths]
    return [outcome for outcome in outcomes if outcome is not None]


def _decode_problem(path: Path) -> FileProblem | None:
    try:
        read_pixels(path)
    except DicomReadError as error:
        return FileProblem(path, error.reason)
    return None


def _drop_duplicates(headers: list[MammogramHeader]) -> tuple[list[MammogramHeader], list[FileProblem]]:
    """Keep the first file of each SOPInstanceUID; the others are problems naming the kept file."""
    kept: dict[str, MammogramHeader] = {}
    problems = []
    for header in headers:
        first = kept.setdefault(header.sop_instance_uid, header)
        if first is not header:
            problems.append(FileProblem(header.path, "same SOPInstanceUID as another file (the first one is kept)"))
    return list(kept.values()), problems


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
    skipped = _problem_table(problems)
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
        FileProblem(Path(export), f"annotation for an image not in the folder (image key {_digest(salt, uid)[:12]})")
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
            "subject_id": [subject_ids[_subject_key(h, options)] for h in headers],
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


def _digest(salt: str, value: str) -> str:
    return hmac.new(salt.encode(), value.encode(), hashlib.sha256).hexdigest()


def _subject_key(header: MammogramHeader, options: IngestOptions) -> str:
    if options.subject_pattern is None:
        return header.patient_id
    match = re.search(options.subject_pattern, header.patient_id)  # ingest reports files that do not match
    return match.group(1) if match.groups() else match.group(0)


def _ordered(headers: list[MammogramHeader], options: IngestOptions) -> list[MammogramHeader]:
    """A stable order independent of file names: subject (keyed digest), date, side, view, image digest."""

    def key(h: MammogramHeader):
        return (_digest(options.salt, _subject_key(h, options)), h.study_date, h.laterality, h.view,
                _digest(options.salt, h.sop_instance_uid))

    return sorted(headers, key=key)


def _subject_ids(headers: list[MammogramHeader], options: IngestOptions) -> dict[str, str]:
    keys = list(dict.fromkeys(_subject_key(h, options) for h in headers))
    if options.id_scheme == "hash":
        return {k: "S" + _digest(options.salt, "subject:" + k)[:12] for k in keys}
    width = max(4, len(str(len(keys))))
    return {k: f"{options.cohort}-S{i + 1:0{width}d}" for i, k in enumerate(keys)}


def _image_ids(headers: list[MammogramHeader], subject_ids: dict[str, str], options: IngestOptions) -> list[str]:
    if options.id_scheme == "hash":
        return ["I" + _digest(options.salt, "image:" + h.sop_instance_uid)[:16] for h in headers]
    counts: dict[str, int] = {}
    ids = []
    for h in headers:
        subject = subject_ids[_subject_key(h, options)]
        counts[subject] = counts.get(subject, 0) + 1
        ids.append(f"{subject}-{counts[subject]:03d}")
    return ids


def _iso_date(dicom_date: str) -> str:
    return f"{dicom_date[:4]}-{dicom_date[4:6]}-{dicom_date[6:8]}" if re.fullmatch(r"\d{8}", dicom_date) else ""


def portable_polylines(polylines: list[np.ndarray]) -> list[list[list[float]]]:
    """Polylines as written to the annotation table (JSON lists, vertices rounded to 1/1000 pixel)."""
    return [np.round(line, 3).tolist() for line in polylines]


def write_outputs(
    outputs: IngestOutputs,
    manifest: pd.DataFrame,
    source_files: pd.DataFrame,
    annotations: dict[str, list[np.ndarray]],
    skipped: pd.DataFrame,
) -> None:
    for path in (outputs.manifest, outputs.annotations, outputs.source_files, outputs.skipped):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    manifest.to_csv(outputs.manifest, index=False)
    serialisable = {image_id: portable_polylines(lines) for image_id, lines in annotations.items()}
    Path(outputs.annotations).write_text(json.dumps(serialisable) + "\n")
    source_files.to_csv(outputs.source_files, index=False)
    skipped.to_csv(outputs.skipped, index=False)


def write_skipped(path: Path | str, problems: list[FileProblem]) -> Path:
    """The private problem table alone (ingest stops before anything else is written)."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    _problem_table(problems).to_csv(path, index=False)
    return Path(path)


def read_source_files(path: Path | str) -> dict[str, str]:
    """The private table ingest wrote: image_id -> original DICOM file."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(table.columns) != SOURCE_FILES_COLUMNS:
        raise ValueError(f"{path}: not a source-file table (columns {SOURCE_FILES_COLUMNS}, got {list(table.columns)})")
    return dict(zip(table["image_id"], table["dicom_path"]))


def _problem_table(problems: list[FileProblem]) -> pd.DataFrame:
    return pd.DataFrame([{"path": str(p.path), "reason": p.reason} for p in problems], columns=SKIPPED_COLUMNS)
