"""What a node's proof costs, lever by lever, against an older tree in the same run.

For digits one-vs-rest and breast_cancer logistic regression (batch 8, learning rate 0.5, the
1,000-node settings), on one real batch:

* constraints, domain and the public statement's parts (`NodeStatement.breakdown`);
* witness and proof times, best of `--repeat` with warm kernels: the statement as it is now
  proved plainly (lever 1, fewer constraints, with the MSM's short signed scalars), and with
  the fixed-base table of the key's H query (lever 2, `prover.build_h_table`), whose size and
  build time are listed;
* with `--baseline DIR` (a checkout of an older commit), the same statement proved by that
  tree's code in a child process, right before ours: the ratios are the point;
* lever 3, many nodes per pass: `--nodes N` digits nodes of one federation stepped one after
  another (every numba thread inside each proof) and then `fl.node.step_nodes` (one proof
  per thread, several at once), per node, same run.

Usage: python benchmarks/bench_proving_cost.py [--baseline /path/to/old/checkout]
                                               [--repeat 5] [--nodes 16]
"""
import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

from _common import fmt_time, machine, table

STATEMENTS = (("ovr", "digits"), ("logistic", "breast_cancer"))
BATCH, LEARNING_RATE, NORM_BOUND = 8, 0.5, 4.0

# Run in the baseline's own tree: its statement (with every check it had in the circuit)
# and its prover, on the same batch.
_CHILD = """
import json, sys, time
import numpy as np
from hpc_zkfl.fl.data import load_dataset, sample_batch
from hpc_zkfl.groth16 import prove, setup
from hpc_zkfl.groth16.r1cs_to_qap import domain_size
from hpc_zkfl.models import FeatureRange, NodeStatement, StatementSpec
model, name, batch, lr, bound, repeat = sys.argv[1:7]
data = load_dataset(name, 0)
fs = data.feature_spec
spec = StatementSpec(model=model, n_features=data.n_features, n_classes=data.n_classes,
                     batch_size=int(batch), features=FeatureRange(fs.frac_bits, fs.lo, fs.hi),
                     learning_rate=float(lr), norm_bound=float(bound))
st = NodeStatement(spec)
pk = setup(st.r1cs, backend="cpu")
w = spec.fixed_point.encode(np.random.default_rng(0).uniform(-0.1, 0.1, spec.n_params))
idx = sample_batch(np.arange(len(data.y_train)), int(batch), 0, 0, 0)
X, y = data.X_train[idx], data.y_train[idx]
u, wit = st.witness(3, 1, w, X, y)
prove(pk, st.r1cs, wit.witness, backend="cpu")
best_w = best_p = float("inf")
for _ in range(int(repeat)):
    t0 = time.perf_counter(); st.witness(3, 1, w, X, y); t1 = time.perf_counter()
    prove(pk, st.r1cs, wit.witness, backend="cpu"); t2 = time.perf_counter()
    best_w, best_p = min(best_w, t1 - t0), min(best_p, t2 - t1)
print(json.dumps({"constraints": st.n_constraints,
                  "domain": domain_size(st.r1cs).bit_length() - 1,
                  "witness": best_w, "prove": best_p}))
"""


def spec_for(model, data):
    from hpc_zkfl.models import FeatureRange, StatementSpec
    fs = data.feature_spec
    return StatementSpec(model=model, n_features=data.n_features, n_classes=data.n_classes,
                         batch_size=BATCH, features=FeatureRange(fs.frac_bits, fs.lo, fs.hi),
                         learning_rate=LEARNING_RATE, norm_bound=NORM_BOUND,
                         verifier_checks_update=True)


