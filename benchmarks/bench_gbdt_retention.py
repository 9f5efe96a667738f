"""Boosted trees under attack: accuracy retention of federated boosting (hpc_zkfl.fl.boosting)
with plain sums, the coordinate-wise median and proofs, for every attack on boosted trees at
10%, 30% and 50% malicious nodes, on IID and Dirichlet(0.5) partitions of breast_cancer.

Setting: 10 nodes, every node every round; `[model] kind = "gbdt"` with 10 trees of depth 3
on 16 bins, learning rate 0.3, lambda 1, gamma 0, min_child_weight 1 (a round grows one
level of one tree: 30 rounds).  Defenses (columns):

- fedavg: unproven, the root sums the histograms it gets (`proofs = false`), the attack on;
- median: unproven, n times the coordinate-wise median of the histograms (`strategy =
  "median"`), the attack on;
- proofs: for model poisoning, the honest nodes' federation: `train_reference` on the
  committed data of the nodes that are not malicious, one part each.  This is what a proven
  run computes bit for bit: every model-poisoning node's proof of its first level fails, it
  is OUT_OF_SYNC from then on, no honest node is rejected, and the root sums the honest
  histograms exactly (tests/fl/test_boosting.py checks it for every attack, and
  `--check-proven` re-checks it here on a real proven run).  It does not depend on the
  attack, so the column is the same for every model-poisoning row.  For label_flip (data
  poisoning) the flipped labels are committed before round 1 and proven like honest ones, so
  the proven run is the fedavg run with the attack: the cell repeats fedavg's.

Retention = final test accuracy / the clean run's (no attack, plain sums, same partition and
seed; it equals the centralized run on the union of the nodes' data, which is checked for
every clean run, trees and accuracy; so the clean accuracy is the same for both partitions,
the union being the whole training split either way).  A cell is the mean over seeds with
[min, max].  The unproven runs go through the real round protocol in this process, without
files (`run_rounds` over `InProcess`, records kept in a `RoundLog`); their rejections are
counted (with proofs off the root takes every well-formed update, so none is expected).

`--check-proven` adds one real proven run (seed 0, IID, 30% malicious, `--proven-attack`,
default sign_flip; `run_in_process` into a temporary folder): its final accuracy and trees
must equal the honest nodes' federation, every malicious node must be rejected in every
round and no honest node in any.  It proves 10 nodes x 30 rounds: minutes, not seconds.

Usage: python benchmarks/bench_gbdt_retention.py [--seeds 0-4] [--fractions 0.1,0.3,0.5]
           [--partitions iid,dirichlet0.5] [--attacks scaling,...,label_flip] [--nodes 10]
           [--trees 10] [--check-proven] [--proven-attack sign_flip]
The proven check alone, after a sweep of one cell:
       python benchmarks/bench_gbdt_retention.py --seeds 0 --partitions iid --fractions 0.3
           --attacks sign_flip --check-proven
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import fmt_time, machine, seed_list, table

from hpc_zkfl.config import parse_config
from hpc_zkfl.fl.federation import build_federation, server_step_of
from hpc_zkfl.fl.protocol import InProcess, RoundLog, RoundPlan, run_rounds
from hpc_zkfl.models.gbdt import train_reference
from hpc_zkfl.names import DATA_POISONING, MODEL_POISONING

DEPTH, BINS, LEARNING_RATE, REG_LAMBDA, GAMMA, MIN_CHILD_WEIGHT = 3, 16, 0.3, 1.0, 0.0, 1.0
DEFENSES = ("fedavg", "median", "proofs")
PARTITIONS = {"iid": 'partition = "iid"',
              "dirichlet0.5": 'partition = "dirichlet"\ndirichlet_alpha = 0.5'}
TEMPLATE = """[run]
seed = {seed}
rounds = {rounds}

[data]
dataset = "breast_cancer"
{partition}

[nodes]
count = {nodes}

[model]
kind = "gbdt"
n_trees = {trees}
max_depth = {depth}
n_bins = {bins}
learning_rate = {lr}
lambda = {reg_lambda}
gamma = {gamma}
min_child_weight = {mcw}

[aggregation]
strategy = "{strategy}"
proofs = {proofs}
{attack}"""


def config(args, seed, part, attack="none", fraction=0.0, strategy="fedavg", proofs=False):
    section = "" if attack == "none" else \
        f'\n[attack]\nkind = "{attack}"\nfraction = {fraction}\n'
    return parse_config(TEMPLATE.format(
        seed=seed, rounds=args.trees * DEPTH, partition=PARTITIONS[part], nodes=args.nodes,
        trees=args.trees, depth=DEPTH, bins=BINS, lr=LEARNING_RATE, reg_lambda=REG_LAMBDA,
        gamma=GAMMA, mcw=MIN_CHILD_WEIGHT, strategy=strategy, proofs=str(proofs).lower(),
        attack=section))


def protocol_run(cfg):
    """(final accuracy, federation, final state, rejections) of cfg's unproven run through
    the round protocol in this process; rejections = (malicious, honest) node-rounds."""
    fed = build_federation(cfg, with_statement=False)
    log = RoundLog()
    run_rounds(RoundPlan(1, cfg.run.rounds, server_step_of(cfg), show_progress=False), fed,
               InProcess(fed), log, fed.initial_model(), None)
    rejected = ~np.array([r.accepted for r in log.records])
    return (log.records[-1].accuracy, fed, log.records[-1].w,
            (int(rejected[:, fed.malicious].sum()), int(rejected[:, ~fed.malicious].sum())))


def reference(fed, nodes):
    """train_reference on the given nodes' committed data (labels as committed), a part each."""
    parts = [fed.tree(i) for i in nodes]
    return train_reference([d.bins for d in parts], [d.labels for d in parts], fed.params,
                           fed.edges)


