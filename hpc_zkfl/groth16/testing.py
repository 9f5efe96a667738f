"""Random satisfiable constraint systems for tests and benchmarks of the proof system.

`random_circuit` builds chains of multiplications x_{j+1} = (x_j + e_j) * x_j + c_j over
the inputs, with iden3's wire layout (constant, outputs, public inputs, private inputs,
internal wires), and returns the system with a satisfying witness.
"""
import random

import numpy as np

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.circuit.r1cs import R1CS, SparseMatrix


def random_circuit(n_constraints: int, n_outputs: int = 1, n_public_inputs: int = 1,
                   n_private_inputs: int = 1, rng=None):
    """(R1CS, witness) with exactly n_constraints constraints (>= n_outputs + 1 when there
    are outputs, >= 1 otherwise); the witness is an (n_wires, 4) Montgomery array."""
    rnd = rng if rng is not None else random.Random()
    if n_constraints < n_outputs + 1:
        raise ValueError("need at least one constraint more than there are outputs")
    n_inputs = n_public_inputs + n_private_inputs
    first_input = 1 + n_outputs
    first_internal = first_input + n_inputs
    n_internal = n_constraints - n_outputs
    n_wires = first_internal + n_internal
    w = [0] * n_wires
    w[0] = 1
    for i in range(first_input, first_internal):
        w[i] = rnd.randrange(R)
    inputs = list(range(first_input, first_internal)) or [0]
    A, B, C = [], [], []

    def dot(row):
        return sum(c * w[i] for i, c in row.items()) % R

    def add(a_row, b_row, out, const=0):
        w[out] = (dot(a_row) * dot(b_row) + const) % R
        A.append(a_row)
        B.append(b_row)
        C.append({out: 1, 0: -const % R} if const else {out: 1})

    # x_0 = (sum of random multiples of the inputs) * (an input + 1)
    x = first_internal
    add({i: rnd.randrange(1, R) for i in inputs}, {rnd.choice(inputs): 1, 0: 1}, x)
    for j in range(1, n_internal):
        prev, x = x, first_internal + j
        extra = rnd.choice(inputs + [first_internal + rnd.randrange(j)])
        a_row = {prev: 1}
        a_row[extra] = (a_row.get(extra, 0) + rnd.randrange(1, R)) % R
        add(a_row, {prev: 1}, x, rnd.randrange(R))
    for k in range(n_outputs):
        add({x: 1}, {rnd.choice(inputs): 1, 0: k + 1}, 1 + k)
    r1cs = R1CS(n_wires, n_outputs, n_public_inputs, n_private_inputs,
                SparseMatrix.from_rows(A), SparseMatrix.from_rows(B), SparseMatrix.from_rows(C))
    return r1cs, FR.encode(w)


def solve(r1cs, inputs) -> np.ndarray:
    """A witness of a `random_circuit` system for other input values (ints, public inputs
    then private inputs): each constraint defines the one non-constant wire of its C row."""
    first = 1 + r1cs.n_outputs
    n_inputs = r1cs.n_public_inputs + r1cs.n_private_inputs
    if len(inputs) != n_inputs:
        raise ValueError(f"expected {n_inputs} inputs, got {len(inputs)}")
    w = [0] * r1cs.n_wires
    w[0] = 1
    w[first:first + n_inputs] = [int(v) % R for v in inputs]
    for a_row, b_row, c_row in zip(r1cs.A.rows(), r1cs.B.rows(), r1cs.C.rows()):
        (out,) = [i for i in c_row if i != 0]
        dot = lambda row: sum(c * w[i] for i, c in row.items())  # noqa: E731
        w[out] = (dot(a_row) * dot(b_row) - c_row.get(0, 0)) * pow(c_row[out], -1, R) % R
    return FR.encode(w)


def public_signals(r1cs, witness) -> list:
    """The public signals w[1..n_public] as ints."""
    return FR.decode(np.ascontiguousarray(witness[1:1 + r1cs.n_public]))


__all__ = ["public_signals", "random_circuit", "solve"]
