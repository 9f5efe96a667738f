"""Fixed-point FedAvg with proven updates against float FedAvg (torch), same split and seed.

For each model and seed: the same deterministic train/test split, IID partition over the
nodes, per-round batches, initial model (the float start is the fixed-point start decoded)
and effective learning rate; the fixed-point run uses the node statement's integer update
(`update_ref`), the float run torch autograd with the exact sigmoid.  With `--prove-seed S`
(default 0) the run for seed S proves every node's update in the rounds of `--prove-rounds`
and the root batch-verifies them; the other rounds' updates are the same integers (the tests
check the circuit against `update_ref` bit for bit).

Usage: python benchmarks/bench_fedavg.py [--models ovr,mlp,logistic] [--seeds 0,1,2,3,4]
         [--rounds 300] [--nodes 10] [--batch 32] [--lr 0.5] [--hidden 16]
         [--prove-seed 0] [--prove-rounds 1,100,200,300]
"""
import argparse
import time

import numpy as np

from _common import fmt_time, machine, table

from hpc_zkfl.fl import load_dataset, partition_iid
from hpc_zkfl.fl.float_reference import init_params, run_float_fedavg
from hpc_zkfl.fl.simulation import run_fixed_fedavg, spec_for_dataset
from hpc_zkfl.models import flatten, unflatten

DATASET = {"ovr": "digits", "mlp": "digits", "logistic": "breast_cancer"}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="ovr,mlp,logistic")
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--rounds", type=int, default=300)
    ap.add_argument("--nodes", type=int, default=10)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=0.5)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--norm-bound", type=float, default=64.0)
    ap.add_argument("--prove-seed", type=int, default=0, help="-1: prove nothing")
    ap.add_argument("--prove-rounds", default="1,100,200,300")
    args = ap.parse_args()
    print(f"Machine: {machine()}\n")
    prove_rounds = {int(r) for r in args.prove_rounds.split(",") if r}
    rows, summary, proofs = [], [], []
    for model in args.models.split(","):
        hidden = args.hidden if model == "mlp" else 0
        diffs = []
        for seed in (int(s) for s in args.seeds.split(",")):
            ds = load_dataset(DATASET[model], seed)
            part = partition_iid(ds.n_train, args.nodes, seed)
            spec = spec_for_dataset(ds, model, args.batch, args.lr, args.norm_bound, hidden=hidden)
            p0 = init_params(model, ds.n_features, ds.n_classes, hidden=hidden or None, seed=seed)
            w0 = spec.fixed_point.encode(flatten(spec, p0))
            eval_every = max(1, args.rounds // 3)
            t0 = time.perf_counter()
            fixed = run_fixed_fedavg(ds, part, spec, w0, args.rounds, seed, eval_every=eval_every,
                                     prove_rounds=prove_rounds if seed == args.prove_seed else ())
            t_fixed = time.perf_counter() - t0
            t0 = time.perf_counter()
            flt = run_float_fedavg(ds, part, model, unflatten(spec, spec.fixed_point.decode(w0)),
                                   args.rounds, args.batch, spec.effective_learning_rate, seed,
                                   eval_every=eval_every)
            t_float = time.perf_counter() - t0
            a_fx, a_fl = fixed["test_accuracy"] * 100, flt["test_accuracy"] * 100
            diffs.append(a_fx[-1] - a_fl[-1])
            curve = " / ".join(f"{x:.1f} vs {y:.1f}" for x, y in zip(a_fx[1:], a_fl[1:]))
            rows.append([f"{model} ({DATASET[model]})", str(seed), f"{a_fl[-1]:.2f}", f"{a_fx[-1]:.2f}",
                         f"{a_fx[-1] - a_fl[-1]:+.2f}", curve, str(len(fixed["refused"])),
                         str(fixed["clamped"]), fmt_time(t_fixed), fmt_time(t_float)])
            if fixed["proofs"]:
                proofs.append(f"{model}, seed {seed}: {fixed['proofs']} updates proven in rounds "
                              f"{sorted(prove_rounds)} ({fmt_time(fixed['prove_seconds'])} witness + "
                              f"prove), batch-verified: all valid ({fmt_time(fixed['verify_seconds'])})")
            print(f"  [{model} seed {seed} done]", flush=True)
        summary.append([f"{model} ({DATASET[model]})", f"{np.mean(diffs):+.2f}",
                        f"{np.max(np.abs(diffs)):.2f}"])
    rounds_at = ", ".join(str(r) for r in range(max(1, args.rounds // 3), args.rounds + 1,
                                                  max(1, args.rounds // 3)))
    print(table(["model", "seed", "float FedAvg accuracy %", "fixed-point FedAvg accuracy %",
                 "difference (points)", f"fixed vs float at rounds {rounds_at}",
                 "refused updates", "clamped entries", "fixed run", "float run"], rows))
    print()
    print(table(["model", "mean difference (points)", "largest |difference| (points)"], summary))
    print()
    for line in proofs:
        print(line)
    print(f"\n{args.nodes} IID nodes, batch {args.batch}, learning rate {args.lr}, {args.rounds} rounds, "
          f"MLP hidden {args.hidden}; fixed point 16 fractional bits of 32.")


if __name__ == "__main__":
    main()
