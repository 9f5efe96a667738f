"""The pairing target field: Fq6 = Fq2[v] / (v^3 - xi) and Fq12 = Fq6[w] / (w^2 - v), xi = 9 + u.

Inside kernels an Fq6 element is a triple of Fq2 elements `(d0, d1, d2)` meaning
d0 + d1 v + d2 v^2, and an Fq12 element a pair of Fq6 elements `(c0, c1)` meaning
c0 + c1 w: nested tuples of limb tuples that live in registers.  In memory an Fq12
element is a `(2, 3, 2, 4)` uint64 array in Montgomery form (arrays of them `(n, 2, 3, 2, 4)`).

Since v = w^2 and w^6 = xi, the tower element is sum_{j<6} a_j w^j with Fq2 coefficients
a_{2i+k} = c_k.d_i; py_ecc's Fq12 = Fq[w] / (w^12 - 18 w^6 + 82) uses the same w, so with
u = w^6 - 9 the coefficient a_j = x + y u contributes x - 9y to w^j and y to w^{j+6}.

Formulas: Karatsuba multiplication and Chung-Hasan squaring (CH-SQR2) in Fq6, Karatsuba
multiplication and complex squaring in Fq12 (Devegili, O hEigeartaigh, Scott, Dahab,
"Multiplication and squaring on pairing-friendly fields", eprint 2006/471); squaring in
the cyclotomic subgroup after Granger and Scott, "Faster squaring in the cyclotomic
subgroup of sixth degree extensions", eprint 2009/565, viewing Fq12 as Fq4[w] / (w^3 - s)
with Fq4 = Fq2[s] / (s^2 - xi), s = w^3.  Frobenius maps use
FROBENIUS_GAMMA[i][j] = xi^(j (p^i - 1) / 6): (a_j w^j)^(p^i) = conj^i(a_j) gamma[i][j] w^j.
"""
import numpy as np

from ._jit import inline, jit
from .constants import FROBENIUS_GAMMA, P
from .fields import FQ
from .fq2 import (FQ2_ONE, FQ2_ZERO, fq2_add, fq2_conj, fq2_double, fq2_element, fq2_eq, fq2_inv,
                  fq2_is_zero, fq2_mul, fq2_mul_fq, fq2_mul_xi, fq2_neg, fq2_sqr, fq2_sub)

FQ6_ZERO = (FQ2_ZERO, FQ2_ZERO, FQ2_ZERO)
FQ6_ONE = (FQ2_ONE, FQ2_ZERO, FQ2_ZERO)
FQ12_ZERO = (FQ6_ZERO, FQ6_ZERO)
FQ12_ONE = (FQ6_ONE, FQ6_ZERO)

# Frobenius coefficients as Montgomery constants, gamma[i][j] for w^j (gamma[i][0] = 1).
_G1 = tuple(fq2_element(g) for g in FROBENIUS_GAMMA[1])
_G3 = tuple(fq2_element(g) for g in FROBENIUS_GAMMA[3])
# p^2: xi^(j (p^2 - 1) / 6) lies in Fq (its u-part is zero), so one Fq multiplication each.
assert all(g[1] == 0 for g in FROBENIUS_GAMMA[2])
_G2 = tuple(FQ.element(g[0]) for g in FROBENIUS_GAMMA[2])
G1_1, G1_2, G1_3, G1_4, G1_5 = _G1[1:]
G2_1, G2_2, G2_3, G2_4, G2_5 = _G2[1:]
G3_1, G3_2, G3_3, G3_4, G3_5 = _G3[1:]


# ---- Fq6 ---------------------------------------------------------------------------------
@inline
def fq6_add(a, b):
    return (fq2_add(a[0], b[0]), fq2_add(a[1], b[1]), fq2_add(a[2], b[2]))


@inline
def fq6_sub(a, b):
    return (fq2_sub(a[0], b[0]), fq2_sub(a[1], b[1]), fq2_sub(a[2], b[2]))


@inline
def fq6_neg(a):
    return (fq2_neg(a[0]), fq2_neg(a[1]), fq2_neg(a[2]))


@inline
def fq6_double(a):
    return (fq2_double(a[0]), fq2_double(a[1]), fq2_double(a[2]))


@inline
def fq6_mul_by_v(a):
    """a * v: the coefficients shift up and v^3 = xi wraps around."""
    return (fq2_mul_xi(a[2]), a[0], a[1])


