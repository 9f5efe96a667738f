"""Phase 2 by several parties: hpc-zkfl beside snarkjs on the same files, and what the run's
ceremony costs before round 1.

1. Whole-process seconds, same inputs, side by side in one run, for each domain 2^k of
   --powers (the circuit made and cached by bench_zkey_prove.py under --out, and a
   powers-of-tau file of power k + 1: above 2^14 snarkjs's circuit hash reads the power
   [tau^(2n - 1)], which a file of power k lacks):
     initial key:  `snarkjs groth16 setup c.r1cs pot.ptau`  |  `hpc-zkfl groth16 setup ...
                   --ptau pot.ptau --initial` (byte-identical output, checked)
     contribute:   `snarkjs zkey contribute`                 |  `hpc-zkfl groth16 contribute`
     verify:       `snarkjs zkey verify c.r1cs pot.ptau k.zkey` | `hpc-zkfl groth16 verify-key`
   Each tool verifies the key the other contributed to (the chain ends with both).
2. The run's ceremony for a statement of --config (default configs/private.toml: digits
   one-vs-rest, batch 8, two aggregators), in process: the leader's start and contribution,
   the helper's turn (its check of the key, its contribution, the commitment step), and a
   node's check; beside the local single-party setup the run used before.

Usage: python benchmarks/bench_phase2.py [--powers 14,16,18] [--out DIR] [--prefix DIR]
                                         [--config configs/private.toml]
"""
import argparse
import filecmp
import sys
import tempfile
import time
from pathlib import Path

from _common import machine, table

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_zkey_prove as inputs  # noqa: E402


def seconds(cmd, cwd) -> float:
    t0 = time.perf_counter()
    inputs.checked(cmd, cwd=cwd, timeout=3600)
    return time.perf_counter() - t0


def tools(d: Path, k: int, prefix: Path) -> list:
    """Rows of (step, snarkjs s, ours s) for the cached inputs in d."""
    import random

    from hpc_zkfl.algebra.constants import R
    from hpc_zkfl.groth16.testing import write_insecure_ptau

    snarkjs = [str(inputs._bin(prefix, "snarkjs"))]
    ours = [sys.executable, "-m", "hpc_zkfl.cli", "groth16"]
    r1cs, pot = "circom/circuit.r1cs", f"pot{k + 1}.ptau"
    if not (d / pot).exists():
        rnd = random.Random(k)
        write_insecure_ptau(d / (pot + ".tmp"), k + 1, *(1 + rnd.randrange(R - 1) for _ in "tab"))
        (d / (pot + ".tmp")).replace(d / pot)
    rows = []
    a = seconds(snarkjs + ["groth16", "setup", r1cs, pot, "s0.zkey"], d)
    b = seconds(ours + ["setup", r1cs, "o0.zkey", "o0.json", "--ptau", pot, "--initial"], d)
    assert filecmp.cmp(d / "s0.zkey", d / "o0.zkey", shallow=False), "initial keys differ"
    rows.append(("initial key (byte-identical)", a, b))
    a = seconds(snarkjs + ["zkey", "contribute", "s0.zkey", "s1.zkey", "-n=a", "-e=bench"], d)
    b = seconds(ours + ["contribute", "s1.zkey", "o2.zkey", "--name", "b"], d)
    rows.append(("contribute", a, b))
    a = seconds(snarkjs + ["zkey", "verify", r1cs, pot, "o2.zkey"], d)
    b = seconds(ours + ["verify-key", r1cs, pot, "o2.zkey"], d)
    rows.append(("verify (2 contributions)", a, b))
    return rows


def ceremony(config: str) -> list:
    from hpc_zkfl.config import load_config
    from hpc_zkfl.fl import ceremony as c
    from hpc_zkfl.fl.federation import build_federation
    from hpc_zkfl.groth16 import setup

    fed = build_federation(load_config(config))
    r1cs = fed.statement.r1cs
    setup(r1cs, commitment=fed.private)                    # numba's compilations out of the way
    rows = [("constraints", r1cs.n_constraints)]
    t0 = time.perf_counter()
    setup(r1cs, commitment=fed.private)
    rows.append(("single-party local setup (the run before)", time.perf_counter() - t0))
    t0 = time.perf_counter()
    leader = c.start(fed)
    rows.append(("leader: local phase 1 + its contribution", time.perf_counter() - t0))
    if fed.private:
        t0 = time.perf_counter()
        key, attestation = c.helper_turn(fed.with_key(leader.pk, leader.transcript), leader)
        rows.append(("helper: check + contribution + gamma/eta step", time.perf_counter() - t0))
    else:
        key, attestation = leader, None
    t0 = time.perf_counter()
    c.check(fed, key, attestation)
    rows.append(("a node's check of the final key", time.perf_counter() - t0))
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--powers", default="14,16,18")
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench_zkey_prove")
    ap.add_argument("--prefix", type=Path, default=None)
    ap.add_argument("--config", default="configs/private.toml")
    args = ap.parse_args()
    prefix = args.prefix or args.out / "npm"
    print(f"Machine: {machine()}\n")
    rows = []
    for k in (int(p) for p in args.powers.split(",")):
        d, _, _ = inputs.generate(k, args.out, prefix)
        for step, a, b in tools(d, k, prefix):
            rows.append([f"2^{k}", step, f"{a:.2f}", f"{b:.2f}", f"{a / b:.2f}"])
            print(f"2^{k} {step}: snarkjs {a:.2f} s, hpc-zkfl {b:.2f} s", file=sys.stderr)
    print(table(["domain", "step", "snarkjs (s)", "hpc-zkfl (s)", "snarkjs/hpc-zkfl"], rows))
    print()
    crow = ceremony(args.config)
    print(table(["the run's key (" + args.config + ")", "seconds"],
                [[name, f"{v:.2f}" if isinstance(v, float) else f"{v:,}"] for name, v in crow]))


if __name__ == "__main__":
    main()
