"""Pippenger MSM on G1 and G2 against independent sums.

Two oracles: for points with known discrete logarithms (P_i = [a_i] G), the MSM must equal
[sum k_i a_i mod r] G, one py_ecc scalar multiplication; and for arbitrary points, the naive
sum of [k_i] P_i (per-point scalar multiplication by curve.py's double-and-add, added up by
py_ecc).  Edge cases target the special branches of the bucket formulas: repeated points
(doubling inside a bucket), P and -P in one bucket (infinity mid-bucket), the point at
infinity as input, zero and r - 1 scalars, and digits at every window boundary.
"""
import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn

from hpc_zkfl.algebra import msm as msm_mod
from hpc_zkfl.algebra.constants import P, R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.msm import (AFFINE_MIN_WINDOW, MAX_WINDOW, fixed_base_mul, msm, msm_g1, msm_g2,
                                  msm_values, n_windows, plan, random_points)
from hpc_zkfl.backends.reference import from_py_ecc, to_py_ecc

GROUPS = {"G1": G1, "G2": G2}


@pytest.fixture(params=["G1", "G2"])
def group(request):
    return GROUPS[request.param]


@pytest.fixture(params=["xyzz", "affine"])
def buckets(request):
    """Run a test with each bucket kind: XYZZ, and batch-affine (with its overflow buckets)."""
    return request.param == "affine"


# ---- py_ecc conversions and oracles -------------------------------------------------------
def generator_multiple(group, k):
    """[k] G by py_ecc, as a Python point."""
    return from_py_ecc(group, bn.multiply(bn.G1 if group is G1 else bn.G2, k % R))


def dlog_oracle(group, logs, scalars):
    return generator_multiple(group, sum(k * a for k, a in zip(scalars, logs)))


def naive_sum(group, points, scalars):
    """sum_i [k_i] P_i: per-point double-and-add (curve.py), summed by py_ecc."""
    if not len(scalars):
        return None
    prods = group.decode(group.scalar_mul(points, ints_to_limbs(scalars)))
    acc = to_py_ecc(group, None)
    for pt in prods:
        acc = bn.add(acc, to_py_ecc(group, pt))
    return from_py_ecc(group, acc)


def run_msm(group, points, scalars, **kw):
    kw = {k: v for k, v in kw.items() if v is not None}
    return group.decode(msm(group, points, ints_to_limbs(scalars), **kw)[None])[0]


def independent_points(group, rng, n):
    """n points [a_i] G with independent random a_i (no progression structure)."""
    logs = [rng.randrange(1, R) for _ in range(n)]
    gen = group.encode([group.generator] * n)
    return group.scalar_mul(gen, ints_to_limbs(logs)), logs


def negate(group, points):
    """Affine negation of an encoded point array via Python values."""
    out = []
    for pt in group.decode(points):
        if pt is None:
            out.append(None)
        elif group is G1:
            out.append((pt[0], (P - pt[1]) % P))
        else:
            out.append((pt[0], tuple((P - c) % P for c in pt[1])))
    return group.encode(out)


# ---- random sizes ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 100, 1000, 4097])
def test_g1_random_sizes(rng, n):
    points, logs = random_points(G1, n, seed=rng.randrange(1 << 30))
    scalars = [rng.randrange(R) for _ in range(n)]
    assert run_msm(G1, points, scalars) == dlog_oracle(G1, logs, scalars)


@pytest.mark.parametrize("n", [1, 2, 3, 7, 64, 100, 300])
def test_g2_random_sizes(rng, n):
    points, logs = random_points(G2, n, seed=rng.randrange(1 << 30))
    scalars = [rng.randrange(R) for _ in range(n)]
    assert run_msm(G2, points, scalars) == dlog_oracle(G2, logs, scalars)


@pytest.mark.parametrize("n", [1, 5, 64, 1000])
def test_independent_points_against_naive_sum(group, rng, n):
    if group is G2 and n > 64:
        n = 200
    points, logs = independent_points(group, rng, n)
    scalars = [rng.randrange(R) for _ in range(n)]
    expected = naive_sum(group, points, scalars)
    assert expected == dlog_oracle(group, logs, scalars)
    assert run_msm(group, points, scalars) == expected


def test_small_msm_against_py_ecc_alone(group, rng):
    """Fully independent of this project's curve code: py_ecc multiply and add."""
    base = bn.G1 if group is G1 else bn.G2
    py_points = [bn.multiply(base, rng.randrange(1, R)) for _ in range(4)]
    scalars = [rng.randrange(R) for _ in range(4)]
    acc = bn.Z1 if group is G1 else bn.Z2
    for pt, k in zip(py_points, scalars):
        acc = bn.add(acc, bn.multiply(pt, k))
    values = [from_py_ecc(group, pt) for pt in py_points]
    assert msm_values(group, values, scalars) == from_py_ecc(group, acc)


