"""The optimal ate pairing on BN254, e: G1 x G2 -> GT (a subgroup of Fq12^*), its products
and pairing checks, computed entirely in numba kernels.

Miller loop (Vercauteren, "Optimal pairings", IEEE TIT 2010; BN specifics after Beuchat et
al., eprint 2010/354): f_{6x+2, Q}(P) over the signed (NAF) digits of 6x + 2, followed by
the lines through psi(Q) and -psi^2(Q), psi being the twisted Frobenius; BN_X > 0, so no
final conjugation.  T runs in homogeneous projective coordinates on the D-type twist
E': y^2 = x^3 + 3/xi, with the doubling and mixed-addition formulas and their lines of
Aranha, Karabina, Longa, Gebotys, Lopez, "Faster explicit formulas for computing pairings
over ordinary curves" (eprint 2010/526).  With the untwisting (x, y) -> (x w^2, y w^3) a
line evaluated at P = (xP, yP) reads c0 yP + c1 xP w + c3 w^3 (c0, c1, c3 in Fq2), hence
the sparse multiplication `fq12_mul_by_034`; the lines are scaled by factors in proper
subfields, which the final exponentiation removes.

A product of n pairings shares one Miller accumulator (one Fq12 squaring per step for all
pairs) and one final exponentiation; from 4 pairs on, the pairs are split across the cores
and the partial products multiplied.  A fixed G2 point can be prepared once
(`prepare_g2`: its line coefficients), which saves the twist arithmetic in every later loop
(the Groth16 verifier's beta, gamma, delta).

Final exponentiation: the easy part (p^6 - 1)(p^2 + 1) with one inversion and Frobenius
maps, then the hard part (p^4 - p^2 + 1)/r EXACTLY, as the vectorial addition chain of
Scott, Benger, Charlemagne, Dominguez Perez, Kachisa, "On the final exponentiation for
calculating pairings on ordinary elliptic curves" (Pairing 2009): three exponentiations
by x with Granger-Scott cyclotomic squarings.  The result equals py_ecc's `pairing`
(f^((p^12 - 1)/r)) bit for bit.

Inputs are affine Montgomery arrays, G1 (n, 2, 4) and G2 (n, 2, 2, 4), all-zero rows
standing for the point at infinity (such a pair contributes the factor 1).  The points are
ASSUMED VALIDATED by the caller (on the curve and, for G2, in the order-r subgroup): the
pairing of points outside G1 x G2 is not bilinear and its value means nothing.
Fq12 values at the Python level are (2, 3, 2, 4) uint64 Montgomery arrays (see `fq12`).
"""
import numba
import numpy as np
from numba import prange

from ._jit import inline, jit
from .constants import ATE_LOOP_COUNT, BN_X, P, PSI2_X, PSI2_Y, PSI_X, PSI_Y, TWIST_B
from .curve import G1 as _G1_GROUP
from .curve import G2 as _G2_GROUP
from .field_ops import f_load, f_store
from .fields import FQ, fq_is_zero
from .fq2 import (FQ2_ONE, fq2_add, fq2_conj, fq2_double, fq2_element, fq2_is_zero, fq2_mul,
                  fq2_mul_fq, fq2_neg, fq2_sqr, fq2_sub)
from .fq12 import (FQ12_ONE, fq12_conj, fq12_cyclotomic_sqr, fq12_frobenius,
                   fq12_frobenius2, fq12_frobenius3, fq12_from_coeffs, fq12_inv, fq12_load,
                   fq12_mul, fq12_mul_by_034, fq12_one, fq12_sqr, fq12_store, fq12_to_coeffs,
                   fq12_to_py_ecc, fq12_value_is_one)


def _wnaf(k: int, width: int) -> list:
    """Width-w non-adjacent form of k > 0 (odd digits |d| < 2^(w-1), any w consecutive
    digits hold at most one non-zero), most significant digit first; width 2 is the NAF."""
    digits = []
    while k:
        d = 0
        if k & 1:
            d = k % (1 << width)
            if d >= 1 << (width - 1):
                d -= 1 << width
            k -= d
        digits.append(d)
        k >>= 1
    return digits[::-1]


