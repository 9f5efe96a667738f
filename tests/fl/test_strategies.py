"""Robust aggregators (median, trimmed mean, Krum) and the registry: hand-computed values,
numpy on random integers (exact), Python-integer oracles at the int64 extremes, and errors."""
import inspect
import random

import numpy as np
import pytest

from hpc_zkfl.fl import fedavg_fixed
from hpc_zkfl.fl.strategies import (
    AGGREGATORS,
    aggregate,
    aggregator_options,
    coordinate_median,
    fedavg_weighted,
    krum,
    krum_scores,
    trimmed_mean,
)

TOP, BOTTOM = np.iinfo(np.int64).max, np.iinfo(np.int64).min


def _vectors(*rows):
    return [np.array(r, dtype=np.int64) for r in rows]


def _random_updates(rng, n, p=9, bits=30):
    return [np.array([rng.randrange(-2**bits, 2**bits) for _ in range(p)], dtype=np.int64)
            for _ in range(n)]


def test_median_hand_values():
    out = coordinate_median(_vectors([1, 5, -2], [3, 4, -7], [2, 9, 0]))
    assert out.dtype == np.int64 and out.tolist() == [2, 5, -2]
    # Even count: floor of the middle pair's mean.
    assert coordinate_median(_vectors([-1, 1, 3], [0, 2, 8])).tolist() == [-1, 1, 5]
    assert coordinate_median(_vectors([7, -7])).tolist() == [7, -7]
    assert coordinate_median(np.array([[1, 2], [3, 5]], dtype=np.int32)).tolist() == [2, 3]


