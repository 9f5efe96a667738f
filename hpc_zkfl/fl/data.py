"""Datasets on the fixed-point grid, their partition over nodes, and per-round batch sampling.

The node statement works on features quantized to a fixed-point grid: a feature is an integer x
that stands for x / 2^q (q = `FeatureRange.frac_bits`) and lies in [lo, hi], the range the circuit
range-checks.  Labels are integers 0 .. n_classes - 1.

Datasets are the copies that ship inside scikit-learn (nothing is downloaded):

- ``"digits"`` (UCI optical digits, 8x8 images): pixels are integers 0..16, so with q = 4 the
  quantization is exact (x / 16 is the pixel scaled to [0, 1]).
- ``"breast_cancer"`` (UCI Wisconsin diagnostic) and ``"classification_20k"`` (below): each
  feature is standardized with the training split's mean and (population) standard deviation,
  clipped to [-4, 4 - 2^-4] and quantized with q = 4, rounding to nearest with ties away from
  zero, so the integers lie in [-64, 63].

The train/test split is stratified and drawn here from the seed (not sklearn's splitter), so it is
the same across scikit-learn versions.

Float datasets (`load_float_dataset`, names in `FLOAT_DATASETS`) keep the raw float64 features,
unscaled and unquantized, for models that bin features themselves (the boosted trees of
`hpc_zkfl.models.gbdt` only compare features with bin edges, so scaling changes nothing):

- ``"breast_cancer"``: scikit-learn's 30 raw features, binary labels.
- ``"classification_20k"``: ``make_classification(n_samples=20000, n_features=20,
  n_informative=10, n_redundant=5, n_repeated=0, n_classes=2, n_clusters_per_class=2,
  flip_y=0.01, class_sep=1.0, random_state=20000)``: a fixed synthetic binary task (10
  informative features, 5 linear combinations of them, 5 noise features, 1% flipped labels),
  large enough for timings; the seed only draws the split.

Both use the same stratified split as above.

Partitions follow the usual FL benchmarks: IID (a seeded permutation cut into near-equal parts)
and label skew by a per-class Dirichlet draw over nodes (Hsu, Qi, Brown, "Measuring the effects
of non-identical data distribution for federated visual classification", arXiv:1909.06335, 2019;
the redraw-until-every-node-has-enough loop as in Li, Diao, Chen, He, "Federated learning on
non-IID data silos: an experimental study", ICDE 2022).
"""
from dataclasses import dataclass

import numpy as np

from hpc_zkfl import names
from hpc_zkfl.models.spec import FeatureRange

__all__ = [
    "DATASETS",
    "Dataset",
    "FLOAT_DATASETS",
    "FeatureRange",
    "FloatDataset",
    "PARTITIONS",
    "load_dataset",
    "load_float_dataset",
    "make_partition",
    "partition_dirichlet",
    "partition_iid",
    "partition_shared",
    "sample_batch",
]

DATASETS = tuple(names.DATASETS)         # the registry's, hpc_zkfl/names.py

# Redraws of the whole Dirichlet partition before the deterministic repair takes over; with
# small alpha and many nodes a draw that gives every node min_samples can be very unlikely.
_MAX_DIRICHLET_DRAWS = 100

# Float datasets (load_float_dataset): the binary ones, descriptions from the registry.
FLOAT_DATASETS = {name: names.DATASETS[name] for name in ("breast_cancer", "classification_20k")}
# make_classification's arguments for "classification_20k" (fixed, so every seed and every
# run sees the same rows; the seed only draws the split).
_CLASSIFICATION_20K = dict(n_samples=20000, n_features=20, n_informative=10, n_redundant=5,
                           n_repeated=0, n_classes=2, n_clusters_per_class=2, flip_y=0.01,
                           class_sep=1.0, random_state=20000)


@dataclass(frozen=True, eq=False)
class FloatDataset:
    """A train/test split with float64 features and int64 labels (`load_float_dataset`).

    `train_index` / `test_index` are the rows of the original data that make up each split.
    The arrays are read-only.
    """

    name: str
    X_train: np.ndarray         # (n_train, n_features)
    y_train: np.ndarray         # (n_train,) int64
    X_test: np.ndarray          # (n_test, n_features)
    y_test: np.ndarray          # (n_test,) int64
    n_classes: int
    n_features: int
    train_index: np.ndarray     # (n_train,) int64
    test_index: np.ndarray      # (n_test,) int64

    def __post_init__(self):
        for arr in (self.X_train, self.y_train, self.X_test, self.y_test,
                    self.train_index, self.test_index):
            arr.setflags(write=False)

    @property
    def n_train(self) -> int:
        return len(self.y_train)


@dataclass(frozen=True, eq=False)
class Dataset(FloatDataset):
    """A split as `FloatDataset` with int64 features on the grid of `feature_spec`."""

    feature_spec: FeatureRange = None

    @property
    def X_train_float(self) -> np.ndarray:
        """X_train / 2^q as float64."""
        return self.feature_spec.to_float(self.X_train)

    @property
    def X_test_float(self) -> np.ndarray:
        """X_test / 2^q as float64."""
        return self.feature_spec.to_float(self.X_test)


