"""Groth16 proving from the same snarkjs .zkey and circom .wtns by three provers, whole process.

For each domain size 2^k the inputs are generated once (and kept under --out, so reruns only
prove):

* a circom circuit: `chain_circuit` of tests/vectors/gen_circom.py (x[i+1] = (x[i] b + i)^2 +
  x[i], one public input b, one public output), with 2^k - 2^(k-4) constraints so that the
  domain (constraints + public signals + 1, rounded up to a power of two) is exactly 2^k;
  compiled by circom (the circom2 npm package) to .r1cs and .wasm, and the witness.wtns
  written by circom's generated generate_witness.js;
* a prepared powers-of-tau file of power k, written by `write_insecure_ptau` from a known
  trapdoor (the bytes snarkjs' `powersoftau new / contribute / prepare phase2` would write for
  it, in seconds rather than the hours `prepare phase2` takes at high powers on few cores);
* circuit.zkey from `snarkjs groth16 setup` and one `snarkjs zkey contribute`, and vk.json
  from `snarkjs zkey export verificationkey`.

Each prover then runs as a whole process (start-up and file reading included for all alike):

* snarkjs:  `snarkjs groth16 prove circuit.zkey witness.wtns proof.json public.json` (node);
* ours:     `hpc-zkfl groth16 prove circuit.zkey witness.wtns proof.json public.json`;
* arkworks: `python -c RUNNER ...` with the PyPI package groth16py (`import_zkey`, then
  `prove_wtns`; the runner writes the proof blob and the public signals as snarkjs JSON).

Columns: wall seconds of each prover (best of --repeat runs), the ratios snarkjs/ours and
arkworks/ours (above 1: ours is faster), and the verdict of `snarkjs groth16 verify vk.json
public.json proof.json` on each prover's last proof.  A prover that fails shows FAILED and its
error in its cell; the other columns are still measured.  A second table gives the seconds each
input took to generate, in this run or (marked cached) in the earlier one that made it.  Exit
status 1 if any prover failed or any proof was rejected, after both tables are printed.

Needs node and npm (snarkjs and circom2 are installed into --prefix, default OUT/npm) and
groth16py (`pip install groth16py`).

Usage: python benchmarks/bench_zkey_prove.py [--powers 12,13,14,15,16,17,18] [--repeat 1]
                                             [--out DIR] [--prefix DIR]
"""
import argparse
import json
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, table

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.groth16.testing import write_insecure_ptau

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "vectors"))

from gen_circom import (_bin, chain_circuit, circom_version, install,  # noqa: E402
                        node_tools_missing)

PROVERS = ("snarkjs", "ours", "arkworks")
INPUTS = {"x0": "3", "b": "5"}
PROVE_TIMEOUT = 3600

