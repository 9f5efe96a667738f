"""Every name a run configuration chooses from, in one place, each with what it means.

The modules that implement them (`fl.attacks`, `fl.strategies`, `fl.data`, `models.spec`,
`backends`) take their lists from here; so do config validation (`config.py`), the report's
grouping of attacks (`io/report.py`) and the documentation (`docs/names.md` is
`python -m hpc_zkfl.names`).  tests/test_names.py fails when an implementation and this
registry disagree.  No imports: every layer may read it.
"""

# [attack] kind
ATTACKS = {
    "none": "honest: the node sends its proven update",
    "scaling": "update multiplied by `scale` (default 10)",
    "sign_flip": "update negated and multiplied by `scale` (default 1)",
    "gaussian": "Gaussian noise of standard deviation `noise_std` (real units, default 1) "
                "added to every coordinate",
    "label_flip": "honest, proven training on flipped labels n_classes - 1 - y "
                  "(data poisoning)",
    "free_rider": "zero update, no training",
    "replay": "resends this node's message of the previous round (`source` = old_round) or "
              "another node's of this round (other_node)",
    "malformed": "proof replaced by random bytes, truncated, or bit-flipped",
    # Attacks on the two-aggregator protocol ([privacy] mode = "two_aggregators" only).
    "bad_share": "the leader's share does not open its commitment A (one entry off by one)",
    "one_aggregator": "sends its shares to the leader only",
    "foreign_commitment": "sends the commitment D of another node's proof with its own",
    "reused_blinding": "uses the same commitment blinding and share randomness every round",
    # Attacks on boosted trees ([model] kind = "gbdt" only).
    "subset": "histograms over half of the node's committed samples",
    "superset": "histograms over the node's committed samples and the next node's",
}
PRIVATE_ONLY_ATTACKS = ("bad_share", "one_aggregator", "foreign_commitment", "reused_blinding")
TREE_ONLY_ATTACKS = ("subset", "superset")
MODEL_POISONING = ("scaling", "sign_flip", "gaussian", "free_rider", "replay", "malformed",
                   "subset", "superset")
DATA_POISONING = ("label_flip",)        # proven training on bad data: proofs cannot stop it
# kind -> {option: default}, each option the [attack] key of its name; other kinds take none.
ATTACK_OPTIONS = {
    "scaling": {"scale": 10.0},
    "sign_flip": {"scale": 1.0},
    "gaussian": {"noise_std": 1.0},
    "replay": {"source": "old_round"},
}
# [attack] source (replay)
REPLAY_SOURCES = {
    "old_round": "the node's own message of the previous round",
    "other_node": "the next node's message of this round",
}

# [aggregation] strategy
STRATEGIES = {
    "fedavg": "FedAvg weighted by each node's dataset size: the strategy for proven updates",
    "median": "coordinate-wise median (unproven baseline; Yin et al., ICML 2018)",
    "trimmed_mean": "coordinate-wise mean without the `trim_fraction` largest and smallest "
                    "(unproven baseline; Yin et al., ICML 2018)",
    "krum": "Krum / Multi-Krum with `krum_malicious` assumed attackers, `krum_multi` picked "
            "(unproven baseline; Blanchard et al., NeurIPS 2017)",
}

# [privacy] mode
PRIVACY_MODES = {
    "public": "every node's update is a public input of its proof; one root verifies and "
              "aggregates (and sees each update)",
    "two_aggregators": "updates committed in the proofs (LegoGroth16) and split into shares "
                       "between a leader (rank 0) and a helper (rank 1); neither sees an update",
}

# [data] dataset
DATASETS = {
    "digits": "scikit-learn's 8x8 digits: 1,797 images, 64 features, 10 classes",
    "breast_cancer": "scikit-learn's Wisconsin breast cancer: 569 samples, 30 features, "
                     "2 classes",
    "classification_20k": "scikit-learn's make_classification with a fixed seed: 20,000 "
                          "samples, 20 features (10 informative), 2 classes",
}
BINARY_DATASETS = ("breast_cancer", "classification_20k")