# Global arrays are frozen into the machine code by numba.
_ATE_NAF = np.array(_wnaf(ATE_LOOP_COUNT, 2), dtype=np.int64)   # 66 digits, 22 non-zero
_X_WNAF = np.array(_wnaf(BN_X, 4), dtype=np.int64)             # 63 digits, 14 non-zero
assert sum(int(d) << i for i, d in enumerate(_ATE_NAF[::-1])) == ATE_LOOP_COUNT
assert sum(int(d) << i for i, d in enumerate(_X_WNAF[::-1])) == BN_X
# Lines of one Miller loop: a doubling per digit after the first, an addition per non-zero
# digit after the first, and the two lines through psi(Q) and -psi^2(Q).
N_LINES = 2 * (len(_ATE_NAF) - 1) - int(np.count_nonzero(_ATE_NAF[1:] == 0)) + 2

_B3 = fq2_element(tuple(3 * c % P for c in TWIST_B))       # 3 b' of the twist
_PSI_X = fq2_element(PSI_X)
_PSI_Y = fq2_element(PSI_Y)
assert PSI2_X[1] == 0 and PSI2_Y[1] == 0
_PSI2_X = FQ.element(PSI2_X[0])
_NEG_PSI2_Y = FQ.element(-PSI2_Y[0] % P)

# Array layouts.
FQ12_SHAPE = (2, 3, 2, 4)
LINE_SHAPE = (3, 2, 4)      # one line: c0 (times yP), c1 (times xP), c3


# ---- Miller loop steps -------------------------------------------------------------------
@inline
def _dbl_step(t):
    """2T in homogeneous projective coordinates and the tangent line at T (Aranha et al.
    2010/526, eq. (10), scaled by 4 to avoid the halvings: (4 X3, 4 Y3, 4 Z3) is the same
    projective point).  Line: -2YZ yP + 3X^2 xP w + (3b'Z^2 - Y^2) w^3."""
    x, y, z = t
    b = fq2_sqr(y)
    c = fq2_sqr(z)
    e = fq2_mul(c, _B3)
    f = fq2_add(fq2_double(e), e)
    h = fq2_sub(fq2_sub(fq2_sqr(fq2_add(y, z)), b), c)      # 2YZ
    xx = fq2_sqr(x)
    xy = fq2_mul(x, y)
    x3 = fq2_mul(fq2_double(xy), fq2_sub(b, f))
    e2 = fq2_sqr(e)
    e6 = fq2_double(fq2_add(fq2_double(e2), e2))
    y3 = fq2_sub(fq2_sqr(fq2_add(b, f)), fq2_double(e6))    # (B + F)^2 - 12 E^2
    z3 = fq2_double(fq2_double(fq2_mul(b, h)))
    line = (fq2_neg(h), fq2_add(fq2_double(xx), xx), fq2_sub(e, b))
    return line, (x3, y3, z3)


@inline
def _add_step(t, x2, y2):
    """T + Q for affine Q = (x2, y2) and the line through them (Aranha et al. 2010/526,
    eq. (12)-(13)).  Line: l yP - th xP w + (th x2 - l y2) w^3 with th = Y - y2 Z,
    l = X - x2 Z.  Valid also when the result is infinity (vertical line)."""
    x1, y1, z1 = t
    th = fq2_sub(y1, fq2_mul(y2, z1))
    la = fq2_sub(x1, fq2_mul(x2, z1))
    c = fq2_sqr(th)
    d = fq2_sqr(la)
    e = fq2_mul(la, d)
    f = fq2_mul(z1, c)
    g = fq2_mul(x1, d)
    h = fq2_sub(fq2_add(e, f), fq2_double(g))
    x3 = fq2_mul(la, h)
    y3 = fq2_sub(fq2_mul(th, fq2_sub(g, h)), fq2_mul(y1, e))
    z3 = fq2_mul(z1, e)
    line = (la, fq2_neg(th), fq2_sub(fq2_mul(th, x2), fq2_mul(la, y2)))
    return line, (x3, y3, z3)


@inline
def _psi(x, y):
    """The twisted Frobenius psi(Q) on affine coordinates."""
    return fq2_mul(fq2_conj(x), _PSI_X), fq2_mul(fq2_conj(y), _PSI_Y)


@inline
def _neg_psi2(x, y):
    """-psi^2(Q); the coefficients lie in Fq."""
    return fq2_mul_fq(x, _PSI2_X), fq2_mul_fq(y, _NEG_PSI2_Y)


@inline
def _eval_line(f, line, xp, yp):
    """f times the line evaluated at P = (xp, yp)."""
    return fq12_mul_by_034(f, fq2_mul_fq(line[0], yp), fq2_mul_fq(line[1], xp), line[2])


@inline
def _g1_is_infinity(g1, i):
    return fq_is_zero(f_load(g1, i, 0)) and fq_is_zero(f_load(g1, i, 1))


