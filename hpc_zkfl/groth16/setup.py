"""Groth16 key generation (Groth, EUROCRYPT 2016, eprint 2016/260, section 3.2).

The trapdoor ("toxic waste") tau, alpha, beta, gamma, delta is drawn from the operating
system's CSPRNG (`secrets`) unless a generator is passed for reproducible tests, and exists
only as local variables of `setup`.  This is a local single-party trusted setup, NOT FOR
PRODUCTION: whoever runs it could forge proofs if they kept the trapdoor, so it is for tests,
benchmarks and deployments that trust the party running it.  For a key whose tau, alpha and
beta come from a multi-party powers-of-tau ceremony (a snarkjs .ptau file), use
`hpc_zkfl.groth16.ptau.setup_from_ptau` (`hpc-zkfl groth16 setup --ptau FILE`).

The query vectors are fixed-base scalar multiplications of the generators by the QAP
polynomials evaluated at tau through the Lagrange basis of the evaluation domain (see
`r1cs_to_qap`).  Those multiplications are the heavy work; the backend does them when it has
the "fixed_base" capability (cpu: one table per group, batch-normalized to affine;
reference: py_ecc, an independent check of the keys), else the cpu backend does.
"""
import secrets

import numpy as np

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.ntt import powers
from hpc_zkfl.backends import as_backend, get_backend, supports

from .data_structures import ProvingKey, VerifyingKey
from .r1cs_to_qap import domain_size, lagrange_at, qap_at, to_plain


def _nonzero(rnd) -> int:
    return 1 + rnd.randrange(R - 1)


def setup(r1cs, backend="auto", rng=None, commitment: bool = False,
          initial: bool = False) -> ProvingKey:
    """A proving key (holding its verifying key as `.vk`) for the constraint system, from a
    trapdoor drawn here alone: not for production (see the module docstring; `setup_from_ptau`
    takes phase 1 from a ceremony).
    `rng`: None for the OS CSPRNG, or a random.Random for reproducible test keys.
    `commitment`: also draw LegoGroth16's eta ([eta/gamma]_1 in the verifying key, [eta/delta]_1
    in the proving key: committed public inputs, `hpc_zkfl.groth16.committed`) and keep the
    powers [tau^j]_1, j <= 2n - 2, and [tau]_2 in the key, so that a prover that did not make
    it can check it (`hpc_zkfl.groth16.key_check`) before proving.
    `initial`: gamma = delta = 1 (and eta = 1): the start of a phase 2 by several parties
    (`hpc_zkfl.groth16.phase2`), forgeable by anyone until someone contributes.
    `backend` (a name or a backend object) does the fixed-base multiplications if it declares
    "fixed_base"; the kernel backends do not (no fixed-base kernel yet, and a run sets up
    once), so with them, and with "auto" on a GPU machine, the cpu backend does.  The
    parameter is kept and used rather than removed: the keys then come out of whichever
    backend a caller names, and a device backend that gains the kernel speeds setup up."""
    be = as_backend(backend)
    if not supports(be, "fixed_base"):
        be = get_backend("cpu")
    rnd = rng if rng is not None else secrets.SystemRandom()
    n = domain_size(r1cs)
    while True:
        tau = _nonzero(rnd)
        if pow(tau, n, R) != 1:     # tau outside the domain (fails with probability n / r)
            break
    alpha, beta, gamma, delta = (_nonzero(rnd) for _ in range(4))
    eta = _nonzero(rnd) if commitment else 0
    if initial:
        gamma = delta = 1
        eta = 1 if commitment else 0
    gamma_inv, delta_inv = pow(gamma, -1, R), pow(delta, -1, R)
    z_tau = (pow(tau, n, R) - 1) % R

    a_t, b_t, c_t = qap_at(r1cs, lagrange_at(tau, n))
    abc = FR.add(FR.add(FR.scale(a_t, beta), FR.scale(b_t, alpha)), c_t)
    k = r1cs.n_public + 1
    ic = FR.scale(abc[:k], gamma_inv)
    l_vals = FR.scale(abc[k:], delta_inv)
    h_vals = FR.scale(powers(tau, n - 1), z_tau * delta_inv % R)
    singles = ints_to_limbs([alpha, beta, delta])
    extra = (ints_to_limbs([eta * gamma_inv % R, eta * delta_inv % R])
             if commitment else np.zeros((0, 4), dtype=np.uint64))
    tau_powers = powers(tau, 2 * n - 1) if commitment else np.zeros((0, 4), np.uint64)

    parts = [a_t, b_t, ic, l_vals, h_vals, extra, tau_powers]
    sizes = [p.shape[0] for p in parts]
    g1_scalars = np.concatenate([to_plain(p) for p in parts] + [singles])
    g2_singles = [beta, gamma, delta] + ([1, tau] if commitment else [])
    g2_scalars = np.concatenate([to_plain(b_t), ints_to_limbs(g2_singles)])
    g1 = be.fixed_base_g1(g1_scalars)
    g2 = be.fixed_base_g2(g2_scalars)
    # Best-effort erasure: the evaluations at tau reveal tau.  Python ints cannot be wiped;
    # dropping the names lets them be freed.
    for arr in (*parts, c_t, abc, singles, g1_scalars, g2_scalars):
        arr.fill(0)
    del tau, alpha, beta, gamma, delta, eta, gamma_inv, delta_inv, z_tau, g2_singles
    pieces, start = [], 0
    for size in sizes:
        pieces.append(np.ascontiguousarray(g1[start:start + size]))
        start += size
    a_q, b_g1_q, ic_pts, l_q, h_q, eta_pts, tau_g1 = pieces
    alpha_g1, beta_g1, delta_g1 = g1[start], g1[start + 1], g1[start + 2]
    nw = r1cs.n_wires
    b_g2_q = np.ascontiguousarray(g2[:nw])
    beta_g2, gamma_g2, delta_g2 = g2[nw], g2[nw + 1], g2[nw + 2]
    if not commitment:
        vk = VerifyingKey(alpha_g1, beta_g2, gamma_g2, delta_g2, ic_pts)
        return ProvingKey(vk, beta_g1, delta_g1, a_q, b_g1_q, b_g2_q, h_q, l_q,
                          r1cs.n_constraints, n)
    vk = VerifyingKey(alpha_g1, beta_g2, gamma_g2, delta_g2, ic_pts, eta_pts[0].copy())
    return ProvingKey(vk, beta_g1, delta_g1, a_q, b_g1_q, b_g2_q, h_q, l_q, r1cs.n_constraints,
                      n, eta_pts[1].copy(), tau_g1, np.ascontiguousarray(g2[nw + 3:nw + 5]))


__all__ = ["setup"]
