"""Settings of a synthetic cohort: the keys of one cohort's section of the workflow config.

Every key is optional; the defaults give a cohort sized for a 2-core CPU at a quarter of the paper's
image size. A misspelt key or an impossible value is an error that names it.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

# key: (meaning, default for A, B, C)
# fmt: off
KEYS = {
    "n_subjects": ("number of subjects (paper: A 216, B 10, C 26)", (24, 10, 5)),
    "images_per_subject": ("[min, max] views per subject drawn from one exam's four (A only)",
                           ([2, 4], [4, 4], [4, 4])),
    "exams_per_subject": ("[min, max] yearly exams per subject (C only; A and B have one)", ([1, 1], [1, 1], [5, 12])),
    "scale": ("image size relative to the paper's 4096x3328 / 3328x2560 at 0.07 mm", (0.25, 0.25, 0.25)),
    "large_detector_fraction": ("fraction of exams on the 4096x3328 detector (else 3328x2560)", (0.6, 0.6, 0.6)),
    "bits_stored": ("stored bit depths, one drawn per exam", ([12, 14], [12, 14], [12, 14])),
    "monochrome1_fraction": ("fraction of exams stored MONOCHROME1 (inverted)", (0.2, 0.2, 0.2)),
    "bac_fraction": ("fraction of subjects with breast arterial calcification", (0.8, 1.0, 1.0)),
    "burden_range": ("[min, max] calcified fraction of arterial length of a subject with BAC (C: at the first exam)",
                     ([0.03, 0.6], [0.03, 0.6], [0.08, 0.25])),
    "burden_growth_per_year": ("[min, max] yearly growth of that fraction (C only)",
                               ([0.0, 0.0], [0.0, 0.0], [0.01, 0.03])),
    "lookalike_fraction": ("fraction of breasts with benign look-alike calcifications", (0.5, 0.5, 0.5)),
    "annotated_fraction": ("fraction of images in the MD.ai export", (0.9, 1.0, 1.0)),
    "magnification_range": ("[min, max] per-image magnification (positioning, compression)",
                            ([0.92, 1.12], [0.92, 1.12], [0.85, 1.15])),
    "chest_wall_offset_range": ("[min, max] fraction of the breast left outside the field",
                                ([0.0, 0.12], [0.0, 0.12], [0.0, 0.08])),
    "ct_voxel_mm": ("breast-CT voxel edge, for the calcified voxel count (B only)", (0.3, 0.3, 0.3)),
    "ct_relative_noise": ("relative SD of the breast-CT measurements (B only)", (0.1, 0.1, 0.1)),
}
# fmt: on
_FRACTIONS = ("large_detector_fraction", "monochrome1_fraction", "bac_fraction", "lookalike_fraction",
              "annotated_fraction")
_COHORTS = ("A", "B", "C")


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
    def from_dict(cls, cohort: str, config: dict | None) -> "CohortConfig":
        """Defaults for ``cohort`` overridden by ``config``; raises ValueError naming a bad key or value."""
        if cohort not in _COHORTS:
            raise ValueError(f"cohort must be one of {_COHORTS}, got {cohort!r}")
        config = dict(config or {})
        unknown = sorted(set(config) - set(KEYS))
        if unknown:
            raise ValueError(f"synthetic cohort {cohort}: unknown key(s) {unknown}; known: {sorted(KEYS)}")
        values = {key: config.get(key, defaults[_COHORTS.index(cohort)]) for key, (_, defaults) in KEYS.items()}
        values = {f.name: _as_field(cohort, f.name, values[f.name], f.type) for f in fields(cls)}
        settings = cls(**values)
        settings._validate(cohort)
        return settings

    def _validate(self, cohort: str) -> None:
        def fail(key: str, problem: str):
            raise ValueError(f"synthetic cohort {cohort}: {key} = {getattr(self, key)!r} {problem}")

        if self.n_subjects < 1:
            fail("n_subjects", "must be >= 1")
        for key in ("images_per_subject", "exams_per_subject"):
            low, high = getattr(self, key)
            if not 1 <= low <= high:
                fail(key, "must be [min, max] with 1 <= min <= max")
        if self.images_per_subject[1] > 4:
            fail("images_per_subject", "cannot exceed the 4 views of an exam")
        if not 0 < self.scale <= 1:
            fail("scale", "must be in (0, 1]")
        if not self.bits_stored or any(b not in (10, 12, 14, 16) for b in self.bits_stored):
            fail("bits_stored", "must list bit depths among 10, 12, 14, 16")
        for key in _FRACTIONS:
            if not 0 <= getattr(self, key) <= 1:
                fail(key, "must be a fraction in [0, 1]")
        for key, low_limit, high_limit in (
            ("burden_range", 0, 1),
            ("burden_growth_per_year", 0, 1),
            ("magnification_range", 0.5, 2),
            ("chest_wall_offset_range", 0, 0.5),
        ):
            low, high = getattr(self, key)
            if not low_limit <= low <= high <= high_limit:
                fail(key, f"must be [min, max] within [{low_limit}, {high_limit}]")
        if self.ct_voxel_mm <= 0 or self.ct_relative_noise < 0:
            fail("ct_voxel_mm" if self.ct_voxel_mm <= 0 else "ct_relative_noise", "must be positive")


def _as_field(cohort: str, key: str, value, kind: str):
    """Coerce a JSON/YAML value to the field's type (lists become tuples); a pair must have two items."""
    element = float if "float" in kind else int
    try:
        if kind.startswith("tuple"):
            items = tuple(_exact(element, v) for v in value)
            if kind.count(",") == 1 and "..." not in kind and len(items) != 2:
                raise ValueError
            return items
        return _exact(element, value)
    except (TypeError, ValueError):
        raise ValueError(f"synthetic cohort {cohort}: {key} = {value!r} is not a valid {kind}") from None


def _exact(element: type, value):
    """``element(value)``, refusing strings, booleans and integers that would lose a fraction."""
    if isinstance(value, (str, bool)) or (element is int and float(value) != int(value)):
        raise ValueError
    return element(value)