@inline
def _g2_is_infinity(g2, i):
    return fq2_is_zero(f_load(g2, i, 0)) and fq2_is_zero(f_load(g2, i, 1))


@inline
def _load_t(t_arr, k):
    return (f_load(t_arr, k, 0), f_load(t_arr, k, 1), f_load(t_arr, k, 2))


@inline
def _store_t(t_arr, k, t):
    f_store(t_arr, k, 0, t[0])
    f_store(t_arr, k, 1, t[1])
    f_store(t_arr, k, 2, t[2])


@inline
def _load_line(coeffs, i, j):
    """Line j of prepared point i from a (m, N_LINES, 3, 2, 4) array."""
    c = coeffs
    return (((c[i, j, 0, 0, 0], c[i, j, 0, 0, 1], c[i, j, 0, 0, 2], c[i, j, 0, 0, 3]),
             (c[i, j, 0, 1, 0], c[i, j, 0, 1, 1], c[i, j, 0, 1, 2], c[i, j, 0, 1, 3])),
            ((c[i, j, 1, 0, 0], c[i, j, 1, 0, 1], c[i, j, 1, 0, 2], c[i, j, 1, 0, 3]),
             (c[i, j, 1, 1, 0], c[i, j, 1, 1, 1], c[i, j, 1, 1, 2], c[i, j, 1, 1, 3])),
            ((c[i, j, 2, 0, 0], c[i, j, 2, 0, 1], c[i, j, 2, 0, 2], c[i, j, 2, 0, 3]),
             (c[i, j, 2, 1, 0], c[i, j, 2, 1, 1], c[i, j, 2, 1, 2], c[i, j, 2, 1, 3])))


@inline
def _store_line(coeffs, i, j, line):
    for k in range(3):
        for c in range(2):
            for limb in range(4):
                coeffs[i, j, k, c, limb] = line[k][c][limb]


@jit
def _double_pair(f, t_arr, k, g1, i):
    line, t = _dbl_step(_load_t(t_arr, k))
    _store_t(t_arr, k, t)
    return _eval_line(f, line, f_load(g1, i, 0), f_load(g1, i, 1))


@jit
def _add_pair(f, t_arr, k, g1, i, x2, y2):
    line, t = _add_step(_load_t(t_arr, k), x2, y2)
    _store_t(t_arr, k, t)
    return _eval_line(f, line, f_load(g1, i, 0), f_load(g1, i, 1))


@jit
def _prepared_pair(f, coeffs, i, j, g1p):
    return _eval_line(f, _load_line(coeffs, i, j), f_load(g1p, i, 0), f_load(g1p, i, 1))


@jit
def _miller_range(g1, g2, lo, hi, g1p, coeffs, plo, phi):
    """The product of the Miller loops of plain pairs lo..hi-1 of (g1, g2) and prepared
    pairs plo..phi-1 of (g1p, coeffs), with one shared accumulator.  Pairs with a point at
    infinity (for prepared ones: all-zero coefficients) are skipped: their factor is 1."""
    idx = np.empty(max(hi - lo, 0), dtype=np.int64)
    n = 0
    for i in range(lo, hi):
        if not (_g1_is_infinity(g1, i) or _g2_is_infinity(g2, i)):
            idx[n] = i
            n += 1
    pidx = np.empty(max(phi - plo, 0), dtype=np.int64)
    m = 0
    for i in range(plo, phi):
        if not (_g1_is_infinity(g1p, i) or fq2_is_zero(_load_line(coeffs, i, 0)[0])):
            pidx[m] = i
            m += 1
    t_arr = np.empty((n, 3, 2, 4), dtype=np.uint64)
    for k in range(n):
        i = idx[k]
        f_store(t_arr, k, 0, f_load(g2, i, 0))
        f_store(t_arr, k, 1, f_load(g2, i, 1))
        f_store(t_arr, k, 2, FQ2_ONE)

    f = FQ12_ONE
    j = 0  # index of the next prepared line
    for step in range(1, _ATE_NAF.shape[0]):
        if step > 1:
            f = fq12_sqr(f)
        for k in range(n):
            f = _double_pair(f, t_arr, k, g1, idx[k])
        for k in range(m):
            f = _prepared_pair(f, coeffs, pidx[k], j, g1p)
        j += 1
        digit = _ATE_NAF[step]
        if digit != 0:
            for k in range(n):
                i = idx[k]
                y2 = f_load(g2, i, 1)
                if digit < 0:
                    y2 = fq2_neg(y2)
                f = _add_pair(f, t_arr, k, g1, i, f_load(g2, i, 0), y2)
            for k in range(m):
                f = _prepared_pair(f, coeffs, pidx[k], j, g1p)
            j += 1
    for k in range(n):
        i = idx[k]
        x1, y1 = _psi(f_load(g2, i, 0), f_load(g2, i, 1))
        f = _add_pair(f, t_arr, k, g1, i, x1, y1)
        x2, y2 = _neg_psi2(f_load(g2, i, 0), f_load(g2, i, 1))
        f = _add_pair(f, t_arr, k, g1, i, x2, y2)
    for k in range(m):
        f = _prepared_pair(f, coeffs, pidx[k], j, g1p)
        f = _prepared_pair(f, coeffs, pidx[k], j + 1, g1p)
    return f