# [data] partition
PARTITIONS = {
    "iid": "a seeded shuffle cut into equal parts",
    "dirichlet": "label skew: each class spread over the nodes by Dirichlet(`dirichlet_alpha`)",
    "shared": "overlapping parts of `samples_per_node` samples (more nodes than samples)",
}

# [model] kind
MODELS = {
    "logistic": "binary logistic regression",
    "ovr": "one-vs-rest logistic regression, one sigmoid per class",
    "mlp": "one hidden layer of `hidden` units (ReLU), sigmoid outputs",
    "gbdt": "gradient-boosted trees (binary): `n_trees` trees of depth `max_depth` on "
            "`n_bins` bins per feature, grown a level a round from proven histograms",
}
TREE_MODELS = ("gbdt",)                 # the others prove a gradient step (models.statement)

# [run] backend; the last two check the others and a run config cannot name them.
BACKENDS = {
    "auto": "the GPU where one works, else the CPU",
    "cpu": "numba kernels on the CPU",
    "gpu": "CUDA kernels (kernels/*.cu) through CuPy",
    "reference": "py_ecc, the pure-Python oracle (tests only)",
    "cuda-host": "the CUDA kernels' arithmetic compiled for the host (tests only)",
}
CHECK_ONLY_BACKENDS = ("reference", "cuda-host")
RUN_BACKENDS = tuple(n for n in BACKENDS if n not in CHECK_ONLY_BACKENDS)

# Which [section] key each registry names: for the documentation and the tests.
CONFIG_KEYS = {
    ("attack", "kind"): ATTACKS,
    ("attack", "source"): REPLAY_SOURCES,
    ("aggregation", "strategy"): STRATEGIES,
    ("privacy", "mode"): PRIVACY_MODES,
    ("data", "dataset"): DATASETS,
    ("data", "partition"): PARTITIONS,
    ("model", "kind"): MODELS,
    ("run", "backend"): {n: BACKENDS[n] for n in RUN_BACKENDS},
}


def markdown() -> str:
    """docs/names.md: every name a configuration may use, by key, with its meaning."""
    lines = ["# Names a run configuration chooses from", "",
             "Generated by `python -m hpc_zkfl.names` from `hpc_zkfl/names.py`, which config",
             "validation, the runtime and the report read; a test checks this page against it.",
             ""]
    for (section, key), names in CONFIG_KEYS.items():
        lines += [f"## `[{section}] {key}`", "", "| name | meaning |", "|---|---|"]
        lines += [f"| `{name}` | {text} |" for name, text in names.items()]
        lines.append("")
    lines += ["Attack options (the `[attack]` key of the same name; 0 for `scale` leaves the "
              "attack's default):", ""]
    lines += [f"- `{kind}`: " + ", ".join(f"`{k}` = {v!r}" for k, v in options.items())
              for kind, options in ATTACK_OPTIONS.items()]
    lines += ["", "Model poisoning: " + ", ".join(f"`{k}`" for k in MODEL_POISONING)
              + ". Data poisoning (proven training on bad data, which proofs cannot stop): "
              + ", ".join(f"`{k}`" for k in DATA_POISONING) + ". Attacks on the "
              "two-aggregator protocol, refused in public mode: "
              + ", ".join(f"`{k}`" for k in PRIVATE_ONLY_ATTACKS) + ".",
              "", "Backends only the tests use: "
              + ", ".join(f"`{k}`" for k in CHECK_ONLY_BACKENDS) + ".", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    print(markdown(), end="")

__all__ = ["ATTACKS", "ATTACK_OPTIONS", "BACKENDS", "CHECK_ONLY_BACKENDS", "CONFIG_KEYS",
           "DATASETS", "DATA_POISONING", "MODELS", "MODEL_POISONING", "PARTITIONS", "TREE_MODELS", "TREE_ONLY_ATTACKS", "BINARY_DATASETS",
           "PRIVACY_MODES", "PRIVATE_ONLY_ATTACKS", "REPLAY_SOURCES", "RUN_BACKENDS", "STRATEGIES", "markdown"]