def _stratified_split(y: np.ndarray, test_fraction: float, seed: int):
    """Per class, a seeded permutation whose first round(n_c * test_fraction) rows go to test."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5B117]))
    train, test = [], []
    for c in np.unique(y):
        rows = rng.permutation(np.flatnonzero(y == c))
        n_test = int(round(len(rows) * test_fraction))
        test.append(rows[:n_test])
        train.append(rows[n_test:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(test))


def _quantize(v: np.ndarray, frac_bits: int) -> np.ndarray:
    """Round v * 2^q to the nearest integer, ties away from zero."""
    s = v * (1 << frac_bits)
    return (np.sign(s) * np.floor(np.abs(s) + 0.5)).astype(np.int64)


def _check_split_args(test_fraction: float, seed: int) -> None:
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if int(seed) != seed or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")


def load_dataset(name: str, seed: int, test_fraction: float = 0.2) -> Dataset:
    """Load `name` (one of DATASETS) from scikit-learn and quantize it; split from `seed`."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; known datasets: {', '.join(DATASETS)}")
    _check_split_args(test_fraction, seed)
    from sklearn import datasets  # imported here: partitioning and sampling do not need it

    if name == "digits":
        raw = datasets.load_digits()
        data, y = raw.data, raw.target.astype(np.int64)
        train_idx, test_idx = _stratified_split(y, test_fraction, int(seed))
        X = data.astype(np.int64)
        if not np.array_equal(X, data) or X.min() < 0 or X.max() > 16:
            raise RuntimeError("scikit-learn's digits are no longer integers 0..16")
        spec = FeatureRange(frac_bits=4, lo=0, hi=16)
        X_train, X_test = X[train_idx], X[test_idx]
    else:  # breast_cancer, classification_20k
        data, y = _raw_binary(name)
        train_idx, test_idx = _stratified_split(y, test_fraction, int(seed))
        q = 4
        spec = FeatureRange(frac_bits=q, lo=-4 << q, hi=(4 << q) - 1)
        # Statistics of the training split only, so the test set stays unseen.
        mean = data[train_idx].mean(axis=0)
        std = data[train_idx].std(axis=0)
        std[std == 0] = 1.0
        scaled = np.clip((data - mean) / std, spec.lo / (1 << q), spec.hi / (1 << q))
        X = _quantize(scaled, q)
        X_train, X_test = X[train_idx], X[test_idx]

    return Dataset(
        name=name,
        X_train=np.ascontiguousarray(X_train), y_train=y[train_idx],
        X_test=np.ascontiguousarray(X_test), y_test=y[test_idx],
        n_classes=int(y.max()) + 1, n_features=data.shape[1], feature_spec=spec,
        train_index=train_idx.astype(np.int64), test_index=test_idx.astype(np.int64),
    )


def _raw_binary(name: str) -> tuple:
    """(float64 features, int64 labels) of a binary dataset, all rows."""
    from sklearn import datasets  # imported here: partitioning and sampling do not need it
    if name == "breast_cancer":
        raw = datasets.load_breast_cancer()
        data, y = raw.data, raw.target
    else:  # classification_20k
        data, y = datasets.make_classification(**_CLASSIFICATION_20K)
    return np.asarray(data, dtype=np.float64), np.asarray(y).astype(np.int64)


def load_float_dataset(name: str, seed: int, test_fraction: float = 0.2) -> FloatDataset:
    """Load `name` (one of FLOAT_DATASETS) with its raw float features; split from `seed`."""
    if name not in FLOAT_DATASETS:
        raise ValueError(f"unknown float dataset {name!r}; known: {', '.join(FLOAT_DATASETS)}")
    _check_split_args(test_fraction, seed)
    data, y = _raw_binary(name)
    train_idx, test_idx = _stratified_split(y, test_fraction, int(seed))
    return FloatDataset(
        name=name,
        X_train=np.ascontiguousarray(data[train_idx]), y_train=y[train_idx],
        X_test=np.ascontiguousarray(data[test_idx]), y_test=y[test_idx],
        n_classes=int(y.max()) + 1, n_features=data.shape[1],
        train_index=train_idx.astype(np.int64), test_index=test_idx.astype(np.int64),
    )


def _check_nodes(n_samples: int, n_nodes: int, min_samples: int = 1):
    if n_nodes < 1:
        raise ValueError(f"need at least one node, got n_nodes={n_nodes}")
    if n_samples < n_nodes * min_samples:
        raise ValueError(f"{n_samples} samples cannot give {n_nodes} nodes "
                         f"{min_samples} sample(s) each")


# The partitions a run may ask for ([data] partition), each a function below.
PARTITIONS = tuple(names.PARTITIONS)


