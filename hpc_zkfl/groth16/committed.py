"""Groth16 with committed public inputs: LegoGroth16 (Campanelli, Fiore, Querol, "LegoSNARK:
Modular design and composition of succinct zero-knowledge proofs", CCS 2019, eprint 2019/142,
the CP-Groth16 scheme).

Some of a statement's public wires S (a node's update u) are not shown to the verifier.  With
a key made by `setup(..., commitment=True)` the prover sends, besides (A, B, C'),

    D  = sum_{j in S} x_j IC_j + nu [eta/gamma]_1        nu fresh, uniform in [1, r)
    C' = C - nu [eta/delta]_1

and the verifier checks e(A, B) = e(alpha, beta) e(IC(x_public) + D, gamma) e(C', delta), where
IC(x_public) is the usual input sum with 0 at every position of S.

D is a Pedersen vector commitment to x_S under the commitment key ck = (IC_j for j in S,
[eta/gamma]_1):
- perfectly hiding: nu is uniform and [eta/gamma]_1 is not the identity (a key check refuses
  one that is), so D is a uniform point whatever x_S is.  Never skip the blinding: a
  commitment without it is what broke zero knowledge in gnark (CVE-2024-45040);
- binding for whoever does not know discrete logarithms among ck; the setup's trapdoor gives
  them, so the party that made the key could open D to anything (soundness trusts the setup,
  as Groth16's always does);
- additively homomorphic: Commit(a; alpha) + Commit(b; beta) = Commit(a + b; alpha + beta),
  which lets two aggregators check additive shares of x_S against D
  (`hpc_zkfl.fl.private`).
The knowledge-soundness argument needs the committed wires' polynomials to be linearly
independent; every public wire has its own extra row of the QAP (`r1cs_to_qap`), which
guarantees it.  C' rather than C is sent because C alone, to a verifier who knows the
trapdoor, would reveal sum_{j in S} x_j IC_j; C' depends only on A, B and D.
"""
import secrets
from dataclasses import dataclass

import numpy as np

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.curve import G1
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.backends import as_backend

from .data_structures import Proof, ProvingKey, VerifyingKey
from .prover import prove


@dataclass(frozen=True)
class CommitmentKey:
    """Pedersen vector commitment key: bases (k, 2, 4) and the blinding base (2, 4)."""

    bases: np.ndarray
    blinding: np.ndarray

    @property
    def size(self) -> int:
        return self.bases.shape[0]

    def commit(self, values, blinding: int, backend="auto") -> np.ndarray:
        """sum_j values[j] bases[j] + blinding * blinding_base: values are ints (signed ones
        taken mod r), `blinding` an int in [0, r)."""
        values = [int(v) % R for v in values]
        if len(values) != self.size:
            raise ValueError(f"the commitment key takes {self.size} values, got {len(values)}")
        be = as_backend(backend)
        return be.msm_g1(np.concatenate([self.bases, self.blinding[None]]),
                         ints_to_limbs(values + [int(blinding) % R]))


def commitment_key(vk: VerifyingKey, committed) -> CommitmentKey:
    """The commitment key of the public signals at positions `committed` (0-based indices into
    the public signals, i.e. wires 1 + j)."""
    if vk.eta_gamma_g1 is None:
        raise ValueError("this key has no [eta/gamma]_1: it was not made for committed inputs "
                         "(setup(..., commitment=True))")
    idx = np.asarray(committed, dtype=np.int64)
    if idx.ndim != 1 or idx.size == 0 or idx.min() < 0 or idx.max() >= vk.n_public \
            or len(set(idx.tolist())) != idx.size:
        raise ValueError(f"committed positions must be distinct indices into the "
                         f"{vk.n_public} public signals")
    return CommitmentKey(np.ascontiguousarray(vk.gamma_abc_g1[1 + idx], dtype=np.uint64),
                         np.asarray(vk.eta_gamma_g1, dtype=np.uint64))


@dataclass(frozen=True)
class CommittedProof:
    """A LegoGroth16 proof: (A, B, C') and the commitment D to the committed signals."""

    proof: Proof
    d: np.ndarray


def prove_committed(pk: ProvingKey, r1cs, witness, committed, backend="auto", rng=None):
    """(CommittedProof, nu): a proof that `witness` satisfies `r1cs` whose public signals at
    positions `committed` stay hidden in D, and the blinding nu of D (the prover keeps it: it
    opens D, e.g. to split it into shares).  `rng` replaces the CSPRNG in tests only."""
    if not pk.supports_commitment:
        raise ValueError("this proving key was not made for committed inputs "
                         "(setup(..., commitment=True))")
    be = as_backend(backend)
    rnd = rng if rng is not None else secrets.SystemRandom()
    ck = commitment_key(pk.vk, committed)
    proof = prove(pk, r1cs, witness, be, rng=rng)
    wires = FR.decode(np.asarray(witness)[1 + np.asarray(committed, dtype=np.int64)])
    nu = 1 + rnd.randrange(R - 1)
    d = ck.commit(wires, nu, be)
    c = be.msm_g1(np.stack([np.asarray(proof.c, dtype=np.uint64), pk.eta_delta_g1]),
                  ints_to_limbs([1, (-nu) % R]))
    return CommittedProof(Proof(proof.a, proof.b, np.ascontiguousarray(c)),
                          np.ascontiguousarray(d)), nu


def hide(public_signals, committed) -> list:
    """The public signals with every committed position set to 0: what a verifier of a
    committed proof uses (it never sees those values)."""
    out = [int(x) for x in public_signals]
    for j in committed:
        out[int(j)] = 0
    return out


def commitment_ok(d) -> bool:
    """Whether D is a well-formed G1 point (shape, curve; G1 has cofactor 1)."""
    try:
        d = np.asarray(d, dtype=np.uint64)
    except (TypeError, ValueError):
        return False
    return d.shape == (2, 4) and bool(G1.on_curve(d[None])[0])


__all__ = ["CommitmentKey", "CommittedProof", "commitment_key", "commitment_ok", "hide",
           "prove_committed"]
