"""Generate tests/vectors/circom.json: `.r1cs` / `.wtns` files made by the real circom compiler,
and files made by the project that snarkjs accepted (or rejected), for tests/circuit/test_iden3.py.

Two sections:

* ``circom``: a small circuit compiled by circom (run in WebAssembly by the `circom2` npm
  package) to `.r1cs` and a witness generator; for each input set, the `.wtns` that circom's
  generated `generate_witness.js` writes.  The package must read both and find the witness
  satisfies the constraints, and must re-encode the `.r1cs` byte for byte.
* ``snarkjs``: a circuit built with hpc_zkfl's ConstraintSystem, written with `r1cs_to_bytes` /
  `wtns_to_bytes`, and the verdict of `snarkjs wtns check` on each witness (one correct, one
  that breaks a range check).  The package must still write exactly these bytes.

Needs node and npm (packages are installed into a temporary prefix unless --prefix names one
that already holds circom2 and snarkjs):

    python tests/vectors/gen_circom.py [--prefix DIR]
"""
import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "circom.json"
PACKAGES = ("circom2", "snarkjs")

CIRCUIT = """pragma circom 2.0.0;

template Multiplier() {
    signal input a;
    signal input b;
    signal input k;
    signal output c;
    signal output d;
    signal t;
    t <== a * b;
    c <== t * k + 3;
    d <== (a - 2) * (b + 5);
}

component main {public [k]} = Multiplier();
"""
CIRCUIT_INPUTS = [{"a": "3", "b": "11", "k": "-2"}, {"a": "0", "b": "0", "k": "0"},
                  {"a": "123456789", "b": "-987654321", "k": "5"}]


def node_tools_missing():
    """A reason string if node or npm is missing, else None."""
    missing = [tool for tool in ("node", "npm", "npx") if shutil.which(tool) is None]
    return f"{', '.join(missing)} not found on PATH" if missing else None


def install(prefix: Path, timeout: float = 180):
    """npm-install circom2 and snarkjs into `prefix` unless they are there already."""
    if all((prefix / "node_modules" / ".bin" / p).exists() for p in PACKAGES):
        return
    subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                    "--fetch-retries=0", *PACKAGES], check=True, capture_output=True, timeout=timeout)


def _bin(prefix: Path, name: str) -> str:
    return str(prefix / "node_modules" / ".bin" / name)


def circom_version(prefix: Path) -> str:
    out = subprocess.run([_bin(prefix, "circom2"), "--version"], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    return " / ".join(line.strip() for line in out.splitlines() if line.strip())


def compile_circuit(prefix: Path, source: str, workdir: Path, name: str = "circuit"):
    """circom -> (path of the .r1cs, path of the witness-generator folder)."""
    src = workdir / f"{name}.circom"
    src.write_text(source)
    subprocess.run([_bin(prefix, "circom2"), str(src), "--r1cs", "--wasm", "-o", str(workdir)],
                   check=True, capture_output=True, timeout=120)
    return workdir / f"{name}.r1cs", workdir / f"{name}_js"


def generate_witness(js_dir: Path, inputs: dict, out: Path, name: str = "circuit") -> Path:
    """Run circom's generated witness calculator on `inputs` (a JSON-able dict)."""
    input_file = out.with_suffix(".json")
    input_file.write_text(json.dumps(inputs))
    subprocess.run(["node", str(js_dir / "generate_witness.js"), str(js_dir / f"{name}.wasm"),
                    str(input_file), str(out)], check=True, capture_output=True, timeout=120)
    return out


def snarkjs_wtns_check(prefix: Path, r1cs_path: Path, wtns_path: Path):
    """(accepted, first failing constraint index or None) from `snarkjs wtns check`."""
    proc = subprocess.run([_bin(prefix, "snarkjs"), "wtns", "check", str(r1cs_path), str(wtns_path)],
                          capture_output=True, text=True, timeout=120)
    text = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    accepted = proc.returncode == 0 and "WITNESS IS CORRECT" in text
    failed = re.search(r"aborting checking process at constraint (\d+)", text)
    return accepted, int(failed.group(1)) if failed else None


def builder_circuit():
    """The project-built circuit whose files snarkjs judges (also rebuilt by the tests)."""
    from hpc_zkfl.circuit import ConstraintSystem

    cs = ConstraintSystem()
    a, b = cs.private_input("a"), cs.private_input("b")
    k = cs.public_input("k")
    cs.public_output("c", cs.mul(cs.mul(a, b), k) + 3)
    cs.range_check(a, 8)
    cs.public_output("b_is_zero", cs.is_zero(b))
    cs.public_output("a_lt_b", cs.less_than(a, cs.select(cs.is_zero(b), 0, b), 8))
    return cs.compile()


BUILDER_INPUTS = [({"k": -2}, {"a": 3, "b": 11}), ({"k": 7}, {"a": 300, "b": 11})]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", type=Path, help="npm prefix holding (or to receive) circom2, snarkjs")
    args = parser.parse_args()
    reason = node_tools_missing()
    if reason:
        sys.exit(f"cannot generate: {reason}")
    sys.path.insert(0, str(ROOT))
    from hpc_zkfl.circuit import r1cs_to_bytes, wtns_to_bytes

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prefix = args.prefix or tmp / "npm"
        install(prefix)
        r1cs_path, js_dir = compile_circuit(prefix, CIRCUIT, tmp)
        circom = {"version": circom_version(prefix), "source": CIRCUIT,
                  "r1cs": r1cs_path.read_bytes().hex(), "witnesses": []}
        for i, inputs in enumerate(CIRCUIT_INPUTS):
            wtns = generate_witness(js_dir, inputs, tmp / f"w{i}.wtns")
            circom["witnesses"].append({"inputs": inputs, "wtns": wtns.read_bytes().hex()})

        r1cs, solver = builder_circuit()
        ours_r1cs = tmp / "ours.r1cs"
        ours_r1cs.write_bytes(r1cs_to_bytes(r1cs))
        checks = []
        for i, (public, private) in enumerate(BUILDER_INPUTS):
            wtns_path = tmp / f"ours{i}.wtns"
            wtns_path.write_bytes(wtns_to_bytes(solver.solve(public, private).witness))
            accepted, failed = snarkjs_wtns_check(prefix, ours_r1cs, wtns_path)
            checks.append({"public": public, "private": private, "wtns": wtns_path.read_bytes().hex(),
                           "accepted": accepted, "failed_constraint": failed})
        listing = subprocess.run(["npm", "ls", "--prefix", str(prefix), "snarkjs"],
                                 capture_output=True, text=True).stdout
        snarkjs_version = listing.split("snarkjs@")[-1].split()[0]
        snarkjs = {"version": snarkjs_version, "r1cs": ours_r1cs.read_bytes().hex(), "checks": checks}
        data = {"circom": circom, "snarkjs": snarkjs}
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT} (circom {circom['version']}, snarkjs {snarkjs_version}; "
          f"snarkjs verdicts {[(c['accepted'], c['failed_constraint']) for c in checks]})")


if __name__ == "__main__":
    main()
