"""Generate tests/vectors/snarkjs_groth16.json: a Groth16 verification key, proof and public
signals made by snarkjs itself (its own setup and prover) for the circom circuit of
gen_circom.py, with that circuit's `.r1cs` and `.wtns`, for tests/groth16/test_snarkjs_interop.py
and tests/groth16/test_formats.py.

Keys: ``verification_key``, ``proof``, ``public`` (the three snarkjs JSON files as snarkjs
writes them), ``r1cs`` and ``wtns`` (hex of circom's files), ``inputs``, ``circom_version``,
``snarkjs_version``.  The ceremony (a one-contribution powers of tau and zkey) is fresh each run,
so every run gives different but equally valid points.

Needs node and npm (packages are installed into a temporary prefix unless --prefix names one
that already holds circom2 and snarkjs):

    python tests/vectors/gen_snarkjs_groth16.py [--prefix DIR]
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gen_circom  # noqa: E402

OUT = Path(__file__).resolve().parent / "snarkjs_groth16.json"
INPUTS = gen_circom.CIRCUIT_INPUTS[0]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", type=Path, help="npm prefix holding (or to receive) circom2, snarkjs")
    args = parser.parse_args()
    reason = gen_circom.node_tools_missing()
    if reason:
        sys.exit(f"cannot generate: {reason}")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prefix = args.prefix or tmp / "npm"
        gen_circom.install(prefix)
        r1cs_path, js_dir = gen_circom.compile_circuit(prefix, gen_circom.CIRCUIT, tmp)
        wtns_path = gen_circom.generate_witness(js_dir, INPUTS, tmp / "w.wtns")

        def snarkjs(*cmd):
            subprocess.run([gen_circom._bin(prefix, "snarkjs"), *cmd], cwd=tmp, check=True,
                           capture_output=True, timeout=300)

        snarkjs("powersoftau", "new", "bn128", "6", "pot0.ptau")
        snarkjs("powersoftau", "contribute", "pot0.ptau", "pot1.ptau", "-e=hpc-zkfl vectors")
        snarkjs("powersoftau", "prepare", "phase2", "pot1.ptau", "pot.ptau")
        snarkjs("groth16", "setup", str(r1cs_path), "pot.ptau", "c0.zkey")
        snarkjs("zkey", "contribute", "c0.zkey", "c.zkey", "-e=hpc-zkfl vectors")
        snarkjs("zkey", "export", "verificationkey", "c.zkey", "verification_key.json")
        snarkjs("groth16", "prove", "c.zkey", str(wtns_path), "proof.json", "public.json")
        snarkjs("groth16", "verify", "verification_key.json", "public.json", "proof.json")
        listing = subprocess.run(["npm", "ls", "--prefix", str(prefix), "snarkjs"],
                                 capture_output=True, text=True).stdout
        data = {name: json.loads((tmp / f"{name}.json").read_text())
                for name in ("verification_key", "proof", "public")}
        data.update(r1cs=r1cs_path.read_bytes().hex(), wtns=wtns_path.read_bytes().hex(), inputs=INPUTS,
                    circom_version=gen_circom.circom_version(prefix),
                    snarkjs_version=listing.split("snarkjs@")[-1].split()[0])
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT} (circom {data['circom_version']}, snarkjs {data['snarkjs_version']})")


if __name__ == "__main__":
    main()