@jit
def _miller_chunk(g1, g2, g1p, coeffs, bounds, out, c):
    """out[c] = the Miller product over the pairs of chunk c: plain pairs
    bounds[c, 0]..bounds[c, 1]-1 and prepared pairs bounds[c, 2]..bounds[c, 3]-1."""
    fq12_store(out, c, _miller_range(g1, g2, bounds[c, 0], bounds[c, 1], g1p, coeffs,
                                     bounds[c, 2], bounds[c, 3]))


@jit(parallel=True)
def _miller_parallel(g1, g2, g1p, coeffs, bounds, out):
    """One chunk of pairs per thread; the caller multiplies the partial products."""
    for c in prange(bounds.shape[0]):
        _miller_chunk(g1, g2, g1p, coeffs, bounds, out, c)


@jit
def _prepare_row(g2, out, i):
    """The N_LINES line coefficients of the Miller loop of point i (zeros for infinity)."""
    if _g2_is_infinity(g2, i):
        for j in range(out.shape[1]):
            for k in range(3):
                for c in range(2):
                    for limb in range(4):
                        out[i, j, k, c, limb] = 0
        return
    xq = f_load(g2, i, 0)
    yq = f_load(g2, i, 1)
    t = (xq, yq, FQ2_ONE)
    j = 0
    for step in range(1, _ATE_NAF.shape[0]):
        line, t = _dbl_step(t)
        _store_line(out, i, j, line)
        j += 1
        digit = _ATE_NAF[step]
        if digit != 0:
            y2 = fq2_neg(yq) if digit < 0 else yq
            line, t = _add_step(t, xq, y2)
            _store_line(out, i, j, line)
            j += 1
    x1, y1 = _psi(xq, yq)
    line, t = _add_step(t, x1, y1)
    _store_line(out, i, j, line)
    x2, y2 = _neg_psi2(xq, yq)
    line, t = _add_step(t, x2, y2)
    _store_line(out, i, j + 1, line)


@jit
def _prepare_kernel(g2, out):
    for i in range(g2.shape[0]):
        _prepare_row(g2, out, i)


# ---- final exponentiation ------------------------------------------------------------------
@inline
def _odd_power(digit, f1, f3, f5, f7):
    """f^digit for an odd digit in [-7, 7] from the table of odd powers (f unitary, so
    negative powers are conjugates)."""
    a = digit if digit > 0 else -digit
    if a == 1:
        t = f1
    elif a == 3:
        t = f3
    elif a == 5:
        t = f5
    else:
        t = f7
    return t if digit > 0 else fq12_conj(t)


@inline
def _exp_by_x(f):
    """f^x for f in the cyclotomic subgroup (where the inverse is the conjugate): width-4
    signed sliding window over x: 63 cyclotomic squarings and 16 multiplications, against
    62 and 23 with the plain NAF."""
    f2 = fq12_cyclotomic_sqr(f)
    f3 = fq12_mul(f, f2)
    f5 = fq12_mul(f3, f2)
    f7 = fq12_mul(f5, f2)
    r = _odd_power(_X_WNAF[0], f, f3, f5, f7)
    for step in range(1, _X_WNAF.shape[0]):
        r = fq12_cyclotomic_sqr(r)
        digit = _X_WNAF[step]
        if digit != 0:
            r = fq12_mul(r, _odd_power(digit, f, f3, f5, f7))
    return r


@jit
def _exp_by_x_call(f):
    # One compiled copy of the loop, called three times.
    return _exp_by_x(f)


