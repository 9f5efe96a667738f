"""Groth16 keys and proofs (Groth, "On the Size of Pairing-based Non-interactive Arguments",
EUROCRYPT 2016, eprint 2016/260), with the field names of the paper as arkworks spells them.

All points are Montgomery affine arrays as everywhere in this package (G1 (2, 4), G2
(2, 2, 4); vectors of points (n, 2, 4) / (n, 2, 2, 4); all zeros is the point at infinity).
Wire indices follow the constraint system (iden3 order: wire 0 is the constant 1, wires
1..n_public the public signals, the rest private).
"""
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from hpc_zkfl.algebra.fields import FQ
from hpc_zkfl.algebra.pairing import prepare_g2


def _same(x, y) -> bool:
    """Field-by-field equality of two key objects (arrays by value)."""
    if type(x) is not type(y):
        return False
    for name in x.__dataclass_fields__:
        a, b = getattr(x, name), getattr(y, name)
        if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
            if a is None or b is None or not np.array_equal(a, b):
                return False
        elif a != b:
            return False
    return True


@dataclass(frozen=True)
class VerifyingKey:
    """[alpha]_1, [beta]_2, [gamma]_2, [delta]_2 and gamma_abc_g1 (snarkjs "IC"):
    [(beta a_i(tau) + alpha b_i(tau) + c_i(tau)) / gamma]_1 for wires i = 0..n_public.

    eta_gamma_g1 = [eta / gamma]_1 when the key supports committed public inputs
    (LegoGroth16, `hpc_zkfl.groth16.committed`): the blinding base of the commitment D."""

    alpha_g1: np.ndarray
    beta_g2: np.ndarray
    gamma_g2: np.ndarray
    delta_g2: np.ndarray
    gamma_abc_g1: np.ndarray
    eta_gamma_g1: np.ndarray = None

    __eq__ = _same
    __hash__ = None

    @property
    def n_public(self) -> int:
        return self.gamma_abc_g1.shape[0] - 1

    @property
    def IC(self) -> np.ndarray:  # noqa: N802 -- snarkjs' name
        return self.gamma_abc_g1


@dataclass(frozen=True)
class PreparedVerifyingKey:
    """A verifying key with the Miller-loop line coefficients of beta, gamma and delta
    precomputed (`prepared` is (3, N_LINES, 3, 2, 4) in that order)."""

    vk: VerifyingKey
    prepared: np.ndarray

    __eq__ = _same
    __hash__ = None

    @classmethod
    def from_vk(cls, vk: VerifyingKey) -> "PreparedVerifyingKey":
        return cls(vk, prepare_g2(np.stack([vk.beta_g2, vk.gamma_g2, vk.delta_g2])))

    @property
    def n_public(self) -> int:
        return self.vk.n_public

    @cached_property
    def gamma_abc_g1(self) -> np.ndarray:
        return np.ascontiguousarray(self.vk.gamma_abc_g1, dtype=np.uint64)

    @cached_property
    def neg_gamma_abc_g1(self) -> np.ndarray:
        """-IC_i, the bases of negative public signals taken as signed integers."""
        out = self.gamma_abc_g1.copy()
        out[:, 1] = FQ.neg(out[:, 1])
        return out


@dataclass(frozen=True)
class ProvingKey:
    """The prover's share of the common reference string.

    a_query[i] = [a_i(tau)]_1, b_g1_query[i] = [b_i(tau)]_1, b_g2_query[i] = [b_i(tau)]_2 for
    every wire; h_query[j] = [tau^j Z(tau) / delta]_1 for j < domain_size - 1; l_query[k] =
    [(beta a_i(tau) + alpha b_i(tau) + c_i(tau)) / delta]_1 for the private wires
    i = n_public + 1 + k.  `n_constraints` and `domain_size` tie the key to its circuit.

    Optional, for committed public inputs (LegoGroth16): eta_delta_g1 = [eta / delta]_1, and
    the powers the key was derived from, so that a prover can check the key before trusting
    it (`hpc_zkfl.groth16.key_check`): tau_g1[j] = [tau^j]_1 for j = 0 .. 2 domain_size - 2,
    tau_g2 = ([1]_2, [tau]_2)."""

    vk: VerifyingKey
    beta_g1: np.ndarray
    delta_g1: np.ndarray
    a_query: np.ndarray
    b_g1_query: np.ndarray
    b_g2_query: np.ndarray
    h_query: np.ndarray
    l_query: np.ndarray
    n_constraints: int
    domain_size: int
    eta_delta_g1: np.ndarray = None
    tau_g1: np.ndarray = None
    tau_g2: np.ndarray = None

    __eq__ = _same
    __hash__ = None

    @property
    def alpha_g1(self) -> np.ndarray:
        return self.vk.alpha_g1

    @property
    def beta_g2(self) -> np.ndarray:
        return self.vk.beta_g2

    @property
    def delta_g2(self) -> np.ndarray:
        return self.vk.delta_g2

    @property
    def n_wires(self) -> int:
        return self.a_query.shape[0]

    @property
    def n_public(self) -> int:
        return self.vk.n_public

    @property
    def supports_commitment(self) -> bool:
        """Whether the key has LegoGroth16's eta elements (committed public inputs)."""
        return self.eta_delta_g1 is not None and self.vk.eta_gamma_g1 is not None

    @property
    def has_powers(self) -> bool:
        """Whether the key carries the powers of tau it was derived from (key checks)."""
        return self.tau_g1 is not None and self.tau_g2 is not None


@dataclass(frozen=True)
class Proof:
    """A = [a]_1, B = [b]_2, C = [c]_1."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray

    __eq__ = _same
    __hash__ = None
