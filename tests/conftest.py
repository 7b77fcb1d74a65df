"""Shared test set-up: JAX configured as the workflow configures it, and paths to reference material."""

from pathlib import Path

import pytest

from bacseg.runtime import configure_jax

configure_jax()

REPO = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """../shared/reference: the authors' weights, parity data, reference counts, real DICOM files."""
    if not SHARED_REFERENCE.is_dir():
        pytest.fail(f"reference material not found at {SHARED_REFERENCE} (expected ../shared/reference beside the repo)")
    return SHARED_REFERENCE
