"""Shared helpers for the benchmark scripts: machine description and best-of timing.

Each script prints a Markdown table ready for BENCHMARKS.md, headed by `machine()`.
Figures compared against a reference (py_ecc, snarkjs) are taken side by side in the
same run, since the machines are shared and noisy: report ratios.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def machine() -> str:
    """The machine line that heads each table (hpc_zkfl.machine.describe)."""
    from hpc_zkfl.machine import describe

    return describe()


def best_of(fn, repeat=3, min_time=0.0):
    """Best wall time of `repeat` calls (at least one call, more while under min_time)."""
    best = float("inf")
    calls = 0
    start = time.perf_counter()
    while calls < repeat or time.perf_counter() - start < min_time:
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
        calls += 1
    return best


def timed(fn):
    """(result, seconds) of one call."""
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def fmt_time(seconds: float) -> str:
    if seconds < 1e-6:
        return f"{seconds * 1e9:.1f} ns"
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def seed_list(text: str) -> list:
    """Seeds from "0", "0,3" or "0-9" (an argparse type)."""
    seeds = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi or lo) + 1))
    return seeds


def table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def first_call_times(snippet: str, attempts: int = 3):
    """Run `snippet` (which prints seconds as numbers) in two fresh processes sharing one
    empty NUMBA_CACHE_DIR: the first compiles, the second must load the cached code.
    Returns (cold, warm) lists of floats, plus the whole-process wall times appended."""
    import tempfile

    root = str(Path(__file__).resolve().parents[1])
    for _ in range(attempts):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache,
                       PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
            runs, dirs = [], []
            for _ in range(2):
                t0 = time.perf_counter()
                out = subprocess.run([sys.executable, "-c", snippet], env=env, check=True,
                                     capture_output=True, text=True).stdout.split()
                runs.append([float(x) for x in out] + [time.perf_counter() - t0])
                dirs.append(sorted(os.listdir(cache)))
        # The cache directory is keyed on the algebra sources; if they changed between the two
        # runs (the tree being edited), the second run recompiled: measure again.
        if dirs[0] == dirs[1]:
            return runs[0], runs[1]
    raise RuntimeError("the algebra sources kept changing during the compile-time measurement")
