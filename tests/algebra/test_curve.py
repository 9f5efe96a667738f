"""G1 and G2 Jacobian arithmetic of curve.py against py_ecc.

Every operation is checked on random points given in random Jacobian representations
(X, Y, Z) = (x z^2, y z^3, z), and on the special cases the formulas branch on: the point at
infinity on either side, P + P (addition falling back to doubling), P + (-P), mixed addition
with an affine infinity.  One test kernel per group computes all operations for a batch of
rows, so the suite compiles two kernels instead of one per operation.
"""
import numpy as np
import pytest
from numba import prange
from py_ecc import optimized_bn128 as bn

from hpc_zkfl.algebra._jit import jit
from hpc_zkfl.algebra.constants import P, R
from hpc_zkfl.algebra.curve import (G1, G2, jac_add, jac_add_affine, jac_double, jac_eq,
                                    jac_from_affine, jac_neg, jac_to_affine)
from hpc_zkfl.algebra.field_ops import f_load, f_store
from hpc_zkfl.algebra.fields import FQ
from hpc_zkfl.algebra.fq2 import fq2_encode
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.backends.reference import from_py_ecc, to_py_ecc

GROUPS = {"G1": G1, "G2": G2}


@pytest.fixture(params=["G1", "G2"])
def group(request):
    return GROUPS[request.param]


# ---- py_ecc conversions -----------------------------------------------------------------------
def gen(group):
    return bn.G1 if group is G1 else bn.G2


def random_points(group, rng, n):
    return [from_py_ecc(group, bn.multiply(gen(group), rng.randrange(1, R))) for _ in range(n)]


def py_neg(group, pt):
    return None if pt is None else from_py_ecc(group, bn.neg(to_py_ecc(group, pt)))


