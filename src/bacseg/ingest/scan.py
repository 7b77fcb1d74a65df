"""The scan of a DICOM folder: every usable image's header, and every problem, found before any work."""

from __future__ import annotations

import logging
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

from bacseg.io.dicom import DicomReadError, MammogramHeader, read_header, read_pixels

log = logging.getLogger(__name__)


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
