"""Groth16 zk-SNARKs over BN254 (Groth, EUROCRYPT 2016, eprint 2016/260): key generation
(local, or phase 1 from a powers-of-tau ceremony's .ptau file), prover, verifier (single and
batched) and file formats (snarkjs JSON, compact binary)."""
from .data_structures import PreparedVerifyingKey, Proof, ProvingKey, VerifyingKey
from .key_check import KeyCheckError, check_proving_key
from .prover import UnsatisfiedWitnessError, prove
from .ptau import PtauError, read_ptau, setup_from_ptau
from .setup import setup
from .verifier import batch_verify, prepare_verifying_key, verify
from .zkey import ZkeyError, load_zkey, read_zkey

__all__ = ["KeyCheckError", "PreparedVerifyingKey", "Proof", "ProvingKey", "PtauError",
           "UnsatisfiedWitnessError", "VerifyingKey", "batch_verify", "check_proving_key",
           "prepare_verifying_key", "prove", "read_ptau", "setup", "setup_from_ptau", "verify",
           "ZkeyError", "load_zkey", "read_zkey"]
