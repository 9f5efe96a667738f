"""G1 (over Fq) and G2 (over Fq2) point arithmetic, written once for both groups.

Both curves have a = 0.  Inside kernels a point is Jacobian `(X, Y, Z)`, x = X/Z^2,
y = Y/Z^3, the point at infinity has Z = 0; formulas from the Explicit-Formulas
Database (Bernstein-Lange): dbl-2009-l, add-2007-bl, madd-2007-bl.  In arrays, affine
points are rows `[x, y]` of (n, 2, 4) (G1) or (n, 2, 2, 4) (G2) uint64 arrays in
Montgomery form, with all-zero coordinates standing for the point at infinity (the
convention of Ethereum's precompiles; (0, 0) is on neither curve).  Python-level points
are `(x, y)` ints for G1, `((x0, x1), (y0, y1))` for G2, and None for infinity.
"""
import numpy as np
from numba import prange

from ._jit import inline, jit
from .constants import CURVE_B, G1_GENERATOR, G2_GENERATOR, TWIST_B
from .field_ops import (f_add, f_double, f_eq, f_inv, f_is_zero, f_load, f_mul, f_one_like, f_neg,
                        f_sqr, f_store, f_sub, f_zero_like)
from .fields import FQ
from .fq2 import fq2_decode, fq2_encode, fq2_element

B_G1 = FQ.element(CURVE_B)
B_G2 = fq2_element(TWIST_B)


# ---- Jacobian arithmetic (generic over Fq / Fq2) ----------------------------------------
@inline
def jac_infinity(x):
    """The point at infinity over the field of x."""
    return (f_one_like(x), f_one_like(x), f_zero_like(x))


@inline
def jac_is_infinity(p):
    return f_is_zero(p[2])


@inline
def affine_is_infinity(x, y):
    return f_is_zero(x) and f_is_zero(y)


@inline
def jac_from_affine(x, y):
    if affine_is_infinity(x, y):
        return jac_infinity(x)
    return (x, y, f_one_like(x))


@inline
def jac_to_affine(p):
    """(x, y); all zeros for infinity.  One field inversion."""
    if jac_is_infinity(p):
        z = f_zero_like(p[0])
        return (z, z)
    zinv = f_inv(p[2])
    zinv2 = f_sqr(zinv)
    return (f_mul(p[0], zinv2), f_mul(p[1], f_mul(zinv2, zinv)))


@inline
def jac_neg(p):
    return (p[0], f_neg(p[1]), p[2])


@inline
def jac_double(p):
    """dbl-2009-l: 2M + 5S."""
    if jac_is_infinity(p):
        return p
    X, Y, Z = p
    a = f_sqr(X)
    b = f_sqr(Y)
    c = f_sqr(b)
    d = f_double(f_sub(f_sub(f_sqr(f_add(X, b)), a), c))
    e = f_add(f_double(a), a)
    x3 = f_sub(f_sqr(e), f_double(d))
    c8 = f_double(f_double(f_double(c)))
    y3 = f_sub(f_mul(e, f_sub(d, x3)), c8)
    z3 = f_double(f_mul(Y, Z))
    return (x3, y3, z3)


@inline
def jac_add(p, q):
    """add-2007-bl: 11M + 5S; handles infinity, P == Q and P == -Q."""
    if jac_is_infinity(p):
        return q
    if jac_is_infinity(q):
        return p
    X1, Y1, Z1 = p
    X2, Y2, Z2 = q
    z1z1 = f_sqr(Z1)
    z2z2 = f_sqr(Z2)
    u1 = f_mul(X1, z2z2)
    u2 = f_mul(X2, z1z1)
    s1 = f_mul(f_mul(Y1, Z2), z2z2)
    s2 = f_mul(f_mul(Y2, Z1), z1z1)
    h = f_sub(u2, u1)
    r = f_double(f_sub(s2, s1))
    if f_is_zero(h):
        if f_is_zero(r):
            return jac_double(p)
        return jac_infinity(X1)
    i = f_sqr(f_double(h))
    j = f_mul(h, i)
    v = f_mul(u1, i)
    x3 = f_sub(f_sub(f_sqr(r), j), f_double(v))
    y3 = f_sub(f_mul(r, f_sub(v, x3)), f_double(f_mul(s1, j)))
    z3 = f_mul(f_sub(f_sub(f_sqr(f_add(Z1, Z2)), z1z1), z2z2), h)
    return (x3, y3, z3)


