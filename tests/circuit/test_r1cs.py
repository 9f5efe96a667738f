"""The R1CS data structure: sparse rows, evaluation and satisfaction."""
import numpy as np
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.circuit import R1CS, SparseMatrix


def cube_circuit():
    """x^3 + x + 5 == out (the classic example): wires 0 one, 1 out, 2 x, 3 x^2, 4 x^3."""
    A = SparseMatrix.from_rows([{2: 1}, {3: 1}, {4: 1, 2: 1, 0: 5}])
    B = SparseMatrix.from_rows([{2: 1}, {2: 1}, {0: 1}])
    C = SparseMatrix.from_rows([{3: 1}, {4: 1}, {1: 1}])
    return R1CS(n_wires=5, n_outputs=1, n_public_inputs=0, n_private_inputs=1, A=A, B=B, C=C)


def test_satisfied_and_first_failure():
    r1cs = cube_circuit()
    assert r1cs.n_constraints == 3 and r1cs.n_public == 1
    assert r1cs.unsatisfied(FR.encode([1, 35, 3, 9, 27])) is None
    assert r1cs.unsatisfied(FR.encode([1, 35, 3, 9, 28])) == 1
    assert r1cs.unsatisfied(FR.encode([1, 36, 3, 9, 27])) == 2


def test_rows_round_trip_and_reduction():
    rows = [{0: 1, 3: R - 1}, {}, {2: R + 7, 1: 0}]
    m = SparseMatrix.from_rows(rows)
    assert m.rows() == [{0: 1, 3: R - 1}, {}, {2: 7}]   # zero terms dropped, reduced mod r
    w = FR.encode([1, 5, 6, 7])
    assert FR.decode(m.evaluate(w)) == [(1 - 7) % R, 0, 42]


def test_refusals():
    r1cs = cube_circuit()
    with pytest.raises(ValueError, match="shape"):
        r1cs.unsatisfied(FR.encode([1, 35, 3]))
    with pytest.raises(ValueError, match="constant 1"):
        r1cs.unsatisfied(FR.encode([2, 35, 3, 9, 27]))
    one = SparseMatrix.from_rows([{0: 1}])
    with pytest.raises(ValueError, match="outside"):
        R1CS(2, 1, 0, 0, SparseMatrix.from_rows([{5: 1}]), one, one)
    with pytest.raises(ValueError, match="one row per constraint"):
        R1CS(2, 1, 0, 0, one, SparseMatrix.from_rows([]), one)
    with pytest.raises(ValueError, match="another prime"):
        R1CS(2, 1, 0, 0, one, one, one, prime=2**255 - 19)
    with pytest.raises(ValueError, match="public"):
        R1CS(1, 1, 0, 0, one, one, one)
    assert np.all(cube_circuit().A.indptr == [0, 1, 2, 5])
