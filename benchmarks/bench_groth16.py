"""Groth16 on the CPU backend: setup, prove and verify for builder-made circuits of 2^12, 2^14
and 2^16 constraints (2^18 on request), batch verification of 1,000 proofs against single
checks, and the peak memory of a proving process.

The circuits are written with the circuit builder (`hpc_zkfl.circuit.ConstraintSystem`):
a chain of multiplications y_{j+1} = (y_j + x_{j mod 4}) * (y_j + k_{j mod 4} + j) over 4
private inputs x and 4 public inputs k, with one public output, so that nearly every wire is
private.  The constraint count is chosen so that the evaluation domain (constraints + public
signals + 1, rounded up to a power of two) is exactly 2^k.  `bench_groth16_snarkjs.py` reuses
these circuits for the side-by-side comparison with snarkjs.

The peak memory is measured in a separate process that loads a proving-key file (key +
circuit, the file `hpc-zkfl groth16 setup` writes) and an iden3 .wtns witness and proves: the
kernel's peak-RSS mark (VmHWM), reset after imports and kernel warm-up, against the RSS then.

Usage: python benchmarks/bench_groth16.py [--sizes 12,14,16] [--setup-size 16] [--batch 1000]
                                          [--memory-size 18]
"""
import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import best_of, fmt_time, machine, table, timed

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.circuit import ConstraintSystem, save_wtns
from hpc_zkfl.groth16 import Proof, batch_verify, prepare_verifying_key, prove, setup, verify
from hpc_zkfl.groth16.formats import proving_file_to_bytes
from hpc_zkfl.groth16.testing import public_signals

ROOT = Path(__file__).resolve().parents[1]
N_OUTPUTS, N_PUBLIC_INPUTS, N_PRIVATE_INPUTS = 1, 4, 4
N_PUBLIC = N_OUTPUTS + N_PUBLIC_INPUTS


def n_constraints_for(log_n: int) -> int:
    """The most constraints whose domain (constraints + public signals + 1) is 2^log_n."""
    return (1 << log_n) - N_PUBLIC - 1


def builder_circuit(n_constraints: int, seed: int = 1):
    """(R1CS, witness) of the multiplication-chain circuit with exactly n_constraints
    constraints (n_constraints - 1 products and the output), solved on random inputs."""
    if n_constraints < 2:
        raise ValueError("the chain needs at least 2 constraints")
    cs = ConstraintSystem()
    k = cs.public_inputs("k", N_PUBLIC_INPUTS)
    x = cs.private_inputs("x", N_PRIVATE_INPUTS)
    y = cs.mul(x[0], x[1])
    for j in range(1, n_constraints - 1):
        y = cs.mul(y + x[j % N_PRIVATE_INPUTS], y + k[j % N_PUBLIC_INPUTS] + j)
    cs.public_output("out", y)
    r1cs, solver = cs.compile()
    rnd = random.Random(seed)
    wit = solver.solve(public=[rnd.randrange(R) for _ in range(N_PUBLIC_INPUTS)],
                       private=[rnd.randrange(R) for _ in range(N_PRIVATE_INPUTS)])
    assert r1cs.n_constraints == n_constraints and r1cs.n_public == N_PUBLIC
    return r1cs, wit.witness


def warm_up():
    """Compile (or load from numba's cache) every kernel on a tiny circuit; seconds taken."""
    r1cs, w = builder_circuit(n_constraints_for(6))
    t0 = time.perf_counter()
    pk = setup(r1cs, backend="cpu")
    assert verify(pk.vk, public_signals(r1cs, w), prove(pk, r1cs, w, backend="cpu"), backend="cpu")
    batch_verify(pk.vk, [(public_signals(r1cs, w), prove(pk, r1cs, w, backend="cpu"))] * 2,
                 backend="cpu")
    return time.perf_counter() - t0


