"""Fixed-base multi-scalar multiplication: sum_i [k_i] P_i for bases known in advance.

A proving key's bases never change, so each base P_i is expanded once into its shifted
multiples T_(i, w) = 2^(wc) P_i, w = 0 .. W-1, W = ceil(255 / c).  With the scalars
recoded into signed c-bit digits d_(i, w) as in Pippenger (`msm`),

    sum_i k_i P_i = sum_i sum_w d_(i, w) 2^(wc) P_i = sum_(i, w) d_(i, w) T_(i, w),

one MSM of n W points with c-bit scalars: a single bucket pass over the table into 2^(c-1)
buckets and a single reduction sum_b b B_b, with no doublings between windows.  Since the
reduction is paid once rather than once a window, c can be larger than the variable-base
plan would choose.  This precomputation of shifted bases is the fixed-base MSM of the
ZPrize 2022 GPU MSM entries and of cuZK (Lu, Wei, Zhang, Wang, Wu, Zhang, Zhou, "cuZK:
Accelerating zero-knowledge proof with a faster parallel multi-scalar multiplication
algorithm on GPUs", eprint 2022/1321); the buckets are those of Pippenger (1976) in the
form of Bernstein, Doumen, Lange, Oosterwijk (eprint 2012/549).

By counting additions the gain is bounded: n 255 / c bucket additions plus one reduction
of 2^c, against (255 / c') (n + 2^c') for variable-base Pippenger; the table costs
n W affine points of memory and about 255 doublings a base to build.

The bucket pass is `msm`'s own worker (batch-affine or XYZZ buckets, negated digits for
short signed scalars), run over the table: each core takes chunks of the bases with all
their windows into one bucket array, reduces it once, and the cores' sums are added.
"""
import time

import numpy as np
from numba import get_num_threads, prange

from ._jit import jit
from .curve import G1, G2, Group, jac_double, jac_from_affine, jacobian_to_affine_range
from .field_ops import f_load, f_store
from .msm import (_COST_AFFINE, _COST_BUCKET, _batch, check_point_shape, check_scalars,
                  msm_prepared, n_windows, plan_cost, prepared_scalars, run_buckets)

MIN_FIXED_WINDOW = 1
MAX_FIXED_WINDOW = 20       # 2^19 buckets: ~100 MiB of bucket arrays a core for G1
BUILD_CHUNK = 256           # bases a build task expands and normalises with one inversion
CHUNKS_PER_WORKER = 4       # base chunks a core takes in turn (evens out runs of zero digits)
# Measured on the reference machine (1 MiB of L2 a core), n = 2^16 .. 2^20: an addition costs
# about 12 % more for each window bit above 15, as the bucket arrays outgrow the cache.
CACHE_WINDOW = 15
_CACHE_PENALTY = 1.12


# ---- table construction -------------------------------------------------------------------
@jit(parallel=True)
def _build_table(points, c, n_win, scratch, table):
    """table[i * n_win + w] = 2^(wc) points[i] (affine, zeros for infinity): Jacobian
    doublings (dbl-2009-l, 2M + 5S), each chunk of BUILD_CHUNK bases normalised with one
    inversion (Montgomery's trick).  scratch: (workers, BUILD_CHUNK * n_win, 3, ...)."""
    n = points.shape[0]
    n_workers = scratch.shape[0]
    n_tasks = (n + BUILD_CHUNK - 1) // BUILD_CHUNK
    for worker in prange(n_workers):
        jac = scratch[worker]
        task = np.int64(worker)
        while task < n_tasks:
            lo = task * BUILD_CHUNK
            hi = min(n, lo + BUILD_CHUNK)
            for i in range(lo, hi):
                p = jac_from_affine(f_load(points, i, 0), f_load(points, i, 1))
                row = (i - lo) * n_win
                for w in range(n_win):
                    if w:
                        for _ in range(c):
                            p = jac_double(p)
                    f_store(jac, row + w, 0, p[0])
                    f_store(jac, row + w, 1, p[1])
                    f_store(jac, row + w, 2, p[2])
            rows = (hi - lo) * n_win
            jacobian_to_affine_range(jac, table[lo * n_win: hi * n_win], 0, rows)
            task += n_workers


# ---- planning -----------------------------------------------------------------------------
def table_bytes(group: Group, n: int, window: int) -> int:
    """Bytes of the table of n bases with windows of `window` bits (and of the bases)."""
    return n * (n_windows(window) + 1) * 2 * 32 * (1 if group is G1 else 2)