@inline
def jac_add_affine(p, x2, y2):
    """madd-2007-bl (P Jacobian, Q = (x2, y2) affine, all zeros = infinity): 7M + 4S."""
    if affine_is_infinity(x2, y2):
        return p
    if jac_is_infinity(p):
        return (x2, y2, f_one_like(x2))
    X1, Y1, Z1 = p
    z1z1 = f_sqr(Z1)
    u2 = f_mul(x2, z1z1)
    s2 = f_mul(f_mul(y2, Z1), z1z1)
    h = f_sub(u2, X1)
    r = f_double(f_sub(s2, Y1))
    if f_is_zero(h):
        if f_is_zero(r):
            return jac_double(p)
        return jac_infinity(X1)
    hh = f_sqr(h)
    i = f_double(f_double(hh))
    j = f_mul(h, i)
    v = f_mul(X1, i)
    x3 = f_sub(f_sub(f_sqr(r), j), f_double(v))
    y3 = f_sub(f_mul(r, f_sub(v, x3)), f_double(f_mul(Y1, j)))
    z3 = f_sub(f_sub(f_sqr(f_add(Z1, h)), z1z1), hh)
    return (x3, y3, z3)


@inline
def jac_eq(p, q):
    """Projective equality (X1 Z2^2 == X2 Z1^2 and Y1 Z2^3 == Y2 Z1^3)."""
    pi, qi = jac_is_infinity(p), jac_is_infinity(q)
    if pi or qi:
        return pi and qi
    z1z1 = f_sqr(p[2])
    z2z2 = f_sqr(q[2])
    if not f_eq(f_mul(p[0], z2z2), f_mul(q[0], z1z1)):
        return False
    return f_eq(f_mul(f_mul(p[1], q[2]), z2z2), f_mul(f_mul(q[1], p[2]), z1z1))


@jit
def jac_scalar_mul(p, k):
    """[k]P for a plain limb tuple k, left-to-right double-and-add.  Variable time: for
    public scalars (tests, subgroup checks, setup), not for secrets."""
    acc = jac_infinity(p[0])
    for limb in range(3, -1, -1):
        w = k[limb]
        for bit in range(63, -1, -1):
            acc = jac_double(acc)
            if (w >> np.uint64(bit)) & np.uint64(1):
                acc = jac_add(acc, p)
    return acc


@inline
def affine_on_curve(x, y, b):
    """y^2 == x^3 + b; the all-zero encoding of infinity counts as on the curve."""
    if affine_is_infinity(x, y):
        return True
    return f_eq(f_sqr(y), f_add(f_mul(f_sqr(x), x), b))


# ---- array kernels (G1 and G2 alike) ----------------------------------------------------
# prange bodies call a jitted row function: numba's parfor analysis fails on the inlined
# generic field code, and LLVM inlines the call anyway.
@jit
def _on_curve_row(points, i, b):
    return affine_on_curve(f_load(points, i, 0), f_load(points, i, 1), b)


@jit
def on_curve_array(points, b, out):
    """out[i] = affine point i is on the curve y^2 = x^3 + b (or is infinity).  Serial:
    three multiplications a point, and numba's parfor lowering refuses the tuple b."""
    for i in range(points.shape[0]):
        out[i] = _on_curve_row(points, i, b)


@jit
def jacobian_to_affine_range(jac, out, lo, hi):
    """Batch normalization of rows lo..hi-1 with Montgomery's trick: one inversion."""
    # out[i, 0] holds the running product of the non-zero Z's until the backward pass.
    acc = f_one_like(f_load(jac, lo, 2))
    for i in range(lo, hi):
        f_store(out, i, 0, acc)
        z = f_load(jac, i, 2)
        if not f_is_zero(z):
            acc = f_mul(acc, z)
    acc = f_inv(acc)
    for i in range(hi - 1, lo - 1, -1):
        z = f_load(jac, i, 2)
        if f_is_zero(z):
            zero = f_zero_like(z)
            f_store(out, i, 0, zero)
            f_store(out, i, 1, zero)
            continue
        zinv = f_mul(f_load(out, i, 0), acc)
        acc = f_mul(acc, z)
        zinv2 = f_sqr(zinv)
        f_store(out, i, 0, f_mul(f_load(jac, i, 0), zinv2))
        f_store(out, i, 1, f_mul(f_load(jac, i, 1), f_mul(zinv2, zinv)))


