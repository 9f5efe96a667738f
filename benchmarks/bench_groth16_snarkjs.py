"""Groth16 side by side with snarkjs on the same circuits, witnesses and machine.

For each size the multiplication-chain circuit of `bench_groth16.py` (built with the circuit
builder) is written as iden3 .r1cs and .wtns files, then:

* snarkjs' key: a prepared powers-of-tau file of power K for a 2^K domain, written from a
  random known trapdoor by `write_insecure_ptau` (byte-identical to snarkjs' own output;
  `--snarkjs-ptau` makes it with snarkjs instead: `prepare phase2` alone takes about half an
  hour at 2^16 on 2 cores and grows faster than linearly), then `snarkjs groth16 setup`;
* proving, ours: `prove` in-process with warm kernels, and a whole `python -c` process that
  loads our proving-key file and the .wtns and proves; snarkjs: the whole process
  `snarkjs groth16 prove circuit.zkey w.wtns proof.json public.json` on the same files;
* cross-verification as a correctness check of the run: our proof with `snarkjs groth16 verify`
  against our verifying key as JSON, and snarkjs' proof with our `verify` against its key.

Then single verification: `snarkjs groth16 verify` (whole process, a few runs, per proof)
against our `verify` and `batch_verify` of many proofs.

Powers-of-tau files made by snarkjs do not depend on the circuit: with --ptau-dir they are
kept there (with the times it took to make them, reported as such) and reused by later runs.

Needs node and npm; snarkjs is installed into a temporary npm prefix unless --prefix names one
that has it.

Usage: python benchmarks/bench_groth16_snarkjs.py [--sizes 12,14,16,18] [--prefix DIR]
                  [--snarkjs-ptau] [--ptau-dir DIR] [--verify-runs 5] [--batch 1000]
"""
import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import best_of, fmt_time, machine, table, timed

from bench_groth16 import (builder_circuit, n_constraints_for, prove_process, warm_up,
                           write_prover_files)

from hpc_zkfl.groth16 import batch_verify, prepare_verifying_key, prove, setup, verify
from hpc_zkfl.groth16.formats import (load_json, proof_from_snarkjs, proof_to_snarkjs, public_from_snarkjs,
                                      public_to_snarkjs, save_json, vk_from_snarkjs, vk_to_snarkjs)
from hpc_zkfl.algebra.constants import R
from hpc_zkfl.groth16.testing import public_signals, write_insecure_ptau

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "vectors"))


def run(cmd, timeout=3600):
    """Run a command; (stdout + stderr, wall seconds).  Raises with the output on failure."""
    t0 = time.perf_counter()
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout + proc.stderr, wall


def snarkjs_verify(snarkjs, vk_file, public_file, proof_file):
    """(accepted, wall seconds) of `snarkjs groth16 verify`."""
    t0 = time.perf_counter()
    proc = subprocess.run([snarkjs, "groth16", "verify", str(vk_file), str(public_file), str(proof_file)],
                          capture_output=True, text=True, timeout=600)
    wall = time.perf_counter() - t0
    return proc.returncode == 0 and "OK!" in proc.stdout + proc.stderr, wall


def ptau(snarkjs, power, ptau_dir: Path, with_snarkjs: bool):
    """A prepared powers-of-tau file of `power`, how it was made, and the seconds it took.

    Default: written by `write_insecure_ptau` from a random trapdoor (seconds; byte-identical
    to what snarkjs' own commands make, see tests/groth16/test_snarkjs_interop.py).  With
    with_snarkjs: snarkjs' `powersoftau new`, one `contribute` and `prepare phase2` (about half
    an hour at power 16 on 2 cores), kept in ptau_dir and reused by later runs."""
    if not with_snarkjs:
        final = ptau_dir / f"pot{power}_insecure.ptau"
        rnd = random.Random(power)
        _, t = timed(lambda: write_insecure_ptau(final, power, *(1 + rnd.randrange(R - 1)
                                                                 for _ in range(3))))
        return final, "ours, known trapdoor", {"write": t}
    final, times_file = ptau_dir / f"pot{power}_final.ptau", ptau_dir / f"pot{power}_times.json"
    if final.exists() and times_file.exists():
        return final, "snarkjs, reused from --ptau-dir", json.loads(times_file.read_text())
    p0, p1 = ptau_dir / f"pot{power}_0.ptau", ptau_dir / f"pot{power}_1.ptau"
    _, t_new = run([snarkjs, "powersoftau", "new", "bn128", power, p0])
    _, t_contrib = run([snarkjs, "powersoftau", "contribute", p0, p1, "--name=bench", "-e=bench entropy"])
    tmp = ptau_dir / f"pot{power}_final.tmp"
    _, t_prepare = run([snarkjs, "powersoftau", "prepare", "phase2", p1, tmp])
    tmp.replace(final)
    times = {"new": t_new, "contribute": t_contrib, "prepare phase2": t_prepare}
    times_file.write_text(json.dumps(times))
    return final, "snarkjs", times


