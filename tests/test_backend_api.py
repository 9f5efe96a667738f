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


@pytest.mark.parametrize("group_name", ["G1", "G2"])
def test_fixed_base_multiples_of_the_generator(backend, rng, group_name):
    from hpc_zkfl.algebra import curve
    from hpc_zkfl.algebra.limbs import ints_to_limbs
    from hpc_zkfl.backends import supports

    if not supports(backend, "fixed_base"):
        pytest.skip(f"{backend.name} has no fixed_base (setup gives its work to cpu)")
    group = getattr(curve, group_name)
    fixed = backend.fixed_base_g1 if group_name == "G1" else backend.fixed_base_g2
    ks = [0, 1, R - 1, *_rand_fr(rng, 4)]
    gen = group.encode([group.generator]).repeat(len(ks), axis=0)
    assert np.array_equal(fixed(ints_to_limbs(ks)), group.scalar_mul(gen, ints_to_limbs(ks)))
    assert fixed(np.zeros((0, 4), dtype=np.uint64)).shape == (0, 2) + group.coord_shape
    with pytest.raises(ValueError, match="not below the group order"):
        fixed(ints_to_limbs([R]))


def test_setup_runs_on_the_named_backend():
    """Keys from the same trapdoor are the same on every backend: the reference's (py_ecc)
    check the cpu's, and a backend without "fixed_base" hands the work to cpu."""
    import random
    import types
    from unittest import mock

    from hpc_zkfl.backends import get_backend
    from hpc_zkfl.groth16 import setup
    from hpc_zkfl.groth16.formats import pk_to_bytes
    from hpc_zkfl.groth16.testing import random_circuit

    r1cs, _ = random_circuit(3, rng=random.Random(4))
    want = pk_to_bytes(setup(r1cs, backend="cpu", rng=random.Random(5)))
    assert pk_to_bytes(setup(r1cs, backend="reference", rng=random.Random(5))) == want
    plain = types.SimpleNamespace(name="plain", capabilities=frozenset())
    cpu = get_backend("cpu")
    with mock.patch.object(type(cpu), "fixed_base_g1", autospec=True,
                           side_effect=type(cpu).fixed_base_g1) as g1:
        assert pk_to_bytes(setup(r1cs, backend=plain, rng=random.Random(5))) == want
    assert g1.call_count == 1
