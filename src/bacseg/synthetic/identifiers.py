"""Deterministic randomness and identities: same seed, same subjects, same UIDs, same bytes.

Every random stream is keyed by what it is for (cohort, subject, breast, exam, image), so adding a
subject or generating images in another order or process changes nothing else.
"""

from __future__ import annotations

import uuid

import numpy as np

COHORT_INDEX = {"A": 0, "B": 1, "C": 2}


def rng_for(seed: int, *keys: int) -> np.random.Generator:
    """An independent generator for the stream named by ``keys`` under ``seed``."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(int(k) for k in keys)))


_UID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "bacseg/synthetic")


def uid_for(seed: int, *parts: object) -> str:
    """A DICOM UID in the UUID-derived 2.25 form, from a name-based UUID of ``seed`` and ``parts``: stable,
    and unique per distinct parts. (pydicom's generate_uid ignores its entropy sources in this form.)"""
    name = "/".join(map(str, (seed, *parts)))
    return f"2.25.{uuid.uuid5(_UID_NAMESPACE, name).int}"


def patient_id(cohort: str, subject: int) -> str:
    return f"SYN-{cohort}-{subject + 1:04d}"


def patient_name(cohort: str, subject: int) -> str:
    return f"SYNTHETIC^{cohort}{subject + 1:04d}"


def other_patient_id(cohort: str, subject: int) -> str:
    """A second identifier, as hospitals keep (OtherPatientIDs: an MRN of another site)."""
    return f"MRN{COHORT_INDEX[cohort]}{subject + 1:06d}"
