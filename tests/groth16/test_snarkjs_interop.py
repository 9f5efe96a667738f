"""Groth16 interoperability with snarkjs on one circom circuit, both ways.

* Frozen (always runs): the verification key, proof and public signals that snarkjs made with
  its own setup and prover (tests/vectors/gen_snarkjs_groth16.py) verify here, and tampered
  copies do not.
* Live (needs node and npm): a proof made here, with keys made here, for circom's .r1cs and
  .wtns, is accepted by `snarkjs groth16 verify`; a tampered one is refused.
"""
import copy
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hpc_zkfl.circuit.iden3 import r1cs_from_bytes, wtns_from_bytes
from hpc_zkfl.groth16 import prove, setup, verify
from hpc_zkfl.groth16 import formats

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
sys.path.insert(0, str(VECTORS))
import gen_circom  # noqa: E402  (npm set-up shared with the circom vectors)

DATA = json.loads((VECTORS / "snarkjs_groth16.json").read_text())


def _snarkjs_objects():
    return (formats.vk_from_snarkjs(DATA["verification_key"]), formats.public_from_snarkjs(DATA["public"]),
            formats.proof_from_snarkjs(DATA["proof"]))


def test_snarkjs_proof_verifies():
    vk, public, proof = _snarkjs_objects()
    assert len(public) == DATA["verification_key"]["nPublic"] == 3
    assert verify(vk, public, proof)


def test_tampered_snarkjs_proof_is_rejected():
    vk, public, proof = _snarkjs_objects()
    assert not verify(vk, [public[0], (public[1] + 1), public[2]], proof)
    swapped = copy.deepcopy(DATA["proof"])
    swapped["pi_a"], swapped["pi_c"] = swapped["pi_c"], swapped["pi_a"]
    assert not verify(vk, public, formats.proof_from_snarkjs(swapped))


def test_verification_key_json_round_trip():
    vk = formats.vk_from_snarkjs(DATA["verification_key"])
    assert formats.vk_to_snarkjs(vk) == DATA["verification_key"]


@pytest.fixture(scope="module")
def npm_prefix(tmp_path_factory):
    reason = gen_circom.node_tools_missing()
    if reason:
        pytest.skip(f"snarkjs interop needs node and npm: {reason}")
    prefix = tmp_path_factory.mktemp("npm")
    try:
        gen_circom.install(prefix)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"could not npm-install snarkjs into {prefix}: {exc}")
    return prefix


def _snarkjs_verify(prefix, tmp_path, vk, public, proof) -> bool:
    for name, obj in (("vk.json", vk), ("public.json", public), ("proof.json", proof)):
        (tmp_path / name).write_text(json.dumps(obj))
    proc = subprocess.run([gen_circom._bin(prefix, "snarkjs"), "groth16", "verify", "vk.json",
                           "public.json", "proof.json"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    return proc.returncode == 0 and "OK" in proc.stdout


def test_snarkjs_accepts_our_proofs(npm_prefix, tmp_path):
    r1cs = r1cs_from_bytes(bytes.fromhex(DATA["r1cs"]))
    witness = wtns_from_bytes(bytes.fromhex(DATA["wtns"]))
    pk = setup(r1cs)
    proof = prove(pk, r1cs, witness)
    public = formats.public_from_snarkjs(DATA["public"])   # the same circuit and inputs
    assert verify(pk.vk, public, proof)
    vk_json = formats.vk_to_snarkjs(pk.vk)
    proof_json = formats.proof_to_snarkjs(proof)
    public_json = formats.public_to_snarkjs(public)
    assert public_json == DATA["public"]
    assert _snarkjs_verify(npm_prefix, tmp_path, vk_json, public_json, proof_json)
    wrong = formats.public_to_snarkjs([public[0], public[1] + 1, public[2]])
    assert not _snarkjs_verify(npm_prefix, tmp_path, vk_json, wrong, proof_json)
