"""The "reference" backend: the backend API computed with py_ecc and Python integers.

Slow (a pairing takes most of a second) and meant for tests: every property test of the
backend API runs on it and on the fast backends alike, so the fast ones are checked
against an independent implementation under the same names.
"""
import numpy as np
from py_ecc import optimized_bn128 as bn
from py_ecc.optimized_bn128 import optimized_pairing
from py_ecc.fields import optimized_bn128_FQ2 as PyFQ2
from py_ecc.fields import optimized_bn128_FQ12 as PyFQ12

from hpc_zkfl.algebra.constants import FR_MULTIPLICATIVE_GENERATOR, R, fr_root_of_unity
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra.limbs import limbs_to_ints
from hpc_zkfl.algebra.msm import check_msm_inputs, check_scalars


def to_py_ecc(group, pt):
    """A Python point of `group` (curve.G1 or curve.G2; None = infinity) as a py_ecc point."""
    if pt is None:
        return bn.Z1 if group is G1 else bn.Z2
    if group is G1:
        return (bn.FQ(pt[0]), bn.FQ(pt[1]), bn.FQ.one())
    return (PyFQ2(list(pt[0])), PyFQ2(list(pt[1])), PyFQ2.one())


def from_py_ecc(group, pt):
    """A py_ecc point as a Python point of `group` (None for infinity)."""
    if bn.is_inf(pt):
        return None
    x, y = bn.normalize(pt)
    if group is G1:
        return (int(x), int(y))
    return (tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs))


def _fft(values, root):
    """Recursive radix-2 evaluation of sum_j values[j] x^j at root^i, Python ints."""
    n = len(values)
    if n == 1:
        return list(values)
    even = _fft(values[0::2], root * root % R)
    odd = _fft(values[1::2], root * root % R)
    out = [0] * n
    w = 1
    for i in range(n // 2):
        t = w * odd[i] % R
        out[i] = (even[i] + t) % R
        out[i + n // 2] = (even[i] - t) % R
        w = w * root % R
    return out


class ReferenceBackend:
    """The contract of :class:`hpc_zkfl.backends.api.Backend` and the "fixed_base"
    capability, on py_ecc; inputs are checked as the fast backends check them."""

    name = "reference"
    capabilities = frozenset({"fixed_base"})

    def _msm(self, group, points, scalars):
        points, scalars = check_msm_inputs(group, points, scalars)
        acc = to_py_ecc(group, None)
        for pt, k in zip(group.decode(points), limbs_to_ints(scalars)):
            acc = bn.add(acc, bn.multiply(to_py_ecc(group, pt), k))
        return group.encode([from_py_ecc(group, acc)])[0]

    def msm_g1(self, points, scalars):
        return self._msm(G1, points, scalars)

    def msm_g2(self, points, scalars):
        return self._msm(G2, points, scalars)

    def _fixed_base(self, group, scalars):
        n = np.shape(scalars)[0] if np.ndim(scalars) else 0
        ks = limbs_to_ints(check_scalars(group, scalars, n))
        gen = to_py_ecc(group, group.generator)
        out = np.zeros((n, 2) + group.coord_shape, dtype=np.uint64)
        for i, k in enumerate(ks):
            out[i] = group.encode([from_py_ecc(group, bn.multiply(gen, k))])[0]
        return out

    def fixed_base_g1(self, scalars):
        return self._fixed_base(G1, scalars)

    def fixed_base_g2(self, scalars):
        return self._fixed_base(G2, scalars)

    def ntt(self, values, inverse=False, coset_shift=None):
        coeffs = FR.decode(values)
        n = len(coeffs)
        if n == 0 or n & (n - 1):
            raise ValueError(f"NTT size must be a power of two, got {n}")
        root = fr_root_of_unity(n.bit_length() - 1)
        shift = FR_MULTIPLICATIVE_GENERATOR if coset_shift is True else coset_shift
        if not inverse:
            if shift:
                coeffs = [c * pow(shift, j, R) % R for j, c in enumerate(coeffs)]
            return FR.encode(_fft(coeffs, root))
        out = _fft(coeffs, pow(root, -1, R))
        n_inv = pow(n, -1, R)
        out = [c * n_inv % R for c in out]
        if shift:
            shift_inv = pow(shift, -1, R)
            out = [c * pow(shift_inv, j, R) % R for j, c in enumerate(out)]
        return FR.encode(out)

    def pairing_check(self, g1_points, g2_points):
        f = PyFQ12.one()
        for p, q in zip(G1.decode(g1_points), G2.decode(g2_points), strict=True):
            if p is None or q is None:
                continue
            f = f * optimized_pairing.miller_loop(optimized_pairing.twist(to_py_ecc(G2, q)),
                                                  optimized_pairing.cast_point_to_fq12(to_py_ecc(G1, p)),
                                                  final_exponentiate=False)
        return optimized_pairing.final_exponentiate(f) == PyFQ12.one()

    def fr_mul(self, a, b):
        return FR.encode(x * y for x, y in zip(FR.decode(a), FR.decode(b), strict=True))

    def fr_add(self, a, b):
        return FR.encode(x + y for x, y in zip(FR.decode(a), FR.decode(b), strict=True))

    def fr_sub(self, a, b):
        return FR.encode(x - y for x, y in zip(FR.decode(a), FR.decode(b), strict=True))

    def fr_inverse(self, a):
        return FR.encode(pow(x, -1, R) if x else 0 for x in FR.decode(a))

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"
