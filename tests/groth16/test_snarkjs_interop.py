"""Groth16 interoperability with snarkjs on one circom circuit, both ways.

* Frozen (always runs): the verification key, proof and public signals that snarkjs made with
  its own setup and prover (tests/vectors/gen_snarkjs_groth16.py) verify here, and tampered
  copies do not.
* Live (needs node and npm): a proof made here, with keys made here, for circom's .r1cs and
  .wtns, is accepted by `snarkjs groth16 verify`; a tampered one is refused.  Our prepared
  powers-of-tau writer (for benchmarks) equals `snarkjs powersoftau prepare phase2` byte for
  byte, and snarkjs' setup and prover work from it.  A chain circuit compiled by circom, whose
  .r1cs holds linear combinations out of wire order, goes through `hpc-zkfl r1cs info` and
  `hpc-zkfl groth16 setup | prove | verify`, and snarkjs accepts the proof.
"""
import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.msm import fixed_base_mul
from hpc_zkfl.circuit.iden3 import load_r1cs, load_wtns, r1cs_from_bytes, save_r1cs, wtns_from_bytes
from hpc_zkfl.groth16 import prove, setup, verify
from hpc_zkfl.groth16 import formats
from hpc_zkfl.groth16.r1cs_to_qap import domain_size
from hpc_zkfl.groth16.testing import write_insecure_ptau

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


_snarkjs = gen_circom.run_snarkjs


def test_insecure_ptau_matches_snarkjs_prepare_phase2(npm_prefix, tmp_path):
    # snarkjs' fresh accumulator has tau = alpha = beta = 1; prepared, it must equal ours
    # byte for byte, including section 12's top level made from zero-padded powers.
    _snarkjs(npm_prefix, tmp_path, "powersoftau", "new", "bn128", 3, "p0.ptau")
    _snarkjs(npm_prefix, tmp_path, "powersoftau", "prepare", "phase2", "p0.ptau", "p1.ptau")
    write_insecure_ptau(tmp_path / "ours.ptau", 3, 1, 1, 1)
    assert (tmp_path / "ours.ptau").read_bytes() == (tmp_path / "p1.ptau").read_bytes()


def test_snarkjs_setup_and_prove_from_insecure_ptau(npm_prefix, tmp_path, rng):
    # With random tau the Lagrange sections drive snarkjs' H query: its proofs only verify
    # if they are right.  The circuit's domain is the ptau's full size (snarkjs then reads
    # section 12's top level).
    r1cs = r1cs_from_bytes(bytes.fromhex(DATA["r1cs"]))
    save_r1cs(r1cs, tmp_path / "c.r1cs")
    (tmp_path / "w.wtns").write_bytes(bytes.fromhex(DATA["wtns"]))
    power = domain_size(r1cs).bit_length() - 1
    tau, alpha, beta = (1 + rng.randrange(R - 1) for _ in range(3))
    write_insecure_ptau(tmp_path / "pot.ptau", power, tau, alpha, beta)
    _snarkjs(npm_prefix, tmp_path, "groth16", "setup", "c.r1cs", "pot.ptau", "c.zkey")
    _snarkjs(npm_prefix, tmp_path, "zkey", "export", "verificationkey", "c.zkey", "vk.json")
    _snarkjs(npm_prefix, tmp_path, "groth16", "prove", "c.zkey", "w.wtns", "proof.json", "public.json")
    vk = formats.vk_from_snarkjs(formats.load_json(tmp_path / "vk.json"))
    public = formats.public_from_snarkjs(formats.load_json(tmp_path / "public.json"))
    proof = formats.proof_from_snarkjs(formats.load_json(tmp_path / "proof.json"))
    assert np.array_equal(vk.alpha_g1, fixed_base_mul(G1, ints_to_limbs([alpha]))[0])
    assert np.array_equal(vk.beta_g2, fixed_base_mul(G2, ints_to_limbs([beta]))[0])
    assert verify(vk, public, proof)
    assert not verify(vk, [public[0] + 1] + public[1:], proof)


# circom 2.2.3 writes combinations out of wire order from 254 steps on (constraint 505: [256, 255])
CHAIN_STEPS = 300


