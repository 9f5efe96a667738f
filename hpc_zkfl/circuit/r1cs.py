"""Rank-1 constraint systems over Fr: the data every layer above the algebra shares.

A constraint system has m constraints <A_k, w> * <B_k, w> = <C_k, w> over a witness vector w
of `n_wires` field elements.  Wire order follows iden3's (circom, snarkjs): wire 0 is the
constant 1, then the public outputs, the public inputs, the private inputs, and the internal
wires.  The public signals of a proof are w[1 .. n_public].

A, B and C are stored as compressed sparse rows: for constraint k, the terms are
`wires[indptr[k]:indptr[k+1]]` with coefficients `coeffs[...]`, an (nnz, 4) uint64 array of Fr
elements in Montgomery form (so provers can use them without conversion).
"""
from dataclasses import dataclass, field

import numpy as np

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.fields import FR

from ._kernels import row_sums


@dataclass(frozen=True)
class SparseMatrix:
    """One of A, B, C in CSR form (rows = constraints, columns = wires)."""

    indptr: np.ndarray      # (m + 1,) int64
    wires: np.ndarray       # (nnz,) int64
    coeffs: np.ndarray      # (nnz, 4) uint64, Fr in Montgomery form

    @classmethod
    def from_rows(cls, rows):
        """From a list (one per constraint) of {wire: coefficient int} dicts."""
        indptr = np.zeros(len(rows) + 1, dtype=np.int64)
        wires, values = [], []
        for k, row in enumerate(rows):
            for wire, coeff in sorted(row.items()):
                if coeff % R:
                    wires.append(wire)
                    values.append(coeff % R)
            indptr[k + 1] = len(wires)
        return cls(indptr, np.array(wires, dtype=np.int64).reshape(-1),
                   FR.encode(values) if values else np.zeros((0, 4), dtype=np.uint64))

    def rows(self):
        """The matrix as a list of {wire: coefficient int} dicts (canonical ints)."""
        values = FR.decode(self.coeffs)
        return [dict(zip(self.wires[a:b].tolist(), values[a:b]))
                for a, b in zip(self.indptr[:-1], self.indptr[1:])]

    @property
    def n_rows(self) -> int:
        return len(self.indptr) - 1

    def evaluate(self, witness: np.ndarray) -> np.ndarray:
        """<row_k, w> for every constraint k, as an (m, 4) Montgomery array."""
        terms = FR.mul(self.coeffs, witness[self.wires]) if len(self.wires) else self.coeffs
        out = np.zeros((self.n_rows, 4), dtype=np.uint64)
        row_sums(self.indptr, terms, out, FR.m)
        return out


@dataclass(frozen=True)
class R1CS:
    """A constraint system with iden3's wire layout (see the module docstring)."""

    n_wires: int
    n_outputs: int
    n_public_inputs: int
    n_private_inputs: int
    A: SparseMatrix
    B: SparseMatrix
    C: SparseMatrix
    prime: int = R
    # Optional map from wire index to a label id (iden3 .r1cs section 3); empty if unknown.
    wire_to_label: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self):
        if self.prime != R:
            raise ValueError(f"constraint system is over another prime ({self.prime}); only BN254 Fr "
                             "is supported")
        m = self.A.n_rows
        if self.B.n_rows != m or self.C.n_rows != m:
            raise ValueError("A, B and C must have one row per constraint")
        if self.n_wires < 1 + self.n_public:
            raise ValueError("n_wires must count the constant wire and all public signals")
        for name, mat in (("A", self.A), ("B", self.B), ("C", self.C)):
            if len(mat.wires) and (mat.wires.min() < 0 or mat.wires.max() >= self.n_wires):
                raise ValueError(f"{name} refers to a wire outside 0..{self.n_wires - 1}")

    @property
    def n_constraints(self) -> int:
        return self.A.n_rows

    @property
    def n_public(self) -> int:
        """Public signals (outputs then public inputs): wires 1..n_public."""
        return self.n_outputs + self.n_public_inputs

    def check_witness(self, witness) -> np.ndarray:
        """The witness as a contiguous (n_wires, 4) uint64 Montgomery array, or a ValueError
        if its shape is wrong or wire 0 is not the constant 1."""
        witness = np.ascontiguousarray(witness, dtype=np.uint64)
        if witness.shape != (self.n_wires, 4):
            raise ValueError(f"witness must have shape ({self.n_wires}, 4), got {witness.shape}")
        if FR.decode(witness[:1]) != [1]:
            raise ValueError("witness wire 0 must be the constant 1")
        return witness

    def evaluations(self, witness: np.ndarray) -> tuple:
        """(<A_k, w>, <B_k, w>, <C_k, w>) for every constraint k: three (m, 4) Montgomery
        arrays, for a witness that check_witness accepts."""
        witness = self.check_witness(witness)
        return self.A.evaluate(witness), self.B.evaluate(witness), self.C.evaluate(witness)

    def unsatisfied(self, witness: np.ndarray):
        """Index of the first constraint the witness (an (n_wires, 4) Montgomery array, w[0] = 1)
        does not satisfy, or None if all hold."""
        return first_unsatisfied(*self.evaluations(witness))


def first_unsatisfied(a, b, c):
    """The least k with a_k b_k != c_k over constraint evaluations, or None."""
    bad = np.flatnonzero((FR.mul(a, b) != c).any(axis=1))
    return int(bad[0]) if bad.size else None
