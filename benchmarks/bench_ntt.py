"""Benchmark of the Fr NTT (hpc_zkfl.algebra.ntt): forward, inverse and coset transforms.

    python benchmarks/bench_ntt.py [--max-log 22] [--repeat 3] [--no-compile]

Prints Markdown tables: best-of-`repeat` wall times per size (compilation excluded), the
throughput in radix-2 butterflies per second ((n/2) log2 n per transform), a pure Python-int
radix-2 transform side by side at the small sizes, and the cost of the first call in a fresh
process with an empty numba cache (compilation) against one that loads the cache.
Target on the 2-core reference machine: a 2^20-point transform in at most 0.5 s.
"""
import argparse
import random

from _common import best_of, fmt_time, machine, first_call_times, table

from hpc_zkfl.algebra.constants import R, fr_root_of_unity
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra.ntt import ntt, ntt_inplace, powers

TARGET_LOG, TARGET_SECONDS = 20, 0.5

# Run in a subprocess: import, then one call of every kernel (both algorithms, all modes).
_FIRST_CALL = """
import time
t0 = time.perf_counter()
from hpc_zkfl.algebra.ntt import ntt, powers
t1 = time.perf_counter()
for log_n in (4, 12):
    a = powers(3, 1 << log_n)
    ntt(ntt(a, coset_shift=True), inverse=True, coset_shift=True)
    ntt(ntt(a), inverse=True)
t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def python_ntt(coeffs):
    """Reference: iterative radix-2 Cooley-Tukey on Python ints (bit reversal, then DIT)."""
    n = len(coeffs)
    log_n = n.bit_length() - 1
    a = [coeffs[int(format(i, f"0{log_n}b")[::-1], 2) if log_n else 0] for i in range(n)]
    size = 2
    while size <= n:
        half = size // 2
        w_step = fr_root_of_unity(size.bit_length() - 1)
        ws = [1] * half
        for j in range(1, half):
            ws[j] = ws[j - 1] * w_step % R
        for start in range(0, n, size):
            for j in range(half):
                u = a[start + j]
                v = a[start + j + half] * ws[j] % R
                a[start + j] = (u + v) % R
                a[start + j + half] = (u - v) % R
        size *= 2
    return a


def first_call_rows():
    """(import, first calls, whole process) in a fresh process: empty cache, then its cache."""
    cold, warm = first_call_times(_FIRST_CALL)
    return [[label] + [fmt_time(x) for x in run]
            for label, run in (("fresh cache (compile)", cold), ("cached (second process)", warm))]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-log", type=int, default=22,
                        help="largest log2 size to time (24 takes about a minute)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-compile", action="store_true",
                        help="skip the compile-time measurement in subprocesses")
    args = parser.parse_args()

    print(f"NTT over BN254 Fr. {machine()}\n")
    sizes = [k for k in (12, 16, 18, 20, 22, 24) if k <= args.max_log]
    rng = random.Random(1)
    ntt(powers(3, 1 << 12), coset_shift=True)  # compile or load outside the timings
    rows = []
    for log_n in sizes:
        n = 1 << log_n
        a = powers(rng.randrange(1, R), n)  # pseudo-random residues, cheap to make
        fwd = best_of(lambda: ntt(a), args.repeat)
        inv = best_of(lambda: ntt(a, inverse=True), args.repeat)
        cos = best_of(lambda: ntt(a, coset_shift=True), args.repeat)
        icos = best_of(lambda: ntt(a, inverse=True, coset_shift=True), args.repeat)
        b = a.copy()
        inplace = best_of(lambda: ntt_inplace(b), args.repeat)
        butterflies = n // 2 * log_n
        rows.append([f"2^{log_n}", fmt_time(fwd), fmt_time(inv), fmt_time(cos), fmt_time(icos),
                     fmt_time(inplace), f"{butterflies / fwd / 1e6:.1f} M/s"])
        if log_n == TARGET_LOG:
            verdict = "met" if fwd <= TARGET_SECONDS else "NOT met"
            target_line = (f"Target: 2^{TARGET_LOG} forward <= {TARGET_SECONDS} s: {verdict} "
                           f"({fmt_time(fwd)}).")
        del a, b
    print(table(["size", "forward", "inverse", "coset forward", "coset inverse",
                 "forward in place", "butterflies/s (forward)"], rows))
    if TARGET_LOG in sizes:
        print(f"\n{target_line}")

    ref_rows = []
    for log_n in (12, 16):
        if log_n > args.max_log:
            continue
        coeffs = [rng.randrange(R) for _ in range(1 << log_n)]
        arr = FR.encode(coeffs)
        assert FR.decode(ntt(arr)) == python_ntt(coeffs)
        t_ref = best_of(lambda: python_ntt(coeffs), 1)
        t_fast = best_of(lambda: ntt(arr), args.repeat)
        ref_rows.append([f"2^{log_n}", fmt_time(t_fast), fmt_time(t_ref), f"{t_ref / t_fast:.0f}x"])
    if ref_rows:
        print("\nAgainst a Python-int radix-2 transform (py_ecc has no NTT), same run, "
              "results checked equal:\n")
        print(table(["size", "ntt (numba)", "Python ints", "speed-up"], ref_rows))

    if not args.no_compile:
        print("\nFirst use in a new process (import, then one call of every kernel):\n")
        print(table(["numba cache", "import", "first calls", "process wall time"],
                    first_call_rows()))


if __name__ == "__main__":
    main()
