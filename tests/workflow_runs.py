"""Running the real Snakemake workflow from tests, into a temporary working directory (``--directory``), so the
checkout's own results/ is never touched."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
SMOKE = REPO / "workflow" / "configs" / "smoke.yaml"


def snakemake(workdir: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(SMOKE), *args]
    # Notebook rules call jupyter-nbconvert/papermill from PATH: make this interpreter's tools findable.
    env = {**os.environ, "PATH": os.pathsep.join([str(SNAKEMAKE.parent), os.environ.get("PATH", "")])}
    result = subprocess.run(command, capture_output=True, text=True, timeout=1500, env=env)
    if check and result.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result
