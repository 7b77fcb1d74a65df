"""The inputs of `bacseg quantify`: DICOM mammograms and PNG images, recognised by content, never by name.

Real archives name files and folders after patients, and name them anything (``IM-0001``, no extension,
``.dcm`` on a text file). So a file is DICOM when its preamble is followed by ``DICM`` and PNG when it
starts with the PNG signature, whatever it is called; folders are searched recursively (hidden files and
folders, and the tool's own output folders, left out). Every file found that cannot be used is returned
with the reason, which never quotes the path or a header value (reasons reach the console).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import cv2
import numpy as np

from bacseg.io.dicom import DicomReadError, read_header

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
DICOM_MAGIC_OFFSET = 128


class SourceError(ValueError):
    """An input that cannot be used; ``reason`` says why without the path, the message names the file."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


@dataclass(frozen=True)
class Source:
    """One usable input. ``key`` identifies the image (SOPInstanceUID, or the PNG's SHA-256), for ordering and
    pseudonyms only: it is never written."""

    path: Path
    kind: str  # "dicom" | "png"
    key: str
    view: str = ""
    laterality: str = ""
    pixel_spacing_mm: float | None = None


@dataclass(frozen=True)
class Skipped:
    path: Path
    reason: str
    image_id: str = ""  # set when the image failed after it got its pseudonym


def file_kind(path: Path) -> str | None:
    """"dicom", "png" or None, from the first bytes."""
    with open(path, "rb") as file:
        head = file.read(DICOM_MAGIC_OFFSET + 4)
    if head.startswith(PNG_SIGNATURE):
        return "png"
    if head[DICOM_MAGIC_OFFSET:] == b"DICM":
        return "dicom"
    return None


def open_source(path: Path | str) -> Source:
    """One file as a Source; SourceError (naming the file) when it is neither a readable DICOM image nor a PNG."""
    path = Path(path)
    if not path.is_file():
        raise SourceError(path, "no such file")
    kind = file_kind(path)
    if kind == "png":
        return Source(path, "png", hashlib.sha256(path.read_bytes()).hexdigest())
    if kind is None:
        raise SourceError(path, "neither a DICOM file (no 'DICM' preamble) nor a PNG image")
    try:
        header = read_header(path)
    except DicomReadError as error:
        raise SourceError(path, error.reason) from None
    return Source(path, "dicom", header.sop_instance_uid, header.view, header.laterality, header.pixel_spacing_mm)


def find_sources(paths: Iterable[Path | str], exclude: Iterable[Path | str] = ()) -> tuple[list[Source], list[Skipped]]:
    """Every usable input under ``paths`` (files, or folders searched recursively), each image once, and every
    file that was found but cannot be used. Files under ``exclude`` (the output folders) are not looked at."""
    excluded = [Path(folder).resolve() for folder in exclude]
    sources, skipped, keys = [], [], {}
    for path in _candidates(paths, excluded):
        try:
            source = open_source(path)
        except SourceError as error:
            skipped.append(Skipped(path, error.reason))
            continue
        if source.key in keys:
            skipped.append(Skipped(path, "the same image as another input, which is quantified once"))
            continue
        keys[source.key] = path
        sources.append(source)
    return sources, skipped


def _candidates(paths: Iterable[Path | str], excluded: list[Path]) -> list[Path]:
    """Files named, and the non-hidden files inside folders named, in order, each resolved path once."""
    found: dict[Path, Path] = {}
    for path in map(Path, paths):
        if path.is_dir():
            inside = (p for p in sorted(path.rglob("*")) if p.is_file()
                      and not any(part.startswith(".") for part in p.relative_to(path).parts))  # fmt: skip
        else:
            inside = [path]  # a missing file is reported by open_source
        for file in inside:
            resolved = file.resolve()
            if not any(resolved.is_relative_to(folder) for folder in excluded):
                found.setdefault(resolved, file)
    return list(found.values())


def read_png_grey(path: Path | str) -> np.ndarray:
    """A PNG as the authors' AutoSeg.py reads it: ``cv2.imread`` (3-channel 8-bit; OpenCV keeps the high byte
    of 16-bit PNGs) then ``cv2.COLOR_BGR2GRAY``."""
    decoded = cv2.imdecode(np.fromfile(path, dtype=np.uint8), cv2.IMREAD_COLOR)  # imread's decoder and flags
    if decoded is None:
        raise SourceError(path, "unreadable PNG image (damaged or truncated)")
    return cv2.cvtColor(decoded, cv2.COLOR_BGR2GRAY)
