"""Prime-order subgroup membership for G1 and G2, and G2 cofactor clearing.

G1: E(Fq) has prime order r (cofactor 1), so every point on y^2 = x^3 + 3 is in G1 and
the membership test is the curve equation.

G2: the twist E'(Fq2) has order r * h with h = 2p - r (a 254-bit cofactor), so a point
on the twist is in G2 only if [r]Q = O.  Multiplying by r costs a 254-bit scalar
multiplication; instead we use the twisted Frobenius psi (psi(x, y) = (conj(x) PSI_X,
conj(y) PSI_Y), which acts on G2 as multiplication by p) and the criterion of Dai, Lin,
Zhao and Zhou, "Fast subgroup membership testing for G1, G2 and GT on pairing-friendly
curves" (eprint 2022/348, Sec. 4 for BN curves):

    Q in G2  <=>  [x+1]Q + psi([x]Q) + psi^2([x]Q) == psi^3([2x]Q)

valid for a point Q on E'(Fq2) when the BN seed x satisfies x != 4 (mod 13) and
x != 92 (mod 97), which holds for BN254 (x mod 13 = 0, x mod 97 = 49).  The cost is one
64-bit scalar multiplication by the seed plus a few psi maps and additions, against
[6x^2]Q (a 127-bit scalar) for the older psi(Q) == [6x^2]Q test (Scott, eprint 2021/1130;
El Housni, Guillevic, Piellard, eprint 2022/352) and [r]Q (254 bits) for the definition.
The tests check the criterion against [r]Q == O on points inside and outside G2.

Membership here always includes the curve equation: a point that is not on the twist is
not in G2 (the endomorphism criterion says nothing about such points).  The affine
all-zero encoding of infinity is in both groups.
"""
import numpy as np
from numba import prange

from ._jit import inline, jit
from .constants import BN_X, G2_COFACTOR, P, PSI2_X, PSI2_Y, PSI_X, PSI_Y, R, TWIST_B
from .curve import (B_G1, B_G2, G1, G2, affine_is_infinity, affine_on_curve, jac_add, jac_add_affine,
                    jac_double, jac_eq)
from .field_ops import _generic, f_load
from .fields import FQ
from .fq2 import FQ2_ONE, fq2_conj, fq2_element, fq2_mul, fq2_mul_fq, fq2_neg, fq2_sqrt, fq2_value
from .limbs import ints_to_limbs

_PSI_X = fq2_element(PSI_X)
_PSI_Y = fq2_element(PSI_Y)
# psi^2 has coefficients in Fq (and PSI2_Y = -1): psi^2(x, y) = (x PSI2_X, -y).
assert PSI2_X[1] == 0 and PSI2_Y == (P - 1, 0)
_PSI2_X = FQ.element(PSI2_X[0])
_SEED = np.uint64(BN_X)
_SEED_BITS = BN_X.bit_length()
assert BN_X % 13 != 4 and BN_X % 97 != 92, "hypothesis of the eprint 2022/348 criterion"


# ---- endomorphism -----------------------------------------------------------------------
@inline
def psi_affine(x, y):
    """psi on an affine G2 point (not for the all-zero infinity encoding)."""
    return fq2_mul(fq2_conj(x), _PSI_X), fq2_mul(fq2_conj(y), _PSI_Y)


@inline
def psi_jac(p):
    """psi on a Jacobian point: conj commutes with x = X/Z^2, y = Y/Z^3, so Z -> conj(Z)."""
    return (fq2_mul(fq2_conj(p[0]), _PSI_X), fq2_mul(fq2_conj(p[1]), _PSI_Y), fq2_conj(p[2]))


@inline
def psi2_jac(p):
    """psi^2 on a Jacobian point: (X PSI2_X, -Y, Z), PSI2_X in Fq."""
    return (fq2_mul_fq(p[0], _PSI2_X), fq2_neg(p[1]), p[2])


# ---- membership -------------------------------------------------------------------------
@inline
def _mul_by_seed(x, y):
    """[BN_X](x, y) for an affine non-infinity point: double-and-add with mixed additions.
    Variable time, which is fine: the point is public."""
    acc = (x, y, FQ2_ONE)
    for bit in range(_SEED_BITS - 2, -1, -1):
        acc = jac_double(acc)
        if (_SEED >> np.uint64(bit)) & np.uint64(1):
            acc = jac_add_affine(acc, x, y)
    return acc


