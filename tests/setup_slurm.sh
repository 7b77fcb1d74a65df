#!/usr/bin/env bash
# Installs what the SLURM test (tests/test_slurm.py) needs: Debian's slurm-wlm and munge, with apt-get, when missing.
# Idempotent and instant once installed. Where it cannot install (not root, no apt-get, apt-get failing) it says why
# and exits 0: the test then skips with its reason, or fails under CI (environment variable CI set).
set -euo pipefail

needed=(slurmctld slurmd sbatch squeue munged)
missing() {
    for tool in "${needed[@]}"; do command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || return 0; done
    return 1
}

missing || exit 0
if [ "$(id -u)" -ne 0 ]; then
    echo "setup_slurm: slurm-wlm/munge missing and not root: the SLURM test cannot run here" >&2
    exit 0
fi
if ! command -v apt-get >/dev/null; then
    echo "setup_slurm: slurm-wlm/munge missing and no apt-get: the SLURM test cannot run here" >&2
    exit 0
fi
echo "setup_slurm: installing slurm-wlm and munge with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; }; then
    echo "setup_slurm: apt-get could not install slurm-wlm and munge: the SLURM test cannot run here" >&2
fi
