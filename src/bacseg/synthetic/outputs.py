"""Where a synthetic cohort is written: each output at the path its caller names (the workflow's declared
outputs, or the one-folder layout of ``bacseg synth --out DIR``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

BREAST_CT_COLUMNS = ["patient_id", "ct_calcified_voxels", "ct_calcium_mass_mg"]


@dataclass(frozen=True)
class CohortOutputs:
    """The DICOM tree, the MD.ai export, the truth-mask tree and the two tables of one cohort.

    ``breast_ct`` is written for every cohort, so that each cohort has the same outputs: cohort B's CT
    measurements, a header-only table for A and C (they have no breast CT). The truth table's
    ``dicom_path`` and ``truth_mask_path`` are relative to the truth table's folder (``relative_to_truth``).
    """

    dicom_dir: Path
    annotations: Path
    truth_masks: Path
    truth: Path
    breast_ct: Path

    def __post_init__(self):
        for name in ("dicom_dir", "annotations", "truth_masks", "truth", "breast_ct"):
            object.__setattr__(self, name, Path(getattr(self, name)))

    @classmethod
    def in_folder(cls, out_dir: Path | str) -> CohortOutputs:
        """The CLI's layout, the workflow's too: dicom/, truth_masks/, annotations.json, truth.csv, breast_ct.csv."""
        out_dir = Path(out_dir)
        return cls(out_dir / "dicom", out_dir / "annotations.json", out_dir / "truth_masks", out_dir / "truth.csv",
                   out_dir / "breast_ct.csv")  # fmt: skip

    def relative_to_truth(self, path: Path) -> str:
        """``path`` as the truth table records it: relative to the table's folder, with forward slashes."""
        return Path(os.path.relpath(path, self.truth.parent)).as_posix()
