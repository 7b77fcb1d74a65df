"""The conda environments (envs/*.yaml) parse, pin exactly, and agree with requirements.lock.

`--use-conda` cannot run on machines without conda, so these checks are what keeps the envs honest:
a rule run under conda gets the very versions the tested venv has.
"""

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
ENV_FILES = sorted((REPO / "envs").glob("*.yaml"))
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)$")
CHECKOUT = "-e .."  # the bacseg package itself, editable from the checkout (envs/..)


def _lines(name: str) -> list[str]:
    return (REPO / name).read_text().splitlines()


def _lock() -> dict[str, str]:
    """The exact pins of requirements.lock and of the GPU extra's requirements-cuda.lock."""
    pins = {}
    for line in [*_lines("requirements.lock"), *_lines("requirements-cuda.lock")]:
        match = PIN.match(line.strip())
        if match:
            pins[match[1].lower()] = match[2]
    return pins


def _pip_section(env: dict) -> list[str]:
    for dep in env["dependencies"]:
        if isinstance(dep, dict) and "pip" in dep:
            return dep["pip"]
    return []


def test_there_is_an_env_per_rule_family():
    assert {p.stem for p in ENV_FILES} >= {"data", "jax", "torch", "figures"}


@pytest.mark.parametrize("env_file", ENV_FILES, ids=lambda p: p.stem)
def test_env_pins_match_the_lock(env_file):
    env = yaml.safe_load(env_file.read_text())
    assert env["name"] == f"bacseg-{env_file.stem}"
    assert "python=3.11" in env["dependencies"]
    lock = _lock()
    pip = _pip_section(env)
    assert pip and pip[-1] == CHECKOUT, f"{env_file.name}: the pip section must end with {CHECKOUT!r} (installs bacseg)"
    assert (env_file.parent / CHECKOUT.split()[-1] / "pyproject.toml").is_file()
    for spec in pip[:-1]:
        match = PIN.match(spec)
        assert match, f"{env_file.name}: {spec!r} is not pinned with =="
        name, version = match[1].lower(), match[2]
        assert lock.get(name) == version, f"{env_file.name}: {spec} but requirements.lock has {lock.get(name)}"


def test_every_rule_names_an_existing_env():
    """Every rule that runs code has a conda: env, each env named exists, every env is used.

    The JAX rules name theirs through ``jax_env()`` (common.smk), which picks envs/jax.yaml or jax_cuda.yaml.
    """
    rule_files = sorted((REPO / "workflow" / "rules").glob("*.smk"))
    named = set()
    for rule_file in rule_files:
        text = rule_file.read_text()
        for env in re.findall(r'"(\.\./\.\./envs/[^"]+)"', text):
            path = (rule_file.parent / env).resolve()
            assert path.is_file(), f"{rule_file.name} names {env}, which does not exist"
            named.add(path.stem)
        for block in re.split(r"^rule ", text, flags=re.M)[1:]:
            runs_code = re.search(r"^    (script|notebook|shell|run):", block, flags=re.M)
            assert not runs_code or "    conda:" in block, f"{rule_file.name}: rule {block.split(':')[0]} has no conda: env"
    assert named == {p.stem for p in ENV_FILES}, "an env is unused or a rule family has none"
