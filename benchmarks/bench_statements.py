"""Node statements: constraint counts, where the constraints go, and proving times per model
and batch size.

For each model (one-vs-rest and the MLP on `digits`, binary logistic regression on
`breast_cancer`, since `digits` has ten classes) and batch size, on real batches of the
training split: build the circuit, set it up, compute the reference update and the witness,
prove (warm kernels, in-process) and verify.  The constraint breakdown gives the share spent
on truncations (remainder and quotient range checks) and on range checks of any kind (bit
decompositions).  With `--binding-depth D` the one-vs-rest statement is also measured with
data binding on (Merkle trees of depth D).  `--modes`: "public" (u a public input: its range
and norm bound checked by the verifier, `StatementSpec.verifier_checks_update`) and/or
"private" (u committed in two-aggregator runs: both checks in the circuit), each statement
in each mode in the same run.

Usage: python benchmarks/bench_statements.py [--batches 8,16,32] [--hidden 16]
                                             [--binding-depth 8] [--models ovr,mlp,logistic]
                                             [--modes public,private]
"""
import argparse

import numpy as np

from _common import fmt_time, machine, table, timed

from hpc_zkfl.fl.data import load_dataset, sample_batch
from hpc_zkfl.groth16 import prove, setup, verify
from hpc_zkfl.groth16.r1cs_to_qap import domain_size
from hpc_zkfl.models import DatasetTree, FeatureRange, NodeStatement, StatementSpec

DATASET = {"ovr": "digits", "mlp": "digits", "logistic": "breast_cancer"}


def spec_for(model, data, batch, hidden, depth=0, mode="public"):
    fs = data.feature_spec
    return StatementSpec(model=model, n_features=data.n_features, n_classes=data.n_classes,
                         batch_size=batch, features=FeatureRange(fs.frac_bits, fs.lo, fs.hi),
                         learning_rate=0.5, norm_bound=64.0, hidden=hidden if model == "mlp" else 0,
                         data_binding=depth > 0, merkle_depth=depth,
                         verifier_checks_update=mode == "public")


def measure(model, data, batch, hidden, depth=0, seed=0, mode="public"):
    spec = spec_for(model, data, batch, hidden, depth, mode)
    st, t_build = timed(lambda: NodeStatement(spec))
    pk, t_setup = timed(lambda: setup(st.r1cs, backend="cpu"))
    rng = np.random.default_rng(seed)
    w = spec.fixed_point.encode(rng.uniform(-0.1, 0.1, spec.n_params))
    binding = None
    idx = sample_batch(np.arange(len(data.y_train)), batch, seed, 0, 0)
    if depth:
        node = np.arange(min(len(data.y_train), 1 << depth))
        tree = DatasetTree.build(spec, data.X_train[node], data.y_train[node])
        idx = sample_batch(node, batch, seed, 0, 0)
        binding = (tree, idx)
    X, y = data.X_train[idx], data.y_train[idx]
    (u, wit), t_wit = timed(lambda: st.witness(3, 1, w, X, y, binding=binding))
    proof, t_prove = timed(lambda: prove(pk, st.r1cs, wit.witness, backend="cpu"))
    ok, t_verify = timed(lambda: verify(pk.vk, wit.public_signals, proof, backend="cpu"))
    assert ok and (mode != "public" or st.check_update(u, st.update_low(wit)) is None)
    b = st.breakdown
    n = st.n_constraints
    roles = ", ".join(f"{k} {v / n:.0%}" for k, v in b.items() if not k.startswith("range"))
    return [f"{model} ({DATASET[model]}{', binding depth %d' % depth if depth else ''})", str(batch),
            "verifier" if mode == "public" else "circuit",
            f"{n:,}", f"2^{domain_size(st.r1cs).bit_length() - 1}", str(st.r1cs.n_public),
            f"{b.get('truncation', 0) / n:.0%}", f"{b['range checks (bit decompositions)'] / n:.0%}",
            roles, fmt_time(t_build), fmt_time(t_setup), fmt_time(t_wit), fmt_time(t_prove),
            fmt_time(t_verify)]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", default="8,16,32")
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--models", default="ovr,mlp,logistic")
    ap.add_argument("--binding-depth", type=int, default=8, help="0 to skip the binding rows")
    ap.add_argument("--modes", default="public,private")
    args = ap.parse_args()
    modes = args.modes.split(",")
    print(f"Machine: {machine()}\n")
    data = {name: load_dataset(name, seed=0) for name in set(DATASET.values())}
    # Compile or load every kernel outside the timings.
    small = NodeStatement(spec_for("logistic", data["breast_cancer"], 1, 0))
    prove(setup(small.r1cs, backend="cpu"), small.r1cs, small.witness(
        0, 0, np.zeros(small.spec.n_params, dtype=np.int64), data["breast_cancer"].X_train[:1],
        data["breast_cancer"].y_train[:1])[1].witness, backend="cpu")
    rows = []
    for model in args.models.split(","):
        for batch in (int(b) for b in args.batches.split(",")):
            for mode in modes:
                rows.append(measure(model, data[DATASET[model]], batch, args.hidden, mode=mode))
                print(f"  [{model} batch {batch} {mode} done]", flush=True)
    if args.binding_depth:
        for batch in (int(b) for b in args.batches.split(",")):
            for mode in modes:
                rows.append(measure("ovr", data["digits"], batch, args.hidden,
                                    depth=args.binding_depth, mode=mode))
                print(f"  [ovr + binding batch {batch} {mode} done]", flush=True)
    print(table(["statement", "batch", "u's range and norm", "constraints", "domain", "public signals", "truncation",
                 "range checks", "all roles", "build circuit", "setup", "update + witness",
                 "prove", "verify"], rows))
    print(f"\nMLP hidden units: {args.hidden}; fixed point: 16 fractional bits, 32 bits in all; "
          f"learning rate 0.5.")


if __name__ == "__main__":
    main()
