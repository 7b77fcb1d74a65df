"""Ingest settings: the config section ``ingest`` (meanings, defaults and ranges in its schema), plus the
cohort, the seed and the number of worker processes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bacseg import settings

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
