"""BN254 algebra: fields, curves, pairing, MSM and NTT as numba kernels.

Layering inside this package (imports point down):
    constants  -> limbs -> montgomery -> fields (Fq, Fr) -> fq2 -> field_ops (generic Fq/Fq2)
    -> curve (G1, G2) -> subgroup, serialization, msm;  fq12 -> pairing;  ntt (Fr only)
No ML and no MPI here.  py_ecc is the reference the tests compare against, never the
fast path.  Kernels compile on first use and are cached on disk (see `_jit`).
"""
