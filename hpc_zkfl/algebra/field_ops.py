"""Field operations generic over Fq and Fq2, resolved by numba at compile time.

Curve formulas (G1 over Fq, G2 over Fq2), MSM and serialization are written once
against `f_add`, `f_mul`, ...; numba picks the Fq or Fq2 implementation from the
argument's type (an Fq element is `UniTuple(uint64, 4)`, an Fq2 element a pair of those)
and inlines it, so the generic code costs nothing at run time.
"""
from numba import types
from numba.extending import overload

from .fields import FQ_ONE, FQ_ZERO, fq_add, fq_double, fq_eq, fq_inv, fq_is_zero, fq_mul
from .fields import fq_mul_small, fq_neg, fq_sqr, fq_sub
from .fq2 import FQ2_ONE, FQ2_ZERO, fq2_add, fq2_double, fq2_eq, fq2_inv, fq2_is_zero, fq2_mul
from .fq2 import fq2_mul_small, fq2_neg, fq2_sqr, fq2_sub


def _is_fq(t):
    return isinstance(t, types.UniTuple) and t.count == 4 and t.dtype == types.uint64


def _is_fq2(t):
    return isinstance(t, (types.UniTuple, types.Tuple)) and len(t) == 2 and all(_is_fq(x) for x in t)


def _pick(t, fq_impl, fq2_impl):
    if _is_fq(t):
        return fq_impl
    if _is_fq2(t):
        return fq2_impl
    return None


def _stub(*args):
    raise TypeError("generic field operations are for numba kernels only")


def _generic(fq_impl, fq2_impl):
    """A Python stub plus an inlined numba overload choosing by the first argument's type."""
    stub = lambda *args: _stub(*args)  # noqa: E731  (each operation needs its own function object)
    if fq_impl.__code__.co_argcount == 1:
        overload(stub)(lambda a: _pick(a, fq_impl, fq2_impl))
    else:
        overload(stub)(lambda a, b: _pick(a, fq_impl, fq2_impl))
    return stub


f_add = _generic(lambda a, b: fq_add(a, b), lambda a, b: fq2_add(a, b))
f_sub = _generic(lambda a, b: fq_sub(a, b), lambda a, b: fq2_sub(a, b))
f_mul = _generic(lambda a, b: fq_mul(a, b), lambda a, b: fq2_mul(a, b))
f_sqr = _generic(lambda a: fq_sqr(a), lambda a: fq2_sqr(a))
f_neg = _generic(lambda a: fq_neg(a), lambda a: fq2_neg(a))
f_double = _generic(lambda a: fq_double(a), lambda a: fq2_double(a))
f_mul_small = _generic(lambda a, b: fq_mul_small(a, b), lambda a, b: fq2_mul_small(a, b))
f_inv = _generic(lambda a: fq_inv(a), lambda a: fq2_inv(a))
f_is_zero = _generic(lambda a: fq_is_zero(a), lambda a: fq2_is_zero(a))
f_eq = _generic(lambda a, b: fq_eq(a, b), lambda a, b: fq2_eq(a, b))
# The zero and one of the same field as the argument.
f_zero_like = _generic(lambda a: FQ_ZERO, lambda a: FQ2_ZERO)
f_one_like = _generic(lambda a: FQ_ONE, lambda a: FQ2_ONE)


# Field elements stored in arrays: Fq rows are arr[..., 4], Fq2 rows arr[..., 2, 4].  A point
# array holds coordinates along one axis: G1 (n, k, 4), G2 (n, k, 2, 4).
def f_load(arr, i, j):
    """Coordinate j of point i of a point array, as an Fq or Fq2 element."""
    raise TypeError("for numba kernels only")


def f_store(arr, i, j, x):
    """Store coordinate j of point i of a point array."""
    raise TypeError("for numba kernels only")


@overload(f_load)
def _ol_f_load(arr, i, j):
    if arr.ndim == 3:
        return lambda arr, i, j: (arr[i, j, 0], arr[i, j, 1], arr[i, j, 2], arr[i, j, 3])
    if arr.ndim == 4:
        return lambda arr, i, j: ((arr[i, j, 0, 0], arr[i, j, 0, 1], arr[i, j, 0, 2], arr[i, j, 0, 3]),
                                  (arr[i, j, 1, 0], arr[i, j, 1, 1], arr[i, j, 1, 2], arr[i, j, 1, 3]))
    return None


@overload(f_store)
def _ol_f_store(arr, i, j, x):
    if arr.ndim == 3:
        def store_fq(arr, i, j, x):
            for k in range(4):
                arr[i, j, k] = x[k]
        return store_fq
    if arr.ndim == 4:
        def store_fq2(arr, i, j, x):
            for k in range(4):
                arr[i, j, 0, k] = x[0][k]
                arr[i, j, 1, k] = x[1][k]
        return store_fq2
    return None