def test_msm_g1_g2_wrappers(rng):
    p1, l1 = random_points(G1, 10, seed=1)
    p2, l2 = random_points(G2, 10, seed=2)
    ks = [rng.randrange(R) for _ in range(10)]
    assert msm_g1(p1, ints_to_limbs(ks)).shape == (2, 4)
    assert msm_g2(p2, ints_to_limbs(ks)).shape == (2, 2, 4)
    assert G1.decode(msm_g1(p1, ints_to_limbs(ks))[None])[0] == dlog_oracle(G1, l1, ks)
    assert G2.decode(msm_g2(p2, ints_to_limbs(ks))[None])[0] == dlog_oracle(G2, l2, ks)


# ---- edge cases -----------------------------------------------------------------------------
def test_empty_is_infinity(group):
    out = msm(group, np.zeros((0, 2) + group.coord_shape, np.uint64), np.zeros((0, 4), np.uint64))
    assert out.shape == (2,) + group.coord_shape and not out.any()
    assert msm_values(group, [], []) is None


def test_single_point(group, rng, buckets):
    points, (a,) = random_points(group, 1, seed=3)
    for k in (0, 1, 2, R - 1, R - 2, rng.randrange(R)):
        assert run_msm(group, points, [k], batch_affine=buckets) == generator_multiple(group, k * a), k


def test_zero_scalars_give_infinity(group, buckets):
    points, _ = random_points(group, 50, seed=4)
    assert run_msm(group, points, [0] * 50, batch_affine=buckets) is None


def test_scalar_r_minus_one(group, rng, buckets):
    points, logs = random_points(group, 20, seed=5)
    scalars = [R - 1] * 20
    scalars[3] = rng.randrange(R)
    assert run_msm(group, points, scalars, batch_affine=buckets) == dlog_oracle(group, logs, scalars)


def test_all_scalars_equal(group, rng, buckets):
    points, logs = random_points(group, 80, seed=6)
    scalars = [rng.randrange(R)] * 80
    assert run_msm(group, points, scalars, batch_affine=buckets) == dlog_oracle(group, logs, scalars)


@pytest.mark.parametrize("equal_scalars", [False, True])
def test_repeated_point(group, rng, equal_scalars, buckets):
    """One point many times: every bucket receives P + P (the doubling branch)."""
    one, (a,) = random_points(group, 1, seed=7)
    n = 40
    points = np.repeat(one, n, axis=0)
    scalars = [rng.randrange(R)] * n if equal_scalars else [rng.randrange(R) for _ in range(n)]
    assert run_msm(group, points, scalars, batch_affine=buckets) == dlog_oracle(group, [a] * n, scalars)
    # Also with a copy of the repeated point's double in the mix.
    two = np.repeat(one, 2, axis=0)
    doubled = group.scalar_mul(two[:1], ints_to_limbs([2]))
    pts = np.concatenate([two, doubled, two])
    ks = [scalars[0]] * 5
    assert run_msm(group, pts, ks, batch_affine=buckets) == generator_multiple(group, 6 * a * ks[0])


def test_infinity_among_points(group, rng, buckets):
    points, logs = random_points(group, 30, seed=8)
    points[[0, 7, 29]] = 0
    for i in (0, 7, 29):
        logs[i] = 0
    scalars = [rng.randrange(R) for _ in range(30)]
    assert run_msm(group, points, scalars, batch_affine=buckets) == dlog_oracle(group, logs, scalars)
    only_inf = np.zeros((5, 2) + group.coord_shape, np.uint64)
    assert run_msm(group, only_inf, [rng.randrange(R) for _ in range(5)],
                   batch_affine=buckets) is None


def test_point_and_its_negation_cancel(group, rng, buckets):
    """P and -P with equal scalars land in one bucket and cancel to infinity there; the
    bucket must then restart cleanly from the next point."""
    base, logs = random_points(group, 3, seed=9)
    pts = np.concatenate([base[:1], negate(group, base[:1]), base[:1], base[1:]])
    k = rng.randrange(R)
    scalars = [k, k, k, rng.randrange(R), rng.randrange(R)]
    expected = dlog_oracle(group, [logs[0], -logs[0], logs[0], logs[1], logs[2]], scalars)
    for window in (None, 1, 3, 8):
        assert run_msm(group, pts, scalars, window=window, batch_affine=buckets) == expected
    assert run_msm(group, pts[:2], scalars[:2], batch_affine=buckets) is None
    # -P with scalar k and P with scalar r - k: opposite digits, opposite points, one bucket.
    assert (run_msm(group, pts[:2], [k, R - k], batch_affine=buckets)
            == generator_multiple(group, 2 * k * logs[0]))