def test_median_matches_numpy(rng):
    for n in (1, 2, 5, 8):
        updates = _random_updates(rng, n)
        s = np.sort(np.stack(updates), axis=0)
        if n % 2:
            want = s[n // 2]
        else:                               # exact floor of the mean of the middle pair
            want = np.floor_divide(s[n // 2 - 1] + s[n // 2], 2)
        assert coordinate_median(updates).tolist() == want.tolist()
        if n % 2:
            assert np.array_equal(coordinate_median(updates), np.median(np.stack(updates), 0))


def test_median_extremes_do_not_overflow():
    out = coordinate_median(_vectors([BOTTOM, TOP, BOTTOM, TOP - 1], [TOP, TOP, BOTTOM, TOP]))
    assert out.tolist() == [(BOTTOM + TOP) // 2, TOP, BOTTOM, (2 * TOP - 1) // 2]


def test_trimmed_mean_hand_values():
    u = _vectors([0, 10], [1, -50], [2, 11], [3, 12], [100, 13])
    # n = 5, trim 0.2: drop one from each side -> [1, 2, 3] and [10, 11, 12].
    assert trimmed_mean(u, 0.2).tolist() == [2, 11]
    # trim 0.1: k = floor(0.5) = 0, the plain floor mean: (106 / 5, -4 / 5).
    assert trimmed_mean(u, 0.1).tolist() == [21, -1]
    assert trimmed_mean(u, 0.49).tolist() == [2, 11]       # k = 2: the median
    assert trimmed_mean(_vectors([-1], [0]), 0.4).tolist() == [-1]   # floor, not round


def test_trimmed_mean_zero_is_floor_mean(rng):
    for n in (1, 3, 6):
        updates = _random_updates(rng, n, bits=60)        # sums beyond int64: exact fallback
        want = [sum(int(u[j]) for u in updates) // n for j in range(9)]
        assert trimmed_mean(updates, 0.0).tolist() == want
        assert trimmed_mean(updates, 0.0).tolist() == fedavg_fixed(updates, [1] * n).tolist()


def test_trimmed_mean_matches_sort(rng):
    for n, frac in ((7, 0.3), (10, 0.25), (4, 0.26)):
        updates = _random_updates(rng, n)
        k = int(frac * n)
        s = np.sort(np.stack(updates), axis=0)[k:n - k]
        want = [sum(int(v) for v in s[:, j]) // len(s) for j in range(9)]
        assert trimmed_mean(updates, frac).tolist() == want


def test_krum_picks_the_honest_cluster():
    gen = np.random.default_rng(5)
    honest = [np.int64(1000) + gen.integers(-20, 21, size=6) for _ in range(7)]
    far = [np.full(6, 10**9, dtype=np.int64), np.full(6, -10**9, dtype=np.int64),
           np.int64(10**8) * gen.integers(-5, 6, size=6)]
    updates = [far[0], honest[0], honest[1], far[1], *honest[2:], far[2]]
    outliers = {0, 3, 9}
    agg, sel = krum(updates, n_malicious=3)
    assert len(sel) == 1 and sel[0] not in outliers
    assert np.array_equal(agg, updates[sel[0]])
    agg, sel = krum(updates, n_malicious=3, multi=7)
    assert sel.tolist() == [i for i in range(10) if i not in outliers]
    want = [sum(int(updates[i][j]) for i in sel) // 7 for j in range(6)]
    assert agg.dtype == np.int64 and agg.tolist() == want


def test_krum_scores_hand_values():
    # Points on a line: 0, 1, 3, 10, 30; n = 5, f = 1 -> n - f - 2 = 2 nearest neighbours.
    u = _vectors([0], [1], [3], [10], [30])
    assert krum_scores(u, 1).tolist() == [1 + 9, 1 + 4, 4 + 9, 49 + 81, 400 + 729]
    agg, sel = krum(u, 1)
    assert sel.tolist() == [1] and agg.tolist() == [1]
    agg, sel = krum(u, 1, multi=3)
    assert sel.tolist() == [0, 1, 2] and agg.tolist() == [1]     # floor(4 / 3)
    # Ties go to the lower index.
    assert krum(_vectors([0], [2], [1], [1]), 0)[1].tolist() == [2]


def test_krum_tight_cluster_far_from_zero():
    # The cancellation-prone case: the cluster's spread is tiny against its norm.
    base = np.full(50, 2**55, dtype=np.int64)
    updates = [base + d for d in (0, 1, 2, 3, 1000)]
    scores = krum_scores(updates, 1)
    assert scores.tolist() == [50.0 * (1 + 4), 50.0 * (1 + 1), 50.0 * (1 + 1), 50.0 * (1 + 4),
                               50.0 * (997**2 + 998**2)]
    assert krum(updates, 1)[1].tolist() == [1]


def test_krum_refuses_too_few_updates():
    u = _random_updates(random.Random(1), 6)
    with pytest.raises(ValueError, match=r"n >= 2f \+ 3.*n = 6.*f = 2.*at most f = 1"):
        krum(u, 2)
    krum(u, 1)
    with pytest.raises(ValueError, match="at least 3 updates"):
        krum(u[:2], 0)
    with pytest.raises(ValueError, match="multi"):
        krum(u, 1, multi=7)
    with pytest.raises(ValueError, match="multi"):
        krum(u, 1, multi=0)
    with pytest.raises(TypeError, match="n_malicious must be an integer"):
        krum(u, 1.0)
    with pytest.raises(ValueError, match="n_malicious"):
        krum(u, -1)


def test_registry_uniform_signature():
    u = _vectors([0, 10], [2, 11], [4, 12], [6, 13], [1000, -1000])
    weights = [1, 1, 1, 1, 4]
    assert set(AGGREGATORS) == {"fedavg", "median", "trimmed_mean", "krum"}
    agg, sel = aggregate("fedavg", u, weights)
    assert agg.tolist() == fedavg_fixed(u, weights).tolist() and sel.tolist() == [0, 1, 2, 3, 4]
    assert fedavg_weighted is fedavg_fixed
    agg, sel = aggregate("median", u, weights)
    assert agg.tolist() == [4, 11] and sel.tolist() == [0, 1, 2, 3, 4]
    agg, sel = aggregate("trimmed_mean", u, weights, trim_fraction=0.2)
    assert agg.tolist() == [4, 11] and sel.tolist() == [0, 1, 2, 3, 4]
    assert aggregate("trimmed_mean", u, None)[0].tolist() == trimmed_mean(u, 0.1).tolist()
    agg, sel = aggregate("krum", u, weights, n_malicious=1, multi=4)
    assert sel.tolist() == [0, 1, 2, 3] and agg.tolist() == [3, 11]
    assert aggregator_options("krum") == {"n_malicious": inspect.Parameter.empty, "multi": 1}
    assert aggregator_options("median") == {}


def test_registry_errors():
    u = _vectors([1], [2], [3])
    with pytest.raises(ValueError, match="unknown aggregator 'mean'; known: fedavg, median, "
                                         "trimmed_mean, krum"):
        aggregate("mean", u, [1, 1, 1])
    with pytest.raises(ValueError, match="takes no option.*trim.*its options: trim_fraction"):
        aggregate("trimmed_mean", u, None, trim=0.1)
    with pytest.raises(ValueError, match="'median' takes no option.*its options: none"):
        aggregate("median", u, None, trim_fraction=0.1)
    with pytest.raises(ValueError, match="needs option.*n_malicious"):
        aggregate("krum", u, None)
    with pytest.raises(ValueError, match="fedavg.*needs weights"):
        aggregate("fedavg", u)
    with pytest.raises(ValueError, match="3 updates but 2 weights"):
        aggregate("median", u, [1, 1])


@pytest.mark.parametrize("fn", [coordinate_median, lambda u: trimmed_mean(u, 0.1),
                                lambda u: krum(u, 0)])
def test_input_errors(fn):
    with pytest.raises(ValueError, match="no updates"):
        fn([])
    with pytest.raises(ValueError, match="shape"):
        fn(_vectors([1, 2], [1, 2], [1, 2, 3]))
    with pytest.raises(ValueError, match="shape"):
        fn([np.zeros((2, 2), dtype=np.int64)] * 3)
    with pytest.raises(TypeError, match="integer array"):
        fn([np.array([1.0, 2.0])] * 3)
    with pytest.raises(TypeError, match="integer array"):
        fn([np.array([True, False])] * 3)
    with pytest.raises(ValueError, match="beyond int64"):
        fn([np.array([2**64 - 1], dtype=np.uint64)] * 3)


def test_trimmed_mean_fraction_errors():
    u = _vectors([1], [2])
    for bad in (-0.1, 0.5, 0.7, float("nan"), True, "0.1"):
        with pytest.raises(ValueError, match=r"trim_fraction must be a number in \[0, 0.5\)"):
            trimmed_mean(u, bad)
