"""Boosted trees: what a node's proof of one level costs, and what a level and a tree cost a
federation of 10, 100 and 1,000 nodes on breast_cancer.

Per federation (10 and 100 nodes: IID parts of the 456 training samples; 1,000 nodes:
`shared` parts of 8, since there are fewer samples than nodes): the statement of its largest
node (every committed sample is in every proof, so the slots N are the largest part), its
constraints and where they go, the Groth16 domain, setup, then for a few nodes (real data,
real trees of a first tree grown by the federation) the witness and the proof of each level,
and the root's batch verification of one level's proofs.  A level costs every node one
proof; a tree costs D levels.  The per-level figures for all nodes are the measured mean per
proof times the node count (every node proves the same circuit), the root's verification is
measured on a batch of real proofs (repeated to the node count where fewer were made).

Usage: python benchmarks/bench_gbdt_cost.py [--nodes 10,100,1000] [--trees-depth 3]
                                            [--bins 16] [--sample 3]
"""
import argparse

import numpy as np
from _common import fmt_time, machine, table, timed

from hpc_zkfl.config import parse_config
from hpc_zkfl.fl.federation import build_federation
from hpc_zkfl.groth16 import batch_verify, prove, setup
from hpc_zkfl.groth16.r1cs_to_qap import domain_size
from hpc_zkfl.models.gbdt import Tree, train_reference

CONFIG = """
[run]
rounds = {rounds}
[data]
dataset = "breast_cancer"
partition = "{partition}"
samples_per_node = 8
[nodes]
count = {nodes}
[model]
kind = "gbdt"
n_trees = 1
max_depth = {depth}
n_bins = {bins}
learning_rate = 0.3
"""


def federation(nodes: int, depth: int, bins: int):
    partition = "iid" if nodes <= 456 else "shared"
    cfg = parse_config(CONFIG.format(rounds=depth, partition=partition, nodes=nodes,
                                     depth=depth, bins=bins))
    return build_federation(cfg)


def measure(nodes: int, depth: int, bins: int, sample: int) -> dict:
    fed, t_build = timed(lambda: federation(nodes, depth, bins))
    st = fed.statement
    pk, t_setup = timed(lambda: setup(st.r1cs, backend="cpu"))
    # The first tree the federation grows (honest nodes): the levels' public trees.
    parts = [fed.tree(i) for i in range(fed.n_nodes)]
    tree = train_reference([d.bins for d in parts], [d.labels for d in parts], fed.params,
                           fed.edges).trees[0]
    largest = sorted(range(fed.n_nodes), key=lambda i: -len(fed.partition[i]))[:sample]
    witness_s, prove_s, items = [], [], []
    for d in range(depth):
        partial = Tree.empty(fed.params)
        k = (1 << d) - 1                                # the splits above depth d
        partial.feature[:k], partial.threshold[:k] = tree.feature[:k], tree.threshold[:k]
        for i in largest:
            data = fed.tree(i)
            margins = np.zeros(len(data.labels), np.int64)
            (outputs, wit), tw = timed(lambda: st.witness(i, d + 1, data, margins,
                                                         Tree.empty(fed.params), partial))
            proof, tp = timed(lambda: prove(pk, st.r1cs, wit.witness, backend="cpu"))
            witness_s.append(tw)
            prove_s.append(tp)
            items.append((st.public_signals(outputs, i, d + 1, data.root,
                                            int(wit.public_signals[st.n_outputs + 3]),
                                            Tree.empty(fed.params), partial), proof))
    batch = (items * (-(-fed.n_nodes // len(items))))[:fed.n_nodes]
    ok, t_verify = timed(lambda: batch_verify(pk.vk, batch, backend="cpu"))
    assert all(ok), "an honest proof failed verification"
    per_proof = float(np.mean(witness_s)) + float(np.mean(prove_s))
    return dict(nodes=fed.n_nodes, slots=st.spec.capacity, constraints=st.n_constraints,
                breakdown=st.breakdown, public=st.r1cs.n_public,
                domain=domain_size(st.r1cs), build=t_build, setup=t_setup,
                witness=float(np.mean(witness_s)), prove=float(np.mean(prove_s)),
                level_cpu=per_proof * fed.n_nodes, tree_cpu=per_proof * fed.n_nodes * depth,
                verify_level=t_verify, verify_tree=t_verify * depth)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", default="10,100,1000")
    ap.add_argument("--depth", type=int, default=3)
    ap.add_argument("--bins", type=int, default=16)
    ap.add_argument("--sample", type=int, default=3, help="nodes proven per level")
    args = ap.parse_args()
    print(machine())
    print(f"breast_cancer, depth {args.depth}, {args.bins} bins; in-process, warm kernels, "
          "one proof at a time on numba's threads; the batch verification repeats the "
          "measured proofs to the node count\n")
    rows, parts = [], []
    for n in (int(x) for x in args.nodes.split(",")):
        r = measure(n, args.depth, args.bins, args.sample)
        rows.append([f"{r['nodes']:,}", r["slots"], f"{r['constraints']:,}", r["public"],
                     f"2^{r['domain'].bit_length() - 1}", fmt_time(r["setup"]),
                     fmt_time(r["witness"]), fmt_time(r["prove"]),
                     fmt_time(r["level_cpu"]), fmt_time(r["verify_level"]),
                     fmt_time(r["tree_cpu"] + r["verify_tree"])])
        parts.append([f"{r['nodes']:,}"] + [f"{v:,} ({100 * v / r['constraints']:.0f}%)"
                                            for v in r["breakdown"].values()])
        keys = list(r["breakdown"])
        print(f"  measured {n} nodes", flush=True)
    print(table(["nodes", "slots N", "constraints", "public", "domain", "setup",
                 "witness / node / level", "prove / node / level", "all nodes' proofs / level",
                 "root batch verify / level (proofs repeated)", "CPU per tree (proofs + verify)"], rows))
    print()
    print(table(["nodes"] + keys, parts))


if __name__ == "__main__":
    main()
