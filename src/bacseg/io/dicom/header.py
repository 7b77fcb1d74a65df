"""The mammogram header fields that reading returns and writing takes."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
