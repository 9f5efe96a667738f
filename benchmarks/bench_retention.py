"""Accuracy retention under attack: proofs on against plain FedAvg, median, trimmed mean and
Krum, for every attack kind at 10%, 30% and 50% malicious nodes, on IID and Dirichlet(0.5)
partitions of digits, over one or more seeds.

Retention = final accuracy under attack / final accuracy of clean FedAvg (no attack, no
proofs) on the same partition and seed (hpc_zkfl.io.retention, which `hpc-zkfl report` uses on
the same files); with several seeds a cell is the mean over seeds with the range.  Every run is
a real `hpc-zkfl run` of a generated configuration, written to OUT/seed<N>/<run>.h5; a complete
file is kept and an interrupted one resumed from its last round, so a sweep can be stopped and
restarted at any point, and `--table-only` rebuilds the table from the files alone.  `--jobs N`
runs N runs at once as separate processes (threads split between them).  The default
federation: 50 nodes, 10 drawn each round (FedAvg's C = 0.2), 60 rounds of one batch of 8 per
participant, the server's step halving every 15 rounds (with a constant step the final accuracy
moves by a few points from round to round with the draw of participants, more than the effect
being measured).

`--honest-only` adds, per seed and partition, two references without proving anything: the
federation a perfect filter leaves (every malicious participant's update dropped, every
honest one kept; a proven run that rejected exactly the poisoned updates must match it to the
last digit, which is checked against every such file present) and the centralised ceiling
(one-vs-rest logistic regression trained to convergence on the honest nodes' data against on
all of it), which shows how much accuracy the attackers' data alone is worth.

Usage: python benchmarks/bench_retention.py [--out results/retention] [--seeds 0[,1,..|0-9]]
           [--jobs 1] [--rounds 60] [--server-lr-half-life 15] [--nodes 50] [--per-round 10]
           [--fractions 0.1,0.3,0.5] [--attacks ...] [--partitions iid,dirichlet0.5]
           [--plots DIR] [--table-only] [--honest-only]
"""
import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from _common import machine, seed_list, table

from hpc_zkfl.config import parse_config
from hpc_zkfl.fl.attacks import DATA_POISONING, MODEL_POISONING
from hpc_zkfl.io.results import ResultsFileError, load_results
from hpc_zkfl.io.retention import clean_summary
from hpc_zkfl.io.retention import final_accuracy as completed_accuracy
from hpc_zkfl.io.retention import (retention_rows, retention_table, seed_statistics,
                                   write_retention_plots)

DEFENSES = {           # name -> [aggregation] table
    "proofs": 'strategy = "fedavg"\nproofs = true',
    "fedavg": 'strategy = "fedavg"\nproofs = false',
    "median": 'strategy = "median"\nproofs = false',
    "trimmed_mean": 'strategy = "trimmed_mean"\nproofs = false\ntrim_fraction = {trim}',
    "krum": 'strategy = "krum"\nproofs = false\nkrum_malicious = {f}',
}
PARTITIONS = {"iid": 'partition = "iid"', "dirichlet0.5": 'partition = "dirichlet"\ndirichlet_alpha = 0.5'}
TEMPLATE = """[run]
name = "{name}"
seed = {seed}
rounds = {rounds}

[data]
dataset = "digits"
{partition}

[nodes]
count = {nodes}
per_round = {per_round}

[model]
kind = "ovr"
batch_size = 8
learning_rate = 1.0
norm_bound = 8.0

[aggregation]
{aggregation}
server_lr_half_life = {half_life}

[attack]
kind = "{attack}"
fraction = {fraction}
"""