@jit
def final_exponentiation_tuple(f):
    """f^((p^12 - 1)/r) for an Fq12 tuple f."""
    # Easy part: f^((p^6 - 1)(p^2 + 1)); afterwards f is unitary (cyclotomic subgroup).
    f = fq12_mul(fq12_conj(f), fq12_inv(f))
    f = fq12_mul(fq12_frobenius2(f), f)
    # Hard part (p^4 - p^2 + 1)/r = l0 + l1 p + l2 p^2 + l3 p^3 with l3 = 1, l2 = 6x^2 + 1,
    # l1 = -36x^3 - 18x^2 - 12x + 1, l0 = -36x^3 - 30x^2 - 18x - 2 (Scott et al., Pairing
    # 2009): the y_i below are the factors of the chain's addition-subtraction sequence.
    fx = _exp_by_x_call(f)
    fx2 = _exp_by_x_call(fx)
    fx3 = _exp_by_x_call(fx2)
    y0 = fq12_mul(fq12_mul(fq12_frobenius(f), fq12_frobenius2(f)), fq12_frobenius3(f))
    y1 = fq12_conj(f)
    y2 = fq12_frobenius2(fx2)
    y3 = fq12_conj(fq12_frobenius(fx))
    y4 = fq12_conj(fq12_mul(fx, fq12_frobenius(fx2)))
    y5 = fq12_conj(fx2)
    y6 = fq12_conj(fq12_mul(fx3, fq12_frobenius(fx3)))
    t0 = fq12_mul(fq12_mul(fq12_cyclotomic_sqr(y6), y4), y5)
    t1 = fq12_mul(fq12_mul(y3, y5), t0)
    t0 = fq12_mul(t0, y2)
    t1 = fq12_cyclotomic_sqr(fq12_mul(fq12_cyclotomic_sqr(t1), t0))
    t0 = fq12_mul(t1, y1)
    t1 = fq12_mul(t1, y0)
    return fq12_mul(fq12_cyclotomic_sqr(t0), t1)


@jit
def _final_exp_kernel(fs, out):
    """out[0] = (prod_k fs[k])^((p^12 - 1)/r)."""
    f = fq12_load(fs, 0)
    for k in range(1, fs.shape[0]):
        f = fq12_mul(f, fq12_load(fs, k))
    fq12_store(out, 0, final_exponentiation_tuple(f))


@jit(parallel=True)
def _independent_checks_kernel(g1, g2, g1p, coeffs, out):
    """out[c] = the final exponentiation of check c's Miller product (plain pairs
    (g1[c], g2[c]), prepared pairs (g1p[c], coeffs)); one check per thread at a time."""
    for c in prange(g1.shape[0]):
        f = _miller_range(g1[c], g2[c], 0, g1.shape[1], g1p[c], coeffs, 0, g1p.shape[1])
        fq12_store(out, c, final_exponentiation_tuple(f))


# ---- Python-level API ----------------------------------------------------------------------
# From this many pairs on, the pairs are split over numba's threads (each chunk repeats the 65
# squarings of the accumulator, so fewer pairs stay on one thread).  numba.set_num_threads(1)
# keeps every product on the calling thread, e.g. with one MPI rank per core.
PARALLEL_MIN_PAIRS = 4


def _as_uint64(arr, shape_tail, what):
    arr = np.asarray(arr)
    if arr.dtype != np.uint64:
        if arr.dtype.kind not in "iu" or (arr.size and arr.min() < 0):
            raise ValueError(f"{what}: expected uint64 limbs, got dtype {arr.dtype}")
        arr = arr.astype(np.uint64)
    if arr.ndim != 1 + len(shape_tail) or arr.shape[1:] != shape_tail:
        tail = ", ".join(map(str, shape_tail))
        raise ValueError(f"{what}: expected shape (n, {tail}), got {arr.shape}")
    arr = np.ascontiguousarray(arr)
    # A read-only array is a different numba type: copy rather than compile the kernels again.
    return arr if arr.flags.writeable else arr.copy()


def _check_coord(c, what):
    if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 0 <= int(c) < P:
        raise ValueError(f"{what}: coordinates must be integers in [0, p), got {c!r}")


def _g1_python(pt):
    if pt is None:
        return None
    try:
        x, y = pt
    except (TypeError, ValueError):
        raise ValueError(f"G1 point must be (x, y) or None, got {pt!r}") from None
    _check_coord(x, "G1")
    _check_coord(y, "G1")
    return (int(x), int(y))


def _g2_python(pt):
    if pt is None:
        return None
    try:
        (x0, x1), (y0, y1) = pt
    except (TypeError, ValueError):
        raise ValueError(f"G2 point must be ((x0, x1), (y0, y1)) or None, got {pt!r}") from None
    for c in (x0, x1, y0, y1):
        _check_coord(c, "G2")
    return ((int(x0), int(x1)), (int(y0), int(y1)))


