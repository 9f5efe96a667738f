"""Fq, Fr and Fq2 against Python integers and py_ecc; BN254 constants against py_ecc."""
import numpy as np
import pytest
from numba import njit
from py_ecc import optimized_bn128 as bn
from py_ecc.optimized_bn128.optimized_pairing import ate_loop_count
from py_ecc.fields import optimized_bn128_FQ2 as PyFQ2
from py_ecc.fields import optimized_bn128_FQ12 as PyFQ12

from hpc_zkfl.algebra import constants as C
from hpc_zkfl.algebra import montgomery as mont
from hpc_zkfl.algebra.field_ops import f_add, f_inv, f_mul, f_mul_small, f_one_like, f_sqr, f_sub
from hpc_zkfl.algebra.fields import FQ, FR
from hpc_zkfl.algebra.fq2 import (fq2_add, fq2_conj, fq2_element, fq2_inv, fq2_mul, fq2_mul_xi,
                                  fq2_neg, fq2_sqr, fq2_sqrt, fq2_sub, fq2_value, fq2_encode,
                                  fq2_decode)
from hpc_zkfl.algebra.limbs import int_to_tuple, ints_to_limbs, limbs_to_ints

FIELDS = pytest.mark.parametrize("field", [FQ, FR], ids=["Fq", "Fr"])


def sample(rng, p, n):
    """Random elements with the edge values every field test should see."""
    edges = [0, 1, 2, p - 1, p - 2, (p - 1) // 2, 1 << 64, (1 << 128) - 1]
    return edges + [rng.randrange(p) for _ in range(n - len(edges))]


# ---- constants ---------------------------------------------------------------------------
def test_constants_match_py_ecc():
    assert C.P == bn.field_modulus
    assert C.R == bn.curve_order
    assert C.ATE_LOOP_COUNT == ate_loop_count
    assert C.G1_GENERATOR == tuple(int(c) for c in bn.normalize(bn.G1))
    x, y = bn.normalize(bn.G2)
    assert C.G2_GENERATOR == (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs))
    assert C.TWIST_B == tuple(int(c) for c in bn.b2.coeffs)
    assert C.CURVE_B == int(bn.b)
    assert C.FQ_BITS == C.FR_BITS == 254
    # Cofactor of the twist: #E'(Fq2) = r (2p - r), and it kills the generator times r.
    assert (C.P + 1 - (6 * C.BN_X**2 + 1)) == C.R  # trace of Frobenius t = 6x^2 + 1


def _fq2_to_fq12(c):
    a, b = c  # a + b u with u = w^6 - 9
    coeffs = [0] * 12
    coeffs[0] = (a - 9 * b) % C.P
    coeffs[6] = b
    return PyFQ12(coeffs)


@pytest.mark.parametrize("i", [1, 2, 3])
def test_frobenius_coefficients(i):
    # w^(p^i) = gamma[i][1] * w in py_ecc's Fq12 = Fq[w] / (w^12 - 18 w^6 + 82), w^6 = 9 + u.
    w = PyFQ12([0, 1] + [0] * 10)
    assert w ** (C.P ** i) == _fq2_to_fq12(C.FROBENIUS_GAMMA[i][1]) * w
    g1 = PyFQ2(list(C.FROBENIUS_GAMMA[i][1]))
    for j in range(6):
        assert PyFQ2(list(C.FROBENIUS_GAMMA[i][j])) == g1 ** j


def test_fr_roots_of_unity():
    assert (C.R - 1) % (1 << C.FR_TWO_ADICITY) == 0 and C.FR_ODD_PART % 2 == 1
    assert pow(C.FR_ROOT_OF_UNITY, 1 << C.FR_TWO_ADICITY, C.R) == 1
    assert pow(C.FR_ROOT_OF_UNITY, 1 << (C.FR_TWO_ADICITY - 1), C.R) != 1
    for k in (0, 1, 5, 20, 28):
        w = C.fr_root_of_unity(k)
        assert pow(w, 1 << k, C.R) == 1 and (k == 0 or pow(w, 1 << (k - 1), C.R) != 1)
    with pytest.raises(ValueError):
        C.fr_root_of_unity(29)


# ---- Fq and Fr ---------------------------------------------------------------------------
@FIELDS
def test_array_arithmetic(field, rng):
    p = field.modulus
    xs, ys = sample(rng, p, 300), sample(rng, p, 300)
    rng.shuffle(ys)
    a, b = field.encode(xs), field.encode(ys)
    assert field.decode(a) == xs
    assert field.decode(field.mul(a, b)) == [x * y % p for x, y in zip(xs, ys)]
    assert field.decode(field.add(a, b)) == [(x + y) % p for x, y in zip(xs, ys)]
    assert field.decode(field.sub(a, b)) == [(x - y) % p for x, y in zip(xs, ys)]
    assert field.decode(field.neg(a)) == [-x % p for x in xs]
    assert field.decode(field.scale(a, 12345)) == [x * 12345 % p for x in xs]


@FIELDS
@pytest.mark.parametrize("n", [0, 1, 2, 63, 64, 1000, 4099])
def test_batch_inverse(field, n, rng):
    p = field.modulus
    xs = [rng.randrange(p) for _ in range(n)]
    for k in range(0, n, 7):
        xs[k] = 0  # zeros map to zero and must not spoil their chunk
    out = field.decode(field.inverse(field.encode(xs)))
    assert out == [pow(x, -1, p) if x else 0 for x in xs]


