"""The two BN254 prime fields: Fq (coordinates) and Fr (scalars, NTT domain).

`FQ_M` / `FR_M` are the parameter tuples of `montgomery`; module-level tuples are
frozen by numba as compile-time constants.  For Fq, which the curve and pairing code
uses everywhere, short names bind the parameter once (`fq_mul(a, b)`); numba inlines them.
"""
from ._jit import inline
from .constants import P, R
from . import montgomery as mont
from .montgomery import MontgomeryField, eq as fq_eq, is_zero as fq_is_zero  # noqa: F401

FQ = MontgomeryField(P, "Fq")
FR = MontgomeryField(R, "Fr")
FQ_M, FR_M = FQ.m, FR.m
FQ_SQRT, FR_SQRT = FQ.ts, FR.ts
FQ_ONE, FQ_ZERO = FQ.ONE, FQ.ZERO
FR_ONE, FR_ZERO = FR.ONE, FR.ZERO


@inline
def fq_add(a, b):
    return mont.add(a, b, FQ_M)


@inline
def fq_sub(a, b):
    return mont.sub(a, b, FQ_M)


@inline
def fq_neg(a):
    return mont.neg(a, FQ_M)


@inline
def fq_double(a):
    return mont.add(a, a, FQ_M)


@inline
def fq_mul(a, b):
    return mont.mul(a, b, FQ_M)


@inline
def fq_sqr(a):
    return mont.mul(a, a, FQ_M)


@inline
def fq_mul_small(a, k):
    return mont.mul_small(a, k, FQ_M)


@inline
def fq_inv(a):
    return mont.inv(a, FQ_M)


@inline
def fq_pow(a, e):
    return mont.pow_limbs(a, e, FQ_M)


@inline
def fq_sqrt(a):
    return mont.sqrt(a, FQ_M, FQ_SQRT)
