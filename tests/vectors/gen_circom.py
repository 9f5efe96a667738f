"""Generate tests/vectors/circom.json: `.r1cs` / `.wtns` files made by the real circom compiler,
and files made by the project that snarkjs accepted (or rejected), for tests/circuit/test_iden3.py;
and tests/vectors/circom_unsorted.json, a circom `.r1cs` whose linear combinations are not all in
increasing wire order.

circom.json has two sections:

* ``circom``: a small circuit compiled by circom (run in WebAssembly by the `circom2` npm
  package) to `.r1cs` and a witness generator; for each input set, the `.wtns` that circom's
  generated `generate_witness.js` writes.  The package must read both and find the witness
  satisfies the constraints, and must re-encode the `.r1cs` byte for byte.
* ``snarkjs``: a circuit built with hpc_zkfl's ConstraintSystem, written with `r1cs_to_bytes` /
  `wtns_to_bytes`, and the verdict of `snarkjs wtns check` on each witness (one correct, one
  that breaks a range check).  The package must still write exactly these bytes.

circom_unsorted.json: the chain of `chain_circuit` started from a weighted sum of 260 private
inputs (`UNSORTED_CIRCUIT`).  circom does not write every linear combination in increasing wire
order, as the format specification asks: here the sum's combination mixes wire ids below and
above 256 and comes out as [256, 257, 258, 3, 259, 4, ...] (circom 2.2.3).  Stored: the circom
version, the source, the `.r1cs` and, per input set, the `.wtns` from circom's witness generator.
The generator refuses to write the file if circom's output has become sorted.

Needs node and npm (packages are installed into a temporary prefix unless --prefix names one
that already holds circom2 and snarkjs); --only writes just one of the two files:

    python tests/vectors/gen_circom.py [--prefix DIR] [--only circom|unsorted]
"""
import argparse
import json
import re
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
OUT = Path(__file__).resolve().parent / "circom.json"
OUT_UNSORTED = Path(__file__).resolve().parent / "circom_unsorted.json"
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

# A chain of products: x[i+1] = (x[i] * b + i)^2 + x[i].  From 254 steps on, circom 2.2.3 writes
# some C = x[i+1] - x[i] with the larger wire id first (constraint 505: [256, 255]).
CHAIN_CIRCUIT = """pragma circom 2.0.0;

template Chain(n) {
    signal input x0;
    signal input b;
    signal output out;
    signal x[n + 1];
    signal y[n];
    x[0] <== x0;
    for (var i = 0; i < n; i++) {
        y[i] <== x[i] * b + i;
        x[i + 1] <== y[i] * y[i] + x[i];
    }
    out <== x[n];
}

component main {public [b]} = Chain(%d);
"""

UNSORTED_WIDTH, UNSORTED_STEPS = 260, 2
UNSORTED_CIRCUIT = """pragma circom 2.0.0;

template WideChain(k, n) {
    signal input a[k];
    signal input b;
    signal output out;
    signal x[n + 1];
    signal y[n];
    var s = 0;
    for (var j = 0; j < k; j++) {
        s += (j + 1) * a[j];
    }
    x[0] <== s;
    for (var i = 0; i < n; i++) {
        y[i] <== x[i] * b + i;
        x[i + 1] <== y[i] * y[i] + x[i];
    }
    out <== x[n];
}

component main {public [b]} = WideChain(%d, %d);
""" % (UNSORTED_WIDTH, UNSORTED_STEPS)
UNSORTED_INPUTS = [
    {"a": [str(j * j - 1000) for j in range(UNSORTED_WIDTH)], "b": "-5"},
    {"a": [str((-1) ** j * 7 ** (j % 90)) for j in range(UNSORTED_WIDTH)],
     "b": "12345678901234567"},
]


def chain_circuit(steps: int) -> str:
    """The circom source of the chain with `steps` steps (2 constraints each)."""
    return CHAIN_CIRCUIT % steps


