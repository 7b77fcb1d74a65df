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


# The slow checks, marked and counted: every test on a whole-DAG run is `slow` (so `-m "not slow"` is the quick
# suite), and the end of each session says how many slow tests ran and how long they took, setup (where the shared
# DAG runs happen) included.
WHOLE_DAG_RUNS = {"smoke_run", "slurm_run"}
_seconds = {"slow": [0, 0.0], "other": [0, 0.0]}


def pytest_collection_modifyitems(items):
    for item in items:
        if WHOLE_DAG_RUNS & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


def pytest_runtest_logreport(report):
    kind = "slow" if "slow" in report.keywords else "other"
    _seconds[kind][1] += report.duration
    _seconds[kind][0] += report.when == "call"


def pytest_terminal_summary(terminalreporter):
    (slow, slow_s), (other, other_s) = _seconds["slow"], _seconds["other"]
    terminalreporter.write_sep("=", "slow checks")
    terminalreporter.write_line(f"{slow} slow tests took {slow_s:.0f} s; the other {other} tests {other_s:.0f} s")
