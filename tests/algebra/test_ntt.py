"""The Fr NTT against evaluations and interpolations computed with Python ints.

Both code paths are covered at every small size: the single-buffer transform (sizes up to
2^DIRECT_MAX_LOG) and the four-step one, forced down to tiny sizes with monkeypatch.
"""
import numpy as np
import pytest

from hpc_zkfl.algebra import ntt as ntt_mod
from hpc_zkfl.algebra.constants import (FR_MULTIPLICATIVE_GENERATOR, FR_ROOT_OF_UNITY,
                                        FR_TWO_ADICITY, R, fr_root_of_unity)
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra.ntt import (coset_intt, coset_ntt, intt, ntt, ntt_inplace, powers,
                                  twiddle_table)


@pytest.fixture(params=["direct", "four_step"])
def path(request, monkeypatch):
    """Run a test once per algorithm: all sizes in one buffer, or all by the four-step method."""
    monkeypatch.setattr(ntt_mod, "DIRECT_MAX_LOG", 30 if request.param == "direct" else -1)
    return request.param


def _random(rng, n):
    return [rng.randrange(R) for _ in range(n)]


def _evaluate(coeffs, x):
    acc = 0
    for c in reversed(coeffs):
        acc = (acc * x + c) % R
    return acc


def _naive_dft(coeffs, shift=1):
    n = len(coeffs)
    w = fr_root_of_unity(n.bit_length() - 1)
    return [_evaluate(coeffs, shift * pow(w, i, R) % R) for i in range(n)]


def _schoolbook(a, b):
    out = [0] * (len(a) + len(b) - 1)
    for i, x in enumerate(a):
        for j, y in enumerate(b):
            out[i + j] = (out[i + j] + x * y) % R
    return out


# ---- constants -----------------------------------------------------------------------------
def test_root_of_unity_has_order_two_to_the_28():
    assert FR_TWO_ADICITY == 28
    assert (R - 1) % (1 << 28) == 0 and ((R - 1) >> 28) % 2 == 1
    assert pow(FR_ROOT_OF_UNITY, 1 << 28, R) == 1
    assert pow(FR_ROOT_OF_UNITY, 1 << 27, R) == R - 1  # so the order is exactly 2^28
    for k in range(1, 29):
        assert pow(fr_root_of_unity(k), 2, R) == fr_root_of_unity(k - 1)
    assert fr_root_of_unity(0) == 1


def test_twiddle_table_layout():
    log_n = 6
    table = FR.decode(twiddle_table(log_n))
    assert len(table) == 1 << log_n
    h = 1
    while h < 1 << log_n:
        w = fr_root_of_unity(h.bit_length())  # a primitive 2h-th root
        assert table[h:2 * h] == [pow(w, j, R) for j in range(h)]
        h *= 2
    assert twiddle_table(log_n) is twiddle_table(log_n)  # cached
    assert not twiddle_table(log_n).flags.writeable


def test_powers(rng):
    base = rng.randrange(R)
    for n in (0, 1, 2, 7, 64, 65, 1000):
        assert FR.decode(powers(base, n)) == [pow(base, i, R) for i in range(n)]
    assert FR.decode(powers(-1, 4)) == [1, R - 1, 1, R - 1]
    assert FR.decode(powers(0, 3)) == [1, 0, 0]


# ---- the transform against Python ints ----------------------------------------------------
@pytest.mark.parametrize("log_n", range(0, 7))
def test_matches_naive_dft(rng, path, log_n):
    a = _random(rng, 1 << log_n)
    assert FR.decode(ntt(FR.encode(a))) == _naive_dft(a)


