"""`hpc-zkfl groth16 setup | prove | verify` end to end, with every exit status."""
import json
import subprocess
import sys

import pytest

from hpc_zkfl.cli import main
from hpc_zkfl.circuit.builder import ConstraintSystem
from hpc_zkfl.circuit.iden3 import save_r1cs, save_wtns


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A small circuit (c = a * b + k, with a range check), its keys, a proof and a bad witness."""
    d = tmp_path_factory.mktemp("g16")
    cs = ConstraintSystem()
    k = cs.public_input("k")
    a, b = cs.private_input("a"), cs.private_input("b")
    cs.range_check(a, 8)
    cs.public_output("c", cs.mul(a, b) + k)
    r1cs, solver = cs.compile()
    save_r1cs(r1cs, d / "c.r1cs")
    save_wtns(solver.solve({"k": 5}, {"a": 7, "b": 9}).witness, d / "good.wtns")
    bad = solver.solve({"k": 5}, {"a": 7, "b": 9}).witness.copy()
    bad[1] = bad[2]                                       # claim another output
    save_wtns(bad, d / "bad.wtns")
    p = {name: str(d / name) for name in ("c.r1cs", "pk.bin", "vk.json", "proof.json", "public.json",
                                          "good.wtns", "bad.wtns")}
    assert main(["groth16", "setup", p["c.r1cs"], p["pk.bin"], p["vk.json"]]) == 0
    assert main(["groth16", "prove", p["pk.bin"], p["good.wtns"], p["proof.json"], p["public.json"]]) == 0
    p["dir"] = d
    return p


def _verify(files, public=None, proof=None):
    return main(["groth16", "verify", files["vk.json"], public or files["public.json"],
                 proof or files["proof.json"]])


def test_valid_proof_prints_ok(files, capsys):
    assert json.loads(open(files["public.json"]).read()) == ["68", "5"]   # outputs, then inputs
    capsys.readouterr()
    assert _verify(files) == 0
    assert capsys.readouterr().out.strip() == "OK"


def test_invalid_proofs_exit_1_with_a_reason(files, capsys):
    d = files["dir"]
    (d / "wrong_public.json").write_text(json.dumps(["69", "5"]))
    assert _verify(files, public=str(d / "wrong_public.json")) == 1
    assert "pairing check fails" in capsys.readouterr().err
    proof = json.loads(open(files["proof.json"]).read())
    off_curve = dict(proof, pi_a=[proof["pi_a"][0], str(int(proof["pi_a"][1]) ^ 1), "1"])
    (d / "off_curve.json").write_text(json.dumps(off_curve))
    assert _verify(files, proof=str(d / "off_curve.json")) == 1
    assert "curve" in capsys.readouterr().err
    (d / "short_public.json").write_text(json.dumps(["68"]))
    assert _verify(files, public=str(d / "short_public.json")) == 1


def test_prover_refuses_an_unsatisfied_witness(files, capsys):
    d = files["dir"]
    assert main(["groth16", "prove", files["pk.bin"], files["bad.wtns"], str(d / "p2.json"),
                 str(d / "pub2.json")]) == 1
    assert "constraint" in capsys.readouterr().err
    assert not (d / "p2.json").exists() and not (d / "pub2.json").exists()


@pytest.mark.parametrize("which, content", [
    ("proof", "{not json"), ("proof", json.dumps({"pi_a": ["1"]})), ("public", json.dumps({"a": 1})),
    ("public", json.dumps(["x"])), ("vk", json.dumps([])), ("proof", None)])
def test_malformed_files_exit_2_in_one_line(files, tmp_path, which, content):
    path = tmp_path / f"{which}.json"
    if content is not None:
        path.write_text(content)
    args = {"vk": files["vk.json"], "public": files["public.json"], "proof": files["proof.json"]}
    args[which] = str(path)
    proc = subprocess.run([sys.executable, "-m", "hpc_zkfl.cli", "groth16", "verify", args["vk"],
                           args["public"], args["proof"]], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_truncated_proving_key_exits_2(files, tmp_path):
    data = open(files["pk.bin"], "rb").read()
    (tmp_path / "pk.bin").write_bytes(data[:len(data) // 2])
    assert main(["groth16", "prove", str(tmp_path / "pk.bin"), files["good.wtns"],
                 str(tmp_path / "p.json"), str(tmp_path / "q.json")]) == 2


def test_solidity_verifier_and_calldata_from_the_cli(files, capsys):
    from hpc_zkfl.groth16 import formats
    from hpc_zkfl.groth16.solidity import export_calldata, verify_proof_calldata
    sol = str(files["dir"] / "Verifier.sol")
    assert main(["groth16", "export-solidity", files["vk.json"], sol]) == 0
    assert "contract Groth16Verifier" in open(sol).read()
    proof = formats.proof_from_snarkjs(formats.load_json(files["proof.json"]))
    public = formats.public_from_snarkjs(formats.load_json(files["public.json"]))
    capsys.readouterr()
    assert main(["groth16", "export-calldata", files["public.json"], files["proof.json"]]) == 0
    assert capsys.readouterr().out == export_calldata(proof, public) + "\n"
    assert main(["groth16", "export-calldata", "--abi", files["public.json"],
                 files["proof.json"]]) == 0
    assert capsys.readouterr().out == "0x" + verify_proof_calldata(proof, public).hex() + "\n"
    assert main(["groth16", "export-solidity", files["vk.json"], sol,
                 "--contract-name", "no such name"]) == 2