def _point_list(points, what):
    try:
        return list(points)
    except TypeError:
        raise ValueError(f"{what}: expected an array or a sequence, got {points!r}") from None


def _g1_array(points):
    """(n, 2, 4) Montgomery array from an array, a sequence of (2, 4) arrays, or a sequence of
    Python points / None."""
    if isinstance(points, np.ndarray):
        return _as_uint64(points, (2, 4), "G1 points")
    points = _point_list(points, "G1")
    if points and all(isinstance(pt, np.ndarray) for pt in points):
        return _as_uint64(np.stack(points), (2, 4), "G1 points")
    return _G1_GROUP.encode([_g1_python(pt) for pt in points])


def _g2_array(points):
    """(n, 2, 2, 4) Montgomery array, from the same kinds of input as `_g1_array`."""
    if isinstance(points, np.ndarray):
        return _as_uint64(points, (2, 2, 4), "G2 points")
    points = _point_list(points, "G2")
    if points and all(isinstance(pt, np.ndarray) for pt in points):
        return _as_uint64(np.stack(points), (2, 2, 4), "G2 points")
    return _G2_GROUP.encode([_g2_python(pt) for pt in points])


def _prepared_array(prepared):
    """(m, N_LINES, 3, 2, 4) from one prepared point (N_LINES, 3, 2, 4) or a stack of them."""
    arr = np.asarray(prepared)
    if arr.ndim == 4:
        arr = arr[None]
    return _as_uint64(arr, (N_LINES,) + LINE_SHAPE, "prepared G2")


_EMPTY_G1 = np.zeros((0, 2, 4), dtype=np.uint64)
_EMPTY_G2 = np.zeros((0, 2, 2, 4), dtype=np.uint64)
_EMPTY_PREPARED = np.zeros((0, N_LINES) + LINE_SHAPE, dtype=np.uint64)


def _chunk_bounds(n, m, chunks):
    """Split n plain and m prepared pairs into `chunks` pieces of about equal work: rows
    (plain lo, plain hi, prepared lo, prepared hi).  A plain pair costs about twice a prepared
    one (the twist arithmetic), so the pairs, plain first, are cut where the running weight
    crosses each multiple of total / chunks."""
    weights = np.concatenate([np.full(n, 2), np.full(m, 1)]).astype(np.int64)
    prefix = np.concatenate([[0], np.cumsum(weights)])
    cuts = [0]
    for c in range(1, chunks):
        cuts.append(max(cuts[-1], int(np.searchsorted(prefix, prefix[-1] * c / chunks))))
    cuts.append(n + m)
    bounds = np.zeros((chunks, 4), dtype=np.int64)
    for c in range(chunks):
        lo, hi = cuts[c], cuts[c + 1]
        bounds[c] = (min(lo, n), min(hi, n), max(lo - n, 0), max(hi - n, 0))
    return bounds


