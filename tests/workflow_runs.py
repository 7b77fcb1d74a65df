"""Running the real Snakemake workflow from tests, into a temporary working directory (``--directory``), so the
checkout's own results/ is never touched."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SNAKEMAKE = Path(sys.executable).with_name("snakemake")
SMOKE = REPO / "workflow" / "configs" / "smoke.yaml"


def merged_config(config: Path = SMOKE) -> dict:
    """``config`` merged over config.yaml, as Snakemake merges a --configfile."""
    from snakemake.utils import update_config

    merged = yaml.safe_load((REPO / "config.yaml").read_text())
    update_config(merged, yaml.safe_load(config.read_text()))
    return merged


def snakemake(workdir: Path, *args: str, check: bool = True, config: Path = SMOKE, env: dict[str, str] | None = None,
              timeout: float = 2700) -> subprocess.CompletedProcess:  # fmt: skip
    """Snakemake on the repo's Snakefile with ``config`` over config.yaml, in ``env`` (default: this process's)."""
    command = [str(SNAKEMAKE), "--snakefile", str(REPO / "Snakefile"), "--directory", str(workdir),
               "--configfile", str(config), *args]  # fmt: skip
    env = os.environ if env is None else env
    # Notebook rules call jupyter-nbconvert/papermill from PATH: make this interpreter's tools findable.
    env = {**env, "PATH": os.pathsep.join([str(SNAKEMAKE.parent), env.get("PATH", "")])}
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env)
    if check and result.returncode != 0:
        pytest.fail(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-6000:]}")
    return result