@inline
def fq6_mul(a, b):
    """Karatsuba: 6 Fq2 multiplications."""
    v0 = fq2_mul(a[0], b[0])
    v1 = fq2_mul(a[1], b[1])
    v2 = fq2_mul(a[2], b[2])
    t0 = fq2_sub(fq2_sub(fq2_mul(fq2_add(a[1], a[2]), fq2_add(b[1], b[2])), v1), v2)
    t1 = fq2_sub(fq2_sub(fq2_mul(fq2_add(a[0], a[1]), fq2_add(b[0], b[1])), v0), v1)
    t2 = fq2_sub(fq2_mul(fq2_add(a[0], a[2]), fq2_add(b[0], b[2])), v0)
    return (fq2_add(v0, fq2_mul_xi(t0)), fq2_add(t1, fq2_mul_xi(v2)), fq2_sub(fq2_add(t2, v1), v2))


@inline
def fq6_sqr(a):
    """Chung-Hasan CH-SQR2: 2 multiplications and 3 squarings in Fq2."""
    s0 = fq2_sqr(a[0])
    s1 = fq2_double(fq2_mul(a[0], a[1]))
    s2 = fq2_sqr(fq2_add(fq2_sub(a[0], a[1]), a[2]))
    s3 = fq2_double(fq2_mul(a[1], a[2]))
    s4 = fq2_sqr(a[2])
    return (fq2_add(s0, fq2_mul_xi(s3)), fq2_add(s1, fq2_mul_xi(s4)),
            fq2_sub(fq2_sub(fq2_add(fq2_add(s1, s2), s3), s0), s4))


@inline
def fq6_mul_by_01(a, b0, b1):
    """a * (b0 + b1 v): 5 Fq2 multiplications."""
    v0 = fq2_mul(a[0], b0)
    v1 = fq2_mul(a[1], b1)
    c0 = fq2_add(v0, fq2_mul_xi(fq2_mul(a[2], b1)))
    c1 = fq2_sub(fq2_sub(fq2_mul(fq2_add(a[0], a[1]), fq2_add(b0, b1)), v0), v1)
    c2 = fq2_add(fq2_mul(a[2], b0), v1)
    return (c0, c1, c2)


@inline
def fq6_mul_fq2(a, k):
    return (fq2_mul(a[0], k), fq2_mul(a[1], k), fq2_mul(a[2], k))


@jit
def fq6_inv(a):
    """Via the norm to Fq2 (one Fq2 inversion); inv(0) = 0."""
    t0 = fq2_sub(fq2_sqr(a[0]), fq2_mul_xi(fq2_mul(a[1], a[2])))
    t1 = fq2_sub(fq2_mul_xi(fq2_sqr(a[2])), fq2_mul(a[0], a[1]))
    t2 = fq2_sub(fq2_sqr(a[1]), fq2_mul(a[0], a[2]))
    norm = fq2_add(fq2_mul(a[0], t0), fq2_mul_xi(fq2_add(fq2_mul(a[2], t1), fq2_mul(a[1], t2))))
    k = fq2_inv(norm)
    return (fq2_mul(t0, k), fq2_mul(t1, k), fq2_mul(t2, k))


@inline
def fq6_is_zero(a):
    return fq2_is_zero(a[0]) and fq2_is_zero(a[1]) and fq2_is_zero(a[2])


@inline
def fq6_eq(a, b):
    return fq2_eq(a[0], b[0]) and fq2_eq(a[1], b[1]) and fq2_eq(a[2], b[2])


# ---- Fq12 --------------------------------------------------------------------------------
@inline
def fq12_add(a, b):
    return (fq6_add(a[0], b[0]), fq6_add(a[1], b[1]))


@inline
def fq12_sub(a, b):
    return (fq6_sub(a[0], b[0]), fq6_sub(a[1], b[1]))


@inline
def fq12_neg(a):
    return (fq6_neg(a[0]), fq6_neg(a[1]))


@inline
def fq12_conj(a):
    """a^(p^6): w -> -w.  The inverse of a unitary element (one in the cyclotomic subgroup)."""
    return (a[0], fq6_neg(a[1]))


@inline
def fq12_mul(a, b):
    """Karatsuba over Fq6: 3 Fq6 = 18 Fq2 multiplications."""
    v0 = fq6_mul(a[0], b[0])
    v1 = fq6_mul(a[1], b[1])
    s = fq6_mul(fq6_add(a[0], a[1]), fq6_add(b[0], b[1]))
    return (fq6_add(v0, fq6_mul_by_v(v1)), fq6_sub(fq6_sub(s, v0), v1))