def make_partition(dataset: Dataset, n_nodes: int, kind: str, alpha: float, seed: int,
                   per_node: int = 8) -> list:
    """The nodes' sample indices for partition `kind` of PARTITIONS."""
    if kind == "iid":
        return partition_iid(dataset.n_train, n_nodes, seed)
    if kind == "shared":
        return partition_shared(dataset.n_train, n_nodes, per_node, seed)
    if kind == "dirichlet":
        return partition_dirichlet(dataset.y_train, n_nodes, alpha, seed)
    raise ValueError(f"unknown partition {kind!r}; known: {', '.join(PARTITIONS)}")


def partition_iid(n_samples: int, n_nodes: int, seed: int) -> list[np.ndarray]:
    """Disjoint sorted index arrays covering range(n_samples): a seeded permutation cut into
    n_nodes parts whose sizes differ by at most one."""
    _check_nodes(n_samples, n_nodes)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x11D]))
    perm = rng.permutation(n_samples)
    return [np.sort(part).astype(np.int64) for part in np.array_split(perm, n_nodes)]


def partition_shared(n_samples: int, n_nodes: int, per_node: int, seed: int) -> list[np.ndarray]:
    """Overlapping IID parts for more nodes than samples (e.g. 1,000 virtual nodes on
    breast_cancer's 455 training samples): node i takes per_node consecutive entries of a
    seeded permutation, read cyclically from position i * per_node, so every sample is held
    by about n_nodes * per_node / n_samples nodes."""
    if n_nodes < 1 or per_node < 1 or per_node > n_samples:
        raise ValueError(f"need n_nodes >= 1 and 1 <= per_node <= {n_samples}, got "
                         f"{n_nodes}, {per_node}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5A4]))
    perm = rng.permutation(n_samples)
    return [np.sort(perm[(i * per_node + np.arange(per_node)) % n_samples]).astype(np.int64)
            for i in range(n_nodes)]


def partition_dirichlet(labels, n_nodes: int, alpha: float, seed: int,
                        min_samples: int = 1) -> list[np.ndarray]:
    """Label-skewed partition of range(len(labels)) over n_nodes (Hsu et al. 2019).

    For every class c, node shares p_c ~ Dirichlet(alpha * 1) are drawn and the class's
    (shuffled) samples are cut in those proportions.  Small alpha gives each node few classes;
    large alpha approaches IID.  The whole draw is repeated (up to 100 times) until every node
    holds at least `min_samples`; if that never happens, the last draw is repaired by moving
    random samples, one at a time, from the largest node to a node that is short.  Deterministic
    from the seed; returns disjoint sorted index arrays covering every sample.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be one-dimensional, got shape {labels.shape}")
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    if min_samples < 0:
        raise ValueError(f"min_samples must be non-negative, got {min_samples}")
    n = len(labels)
    _check_nodes(n, n_nodes, max(min_samples, 1))
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xD1C]))
    by_class = [np.flatnonzero(labels == c) for c in np.unique(labels)]

    for _ in range(_MAX_DIRICHLET_DRAWS):
        parts = [[] for _ in range(n_nodes)]
        for rows in by_class:
            rows = rng.permutation(rows)
            shares = rng.dirichlet(np.full(n_nodes, float(alpha)))
            cuts = (np.cumsum(shares)[:-1] * len(rows)).astype(np.int64)
            for node, chunk in enumerate(np.split(rows, cuts)):
                parts[node].extend(chunk.tolist())
        if min(len(p) for p in parts) >= min_samples:
            break
    else:
        # Repair: the total is enough (checked above), so a short node always has a donor
        # with more than min_samples.
        while True:
            sizes = [len(p) for p in parts]
            short = int(np.argmin(sizes))
            if sizes[short] >= min_samples:
                break
            donor = int(np.argmax(sizes))
            parts[short].append(parts[donor].pop(int(rng.integers(sizes[donor]))))
    return [np.sort(np.asarray(p, dtype=np.int64)) for p in parts]


def sample_batch(node_indices, batch_size: int, seed: int, round_index: int,
                 node_id: int) -> np.ndarray:
    """The dataset indices of node `node_id`'s batch in round `round_index`.

    Deterministic from (seed, round_index, node_id) through
    np.random.SeedSequence([seed, round_index, node_id]), so any party that knows the node's
    indices can recompute it.  Drawn without replacement when the node holds at least
    batch_size samples, with replacement otherwise (the batch always has batch_size rows, which
    keeps the circuit's shape fixed).
    """
    node_indices = np.asarray(node_indices, dtype=np.int64)
    if node_indices.ndim != 1 or len(node_indices) == 0:
        raise ValueError("node_indices must be a non-empty one-dimensional array")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    for what, v in (("seed", seed), ("round_index", round_index), ("node_id", node_id)):
        if v < 0:
            raise ValueError(f"{what} must be non-negative, got {v}")
    rng = np.random.default_rng(np.random.SeedSequence([seed, round_index, node_id]))
    replace = len(node_indices) < batch_size
    return rng.choice(node_indices, size=batch_size, replace=replace)