# The arkworks prover as a whole process: argv = zkey, wtns, proof.json, public.json.
# prove_wtns returns the Ethereum calldata blob a | b | c (G2 coordinates c1 before c0); the
# public signals are wires 1..nPublic of the .wtns, as snarkjs writes them.
ARKWORKS_RUNNER = r"""
import json, struct, sys
import groth16py
zkey, wtns, proof_file, public_file = sys.argv[1:5]
pk, vk = groth16py.import_zkey(zkey)
blob = groth16py.prove_wtns(pk, wtns)
w = [str(int.from_bytes(blob[i:i + 32], "big")) for i in range(0, 256, 32)]
json.dump({"pi_a": [w[0], w[1], "1"], "pi_b": [[w[3], w[2]], [w[5], w[4]], ["1", "0"]],
           "pi_c": [w[6], w[7], "1"], "protocol": "groth16", "curve": "bn128"},
          open(proof_file, "w"), indent=1)
with open(wtns, "rb") as f:
    data = f.read()
pos, sections = 12, {}
for _ in range(struct.unpack_from("<I", data, 8)[0]):
    kind, size = struct.unpack_from("<IQ", data, pos)
    sections[kind] = pos + 12
    pos += 12 + size
n8 = struct.unpack_from("<I", data, sections[1])[0]
values = sections[2]
json.dump([str(int.from_bytes(data[values + i * n8:values + (i + 1) * n8], "little"))
           for i in range(1, vk.n_public + 1)], open(public_file, "w"), indent=1)
"""


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, cwd=None, timeout=PROVE_TIMEOUT):
    """(ok, wall seconds, last line of the output when it failed) of one whole process."""
    t0 = time.perf_counter()
    try:
        proc = subprocess.run([str(c) for c in cmd], cwd=cwd, capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return False, time.perf_counter() - t0, f"timed out after {timeout} s"
    wall = time.perf_counter() - t0
    if proc.returncode == 0:
        return True, wall, ""
    lines = [line.strip() for line in (proc.stderr + proc.stdout).splitlines() if line.strip()]
    return False, wall, f"exit {proc.returncode}: {lines[-1] if lines else 'no output'}"


def checked(cmd, cwd=None, timeout=PROVE_TIMEOUT):
    """Run a generation step; its wall seconds, or exit with its error."""
    ok, wall, err = run(cmd, cwd, timeout)
    if not ok:
        sys.exit(f"{' '.join(map(str, cmd))} failed: {err}")
    return wall


def snarkjs_verify(snarkjs, vk, public, proof) -> bool:
    """The verdict of `snarkjs groth16 verify` (it prints OK! for a valid proof)."""
    proc = subprocess.run([str(snarkjs), "groth16", "verify", str(vk), str(public), str(proof)],
                          capture_output=True, text=True, timeout=600)
    return proc.returncode == 0 and "OK!" in proc.stdout + proc.stderr


def zkey_domain(path) -> int:
    """The domain size n of a snarkjs Groth16 .zkey (its section 2 header)."""
    with open(path, "rb") as f:
        head = f.read(12)
        for _ in range(struct.unpack_from("<I", head, 8)[0]):
            kind, size = struct.unpack("<IQ", f.read(12))
            if kind == 2:
                body = f.read(96)
                n8q = struct.unpack_from("<I", body, 0)[0]
                n8r = struct.unpack_from("<I", body, 4 + n8q)[0]
                return struct.unpack_from("<I", body, 8 + n8q + n8r + 8)[0]
            f.seek(size, os.SEEK_CUR)
    raise ValueError(f"{path}: no Groth16 header section")


def step(d: Path, times: dict, name: str, target: Path, make):
    """Make `target` with make(tmp path) unless it exists; written under a temporary name and
    renamed, so an interrupted run never leaves a partial file to be reused.  The seconds it
    took go into `times` and d/gen_times.json (kept for reruns that find it cached)."""
    if target.exists():
        return
    log(f"  2^{d.name[1:]}: {name} ...")
    tmp = target.with_name(target.name + ".tmp")
    t0 = time.perf_counter()
    make(tmp)
    tmp.replace(target)
    times[name] = time.perf_counter() - t0
    log(f"  2^{d.name[1:]}: {name} done in {times[name]:.1f} s")
    stored = d / "gen_times.json"
    saved = json.loads(stored.read_text()) if stored.exists() else {}
    stored.write_text(json.dumps({**saved, name: times[name]}, indent=1))


def generate(k: int, out: Path, prefix: Path):
    """The folder of size 2^k with circuit.zkey, witness.wtns and vk.json; the constraint count;
    {step: seconds} of the steps made now (cached ones are absent)."""
    snarkjs, circom = _bin(prefix, "snarkjs"), _bin(prefix, "circom2")
    d = out / f"k{k}"
    d.mkdir(parents=True, exist_ok=True)
    steps = (2 ** k - 2 ** (k - 4)) // 2     # 2 constraints a step (circom drops the linear ones)
    times = {}

    def compile_circom(tmp):
        # circom names its outputs after the source, so compile in a scratch folder
        tmp.mkdir(exist_ok=True)
        (tmp / "circuit.circom").write_text(chain_circuit(steps))
        checked([circom, "circuit.circom", "--r1cs", "--wasm", "-o", "."], cwd=tmp)

    def witness(tmp):
        (d / "input.json").write_text(json.dumps(INPUTS))
        js = d / "circom" / "circuit_js"
        checked(["node", js / "generate_witness.js", js / "circuit.wasm", d / "input.json", tmp])

    def ptau(tmp):
        rnd = random.Random(k)
        write_insecure_ptau(tmp, k, *(1 + rnd.randrange(R - 1) for _ in range(3)))

    def zkey(tmp):
        z0 = d / "circuit_0000.zkey"
        checked([snarkjs, "groth16", "setup", d / "circom" / "circuit.r1cs", d / "pot.ptau", z0])
        checked([snarkjs, "zkey", "contribute", z0, tmp, "--name=bench", "-e=bench entropy"])
        z0.unlink()

    step(d, times, "circom compile", d / "circom", compile_circom)
    step(d, times, "witness", d / "witness.wtns", witness)
    step(d, times, f"ptau (power {k})", d / "pot.ptau", ptau)
    step(d, times, "groth16 setup + zkey contribute", d / "circuit.zkey", zkey)
    step(d, times, "export vk", d / "vk.json", lambda tmp: checked(
        [snarkjs, "zkey", "export", "verificationkey", d / "circuit.zkey", tmp]))
    domain = zkey_domain(d / "circuit.zkey")
    if domain != 2 ** k:
        sys.exit(f"{d / 'circuit.zkey'}: domain {domain}, expected 2^{k}")
    return d, 2 * steps, times


def prover_commands(prefix: Path):
    """{prover: argv without the four file arguments}."""
    # this interpreter's own CLI first: the one installed with the package being measured
    ours = Path(sys.executable).with_name("hpc-zkfl")
    ours = str(ours) if ours.exists() else shutil.which("hpc-zkfl") or "hpc-zkfl"
    return {"snarkjs": [_bin(prefix, "snarkjs"), "groth16", "prove"],
            "ours": [ours, "groth16", "prove"],
            "arkworks": [sys.executable, "-c", ARKWORKS_RUNNER]}


def measure(prefix: Path, d: Path, repeat: int):
    """{prover: (best wall seconds or None, error or "", verified or None)}."""
    results = {}
    snarkjs = _bin(prefix, "snarkjs")
    for name, argv in prover_commands(prefix).items():
        proof, public = d / f"{name}_proof.json", d / f"{name}_public.json"
        best, err = None, ""
        for _ in range(repeat):
            # a stale proof from an earlier run must not be verified in place of a failed one
            proof.unlink(missing_ok=True)
            public.unlink(missing_ok=True)
            ok, wall, err = run([*argv, d / "circuit.zkey", d / "witness.wtns", proof, public])
            if not ok:
                best = None
                break
            best = wall if best is None else min(best, wall)
        verified = None
        if best is not None:
            verified = snarkjs_verify(snarkjs, d / "vk.json", public, proof)
        results[name] = (best, err, verified)
        log(f"  2^{d.name[1:]}: {name} " + (f"{best:.2f} s, verified {verified}" if best is not None
                                             else f"FAILED ({err})"))
    return results


def versions(prefix: Path) -> str:
    listing = subprocess.run(["npm", "ls", "--prefix", str(prefix), "snarkjs"], capture_output=True,
                             text=True).stdout
    snarkjs = listing.split("snarkjs@")[-1].split()[0] if "snarkjs@" in listing else "?"
    node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
    try:
        from importlib.metadata import version
        groth16py = version("groth16py")
    except Exception:           # not installed: its column will say so
        groth16py = "not installed"
    return (f"node {node}, snarkjs {snarkjs}, {circom_version(prefix)}, groth16py {groth16py}")


def cell(result) -> str:
    best, err, _ = result
    if best is not None:
        return f"{best:.2f}"
    err = err if len(err) <= 160 else err[:157] + "..."
    return "FAILED: " + err.replace("|", "\\|")     # a bare | would split the Markdown cell


def ratio(other, ours) -> str:
    return f"{other[0] / ours[0]:.2f}" if other[0] is not None and ours[0] is not None else "n/a"


def verdict(results) -> str:
    words = {None: "-", True: "OK", False: "REJECTED"}
    return ", ".join(f"{p} {words[results[p][2]]}" for p in PROVERS)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--powers", default="12,13,14,15,16,17,18", help="log2 of the domain sizes")
    ap.add_argument("--repeat", type=int, default=1, help="runs per prover and size (best is kept)")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench_zkey_prove",
                    help="folder for the generated inputs and proofs, reused by later runs")
    ap.add_argument("--prefix", type=Path, help="npm prefix with (or to receive) snarkjs and "
                    "circom2 (default OUT/npm)")
    args = ap.parse_args()
    powers = [int(s) for s in args.powers.split(",")]
    if min(powers) < 5:
        sys.exit("--powers must be 5 or more")   # 2^(k-4) constraints short of the domain

    missing = node_tools_missing()
    if missing:
        sys.exit(f"bench_zkey_prove.py needs node and npm: {missing}")
    args.out.mkdir(parents=True, exist_ok=True)
    prefix = args.prefix or args.out / "npm"
    install(prefix)

    # taken before the runs: the source commit measured, should the tree change meanwhile
    header = f"Machine: {machine()}; {versions(prefix)}\n"
    rows, gen_rows, failed = [], [], False
    for k in powers:
        log(f"2^{k}: inputs under {args.out / f'k{k}'}")
        d, n_constraints, times = generate(k, args.out, prefix)
        results = measure(prefix, d, args.repeat)
        failed |= any(best is None or not ok for best, _, ok in results.values())
        ours = results["ours"]
        rows.append([f"2^{k}", n_constraints, *(cell(results[p]) for p in PROVERS),
                     ratio(results["snarkjs"], ours), ratio(results["arkworks"], ours),
                     verdict(results)])
        stored = d / "gen_times.json"
        saved = json.loads(stored.read_text()) if stored.exists() else {}
        gen_rows.append([f"2^{k}", ", ".join(
            f"{name} {t:.1f}" + ("" if name in times else " (cached)") for name, t in saved.items())
            or "cached (no times recorded)"])

    print(header)
    best = f"best of {args.repeat}" if args.repeat > 1 else "1 run"
    print(table(["domain", "constraints", f"snarkjs (s, {best})", f"ours (s, {best})",
                 f"arkworks/groth16py (s, {best})", "snarkjs/ours", "arkworks/ours",
                 "snarkjs groth16 verify"], rows))
    print()
    print(table(["domain", "input generation (s; cached: made by an earlier run)"], gen_rows))
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