def _miller_partials(g1, g2, g1p, coeffs, threads=None):
    """Partial Miller products, (k, 2, 3, 2, 4): one per thread from PARALLEL_MIN_PAIRS pairs."""
    n, m = g1.shape[0], g1p.shape[0]
    if g2.shape[0] != n:
        raise ValueError(f"{n} G1 points but {g2.shape[0]} G2 points")
    if coeffs.shape[0] != m:
        raise ValueError(f"{m} G1 points but {coeffs.shape[0]} prepared G2 points")
    threads = numba.get_num_threads() if threads is None else threads
    chunks = max(1, min(threads, (n + m) // 2)) if n + m >= PARALLEL_MIN_PAIRS else 1
    out = np.empty((chunks,) + FQ12_SHAPE, dtype=np.uint64)
    bounds = _chunk_bounds(n, m, chunks)
    if chunks == 1:
        _miller_chunk(g1, g2, g1p, coeffs, bounds, out, 0)
    else:
        _miller_parallel(g1, g2, g1p, coeffs, bounds, out)
    return out


def _final_exp_of(partials):
    out = np.empty((1,) + FQ12_SHAPE, dtype=np.uint64)
    _final_exp_kernel(partials, out)
    return out[0]


def prepare_g2(points):
    """Line coefficients of the Miller loop of fixed G2 point(s), for `miller_loop_prepared`
    and `pairing_check`.  A single point (Python ints, None, or a (2, 2, 4) array) gives an
    (N_LINES, 3, 2, 4) array; an (m, 2, 2, 4) array or a list of points an
    (m, N_LINES, 3, 2, 4) array.  The point at infinity prepares to all zeros."""
    if isinstance(points, np.ndarray):
        single = points.ndim == 3
        arr = _g2_array(points[None] if single else points)
    else:
        single = points is None or _looks_like_g2_python(points)
        arr = _g2_array([points] if single else points)
    out = np.empty((arr.shape[0], N_LINES) + LINE_SHAPE, dtype=np.uint64)
    _prepare_kernel(arr, out)
    return out[0] if single else out


def _looks_like_g2_python(pt):
    try:
        (a, b), (c, d) = pt
        return all(isinstance(v, (int, np.integer)) for v in (a, b, c, d))
    except (TypeError, ValueError):
        return False


def miller_loop(g1s, g2s) -> np.ndarray:
    """The product of the Miller loops f_{6x+2, Q_i}(P_i) (with the two extra lines), before
    the final exponentiation: a (2, 3, 2, 4) Fq12 value.  g1s: (n, 2, 4) array or Python
    points; g2s: (n, 2, 2, 4) array or Python points."""
    g1, g2 = _g1_array(g1s), _g2_array(g2s)
    partials = _miller_partials(g1, g2, _EMPTY_G1, _EMPTY_PREPARED)
    f = partials[0]
    if partials.shape[0] > 1:
        f = fq12_mul_values(partials)
    return f


def miller_loop_prepared(g1s, prepared) -> np.ndarray:
    """`miller_loop` with G2 points given by `prepare_g2` coefficients ((m, N_LINES, 3, 2, 4),
    or one (N_LINES, 3, 2, 4) for a single pair)."""
    g1, coeffs = _g1_array(g1s), _prepared_array(prepared)
    partials = _miller_partials(_EMPTY_G1, _EMPTY_G2, g1, coeffs)
    f = partials[0]
    if partials.shape[0] > 1:
        f = fq12_mul_values(partials)
    return f


def fq12_mul_values(values) -> np.ndarray:
    """The product of a stack (k, 2, 3, 2, 4) of Fq12 values."""
    values = _as_uint64(values, FQ12_SHAPE, "Fq12 values")
    out = np.empty((1,) + FQ12_SHAPE, dtype=np.uint64)
    _product_kernel(values, out)
    return out[0]


@jit
def _product_kernel(fs, out):
    f = FQ12_ONE
    for k in range(fs.shape[0]):
        f = fq12_mul(f, fq12_load(fs, k))
    fq12_store(out, 0, f)


def final_exponentiation(f) -> np.ndarray:
    """f^((p^12 - 1)/r) for a (2, 3, 2, 4) Fq12 value."""
    arr = _as_uint64(np.asarray(f)[None], FQ12_SHAPE, "Fq12 value")
    return _final_exp_of(arr)


def multi_pairing(g1s, g2s) -> np.ndarray:
    """prod_i e(P_i, Q_i) as a (2, 3, 2, 4) Fq12 value: one shared Miller loop and one final
    exponentiation.  Points as in `miller_loop`; they must be valid (see the module doc)."""
    g1, g2 = _g1_array(g1s), _g2_array(g2s)
    return _final_exp_of(_miller_partials(g1, g2, _EMPTY_G1, _EMPTY_PREPARED))


def pairing(p, q) -> np.ndarray:
    """e(P, Q) for one G1 point P and one G2 point Q (Python ints / None, or (2, 4) and
    (2, 2, 4) Montgomery arrays): a (2, 3, 2, 4) Fq12 value equal to py_ecc's
    `pairing(Q, P)`."""
    g1 = _g1_array(p[None] if isinstance(p, np.ndarray) else [p])
    g2 = _g2_array(q[None] if isinstance(q, np.ndarray) else [q])
    return multi_pairing(g1, g2)


def _split_pairs(pairs):
    """Sort (G1, G2) pairs into plain and prepared arrays."""
    g1_plain, g2_plain, g1_prep, prep = [], [], [], []
    for pair in _point_list(pairs, "pairs"):
        try:
            p, q = pair
        except (TypeError, ValueError):
            raise ValueError(f"expected (G1, G2) pairs, got {pair!r}") from None
        p_arr = _g1_array(p[None] if isinstance(p, np.ndarray) else [p])
        if isinstance(q, np.ndarray) and q.ndim == 4:
            g1_prep.append(p_arr)
            prep.append(_prepared_array(q))
        else:
            g1_plain.append(p_arr)
            g2_plain.append(_g2_array(q[None] if isinstance(q, np.ndarray) else [q]))
    cat = lambda xs, empty: np.concatenate(xs) if xs else empty  # noqa: E731
    return (cat(g1_plain, _EMPTY_G1), cat(g2_plain, _EMPTY_G2), cat(g1_prep, _EMPTY_G1),
            cat(prep, _EMPTY_PREPARED))


def pairing_check(pairs) -> bool:
    """Whether prod_i e(P_i, Q_i) == 1 (an empty product is 1).  Each pair is (P, Q) with P a
    G1 point (Python (x, y) / None, or a (2, 4) Montgomery array) and Q a G2 point (Python
    ((x0, x1), (y0, y1)) / None, a (2, 2, 4) array, or `prepare_g2` coefficients
    (N_LINES, 3, 2, 4)).  The points must be valid: on the curve and in G1 / G2."""
    g1, g2, g1p, coeffs = _split_pairs(pairs)
    if g1.shape[0] + g1p.shape[0] == 0:
        return True
    return fq12_is_one(_final_exp_of(_miller_partials(g1, g2, g1p, coeffs)))


def pairing_check_arrays(g1s, g2s, g1s_prepared=None, prepared=None) -> bool:
    """`pairing_check` on arrays: plain pairs (g1s (n, 2, 4), g2s (n, 2, 2, 4)) and optional
    prepared pairs (g1s_prepared (m, 2, 4), prepared (m, N_LINES, 3, 2, 4))."""
    g1, g2 = _g1_array(g1s), _g2_array(g2s)
    if prepared is None:
        g1p, coeffs = _EMPTY_G1, _EMPTY_PREPARED
    else:
        g1p, coeffs = _g1_array(g1s_prepared), _prepared_array(prepared)
    if g1.shape[0] + g1p.shape[0] == 0:
        return True
    return fq12_is_one(_final_exp_of(_miller_partials(g1, g2, g1p, coeffs)))


def pairing_checks_arrays(g1s, g2s, g1s_prepared, prepared) -> np.ndarray:
    """Many independent pairing checks that share prepared G2 points: a (k,) bool array,
    entry c = whether prod_i e(g1s[c, i], g2s[c, i]) prod_j e(g1s_prepared[c, j], Q_j) = 1
    with Q_j = prepared[j].  g1s (k, n, 2, 4), g2s (k, n, 2, 2, 4), g1s_prepared
    (k, m, 2, 4), prepared (m, N_LINES, 3, 2, 4).  The checks run in parallel, each with its
    own final exponentiation; for one product of many pairs use `pairing_check_arrays`."""
    g1 = np.asarray(g1s)
    g2 = np.asarray(g2s)
    g1p = np.asarray(g1s_prepared)
    k, n = g1.shape[:2] if g1.ndim == 4 else (None, None)
    if k is None or g2.ndim != 5 or g2.shape[:2] != (k, n) or g1p.ndim != 4 or g1p.shape[0] != k:
        raise ValueError(f"expected g1s (k, n, 2, 4), g2s (k, n, 2, 2, 4) and g1s_prepared "
                         f"(k, m, 2, 4), got {g1.shape}, {g2.shape} and {g1p.shape}")
    m = g1p.shape[1]
    coeffs = _prepared_array(prepared) if m else _EMPTY_PREPARED
    if coeffs.shape[0] != m:
        raise ValueError(f"{m} prepared G1 points per check but {coeffs.shape[0]} prepared G2")
    g1 = _as_uint64(g1.reshape(k * n, 2, 4), (2, 4), "G1 points").reshape(k, n, 2, 4)
    g2 = _as_uint64(g2.reshape(k * n, 2, 2, 4), (2, 2, 4), "G2 points").reshape(k, n, 2, 2, 4)
    g1p = _as_uint64(g1p.reshape(k * m, 2, 4), (2, 4), "G1 points").reshape(k, m, 2, 4)
    out = np.empty((k,) + FQ12_SHAPE, dtype=np.uint64)
    if k:
        _independent_checks_kernel(g1, g2, g1p, coeffs, out)
    return np.array([fq12_value_is_one(v) for v in out], dtype=bool)


def fq12_is_one(value) -> bool:
    """Whether a (2, 3, 2, 4) Fq12 value is 1."""
    return fq12_value_is_one(value)


__all__ = ["N_LINES", "PARALLEL_MIN_PAIRS", "final_exponentiation", "fq12_from_coeffs",
           "fq12_is_one", "fq12_mul_values", "fq12_one", "fq12_to_coeffs", "fq12_to_py_ecc",
           "miller_loop", "miller_loop_prepared", "multi_pairing", "pairing", "pairing_check",
           "pairing_check_arrays", "pairing_checks_arrays", "prepare_g2"]
