"""Boosted trees: test accuracy of the integer reference (hpc_zkfl.models.gbdt) against xgboost.

For each float dataset (hpc_zkfl.fl.data.load_float_dataset: breast_cancer and
classification_20k), each configuration (n_trees, max_depth, n_bins) and each seed (the seed
draws the stratified train/test split): our reference trained centrally (`train_reference`
with one part, bins from `quantile_edges` on the training split) and xgboost's `hist` method
with the same parameters (learning rate, lambda, gamma, min_child_weight, max_bin = n_bins,
base_score = 0.5), trained on the same training split.  A cell is the mean and standard
deviation over the seeds, in points of test accuracy; "difference" is ours minus xgboost's.

The two are not the same algorithm bit for bit: xgboost's `hist` builds its own bins from the
data (a quantile sketch), so its bin edges differ from `quantile_edges`; it uses the exact
sigmoid, while ours uses the piecewise-linear one in fixed point (16 fractional bits).

Times: ours is binning plus training (one process, one thread); xgboost's is `fit` (its own binning
included) with `--xgb-threads` threads (default 1, for a like-for-like figure).

For the first seed the script also trains each configuration federated over `--parts` IID
parts (hpc_zkfl.fl.data.partition_iid) and reports whether every tree equals the central run's
(`Tree.same_as`): it must, since the root adds the nodes' integer histograms exactly.

Usage: python benchmarks/bench_gbdt_accuracy.py [--seeds 5] [--parts 10]
           [--datasets breast_cancer,classification_20k] [--xgb-threads 1]
"""
import argparse
import time

import numpy as np
from _common import fmt_time, machine, table

from hpc_zkfl.fl.data import FLOAT_DATASETS, load_float_dataset, partition_iid
from hpc_zkfl.models.gbdt import GBDTParams, quantile_edges, train_reference

CONFIGS = ((10, 3, 16), (20, 4, 32), (50, 6, 64))       # (n_trees, max_depth, n_bins)
LEARNING_RATE, REG_LAMBDA, GAMMA, MIN_CHILD_WEIGHT = 0.3, 1.0, 0.0, 1.0


def params_for(config) -> GBDTParams:
    n_trees, max_depth, n_bins = config
    return GBDTParams(n_trees=n_trees, max_depth=max_depth, n_bins=n_bins,
                      learning_rate=LEARNING_RATE, reg_lambda=REG_LAMBDA, gamma=GAMMA,
                      min_child_weight=MIN_CHILD_WEIGHT)


def run_ours(ds, params):
    """(test accuracy, seconds, ensemble, edges): binning and central training."""
    t0 = time.perf_counter()
    edges = quantile_edges(ds.X_train, params.n_bins)
    ens = train_reference([edges.transform(ds.X_train)], [ds.y_train], params, edges)
    seconds = time.perf_counter() - t0
    return ens.accuracy(ds.X_test, ds.y_test), seconds, ens, edges


def run_xgboost(xgb, ds, params, threads):
    """(test accuracy, seconds) of xgboost hist with the same parameters."""
    model = xgb.XGBClassifier(
        n_estimators=params.n_trees, max_depth=params.max_depth, max_bin=params.n_bins,
        learning_rate=params.learning_rate, reg_lambda=params.reg_lambda, gamma=params.gamma,
        min_child_weight=params.min_child_weight, tree_method="hist", base_score=0.5,
        n_jobs=threads, random_state=0)
    t0 = time.perf_counter()
    model.fit(ds.X_train, ds.y_train)
    seconds = time.perf_counter() - t0
    return float(np.mean(model.predict(ds.X_test) == ds.y_test)), seconds


def federated_same(ds, params, ens, edges, n_parts, seed) -> bool:
    """Does a run over n_parts IID parts give exactly the central trees?"""
    bins = edges.transform(ds.X_train)
    parts = partition_iid(ds.n_train, n_parts, seed)
    fed = train_reference([bins[p] for p in parts], [ds.y_train[p] for p in parts], params,
                          edges)
    return len(fed.trees) == len(ens.trees) and all(
        a.same_as(b) for a, b in zip(ens.trees, fed.trees))


def pm(values) -> str:
    v = 100 * np.asarray(values)
    return f"{v.mean():.2f} ± {v.std():.2f}"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=5, help="seeds 0 .. N-1 (train/test splits)")
    ap.add_argument("--parts", type=int, default=10, help="IID parts of the federated check")
    ap.add_argument("--datasets", default=",".join(FLOAT_DATASETS))
    ap.add_argument("--xgb-threads", type=int, default=1)
    args = ap.parse_args()
    datasets = args.datasets.split(",")
    unknown = set(datasets) - set(FLOAT_DATASETS)
    if unknown:
        ap.error(f"unknown datasets {sorted(unknown)} (known: {', '.join(FLOAT_DATASETS)})")
    if args.seeds < 1 or args.parts < 1 or args.xgb_threads < 1:
        ap.error("--seeds, --parts and --xgb-threads must be >= 1")
    import xgboost as xgb                 # imported here: --help works without it

    print(f"Machine: {machine()}")
    print(f"xgboost {xgb.__version__}; lr {LEARNING_RATE}, lambda {REG_LAMBDA}, gamma {GAMMA}, "
          f"min_child_weight {MIN_CHILD_WEIGHT}; {args.seeds} seeds; xgboost threads "
          f"{args.xgb_threads}\n", flush=True)
    start = time.perf_counter()
    rows = []
    for name in datasets:
        splits = [load_float_dataset(name, seed) for seed in range(args.seeds)]
        for config in CONFIGS:
            params = params_for(config)
            ours, xgbs, t_ours, t_xgb = [], [], [], []
            same = None
            for seed, ds in enumerate(splits):
                acc, sec, ens, edges = run_ours(ds, params)
                ours.append(acc)
                t_ours.append(sec)
                acc, sec = run_xgboost(xgb, ds, params, args.xgb_threads)
                xgbs.append(acc)
                t_xgb.append(sec)
                if seed == 0:
                    same = federated_same(ds, params, ens, edges, args.parts, seed)
            diff = 100 * (np.mean(ours) - np.mean(xgbs))
            rows.append((f"{name} (n_train {splits[0].n_train})", "%d trees, depth %d, %d bins"
                         % config, pm(ours), pm(xgbs), f"{diff:+.2f}",
                         fmt_time(np.mean(t_ours)), fmt_time(np.mean(t_xgb)),
                         "yes" if same else "NO"))
            print(" | ".join(rows[-1]), flush=True)
    print()
    print(table(["dataset", "config", "ours: test accuracy % (mean ± std)",
                 "xgboost hist: test accuracy %", "difference (points)", "ours: train time",
                 "xgboost: train time", f"federated ({args.parts} IID parts) = central"],
                rows))
    print(f"\nTotal {fmt_time(time.perf_counter() - start)}.")
    if any(r[-1] != "yes" for r in rows):
        raise SystemExit("a federated run differs from the central run")


if __name__ == "__main__":
    main()
