"""Fixed-base MSM (precomputed shifted bases) against [sum k_i a_i] G and the variable-base MSM.

Bases come from `random_points`, so their discrete logarithms a_i are known and one py_ecc
scalar multiplication checks a whole MSM; each result is also compared bit for bit with
`msm` on the same bases (affine coordinates are canonical).
"""
import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn

from hpc_zkfl.algebra import msm as msm_mod
from hpc_zkfl.algebra.constants import P, R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fixed_msm import (MAX_FIXED_WINDOW, FixedBaseTable, choose_window, fixed_cost,
                                        fixed_msm_g1, fixed_msm_g2, table_bytes)
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.msm import msm, n_windows, random_points
from hpc_zkfl.backends.reference import from_py_ecc

HALF = (R - 1) // 2
EDGES = [0, 1, 2, R - 1, R - 2, HALF, HALF + 1, HALF - 1, (1 << 253) - 1, 1 << 253]


def generator_multiple(group, k):
    return from_py_ecc(group, bn.multiply(bn.G1 if group is G1 else bn.G2, k % R))


def dlog_oracle(group, logs, scalars):
    return generator_multiple(group, sum(k * a for k, a in zip(scalars, logs)))


def check(table, points, logs, scalars, **kw):
    """table.msm, through the table and as chosen, equals [sum k_i a_i] G and, bit for bit,
    the variable-base msm."""
    lim = ints_to_limbs(scalars)
    got = table.msm(lim, fixed=True, **kw)
    assert got.shape == (2,) + table.group.coord_shape
    assert table.group.decode(got[None])[0] == dlog_oracle(table.group, logs, scalars)
    assert np.array_equal(got, msm(table.group, points, lim))
    assert np.array_equal(table.msm(lim, **kw), got)


def witness_scalars(rng, n):
    """Witness-like: mostly 0 and 1, some values below 2^29, a few negated (r - v)."""
    out = []
    for _ in range(n):
        u = rng.random()
        v = (0 if u < 0.5 else rng.randrange(2) if u < 0.7
             else rng.randrange(1 << rng.randrange(1, 30)))
        out.append(R - v if v and rng.random() < 0.1 else v)
    return out


@pytest.fixture(params=["G1", "G2"])
def group(request):
    return {"G1": G1, "G2": G2}[request.param]


# ---- sizes and windows ----------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 7, 1000, 5000])
def test_g1_random_scalars(rng, n):
    points, logs = random_points(G1, n, seed=rng.randrange(1 << 30))
    table = FixedBaseTable.build(G1, points)
    assert table.n == n and table.windows == n_windows(table.window)
    assert table.points.shape == (n * table.windows, 2, 4)
    assert table.nbytes == table_bytes(G1, n, table.window) and table.build_seconds >= 0
    check(table, points, logs, [rng.randrange(R) for _ in range(n)])
    check(table, points, logs, witness_scalars(rng, n))


@pytest.mark.parametrize("n", [1, 7, 150])
def test_g2_random_scalars(rng, n):
    points, logs = random_points(G2, n, seed=rng.randrange(1 << 30))
    table = FixedBaseTable.build(G2, points)
    check(table, points, logs, [rng.randrange(R) for _ in range(n)])
    check(table, points, logs, witness_scalars(rng, n))


def test_table_rows_are_shifted_bases(group):
    points, logs = random_points(group, 3, seed=30)
    points[1] = 0
    table = FixedBaseTable.build(group, points, window=7)
    rows = group.decode(table.points)
    for i, a in enumerate(logs):
        for w in range(table.windows):
            want = None if i == 1 else generator_multiple(group, a << (7 * w))
            assert rows[i * table.windows + w] == want, (i, w)


@pytest.mark.parametrize("window", [1, 2, 3, 5, 8, 11, 13, 16])
def test_explicit_windows_and_edge_scalars(group, rng, window):
    scalars = EDGES + [rng.randrange(R) for _ in range(6)]
    n = len(scalars)
    points, logs = random_points(group, n, seed=31 + window)
    points[[2, 9]] = 0                  # infinity bases, one with scalar r - 1
    logs[2] = logs[9] = 0
    table = FixedBaseTable.build(group, points, window=window)
    assert table.window == window
    for signed in (True, False):
        check(table, points, logs, scalars, signed=signed)
    if window >= 3:   # both bucket kinds
        check(table, points, logs, scalars, batch=0)