def honest_only(fed):
    """The honest nodes' federation: what a proven run under model poisoning computes."""
    return reference(fed, [i for i in range(fed.n_nodes) if not fed.malicious[i]])


def same_trees(a, b) -> bool:
    return len(a) == len(b) and all(x.same_as(y) for x, y in zip(a, b))


def check_clean(fed, accuracy, w):
    """The clean run's trees and accuracy are the centralized run's on the nodes' union."""
    union = [np.concatenate(v) for v in zip(*[(fed.tree(i).bins, fed.tree(i).labels)
                                                for i in range(fed.n_nodes)])]
    central = train_reference([union[0]], [union[1]], fed.params, fed.edges)
    test = fed.dataset.X_test, fed.dataset.y_test
    if not same_trees(fed.ensemble(w).trees, central.trees) or \
            central.accuracy(*test) != accuracy:
        raise SystemExit(f"seed {fed.seed}: the clean run differs from the centralized run")


def sweep(args):
    """acc[(part, seed, defense, attack, fraction)], clean[(part, seed)], and the unproven
    runs' rejections[(defense, attack)] = [malicious, honest] node-rounds."""
    acc, clean, rejections = {}, {}, {}
    start = time.perf_counter()
    for part in args.partitions:
        for seed in args.seeds:
            a, fed, w, _ = protocol_run(config(args, seed, part))
            check_clean(fed, a, w)
            clean[part, seed] = a
            for fraction in args.fractions:
                for attack in args.attacks:
                    for strategy in ("fedavg", "median"):
                        cfg = config(args, seed, part, attack, fraction, strategy)
                        a, fed, _, rej = protocol_run(cfg)
                        acc[part, seed, strategy, attack, fraction] = a
                        total = rejections.setdefault((strategy, attack), [0, 0])
                        total[0] += rej[0]
                        total[1] += rej[1]
                    test = fed.dataset.X_test, fed.dataset.y_test
                    acc[part, seed, "proofs", attack, fraction] = \
                        acc[part, seed, "fedavg", attack, fraction] \
                        if attack in DATA_POISONING else honest_only(fed).accuracy(*test)
            print(f"  {part} seed {seed} done ({fmt_time(time.perf_counter() - start)})",
                  flush=True)
    return acc, clean, rejections


def cell(values) -> str:
    v = 100 * np.asarray(values)
    return f"{v.mean():.1f}% [{v.min():.1f}, {v.max():.1f}]"


def report(args, acc, clean, rejections):
    """Per partition a table of retention, then the 30% summary and the rejection counts."""
    flagged, at30 = [], {}
    for part in args.partitions:
        header = ["attack"] + [f"{100 * f:g}% {d}" for f in args.fractions for d in DEFENSES]
        rows = []
        for attack in args.attacks:
            row = [attack]
            for fraction in args.fractions:
                for defense in DEFENSES:
                    r = [acc[part, s, defense, attack, fraction] / clean[part, s]
                         for s in args.seeds]
                    text = cell(r)
                    if defense == "proofs" and abs(fraction - 0.3) < 1e-9:
                        if attack in MODEL_POISONING:
                            at30.setdefault(part, []).append(np.mean(r))
                        if np.mean(r) < 0.99:
                            text += " (!)"
                            flagged.append(f"{part} {attack}")
                    row.append(text)
            rows.append(row)
        c = [clean[part, s] for s in args.seeds]
        print(f"\n{part}: retention (final accuracy / clean, mean over seeds [min, max])\n")
        print(table(header, rows))
        print(f"\nClean accuracy ({part}; no attack, plain sums = centralized on the union): "
              f"{cell(c)}")
    if at30:
        low = min(min(v) for v in at30.values())
        print(f"\nAt 30% malicious, proofs retain >= {100 * low:.1f}% for every model-poisoning "
              "attack (" + ", ".join(f"{p} {100 * min(v):.1f}%" for p, v in at30.items())
              + "; the honest nodes' federation, what a proven run computes bit for bit).")
    if flagged:
        print("Proofs retention below 99% at 30% (!): " + ", ".join(flagged)
              + (" (label_flip is data poisoning: proven like honest data)"
                 if any(f.endswith(tuple(DATA_POISONING)) for f in flagged) else ""))
    runs = len(args.seeds) * len(args.partitions) * len(args.fractions)
    mal = sum(v[0] for v in rejections.values())
    hon = sum(v[1] for v in rejections.values())
    print(f"\nRejected node-rounds in the unproven runs ({runs} run(s) per attack and "
          f"defense): malicious {mal}, honest {hon} (with proofs off the root takes every "
          "well-formed update)" + "".join(f"; {d} {a}: {m} malicious, {h} honest"
                                          for (d, a), (m, h) in sorted(rejections.items())
                                          if m or h) + ".  With proofs on every model-"
          "poisoning node is rejected in every round and no honest node in any (the tests; "
          "--check-proven).")


