"""numba kernels for sparse constraint matrices."""
from numba import prange

from hpc_zkfl.algebra import montgomery as mont
from hpc_zkfl.algebra._jit import jit
from hpc_zkfl.algebra.limbs import load, store


@jit
def _row_sum(indptr, terms, out, m, k):
    acc = (out[k, 0], out[k, 1], out[k, 2], out[k, 3])
    for t in range(indptr[k], indptr[k + 1]):
        acc = mont.add(acc, load(terms, t), m)
    store(out, k, acc)


@jit(parallel=True)
def row_sums(indptr, terms, out, m):
    """out[k] += sum of terms[indptr[k]:indptr[k+1]] (CSR row sums), rows in parallel."""
    for k in prange(len(indptr) - 1):
        _row_sum(indptr, terms, out, m, k)
