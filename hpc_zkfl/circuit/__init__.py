"""Constraint systems: the R1CS data structure, the circuit builder, the witness solver,
gadgets (fixed point in `fixedpoint`, Poseidon in `poseidon`, Merkle trees in `merkle`) and
iden3 `.r1cs` / `.wtns` files."""
from .builder import (
    CircuitError,
    ConstraintSystem,
    LinearCombination,
    Solver,
    UnsatisfiedConstraintError,
    Witness,
)
from .iden3 import (
    Iden3FormatError,
    load_r1cs,
    load_wtns,
    r1cs_from_bytes,
    r1cs_to_bytes,
    save_r1cs,
    save_wtns,
    wtns_from_bytes,
    wtns_to_bytes,
)
from .r1cs import R1CS, SparseMatrix

__all__ = [
    "R1CS", "SparseMatrix",
    "CircuitError", "ConstraintSystem", "LinearCombination", "Solver", "UnsatisfiedConstraintError",
    "Witness",
    "Iden3FormatError", "load_r1cs", "load_wtns", "r1cs_from_bytes", "r1cs_to_bytes", "save_r1cs",
    "save_wtns", "wtns_from_bytes", "wtns_to_bytes",
]