def baseline(tree, model, name, repeat):
    env = dict(os.environ, PYTHONPATH=tree)
    out = subprocess.run([sys.executable, "-c", _CHILD, model, name, str(BATCH),
                          str(LEARNING_RATE), str(NORM_BOUND), str(repeat)], cwd=tree, env=env,
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def ours(model, name, repeat):
    from hpc_zkfl.fl.data import load_dataset, sample_batch
    from hpc_zkfl.groth16 import prove, setup, verify
    from hpc_zkfl.groth16.prover import build_h_table
    from hpc_zkfl.groth16.r1cs_to_qap import domain_size
    from hpc_zkfl.models import NodeStatement
    data = load_dataset(name, 0)
    spec = spec_for(model, data)
    st = NodeStatement(spec)
    pk = setup(st.r1cs, backend="cpu")
    table_ = build_h_table(pk, 256 << 20)
    w = spec.fixed_point.encode(np.random.default_rng(0).uniform(-0.1, 0.1, spec.n_params))
    idx = sample_batch(np.arange(len(data.y_train)), BATCH, 0, 0, 0)
    X, y = data.X_train[idx], data.y_train[idx]
    u, wit = st.witness(3, 1, w, X, y)
    signals = st.public_signals(3, 1, w, u, low=st.update_low(wit))
    for h in (None, table_):                            # warm, and check both
        assert verify(pk.vk, signals, prove(pk, st.r1cs, wit.witness, backend="cpu", h_table=h),
                      backend="cpu")
    best = {"witness": float("inf"), "prove": float("inf"), "table": float("inf")}
    for _ in range(repeat):
        t0 = time.perf_counter()
        st.witness(3, 1, w, X, y)
        t1 = time.perf_counter()
        prove(pk, st.r1cs, wit.witness, backend="cpu")
        t2 = time.perf_counter()
        prove(pk, st.r1cs, wit.witness, backend="cpu", h_table=table_)
        t3 = time.perf_counter()
        for k, v in (("witness", t1 - t0), ("prove", t2 - t1), ("table", t3 - t2)):
            best[k] = min(best[k], v)
    return dict(best, constraints=st.n_constraints, domain=domain_size(st.r1cs).bit_length() - 1,
                breakdown=st.breakdown, table_mib=table_.nbytes / 2**20,
                table_build=table_.build_seconds, window=table_.window)


def many_nodes(n_nodes):
    """Seconds a node: n_nodes digits nodes stepped in turn, then k at a time."""
    import numba

    from hpc_zkfl.config import parse_config
    from hpc_zkfl.fl.federation import build_federation
    from hpc_zkfl.fl.node import FederatedNode, concurrent_provers, step_nodes
    from hpc_zkfl.groth16 import setup
    cfg = parse_config(f"[data]\ndataset = \"digits\"\n[nodes]\ncount = {n_nodes}\n[model]\n"
                       f"kind = \"ovr\"\nbatch_size = {BATCH}\nlearning_rate = {LEARNING_RATE}\n"
                       f"norm_bound = {NORM_BOUND}\n")
    fed = build_federation(cfg)
    fed = fed.with_key(setup(fed.statement.r1cs, backend="cpu"))
    nodes = [FederatedNode(i, fed) for i in range(n_nodes)]
    w = np.zeros(fed.spec.n_params, dtype=np.int64)
    nodes[0].step(1, w)                                  # warm: kernels, the H table
    t0 = time.perf_counter()
    for node in nodes:
        node.step(1, w)
    serial = (time.perf_counter() - t0) / n_nodes
    t0 = time.perf_counter()
    got = list(step_nodes(nodes, 1, w))
    concurrent = (time.perf_counter() - t0) / n_nodes
    assert len(got) == n_nodes and not any(isinstance(m, Exception) for _, m in got)
    return serial, concurrent, numba.get_num_threads(), concurrent_provers()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="root of a checkout of an older commit")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--nodes", type=int, default=16)
    args = ap.parse_args()
    print(f"Machine: {machine()}\n")
    rows, parts = [], []
    for model, name in STATEMENTS:
        old = baseline(args.baseline, model, name, args.repeat) if args.baseline else None
        new = ours(model, name, args.repeat)
        label = f"{model} ({name}), batch {BATCH}"
        if old:
            rows.append([label, "baseline", f"{old['constraints']:,}", f"2^{old['domain']}",
                         fmt_time(old["witness"]), fmt_time(old["prove"]), "1.00x"])
        ref = old["prove"] if old else new["prove"]
        rows.append([label, "now, plain prover", f"{new['constraints']:,}", f"2^{new['domain']}",
                     fmt_time(new["witness"]), fmt_time(new["prove"]),
                     f"{ref / new['prove']:.2f}x"])
        rows.append([label, f"now, H table (c = {new['window']}, {new['table_mib']:.0f} MiB, "
                            f"built in {fmt_time(new['table_build'])})",
                     f"{new['constraints']:,}", f"2^{new['domain']}", fmt_time(new["witness"]),
                     fmt_time(new["table"]), f"{ref / new['table']:.2f}x"])
        parts.append([label] + [f"{k} {v:,}" for k, v in new["breakdown"].items()])
    print(table(["statement", "tree", "constraints", "domain", "witness", "prove",
                 "baseline / this"], rows))
    print()
    print(table(["statement", "where the constraints go"], [[p[0], "; ".join(p[1:])]
                                                             for p in parts]))
    print()
    serial, concurrent, threads, k = many_nodes(args.nodes)
    print(table(["nodes", "numba threads", "one after another (all threads in each proof)",
                 f"{k} at a time (one thread each)", "ratio"],
                [[str(args.nodes), str(threads), f"{fmt_time(serial)} a node",
                  f"{fmt_time(concurrent)} a node", f"{serial / concurrent:.2f}x"]]))


if __name__ == "__main__":
    main()