def check_proven(args, attack):
    """One real proven run against the honest nodes' federation (raises on a difference)."""
    from hpc_zkfl.fl.boosting import load_ensemble
    from hpc_zkfl.fl.protocol import run_in_process
    from hpc_zkfl.io.results import load_results

    cfg = config(args, 0, "iid", attack, 0.3, proofs=True)
    fed = build_federation(cfg, with_statement=False)
    want = honest_only(fed)
    want_acc = want.accuracy(fed.dataset.X_test, fed.dataset.y_test)
    print(f"\nProven run: seed 0, iid, 30% {attack}, {args.nodes} nodes, {cfg.run.rounds} "
          "rounds ...", flush=True)
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "proven.h5"
        t0 = time.perf_counter()
        run_in_process(cfg, out)
        seconds = time.perf_counter() - t0
        res, got = load_results(out), load_ensemble(out)
    bad, accepted = res.malicious, res.nodes["accepted"]
    checks = {"final accuracy": res.rounds["accuracy"][-1] == want_acc,
              "trees": same_trees(got.trees, want.trees),
              "every malicious node rejected every round": not accepted[:, bad].any(),
              "no honest node rejected": accepted[:, ~bad].all()}
    print(f"Proven run ({fmt_time(seconds)}): accuracy {res.rounds['accuracy'][-1]:.4f}, "
          f"honest-only federation {want_acc:.4f}; "
          + ", ".join(f"{k}: {'yes' if v else 'NO'}" for k, v in checks.items()))
    if not all(checks.values()):
        raise SystemExit("the proven run differs from the honest nodes' federation")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=seed_list, default=seed_list("0-4"), help="e.g. 0 or 0,3 or 0-4")
    ap.add_argument("--fractions", default="0.1,0.3,0.5")
    ap.add_argument("--partitions", default=",".join(PARTITIONS))
    ap.add_argument("--attacks", default=",".join(MODEL_POISONING + DATA_POISONING))
    ap.add_argument("--nodes", type=int, default=10)
    ap.add_argument("--trees", type=int, default=10)
    ap.add_argument("--check-proven", action="store_true",
                    help="also one real proven run (seed 0, iid, 30%%) against the honest "
                         "nodes' federation")
    ap.add_argument("--proven-attack", default="sign_flip", choices=MODEL_POISONING)
    args = ap.parse_args()
    args.fractions = [float(f) for f in args.fractions.split(",")]
    args.partitions = args.partitions.split(",")
    args.attacks = args.attacks.split(",")
    for what, known in (("partitions", PARTITIONS),
                        ("attacks", MODEL_POISONING + DATA_POISONING)):
        unknown = set(getattr(args, what)) - set(known)
        if unknown:
            ap.error(f"unknown {what} {sorted(unknown)} (known: {', '.join(known)})")
    if args.nodes < 2 or args.trees < 1 or not all(0 < f <= 1 for f in args.fractions):
        ap.error("--nodes must be >= 2, --trees >= 1, fractions in (0, 1]")

    print(f"Machine: {machine()}")
    print(f"breast_cancer, {args.nodes} nodes, gbdt {args.trees} trees of depth {DEPTH}, "
          f"{BINS} bins, learning rate {LEARNING_RATE}, lambda {REG_LAMBDA}, gamma {GAMMA}, "
          f"min_child_weight {MIN_CHILD_WEIGHT} ({args.trees * DEPTH} rounds); seeds "
          f"{','.join(map(str, args.seeds))}; malicious "
          f"{', '.join(f'{100 * f:g}%' for f in args.fractions)}.")
    print("fedavg, median: unproven runs through the round protocol, attack on.  proofs: "
          "model poisoning = train_reference on the honest nodes' committed data, what a "
          "proven run computes bit for bit (the tests check it; --check-proven re-checks it "
          "on a real proven run); label_flip = the fedavg cell (its flipped labels are "
          "committed, proofs accept them).\n", flush=True)
    t0 = time.perf_counter()
    acc, clean, rejections = sweep(args)
    report(args, acc, clean, rejections)
    print(f"\nSweep: {fmt_time(time.perf_counter() - t0)}.")
    if args.check_proven:
        check_proven(args, args.proven_attack)


if __name__ == "__main__":
    main()
