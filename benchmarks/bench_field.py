"""Fr / Fq multiplication over arrays: ns per multiplication on one and on all cores.

Target (issue: BN254 algebra): Fr multiplication over arrays <= 20 ns using both cores of
a 2-core machine.  py_ecc's field multiplication and plain Python integers are timed side
by side in the same run.

    python benchmarks/bench_field.py [--log-n 20]
"""
import argparse
import random

import numba

from _common import best_of, machine, table
from hpc_zkfl.algebra import montgomery as mont
from hpc_zkfl.algebra.fields import FQ, FR


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--log-n", type=int, default=20, help="array length 2^k (default 20)")
    args = ap.parse_args()
    n = 1 << args.log_n
    threads = numba.get_num_threads()
    rows = []
    for field in (FR, FQ):
        a, b = field.random(n), field.random(n)
        out = a.copy()
        mont.mul_arrays(a, b, out, field.m)  # compile / load from cache
        for t in sorted({1, threads}):
            numba.set_num_threads(t)
            sec = best_of(lambda: mont.mul_arrays(a, b, out, field.m), repeat=5)
            if field is FQ and t == 1:
                fq_one_core = sec / n
            rows.append([f"{field.name} mul, arrays of 2^{args.log_n}", f"{t}",
                         f"{sec / n * 1e9:.1f} ns", ""])
        numba.set_num_threads(threads)
        sec = best_of(lambda: mont.add_arrays(a, b, out, field.m), repeat=5)
        rows.append([f"{field.name} add, arrays of 2^{args.log_n}", f"{threads}", f"{sec / n * 1e9:.1f} ns", ""])
        sec = best_of(lambda: field.inverse(a), repeat=3)
        rows.append([f"{field.name} batch inverse, 2^{args.log_n}", f"{threads}", f"{sec / n * 1e9:.1f} ns", ""])

    # Side by side: py_ecc's FQ and Python ints on the same values (one core, pure Python).
    from py_ecc.fields import optimized_bn128_FQ as PyFQ
    k = 20000
    xs = [PyFQ(random.randrange(FQ.modulus)) for _ in range(k)]
    ys = [PyFQ(random.randrange(FQ.modulus)) for _ in range(k)]
    sec = best_of(lambda: [x * y for x, y in zip(xs, ys)], repeat=3)
    rows.append(["py_ecc FQ mul (reference)", "1", f"{sec / k * 1e9:.0f} ns",
                 f"ours on 1 core is {sec / k / fq_one_core:.0f}x faster"])
    xi = [int(x) for x in xs]
    yi = [int(y) for y in ys]
    p = FQ.modulus
    sec = best_of(lambda: [x * y % p for x, y in zip(xi, yi)], repeat=3)
    rows.append(["Python int x*y % p", "1", f"{sec / k * 1e9:.0f} ns", ""])
    print(f"Machine: {machine()}\n")
    print(table(["operation", "threads", "time per element", "note"], rows))


if __name__ == "__main__":
    main()