def test_edge_scalars_alone(group):
    """Each edge scalar as the only nonzero one: (r - 1) / 2 stays positive, (r + 1) / 2
    becomes -(r - 1) / 2 on the negated base, r - 1 becomes -1."""
    points, logs = random_points(group, len(EDGES), seed=32)
    table = FixedBaseTable.build(group, points, window=12)
    for i, k in enumerate(EDGES):
        scalars = [0] * len(EDGES)
        scalars[i] = k
        check(table, points, logs, scalars)


def test_zero_scalars_and_infinity_bases(group, rng):
    points, logs = random_points(group, 20, seed=33)
    table = FixedBaseTable.build(group, points)
    assert not table.msm(np.zeros((20, 4), np.uint64)).any()
    inf = FixedBaseTable.build(group, np.zeros((6, 2) + group.coord_shape, np.uint64), window=4)
    assert not inf.points.any()
    assert not inf.msm(ints_to_limbs([rng.randrange(R) for _ in range(6)])).any()


def test_empty_table(group):
    table = FixedBaseTable.build(group, np.zeros((0, 2) + group.coord_shape, np.uint64))
    out = table.msm(np.zeros((0, 4), np.uint64))
    assert out.shape == (2,) + group.coord_shape and not out.any()


def test_repeated_and_opposite_bases(rng):
    """Batch-affine special cases through the table: one base many times (P + P in a bucket)
    and P with -P (cancellation), few distinct scalars so buckets collide within batches."""
    base, (a,) = random_points(G1, 1, seed=34)
    n = 600
    points = np.repeat(base, n, axis=0)
    neg = G1.encode([(x, (P - y) % P) for x, y in G1.decode(base)])
    points[1::3] = neg
    logs = [-a if i % 3 == 1 else a for i in range(n)]
    small = [rng.randrange(1, 9) for _ in range(5)]
    scalars = [rng.choice(small) << (11 * rng.randrange(3)) for _ in range(n)]
    table = FixedBaseTable.build(G1, points, window=11)
    for batch in (None, 0, 1, 7):
        check(table, points, logs, scalars, batch=batch)


def test_short_scalars_skip_windows(monkeypatch, rng):
    """Windows above the largest magnitude are not run; negated small scalars count by their
    magnitude."""
    points, logs = random_points(G1, 50, seed=35)
    table = FixedBaseTable.build(G1, points, window=8)
    seen = []
    inner = msm_mod._msm_parallel

    def spy(*args):
        if args[7]:              # the table's runs (fixed), not the comparison's
            seen.append(args[4])     # n_win
        return inner(*args)

    monkeypatch.setattr(msm_mod, "_msm_parallel", spy)
    scalars = [rng.randrange(1 << 20) for _ in range(50)]
    scalars[7] = R - ((1 << 20) - 1)
    check(table, points, logs, scalars)
    check(table, points, logs, scalars, signed=False)
    assert seen[:2] == [n_windows(8, 21), table.windows]


def test_choice_between_table_and_variable_base(monkeypatch, rng):
    """Full scalars go through the table; a sparse short witness, whose cost would be the
    table's one reduction of 2^(c-1) buckets, through the variable-base MSM on the bases."""
    n = 3000
    points, logs = random_points(G1, n, seed=42)
    table = FixedBaseTable.build(G1, points)
    assert np.array_equal(table.bases, points)
    runs = []
    inner = msm_mod._msm_parallel
    monkeypatch.setattr(msm_mod, "_msm_parallel",
                        lambda *a: (a[7] and runs.append("table"), inner(*a))[1])
    full = [rng.randrange(R) for _ in range(n)]
    assert G1.decode(table.msm(ints_to_limbs(full))[None])[0] == dlog_oracle(G1, logs, full)
    assert runs == ["table"]
    sparse = [0] * n
    for i in rng.sample(range(n), 40):
        sparse[i] = R - rng.randrange(1, 1 << 20) if rng.random() < 0.3 else rng.randrange(1 << 20)
    lim = ints_to_limbs(sparse)
    got = table.msm(lim)
    assert runs == ["table"]
    assert G1.decode(got[None])[0] == dlog_oracle(G1, logs, sparse)
    assert np.array_equal(got, table.msm(lim, fixed=True)) and runs == ["table"] * 2