# A whole proving process: load the proving-key file and the witness, prove, write the proof.
# Prints JSON: seconds for imports + warm-up, load, prove; ru_maxrss (KiB) after warm-up and at
# the end.
PROVE_PROCESS = r"""
import json, resource, sys, time
t0 = time.perf_counter()
from hpc_zkfl.circuit import load_wtns
from hpc_zkfl.groth16 import prove
from hpc_zkfl.groth16.formats import proving_file_from_bytes, proof_to_snarkjs, save_json
from hpc_zkfl.backends import get_backend
be = get_backend("cpu")
warm = sys.argv[4] == "1"
if warm:
    from hpc_zkfl.groth16 import setup
    from hpc_zkfl.groth16.testing import random_circuit
    r, w = random_circuit(60, 1, 4, 4)
    prove(setup(r, backend=be), r, w, backend=be)
t1 = time.perf_counter()


def status_kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])


# Reset the kernel's peak-RSS mark (VmHWM) so that the peak below covers load + prove only;
# ru_maxrss cannot be reset and would keep the warm-up's peak.
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    base = status_kib("VmRSS")
except OSError:
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
pk, r1cs = proving_file_from_bytes(open(sys.argv[1], "rb").read(), subgroup_check=False)
w = load_wtns(sys.argv[2])
t2 = time.perf_counter()
proof = prove(pk, r1cs, w, backend=be)
t3 = time.perf_counter()
save_json(sys.argv[3], proof_to_snarkjs(proof))
peak = status_kib("VmHWM") or resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"startup": t1 - t0, "load": t2 - t1, "prove": t3 - t2, "base_kib": base,
                  "peak_kib": peak}))
"""


