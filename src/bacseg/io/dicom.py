"""Mammography DICOM in and out.

Reading returns pixels oriented as MONOCHROME2 (bright = dense tissue), so every later step sees
one convention whatever the file said. Writing produces valid Digital Mammography X-Ray Image
(MG) files for the synthetic cohorts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass(frozen=True)
class MammogramHeader:
    """The header fields the workflow uses. Identifying fields stay here, never in outputs."""

    path: Path
    patient_id: str
    study_date: str  # YYYYMMDD, "" when absent
    laterality: str  # "L" | "R" | ""
    view: str  # "CC" | "MLO" | other ViewPosition, "" when absent
    rows: int
    columns: int
    pixel_spacing_mm: float | None
    photometric: str  # MONOCHROME1 | MONOCHROME2
    bits_stored: int
    study_uid: str
    series_uid: str
    sop_instance_uid: str


class DicomReadError(ValueError):
    """A file that is not a readable mammogram; the message names the file and the reason."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def read_header(path: Path | str) -> MammogramHeader:
    """Header only (no pixel decoding): fast enough to scan a whole folder before work starts."""
    raise NotImplementedError


def read_pixels(path: Path | str) -> tuple[MammogramHeader, np.ndarray]:
    """Header and pixels as float32 in MONOCHROME2 orientation (MONOCHROME1 inverted, VOI not applied)."""
    raise NotImplementedError


def write_mammogram(path: Path | str, pixels: np.ndarray, header: MammogramHeader, **extra) -> None:
    """Write an MG DICOM file (uint16 stored values) from ``pixels`` and header fields."""
    raise NotImplementedError
