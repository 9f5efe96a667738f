"""The host work a kernel-backend proof no longer does, measured on the CPU: what version 1 of
the kernels left on the host (kernels/NOTES.md, v2) and what it ran on single GPU threads.

- "constraint work": `r1cs.unsatisfied` (the check before proving), the three
  `SparseMatrix.evaluate` calls that fed the quotient, and the conversion of w and h to plain
  limbs, on the builder circuits of bench_gpu.py.  Version 2 does all of it on the device
  (`prover_scalars`).
- "window combine": the MSM's final Horner over 16 windows of 16 bits (`combine_windows`),
  which version 1 ran on one GPU thread and version 2 runs on the host.

Usage: python benchmarks/bench_prover_host.py [--sizes 16,18,20] [--repeat 3]
"""
import argparse

import numpy as np
from _common import best_of, fmt_time, machine, table
from bench_groth16 import builder_circuit, n_constraints_for

from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fields import FQ
from hpc_zkfl.algebra.msm import combine_windows, random_points
from hpc_zkfl.groth16.r1cs_to_qap import domain_size, to_plain


def constraint_rows(logs, repeat):
    rows = []
    for log_n in logs:
        r1cs, w = builder_circuit(n_constraints_for(log_n))
        h_like = np.ascontiguousarray(w[:domain_size(r1cs) - 1])   # same size as h
        parts = {
            "check": lambda: r1cs.unsatisfied(w),
            "evaluations": lambda: [m.evaluate(w) for m in (r1cs.A, r1cs.B, r1cs.C)],
            "plain limbs": lambda: (to_plain(w), to_plain(h_like)),
        }
        for fn in parts.values():      # compile before timing
            fn()
        times = {name: best_of(fn, repeat) for name, fn in parts.items()}
        rows.append([f"2^{log_n}", r1cs.n_constraints, *map(fmt_time, times.values()),
                     fmt_time(sum(times.values()))])
        print(rows[-1], flush=True)
    return rows


def combine_rows(repeat, windows=16, c=16):
    rows = []
    one = FQ.encode([1])[0]
    for group in (G1, G2):
        points = random_points(group, windows, seed=1)[0]
        sums = np.zeros((windows, 4) + points.shape[2:], dtype=np.uint64)   # XYZZ, ZZ = ZZZ = 1
        sums[:, 0], sums[:, 1] = points[:, 0], points[:, 1]
        if group is G1:
            sums[:, 2] = sums[:, 3] = one
        else:
            sums[:, 2, 0] = sums[:, 3, 0] = one
        out = np.zeros((1, 2) + points.shape[2:], dtype=np.uint64)
        combine_windows(sums, c, windows, 1, out)
        rows.append([group.name, windows, c,
                     fmt_time(best_of(lambda: combine_windows(sums, c, windows, 1, out), repeat))])
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sizes", default="16,18,20")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(machine())
    logs = [int(x) for x in args.sizes.split(",") if x.strip()]
    print(table(["domain", "constraints", "check", "evaluations", "plain limbs", "constraint work"],
                constraint_rows(logs, args.repeat)))
    print(table(["group", "windows", "bits", "window combine"], combine_rows(max(args.repeat, 20))))


if __name__ == "__main__":
    main()