def _cli(cwd, *args):
    return subprocess.run([sys.executable, "-m", "hpc_zkfl.cli", *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_circom_chain_with_unsorted_terms_through_the_cli(npm_prefix, tmp_path):
    source = gen_circom.chain_circuit(CHAIN_STEPS)
    r1cs_path, js_dir = gen_circom.compile_circuit(npm_prefix, source, tmp_path)
    unsorted = gen_circom.unsorted_combinations(r1cs_path.read_bytes())
    assert unsorted, "circom wrote every linear combination sorted: this test lost its subject"
    x0, b = 3, -5
    wtns_path = gen_circom.generate_witness(js_dir, {"x0": str(x0), "b": str(b)},
                                            tmp_path / "w.wtns")
    r1cs, witness = load_r1cs(r1cs_path), load_wtns(wtns_path)
    assert r1cs.n_constraints == 2 * CHAIN_STEPS and r1cs.unsatisfied(witness) is None
    for k, side, wires in unsorted:
        assert list(getattr(r1cs, side).rows()[k]) == sorted(wires)

    info = _cli(tmp_path, "r1cs", "info", r1cs_path)
    assert info.returncode == 0, info.stderr
    assert re.search(rf"^constraints +{2 * CHAIN_STEPS}$", info.stdout, re.M), info.stdout
    for args in (("setup", r1cs_path, "pk.bin", "vk.json"),
                 ("prove", "pk.bin", wtns_path, "proof.json", "public.json")):
        proc = _cli(tmp_path, "groth16", *args)
        assert proc.returncode == 0, proc.stderr
    public = formats.load_json(tmp_path / "public.json")
    assert public == [str(gen_circom.chain_output(x0, b, CHAIN_STEPS, R)), str(b % R)]
    proc = _cli(tmp_path, "groth16", "verify", "vk.json", "public.json", "proof.json")
    assert proc.returncode == 0 and proc.stdout.strip() == "OK", proc.stderr
    assert "OK" in _snarkjs(npm_prefix, tmp_path, "groth16", "verify", "vk.json", "public.json",
                            "proof.json")
    # another output: both verifiers refuse
    wrong = [str(int(public[0]) + 1), public[1]]
    (tmp_path / "wrong.json").write_text(json.dumps(wrong))
    proc = _cli(tmp_path, "groth16", "verify", "vk.json", "wrong.json", "proof.json")
    assert proc.returncode == 1 and "pairing check fails" in proc.stderr, proc.stderr
    assert not _snarkjs_verify(npm_prefix, tmp_path, formats.load_json(tmp_path / "vk.json"), wrong,
                               formats.load_json(tmp_path / "proof.json"))


def test_snarkjs_accepts_a_public_node_statement_proof(npm_prefix, tmp_path):
    """A node statement in public form (exact update, rows packed into shared products):
    snarkjs verifies our proof for the signals the root forms from (u, low bits), and refuses
    it for an update moved by one unit."""
    from hpc_zkfl.models import FeatureRange, NodeStatement, StatementSpec
    spec = StatementSpec(model="ovr", n_features=5, n_classes=3, batch_size=4,
                         features=FeatureRange(4, 0, 16), learning_rate=0.25, norm_bound=4.0,
                         verifier_checks_update=True)
    st = NodeStatement(spec)
    g = np.random.default_rng(5)
    w = spec.fixed_point.encode(g.uniform(-1, 1, spec.n_params))
    X, y = g.integers(0, 17, (4, 5)), g.integers(0, 3, 4)
    u, wit = st.witness(2, 7, w, X, y)
    low = st.update_low(wit)
    pk = setup(st.r1cs)
    proof = prove(pk, st.r1cs, wit.witness)
    public = st.public_signals(2, 7, w, u, low=low)
    assert st.check_update(u, low) is None and verify(pk.vk, public, proof)
    vk_json, proof_json = formats.vk_to_snarkjs(pk.vk), formats.proof_to_snarkjs(proof)
    assert _snarkjs_verify(npm_prefix, tmp_path, vk_json, formats.public_to_snarkjs(public),
                           proof_json)
    moved = u.copy()
    moved[0] += 1
    wrong = formats.public_to_snarkjs(st.public_signals(2, 7, w, moved, low=low))
    assert not _snarkjs_verify(npm_prefix, tmp_path, vk_json, wrong, proof_json)