def compare_size(snarkjs, log_n, ptau_dir, with_snarkjs, workdir, setup_rows, prove_rows):
    from hpc_zkfl.circuit import save_r1cs

    r1cs, w = builder_circuit(n_constraints_for(log_n))
    x = public_signals(r1cs, w)
    d = workdir / f"c{log_n}"
    d.mkdir()
    r1cs_file = d / "circuit.r1cs"
    save_r1cs(r1cs, r1cs_file)

    # snarkjs' setup
    # snarkjs needs power >= log2(constraints + public signals) + 1 = log_n here
    pot, pot_how, pot_times = ptau(snarkjs, log_n, ptau_dir, with_snarkjs)
    zkey = d / "circuit.zkey"
    _, t_sj_setup = run([snarkjs, "groth16", "setup", r1cs_file, pot, zkey])
    sj_vk_file = d / "sj_vk.json"
    run([snarkjs, "zkey", "export", "verificationkey", zkey, sj_vk_file])

    # ours: setup, prover files (the .wtns is shared with snarkjs)
    pk, t_setup = timed(lambda: setup(r1cs, backend="cpu"))
    key_file, wtns_file = write_prover_files(pk, r1cs, w, d, "ours")
    our_vk_file, our_pub_file = d / "our_vk.json", d / "our_public.json"
    save_json(our_vk_file, vk_to_snarkjs(pk.vk))
    save_json(our_pub_file, public_to_snarkjs(x))

    # proving
    proof = prove(pk, r1cs, w, backend="cpu")
    t_ours = best_of(lambda: prove(pk, r1cs, w, backend="cpu"), repeat=2)
    rep, t_ours_proc = prove_process(key_file, wtns_file, d / "our_proof_proc.json")
    our_proof_file = d / "our_proof.json"
    save_json(our_proof_file, proof_to_snarkjs(proof))
    sj_proof_file, sj_pub_file = d / "sj_proof.json", d / "sj_public.json"
    t_sj = min(run([snarkjs, "groth16", "prove", zkey, wtns_file, sj_proof_file, sj_pub_file])[1]
               for _ in range(2))

    # cross-verification
    ok_ours_by_sj, _ = snarkjs_verify(snarkjs, our_vk_file, our_pub_file, our_proof_file)
    ok_proc_by_sj, _ = snarkjs_verify(snarkjs, our_vk_file, our_pub_file, d / "our_proof_proc.json")
    sj_vk = vk_from_snarkjs(load_json(sj_vk_file))
    sj_x = public_from_snarkjs(load_json(sj_pub_file))
    sj_proof = proof_from_snarkjs(load_json(sj_proof_file))
    ok_sj_by_ours = verify(sj_vk, sj_x, sj_proof, backend="cpu") and sj_x == x
    ok_sj_by_sj, _ = snarkjs_verify(snarkjs, sj_vk_file, sj_pub_file, sj_proof_file)
    ok_ours_by_ours = verify(pk.vk, x, proof, backend="cpu")
    checks = all([ok_ours_by_sj, ok_proc_by_sj, ok_sj_by_ours, ok_sj_by_sj, ok_ours_by_ours])

    setup_rows.append([
        f"2^{log_n}", f"{pot_how}: " + ", ".join(f"{k} {fmt_time(v)}" for k, v in pot_times.items()),
        fmt_time(t_sj_setup), fmt_time(t_setup)])
    prove_rows.append([
        f"2^{log_n}", str(r1cs.n_constraints), fmt_time(t_ours),
        f"{fmt_time(t_ours_proc)} (load {fmt_time(rep['load'])}, prove {fmt_time(rep['prove'])})",
        fmt_time(t_sj), f"{t_ours / t_sj:.2f}", f"{t_ours_proc / t_sj:.2f}",
        "all 4 accepted" if checks else
        f"FAILED: ours by snarkjs {ok_ours_by_sj}/{ok_proc_by_sj}, snarkjs' by ours {ok_sj_by_ours}"])
    print(f"  [2^{log_n} done]", file=sys.stderr, flush=True)
    return d, pk, r1cs, w, checks


