"""The Fq6 / Fq12 tower against py_ecc's FQ12 (Fq[w] / (w^12 - 18 w^6 + 82)) on random inputs."""
import numpy as np
import pytest
from py_ecc.fields import optimized_bn128_FQ12 as PyFQ12

from hpc_zkfl.algebra._jit import jit
from hpc_zkfl.algebra.constants import P
from hpc_zkfl.algebra.fq12 import (FQ6_ZERO, FQ12_ONE, fq6_inv, fq6_mul, fq6_mul_by_01, fq6_sqr,
                                   fq12_add, fq12_conj, fq12_cyclotomic_sqr, fq12_frobenius,
                                   fq12_frobenius2, fq12_frobenius3, fq12_from_coeffs,
                                   fq12_from_py_ecc, fq12_inv, fq12_is_one, fq12_load,
                                   fq12_mul, fq12_mul_by_034, fq12_neg, fq12_one, fq12_sqr,
                                   fq12_store, fq12_sub, fq12_to_coeffs, fq12_to_py_ecc,
                                   fq12_value_is_one)

OPS = ["add", "sub", "neg", "mul", "sqr", "inv", "conj", "frob1", "frob2", "frob3", "cyc_sqr",
       "mul_034", "easy_part", "fq6_mul", "fq6_sqr", "fq6_inv", "fq6_mul_01", "is_one"]
OP = {name: k for k, name in enumerate(OPS)}


@jit
def _apply(op, a, b, out):
    """out[i] = op(a[i], b[i]): one compiled kernel for every tower operation under test."""
    for i in range(a.shape[0]):
        x = fq12_load(a, i)
        y = fq12_load(b, i)
        if op == 0:
            r = fq12_add(x, y)
        elif op == 1:
            r = fq12_sub(x, y)
        elif op == 2:
            r = fq12_neg(x)
        elif op == 3:
            r = fq12_mul(x, y)
        elif op == 4:
            r = fq12_sqr(x)
        elif op == 5:
            r = fq12_inv(x)
        elif op == 6:
            r = fq12_conj(x)
        elif op == 7:
            r = fq12_frobenius(x)
        elif op == 8:
            r = fq12_frobenius2(x)
        elif op == 9:
            r = fq12_frobenius3(x)
        elif op == 10:
            r = fq12_cyclotomic_sqr(x)
        elif op == 11:
            r = fq12_mul_by_034(x, y[0][0], y[1][0], y[1][1])
        elif op == 12:
            t = fq12_mul(fq12_conj(x), fq12_inv(x))
            r = fq12_mul(fq12_frobenius2(t), t)
        elif op == 13:
            r = (fq6_mul(x[0], y[0]), FQ6_ZERO)
        elif op == 14:
            r = (fq6_sqr(x[0]), FQ6_ZERO)
        elif op == 15:
            r = (fq6_inv(x[0]), FQ6_ZERO)
        elif op == 16:
            r = (fq6_mul_by_01(x[0], y[0][0], y[0][1]), FQ6_ZERO)
        else:
            r = FQ12_ONE if fq12_is_one(x) else (FQ6_ZERO, FQ6_ZERO)
        fq12_store(out, i, r)


def run(op, xs, ys=None):
    a = np.stack([fq12_from_py_ecc(x) for x in xs])
    b = a if ys is None else np.stack([fq12_from_py_ecc(y) for y in ys])
    out = np.empty_like(a)
    _apply(OP[op], a, b, out)
    return [fq12_to_py_ecc(v) for v in out]


def rand12(rng):
    return PyFQ12([rng.randrange(P) for _ in range(12)])


# Tower slots (c_k.d_i <-> w^(2i + k)) as py_ecc elements: an Fq2 value x + y u at w^j.
def slot(j, x, y):
    coeffs = [0] * 12
    coeffs[j] = (x - 9 * y) % P
    coeffs[j + 6] = y
    return PyFQ12(coeffs)


def rand_sparse(rng, js):
    out = PyFQ12.zero()
    for j in js:
        out = out + slot(j, rng.randrange(P), rng.randrange(P))
    return out


@pytest.fixture(scope="module")
def samples(rng):
    xs = [rand12(rng) for _ in range(6)] + [PyFQ12.one(), PyFQ12.zero(), PyFQ12([P - 1] * 12)]
    ys = [rand12(rng) for _ in range(len(xs))]
    return xs, ys


