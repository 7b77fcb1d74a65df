"""Ingest settings: the config section ``ingest`` (meanings, defaults and ranges in its schema), plus the
cohort, the seed and the number of worker processes."""

from __future__ import annotations

import re
from dataclasses import dataclass

from bacseg import settings


@dataclass(frozen=True)
@settings.schema_defaults("ingest")
class IngestOptions:
    """How images become manifest rows: the config section ``ingest`` (meanings, defaults and ranges in its
    schema), plus the cohort, the seed and the number of worker processes."""

    cohort: str = "A"
    id_scheme: str
    salt: str
    subject_pattern: str | None  # match (group 1 if any) in PatientID
    split_by: str
    split_cohorts: tuple[str, ...]  # the others are all "test"
    val_fraction: float
    seed: int = 0
    on_error: str
    check_pixels: bool
    workers: int = 1
    bac_labels: tuple[str, ...]

    def __post_init__(self):
        settings.resolve("ingest", {key: getattr(self, key) for key in settings.section_defaults("ingest")})
        if self.id_scheme == "hash" and not self.salt:
            raise ValueError("id_scheme 'hash' needs a secret salt: an unkeyed hash of a PatientID can be reversed")
        if self.subject_pattern is not None:
            re.compile(self.subject_pattern)

    @classmethod
    def from_mapping(cls, mapping: dict | None, cohort: str = "A", seed: int = 0, workers: int = 1) -> "IngestOptions":
        """From the config section ``ingest``; an unknown key or bad value is an error naming it."""
        return cls(cohort=cohort, seed=seed, workers=workers, **settings.as_fields(settings.resolve("ingest", mapping)))
