"""Groth16 zk-SNARKs over BN254 (Groth, EUROCRYPT 2016, eprint 2016/260): key generation
(local, or phase 1 from a powers-of-tau ceremony's .ptau file and phase 2 by several parties),
prover, verifier (single and batched) and file formats (snarkjs JSON and .zkey, compact
binary)."""
from .data_structures import PreparedVerifyingKey, Proof, ProvingKey, VerifyingKey
from .key_check import KeyCheckError, check_proving_key
from .phase2 import Phase2Error, Phase2Key
from .prover import UnsatisfiedWitnessError, prove
from .ptau import PtauError, read_ptau, setup_from_ptau, start_phase2
from .setup import setup
from .verifier import batch_verify, prepare_verifying_key, verify
from .zkey import ZkeyError, ZkeyProver, load_zkey, read_zkey, verify_key, write_zkey

__all__ = ["KeyCheckError", "Phase2Error", "Phase2Key", "PreparedVerifyingKey", "Proof",
           "ProvingKey", "PtauError", "UnsatisfiedWitnessError", "VerifyingKey", "ZkeyError",
           "ZkeyProver", "batch_verify", "check_proving_key", "load_zkey",
           "prepare_verifying_key", "prove", "read_ptau", "read_zkey", "setup",
           "setup_from_ptau", "start_phase2", "verify", "verify_key", "write_zkey"]
