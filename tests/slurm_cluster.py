"""A throwaway single-node SLURM cluster for tests: munged, slurmctld and slurmd run from a scratch folder.

Everything the daemons write (key, socket, state, spool, logs) stays in the scratch folder and nothing under /etc is
read or changed: the cluster's slurm.conf is found through SLURM_CONF, munge through its own socket. The job step of
snakemake-executor-plugin-slurm (jobstep 0.6.1) drops every SLURM_* variable but the job's ids before its nested
``srun``, SLURM_CONF included, so the environment puts first on PATH an ``srun`` that sets it again (a cluster with its
slurm.conf in /etc, the usual place, needs no such thing). The daemons run
as root in the foreground as children of this process and are stopped by their PIDs. Needs root and Debian's
slurm-wlm and munge (tests/setup_slurm.sh installs them).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "sinfo", "scancel")
SBIN = Path("/usr/sbin")


def missing_tools() -> list[str]:
    """The daemons and client commands the cluster needs that are not installed."""
    daemons = [name for name in DAEMONS if not (SBIN / name).exists() and not shutil.which(name)]
    return daemons + [name for name in CLIENTS if not shutil.which(name)]


def cannot_run_reason() -> str | None:
    """Why a cluster cannot start on this machine, or None when it can."""
    if os.geteuid() != 0:
        return "the single-node SLURM cluster runs its daemons as root"
    missing = missing_tools()
    if missing:
        return f"{', '.join(missing)} not installed (tests/setup_slurm.sh installs slurm-wlm and munge)"
    return None


def _daemon(name: str) -> str:
    return str(SBIN / name) if (SBIN / name).exists() else shutil.which(name)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# The node's memory is declared, not measured (SlurmdParameters=config_overrides): profiles/slurm asks 8 GB a job, more
# than a small CI machine may have, and nothing here enforces memory (no cgroups, no accounting).
DECLARED_MEMORY_MB = 64_000


def slurm_conf(scratch: Path, munge_socket: Path, cpus: int) -> str:
    """One node (localhost) in one default partition; no accounting, no cgroups (nothing to set up as a service)."""
    return f"""\
ClusterName=pytest
SlurmctldHost=localhost
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
AuthType=auth/munge
AuthInfo=socket={munge_socket}
CredType=cred/munge
SlurmUser=root
SlurmdUser=root
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
StateSaveLocation={scratch}/state
SlurmdSpoolDir={scratch}/spool
SlurmctldPidFile={scratch}/slurmctld.pid
SlurmdPidFile={scratch}/slurmd.pid
SlurmctldLogFile={scratch}/slurmctld.log
SlurmdLogFile={scratch}/slurmd.log
ReturnToService=2
MinJobAge=300
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
SlurmdParameters=config_overrides
NodeName=localhost CPUs={cpus} RealMemory={DECLARED_MEMORY_MB} State=UNKNOWN
PartitionName=debug Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def _srun_restoring_conf(scratch: Path, conf: Path) -> Path:
    """A folder holding an ``srun`` that runs the real one with SLURM_CONF set to this cluster's slurm.conf."""
    folder = scratch / "bin"
    folder.mkdir(exist_ok=True)
    srun = folder / "srun"
    srun.write_text(f'#!/bin/sh\nSLURM_CONF="{conf}" exec {shutil.which("srun")} "$@"\n')
    srun.chmod(0o755)
    return folder


def _logs(scratch: Path) -> str:
    return "\n".join(f"--- {log.name}\n{log.read_text()[-3000:]}" for log in sorted(scratch.glob("*.log")))


@contextmanager
def _running(command: list[str], log: Path, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """A foreground daemon for the duration of the block, then SIGTERM (SIGKILL after 20 s) by its PID."""
    with log.open("ab") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for(condition, what: str, scratch: Path, processes: list[subprocess.Popen], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        dead = [p.args[0] for p in processes if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            reason = f"{', '.join(dead)} exited" if dead else f"not within {timeout:.0f} s"
            raise RuntimeError(f"SLURM test cluster: {what}: {reason}\n{_logs(scratch)}")
        time.sleep(0.5)


def _node_state(env: dict[str, str]) -> str:
    result = subprocess.run(["sinfo", "--noheader", "--format=%T"], capture_output=True, text=True, env=env)
    return result.stdout.strip() if result.returncode == 0 else ""


def _queue(env: dict[str, str]) -> list[str]:
    result = subprocess.run(["squeue", "--noheader", "--format=%i"], capture_output=True, text=True, env=env)
    return result.stdout.split()


def _daemon_commands(scratch: Path, conf: Path, munge_socket: Path, key: Path) -> dict[str, list[str]]:
    """munged, slurmctld and slurmd in the foreground, in the order they start."""
    # --force: munged refuses a socket folder that not everyone may enter, as pytest's 0700 temporary folders are.
    munged = [f"--socket={munge_socket}", f"--key-file={key}", f"--pid-file={scratch}/munged.pid",
              f"--seed-file={scratch}/munged.seed", f"--log-file={scratch}/munged.log"]  # fmt: skip
    return {
        "munged": [_daemon("munged"), "--foreground", "--force", *munged],
        "slurmctld": [_daemon("slurmctld"), "-D", "-f", str(conf)],
        "slurmd": [_daemon("slurmd"), "-D", "-N", "localhost", "-f", str(conf)],
    }


@contextmanager
def single_node_cluster(scratch: Path, cpus: int | None = None) -> Iterator[dict[str, str]]:
    """Starts the cluster (``cpus`` on its node, default this machine's), yields the environment under which sbatch,
    squeue and Snakemake reach it, and at the end cancels what is still queued and stops slurmd, slurmctld and
    munged by their PIDs."""
    for folder in ("state", "spool"):
        (scratch / folder).mkdir(parents=True, exist_ok=True)
    key = scratch / "munge.key"
    key.write_bytes(os.urandom(128))
    key.chmod(0o600)
    munge_socket = scratch / "munge.socket"
    conf = scratch / "slurm.conf"
    conf.write_text(slurm_conf(scratch, munge_socket, cpus or os.cpu_count()))
    path = os.pathsep.join([str(_srun_restoring_conf(scratch, conf)), os.environ.get("PATH", "")])
    env = {**os.environ, "SLURM_CONF": str(conf), "PATH": path}
    with ExitStack() as stack:
        processes = []
        for name, command in _daemon_commands(scratch, conf, munge_socket, key).items():
            processes.append(stack.enter_context(_running(command, scratch / f"{name}.out", env)))
            if name == "munged":
                _wait_for(munge_socket.exists, "munged did not open its socket", scratch, processes)
        _wait_for(lambda: _node_state(env) == "idle", "the node did not come up idle", scratch, processes)
        try:
            yield env
        finally:
            jobs = _queue(env)
            if jobs:
                subprocess.run(["scancel", *jobs], env=env, check=False)
                _wait_for(lambda: not _queue(env), "jobs still queued after scancel", scratch, processes)