@pytest.mark.parametrize("log_n", [9, 10, 12])
def test_matches_evaluation_at_sampled_points(rng, log_n):
    n = 1 << log_n
    a = _random(rng, n)
    out = FR.decode(ntt(FR.encode(a)))
    w = fr_root_of_unity(log_n)
    for i in [0, 1, n // 2, n - 1] + [rng.randrange(n) for _ in range(4)]:
        assert out[i] == _evaluate(a, pow(w, i, R)), i


@pytest.mark.parametrize("log_n", range(0, 7))
def test_coset_matches_direct_evaluation(rng, path, log_n):
    a = _random(rng, 1 << log_n)
    expect = _naive_dft(a, FR_MULTIPLICATIVE_GENERATOR)
    assert FR.decode(ntt(FR.encode(a), coset_shift=True)) == expect
    assert FR.decode(coset_ntt(FR.encode(a))) == expect
    shift = rng.randrange(1, R)
    assert FR.decode(ntt(FR.encode(a), coset_shift=shift)) == _naive_dft(a, shift)
    # shifts are reduced mod r: a negative one is fine
    assert FR.decode(ntt(FR.encode(a), coset_shift=-3)) == _naive_dft(a, R - 3)


@pytest.mark.parametrize("log_n", range(0, 7))
def test_inverse_interpolates(rng, path, log_n):
    """The inverse maps evaluations (plain and on a coset) back to the coefficients."""
    a = _random(rng, 1 << log_n)
    assert FR.decode(intt(FR.encode(_naive_dft(a)))) == a
    shift = rng.randrange(1, R)
    assert FR.decode(intt(FR.encode(_naive_dft(a, shift)), coset_shift=shift)) == a


@pytest.mark.parametrize("log_n", list(range(0, 13)) + [16])
def test_round_trip(log_n):
    a = FR.random(1 << log_n)
    assert np.array_equal(ntt(ntt(a), inverse=True), a)
    assert np.array_equal(coset_intt(coset_ntt(a)), a)
    b = a.copy()
    ntt_inplace(b, coset_shift=7)
    ntt_inplace(b, inverse=True, coset_shift=7)
    assert np.array_equal(b, a)


@pytest.mark.parametrize("log_n", [0, 3, 9, 11])
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("coset_shift", [None, True, 12345])
def test_inplace_equals_copy(log_n, inverse, coset_shift):
    a = FR.random(1 << log_n)
    kept = a.copy()
    out = ntt(a, inverse=inverse, coset_shift=coset_shift)
    assert np.array_equal(a, kept)  # ntt leaves its input alone
    assert ntt_inplace(a, inverse=inverse, coset_shift=coset_shift) is None
    assert np.array_equal(a, out)


@pytest.mark.parametrize("threads", [1, 3, 5, 64])
def test_column_blocks_cover_all_columns(monkeypatch, threads):
    """The column block width is derived from the thread count; any count must tile n2."""
    monkeypatch.setattr(ntt_mod, "get_num_threads", lambda: threads)
    for log_n in (9, 14):
        a = powers(3, 1 << log_n)
        out = FR.decode(ntt(a))
        w = fr_root_of_unity(log_n)
        coeffs = FR.decode(a)
        for i in (1, 7, (1 << log_n) - 1):
            assert out[i] == _evaluate(coeffs, pow(w, i, R))
        assert np.array_equal(ntt(ntt(a), inverse=True), a)


def test_linearity(rng, path):
    n = 1 << 6
    a, b = FR.random(n), FR.random(n)
    c = rng.randrange(R)
    for kwargs in ({}, {"inverse": True}, {"coset_shift": True},
                   {"inverse": True, "coset_shift": 11}):
        lhs = ntt(FR.add(a, FR.scale(b, c)), **kwargs)
        rhs = FR.add(ntt(a, **kwargs), FR.scale(ntt(b, **kwargs), c))
        assert np.array_equal(lhs, rhs), kwargs


@pytest.mark.parametrize("log_n", [1, 4, 7, 10])
def test_polynomial_product(rng, log_n):
    """Multiplication by pointwise products of evaluations, plain and on the coset."""
    n = 1 << log_n
    a, b = _random(rng, n // 2), _random(rng, n // 2)
    expect = _schoolbook(a, b) + [0] * (n - (len(a) + len(b) - 1))
    pa = FR.encode(a + [0] * (n - len(a)))
    pb = FR.encode(b + [0] * (n - len(b)))
    assert FR.decode(intt(FR.mul(ntt(pa), ntt(pb)))) == expect
    assert FR.decode(coset_intt(FR.mul(coset_ntt(pa), coset_ntt(pb)))) == expect


def test_groth16_quotient(rng, path):
    """h = (A B - C) / Z computed on the coset, where Z = x^n - 1 is the constant shift^n - 1,
    satisfies A(x) B(x) - C(x) = h(x) Z(x) as polynomials (the Groth16 prover's use)."""
    n = 1 << 4
    a_evals = FR.encode(_random(rng, n))
    b_evals = FR.encode(_random(rng, n))
    c_evals = FR.mul(a_evals, b_evals)  # A B = C on the domain
    a, b, c = intt(a_evals), intt(b_evals), intt(c_evals)
    ab_c = FR.sub(FR.mul(coset_ntt(a), coset_ntt(b)), coset_ntt(c))
    z_inv = pow(pow(FR_MULTIPLICATIVE_GENERATOR, n, R) - 1, -1, R)
    h = FR.decode(coset_intt(FR.scale(ab_c, z_inv)))
    assert h[-1] == 0  # degree at most n - 2
    lhs = _schoolbook(FR.decode(a), FR.decode(b))
    for i, ci in enumerate(FR.decode(c)):
        lhs[i] = (lhs[i] - ci) % R
    rhs = _schoolbook(h, [R - 1] + [0] * (n - 1) + [1])
    assert lhs == rhs[:len(lhs)] and not any(rhs[len(lhs):])


def test_accepts_non_contiguous_and_read_only():
    a = FR.random(16)
    expect = ntt(a)
    wide = np.zeros((32, 4), np.uint64)
    wide[::2] = a
    assert np.array_equal(ntt(wide[::2]), expect)
    a.setflags(write=False)
    assert np.array_equal(ntt(a), expect)


# ---- refusals ------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [0, 3, 6, 12, 100])
def test_refuses_sizes_that_are_not_powers_of_two(n):
    with pytest.raises(ValueError, match="power of two"):
        ntt(np.zeros((n, 4), np.uint64))
    with pytest.raises(ValueError, match="power of two"):
        ntt_inplace(np.zeros((n, 4), np.uint64))


def test_refuses_sizes_beyond_two_adicity():
    # A zero-stride view: shape 2^29 x 4 without allocating it.
    huge = np.lib.stride_tricks.as_strided(np.zeros(4, np.uint64), shape=(1 << 29, 4),
                                           strides=(0, 8))
    with pytest.raises(ValueError, match="2\\^k"):
        ntt(huge)
    with pytest.raises(ValueError):
        twiddle_table(29)
    with pytest.raises(ValueError):
        twiddle_table(-1)


@pytest.mark.parametrize("bad", [
    np.zeros((4, 3), np.uint64),
    np.zeros((4,), np.uint64),
    np.zeros((4, 4, 1), np.uint64),
    np.zeros((4, 4), np.int64),
    np.zeros((4, 4), np.float64),
    np.zeros((4, 4), np.uint32),
    [[0, 0, 0, 0]] * 4,
    None,
])
def test_refuses_bad_shapes_and_dtypes(bad):
    with pytest.raises(ValueError):
        ntt(bad)
    with pytest.raises(ValueError):
        ntt_inplace(bad)


def test_refuses_unreduced_values():
    a = FR.random(8)
    a[5] = [np.uint64(0xFFFFFFFFFFFFFFFF)] * 4
    with pytest.raises(ValueError, match=">= r"):
        ntt(a)
    a[5] = FR.m[0:4]  # exactly r
    with pytest.raises(ValueError, match=">= r"):
        ntt_inplace(a, inverse=True)


@pytest.mark.parametrize("shift", [0, R, -R, 2.5, "5", (5,)])
def test_refuses_bad_coset_shift(shift):
    with pytest.raises(ValueError, match="coset_shift"):
        ntt(FR.random(4), coset_shift=shift)


def test_inplace_refuses_non_contiguous_or_read_only():
    wide = np.zeros((8, 4), np.uint64)
    with pytest.raises(ValueError, match="C-contiguous"):
        ntt_inplace(wide[::2])
    ro = FR.random(4)
    ro.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        ntt_inplace(ro)


@pytest.mark.parametrize("base, n", [(2.0, 4), ("2", 4), (2, -1), (2, 1.5), (True, 2), (2, None)])
def test_powers_refuses_bad_arguments(base, n):
    with pytest.raises(ValueError):
        powers(base, n)
