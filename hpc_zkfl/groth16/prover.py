"""The Groth16 prover (Groth, EUROCRYPT 2016, eprint 2016/260, section 3.2), re-randomized
with fresh r, s from the OS CSPRNG for every proof (zero knowledge):

    A = alpha + sum_i w_i a_i(tau) + r delta                       (G1)
    B = beta + sum_i w_i b_i(tau) + s delta                        (G2, and its G1 twin B1)
    C = sum_{private i} w_i l_i + sum_j h_j h_query_j + s A + r B1 - r s delta      (G1)

Each line is one multi-scalar multiplication on the backend, with the constant terms
appended as extra (point, scalar) pairs.  A witness that does not satisfy the constraint
system is refused before any group operation: no proof is ever produced for it.
"""
import secrets

import numpy as np

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.backends import as_backend, supports
from hpc_zkfl.circuit.r1cs import first_unsatisfied

from .data_structures import Proof, ProvingKey
from .r1cs_to_qap import COSET_SHIFT, compute_h, coset_vanishing_inverse, domain_size, to_plain


class UnsatisfiedWitnessError(ValueError):
    """The witness violates a constraint; `.constraint` is the first failing index."""

    def __init__(self, constraint: int):
        super().__init__(f"witness does not satisfy constraint {constraint}; refusing to prove")
        self.constraint = constraint


def check_key(pk: ProvingKey, r1cs) -> None:
    """Raise ValueError unless the proving key was made for this constraint system's shape."""
    if (pk.n_wires != r1cs.n_wires or pk.n_public != r1cs.n_public
            or pk.n_constraints != r1cs.n_constraints or pk.domain_size != domain_size(r1cs)
            or pk.l_query.shape[0] != r1cs.n_wires - r1cs.n_public - 1
            or pk.h_query.shape[0] != pk.domain_size - 1):
        raise ValueError("the proving key does not match the constraint system")


def _msm_scalars(be, r1cs, witness):
    """(w, h) as plain limbs: the witness and the quotient's coefficients, the scalars of the
    prover's MSMs; raises UnsatisfiedWitnessError before any of it for a bad witness.  Kernel
    backends do it all on the device and leave both there."""
    witness = r1cs.check_witness(witness)
    if not supports(be, "prover_scalars"):
        evaluations = r1cs.evaluations(witness)      # for the check and the quotient alike
        bad = first_unsatisfied(*evaluations)
        if bad is not None:
            raise UnsatisfiedWitnessError(bad)
        return to_plain(witness), to_plain(compute_h(r1cs, witness, be, evaluations))
    n = domain_size(r1cs)
    bad, w, h = be.prover_scalars(r1cs, witness, n, COSET_SHIFT, coset_vanishing_inverse(n))
    if bad is not None:
        raise UnsatisfiedWitnessError(bad)
    return w, h


def prove(pk: ProvingKey, r1cs, witness, backend="auto", rng=None, h_table=None) -> Proof:
    """A proof that `witness` ((n_wires, 4) Montgomery Fr array, w[0] = 1) satisfies
    `r1cs`.  Raises UnsatisfiedWitnessError (naming the first failing constraint) for a
    witness that does not.  `rng` overrides the CSPRNG for r, s in reproducible tests only.
    `h_table`: the key's `build_h_table`, for a prover that proves many times with one key."""
    be = as_backend(backend)
    check_key(pk, r1cs)
    w, h = _msm_scalars(be, r1cs, witness)
    return assemble(pk, w, pk.h_query, h, be, rng, h_table)


def build_h_table(pk: ProvingKey, memory_budget: int = None):
    """The fixed-base table of pk's H query (`hpc_zkfl.algebra.fixed_msm`): the quotient's
    MSM, over the key's largest set of bases and with full-width scalars, then needs one
    bucket pass and one reduction instead of one a window.  Built once per key (about 255
    doublings a base); ValueError when no table fits `memory_budget` bytes."""
    from hpc_zkfl.algebra.curve import G1
    from hpc_zkfl.algebra.fixed_msm import FixedBaseTable
    return FixedBaseTable.build(G1, pk.h_query, memory_budget=memory_budget)


def assemble(pk: ProvingKey, w, h_bases, h, be, rng=None, table=None) -> Proof:
    """The three group elements from the scalars: w (the witness) and h, plain limbs, with
    h_bases the points h goes with (h_query, or a .zkey's H section, `zkey.prove_zkey`), or
    their fixed-base `table` (host arrays only)."""
    rnd = rng if rng is not None else secrets.SystemRandom()
    r, s = rnd.randrange(R), rnd.randrange(R)
    k = pk.n_public + 1
    one_r, one_s = ints_to_limbs([1, r]), ints_to_limbs([1, s])

    # Kernel backends join on the device, the proving key's queries resident there.
    join = be.join if supports(be, "join") else np.concatenate
    a = be.msm_g1(join([pk.alpha_g1[None], pk.a_query, pk.delta_g1[None]]),
                  join([one_r[:1], w, one_r[1:]]))
    b = be.msm_g2(join([pk.beta_g2[None], pk.b_g2_query, pk.delta_g2[None]]),
                  join([one_s[:1], w, one_s[1:]]))
    b1 = be.msm_g1(join([pk.beta_g1[None], pk.b_g1_query, pk.delta_g1[None]]),
                   join([one_s[:1], w, one_s[1:]]))
    tail = ints_to_limbs([s, r, (-r * s) % R])
    if table is None:
        c = be.msm_g1(join([pk.l_query, h_bases, a[None], b1[None], pk.delta_g1[None]]),
                      join([w[k:], h, tail]))
    else:
        if table.bases.shape != h_bases.shape:
            raise ValueError("the fixed-base table is not of this key's H query")
        rest = be.msm_g1(join([pk.l_query, a[None], b1[None], pk.delta_g1[None]]),
                         join([w[k:], tail]))
        c = be.msm_g1(np.stack([rest, table.msm(h)]), ints_to_limbs([1, 1]))
    return Proof(np.ascontiguousarray(a), np.ascontiguousarray(b), np.ascontiguousarray(c))


__all__ = ["UnsatisfiedWitnessError", "assemble", "build_h_table", "check_key", "prove"]
