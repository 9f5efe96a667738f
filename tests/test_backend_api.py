"""The backend API, run on every backend that can run here (reference, cpu, gpu).

The reference backend is py_ecc and Python integers, so each property below checks the
fast backends against an independent implementation under the same names.
"""
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
