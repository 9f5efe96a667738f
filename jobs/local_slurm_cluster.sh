#!/bin/bash
# A single-node SLURM cluster on this machine, to try the jobs/ scripts end to end:
# installs Debian's slurm-wlm and munge, writes a one-node, one-partition slurm.conf, starts
# munged, slurmctld and slurmd, submits jobs/slurm_cpu.sbatch with sbatch, waits for it and
# checks the HDF5 results file it wrote.  Needs root and Debian/Ubuntu (apt-get).
#   jobs/local_slurm_cluster.sh [CONFIG.toml]     (default: configs/slurm_smoke.toml)
# Run it from the repository root with the project's venv active (hpc-zkfl and the PyPI
# mpich on PATH); the job activates the same venv.  Stop the daemons afterwards with
#   jobs/local_slurm_cluster.sh --stop
set -euo pipefail

if [ "${1:-}" = "--stop" ]; then
  pkill -x slurmd || true; pkill -x slurmctld || true; pkill -x munged || true
  exit 0
fi
CONFIG=${1:-configs/slurm_smoke.toml}
if [ "$(id -u)" -ne 0 ]; then
  echo "error: run as root (it installs packages and starts the SLURM daemons)" >&2
  exit 2
fi
if [ -z "${VIRTUAL_ENV:-}" ] || ! command -v hpc-zkfl >/dev/null; then
  echo "error: activate the venv that has hpc-zkfl installed first" >&2
  exit 2
fi

echo "== installing slurm-wlm and munge"
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null \
    || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q slurm-wlm munge >/dev/null; }
fi

echo "== munge"
mkdir -p /etc/munge /var/lib/munge /var/log/munge /run/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
fi
chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge /run/munge
chmod 0700 /etc/munge && chmod 0400 /etc/munge/munge.key
pgrep -x munged >/dev/null || runuser -u munge -- munged

echo "== slurm.conf"
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=hpczkfl
SlurmctldHost=$HOST
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=$HOST CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=cpu Nodes=$HOST Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF

echo "== daemons"
# -c: start without the job state of an earlier run, whose jobs would queue ahead of ours.
pgrep -x slurmctld >/dev/null || slurmctld -c
pgrep -x slurmd >/dev/null || slurmd
for _ in $(seq 60); do
  sinfo -h -o "%T" 2>/dev/null | grep -qE "idle|mixed|alloc" && break
  sleep 1
done
sinfo

echo "== sbatch"
RESULTS=$(mktemp -d "${TMPDIR:-/tmp}/hpc-zkfl-slurm.XXXXXX")
# 3 ranks (root + 2 workers) even on a 2-core machine: --overcommit lets tasks share cores,
# otherwise the job waits forever for CPUs the node does not have (reason PartitionConfig).
JOB=$(HPC_ZKFL_VENV="$VIRTUAL_ENV" HPC_ZKFL_RESULTS="$RESULTS" \
      sbatch --parsable --ntasks=3 --cpus-per-task=1 --overcommit \
      --output="$RESULTS/slurm-%j.out" --export=ALL jobs/slurm_cpu.sbatch "$CONFIG")
echo "job $JOB submitted; results under $RESULTS"
WAITED=0
while squeue -h -j "$JOB" 2>/dev/null | grep -q .; do
  sleep 2; WAITED=$((WAITED + 2))
  if [ $((WAITED % 60)) -eq 0 ]; then
    echo "  still waiting after ${WAITED} s: $(squeue -h -j "$JOB" -o '%T, reason %r')"
  fi
  if [ "$WAITED" -ge "${HPC_ZKFL_SLURM_WAIT:-900}" ]; then
    echo "error: job $JOB did not finish in ${WAITED} s; cancelled" >&2
    squeue -j "$JOB" -o "%i %T %r" >&2 || true
    scancel "$JOB" || true
    exit 1
  fi
done
STATE=$(sacct -n -X -j "$JOB" -o State 2>/dev/null | head -1 | tr -d ' ' || true)
cat "$RESULTS"/slurm-"$JOB".out

echo "== checking the results file"
H5=$(ls "$RESULTS"/*/results.h5)
python - "$H5" "$CONFIG" <<'PY'
import sys
from hpc_zkfl.config import load_config
from hpc_zkfl.io.results import RejectReason, load_results
res, cfg = load_results(sys.argv[1]), load_config(sys.argv[2])
assert res.n_rounds == cfg.run.rounds, f"{res.n_rounds} rounds of {cfg.run.rounds}"
acc, mal = res.nodes["accepted"], res.malicious
assert not acc[:, mal].any(), "a malicious update was accepted"
assert acc[:, ~mal].all(), "an honest update was rejected"
assert res.metadata["n_ranks"] >= 2, "the job did not run under several ranks"
print(f"OK: {res.n_rounds} rounds on {res.metadata['n_ranks']} ranks, final accuracy "
      f"{res.rounds['accuracy'][-1]:.3f}, {int((~acc[:, mal]).sum())} poisoned updates rejected")
PY
echo "slurm job $JOB: ${STATE:-completed}"