def fixed_cost(n: int, window: int, threads: int = None, windows: int = None) -> float:
    """Modelled time of a fixed-base MSM of n full scalars on `threads` cores, in XYZZ
    additions (the units of `msm.plan`): a core's share of the n W bucket additions (dearer
    once the buckets outgrow the cache) plus the one reduction of its 2^(c-1) buckets (all
    cores reduce at once).  `windows`: those run (default all, for full scalars)."""
    threads = max(1, threads or get_num_threads())
    windows = n_windows(window) if windows is None else windows
    add = _COST_AFFINE if _batch(window) else 1.0
    add *= _CACHE_PENALTY ** max(0, window - CACHE_WINDOW)
    return -(-n * windows // threads) * add + _COST_BUCKET * (1 << (window - 1))


def choose_window(group: Group, n: int, memory_budget: int = None, threads: int = None) -> int:
    """The window of least modelled cost whose table fits `memory_budget` bytes (None: no
    limit); ValueError when even the smallest table (the largest window) does not fit."""
    windows = range(MIN_FIXED_WINDOW, MAX_FIXED_WINDOW + 1)
    fits = [c for c in windows
            if memory_budget is None or table_bytes(group, n, c) <= memory_budget]
    if not fits:
        smallest = min(table_bytes(group, n, c) for c in windows)
        raise ValueError(f"{group.name} fixed-base table of {n} bases: memory budget of "
                         f"{memory_budget} bytes is below the smallest table, {smallest} bytes "
                         f"(window {MAX_FIXED_WINDOW})")
    return min(fits, key=lambda c: (fixed_cost(n, c, threads), -c))


# ---- Python API ---------------------------------------------------------------------------
class FixedBaseTable:
    """Precomputed shifted bases 2^(wc) P_i of fixed MSM bases, for `msm` calls on them.

    `points`: the (n * windows, 2, ...) affine Montgomery table, row i * windows + w holding
    2^(w window) P_i; `window` c, `windows` W = ceil(255 / c), `nbytes` its size and
    `build_seconds` the time `build` took.  `bases` keeps the bases themselves, contiguous, for
    the variable-base MSM on short sparse scalars (see `msm`)."""

    def __init__(self, group: Group, bases: np.ndarray, window: int, points: np.ndarray,
                 build_seconds: float):
        self.group = group
        self.n = bases.shape[0]
        self.bases = bases
        self.window = window
        self.windows = n_windows(window)
        self.points = points
        self.nbytes = points.nbytes + bases.nbytes
        self.build_seconds = build_seconds

    @classmethod
    def build(cls, group: Group, points, window: int = None, memory_budget: int = None):
        """The table of the affine bases `points` ((n, 2, 4) for G1, (n, 2, 2, 4) for G2,
        zeros = infinity).  `window` fixes c (ValueError if its table exceeds
        `memory_budget`); otherwise c is the cheapest by `fixed_cost` that fits the budget
        (bytes of the table; ValueError when none does)."""
        t0 = time.perf_counter()
        points = np.asarray(points)
        check_point_shape(group, points)
        points = np.ascontiguousarray(points)
        n = points.shape[0]
        if window is None:
            window = choose_window(group, n, memory_budget)
        elif not MIN_FIXED_WINDOW <= window <= MAX_FIXED_WINDOW:
            raise ValueError(f"fixed-base window must be in [{MIN_FIXED_WINDOW}, "
                             f"{MAX_FIXED_WINDOW}], got {window}")
        elif memory_budget is not None and table_bytes(group, n, window) > memory_budget:
            raise ValueError(f"{group.name} fixed-base table of {n} bases with window {window}: "
                             f"{table_bytes(group, n, window)} bytes exceed the memory budget of "
                             f"{memory_budget} bytes")
        w = n_windows(window)
        table = np.empty((n * w, 2) + group.coord_shape, dtype=np.uint64)
        if n:
            workers = max(1, min(get_num_threads(), -(-n // BUILD_CHUNK)))
            scratch = np.empty((workers, BUILD_CHUNK * w, 3) + group.coord_shape, dtype=np.uint64)
            _build_table(points, window, w, scratch, table)
        return cls(group, points, window, table, time.perf_counter() - t0)

    def msm(self, scalars, signed: bool = True, batch: int = None,
            fixed: bool = None) -> np.ndarray:
        """sum_i [scalars[i]] P_i as one affine point ((2, 4) for G1, (2, 2, 4) for G2, zeros
        for infinity), as `msm.msm` on the original bases.  Scalars: (n, 4) uint64 plain, below
        r.  Windows above the largest scalar (magnitude, with `signed`) are skipped.

        Few nonzero short scalars (a witness) leave the table's one reduction of 2^(c-1)
        buckets as the main cost, while the variable-base MSM picks a small window for
        them: the cheaper of the two by the cost models (on the nonzero scalars) runs, unless
        `fixed` forces the choice.  `batch` overrides the batch-affine batch size (0: XYZZ
        buckets), for tuning and tests."""
        group = self.group
        scalars = check_scalars(group, scalars, self.n)
        out = np.zeros((1, 2) + group.coord_shape, dtype=np.uint64)
        if self.n == 0:
            return out[0]
        c = self.window
        scalars, neg, bits = prepared_scalars(scalars, signed)
        n_win = n_windows(c, bits)
        if fixed is None:
            nonzero = int(np.count_nonzero(scalars.any(axis=1)))
            fixed = fixed_cost(nonzero, c, windows=n_win) <= plan_cost(nonzero, bits=bits)
        if not fixed:
            return msm_prepared(group, self.bases, scalars, neg, bits)
        # A bucket takes one pending addition a batch: more than 2^(c-1) never fill a batch.
        batch = min(1 << (c - 1), _batch(c) if batch is None else batch)
        workers = max(1, min(get_num_threads(), self.n))
        chunks = min(self.n, workers * CHUNKS_PER_WORKER)
        run_buckets(group, self.points, scalars, neg, c, n_win, chunks, batch, True,
                    self.windows, workers, workers, out)
        return out[0]


def fixed_msm_g1(table: FixedBaseTable, scalars) -> np.ndarray:
    """G1 fixed-base MSM on a table built with `FixedBaseTable.build(G1, bases)`."""
    if table.group is not G1:
        raise ValueError(f"fixed_msm_g1 needs a G1 table, got {table.group.name}")
    return table.msm(scalars)


def fixed_msm_g2(table: FixedBaseTable, scalars) -> np.ndarray:
    """G2 fixed-base MSM on a table built with `FixedBaseTable.build(G2, bases)`."""
    if table.group is not G2:
        raise ValueError(f"fixed_msm_g2 needs a G2 table, got {table.group.name}")
    return table.msm(scalars)


__all__ = ["FixedBaseTable", "choose_window", "fixed_cost", "fixed_msm_g1", "fixed_msm_g2",
           "table_bytes"]
