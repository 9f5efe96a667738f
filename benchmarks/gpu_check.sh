#!/usr/bin/env bash
# The GPU checks in one run, for a machine with a CUDA device and CuPy: the kernel and backend
# tests on the gpu backend (results equal to the cpu backend bit for bit), then
# bench_gpu.py.  Logs go to $OUT (or ./gpu_check); paste the tables into BENCHMARKS.md with
# the device name the script prints.
#
#   bash benchmarks/gpu_check.sh [quick|full|tests|bench|nodes|suite]
#
# tests: the kernel and backend tests (tests/kernels, tests/test_backend*.py).
# bench: bench_gpu.py, G1 MSM to 2^22, G2 to 2^20, NTT to 2^22, proving at 2^16 and 2^18.
# nodes: one round of configs/nodes1000_gpu.toml (1,000 digits nodes proving on the GPU, one
#        process), and its report.
# suite: the whole test suite (MPI launches left out) with "auto" resolving to the gpu backend.
# quick: tests, then bench (about ten minutes).
# full:  tests, bench at the sizes of the GPU issue (G1 to 2^24, G2 to 2^22, NTT to 2^24,
#        proving to 2^20), nodes and suite.  Each stage alone fits a short lease better.
#
# On a machine with no network, bring the Python packages it lacks as wheels in .whl/ (from a
# machine with pip, for the target's Python, here 3.12 on x86-64 Linux:
#   pip download --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
#     --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 -d .whl \
#     py_ecc eth-utils eth-typing eth-hash cytoolz pydantic pydantic-core annotated-types \
#     typing-inspection
# ); they are installed into a private folder first.
set -uo pipefail
cd "$(dirname "$0")/.."
mode=${1:-quick}
out=${OUT:-gpu_check}
mkdir -p "$out"
export PYTHONUNBUFFERED=1
py=${PYTHON:-python3}

if compgen -G ".whl/*.whl" > /dev/null; then
  $py -m pip install -q --no-index --no-deps --no-compile --target /tmp/hpc_zkfl_site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/hpc_zkfl_site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}

$py -m hpc_zkfl.cli info 2>&1 | tee "$out/info.log"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee -a "$out/info.log"

sizes=(--g1 16,18,20,22 --g2 16,18,20 --ntt 16,18,20,22 --prove 16,18 --cpu-max 18)
case "$mode" in
  quick) stages="tests bench" ;;
  full)  stages="tests bench nodes suite"
         sizes=(--g1 16,18,20,22,24 --g2 16,18,20,22 --ntt 16,18,20,22,24 --prove 16,18,20) ;;
  tests|bench|nodes|suite) stages=$mode ;;
  *) echo "usage: $0 [quick|full|tests|bench|nodes|suite]" >&2; exit 2 ;;
esac
# Most of the tests are CPU work (host builds, the cpu side of every comparison): spread them
# over a few processes when xdist is there.
workers=()
if $py -c "import xdist" 2>/dev/null; then workers=(-n "${PYTEST_WORKERS:-4}"); fi

status=0
for stage in $stages; do
  case "$stage" in
    tests)
      $py -m pytest -q -p no:cacheprovider "${workers[@]}" tests/kernels tests/test_backend_api.py \
        tests/test_backends.py 2>&1 | tee "$out/tests_kernels.log" || status=1 ;;
    bench)
      (cd benchmarks && $py bench_gpu.py "${sizes[@]}") 2>&1 | tee "$out/bench_gpu.log" || status=1 ;;
    nodes)
      sed -e 's/^rounds = .*/rounds = 1/' -e "s|^output = .*|output = \"$out/nodes1000_gpu.h5\"|" \
        configs/nodes1000_gpu.toml > "$out/nodes1000_gpu_1round.toml"
      $py -m hpc_zkfl.cli run "$out/nodes1000_gpu_1round.toml" 2>&1 | tee "$out/nodes1000.log" || status=1
      $py -m hpc_zkfl.cli report "$out/nodes1000_gpu.h5" 2>&1 | tee -a "$out/nodes1000.log" ;;
    suite)
      $py -m pytest -q -p no:cacheprovider "${workers[@]}" -m "not mpi" 2>&1 \
        | tee "$out/tests_all.log" || status=1 ;;
  esac
done
exit $status