# ---- Jacobian representations ------------------------------------------------------------------
def _fq2_mul(a, b):
    return ((a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P)


def jacobian(group, pt, rng):
    """A random Jacobian representation (x z^2, y z^3, z) of pt; infinity as (1, 1, 0)."""
    if group is G1:
        if pt is None:
            return (1, 1, 0)
        z = rng.randrange(1, P)
        return (pt[0] * z * z % P, pt[1] * z ** 3 % P, z)
    if pt is None:
        return ((1, 0), (1, 0), (0, 0))
    z = (rng.randrange(P), rng.randrange(1, P))
    z2 = _fq2_mul(z, z)
    return (_fq2_mul(pt[0], z2), _fq2_mul(pt[1], _fq2_mul(z2, z)), z)


def encode_jac(group, pts):
    flat = [c for pt in pts for c in pt]
    if group is G1:
        return FQ.encode(flat).reshape(len(pts), 3, 4)
    return fq2_encode(flat).reshape(len(pts), 3, 2, 4)


# ---- one kernel with every operation ------------------------------------------------------------
@jit
def _ops_row(pj, qj, qa, out, eq, i):
    p = (f_load(pj, i, 0), f_load(pj, i, 1), f_load(pj, i, 2))
    q = (f_load(qj, i, 0), f_load(qj, i, 1), f_load(qj, i, 2))
    qx, qy = f_load(qa, i, 0), f_load(qa, i, 1)
    results = (jac_add(p, q), jac_double(p), jac_add_affine(p, qx, qy), jac_neg(p),
               jac_from_affine(qx, qy))
    for k in range(5):
        x, y = jac_to_affine(results[k])
        f_store(out, i, 2 * k, x)
        f_store(out, i, 2 * k + 1, y)
    eq[i, 0] = jac_eq(p, q)
    eq[i, 1] = jac_eq(p, jac_neg(jac_neg(p)))


@jit(parallel=True)
def ops_kernel(pj, qj, qa, out, eq):
    for i in prange(pj.shape[0]):
        _ops_row(pj, qj, qa, out, eq, i)


def run_ops(group, ps, qs, rng):
    """Returns per row: affine P+Q, 2P, P+Q (mixed), -P, Q (from affine), and the two eq bits."""
    n = len(ps)
    pj = encode_jac(group, [jacobian(group, p, rng) for p in ps])
    qj = encode_jac(group, [jacobian(group, q, rng) for q in qs])
    qa = group.encode(qs)
    out = np.empty((n, 10) + group.coord_shape, dtype=np.uint64)
    eq = np.empty((n, 2), dtype=np.bool_)
    ops_kernel(pj, qj, qa, out, eq)
    res = group.decode(out.reshape((n * 5, 2) + group.coord_shape))
    return [res[5 * i: 5 * i + 5] for i in range(n)], eq


def test_operations_against_py_ecc(group, rng):
    pts = random_points(group, rng, 6)
    a, b = pts[0], pts[1]
    ps = pts[:4] + [a, a, None, None, a, py_neg(group, b)]
    qs = pts[2:6] + [a, py_neg(group, a), b, None, None, b]
    rows, eq = run_ops(group, ps, qs, rng)
    for (p, q), (add, dbl, madd, neg, q_aff), (is_eq, eq_self) in zip(zip(ps, qs), rows, eq):
        pp, qq = to_py_ecc(group, p), to_py_ecc(group, q)
        expect_add = from_py_ecc(group, bn.add(pp, qq))
        assert add == expect_add
        assert madd == expect_add
        assert dbl == from_py_ecc(group, bn.double(pp))
        assert neg == py_neg(group, p)
        assert q_aff == q
        assert bool(is_eq) == (p == q)
        assert eq_self


def test_scalar_mul_against_py_ecc(group, rng):
    pts = random_points(group, rng, 3)
    scalars = [0, 1, 2, R - 1, R, R + 1, (1 << 256) - 1, rng.randrange(R), rng.randrange(1 << 256)]
    points = [pts[i % 3] for i in range(len(scalars))] + [None]
    scalars = scalars + [rng.randrange(R)]
    got = group.decode(group.scalar_mul(group.encode(points), ints_to_limbs(scalars)))
    for pt, k, res in zip(points, scalars, got):
        assert res == from_py_ecc(group, bn.multiply(to_py_ecc(group, pt), k))


def test_on_curve(group, rng):
    pts = random_points(group, rng, 3)
    arr = group.encode(pts + [None])
    assert group.on_curve(arr).all()
    bad = arr.copy()
    if group is G1:
        bad[:3] = group.encode([(x, (y + 1) % P) for x, y in pts])
        bad[3] = group.encode([(0, 1)])[0]
    else:
        bad[:3] = group.encode([(x, ((y[0] + 1) % P, y[1])) for x, y in pts])
        bad[3] = group.encode([((0, 0), (1, 0))])[0]
    assert not group.on_curve(bad).any()


def test_batch_normalization(group, rng):
    """to_affine over several chunks, with infinity rows (Z = 0) among finite ones."""
    n = 600                      # more than 256 rows: at least two Montgomery-trick chains
    base = group.scalar_mul(group.encode([group.generator] * 40),
                            ints_to_limbs([rng.randrange(1, R) for _ in range(40)]))
    distinct = group.decode(base)
    pts = [None if i % 7 == 3 or i in (0, n - 1) else distinct[i % 40] for i in range(n)]
    jac = encode_jac(group, [jacobian(group, pt, rng) for pt in pts])
    assert group.decode(group.to_affine(jac)) == pts
    # All rows infinity, and a single row.
    assert group.decode(group.to_affine(encode_jac(group, [jacobian(group, None, rng)] * 5))) == [None] * 5
    assert group.decode(group.to_affine(jac[1:2])) == pts[1:2]
    # The random base points themselves agree with py_ecc.
    k = rng.randrange(1, R)
    one = group.decode(group.scalar_mul(group.encode([group.generator]), ints_to_limbs([k])))[0]
    assert one == from_py_ecc(group, bn.multiply(gen(group), k))


def test_encode_decode_round_trip(group, rng):
    pts = random_points(group, rng, 2) + [None]
    assert group.decode(group.encode(pts)) == pts
    with pytest.raises(ValueError):
        group.on_curve(np.zeros((2, 3, 4), dtype=np.uint64))