def prove_process(key_file, wtns_file, proof_file, warm=False):
    """Run PROVE_PROCESS: (its JSON report, whole-process wall seconds)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", PROVE_PROCESS, str(key_file), str(wtns_file),
                          str(proof_file), "1" if warm else "0"],
                         env=env, check=True, capture_output=True, text=True).stdout
    wall = time.perf_counter() - t0
    return json.loads(out.strip().splitlines()[-1]), wall


def write_prover_files(pk, r1cs, witness, workdir: Path, name: str):
    """Write the proving-key file and the .wtns; their paths."""
    key_file, wtns_file = workdir / f"{name}.pk", workdir / f"{name}.wtns"
    key_file.write_bytes(proving_file_to_bytes(pk, r1cs))
    save_wtns(witness, wtns_file)
    return key_file, wtns_file


def bench_sizes(sizes, workdir):
    rows = []
    for log_n in sizes:
        (r1cs, w), t_gen = timed(lambda: builder_circuit(n_constraints_for(log_n)))
        pk, t_setup = timed(lambda: setup(r1cs, backend="cpu"))
        proof = prove(pk, r1cs, w, backend="cpu")
        t_prove = best_of(lambda: prove(pk, r1cs, w, backend="cpu"), repeat=2)
        x = public_signals(r1cs, w)
        pvk = prepare_verifying_key(pk.vk)
        assert verify(pvk, x, proof, backend="cpu")
        t_verify = best_of(lambda: verify(pvk, x, proof, backend="cpu"), repeat=5)
        key_file, wtns_file = write_prover_files(pk, r1cs, w, workdir, f"c{log_n}")
        rep, wall = prove_process(key_file, wtns_file, workdir / f"c{log_n}_proof.json")
        rows.append([f"2^{log_n}", str(r1cs.n_constraints), fmt_time(t_setup), fmt_time(t_prove),
                     f"{fmt_time(wall)} (load {fmt_time(rep['load'])}, prove {fmt_time(rep['prove'])})",
                     fmt_time(t_verify), fmt_time(t_gen)])
        print(f"  [2^{log_n} done]", file=sys.stderr, flush=True)
    print(table(["domain", "constraints", "setup", "prove (in-process, warm)",
                 "prove, whole process (python -c: imports, load key file + .wtns, prove)",
                 "verify (prepared vk)", "circuit + witness (Python builder)"], rows))


def bench_batch(n):
    """Batch verification of n distinct proofs of one small circuit with 5 public signals
    (verification cost depends on the number of proofs and public signals only)."""
    r1cs, w = builder_circuit(n_constraints_for(8))
    pk = setup(r1cs, backend="cpu")
    pvk = prepare_verifying_key(pk.vk)
    x = public_signals(r1cs, w)
    items, t_make = timed(lambda: [(x, prove(pk, r1cs, w, backend="cpu")) for _ in range(n)])
    t_single = best_of(lambda: [verify(pvk, xi, p, backend="cpu") for xi, p in items], repeat=1)
    assert all(batch_verify(pvk, items, backend="cpu"))
    t_batch = best_of(lambda: batch_verify(pvk, items, backend="cpu"), repeat=3)
    t_batch_raw = best_of(lambda: batch_verify(pk.vk, items, backend="cpu"), repeat=1)
    bad = list(items)
    j = n // 3
    bad[j] = ([(x[0] + 1) % R] + x[1:], bad[j][1])
    out, t_bad = timed(lambda: batch_verify(pvk, bad, backend="cpu"))
    assert out == [i != j for i in range(n)]
    invalid_rows = []
    for fraction in (0.05, 0.3):
        wrong = set(random.Random(7).sample(range(n), round(fraction * n)))
        mixed = [([(x[0] + 1) % R] + x[1:], p) if i in wrong else (x, p)
                 for i, (x, p) in enumerate(items)]
        out, t_mixed = timed(lambda: batch_verify(pvk, mixed, backend="cpu"))
        assert out == [i not in wrong for i in range(n)]
        invalid_rows.append([f"batch of {n} with {fraction:.0%} invalid proofs (all named)",
                             fmt_time(t_mixed), fmt_time(t_mixed / n)])
    swapped = Proof(items[0][1].c, items[0][1].b, items[0][1].a)
    assert not verify(pvk, x, swapped, backend="cpu")
    print(table(["verification of proofs (5 public signals)", "time", "per proof"], [
        [f"{n} single verifications (prepared vk)", fmt_time(t_single), fmt_time(t_single / n)],
        [f"batch of {n} (prepared vk)", fmt_time(t_batch), fmt_time(t_batch / n)],
        [f"batch of {n} (raw vk, includes preparing it)", fmt_time(t_batch_raw),
         fmt_time(t_batch_raw / n)],
        [f"batch of {n} with 1 invalid proof (found by group tests)", fmt_time(t_bad),
         fmt_time(t_bad / n)],
        *invalid_rows,
    ]))
    print(f"\nBatch speed-up over single verification: {t_single / t_batch:.1f}x "
          f"(making the {n} proofs took {fmt_time(t_make)})")


def bench_setup(log_n):
    r1cs, w = builder_circuit(n_constraints_for(log_n))
    pk, t = timed(lambda: setup(r1cs, backend="cpu"))
    print(table(["setup", "constraints", "time"], [[f"2^{log_n}", str(r1cs.n_constraints), fmt_time(t)]]))


def bench_memory(log_n, workdir):
    (r1cs, w), t_gen = timed(lambda: builder_circuit(n_constraints_for(log_n)))
    pk, t_setup = timed(lambda: setup(r1cs, backend="cpu"))
    key_file, wtns_file = write_prover_files(pk, r1cs, w, workdir, f"m{log_n}")
    del pk
    rep, wall = prove_process(key_file, wtns_file, workdir / f"m{log_n}_proof.json", warm=True)
    mib = 1024.0
    print(table(["proving process at", "key file", "RSS after imports + warm-up", "peak RSS",
                 "peak - baseline", "load", "prove", "whole process"], [[
        f"2^{log_n} ({r1cs.n_constraints} constraints)", f"{key_file.stat().st_size / 2**20:.0f} MiB",
        f"{rep['base_kib'] / mib:.0f} MiB", f"{rep['peak_kib'] / mib:.0f} MiB",
        f"{(rep['peak_kib'] - rep['base_kib']) / mib:.0f} MiB", fmt_time(rep["load"]),
        fmt_time(rep["prove"]), fmt_time(wall)]]))
    print(f"\n(setup at 2^{log_n}: {fmt_time(t_setup)}; circuit + witness: {fmt_time(t_gen)})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="12,14,16", help="log2 of the domain sizes")
    ap.add_argument("--setup-size", type=int, default=16, help="log2 of the domain for setup alone "
                    "(0: skip)")
    ap.add_argument("--batch", type=int, default=1000, help="proofs in the batch-verify test")
    ap.add_argument("--memory-size", type=int, default=18, help="log2 of the domain of the "
                    "peak-memory measurement (0: skip)")
    args = ap.parse_args()
    warm = warm_up()
    print(f"Machine: {machine()}\n")
    print(f"Kernel warm-up (compile or cache load) on a 2^6 circuit: {fmt_time(warm)}\n")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if args.sizes:
            bench_sizes([int(s) for s in args.sizes.split(",")], workdir)
            print()
        if args.setup_size:
            bench_setup(args.setup_size)
            print()
        if args.batch:
            bench_batch(args.batch)
            print()
        if args.memory_size:
            bench_memory(args.memory_size, workdir)


if __name__ == "__main__":
    main()
