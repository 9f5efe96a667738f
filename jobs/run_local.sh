#!/bin/bash
# hpc-zkfl on this machine with mpiexec:
#   jobs/run_local.sh [CONFIG.toml] [RANKS]     (defaults: configs/quickstart.toml, 3)
# Results go to $HPC_ZKFL_RESULTS/<config name>-<date>/ (default: results/).  With Open MPI as
# root, set HPC_ZKFL_MPIEXEC_FLAGS="--allow-run-as-root --oversubscribe".
set -euo pipefail
CONFIG=${1:-configs/quickstart.toml}
RANKS=${2:-3}
RUN_DIR="${HPC_ZKFL_RESULTS:-results}/$(basename "$CONFIG" .toml)-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RUN_DIR"
cp "$CONFIG" "$RUN_DIR/config.toml"
# shellcheck disable=SC2086
mpiexec ${HPC_ZKFL_MPIEXEC_FLAGS:-} -n "$RANKS" hpc-zkfl run "$CONFIG" --output "$RUN_DIR/results.h5"
hpc-zkfl report "$RUN_DIR/results.h5" --out "$RUN_DIR/report"
echo "results: $RUN_DIR"