@inline
def fq12_sqr(a):
    """Complex squaring: 2 Fq6 multiplications."""
    t = fq6_mul(a[0], a[1])
    c0 = fq6_mul(fq6_add(a[0], a[1]), fq6_add(a[0], fq6_mul_by_v(a[1])))
    return (fq6_sub(fq6_sub(c0, t), fq6_mul_by_v(t)), fq6_double(t))


@jit
def fq12_inv(a):
    """(c0 - c1 w) / (c0^2 - v c1^2); inv(0) = 0."""
    k = fq6_inv(fq6_sub(fq6_sqr(a[0]), fq6_mul_by_v(fq6_sqr(a[1]))))
    return (fq6_mul(a[0], k), fq6_neg(fq6_mul(a[1], k)))


@inline
def fq12_mul_by_034(f, l0, l3, l4):
    """f * (l0 + (l3 + l4 v) w): the sparse line of the Miller loop (coefficients of w^0,
    w^1, w^3), 13 Fq2 multiplications instead of 18."""
    a = fq6_mul_fq2(f[0], l0)
    b = fq6_mul_by_01(f[1], l3, l4)
    s = fq6_mul_by_01(fq6_add(f[0], f[1]), fq2_add(l0, l3), l4)
    return (fq6_add(a, fq6_mul_by_v(b)), fq6_sub(fq6_sub(s, a), b))


@inline
def fq12_frobenius(a):
    """a^p."""
    g, h = a
    return ((fq2_conj(g[0]), fq2_mul(fq2_conj(g[1]), G1_2), fq2_mul(fq2_conj(g[2]), G1_4)),
            (fq2_mul(fq2_conj(h[0]), G1_1), fq2_mul(fq2_conj(h[1]), G1_3),
             fq2_mul(fq2_conj(h[2]), G1_5)))


@inline
def fq12_frobenius2(a):
    """a^(p^2): the coefficients lie in Fq."""
    g, h = a
    return ((g[0], fq2_mul_fq(g[1], G2_2), fq2_mul_fq(g[2], G2_4)),
            (fq2_mul_fq(h[0], G2_1), fq2_mul_fq(h[1], G2_3), fq2_mul_fq(h[2], G2_5)))


@inline
def fq12_frobenius3(a):
    """a^(p^3)."""
    g, h = a
    return ((fq2_conj(g[0]), fq2_mul(fq2_conj(g[1]), G3_2), fq2_mul(fq2_conj(g[2]), G3_4)),
            (fq2_mul(fq2_conj(h[0]), G3_1), fq2_mul(fq2_conj(h[1]), G3_3),
             fq2_mul(fq2_conj(h[2]), G3_5)))


@inline
def _fq4_sqr(x, y):
    """(x + y s)^2 in Fq4 = Fq2[s] / (s^2 - xi): 3 Fq2 squarings."""
    t0 = fq2_sqr(x)
    t1 = fq2_sqr(y)
    return fq2_add(t0, fq2_mul_xi(t1)), fq2_sub(fq2_sub(fq2_sqr(fq2_add(x, y)), t0), t1)


@inline
def _three_minus_two(s, a):
    """3 s - 2 a."""
    return fq2_sub(fq2_add(fq2_double(s), s), fq2_double(a))


@inline
def _three_plus_two(s, a):
    """3 s + 2 a."""
    return fq2_add(fq2_add(fq2_double(s), s), fq2_double(a))


@inline
def fq12_cyclotomic_sqr(a):
    """a^2 for a in the cyclotomic subgroup (a^(p^4 - p^2 + 1) = 1), Granger-Scott: 9 Fq2
    squarings.  With a = A0 + A1 w + A2 w^2 over Fq4 (A0 = a0 + a3 s, A1 = a1 + a4 s,
    A2 = a2 + a5 s in the w-basis), a^2 = (3 A0^2 - 2 conj A0) + (3 s A2^2 + 2 conj A1) w
    + (3 A1^2 - 2 conj A2) w^2, conj being s -> -s."""
    g, h = a
    s00, s01 = _fq4_sqr(g[0], h[1])       # A0^2
    s10, s11 = _fq4_sqr(h[0], g[2])       # A1^2
    s20, s21 = _fq4_sqr(g[1], h[2])       # A2^2
    b00 = _three_minus_two(s00, g[0])
    b01 = _three_plus_two(s01, h[1])
    b10 = _three_plus_two(fq2_mul_xi(s21), h[0])    # s * A2^2 = xi s21 + s20 s
    b11 = _three_minus_two(s20, g[2])
    b20 = _three_minus_two(s10, g[1])
    b21 = _three_plus_two(s11, h[2])
    return ((b00, b20, b11), (b10, b01, b21))


