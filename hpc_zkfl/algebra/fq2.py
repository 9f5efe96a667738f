"""Fq2 = Fq[u] / (u^2 + 1).

An element inside a kernel is a pair of Fq limb tuples `(c0, c1)` meaning c0 + c1*u;
in memory, rows of a `(n, 2, 4)` uint64 array.  Multiplication is Karatsuba (3 Fq
multiplications), squaring the complex method (2 multiplications).
"""
import numpy as np

from ._jit import inline, jit
from .constants import P
from .fields import FQ, FQ_ONE, FQ_ZERO, fq_add, fq_double, fq_eq, fq_inv, fq_is_zero
from .fields import fq_mul, fq_mul_small, fq_neg, fq_sqr, fq_sub
from .limbs import int_to_tuple, ints_to_limbs, limbs_to_ints

FQ2_ZERO = (FQ_ZERO, FQ_ZERO)
FQ2_ONE = (FQ_ONE, FQ_ZERO)
_SQRT_EXP_A = int_to_tuple((P - 3) // 4)   # a^((p-3)/4)
_SQRT_EXP_B = int_to_tuple((P - 1) // 2)
_MINUS_ONE = FQ.element(P - 1)


@inline
def fq2_add(a, b):
    return (fq_add(a[0], b[0]), fq_add(a[1], b[1]))


@inline
def fq2_sub(a, b):
    return (fq_sub(a[0], b[0]), fq_sub(a[1], b[1]))


@inline
def fq2_neg(a):
    return (fq_neg(a[0]), fq_neg(a[1]))


@inline
def fq2_double(a):
    return (fq_double(a[0]), fq_double(a[1]))


@inline
def fq2_conj(a):
    """The p-power Frobenius of Fq2."""
    return (a[0], fq_neg(a[1]))


@inline
def fq2_mul(a, b):
    v0 = fq_mul(a[0], b[0])
    v1 = fq_mul(a[1], b[1])
    s = fq_mul(fq_add(a[0], a[1]), fq_add(b[0], b[1]))
    return (fq_sub(v0, v1), fq_sub(fq_sub(s, v0), v1))


@inline
def fq2_sqr(a):
    # (a0 + a1 u)^2 = (a0 + a1)(a0 - a1) + 2 a0 a1 u
    t = fq_mul(a[0], a[1])
    return (fq_mul(fq_add(a[0], a[1]), fq_sub(a[0], a[1])), fq_double(t))


@inline
def fq2_mul_fq(a, k):
    """Fq2 times an Fq element."""
    return (fq_mul(a[0], k), fq_mul(a[1], k))


@inline
def fq2_mul_small(a, k):
    return (fq_mul_small(a[0], k), fq_mul_small(a[1], k))


@inline
def fq2_mul_xi(a):
    """Multiply by the tower non-residue xi = 9 + u: (9 a0 - a1) + (a0 + 9 a1) u."""
    return (fq_sub(fq_mul_small(a[0], 9), a[1]), fq_add(a[0], fq_mul_small(a[1], 9)))


@inline
def fq2_is_zero(a):
    return fq_is_zero(a[0]) and fq_is_zero(a[1])


@inline
def fq2_eq(a, b):
    return fq_eq(a[0], b[0]) and fq_eq(a[1], b[1])


@inline
def fq2_inv(a):
    """1 / (a0 + a1 u) = (a0 - a1 u) / (a0^2 + a1^2); inv(0) = 0."""
    t = fq_inv(fq_add(fq_sqr(a[0]), fq_sqr(a[1])))
    return (fq_mul(a[0], t), fq_neg(fq_mul(a[1], t)))


@jit
def fq2_pow(a, e):
    """a^e for a plain limb tuple e."""
    acc = FQ2_ONE
    for limb in range(3, -1, -1):
        w = e[limb]
        for bit in range(63, -1, -1):
            acc = fq2_sqr(acc)
            if (w >> np.uint64(bit)) & np.uint64(1):
                acc = fq2_mul(acc, a)
    return acc


@jit
def fq2_sqrt(a):
    """(True, a root) or (False, 0).  Adj and Rodriguez-Henriquez, "Square root computation
    over even extension fields", eprint 2012/685, Algorithm 9 (p = 3 mod 4)."""
    if fq2_is_zero(a):
        return True, a
    a1 = fq2_pow(a, _SQRT_EXP_A)
    alpha = fq2_mul(a1, fq2_mul(a1, a))          # a^((p-1)/2)
    x0 = fq2_mul(a1, a)                          # a^((p+1)/4)
    minus_one = (_MINUS_ONE, FQ_ZERO)
    if fq2_eq(fq2_mul(fq2_conj(alpha), alpha), minus_one):
        return False, FQ2_ZERO
    if fq2_eq(alpha, minus_one):
        x = (fq_neg(x0[1]), x0[0])               # u * x0
    else:
        b = fq2_pow(fq2_add(FQ2_ONE, alpha), _SQRT_EXP_B)
        x = fq2_mul(b, x0)
    if not fq2_eq(fq2_sqr(x), a):
        return False, FQ2_ZERO
    return True, x


# ---- Python-side conversions -----------------------------------------------------------
def fq2_element(value):
    """(c0, c1) Python ints -> a Montgomery Fq2 tuple."""
    return (FQ.element(value[0]), FQ.element(value[1]))


def fq2_value(t):
    """A Montgomery Fq2 tuple -> (c0, c1) Python ints."""
    return (FQ.value(t[0]), FQ.value(t[1]))


def fq2_encode(values) -> np.ndarray:
    """[(c0, c1), ...] Python ints -> (n, 2, 4) Montgomery array."""
    flat = [c for v in values for c in v]
    return FQ.encode(flat).reshape(-1, 2, 4)


def fq2_decode(arr) -> list:
    """(n, 2, 4) Montgomery array -> [(c0, c1), ...] Python ints."""
    flat = FQ.decode(np.ascontiguousarray(arr).reshape(-1, 4))
    return list(zip(flat[0::2], flat[1::2]))


__all__ = [name for name in dir() if name.startswith(("fq2_", "FQ2_"))] + [
    "ints_to_limbs", "limbs_to_ints"]
