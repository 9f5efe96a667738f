"""Accuracy retention under attack: proofs on against plain FedAvg, median, trimmed mean and
Krum, for every attack kind at 10%, 30% and 50% malicious nodes, on IID and Dirichlet(0.5)
partitions of digits.

Retention = final accuracy under attack / final accuracy of clean FedAvg (no attack, no
proofs) on the same partition and seed (hpc_zkfl.io.retention, which `hpc-zkfl report` uses on
the same files).  Every run is a real `hpc-zkfl run` of a generated configuration (in this
process, as one MPI rank hosting every node), written to its own HDF5 file in --out; a file
that is already complete is kept, so an interrupted sweep resumes where it stopped, and
`--table-only` rebuilds the table from the files alone.  The default federation: 50 nodes, 10
drawn each round (FedAvg's C = 0.2), 60 rounds of one batch of 8 per participant, the server's
step halving every 15 rounds (with a constant step the final accuracy moves by a few points
from round to round with the draw of participants, more than the effect being measured).

Usage: python benchmarks/bench_retention.py [--out results/retention] [--rounds 60]
           [--server-lr-half-life 15] [--nodes 50] [--per-round 10] [--fractions 0.1,0.3,0.5]
           [--attacks ...] [--seed 0] [--plots DIR] [--table-only]
"""
import argparse
import time
from pathlib import Path

from _common import machine, table

from hpc_zkfl.config import parse_config
from hpc_zkfl.fl.attacks import DATA_POISONING, MODEL_POISONING
from hpc_zkfl.io.results import ResultsFileError, load_results
from hpc_zkfl.io.retention import retention_rows, retention_table, write_retention_plots

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


def grid(args):
    """(name, config text) of every run: the clean baselines first, then the unproven
    defenses (cheap), then the proven runs."""
    runs = []
    n = args.nodes
    for part, part_text in PARTITIONS.items():
        runs.append((f"{part}-clean", "clean", part, part_text, "fedavg", "none", 0.0))
    for defense in ("fedavg", "median", "trimmed_mean", "krum", "proofs"):
        for part, part_text in PARTITIONS.items():
            for fraction in args.fractions:
                for attack in args.attacks:
                    runs.append((f"{part}-{defense}-{attack}-{int(fraction * 100)}", defense, part,
                                 part_text, defense, attack, fraction))
    out = []
    k = args.per_round or n                 # updates the aggregator sees per round
    for name, defense, part, part_text, agg, attack, fraction in runs:
        f = int(round(fraction * k))        # Krum's f: the expected malicious participants
        aggregation = DEFENSES[agg].format(trim=min(0.45, max(0.1, fraction)),
                                           f=min(f, (k - 3) // 2))
        text = TEMPLATE.format(name=name, seed=args.seed, rounds=args.rounds, partition=part_text,
                               nodes=n, per_round=args.per_round, aggregation=aggregation,
                               half_life=float(args.server_lr_half_life),
                               attack=attack, fraction=fraction)
        out.append((name, text))
    return out


def final_accuracy(path: Path):
    try:
        res = load_results(path)
    except (ResultsFileError, OSError):
        return None
    if res.n_rounds < res.config["run"]["rounds"]:
        return None
    return float(res.rounds["accuracy"][-1])


def run_all(args):
    from hpc_zkfl.mpi.runtime import run
    args.out.mkdir(parents=True, exist_ok=True)
    todo = [(name, text) for name, text in grid(args)
            if final_accuracy(args.out / f"{name}.h5") is None]
    print(f"{len(todo)} runs to do in {args.out}", flush=True)
    for k, (name, text) in enumerate(todo, 1):
        path = args.out / f"{name}.h5"
        for stale in (path, path.with_suffix(".pk")):
            stale.unlink(missing_ok=True)            # an incomplete file from an interrupted sweep
        (args.out / f"{name}.toml").write_text(text)
        cfg = parse_config(text, f"{name}.toml")
        t0 = time.perf_counter()
        run(cfg, output=path)
        path.with_suffix(".pk").unlink(missing_ok=True)
        print(f"  [{k}/{len(todo)}] {name}: {final_accuracy(path):.3f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)


def retention_summary(args):
    paths = [args.out / f"{name}.h5" for name, _ in grid(args)]
    results = []
    for p in paths:
        try:
            results.append(load_results(p))
        except ResultsFileError:
            pass                                # not run yet
    rows = retention_rows(results)
    order = MODEL_POISONING + DATA_POISONING
    headers, lines = retention_table(rows, order)
    print(table(headers, lines))
    clean = {r.setting: r.clean for r in rows}
    print("\nClean FedAvg accuracy: " + ", ".join(f"{k} {v:.3f}" for k, v in sorted(clean.items())))
    at30 = [r for r in rows if r.defense == "proofs" and abs(r.fraction - 0.3) < 1e-9
            and r.attack in MODEL_POISONING]
    if at30:
        worst = min(at30, key=lambda r: r.retention)
        print(f"Proofs on, model poisoning at 30%: lowest retention {100 * worst.retention:.1f}% "
              f"({worst.setting}, {worst.attack}); target >= 99%")
        proofs = [r for r in rows if r.defense == "proofs"]
        flips = [r for r in proofs if r.attack in DATA_POISONING]
        if flips:
            print("Data poisoning (" + ", ".join(DATA_POISONING) + ") is proven like honest "
                  "training, so proofs cannot reject it: retention with proofs " +
                  ", ".join(f"{r.setting} {100 * r.fraction:g}% {100 * r.retention:.1f}%"
                            for r in sorted(flips, key=lambda r: (r.setting, r.fraction))))
    if args.plots:
        for p in write_retention_plots(rows, args.plots, order):
            print(f"plot: {p}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("results/retention"))
    ap.add_argument("--rounds", type=int, default=60)
    ap.add_argument("--server-lr-half-life", type=float, default=15.0,
                    help="rounds over which the server's step halves (0: constant)")
    ap.add_argument("--nodes", type=int, default=50)
    ap.add_argument("--per-round", type=int, default=10, help="participants per round (0: all)")
    ap.add_argument("--plots", type=Path, help="also write the retention plots into this folder")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fractions", default="0.1,0.3,0.5")
    ap.add_argument("--attacks", default=",".join(MODEL_POISONING + DATA_POISONING))
    ap.add_argument("--table-only", action="store_true")
    args = ap.parse_args()
    args.fractions = [float(f) for f in args.fractions.split(",")]
    args.attacks = args.attacks.split(",")
    print(f"Machine: {machine()}\n")
    if not args.table_only:
        run_all(args)
    retention_summary(args)


if __name__ == "__main__":
    main()
