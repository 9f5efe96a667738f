"""The backend API, run on every backend that can run here (reference, cpu, gpu).

The reference backend is py_ecc and Python integers, so each property below checks the
fast backends against an independent implementation under the same names.
"""
import numpy as np
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.fields import FR


def _rand_fr(rng, n):
    return [rng.randrange(R) for _ in range(n)]


def test_fr_array_ops(backend, rng):
    xs, ys = _rand_fr(rng, 50), _rand_fr(rng, 50)
    xs[0] = 0
    a, b = FR.encode(xs), FR.encode(ys)
    assert FR.decode(backend.fr_mul(a, b)) == [x * y % R for x, y in zip(xs, ys)]
    assert FR.decode(backend.fr_add(a, b)) == [(x + y) % R for x, y in zip(xs, ys)]
    assert FR.decode(backend.fr_sub(a, b)) == [(x - y) % R for x, y in zip(xs, ys)]
    assert FR.decode(backend.fr_inverse(a)) == [pow(x, -1, R) if x else 0 for x in xs]


@pytest.mark.parametrize("log_n", [0, 1, 3, 6, 10])
@pytest.mark.parametrize("coset_shift", [None, True, 7])
def test_ntt_matches_direct_evaluation(backend, rng, log_n, coset_shift):
    from hpc_zkfl.algebra.constants import FR_MULTIPLICATIVE_GENERATOR, fr_root_of_unity

    n = 1 << log_n
    coeffs = _rand_fr(rng, n)
    evals = FR.decode(backend.ntt(FR.encode(coeffs), coset_shift=coset_shift))
    shift = {None: 1, True: FR_MULTIPLICATIVE_GENERATOR}.get(coset_shift, coset_shift)
    omega = fr_root_of_unity(log_n)
    for i in sorted({0, n - 1, n // 2, min(1, n - 1)}):
        x = shift * pow(omega, i, R) % R
        assert evals[i] == sum(c * pow(x, j, R) for j, c in enumerate(coeffs)) % R
    back = backend.ntt(FR.encode(evals), inverse=True, coset_shift=coset_shift)
    assert FR.decode(back) == coeffs


def _random_points(group, rng, n):
    from hpc_zkfl.algebra.limbs import ints_to_limbs

    gen = group.encode([group.generator])
    return group.scalar_mul(gen.repeat(n, axis=0), ints_to_limbs(_rand_fr(rng, n)))


@pytest.mark.parametrize("group_name", ["G1", "G2"])
@pytest.mark.parametrize("n", [0, 1, 5, 33])
def test_msm_agrees_with_naive_sum(backend, rng, group_name, n):
    from hpc_zkfl.algebra import curve
    from hpc_zkfl.algebra.limbs import ints_to_limbs

    group = getattr(curve, group_name)
    points = _random_points(group, rng, n)
    ks = _rand_fr(rng, n)
    if n >= 5:
        ks[0], ks[1] = 0, R - 1
        points[2] = 0                 # the point at infinity
        points[3] = points[4]         # a repeated point
    msm = backend.msm_g1 if group_name == "G1" else backend.msm_g2
    got = group.decode(msm(points, ints_to_limbs(ks))[None])[0]
    # The naive sum: per-point scalar multiplications, added up with py_ecc.
    terms = group.decode(group.scalar_mul(points, ints_to_limbs(ks))) if n else []
    assert got == _sum_points(group, terms)


def _sum_points(group, points):
    from py_ecc import optimized_bn128 as bn
    from hpc_zkfl.backends.reference import from_py_ecc, to_py_ecc

    acc = to_py_ecc(group, None)
    for pt in points:
        acc = bn.add(acc, to_py_ecc(group, pt))
    return from_py_ecc(group, acc)


def test_pairing_check(backend, rng):
    from hpc_zkfl.algebra.curve import G1, G2
    from hpc_zkfl.algebra.limbs import ints_to_limbs

    a, b = _rand_fr(rng, 2)
    g1 = G1.encode([G1.generator])
    g2 = G2.encode([G2.generator])
    p = G1.scalar_mul(g1, ints_to_limbs([a]))
    q = G2.scalar_mul(g2, ints_to_limbs([b]))
    minus_ab = G1.scalar_mul(g1, ints_to_limbs([(-a * b) % R]))
    # e(aP, bQ) e(-ab P, Q) == 1, but not with a wrong exponent.
    assert backend.pairing_check(np.concatenate([p, minus_ab]), np.concatenate([q, g2]))
    assert not backend.pairing_check(np.concatenate([p, p]), np.concatenate([q, g2]))
    assert backend.pairing_check(G1.encode([None]), g2)            # e(O, Q) == 1
    assert not backend.pairing_check(g1, g2)                       # non-degenerate
