"""The "cpu" backend: the numba kernels of :mod:`hpc_zkfl.algebra`.

Obtain it through the registry (``hpc_zkfl.backends.get_backend("cpu")``) rather than by
constructing it, so that every caller shares one instance.
"""
from hpc_zkfl.algebra import msm as _msm
from hpc_zkfl.algebra import ntt as _ntt
from hpc_zkfl.algebra import pairing as _pairing
from hpc_zkfl.algebra.fields import FR


class CpuBackend:
    """BN254 kernels compiled by numba for the host CPU, on all cores numba is given
    (``NUMBA_NUM_THREADS``).

    Every backend exposes the same API (the reference and gpu backends too).  Arrays are
    C-contiguous uint64 in Montgomery form: Fr vectors (n, 4); affine G1 points (n, 2, 4)
    and G2 points (n, 2, 2, 4), all-zero coordinates for the point at infinity; MSM
    scalars are plain (not Montgomery) integers below r as (n, 4) limbs.

    - ``msm_g1(points, scalars)`` / ``msm_g2(points, scalars)``: sum of k_i P_i as one
      affine point, shape (2, 4) / (2, 2, 4);
    - ``ntt(values, inverse=False, coset_shift=None)``: radix-2 NTT over Fr
      (``coset_shift=True`` for the default coset generator 5, or an int);
    - ``pairing_check(g1_points, g2_points)``: whether prod e(P_i, Q_i) == 1;
    - ``fr_mul``, ``fr_add``, ``fr_sub``, ``fr_inverse``: element-wise Fr arithmetic.
    """

    name = "cpu"

    def msm_g1(self, points, scalars):
        return _msm.msm_g1(points, scalars)

    def msm_g2(self, points, scalars):
        return _msm.msm_g2(points, scalars)

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
