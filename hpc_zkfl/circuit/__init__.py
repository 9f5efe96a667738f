"""Constraint systems: the R1CS data structure, the circuit builder, the witness solver and
iden3 `.r1cs` / `.wtns` files."""
from .r1cs import R1CS, SparseMatrix

__all__ = ["R1CS", "SparseMatrix"]