def chain_output(x0: int, b: int, steps: int, r: int) -> int:
    """The chain's `out` mod r, computed with Python integers."""
    x = x0 % r
    for i in range(steps):
        y = (x * b + i) % r
        x = (y * y + x) % r
    return x


def unsorted_combinations(data: bytes) -> list:
    """(constraint, "A" | "B" | "C", wire ids) of every linear combination of a raw `.r1cs` whose
    wire ids are not strictly increasing; parsed here with no help from hpc_zkfl."""
    sections, pos = {}, 12
    for _ in range(struct.unpack_from("<I", data, 8)[0]):
        kind, size = struct.unpack_from("<IQ", data, pos)
        sections[kind] = pos + 12
        pos += 12 + size
    n8 = struct.unpack_from("<I", data, sections[1])[0]
    (m,) = struct.unpack_from("<I", data, sections[1] + 4 + n8 + 24)
    found, pos = [], sections[2]
    for k in range(m):
        for side in "ABC":
            (n,) = struct.unpack_from("<I", data, pos)
            wires = [struct.unpack_from("<I", data, pos + 4 + t * (4 + n8))[0] for t in range(n)]
            pos += 4 + n * (4 + n8)
            if any(b <= a for a, b in zip(wires, wires[1:])):
                found.append((k, side, wires))
    return found


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


def run_snarkjs(prefix: Path, cwd, *args) -> str:
    """`snarkjs ARGS` in cwd; its stdout, or AssertionError with its output when it fails."""
    proc = subprocess.run([_bin(prefix, "snarkjs"), *map(str, args)], cwd=cwd,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


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


def _circom_vectors(prefix: Path, tmp: Path):
    """The contents of circom.json; returns (data, summary line)."""
    from hpc_zkfl.circuit import r1cs_to_bytes, wtns_to_bytes

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
    return {"circom": circom, "snarkjs": snarkjs}, (
        f"circom {circom['version']}, snarkjs {snarkjs_version}; "
        f"snarkjs verdicts {[(c['accepted'], c['failed_constraint']) for c in checks]}")


def _unsorted_vectors(prefix: Path, tmp: Path):
    """The contents of circom_unsorted.json; returns (data, summary line)."""
    r1cs_path, js_dir = compile_circuit(prefix, UNSORTED_CIRCUIT, tmp, name="unsorted")
    raw = r1cs_path.read_bytes()
    unsorted = unsorted_combinations(raw)
    if not unsorted:
        sys.exit("circom wrote every linear combination sorted: nothing to freeze")
    data = {"version": circom_version(prefix), "source": UNSORTED_CIRCUIT, "r1cs": raw.hex(),
            "witnesses": []}
    for i, inputs in enumerate(UNSORTED_INPUTS):
        wtns = generate_witness(js_dir, inputs, tmp / f"u{i}.wtns", name="unsorted")
        data["witnesses"].append({"inputs": inputs, "wtns": wtns.read_bytes().hex()})
    return data, (f"circom {data['version']}; unsorted combinations "
                  f"{[(k, side, len(wires)) for k, side, wires in unsorted]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prefix", type=Path, help="npm prefix holding (or to receive) circom2, snarkjs")
    parser.add_argument("--only", choices=("circom", "unsorted"), help="write just this file")
    args = parser.parse_args()
    reason = node_tools_missing()
    if reason:
        sys.exit(f"cannot generate: {reason}")
    sys.path.insert(0, str(ROOT))
    jobs = {"circom": (OUT, _circom_vectors), "unsorted": (OUT_UNSORTED, _unsorted_vectors)}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        prefix = args.prefix or tmp / "npm"
        install(prefix)
        for name, (out, make) in jobs.items():
            if args.only in (None, name):
                data, summary = make(prefix, tmp)
                out.write_text(json.dumps(data, indent=1) + "\n")
                print(f"wrote {out} ({summary})")


if __name__ == "__main__":
    main()