@jit(parallel=True)
def jacobian_to_affine_array(jac, out, chunks):
    n = jac.shape[0]
    step = (n + chunks - 1) // chunks
    for c in prange(chunks):
        lo = c * step
        hi = min(n, lo + step)
        if lo < hi:
            jacobian_to_affine_range(jac, out, lo, hi)


@jit
def _scalar_mul_row(points, scalars, out, i):
    k = (scalars[i, 0], scalars[i, 1], scalars[i, 2], scalars[i, 3])
    p = jac_scalar_mul(jac_from_affine(f_load(points, i, 0), f_load(points, i, 1)), k)
    f_store(out, i, 0, p[0])
    f_store(out, i, 1, p[1])
    f_store(out, i, 2, p[2])


@jit(parallel=True)
def scalar_mul_array(points, scalars, out):
    """out[i] = [scalars[i]] points[i] (affine in, Jacobian out)."""
    for i in prange(points.shape[0]):
        _scalar_mul_row(points, scalars, out, i)


# ---- Python-level API --------------------------------------------------------------------
class Group:
    """G1 or G2: encoding between Python ints and Montgomery arrays, and array operations."""

    def __init__(self, name, coord_shape, b, generator):
        self.name = name
        self.coord_shape = coord_shape      # (4,) for Fq, (2, 4) for Fq2
        self.b = b
        self.generator = generator

    def _check(self, arr, coords):
        arr = np.ascontiguousarray(arr, dtype=np.uint64)
        if arr.ndim != 2 + len(self.coord_shape) or arr.shape[1:] != (coords,) + self.coord_shape:
            raise ValueError(f"{self.name}: expected an array of shape (n, {coords}, "
                             f"{', '.join(map(str, self.coord_shape))}), got {arr.shape}")
        return arr

    def encode(self, points) -> np.ndarray:
        """Python points (None = infinity) -> (n, 2, ...) affine Montgomery array."""
        points = list(points)
        if self.name == "G1":
            flat = [c for pt in points for c in ((0, 0) if pt is None else pt)]
            return FQ.encode(flat).reshape((len(points), 2) + self.coord_shape)
        zero = ((0, 0), (0, 0))
        flat = [c for pt in points for c in (zero if pt is None else pt)]
        return fq2_encode(flat).reshape((len(points), 2) + self.coord_shape)

    def decode(self, arr) -> list:
        """Affine Montgomery array -> Python points (None for infinity)."""
        arr = self._check(arr, 2)
        if self.name == "G1":
            flat = FQ.decode(arr.reshape(-1, 4))
            pts = list(zip(flat[0::2], flat[1::2]))
            return [None if pt == (0, 0) else pt for pt in pts]
        flat = fq2_decode(arr.reshape(-1, 2, 4))
        pts = list(zip(flat[0::2], flat[1::2]))
        return [None if pt == ((0, 0), (0, 0)) else pt for pt in pts]

    def on_curve(self, arr) -> np.ndarray:
        """Boolean array: each affine point satisfies the curve equation (or is infinity)."""
        arr = self._check(arr, 2)
        out = np.empty(arr.shape[0], dtype=np.bool_)
        on_curve_array(arr, self.b, out)
        return out

    def to_affine(self, jac) -> np.ndarray:
        """Jacobian (n, 3, ...) -> affine (n, 2, ...), one inversion per chunk."""
        jac = self._check(jac, 3)
        out = np.empty((jac.shape[0], 2) + self.coord_shape, dtype=np.uint64)
        if jac.shape[0]:
            chunks = max(1, min(8, jac.shape[0] // 256))
            jacobian_to_affine_array(jac, out, chunks)
        return out

    def scalar_mul(self, points, scalars) -> np.ndarray:
        """[k_i] P_i for affine points and plain (n, 4) scalars; returns affine points."""
        points = self._check(points, 2)
        scalars = np.ascontiguousarray(scalars, dtype=np.uint64)
        if scalars.shape != (points.shape[0], 4):
            raise ValueError(f"expected ({points.shape[0]}, 4) scalars, got {scalars.shape}")
        jac = np.empty((points.shape[0], 3) + self.coord_shape, dtype=np.uint64)
        scalar_mul_array(points, scalars, jac)
        return self.to_affine(jac)


G1 = Group("G1", (4,), B_G1, G1_GENERATOR)
G2 = Group("G2", (2, 4), B_G2, G2_GENERATOR)