@inline
def fq12_is_zero(a):
    return fq6_is_zero(a[0]) and fq6_is_zero(a[1])


@inline
def fq12_eq(a, b):
    return fq6_eq(a[0], b[0]) and fq6_eq(a[1], b[1])


@inline
def fq12_is_one(a):
    return fq12_eq(a, FQ12_ONE)


# ---- memory: rows of (n, 2, 3, 2, 4) arrays ------------------------------------------------
@inline
def _load2(arr, i, k, j):
    return ((arr[i, k, j, 0, 0], arr[i, k, j, 0, 1], arr[i, k, j, 0, 2], arr[i, k, j, 0, 3]),
            (arr[i, k, j, 1, 0], arr[i, k, j, 1, 1], arr[i, k, j, 1, 2], arr[i, k, j, 1, 3]))


@inline
def fq12_load(arr, i):
    """Element i of an (n, 2, 3, 2, 4) array."""
    return ((_load2(arr, i, 0, 0), _load2(arr, i, 0, 1), _load2(arr, i, 0, 2)),
            (_load2(arr, i, 1, 0), _load2(arr, i, 1, 1), _load2(arr, i, 1, 2)))


@inline
def fq12_store(arr, i, x):
    for k in range(2):
        for j in range(3):
            for c in range(2):
                for limb in range(4):
                    arr[i, k, j, c, limb] = x[k][j][c][limb]


# ---- Python-side conversions ---------------------------------------------------------------
# Tower slot (k, i) holds the Fq2 coefficient of w^(2i + k).
_SLOTS = [(k, i) for i in range(3) for k in range(2)]


def fq12_from_coeffs(coeffs) -> np.ndarray:
    """py_ecc basis coefficients (12 ints of w^0..w^11) -> (2, 3, 2, 4) Montgomery array."""
    c = [int(x) % P for x in coeffs]
    if len(c) != 12:
        raise ValueError(f"an Fq12 element has 12 coefficients, got {len(c)}")
    flat = [0] * 12
    for j in range(6):
        k, i = j % 2, j // 2
        y = c[j + 6]
        x = (c[j] + 9 * y) % P           # x + y u = (x - 9y) + y w^6
        flat[(k * 3 + i) * 2] = x
        flat[(k * 3 + i) * 2 + 1] = y
    return FQ.encode(flat).reshape(2, 3, 2, 4)


def fq12_to_coeffs(value) -> list:
    """(2, 3, 2, 4) Montgomery array -> the 12 py_ecc basis coefficients (ints mod p)."""
    arr = np.ascontiguousarray(value, dtype=np.uint64)
    if arr.shape != (2, 3, 2, 4):
        raise ValueError(f"an Fq12 value is a (2, 3, 2, 4) array, got shape {arr.shape}")
    flat = FQ.decode(arr.reshape(12, 4))
    coeffs = [0] * 12
    for j in range(6):
        k, i = j % 2, j // 2
        x, y = flat[(k * 3 + i) * 2], flat[(k * 3 + i) * 2 + 1]
        coeffs[j] = (x - 9 * y) % P
        coeffs[j + 6] = y
    return coeffs


def fq12_to_py_ecc(value):
    """(2, 3, 2, 4) Montgomery array -> py_ecc's optimized FQ12 (for tests and interop)."""
    from py_ecc.fields import optimized_bn128_FQ12
    return optimized_bn128_FQ12(fq12_to_coeffs(value))


def fq12_from_py_ecc(value) -> np.ndarray:
    """py_ecc FQ12 (optimized or reference) -> (2, 3, 2, 4) Montgomery array."""
    return fq12_from_coeffs([int(c) for c in value.coeffs])


_ONE_ARRAY = np.array(FQ12_ONE, dtype=np.uint64)


def fq12_one() -> np.ndarray:
    """The element 1 as a (2, 3, 2, 4) Montgomery array."""
    return _ONE_ARRAY.copy()


def fq12_value_is_one(value) -> bool:
    """Whether a (2, 3, 2, 4) Montgomery array is the element 1."""
    arr = np.asarray(value, dtype=np.uint64)
    return arr.shape == (2, 3, 2, 4) and bool(np.array_equal(arr, _ONE_ARRAY))
