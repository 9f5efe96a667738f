"""Fixed-base MSM with precomputed shifted bases against variable-base Pippenger, on G1.

For each n: random bases (known discrete logarithms), one table per n, and on the same
scalars in the same run the variable-base `msm` and the table's `msm`; every result is
checked against [sum k_i a_i] G.  Two scalar kinds: uniformly random below r, and
witness-like short signed scalars (60 % zeros, 20 % zeros and ones, the rest below 2^29,
8 % of the nonzero ones stored negated as r - v), where the variable-base MSM is also timed
without the short-signed recoding (`signed=False`, all windows).
"""
import argparse
import random

from _common import best_of, fmt_time, machine, table, timed

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.curve import G1
from hpc_zkfl.algebra.fixed_msm import FixedBaseTable
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.msm import msm, n_windows, plan, random_points, scalar_bits, signed_scalars


def witness_scalars(rng, n):
    out = []
    for _ in range(n):
        u = rng.random()
        if u < 0.6:
            v = 0
        elif u < 0.8:
            v = rng.randrange(2)
        else:
            v = rng.randrange(1, 1 << rng.randrange(1, 30))
        out.append(R - v if v and rng.random() < 0.08 else v)
    return out


def expected(group, logs, scalars):
    k = sum(a * s for a, s in zip(logs, scalars)) % R
    return group.decode(group.scalar_mul(group.encode([group.generator]), ints_to_limbs([k])))[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--logs", default="16,20", help="comma-separated log2 sizes")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    rng = random.Random(1)
    warm, _ = random_points(G1, 4, seed=0)     # compile or load outside the timings
    FixedBaseTable.build(G1, warm).msm(ints_to_limbs([1, 2, 3, 4]))
    msm(G1, warm, ints_to_limbs([1, 2, 3, 4]))
    print(f"Fixed-base MSM (precomputed 2^(wc) P_i, one bucket pass) against variable-base "
          f"Pippenger, BN254 G1. {machine()}\n")

    rows = []
    for log_n in map(int, args.logs.split(",")):
        n = 1 << log_n
        points, logs = random_points(G1, n, seed=log_n)
        tab = FixedBaseTable.build(G1, points)
        build = f"{fmt_time(tab.build_seconds)}, {tab.nbytes / 2 ** 20:.0f} MiB"
        for kind in ("random", "witness"):
            scalars = ([rng.randrange(R) for _ in range(n)] if kind == "random"
                       else witness_scalars(rng, n))
            lim = ints_to_limbs(scalars)
            want = expected(G1, logs, scalars)
            var, t_var = timed(lambda: msm(G1, points, lim))
            fix, t_fix = timed(lambda: tab.msm(lim))
            results = [var, fix]
            t_var = min(t_var, best_of(lambda: msm(G1, points, lim), args.repeat - 1))
            t_fix = min(t_fix, best_of(lambda: tab.msm(lim), args.repeat - 1))
            bits = scalar_bits(signed_scalars(lim)[0]) if kind == "witness" else scalar_bits(lim)
            c_var = plan(n, bits=bits).window
            windows = (f"var c={c_var} x {n_windows(c_var, bits)}, "
                       f"fixed c={tab.window} x {n_windows(tab.window, bits)} of {tab.windows}")
            unsigned = "-"
            if kind == "witness":
                old, t_old = timed(lambda: msm(G1, points, lim, signed=False))
                results.append(old)
                t_old = min(t_old, best_of(lambda: msm(G1, points, lim, signed=False),
                                           args.repeat - 1))
                unsigned = f"{fmt_time(t_old)} ({t_old / t_var:.1f}x)"
            ok = all(G1.decode(r[None])[0] == want for r in results)
            rows.append([f"2^{log_n}", kind, fmt_time(t_var), fmt_time(t_fix),
                         f"{t_var / t_fix:.2f}x", windows, build, unsigned,
                         "ok" if ok else "WRONG"])
    print(table(["n", "scalars", "variable-base msm", "fixed-base table msm", "speed-up",
                 "windows", "table build, size", "variable-base, signed=False (gain)", "check"],
                rows))


if __name__ == "__main__":
    main()