def compare_verify(snarkjs, d, pk, r1cs, w, runs, n_batch):
    """snarkjs groth16 verify (whole process) vs our single and batch verification."""
    sj_times = []
    for _ in range(runs):
        ok, t = snarkjs_verify(snarkjs, d / "our_vk.json", d / "our_public.json", d / "our_proof.json")
        assert ok
        sj_times.append(t)
    x = public_signals(r1cs, w)
    pvk = prepare_verifying_key(pk.vk)
    # Distinct proofs of a small circuit with the same 5 public signals: verification costs
    # depend on the number of public signals only, and proving 1,000 times at 2^12 is slow.
    small, sw = builder_circuit(n_constraints_for(8))
    spk = setup(small, backend="cpu")
    sx = public_signals(small, sw)
    items = [(sx, prove(spk, small, sw, backend="cpu")) for _ in range(n_batch)]
    proof = proof_from_snarkjs(load_json(d / "our_proof.json"))
    t_single = best_of(lambda: verify(pvk, x, proof, backend="cpu"), repeat=20)
    t_single_raw = best_of(lambda: verify(pk.vk, x, proof, backend="cpu"), repeat=5)
    assert all(batch_verify(spk.vk, items, backend="cpu"))
    t_batch = best_of(lambda: batch_verify(spk.vk, items, backend="cpu"), repeat=3)
    sj = min(sj_times)
    print(table(["verifier (5 public signals)", "per proof", f"{n_batch} proofs",
                 "ratio ours/snarkjs per proof"], [
        [f"snarkjs groth16 verify (whole process; best of {runs} runs, x{n_batch} extrapolated)",
         fmt_time(sj), fmt_time(sj * n_batch) + " (extrapolated)", "1"],
        ["ours, verify (unprepared vk, in-process)", fmt_time(t_single_raw),
         fmt_time(t_single_raw * n_batch) + " (extrapolated)", f"{t_single_raw / sj:.4f}"],
        ["ours, verify (prepared vk, in-process)", fmt_time(t_single),
         fmt_time(t_single * n_batch) + " (extrapolated)", f"{t_single / sj:.4f}"],
        [f"ours, batch_verify of {n_batch} distinct proofs (raw vk, measured)",
         fmt_time(t_batch / n_batch), fmt_time(t_batch), f"{t_batch / n_batch / sj:.5f}"],
    ]))
    print(f"\nsnarkjs verify runs: {', '.join(fmt_time(t) for t in sj_times)} (node start-up included)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="12,14,16,18", help="log2 of the domain sizes")
    ap.add_argument("--snarkjs-ptau", action="store_true", help="make the powers of tau with "
                    "snarkjs' own commands (slow: about half an hour at 2^16 on 2 cores) instead of "
                    "writing them from a known trapdoor")
    ap.add_argument("--prefix", type=Path, help="npm prefix with snarkjs installed (default: install "
                    "into a temporary one)")
    ap.add_argument("--ptau-dir", type=Path, help="keep snarkjs-made powers-of-tau files here and "
                    "reuse them")
    ap.add_argument("--verify-runs", type=int, default=5, help="snarkjs verify runs to time")
    ap.add_argument("--batch", type=int, default=1000, help="proofs in our batch verification")
    args = ap.parse_args()

    from gen_circom import _bin, install, node_tools_missing

    missing = node_tools_missing()
    if missing:
        sys.exit(f"bench_groth16_snarkjs.py needs node and npm: {missing}")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        prefix = args.prefix or workdir / "npm"
        install(prefix)
        snarkjs = _bin(prefix, "snarkjs")
        version = run(["npm", "ls", "--prefix", prefix, "snarkjs"])[0].split("snarkjs@")[-1].split()[0]
        ptau_dir = args.ptau_dir or workdir / "ptau"
        ptau_dir.mkdir(parents=True, exist_ok=True)
        warm = warm_up()
        print(f"Machine: {machine()}; node {run(['node', '--version'])[0].strip()}, snarkjs {version}\n")
        print(f"Our kernel warm-up (compile or cache load) on a 2^6 circuit: {fmt_time(warm)}\n")
        setup_rows, prove_rows, last = [], [], None
        for log_n in [int(s) for s in args.sizes.split(",")]:
            last = compare_size(snarkjs, log_n, ptau_dir, args.snarkjs_ptau, workdir, setup_rows,
                                prove_rows)
            if ptau_dir == workdir / "ptau":
                for f in ptau_dir.glob("*"):
                    f.unlink()
        print(table(["domain", "constraints", "ours: prove (in-process, warm)",
                     "ours: whole process (python -c: imports, load key file + .wtns, prove)",
                     "snarkjs groth16 prove (whole process, best of 2)",
                     "ratio ours/snarkjs (in-process)", "ratio ours/snarkjs (whole process)",
                     "cross-verification (ours by snarkjs, snarkjs' by ours)"], prove_rows))
        print()
        print(table(["domain", "powers of tau of power K for snarkjs (made by)",
                     "snarkjs groth16 setup (from the ptau)", "ours: setup"], setup_rows))
        print()
        if last is not None:
            d, pk, r1cs, w, _ = last
            compare_verify(snarkjs, d, pk, r1cs, w, args.verify_runs, args.batch)
        if not all(r[-1] == "all 4 accepted" for r in prove_rows):
            sys.exit("cross-verification failed")
        shutil.rmtree(workdir / "npm", ignore_errors=True)


if __name__ == "__main__":
    main()
