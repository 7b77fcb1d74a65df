"""Shared test set-up: JAX configured as the workflow configures it, paths to reference material, and the one smoke
run of the whole DAG that every test needing it shares."""

from pathlib import Path

import pytest

from bacseg.runtime import configure_jax
from workflow_runs import snakemake

configure_jax()

REPO = Path(__file__).resolve().parents[1]
SHARED_REFERENCE = REPO.parent / "shared" / "reference"


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """../shared/reference: the authors' weights, parity data, reference counts, real DICOM files."""
    if not SHARED_REFERENCE.is_dir():
        pytest.fail(f"reference material not found at {SHARED_REFERENCE} (expected ../shared/reference beside the repo)")
    return SHARED_REFERENCE


@pytest.fixture(scope="session")
def smoke_run(tmp_path_factory) -> Path:
    """results/ of the smoke config's whole DAG, run locally on 2 cores in a temporary working directory."""
    workdir = tmp_path_factory.mktemp("smoke")
    snakemake(workdir, "--cores", "2", "all")
    return workdir / "results"
