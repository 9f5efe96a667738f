"""Benchmark of the Pippenger MSM (hpc_zkfl.algebra.msm) on G1 and G2.

    python benchmarks/bench_msm.py [--max-log-g1 20] [--max-log-g2 16] [--repeat 3] [--no-compile]

Prints Markdown tables: best-of-`repeat` wall times per size (compilation excluded) with the
planned window size, every result checked against [sum k_i a_i] G (the points are [a_i] G
for random a_i, made by `random_points`, whose cost is listed too); py_ecc's naive sum
(multiply and add per point) side by side at a small size, per point; bucket memory; and the
first call in a fresh process with an empty numba cache (compilation) against one that
loads the cache.
Targets on the 2-core reference machine: G1 2^16 <= 0.3 s, G1 2^20 <= 5 s, G2 2^16 <= 1 s.
"""
import argparse
import random

from _common import best_of, fmt_time, machine, first_call_times, table, timed

from py_ecc import optimized_bn128 as bn

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.msm import msm, n_windows, plan, random_points
from hpc_zkfl.backends.reference import to_py_ecc

TARGETS = {("G1", 16): 0.3, ("G1", 20): 5.0, ("G2", 16): 1.0}

# Run in a subprocess: import, then one MSM per group (repeated generator points: valid input,
# and nothing else to compile).
_FIRST_CALL = """
import time
t0 = time.perf_counter()
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.msm import msm
t1 = time.perf_counter()
for g in (G1, G2):
    msm(g, g.encode([g.generator] * 100), ints_to_limbs(range(1, 101)))
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def first_call_rows():
    """(import, first calls, whole process) in a fresh process: empty cache, then its cache."""
    cold, warm = first_call_times(_FIRST_CALL)
    return [[label] + [fmt_time(x) for x in run]
            for label, run in (("fresh cache (compile)", cold), ("cached (second process)", warm))]


def expected(group, logs, scalars):
    k = sum(a * s for a, s in zip(logs, scalars)) % R
    return group.decode(group.scalar_mul(group.encode([group.generator]), ints_to_limbs([k])))[0]


def py_ecc_naive(group, py_points, scalars):
    acc = bn.Z1 if group is G1 else bn.Z2
    for pt, k in zip(py_points, scalars):
        acc = bn.add(acc, bn.multiply(pt, k))
    return acc


def bucket_bytes(group, n):
    """Working arrays of `msm` for n points: XYZZ (overflow) buckets, affine buckets and
    their state, batch queues, window sums."""
    c, k, workers, batch = plan(n)
    coord = 32 * (1 if group is G1 else 2)
    nb = 1 << (c - 1)
    total = workers * nb * 4 * coord + n_windows(c) * k * 4 * coord
    if batch:
        total += workers * (nb * (2 * coord + 8) + batch * (2 * coord + 16))
    return c, total


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-log-g1", type=int, default=20)
    parser.add_argument("--max-log-g2", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the compile-time measurement in subprocesses")
    args = parser.parse_args()

    rng = random.Random(1)
    for g in (G1, G2):   # compile or load outside the timings
        pts, _ = random_points(g, 4, seed=0)
        msm(g, pts, ints_to_limbs([1, 2, 3, 4]))
    print(f"MSM over BN254 G1/G2 (Pippenger, signed windows, XYZZ or batch-affine buckets). {machine()}\n")

    rows, verdicts, per_point = [], [], {}
    for group, max_log in ((G1, args.max_log_g1), (G2, args.max_log_g2)):
        for log_n in range(10, max_log + 1, 2):
            n = 1 << log_n
            (points, logs), t_gen = timed(lambda: random_points(group, n, seed=log_n))
            scalars = [rng.randrange(R) for _ in range(n)]
            lim = ints_to_limbs(scalars)
            ok = group.decode(msm(group, points, lim)[None])[0] == expected(group, logs, scalars)
            repeat = args.repeat if log_n < 20 else 2
            t = best_of(lambda: msm(group, points, lim), repeat)
            per_point[(group.name, log_n)] = t / n
            c, k, workers, batch = plan(n)
            kind = f"batch-affine (batches of {batch})" if batch else "XYZZ"
            t_xyzz = best_of(lambda: msm(group, points, lim, batch_affine=False), repeat) if batch else t
            rows.append([group.name, f"2^{log_n}", fmt_time(t), f"{t / n * 1e6:.2f} us",
                         f"c={c}, {n_windows(c)} windows x {k} chunk(s), {kind}", fmt_time(t_xyzz),
                         "ok" if ok else "WRONG", fmt_time(t_gen)])
            target = TARGETS.get((group.name, log_n))
            if target is not None:
                verdicts.append(f"{group.name} 2^{log_n} <= {target} s: "
                                f"{'met' if t <= target else 'NOT met'} ({fmt_time(t)})")
            del points, logs, scalars, lim
    print(table(["group", "n", "MSM", "per point", "plan", "same c, XYZZ buckets", "check",
                 "point generation"], rows))
    print("\nTargets: " + "; ".join(verdicts) + ".")

    ref_rows = []
    for group, log_n in ((G1, 8), (G2, 6)):
        n = 1 << log_n
        points, _ = random_points(group, n, seed=99)
        scalars = [rng.randrange(R) for _ in range(n)]
        py_points = [to_py_ecc(group, pt) for pt in group.decode(points)]
        ref, t_ref = timed(lambda: py_ecc_naive(group, py_points, scalars))
        lim = ints_to_limbs(scalars)
        ours = group.decode(msm(group, points, lim)[None])[0]
        x, y = bn.normalize(ref)
        same = ours == ((int(x.n), int(y.n)) if group is G1 else
                        (tuple(map(int, x.coeffs)), tuple(map(int, y.coeffs))))
        t = best_of(lambda: msm(group, points, lim), args.repeat)
        best_pp = min(v for (g, _), v in per_point.items() if g == group.name)
        ref_rows.append([group.name, f"2^{log_n}", fmt_time(t_ref / n), fmt_time(t / n),
                         f"{t_ref / t:.0f}x", fmt_time(best_pp), f"{t_ref / n / best_pp:.0f}x",
                         "equal" if same else "DIFFERENT"])
    print("\nAgainst py_ecc's naive sum (multiply + add per point), same run, per point:\n")
    print(table(["group", "n", "py_ecc per point", "MSM per point (same n)", "speed-up",
                 "MSM per point (best size)", "speed-up", "results"], ref_rows))

    mem_rows = []
    for group, log_n in ((G1, 16), (G1, 20), (G2, 16), (G2, 20)):
        c, nbytes = bucket_bytes(group, 1 << log_n)
        point_bytes = (1 << log_n) * (64 if group is G1 else 128)
        mem_rows.append([group.name, f"2^{log_n}", c, f"{nbytes / 2 ** 20:.1f} MiB",
                         f"{point_bytes / 2 ** 20:.0f} MiB"])
    print("\nWorking memory of one MSM (bucket arrays of all cores + window sums), against the "
          "input points:\n")
    print(table(["group", "n", "window c", "buckets", "input points"], mem_rows))

    if not args.no_compile:
        print("\nFirst use in a new process (import, then one G1 and one G2 MSM):\n")
        print(table(["numba cache", "import", "first calls", "process wall time"],
                    first_call_rows()))


if __name__ == "__main__":
    main()
