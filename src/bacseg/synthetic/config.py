"""Settings of a synthetic cohort: one cohort's section of the workflow config (``synthetic.A``, ...).

Every key is optional; its meaning, per-cohort default and range are in the config schema
(bacseg.settings). Here: the typed record, and the checks that relate two values of a key.
"""

from __future__ import annotations

from dataclasses import dataclass

from bacseg import settings

COHORTS = ("A", "B", "C")
MIN_MAX_KEYS = ("images_per_subject", "exams_per_subject", "burden_range", "burden_growth_per_year",
                "magnification_range", "chest_wall_offset_range")  # fmt: skip


@dataclass(frozen=True)
class CohortConfig:
    n_subjects: int
    images_per_subject: tuple[int, int]
    exams_per_subject: tuple[int, int]
    scale: float
    large_detector_fraction: float
    bits_stored: tuple[int, ...]
    monochrome1_fraction: float
    bac_fraction: float
    burden_range: tuple[float, float]
    burden_growth_per_year: tuple[float, float]
    lookalike_fraction: float
    annotated_fraction: float
    magnification_range: tuple[float, float]
    chest_wall_offset_range: tuple[float, float]
    ct_voxel_mm: float
    ct_relative_noise: float

    @classmethod
    def from_dict(cls, cohort: str, config: dict | None) -> CohortConfig:
        """Defaults for ``cohort`` overridden by ``config``; raises ValueError naming a bad key or value."""
        if cohort not in COHORTS:
            raise settings.SettingsError(f"synthetic cohort must be one of {COHORTS}, got {cohort!r}")
        values = settings.as_fields(settings.resolve(f"synthetic.{cohort}", config))
        for key in MIN_MAX_KEYS:
            if values[key][0] > values[key][1]:
                raise settings.SettingsError(f"synthetic.{cohort}.{key}: [min, max] needs min <= max: {values[key]}")
        return cls(**values)
