"""What ingest writes: the shareable manifest and annotation table, and the two private tables
(image_id -> original DICOM file; files left out, with their paths), each at a path its caller names."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from bacseg.ingest.scan import FileProblem

SOURCE_FILES_COLUMNS = ["image_id", "dicom_path"]
SKIPPED_COLUMNS = ["path", "reason"]


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
    problem_table(problems).to_csv(path, index=False)
    return Path(path)


def read_source_files(path: Path | str) -> dict[str, str]:
    """The private table ingest wrote: image_id -> original DICOM file."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(table.columns) != SOURCE_FILES_COLUMNS:
        raise ValueError(f"{path}: not a source-file table (columns {SOURCE_FILES_COLUMNS}, got {list(table.columns)})")
    return dict(zip(table["image_id"], table["dicom_path"]))


def problem_table(problems: list[FileProblem]) -> pd.DataFrame:
    return pd.DataFrame([{"path": str(p.path), "reason": p.reason} for p in problems], columns=SKIPPED_COLUMNS)
