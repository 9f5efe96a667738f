"""Random satisfiable constraint systems for tests and benchmarks of the proof system.

`random_circuit` builds chains of multiplications x_{j+1} = (x_j + e_j) * x_j + c_j over
the inputs, with iden3's wire layout (constant, outputs, public inputs, private inputs,
internal wires), and returns the system with a satisfying witness.
"""
import random
import struct

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


# Prepared powers-of-tau files for snarkjs, from a known trapdoor --------------------------------
#
# `snarkjs powersoftau prepare phase2` spends most of a multi-party setup's time computing the
# Lagrange-basis sections with group FFTs in JavaScript (28.5 minutes at power 16 on 2 cores).
# Knowing tau, the same points are fixed-base multiples of the generators by L_k(tau), which
# takes seconds.  Such a file lets `snarkjs groth16 setup` make zkeys for any circuit size in
# benchmarks and interop tests.  Whoever knows tau can forge proofs under those zkeys.
#
# Layout (iden3 section container, magic "ptau", version 1), points affine with coordinates in
# Montgomery form, little-endian (exactly our arrays' bytes), the point at infinity all zeros:
#   1 header: n8, q, power, ceremony power       2 tau^i G1, i < 2^(power+1) - 1
#   3 tau^i G2, i < 2^power                      4 alpha tau^i G1, 5 beta tau^i G1, i < 2^power
#   6 beta G2                                    7 contributions (none)
#   12..15 the sections 2..5 in the Lagrange basis of every domain 2^k, k = 0..power, one after
#   another; section 12 also has k = power + 1, computed by snarkjs from the 2^(power+1) - 1
#   powers padded with zero: L_i(tau) - tau^(N-1) omega^i / N for N = 2^(power+1).
# The ids, the header and the container are `hpc_zkfl.groth16.ptau`'s, whose reader checks them.
PTAU_MAX_POWER = 27     # ptau.MAX_POWER - 1: section 12's level power + 1 needs a domain 2^28


def _lagrange_basis(tau: int, log_n: int, drop_top_power: bool = False) -> np.ndarray:
    """The inverse DFT of (tau^0, ..., tau^(N-1)) over the size-N domain, N = 2^log_n: the
    Lagrange basis at tau, as an (N, 4) Montgomery array; with drop_top_power the last power
    is replaced by zero first."""
    from hpc_zkfl.algebra.constants import fr_root_of_unity
    from hpc_zkfl.algebra.ntt import powers
    from .r1cs_to_qap import lagrange_at

    n = 1 << log_n
    omega_powers = powers(fr_root_of_unity(log_n), n)
    if pow(tau, n, R) != 1:
        basis = lagrange_at(tau, n)
    else:   # tau = omega^j: the basis is the j-th unit vector
        j = FR.decode(omega_powers).index(tau % R)
        basis = np.zeros((n, 4), dtype=np.uint64)
        basis[j] = FR.encode([1])[0]
    if drop_top_power:
        basis = FR.sub(basis, FR.scale(omega_powers, pow(tau, n - 1, R) * pow(n, -1, R) % R))
    return basis


def write_insecure_ptau(path, power: int, tau: int, alpha: int, beta: int) -> None:
    """Write the prepared powers-of-tau file that `snarkjs powersoftau prepare phase2` would
    make after one contribution of trapdoor (tau, alpha, beta), for circuits of up to 2^power
    constraint rows.  INSECURE: for benchmarks and tests only (see above)."""
    from hpc_zkfl.algebra.curve import G1, G2
    from hpc_zkfl.algebra.msm import fixed_base_mul
    from hpc_zkfl.algebra.ntt import powers
    from . import ptau
    from .r1cs_to_qap import to_plain

    if not 1 <= power <= PTAU_MAX_POWER:
        raise ValueError(f"power must be in 1..{PTAU_MAX_POWER}, got {power}")
    if any(not 0 < v < R for v in (tau, alpha, beta)):
        raise ValueError("tau, alpha and beta must lie in 1..r-1")

    def points(group, scalars_mont):
        return fixed_base_mul(group, to_plain(scalars_mont)).tobytes()

    tau_powers = powers(tau, 1 << (power + 1))
    sections = {
        ptau.HEADER: ptau.header_section(power),
        ptau.TAU_G1: lambda: points(G1, tau_powers[:(1 << (power + 1)) - 1]),
        ptau.TAU_G2: lambda: points(G2, tau_powers[:1 << power]),
        ptau.ALPHA_TAU_G1: lambda: points(G1, FR.scale(tau_powers[:1 << power], alpha)),
        ptau.BETA_TAU_G1: lambda: points(G1, FR.scale(tau_powers[:1 << power], beta)),
        ptau.BETA_G2: lambda: points(G2, FR.encode([beta])),
        ptau.CONTRIBUTIONS: struct.pack("<I", 0),
    }
    lagrange_levels = {k: _lagrange_basis(tau, k) for k in range(power + 1)}
    top_level = _lagrange_basis(tau, power + 1, drop_top_power=True)
    all_levels = np.concatenate([lagrange_levels[k] for k in range(power + 1)])
    sections[ptau.LAGRANGE_G1] = lambda: points(G1, np.concatenate([all_levels, top_level]))
    sections[ptau.LAGRANGE_G2] = lambda: points(G2, all_levels)
    sections[ptau.ALPHA_LAGRANGE_G1] = lambda: points(G1, FR.scale(all_levels, alpha))
    sections[ptau.BETA_LAGRANGE_G1] = lambda: points(G1, FR.scale(all_levels, beta))
    ptau.write_container(path, sections)    # section by section: one section's points in memory