def test_conversion_roundtrip(rng):
    for _ in range(5):
        x = rand12(rng)
        assert fq12_to_py_ecc(fq12_from_py_ecc(x)) == x
        coeffs = [int(c) for c in x.coeffs]
        assert fq12_to_coeffs(fq12_from_coeffs(coeffs)) == coeffs
    assert fq12_to_py_ecc(fq12_one()) == PyFQ12.one()
    assert fq12_value_is_one(fq12_one()) and not fq12_value_is_one(fq12_from_py_ecc(rand12(rng)))
    # The tower's v and w are py_ecc's w^2 and w.
    w = PyFQ12([0, 1] + [0] * 10)
    t = np.zeros((2, 3, 2, 4), np.uint64)
    t[1, 0] = fq12_one()[0, 0]         # c1.d0 = 1: w
    assert fq12_to_py_ecc(t) == w
    t = np.zeros((2, 3, 2, 4), np.uint64)
    t[0, 1] = fq12_one()[0, 0]         # c0.d1 = 1: v = w^2
    assert fq12_to_py_ecc(t) == w * w
    with pytest.raises(ValueError):
        fq12_from_coeffs([1] * 11)
    with pytest.raises(ValueError):
        fq12_to_coeffs(np.zeros((12, 4), np.uint64))


@pytest.mark.parametrize("op", ["add", "sub", "mul"])
def test_binary_ops(op, samples):
    xs, ys = samples
    expect = {"add": lambda x, y: x + y, "sub": lambda x, y: x - y, "mul": lambda x, y: x * y}[op]
    assert run(op, xs, ys) == [expect(x, y) for x, y in zip(xs, ys)]


def test_unary_ops(samples):
    xs, _ = samples
    assert run("neg", xs) == [-x for x in xs]
    assert run("sqr", xs) == [x * x for x in xs]
    # conj is w -> -w: negate the odd powers of w.
    assert run("conj", xs) == [PyFQ12([c if j % 2 == 0 else -c for j, c in enumerate(x.coeffs)])
                               for x in xs]
    assert run("is_one", xs) == [PyFQ12.one() if x == PyFQ12.one() else PyFQ12.zero() for x in xs]


def test_inverse(samples):
    xs, _ = samples
    got = run("inv", xs)
    for x, g in zip(xs, got):
        assert g == (PyFQ12.zero() if x == PyFQ12.zero() else PyFQ12.one() / x)


@pytest.mark.parametrize("i", [1, 2, 3])
def test_frobenius(i, samples):
    xs, _ = samples
    assert run(f"frob{i}", xs) == [x ** (P ** i) for x in xs]


def test_conj_is_frobenius6(rng):
    xs = [rand12(rng) for _ in range(3)]
    assert run("conj", xs) == [x ** (P ** 6) for x in xs]


def test_sparse_line_multiplication(rng, samples):
    xs, _ = samples
    lines = [rand_sparse(rng, (0, 1, 3)) for _ in xs]  # slots c0.d0, c1.d0, c1.d1
    assert run("mul_034", xs, lines) == [x * line for x, line in zip(xs, lines)]


def test_cyclotomic_squaring(rng):
    xs = [rand12(rng) for _ in range(4)]
    us = run("easy_part", xs)
    for x, u in zip(xs, us):
        assert u == x ** ((P ** 6 - 1) * (P ** 2 + 1))
        assert u ** (P ** 4 - P ** 2 + 1) == PyFQ12.one()     # in the cyclotomic subgroup
    assert run("cyc_sqr", us) == [u * u for u in us]
    # Away from the subgroup the shortcut is wrong, which the test must be able to see.
    assert run("cyc_sqr", xs[:1]) != [xs[0] * xs[0]]


def test_fq6_ops(rng):
    # An Fq6 element is an Fq12 element with c1 = 0 (slots w^0, w^2, w^4).
    xs = [rand_sparse(rng, (0, 2, 4)) for _ in range(5)] + [PyFQ12.zero()]
    ys = [rand_sparse(rng, (0, 2, 4)) for _ in range(6)]
    assert run("fq6_mul", xs, ys) == [x * y for x, y in zip(xs, ys)]
    assert run("fq6_sqr", xs) == [x * x for x in xs]
    zero, one = PyFQ12.zero(), PyFQ12.one()
    assert run("fq6_inv", xs) == [zero if x == zero else one / x for x in xs]
    ls = [rand_sparse(rng, (0, 2)) for _ in range(6)]     # b0 + b1 v
    assert run("fq6_mul_01", xs, ls) == [x * y for x, y in zip(xs, ls)]


def test_unitary_inverse_is_conjugate(rng):
    xs = [rand12(rng) for _ in range(2)]
    us = run("easy_part", xs)
    assert run("conj", us) == run("inv", us)
    assert [u * c for u, c in zip(us, run("conj", us))] == [PyFQ12.one()] * 2

