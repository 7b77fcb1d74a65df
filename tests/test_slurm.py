"""The workflow on a real SLURM cluster through the shipped profile (profiles/slurm).

A single-node cluster (tests/slurm_cluster.py: munged, slurmctld, slurmd from a scratch folder) runs the smoke DAG,
every stage and all 13 networks, each job an sbatch job found finished through squeue, with no account and no
GPU (the cluster has no GRES, so one `--gpus` would fail the submission). Its outputs must equal the local smoke run's.
Needs root and Debian's slurm-wlm and munge (`make test` installs them through tests/setup_slurm.sh): skipped with
the reason elsewhere, failed in CI (environment variable CI set).
"""

import os
import re

import pandas as pd
import pytest

from planted_phi import leaks, synthetic_run_identifiers
from slurm_cluster import cannot_run_reason, single_node_cluster
from workflow_runs import REPO, SMOKE, snakemake

SLURM_PROFILE = REPO / "profiles" / "slurm"
PAPER = REPO / "workflow" / "configs" / "paper.yaml"
GPU_RULES = {"train", "predict"}
# Each job gets the local run's threads (its --cores 2: rules using a whole machine take 2), and the node offers
# twice the machine's 2 cores so that two such jobs run at once: one job's start (a Snakemake process) and its wait
# for the next status check overlap the other's compute. Status polled from 1 s on (the profile's 5-10 s, growing
# by 10 s a check while nothing finishes, would idle the 75 short jobs for many minutes).
CLUSTER_CPUS = 4
# The job logs are kept (the plugin deletes a successful job's log) so that the identifier search can read them.
CLUSTER_ARGS = ("--cores", str(CLUSTER_CPUS), "--max-threads", "2", "--slurm-keep-successful-logs",
                "--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1")  # fmt: skip

# What the pipeline computes deterministically, compared byte for byte.
IDENTICAL = (
    "data/*/manifest.csv",
    "preprocessed/*/preprocessed.csv",
    "preprocessed/*/*/*.png",
    "patches/index.csv",
    "predictions/*/*/probabilities/*.npy",
    "tables/table1.csv",
    "tables/table1_pvalues.csv",
    "quantification/*/metrics.csv",
)
# Tables with a wall-clock column: every other column equal as written.
TIMED = {"models/trained/*/metrics.csv": "seconds"}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    reason = cannot_run_reason()
    if reason and os.environ.get("CI"):
        pytest.fail(f"the SLURM test must run in CI: {reason}")
    if reason:
        pytest.skip(reason)
    with single_node_cluster(tmp_path_factory.mktemp("slurm"), cpus=CLUSTER_CPUS) as env:
        yield env


@pytest.fixture(scope="module")
def slurm_run(cluster, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("smoke-slurm")
    snakemake(workdir, "--workflow-profile", str(SLURM_PROFILE), *CLUSTER_ARGS, "all", env=cluster, timeout=2700)
    return workdir / "results"


def planned_resources(plan: str) -> list[tuple[str, dict[str, str]]]:
    """(rule, resources) of every job a `snakemake --dry-run` prints."""
    jobs = re.findall(r"^(?:local)?rule (\w+):\n(.*?)(?=^\S|\Z)", plan, flags=re.M | re.S)
    resources = [re.search(r"^\s+resources: (.*)$", block, flags=re.M) for _, block in jobs]
    return [(rule, dict(item.split("=", 1) for item in found.group(1).split(", "))) for (rule, _), found in
            zip(jobs, resources, strict=True)]  # fmt: skip


@pytest.mark.parametrize("config, gpus", [(PAPER, 1), (SMOKE, 0)], ids=["paper", "smoke"])
def test_profile_asks_gpus_for_training_and_prediction_only_where_the_config_has_them(tmp_path, config, gpus):
    """Under profiles/slurm the `gpu` resource (sbatch --gpus) of training and prediction jobs is the config's `gpu`
    (paper: 1), and 0 for every other job and every job of a CPU config."""
    plan = snakemake(tmp_path, "--workflow-profile", str(SLURM_PROFILE), "--dry-run", "all", config=config).stdout
    jobs = planned_resources(plan)
    assert {rule for rule, _ in jobs} >= GPU_RULES | {"preprocess", "table1"}
    for rule, resources in jobs:
        assert int(resources["gpu"]) == (gpus if rule in GPU_RULES else 0), (rule, resources)


@pytest.mark.slow
def test_smoke_dag_through_slurm_equals_the_local_run(slurm_run, smoke_run):
    """Every job of the smoke DAG went through sbatch, and what it computed equals the local run byte for byte."""
    from bacseg.models import model_names

    (log,) = (slurm_run.parent / ".snakemake" / "log").glob("*.snakemake.log")
    text = log.read_text()
    jobs = int(re.search(r"^total\s+(\d+)$", text, flags=re.M).group(1))
    assert text.count("has been submitted with SLURM jobid") == jobs - 1, "every job but `all` an sbatch job"
    assert text.count("\nrule train:") == len(model_names())
    for pattern in IDENTICAL:
        differing = [str(path) for path in same_files(smoke_run, slurm_run, pattern)
                     if (slurm_run / path).read_bytes() != (smoke_run / path).read_bytes()]  # fmt: skip
        assert not differing, f"{pattern}: {differing}"
    for pattern, clock in TIMED.items():
        for path in same_files(smoke_run, slurm_run, pattern):
            local, cluster = (pd.read_csv(run / path, dtype=str).drop(columns=clock) for run in (smoke_run, slurm_run))
            pd.testing.assert_frame_equal(cluster, local, obj=str(path))


@pytest.mark.slow
def test_slurm_run_keeps_identifiers_out_of_results_and_job_logs(slurm_run):
    """The planted identifiers of the synthetic archive (see test_workflow) reach neither results/ nor Snakemake's
    log nor the SLURM job logs (.snakemake/slurm_logs)."""
    identifiers = synthetic_run_identifiers(slurm_run)
    job_logs = slurm_run.parent / ".snakemake" / "slurm_logs"
    assert len(list(job_logs.rglob("*.log"))) > 50, "a log per sbatch job"
    for folder in (slurm_run, slurm_run.parent / ".snakemake" / "log", job_logs):
        assert not leaks(folder, identifiers), folder


def same_files(local_run, slurm_run, pattern) -> list:
    """The paths ``pattern`` matches in the local run, checked to be the ones it matches in the SLURM run."""
    local = sorted(p.relative_to(local_run) for p in local_run.glob(pattern))
    assert local, f"the local run wrote no {pattern}"
    assert sorted(p.relative_to(slurm_run) for p in slurm_run.glob(pattern)) == local, pattern
    return local
