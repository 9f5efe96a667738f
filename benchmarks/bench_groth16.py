"""Groth16 on the CPU backend: setup, prove and verify for random circuits of about 2^12,
2^14 and 2^16 constraints, and batch verification of 100 proofs against 100 single checks.

The circuits come from `hpc_zkfl.groth16.testing.random_circuit` (chains of
multiplications, 5 public signals); the constraint count is chosen so that the evaluation
domain (constraints + public signals + 1, rounded up to a power of two) is exactly 2^k.
A side-by-side comparison with snarkjs on the same circuits is a later step.

Usage: python benchmarks/bench_groth16.py [--sizes 12,14,16] [--batch 100]
"""
import argparse
import random
import time

from _common import best_of, fmt_time, machine, table, timed

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.groth16 import Proof, batch_verify, prepare_verifying_key, prove, setup, verify
from hpc_zkfl.groth16.testing import public_signals, random_circuit

N_OUTPUTS, N_PUBLIC_INPUTS, N_PRIVATE_INPUTS = 1, 4, 4


def circuit(log_n, rnd):
    m = (1 << log_n) - (N_OUTPUTS + N_PUBLIC_INPUTS) - 1
    return random_circuit(m, N_OUTPUTS, N_PUBLIC_INPUTS, N_PRIVATE_INPUTS, rng=rnd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="12,14,16", help="log2 of the domain sizes")
    ap.add_argument("--batch", type=int, default=100, help="proofs in the batch-verify test")
    args = ap.parse_args()
    rnd = random.Random(1)

    # Warm-up: compile (or load from numba's cache) every kernel on a tiny circuit.
    (r1cs, w), t_gen = timed(lambda: circuit(6, rnd))
    t0 = time.perf_counter()
    pk = setup(r1cs, backend="cpu")
    verify(pk.vk, public_signals(r1cs, w), prove(pk, r1cs, w, backend="cpu"), backend="cpu")
    warm = time.perf_counter() - t0

    print(f"Machine: {machine()}\n")
    print(f"Kernel warm-up (compile or cache load) on a 2^6 circuit: {fmt_time(warm)}\n")
    rows = []
    for log_n in [int(s) for s in args.sizes.split(",")]:
        (r1cs, w), t_gen = timed(lambda: circuit(log_n, rnd))
        pk, t_setup = timed(lambda: setup(r1cs, backend="cpu"))
        proof = prove(pk, r1cs, w, backend="cpu")
        t_prove = best_of(lambda: prove(pk, r1cs, w, backend="cpu"), repeat=2)
        x = public_signals(r1cs, w)
        pvk = prepare_verifying_key(pk.vk)
        assert verify(pvk, x, proof, backend="cpu")
        t_verify = best_of(lambda: verify(pvk, x, proof, backend="cpu"), repeat=5)
        rows.append([f"2^{log_n}", str(r1cs.n_constraints), fmt_time(t_setup), fmt_time(t_prove),
                     fmt_time(t_verify), fmt_time(t_gen)])
    print(table(["domain", "constraints", "setup", "prove", "verify (prepared vk)",
                 "circuit + witness generation (Python)"], rows))

    # Batch verification: proofs of one small circuit (the cost depends on the number of
    # proofs and of public signals, not on the circuit size).
    r1cs, w = circuit(8, rnd)
    pk = setup(r1cs, backend="cpu")
    pvk = prepare_verifying_key(pk.vk)
    x = public_signals(r1cs, w)
    items = [(x, prove(pk, r1cs, w, backend="cpu")) for _ in range(args.batch)]
    t_single = best_of(lambda: [verify(pvk, xi, p, backend="cpu") for xi, p in items], repeat=1)
    assert all(batch_verify(pvk, items, backend="cpu"))
    t_batch = best_of(lambda: batch_verify(pvk, items, backend="cpu"), repeat=3)
    bad = list(items)
    j = args.batch // 3
    bad[j] = ([(x[0] + 1) % R] + x[1:], bad[j][1])
    out, t_bad = timed(lambda: batch_verify(pvk, bad, backend="cpu"))
    assert out == [i != j for i in range(args.batch)]
    swapped = Proof(items[0][1].c, items[0][1].b, items[0][1].a)
    assert not verify(pvk, x, swapped, backend="cpu")
    n = args.batch
    print()
    print(table(["verification of proofs", "time", "per proof"], [
        [f"{n} single verifications", fmt_time(t_single), fmt_time(t_single / n)],
        [f"batch of {n} (n + 3 Miller loops, one final exponentiation)", fmt_time(t_batch),
         fmt_time(t_batch / n)],
        [f"batch of {n} with 1 invalid proof (found by bisection)", fmt_time(t_bad),
         fmt_time(t_bad / n)],
    ]))
    print(f"\nBatch speed-up over single verification: {t_single / t_batch:.1f}x")
    print("\nComparison with snarkjs (same circuits, same machine) is a later step.")


if __name__ == "__main__":
    main()
