"""The "cpu" backend: the numba kernels of :mod:`hpc_zkfl.algebra`.

Obtain it through the registry (``hpc_zkfl.backends.get_backend("cpu")``) rather than by
constructing it, so that every caller shares one instance.
"""


class CpuBackend:
    """BN254 kernels compiled by numba for the host CPU.

    The API every backend exposes (the "gpu" backend offers the same names):

    - ``msm_g1(points, scalars)``: multi-scalar multiplication in G1;
    - ``msm_g2(points, scalars)``: multi-scalar multiplication in G2;
    - ``ntt(values, inverse=False, coset=False)``: number-theoretic transform over Fr;
    - ``pairing_check(pairs)``: whether the product of ``e(P_i, Q_i)`` is one;
    - field array ops: element-wise arithmetic on arrays of Fr and Fq elements.

    The kernels run in parallel on the threads numba is given (``NUMBA_NUM_THREADS``).
    """

    name = "cpu"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"
