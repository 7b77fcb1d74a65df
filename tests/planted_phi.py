"""Finding identifying values where they must not be: in any file's name or readable content under a folder.

Readable content is the file's bytes as text and, for PDFs, the text the pages draw: matplotlib writes it in
compressed content streams, so a raw grep would miss a patient name in a figure title.
"""

import re
import zlib
from pathlib import Path

import pydicom

PDF_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
PDF_TEXT = re.compile(rb"\[(?:\\.|[^\]\\])*\]\s*TJ|\((?:\\.|[^\\)])*\)\s*Tj", re.S)
PDF_STRING = re.compile(rb"\(((?:\\.|[^\\)])*)\)")


def pdf_text(data: bytes) -> str:
    """The strings a PDF's (Flate-compressed or plain) content streams draw, one per text operator."""
    drawn = []
    for stream in PDF_STREAM.finditer(data):
        content = stream.group(1).rstrip(b"\r\n")
        try:
            content = zlib.decompress(content)
        except zlib.error:
            pass
        if b"BT" not in content:  # not a page's text (an image, a font)
            continue
        drawn += [b"".join(PDF_STRING.findall(op.group(0))).decode("latin-1") for op in PDF_TEXT.finditer(content)]
    return "\n".join(drawn)


MARKER_CHARS = rb"0-9A-Za-z^_\-"  # what names, IDs, dates and folder names of the archives here are made of


def words(path: Path, shortest: int) -> str:
    """The distinct runs of marker characters (at least ``shortest`` long) a reader of ``path`` could see, one per
    line: in its bytes (tables, logs, notebooks, HTML, JSON, PNG text chunks, checkpoints) and, for a PDF, in the text
    its pages draw. A marker occurs in the file only inside such a run, so searching the runs finds every occurrence,
    in a fraction of the time a search of every file's bytes for every marker takes."""
    data = path.read_bytes()
    if path.suffix.lower() == ".pdf":
        data += b"\n" + pdf_text(data).encode("latin-1", errors="ignore")
    return "\n".join({run.decode("ascii") for run in re.findall(rb"[%s]{%d,}" % (MARKER_CHARS, shortest), data)})


def marker_pattern(marker: str) -> re.Pattern:
    """``marker`` anywhere; a number (an ID, a birth date) only where no digit adjoins it, so that the digits of a
    measured value cannot match by chance."""
    if not re.fullmatch(rb"[%s]+" % MARKER_CHARS, marker.encode()):
        raise ValueError(f"marker {marker!r}: only ASCII letters, digits, ^, _ and - are searched for")
    pattern = re.escape(marker)
    return re.compile(rf"(?<!\d){pattern}(?!\d)" if marker.isdigit() else pattern)


def leaks(folder: Path, markers) -> list[str]:
    """'path: marker' for every marker in the path (below ``folder``) or readable content of a file under it."""
    patterns = {marker: marker_pattern(marker) for marker in markers}
    shortest = min(map(len, patterns))
    found = []
    for path in sorted(folder.rglob("*")):
        seen = str(path.relative_to(folder)) + "\n" + (words(path, shortest) if path.is_file() else "")
        found += [f"{path.relative_to(folder)}: {marker}" for marker, pattern in patterns.items()
                  if marker in seen and pattern.search(seen)]  # fmt: skip
    return found


def archive_identifiers(archive: Path) -> set[str]:
    """The identifying values of a DICOM archive: each file's PatientName (whole and by component), PatientID,
    PatientBirthDate (also as ISO date) and OtherPatientIDs, and the names of the folders between ``archive`` and
    the file (named after the patient and the exam)."""
    values = set()
    for path in sorted(archive.rglob("*.dcm")):
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        birth = str(ds.PatientBirthDate)
        values |= {str(ds.PatientName), str(ds.PatientID), birth, str(ds.OtherPatientIDs), *ds.PatientName.components}
        values |= {f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"} if len(birth) == 8 else set()
        values |= {folder.name for folder in path.relative_to(archive).parents if folder.name}
    values.discard("")
    return values


def synthetic_run_identifiers(results: Path) -> set[str]:
    """The identifying values of a synthetic workflow run's archives (private/synthetic/<cohort>/dicom beside its
    results/), every cohort's."""
    archives = sorted((results.parent / "private" / "synthetic").glob("*/dicom"))
    assert archives, f"no synthetic archive beside {results}"
    return set().union(*map(archive_identifiers, archives))