def config_text(args, seed, part, defense, attack, fraction) -> str:
    k = args.per_round or args.nodes        # updates the aggregator sees per round
    f = int(round(fraction * k))            # Krum's f: the expected malicious participants
    aggregation = DEFENSES[defense].format(trim=min(0.45, max(0.1, fraction)),
                                           f=min(f, (k - 3) // 2))
    name = f"{part}-clean" if attack == "none" else \
        f"{part}-{defense}-{attack}-{int(fraction * 100)}"
    return name, TEMPLATE.format(name=name, seed=seed, rounds=args.rounds,
                                 partition=PARTITIONS[part], nodes=args.nodes,
                                 per_round=args.per_round, aggregation=aggregation,
                                 half_life=float(args.server_lr_half_life), attack=attack,
                                 fraction=fraction)


def grid(args, seed):
    """(name, config text) of every run of one seed: the clean baselines first, then the
    unproven defenses (cheap), then the proven runs."""
    out = [config_text(args, seed, part, "fedavg", "none", 0.0) for part in args.partitions]
    for defense in ("fedavg", "median", "trimmed_mean", "krum", "proofs"):
        if defense not in args.defenses:
            continue
        for part in args.partitions:
            for fraction in args.fractions:
                for attack in args.attacks:
                    out.append(config_text(args, seed, part, defense, attack, fraction))
    return out


def runs(args):
    """(results path, config text) of every run, seed by seed."""
    return [(args.out / f"seed{seed}" / f"{name}.h5", text)
            for seed in args.seeds for name, text in grid(args, seed)]


def final_accuracy(path: Path):
    """The final accuracy of the complete run at `path`; None if missing or incomplete."""
    try:
        return completed_accuracy(load_results(path))
    except (ResultsFileError, OSError):
        return None


def _resumable(path: Path) -> bool:
    """An interrupted run that can continue: a readable results file and, for a proven run,
    the proving key stored beside it."""
    try:
        res = load_results(path)
    except (ResultsFileError, OSError):
        return False
    return not res.config["aggregation"]["proofs"] or path.with_suffix(".pk").exists()


def _command(path: Path, resume: bool) -> list:
    cmd = [sys.executable, "-m", "hpc_zkfl.cli", "run", str(path.with_suffix(".toml")),
           "--output", str(path)]
    return cmd + ["--resume"] if resume else cmd


def run_all(args):
    todo = [(p, text) for p, text in runs(args) if final_accuracy(p) is None]
    print(f"{len(todo)} runs to do in {args.out} ({args.jobs} at a time)", flush=True)
    threads = max(1, (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                      else os.cpu_count()) // args.jobs)
    env = dict(os.environ, NUMBA_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads))
    running = []                                    # (process, path, start time, log file)
    done = 0

    def finish(returncode, path, t0):
        nonlocal done
        done += 1
        acc = final_accuracy(path)
        if returncode != 0 or acc is None:
            raise SystemExit(f"{path} failed (exit {returncode}); see {path.with_suffix('.log')}")
        path.with_suffix(".pk").unlink(missing_ok=True)
        print(f"  [{done}/{len(todo)}] {path.parent.name}/{path.stem}: {acc:.3f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)

    def end(proc, path, t0, log):
        log.close()
        finish(proc.returncode, path, t0)

    for path, text in todo:
        path.parent.mkdir(parents=True, exist_ok=True)
        resume = path.exists() and _resumable(path)
        if not resume:
            for stale in (path, path.with_suffix(".pk")):
                stale.unlink(missing_ok=True)        # unreadable: start over
        path.with_suffix(".toml").write_text(text)
        if args.jobs == 1:                          # in this process: imports and JIT stay warm
            from hpc_zkfl.fl.protocol import run_in_process
            t0 = time.perf_counter()
            code = run_in_process(parse_config(text, str(path.with_suffix(".toml"))), path,
                                  resume=resume)
            finish(code, path, t0)
            continue
        while len(running) >= args.jobs:
            for item in running:
                if item[0].poll() is not None:
                    running.remove(item)
                    end(*item)
                    break
            else:
                time.sleep(0.5)
        log = open(path.with_suffix(".log"), "a")
        running.append((subprocess.Popen(_command(path, resume), stdout=log,
                                         stderr=subprocess.STDOUT, env=env),
                        path, time.perf_counter(), log))
    for item in running:
        item[0].wait()
        end(*item)


def retention_summary(args):
    results = []
    for path, _ in runs(args):
        try:
            results.append(load_results(path))
        except (ResultsFileError, OSError):
            pass                                # not run yet
    rows = retention_rows(results)
    order = MODEL_POISONING + DATA_POISONING
    headers, lines = retention_table(rows, order)
    print(table(headers, lines))
    print(f"\nClean FedAvg accuracy: {clean_summary(rows)}")
    stats = seed_statistics(rows)
    at30 = {cell: v for cell, v in stats.items() if cell[3] == "proofs"
            and abs(cell[2] - 0.3) < 1e-9 and cell[1] in MODEL_POISONING}
    if at30:
        cell, (mean, low, _, n) = min(at30.items(), key=lambda kv: kv[1][0])
        print(f"Proofs on, model poisoning at 30%: lowest retention {100 * mean:.1f}% "
              f"({cell[0]}, {cell[1]}" + (f"; mean of {n} seeds, lowest seed {100 * low:.1f}%"
                                           if n > 1 else "") + "); target >= 99%")
    flips = sorted((cell, v) for cell, v in stats.items()
                   if cell[3] == "proofs" and cell[1] in DATA_POISONING)
    if flips:
        print("Data poisoning (" + ", ".join(DATA_POISONING) + ") is proven like honest "
              "training, so proofs cannot reject it: retention with proofs " +
              ", ".join(f"{c[0]} {100 * c[2]:g}% {100 * v[0]:.1f}%" for c, v in flips))
    if args.plots:
        for p in write_retention_plots(rows, args.plots, order):
            print(f"plot: {p}")
    return results


def honest_only_accuracy(cfg) -> float:
    """Final accuracy of the federation a perfect filter leaves: cfg's run, unproven, in which
    only the honest nodes answer (the malicious participants' updates never arrive).  Proofs
    only decide which updates are aggregated, so a proven run that rejected exactly the
    malicious updates is this federation.  The same round protocol as every run."""
    from hpc_zkfl.config import with_overrides
    from hpc_zkfl.fl.federation import build_federation
    from hpc_zkfl.fl.node import FederatedNode
    from hpc_zkfl.fl.protocol import InProcess, RoundLog, RoundPlan, run_rounds

    unproven = with_overrides(cfg, {"aggregation.proofs": False})
    fed = build_federation(unproven, with_statement=False)
    honest = [FederatedNode(i, fed) for i in range(fed.n_nodes) if not fed.malicious[i]]
    rounds = RoundLog()
    run_rounds(RoundPlan.of(unproven, 1), fed, InProcess(fed, honest), rounds,
               fed.initial_model(), None)
    return rounds.records[-1].accuracy if rounds.records else float("nan")


def centralised_retention(fed) -> float:
    """Accuracy of one-vs-rest logistic regression (L2, C = 1, trained to convergence) on the
    honest nodes' training data / on all of it, same test split: what the attackers' data
    alone is worth to the best centrally trained model of this family."""
    import warnings

    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    data = fed.dataset
    X, X_test = data.X_train_float, data.X_test_float

    def accuracy(rows):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = OneVsRestClassifier(LogisticRegression(C=1.0, max_iter=5000))
            return model.fit(X[rows], data.y_train[rows]).score(X_test, data.y_test)
    honest = np.concatenate([p for p, bad in zip(fed.partition, fed.malicious) if not bad])
    return accuracy(honest) / accuracy(np.arange(data.n_train))


def honest_only_summary(args, results):
    """Per seed, partition and fraction: clean FedAvg, the proven runs' final accuracies, the
    honest-only federation (checked equal to every proven run that rejected exactly the
    poisoned updates) and the centralised ceiling."""
    from hpc_zkfl.io.report import rejected_updates
    from hpc_zkfl.io.results import RejectReason
    from hpc_zkfl.fl.federation import build_federation
    by_path = {str(r.path): r for r in results}
    lines, mismatches, retained = [], [], {}
    for seed in args.seeds:
        for part in args.partitions:
            for fraction in args.fractions:
                tag = f"{int(fraction * 100)}"
                folder = args.out / f"seed{seed}"
                clean_res = by_path.get(str(folder / f"{part}-clean.h5"))
                clean = clean_res and completed_accuracy(clean_res)
                _, text = config_text(args, seed, part, "proofs", args.attacks[0], fraction)
                cfg = parse_config(text, "honest-only.toml")
                fed = build_federation(cfg, with_statement=False)
                honest = honest_only_accuracy(cfg)
                proven, exact = [], []
                for attack in args.attacks:
                    res = by_path.get(str(folder / f"{part}-proofs-{attack}-{tag}.h5"))
                    acc = res and completed_accuracy(res)
                    if acc is None or attack not in MODEL_POISONING:
                        continue
                    rejected = rejected_updates(res)
                    asked = res.nodes["reject_reason"] != RejectReason.IDLE
                    poisoned = asked & np.broadcast_to(res.malicious, asked.shape)
                    if np.array_equal(rejected, poisoned) and not res.nodes["late"].any():
                        proven.append(attack)
                        if acc != honest:
                            mismatches.append(f"seed {seed} {part} {attack} {tag}%: proven "
                                              f"{acc:.4f}, honest-only {honest:.4f}")
                        exact.append(acc == honest)
                ceiling = centralised_retention(fed)
                if clean:
                    retained.setdefault((part, fraction), []).append(honest / clean)
                lines.append([str(seed), part, f"{tag}%", "-" if clean is None else f"{clean:.3f}",
                              f"{honest:.3f}",
                              "-" if clean is None else f"{100 * honest / clean:.1f}%",
                              f"{100 * ceiling:.1f}%",
                              f"{sum(exact)}/{len(proven)}" if proven else "-"])
    print("\nHonest-only federation (every poisoned update dropped, no proving) and the "
          "centralised ceiling:")
    print(table(["seed", "setting", "malicious", "clean FedAvg", "honest-only",
                 "honest-only retention", "centralised retention",
                 "proven runs equal (exactly the poisoned rejected)"], lines))
    for (part, fraction), values in sorted(retained.items()):
        v = 100 * np.array(values)
        print(f"{part} {100 * fraction:g}%: honest-only retention mean {v.mean():.1f}% over "
              f"{v.size} seeds (range {v.min():.1f}-{v.max():.1f}%, "
              f"{int((v < 99).sum())} below 99%)")
    for m in mismatches:
        print(f"MISMATCH {m}")
    if mismatches:
        raise SystemExit("a proven run differs from the honest-only federation")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/retention"))
    ap.add_argument("--seeds", type=seed_list, default=[0], help="e.g. 0 or 0,3 or 0-9")
    ap.add_argument("--jobs", type=int, default=1, help="runs at once (separate processes)")
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--server-lr-half-life", type=float, default=15.0,
                    help="rounds over which the server's step halves (0: constant)")
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--per-round", type=int, default=10, help="participants per round (0: all)")
    ap.add_argument("--plots", type=Path, help="also write the retention plots into this folder")
    ap.add_argument("--fractions", default="0.1,0.3,0.5")
    ap.add_argument("--attacks", default=",".join(MODEL_POISONING + DATA_POISONING))
    ap.add_argument("--partitions", default=",".join(PARTITIONS))
    ap.add_argument("--defenses", default=",".join(DEFENSES),
                    help="which columns to run (the clean baselines always run)")
    ap.add_argument("--table-only", action="store_true")
    ap.add_argument("--honest-only", action="store_true",
                    help="also the honest-only federation and the centralised ceiling per seed")
    args = ap.parse_args()
    args.fractions = [float(f) for f in args.fractions.split(",")]
    args.attacks = args.attacks.split(",")
    args.partitions = args.partitions.split(",")
    args.defenses = args.defenses.split(",")
    for what, known in (("partitions", PARTITIONS), ("defenses", DEFENSES)):
        unknown = set(getattr(args, what)) - set(known)
        if unknown:
            ap.error(f"unknown {what} {sorted(unknown)} (known: {', '.join(known)})")
    if args.jobs < 1:
        ap.error("--jobs must be >= 1")
    print(f"Machine: {machine()}\n")
    if not args.table_only:
        run_all(args)
    results = retention_summary(args)
    if args.honest_only:
        honest_only_summary(args, results)


if __name__ == "__main__":
    main()
