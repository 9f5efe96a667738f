"""What private updates cost: two-aggregator mode against public mode, same config, same run.

For each node count, one round of digits one-vs-rest (batch 8, the nodes1000 setting) in each
mode, in one process through the round protocol (`run_rounds` over `InProcess`, which carries
every message as the bytes a transport would).  Reported per mode: the statement's
constraints, proof time per node (witness + proof, and in private mode the commitment D, the
shares and A), bytes a node sends (to the root; in private mode to the leader and the helper
together), the aggregators' time for the round (proof verification, and in private mode the
share-opening checks of both aggregators and their sums), the verifying and proving key sizes,
and the node's proving-key check (private mode, once per run).  A round's cost is its CPU
work, proofs of every node plus the aggregators' time (what a machine's cores share, however
many ranks run on them); the last columns give it and its ratio to public mode.

Usage: python benchmarks/bench_private.py [--nodes 10,100,1000]
"""
import argparse
import tempfile
import time
from pathlib import Path

from _common import fmt_time, machine, table

from hpc_zkfl.config import parse_config
from hpc_zkfl.fl.federation import build_federation
from hpc_zkfl.fl.protocol import InProcess, RoundLog, RoundPlan, run_rounds
from hpc_zkfl.groth16.formats import pk_to_bytes, vk_to_bytes
from hpc_zkfl.groth16.key_check import check_proving_key

TEMPLATE = """
[run]
seed = 0
rounds = 1
[data]
dataset = "digits"
[nodes]
count = {nodes}
[model]
kind = "ovr"
batch_size = 8
learning_rate = 0.5
norm_bound = 4.0
[privacy]
mode = "{mode}"
"""
MODES = ("public", "two_aggregators")


def one_round(nodes: int, mode: str, keys: dict, folder: Path) -> dict:
    cfg = parse_config(TEMPLATE.format(nodes=nodes, mode=mode))
    fed = build_federation(cfg)
    if mode not in keys:
        keys[mode] = fed.with_proving_key(folder / f"{mode}.pk", reuse=False)[0].proving_key
    fed = fed.with_key(keys[mode])
    sent = {0: 0, 1: 0}

    def tap(role, data):
        sent[role] += len(data)

    t0 = time.perf_counter()
    transport = InProcess(fed, tap=tap)         # private mode: the nodes' key check
    setup_s = time.perf_counter() - t0
    log = RoundLog()
    run_rounds(RoundPlan.of(cfg, 1), fed, transport, log, fed.initial_model(), None)
    rec = log.records[0]
    # Honest nodes only: a node whose own update exceeds the norm bound has no proof (NO_PROOF)
    # and sits out, in both modes alike; nothing else may be rejected.
    from hpc_zkfl.fl.verdicts import RejectReason
    assert set(rec.reject_reason.tolist()) <= {RejectReason.ACCEPTED, RejectReason.NO_PROOF}
    times = rec.times
    return {"constraints": fed.statement.n_constraints,
            "prove": (times["local"] + times["prove"]) / nodes,
            "bytes": (sent[0] + sent[1]) / nodes,
            "aggregators": times["verify"] + times["aggregate"],
            "vk": len(vk_to_bytes(keys[mode].vk)), "pk": len(pk_to_bytes(keys[mode])),
            "key_check": setup_s if mode != "public" else 0.0, "w": rec.w,
            "accepted": int(rec.accepted.sum())}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", default="10,100,1000")
    args = ap.parse_args()
    print(f"Machine: {machine()}\n")
    rows, keys = [], {}
    with tempfile.TemporaryDirectory() as tmp:
        for nodes in (int(n) for n in args.nodes.split(",")):
            got = {mode: one_round(nodes, mode, keys, Path(tmp)) for mode in MODES}
            same = (got["public"]["w"] == got["two_aggregators"]["w"]).all()
            work = {m: got[m]["prove"] * nodes + got[m]["aggregators"] for m in MODES}
            for mode in MODES:
                g = got[mode]
                rows.append([str(nodes), mode, f"{g['constraints']:,}", fmt_time(g["prove"]),
                             f"{g['bytes']:,.0f}", fmt_time(g["aggregators"]),
                             fmt_time(work[mode]),
                             f"{work[mode] / work['public']:.2f}x",
                             f"{g['vk']:,}", f"{g['pk'] / 2**20:.1f}",
                             fmt_time(g["key_check"]) if g["key_check"] else "-"])
            print(f"  [{nodes} nodes done; accepted {got['public']['accepted']} public, "
                  f"{got['two_aggregators']['accepted']} private; same model in both modes: "
                  f"{bool(same)}]", flush=True)
    print(table(["nodes", "mode", "constraints", "prove / node", "bytes sent / node",
                 "aggregators / round", "round's CPU work", "vs public", "vk bytes", "pk MiB", "key check"], rows))


if __name__ == "__main__":
    main()