@FIELDS
def test_scalar_functions(field, rng):
    m = field.m

    @njit
    def ops(a, b, e):
        return (mont.mul(a, b, m), mont.add(a, b, m), mont.sub(a, b, m), mont.neg(a, m),
                mont.inv(a, m), mont.pow_limbs(a, e, m), mont.mul_small(a, 9, m),
                mont.from_mont(a, m))

    p = field.modulus
    for x, y in zip(sample(rng, p, 40), reversed(sample(rng, p, 40))):
        e = rng.randrange(1 << 256)
        got = ops(field.element(x), field.element(y), int_to_tuple(e))
        want = [x * y % p, (x + y) % p, (x - y) % p, -x % p, pow(x, -1, p) if x else 0,
                pow(x, e, p), 9 * x % p]
        assert [field.value(g) for g in got[:7]] == want
        assert sum(int(w) << (64 * k) for k, w in enumerate(got[7])) == x


@FIELDS
def test_sqrt(field, rng):
    p = field.modulus
    for x in sample(rng, p, 60):
        root = field.sqrt(x)
        if pow(x, (p - 1) // 2, p) in (0, 1):
            assert root is not None and root * root % p == x
        else:
            assert root is None


@FIELDS
def test_bytes_round_trip_and_refusals(field, rng):
    p = field.modulus
    xs = sample(rng, p, 20)
    for order in ("little", "big"):
        raw = field.to_bytes(field.encode(xs), order)
        assert raw == b"".join(x.to_bytes(32, order) for x in xs)
        assert field.decode(field.from_bytes(raw, order)) == xs
    with pytest.raises(ValueError, match="multiple of 32"):
        field.from_bytes(b"\x00" * 33)
    for bad in (p, p + 1, (1 << 256) - 1):
        with pytest.raises(ValueError, match="not below the modulus"):
            field.from_bytes((5).to_bytes(32, "big") + bad.to_bytes(32, "big"), "big")
    with pytest.raises(ValueError, match="byteorder"):
        field.from_bytes(b"\x00" * 32, "middle")


def test_limb_conversions():
    values = [0, 1, (1 << 64) - 1, 1 << 64, (1 << 256) - 1]
    assert limbs_to_ints(ints_to_limbs(values)) == values
    assert ints_to_limbs([]).shape == (0, 4)
    for bad in (-1, 1 << 256):
        with pytest.raises(ValueError):
            ints_to_limbs([bad])


def test_encode_reduces_and_checks_shapes():
    assert FQ.decode(FQ.encode([C.P + 5, -1])) == [5, C.P - 1]
    with pytest.raises(ValueError, match="shape"):
        FQ.mul(np.zeros((3, 4), np.uint64), np.zeros((2, 4), np.uint64))


# ---- Fq2 ---------------------------------------------------------------------------------
@njit
def _fq2_ops(a, b):
    return (fq2_add(a, b), fq2_sub(a, b), fq2_mul(a, b), fq2_sqr(a), fq2_inv(a), fq2_mul_xi(a),
            fq2_neg(a), fq2_conj(a))


def test_fq2_against_py_ecc(rng):
    p = C.P
    for _ in range(60):
        a = (rng.randrange(p), rng.randrange(p))
        b = (rng.choice([0, 1, rng.randrange(p)]), rng.randrange(p))
        A, B = PyFQ2(list(a)), PyFQ2(list(b))
        got = [fq2_value(x) for x in _fq2_ops(fq2_element(a), fq2_element(b))]
        want = [A + B, A - B, A * B, A * A, A.inv(), A * PyFQ2([9, 1]), -A, A ** p]
        assert got == [tuple(int(c) for c in w.coeffs) for w in want]


def test_fq2_sqrt(rng):
    p = C.P
    squares = non_squares = 0
    for _ in range(30):
        a = (rng.randrange(p), rng.randrange(p))
        A = PyFQ2(list(a))
        ok, root = fq2_sqrt(fq2_element(a))
        # In Fq2, a is a square iff its norm a0^2 + a1^2 is a square in Fq.
        is_square = pow((a[0] ** 2 + a[1] ** 2) % p, (p - 1) // 2, p) == 1
        assert ok == is_square
        if ok:
            squares += 1
            assert PyFQ2(list(fq2_value(root))) ** 2 == A
        else:
            non_squares += 1
        ok, root = fq2_sqrt(fq2_element(tuple(int(c) for c in (A * A).coeffs)))
        assert ok and PyFQ2(list(fq2_value(root))) ** 2 == A * A
    assert squares and non_squares
    for special in ((0, 0), (p - 1, 0), (0, 1), (5, 0)):  # zero, -1 (= u^2), u, a non-square in Fq
        ok, root = fq2_sqrt(fq2_element(special))
        assert ok and PyFQ2(list(fq2_value(root))) ** 2 == PyFQ2(list(special))


def test_fq2_array_round_trip(rng):
    values = [(rng.randrange(C.P), rng.randrange(C.P)) for _ in range(10)]
    assert fq2_decode(fq2_encode(values)) == values


# ---- generic operations ------------------------------------------------------------------
@njit
def _curve_rhs(x):
    # x^3 + 3, then (x^3 + 3 - x) / x: written once, compiled for Fq and Fq2.
    y = f_add(f_mul(f_sqr(x), x), f_mul_small(f_one_like(x), 3))
    return y, f_mul(f_sub(y, x), f_inv(x))


def test_generic_field_ops(rng):
    x = rng.randrange(1, C.P)
    y, z = _curve_rhs(FQ.element(x))
    assert FQ.value(y) == (x**3 + 3) % C.P
    assert FQ.value(z) == (x**3 + 3 - x) * pow(x, -1, C.P) % C.P
    x2 = (rng.randrange(C.P), rng.randrange(C.P))
    X = PyFQ2(list(x2))
    y, z = _curve_rhs(fq2_element(x2))
    assert PyFQ2(list(fq2_value(y))) == X**3 + PyFQ2([3, 0])
    assert PyFQ2(list(fq2_value(z))) == (X**3 + PyFQ2([3, 0]) - X) / X