# ---- memory budget and window choice --------------------------------------------------------
def test_memory_budget_picks_a_fitting_table(group):
    points, logs = random_points(group, 64, seed=36)
    free = FixedBaseTable.build(group, points)
    assert free.window == choose_window(group, 64)
    budget = free.nbytes - 1
    table = FixedBaseTable.build(group, points, memory_budget=budget)
    assert table.nbytes <= budget and table.window > free.window
    check(table, points, logs, list(range(R - 64, R)))
    smallest = table_bytes(group, 64, MAX_FIXED_WINDOW)
    assert FixedBaseTable.build(group, points, memory_budget=smallest).window == MAX_FIXED_WINDOW


def test_memory_budget_refused(group):
    points, _ = random_points(group, 8, seed=37)
    smallest = table_bytes(group, 8, MAX_FIXED_WINDOW)
    with pytest.raises(ValueError, match=f"memory budget of {smallest - 1} bytes is below the "
                                         f"smallest table, {smallest} bytes"):
        FixedBaseTable.build(group, points, memory_budget=smallest - 1)
    with pytest.raises(ValueError, match="exceed the memory budget"):
        FixedBaseTable.build(group, points, window=4, memory_budget=smallest)


def test_window_choice_is_sane():
    for log_n in (0, 4, 10, 16, 20, 24):
        for threads in (1, 2, 16):
            c = choose_window(G1, 1 << log_n, threads=threads)
            assert 1 <= c <= MAX_FIXED_WINDOW
            assert fixed_cost(1 << log_n, c, threads) <= min(
                fixed_cost(1 << log_n, k, threads) for k in range(1, MAX_FIXED_WINDOW + 1))
    assert choose_window(G1, 1 << 16, threads=2) >= 14
    assert choose_window(G1, 1) <= 4


# ---- input validation -----------------------------------------------------------------------
def test_rejects_bad_inputs(group):
    points, _ = random_points(group, 4, seed=38)
    table = FixedBaseTable.build(group, points, window=5)
    ks = ints_to_limbs([1, 2, 3, 4])
    with pytest.raises(ValueError, match="4 points but 3 scalars"):
        table.msm(ks[:3])
    with pytest.raises(ValueError, match="scalars must be"):
        table.msm(ks.astype(np.int64))
    with pytest.raises(ValueError, match="scalars must be"):
        table.msm(ks[:, :3])
    with pytest.raises(ValueError, match="scalars must be"):
        table.msm(ks.ravel())
    for bad in (R, R + 1, (1 << 256) - 1):
        with pytest.raises(ValueError, match="scalar 1 is not below"):
            table.msm(ints_to_limbs([1, bad, 3, 4]))
    with pytest.raises(ValueError, match="points must be"):
        FixedBaseTable.build(group, points.reshape(4, -1))
    with pytest.raises(ValueError, match="points must be"):
        FixedBaseTable.build(G2 if group is G1 else G1, points)
    for window in (0, MAX_FIXED_WINDOW + 1):
        with pytest.raises(ValueError, match="window must be"):
            FixedBaseTable.build(group, points, window=window)


def test_group_wrappers(rng):
    p1, l1 = random_points(G1, 5, seed=39)
    p2, l2 = random_points(G2, 5, seed=40)
    t1, t2 = FixedBaseTable.build(G1, p1), FixedBaseTable.build(G2, p2)
    ks = [rng.randrange(R) for _ in range(5)]
    assert G1.decode(fixed_msm_g1(t1, ints_to_limbs(ks))[None])[0] == dlog_oracle(G1, l1, ks)
    assert G2.decode(fixed_msm_g2(t2, ints_to_limbs(ks))[None])[0] == dlog_oracle(G2, l2, ks)
    with pytest.raises(ValueError, match="G1 table"):
        fixed_msm_g1(t2, ints_to_limbs(ks))
    with pytest.raises(ValueError, match="G2 table"):
        fixed_msm_g2(t1, ints_to_limbs(ks))
