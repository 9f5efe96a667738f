"""From R1CS to a quadratic arithmetic program over a radix-2 evaluation domain.

The reduction of Gennaro, Gentry, Parno, Raykova ("Quadratic Span Programs and Succinct
NIZKs without PCPs", EUROCRYPT 2013) in the evaluation-domain form of libsnark / arkworks'
LibsnarkReduction and snarkjs: constraint k is the evaluation at omega^k, so the wire
polynomials are a_i(X) = sum_k A[k][i] L_k(X) with L_k the Lagrange basis of the domain
H = {omega^k : k < n} and Z(X) = X^n - 1.

The constraints are extended by one row per public wire i = 0..n_public (the constant wire
first): row m + i has A = w_i, B = 0, C = 0.  It always holds, and it makes the polynomials
a_i of the public wires linearly independent, which the Groth16 soundness proof needs for
the verifier's IC vector.  Hence the domain size is the next power of two >= m + n_public + 1.
Setup (`qap_at`) and prover (`compute_h`) both use this same extension.

The prover's quotient h = (a b - c) / Z is computed on a coset s H (s = the multiplicative
generator 5), where Z is the non-zero constant s^n - 1: three inverse NTTs, three coset NTTs,
one coset inverse NTT.  h has degree n - 2, so n - 1 coefficients.
"""
import numpy as np

from hpc_zkfl.algebra import montgomery as mont
from hpc_zkfl.algebra._jit import jit
from hpc_zkfl.algebra.constants import FR_MULTIPLICATIVE_GENERATOR, FR_TWO_ADICITY, R, fr_root_of_unity
from hpc_zkfl.algebra.fields import FR, FR_M
from hpc_zkfl.algebra.limbs import load, store
from hpc_zkfl.algebra.ntt import powers
from hpc_zkfl.backends import as_backend, supports

COSET_SHIFT = FR_MULTIPLICATIVE_GENERATOR


def domain_size_for(n_constraints: int, n_public: int) -> int:
    """The next power of two >= n_constraints + n_public + 1, whether or not Fr has a domain
    that large (`domain_size` refuses one it has not; estimates need the figure anyway)."""
    return 1 << max(1, (n_constraints + n_public).bit_length())


def domain_size(r1cs) -> int:
    """The evaluation domain size n: the next power of two >= m + n_public + 1."""
    n = domain_size_for(r1cs.n_constraints, r1cs.n_public)
    if n.bit_length() - 1 > FR_TWO_ADICITY:
        rows = r1cs.n_constraints + r1cs.n_public + 1
        raise ValueError(f"{rows} constraint rows exceed the largest radix-2 domain of Fr")
    return n


def coset_vanishing_inverse(n: int) -> int:
    """1 / Z(s) = 1 / (s^n - 1) for the coset shift s: Z is this constant on the whole coset."""
    return pow((pow(COSET_SHIFT, n, R) - 1) % R, -1, R)


def _padded(values, n):
    out = np.zeros((n, 4), dtype=np.uint64)
    out[:values.shape[0]] = values
    return out


def compute_h(r1cs, witness, backend="auto", evaluations=None) -> np.ndarray:
    """Coefficients of h = (a b - c) / Z, an (n - 1, 4) Montgomery array, for a witness
    (an (n_wires, 4) Montgomery array) that satisfies the constraint system.  `evaluations`:
    r1cs.evaluations(witness) when the caller has them already."""
    be = as_backend(backend)
    n = domain_size(r1cs)
    m, k = r1cs.n_constraints, r1cs.n_public + 1
    a, b, c = (_padded(v, n) for v in (evaluations or r1cs.evaluations(witness)))
    a[m:m + k] = witness[:k]
    z_inv = coset_vanishing_inverse(n)
    if supports(be, "qap_quotient"):  # the kernel backends keep every step on the device
        return np.ascontiguousarray(be.qap_quotient(a, b, c, COSET_SHIFT, z_inv)[:n - 1])
    on_coset = [be.ntt(be.ntt(v, inverse=True), coset_shift=COSET_SHIFT) for v in (a, b, c)]
    num = be.fr_sub(be.fr_mul(on_coset[0], on_coset[1]), on_coset[2])
    num = be.fr_mul(num, np.broadcast_to(FR.encode([z_inv]), num.shape).copy())
    h = be.ntt(num, inverse=True, coset_shift=COSET_SHIFT)
    return np.ascontiguousarray(h[:n - 1])


def lagrange_at(tau: int, n: int) -> np.ndarray:
    """L_k(tau) for k < n over the domain of size n, an (n, 4) Montgomery array:
    L_k(tau) = Z(tau) omega^k / (n (tau - omega^k)).  tau must lie outside the domain."""
    z_tau = (pow(tau, n, R) - 1) % R
    if z_tau == 0:
        raise ValueError("tau lies in the evaluation domain")
    omega = fr_root_of_unity(n.bit_length() - 1)
    w = powers(omega, n)
    den = FR.sub(np.broadcast_to(FR.encode([tau % R]), w.shape).copy(), w)
    lag = FR.mul(FR.inverse(den), w)
    return FR.scale(lag, z_tau * pow(n, -1, R) % R)


@jit
def _scatter(indptr, wires, coeffs, lag, out, m):
    """out[wire] += coeff * lag[row] over the non-zeros of a CSR matrix (one thread: rows
    share wires)."""
    for k in range(len(indptr) - 1):
        lk = load(lag, k)
        for t in range(indptr[k], indptr[k + 1]):
            i = wires[t]
            store(out, i, mont.add(load(out, i), mont.mul(load(coeffs, t), lk, m), m))


def qap_at(r1cs, lag) -> tuple:
    """(a_i(tau), b_i(tau), c_i(tau)) for every wire i, three (n_wires, 4) Montgomery arrays,
    from the Lagrange values `lag` = lagrange_at(tau, n)."""
    out = []
    for mat in (r1cs.A, r1cs.B, r1cs.C):
        acc = np.zeros((r1cs.n_wires, 4), dtype=np.uint64)
        if len(mat.wires):
            _scatter(mat.indptr, mat.wires, mat.coeffs, lag, acc, FR_M)
        out.append(acc)
    m, k = r1cs.n_constraints, r1cs.n_public + 1
    out[0][:k] = FR.add(out[0][:k], lag[m:m + k])
    return tuple(out)


def to_plain(values) -> np.ndarray:
    """Montgomery Fr array -> plain canonical limbs (MSM scalars)."""
    values = np.ascontiguousarray(values, dtype=np.uint64)
    out = np.empty_like(values)
    if values.shape[0]:
        mont.from_mont_array(values, out, FR_M)
    return out


__all__ = ["COSET_SHIFT", "compute_h", "coset_vanishing_inverse", "domain_size", "lagrange_at",
           "qap_at", "to_plain"]
