"""Time per round of whole federated runs, split into phases, from their results files.

Runs `mpiexec -n RANKS hpc-zkfl run CONFIG` for each (config, ranks) pair (by default the
quickstart on 3 ranks and 1,000 virtual nodes on 4 ranks) into a temporary folder, then
reads the per-round phase times from the HDF5 file: local step and proving (the longest
per-rank total: ranks work in parallel), gather (from the broadcast to the last message, which
contains them), verification, aggregation, evaluation, writing and the round's total.

Usage: python benchmarks/bench_rounds.py [--runs configs/quickstart.toml:3,configs/nodes1000.toml:4]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from _common import fmt_time, machine, table

from hpc_zkfl.io.results import PHASES, load_results

ROOT = Path(__file__).resolve().parents[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", default="configs/quickstart.toml:3,configs/nodes1000.toml:4")
    args = ap.parse_args()
    print(f"Machine: {machine()}\n")
    mpiexec = shutil.which("mpiexec", path=str(Path(sys.executable).parent) + os.pathsep +
                           os.environ.get("PATH", ""))
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for item in args.runs.split(","):
            config, ranks = item.rsplit(":", 1)
            out = Path(tmp) / (Path(config).stem + ".h5")
            t0 = time.perf_counter()
            subprocess.run([mpiexec, "-n", ranks, sys.executable, "-m", "hpc_zkfl.cli", "run",
                            str(ROOT / config), "--output", str(out)], check=True,
                           stdout=subprocess.DEVNULL)
            wall = time.perf_counter() - t0
            res = load_results(out)
            r = res.rounds
            n_nodes = res.nodes["accepted"].shape[1]
            means = [fmt_time(float(np.mean(r[f"time_{p}"]))) for p in PHASES]
            accepted, rejected = int(r["accepted"].sum()), int(r["rejected"].sum())
            rows.append([Path(config).stem, ranks, str(n_nodes), str(res.n_rounds), *means,
                         f"{accepted} / {rejected} / {int(r['late'].sum())}",
                         f"{r['accuracy'][-1]:.3f}", fmt_time(wall)])
            print(f"  [{config} on {ranks} ranks done]", flush=True)
    print(table(["run", "ranks", "nodes", "rounds", *(f"{p} (mean per round)" for p in PHASES),
                 "accepted / rejected / late", "final accuracy", "whole run (setup included)"],
                rows))


if __name__ == "__main__":
    main()
