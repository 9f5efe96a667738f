"""FedAvg as pure functions: float and exact fixed-point, against hand-computed values."""
import numpy as np
import pytest

from hpc_zkfl.fl import fedavg, fedavg_fixed


def test_fedavg_hand_values():
    out = fedavg([np.array([1.0, 2.0]), np.array([3.0, 4.0])], [1, 3])
    assert out.dtype == np.float64
    assert np.array_equal(out, [2.5, 3.5])               # (1 + 9) / 4, (2 + 12) / 4
    assert np.array_equal(fedavg([np.float32([[2.0]])], [7]), [[2.0]])
    assert fedavg([np.array(1.0), np.array(4.0)], [2.0, 1.0]) == 2.0


def test_fedavg_dicts():
    u = [{"W": np.array([[1.0, 0.0]]), "b": np.array([2.0])},
         {"b": np.array([-2.0]), "W": np.array([[0.0, 1.0]])}]
    out = fedavg(u, [3, 1])
    assert list(out) == ["W", "b"]
    assert np.array_equal(out["W"], [[0.75, 0.25]]) and np.array_equal(out["b"], [1.0])


def test_fedavg_fixed_floor_rounding():
    def avg(values, weights):
        out = fedavg_fixed([np.array([v], dtype=np.int64) for v in values], weights)
        assert out.dtype == np.int64
        return int(out[0])

    assert avg([-1, 0], [1, 1]) == -1       # -1/2 floors to -1, not 0
    assert avg([1, 0], [1, 1]) == 0
    assert avg([3, 4], [1, 2]) == 3         # 11/3
    assert avg([-7, 2], [2, 1]) == -4       # -12/3 exactly
    assert avg([-7, 3], [2, 1]) == -4       # -11/3 = -3.67
    assert avg([5], [9]) == 5
    out = fedavg_fixed([np.array([[10, -10]]), np.array([[1, -1]], dtype=np.int32)], [1, 2])
    assert np.array_equal(out, [[4, -4]])   # 12/3, -12/3


def test_fedavg_fixed_matches_python_ints(rng):
    for bits, wbits in ((20, 10), (62, 4), (40, 40)):   # int64 path, then both fallbacks
        n = rng.randrange(1, 6)
        updates = [np.array([rng.randrange(-2**bits, 2**bits) for _ in range(7)], dtype=np.int64)
                   for _ in range(n)]
        weights = [rng.randrange(1, 2**wbits) for _ in range(n)]
        out = fedavg_fixed(updates, weights)
        want = [sum(w * int(u[j]) for u, w in zip(updates, weights)) // sum(weights)
                for j in range(7)]
        assert out.dtype == np.int64 and out.tolist() == want


def test_fedavg_fixed_extremes():
    top, bottom = np.iinfo(np.int64).max, np.iinfo(np.int64).min
    out = fedavg_fixed([np.array([top, bottom]), np.array([top, bottom])], [3, 5])
    assert out.tolist() == [top, bottom]
    out = fedavg_fixed([{"a": np.array([bottom])}, {"a": np.array([top])}], [1, 1])
    assert out["a"].tolist() == [-1]        # (-2^63 + 2^63 - 1) / 2 = -0.5 floors to -1


def test_errors():
    a, b = np.zeros(3), np.zeros(4)
    for f in (fedavg, fedavg_fixed):
        with pytest.raises(ValueError, match="no updates"):
            f([], [])
        with pytest.raises(ValueError, match="shape"):
            f([a.astype(np.int64), b.astype(np.int64)], [1, 1])
        with pytest.raises(ValueError, match="2 updates but 1 weights"):
            f([a.astype(np.int64), a.astype(np.int64)], [1])
        for w in (0, -2):
            with pytest.raises(ValueError, match="positive"):
                f([a.astype(np.int64)], [w])
        with pytest.raises(ValueError, match="keys"):
            f([{"W": a.astype(np.int64)}, {"V": a.astype(np.int64)}], [1, 1])
        with pytest.raises(TypeError, match="weight 0"):
            f([a.astype(np.int64)], [True])
    with pytest.raises(ValueError, match="positive"):
        fedavg([a], [float("nan")])
    with pytest.raises(ValueError, match="positive"):
        fedavg([a], [float("inf")])
    with pytest.raises(TypeError, match="integer array"):
        fedavg_fixed([a], [1])
    with pytest.raises(TypeError, match="must be an integer"):
        fedavg_fixed([a.astype(np.int64)], [1.5])
