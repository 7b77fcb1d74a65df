"""What produced a result: package versions, code revision, machine and the config, for every output."""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "bacseg", "numpy", "scipy", "scikit-image", "pandas", "pydicom", "jax", "jaxlib", "flax", "optax",
    "orbax-checkpoint", "torch", "matplotlib", "seaborn", "snakemake",
)


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages results depend on (None where absent)."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision(repo: Path | None = None) -> str | None:
    """The checkout's commit, with ``-dirty`` when it has uncommitted changes; None outside git."""
    repo = repo or Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=repo, capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return rev.stdout.strip() or None


def config_digest(config: dict[str, Any]) -> str:
    """A short, stable hash of the config, to tell at a glance whether two results share one."""
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()[:16]


def shareable_config(config: dict[str, Any]) -> dict[str, Any]:
    """``config`` with the paths to the user's data (``data.cohorts``, ``data.private_dir``) hidden: archive folders
    often name patients, and provenance travels with the results. The digest still tells configs apart."""
    data = dict(config.get("data", {}))
    if "private_dir" in data:
        data["private_dir"] = "<path>"
    data["cohorts"] = {cohort: {key: "<path>" for key in files} for cohort, files in data.get("cohorts", {}).items()}
    return {**config, "data": data} if "data" in config else dict(config)


def provenance(config: dict[str, Any] | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "revision": git_revision(),
        "python": platform.python_version(),
        "machine": f"{platform.machine()} {platform.processor() or platform.system()}",
        "packages": package_versions(),
    }
    if config is not None:
        record["config_digest"] = config_digest(config)
        record["config"] = shareable_config(config)
    return record