def _boundary_scalars(c):
    """Scalars whose digits sit at the recoding boundaries for window size c."""
    out = {0, 1, R - 1, R - 2, (1 << 253) - 1, 1 << 253}
    for w in range(n_windows(c)):
        lo = w * c
        for bits in (1 << (c - 1), (1 << (c - 1)) - 1, (1 << c) - 1, (1 << (c - 1)) + 1):
            out.add((bits << lo) % R)
            out.add(((bits << lo) | ((1 << lo) - 1)) % R)   # with a carry coming in
    return sorted(out)


@pytest.mark.parametrize("c", list(range(1, 13)))
def test_every_window_size_and_digit_boundary(group, c):
    scalars = _boundary_scalars(c)
    if group is G2:
        scalars = scalars[:: max(1, len(scalars) // 12)]
    n = len(scalars)
    points, logs = random_points(group, n, seed=10 + c)
    expected = dlog_oracle(group, logs, scalars)
    assert run_msm(group, points, scalars, window=c, batch_affine=False) == expected
    assert run_msm(group, points, scalars, window=c, chunks=3, batch_affine=False) == expected
    if c >= 3:  # below, batch-affine buckets mean one inversion an addition: slow, and no new path
        assert run_msm(group, points, scalars, window=c, batch_affine=True) == expected


@pytest.mark.parametrize("c", [AFFINE_MIN_WINDOW, 13])
def test_batch_affine_collisions(group, rng, c):
    """Large windows (full batches) with many points per bucket: collisions within a batch
    (the overflow buckets), P + P and P + (-P) inside a batch, and infinity inputs."""
    n = 3000 if group is G1 else 800
    base, logs = random_points(group, 40, seed=20 + c)
    idx = [rng.randrange(40) for _ in range(n)]
    points = base[idx]
    logs = [logs[i] for i in idx]
    neg = negate(group, points)
    flip = [rng.random() < 0.3 for _ in range(n)]
    points[flip] = neg[flip]
    logs = [-a if f else a for a, f in zip(logs, flip)]
    points[::97] = 0
    for i in range(0, n, 97):
        logs[i] = 0
    small = [rng.randrange(1, 9) for _ in range(8)]   # few distinct scalars: few buckets in use
    scalars = [rng.choice(small) << (c * rng.randrange(3)) for _ in range(n)]
    assert run_msm(group, points, scalars, window=c, batch_affine=True) == dlog_oracle(group, logs, scalars)
    assert run_msm(group, points, scalars, window=c, batch_affine=False) == dlog_oracle(group, logs, scalars)


@pytest.mark.parametrize("c", [16, MAX_WINDOW])
def test_large_windows(rng, c):
    scalars = [rng.randrange(R) for _ in range(10)] + _boundary_scalars(c)[:30]
    points, logs = random_points(G1, len(scalars), seed=11)
    assert run_msm(G1, points, scalars, window=c) == dlog_oracle(G1, logs, scalars)


@pytest.mark.parametrize("chunks", [1, 2, 5, 64])
def test_chunks_split_the_same_sum(rng, chunks):
    points, logs = random_points(G1, 500, seed=12)
    scalars = [rng.randrange(R) for _ in range(500)]
    assert run_msm(G1, points, scalars, chunks=chunks) == dlog_oracle(G1, logs, scalars)


def test_more_chunks_than_points(rng):
    points, logs = random_points(G1, 3, seed=13)
    scalars = [rng.randrange(R) for _ in range(3)]
    assert run_msm(G1, points, scalars, window=2, chunks=10) == dlog_oracle(G1, logs, scalars)


# ---- planning and the point generator ------------------------------------------------------
def test_plan_is_sane():
    for log_n in range(0, 25):
        for threads in (1, 2, 4, 16):
            c, k, workers, batch = plan(1 << log_n, threads)
            assert 1 <= c <= MAX_WINDOW and k >= 1 and 1 <= workers <= threads
            assert n_windows(c) * c >= 255
            assert batch == 0 or (c >= AFFINE_MIN_WINDOW and 1 <= batch <= 1 << (c - 1))
    assert plan(1 << 20, 2).window >= 14 and plan(1 << 20, 2).batch > 0
    assert plan(1 << 16, 2).window >= 11
    assert plan(16, 2).batch == 0


def test_random_points_are_distinct_and_correct(group):
    n = 2500 if group is G1 else 600
    points, logs = random_points(group, n, seed=14)
    assert group.on_curve(points).all()
    assert len({bytes(row) for row in points.reshape(n, -1)}) == n
    assert len(set(logs)) == n
    values = group.decode(points)
    for i in (0, 1, n // 2, n - 1):
        assert values[i] == generator_multiple(group, logs[i])


def test_fixed_base_mul_other_base(group, rng):
    base = generator_multiple(group, rng.randrange(1, R))
    ks = [0, 1, 2, R - 1, (1 << 253) + 12345, rng.randrange(R)]
    got = group.decode(fixed_base_mul(group, ints_to_limbs(ks), base=base))
    py_base = to_py_ecc(group, base)
    assert got == [from_py_ecc(group, bn.multiply(py_base, k)) for k in ks]
    assert fixed_base_mul(group, np.zeros((0, 4), np.uint64)).shape == (0, 2) + group.coord_shape
    with pytest.raises(ValueError, match="not below"):
        fixed_base_mul(group, ints_to_limbs([R]))
    with pytest.raises(ValueError, match="shape"):
        fixed_base_mul(group, np.zeros((3, 3), np.uint64))


def test_random_points_unseeded():
    points, logs = random_points(G1, 3)
    assert G1.decode(points)[2] == generator_multiple(G1, logs[2])


# ---- input validation ---------------------------------------------------------------------
def test_rejects_bad_inputs(group):
    points, _ = random_points(group, 4, seed=15)
    ks = ints_to_limbs([1, 2, 3, 4])
    with pytest.raises(ValueError, match="3 scalars"):
        msm(group, points, ks[:3])
    with pytest.raises(ValueError, match="points must be"):
        msm(group, points.astype(np.int64), ks)
    with pytest.raises(ValueError, match="points must be"):
        msm(group, points.reshape(4, -1), ks)
    with pytest.raises(ValueError, match="points must be"):
        msm(G2 if group is G1 else G1, points, ks)
    with pytest.raises(ValueError, match="scalars must be"):
        msm(group, points, ks.astype(np.int64))
    with pytest.raises(ValueError, match="scalars must be"):
        msm(group, points, ks[:, :3])
    for bad in (R, R + 5, (1 << 256) - 1):
        with pytest.raises(ValueError, match="scalar 2 is not below"):
            msm(group, points, ints_to_limbs([1, 2, bad, 4]))
    with pytest.raises(ValueError, match="window size"):
        msm(group, points, ks, window=0)
    with pytest.raises(ValueError, match="window size"):
        msm(group, points, ks, window=MAX_WINDOW + 1)
    with pytest.raises(ValueError, match="chunks"):
        msm(group, points, ks, chunks=0)
    with pytest.raises(ValueError, match=r"\[0, r\)"):
        msm_values(group, group.decode(points), [1, 2, 3, -1])
    with pytest.raises(ValueError, match=r"\[0, r\)"):
        msm_values(group, group.decode(points), [1, 2, 3, R])


def test_module_exports():
    assert set(msm_mod.__all__) >= {"msm", "msm_g1", "msm_g2", "msm_values", "plan", "random_points"}


def test_short_scalars_use_fewer_windows_and_agree(rng):
    """Short scalars (the common case of small fixed-point values) take fewer windows; the
    sum must not change, including at the carry edge where every bit is set."""
    from hpc_zkfl.algebra.msm import scalar_bits
    points, logs = independent_points(G1, rng, 40)
    for bits in (1, 8, 13, 31, 64, 65):
        ks = [rng.randrange(1 << bits) for _ in range(39)] + [(1 << bits) - 1]
        assert scalar_bits(ints_to_limbs(ks)) == bits + 1
        expected = dlog_oracle(G1, logs, ks)
        for window in (None, 3, 7):
            assert run_msm(G1, points, ks, window=window) == expected, (bits, window)


# ---- short signed scalars -----------------------------------------------------------------
HALF_R = (R - 1) // 2


def test_signed_scalars_helper(rng):
    from hpc_zkfl.algebra.msm import signed_scalars
    from hpc_zkfl.algebra.limbs import limbs_to_ints
    ks = [0, 1, HALF_R - 1, HALF_R, HALF_R + 1, R - 1, R - 2, R - (1 << 64), R - (1 << 29) + 3,
          (1 << 253) - 1, 1 << 253, 1 << 64, (1 << 64) - 1] + [rng.randrange(R) for _ in range(50)]
    mags, neg = signed_scalars(ints_to_limbs(ks))
    assert neg.dtype == np.uint8 and mags.dtype == np.uint64
    for k, m, f in zip(ks, limbs_to_ints(mags), neg):
        assert (m, f) == ((R - k, 1) if k > HALF_R else (k, 0)), k
    assert max(limbs_to_ints(mags)) <= HALF_R
    assert signed_scalars(np.zeros((0, 4), np.uint64))[0].shape == (0, 4)


def witness_like(rng, n, neg=0.08):
    """Groth16-witness-like scalars: many zeros and ones, small values, some negated."""
    out = []
    for _ in range(n):
        u = rng.random()
        v = (0 if u < 0.5 else rng.randrange(2) if u < 0.7
             else rng.randrange(1 << rng.randrange(1, 30)))
        out.append(R - v if v and rng.random() < neg else v)
    return out


def test_short_signed_scalars(group, rng, buckets):
    n = 300 if group is G1 else 80
    points, logs = random_points(group, n, seed=40)
    points[[3, 17]] = 0
    logs[3] = logs[17] = 0
    scalars = witness_like(rng, n, neg=0.3)
    scalars[:8] = [0, 1, R - 1, HALF_R, HALF_R + 1, R - 2, 2, R - (1 << 29)]
    scalars[17] = R - 5                      # negated scalar on an infinity point
    expected = dlog_oracle(group, logs, scalars)
    for window in (None, 2, 5, 12):
        for signed in (True, False):
            assert run_msm(group, points, scalars, window=window, batch_affine=buckets,
                           signed=signed) == expected, (window, signed)


def test_short_signed_scalars_use_fewer_windows(monkeypatch, rng):
    """Negative small scalars no longer force every window: the windows follow the largest
    magnitude; with a big positive scalar among them the result is still exact."""
    from hpc_zkfl.algebra.msm import scalar_bits, signed_scalars
    seen = []
    inner = msm_mod._msm_parallel

    def spy(*args):
        seen.append((args[3], args[4], args[2].shape[0]))    # window, windows, negation flags
        return inner(*args)

    monkeypatch.setattr(msm_mod, "_msm_parallel", spy)
    points, logs = random_points(G1, 200, seed=41)
    scalars = witness_like(rng, 200, neg=0.2)
    scalars[5] = R - ((1 << 29) - 1)
    expected = dlog_oracle(G1, logs, scalars)
    assert run_msm(G1, points, scalars) == expected
    c, w, flags = seen[-1]
    mags = signed_scalars(ints_to_limbs(scalars))[0]
    assert w == n_windows(c, scalar_bits(mags)) <= n_windows(c, 31)
    assert flags == 200
    assert run_msm(G1, points, scalars, signed=False) == expected
    assert seen[-1][1] == n_windows(seen[-1][0]) and seen[-1][2] == 0
    scalars[6] = HALF_R - 7    # a full-size positive scalar
    assert run_msm(G1, points, scalars) == dlog_oracle(G1, logs, scalars)
    # Exactly (r + 1) / 2 and r - 1 only: magnitudes (r - 1) / 2 and 1.
    assert run_msm(G1, points[:2], [R - 1, R - 1]) == generator_multiple(G1, -(logs[0] + logs[1]))
    assert seen[-1][1] == n_windows(seen[-1][0], 2)


@pytest.mark.parametrize("group", [G1, G2], ids=["G1", "G2"])
def test_short_and_full_width_scalars_run_apart(monkeypatch, rng, group):
    """Mostly short signed scalars with a full-width minority: two kernel runs (few windows
    for the short ones, all windows for the rest) and their sum, equal to the oracle."""
    seen = []
    inner = msm_mod._msm_parallel

    def spy(*args):
        seen.append((args[4], args[1].shape[0]))             # windows, scalars
        return inner(*args)

    monkeypatch.setattr(msm_mod, "_msm_parallel", spy)
    n = msm_mod.SPLIT_MIN_POINTS + 100
    points, logs = random_points(group, n, seed=43)
    scalars = witness_like(rng, n, neg=0.3)
    for i in rng.sample(range(n), n // 5):
        scalars[i] = rng.randrange(R)
    assert run_msm(group, points, scalars) == dlog_oracle(group, logs, scalars)
    (w_short, n_short), (w_long, n_long), (_, two) = seen
    assert n_short + n_long == n and two == 2 and 2 * w_short <= w_long
    seen.clear()
    assert run_msm(group, points, scalars, window=9) == dlog_oracle(group, logs, scalars)
    assert len(seen) == 1                                     # tuning overrides: one run