@jit
def g2_affine_in_subgroup(x, y):
    """Q = (x, y) (Montgomery affine, all zeros = infinity) is on the twist and in G2."""
    if affine_is_infinity(x, y):
        return True
    if not affine_on_curve(x, y, B_G2):
        return False
    xq = _mul_by_seed(x, y)                                    # [x]Q
    lhs = jac_add_affine(xq, x, y)                             # [x+1]Q
    lhs = jac_add(lhs, psi_jac(xq))                            # + psi([x]Q)
    lhs = jac_add(lhs, psi2_jac(xq))                           # + psi^2([x]Q)
    rhs = psi_jac(psi2_jac(jac_double(xq)))                    # psi^3([2x]Q)
    return jac_eq(lhs, rhs)


# Generic over the coordinate field, for kernels written once for G1 and G2 (serialization):
# affine_in_subgroup(x, y) is the curve equation for G1 (cofactor 1) and the full G2 test.
affine_in_subgroup = _generic(lambda a, b: affine_on_curve(a, b, B_G1),
                              lambda a, b: g2_affine_in_subgroup(a, b))


@jit
def _g2_subgroup_row(points, out, i):
    out[i] = g2_affine_in_subgroup(f_load(points, i, 0), f_load(points, i, 1))


@jit(parallel=True)
def g2_subgroup_array(points, out):
    """out[i] = affine G2 point i (Montgomery, (n, 2, 2, 4)) is in G2."""
    for i in prange(points.shape[0]):
        _g2_subgroup_row(points, out, i)


# ---- Python API ---------------------------------------------------------------------------
def g2_in_subgroup(points) -> np.ndarray:
    """Boolean array: each affine G2 point (Montgomery (n, 2, 2, 4) array) is on the twist and
    in the order-r subgroup.  Endomorphism test of eprint 2022/348, parallel over points."""
    points = G2._check(points, 2)
    out = np.empty(points.shape[0], dtype=np.bool_)
    if points.shape[0]:
        g2_subgroup_array(points, out)
    return out


def g1_in_subgroup(points) -> np.ndarray:
    """Boolean array for affine G1 points: G1 is all of E(Fq) (cofactor 1), so membership is
    the curve equation."""
    return G1.on_curve(points)


def g2_in_subgroup_by_order(points) -> np.ndarray:
    """The definition, slowly: on the twist and [r]Q == O.  For tests."""
    points = G2._check(points, 2)
    n = points.shape[0]
    if not n:
        return np.empty(0, dtype=np.bool_)
    on = G2.on_curve(points)
    prod = G2.scalar_mul(points, ints_to_limbs([R] * n))
    return on & np.all(prod == 0, axis=(1, 2, 3))


def psi(point):
    """psi on a Python-level G2 point ((x0, x1), (y0, y1)) or None."""
    if point is None:
        return None
    x, y = psi_affine(fq2_element(point[0]), fq2_element(point[1]))
    return (fq2_value(x), fq2_value(y))


def clear_cofactor_g2(points) -> np.ndarray:
    """[2p - r] Q for affine points on the twist: lands in G2.  Plain scalar multiplication
    by the 254-bit cofactor (the tests' way to make G2 points that are not multiples of a
    known generator; not on any hot path)."""
    points = G2._check(points, 2)
    return G2.scalar_mul(points, ints_to_limbs([G2_COFACTOR] * points.shape[0]))


def twist_point_from_x(x):
    """A point ((x0, x1), (y0, y1)) on the twist E'(Fq2) with the given x, or None when
    x^3 + b' is not a square."""
    x0, x1 = x[0] % P, x[1] % P
    sq = ((x0 * x0 - x1 * x1) % P, 2 * x0 * x1 % P)
    rhs = ((sq[0] * x0 - sq[1] * x1 + TWIST_B[0]) % P, (sq[0] * x1 + sq[1] * x0 + TWIST_B[1]) % P)
    ok, y = fq2_sqrt(fq2_element(rhs))
    if not ok:
        return None
    return ((x0, x1), fq2_value(y))


def random_twist_points(n: int, rng) -> np.ndarray:
    """n random points of E'(Fq2) as a Montgomery (n, 2, 2, 4) array: random x until x^3 + b'
    is a square.  Almost surely outside G2 (G2 is a 1/h fraction of the twist's points)."""
    pts = []
    while len(pts) < n:
        pt = twist_point_from_x((rng.randrange(P), rng.randrange(P)))
        if pt is not None:
            pts.append(pt)
    return G2.encode(pts)


def random_g2_points(n: int, rng) -> np.ndarray:
    """n random G2 points (cofactor-cleared random twist points), Montgomery affine."""
    return clear_cofactor_g2(random_twist_points(n, rng))


__all__ = ["g2_affine_in_subgroup", "affine_in_subgroup", "g2_subgroup_array", "g2_in_subgroup",
           "g1_in_subgroup", "g2_in_subgroup_by_order", "psi", "psi_affine", "psi_jac", "psi2_jac",
           "clear_cofactor_g2", "twist_point_from_x", "random_twist_points", "random_g2_points"]
