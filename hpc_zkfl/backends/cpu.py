"""The "cpu" backend: the numba kernels of :mod:`hpc_zkfl.algebra`.

Obtain it through the registry (``hpc_zkfl.backends.get_backend("cpu")``) rather than by
constructing it, so that every caller shares one instance.
"""
from hpc_zkfl.algebra import msm as _msm
from hpc_zkfl.algebra import ntt as _ntt
from hpc_zkfl.algebra import pairing as _pairing
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fields import FR


class CpuBackend:
    """BN254 kernels compiled by numba for the host CPU, on all cores numba is given
    (``NUMBA_NUM_THREADS``).

    Implements the contract of :class:`hpc_zkfl.backends.api.Backend` (array conventions,
    shapes, errors) and the "fixed_base" capability (the Groth16 setup's multiplications).
    """

    name = "cpu"
    capabilities = frozenset({"fixed_base"})

    def msm_g1(self, points, scalars):
        return _msm.msm_g1(points, scalars)

    def msm_g2(self, points, scalars):
        return _msm.msm_g2(points, scalars)

    def fixed_base_g1(self, scalars):
        return _msm.fixed_base_mul(G1, scalars)

    def fixed_base_g2(self, scalars):
        return _msm.fixed_base_mul(G2, scalars)

    def pairing_check(self, g1_points, g2_points):
        return _pairing.pairing_check_arrays(g1_points, g2_points)

    def ntt(self, values, inverse=False, coset_shift=None):
        return _ntt.ntt(values, inverse=inverse, coset_shift=coset_shift)

    def fr_mul(self, a, b):
        return FR.mul(a, b)

    def fr_add(self, a, b):
        return FR.add(a, b)

    def fr_sub(self, a, b):
        return FR.sub(a, b)

    def fr_inverse(self, a):
        return FR.inverse(a)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"
