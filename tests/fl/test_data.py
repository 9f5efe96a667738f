"""Datasets on the fixed-point grid, partitions over nodes and per-round batches."""
import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_digits

from hpc_zkfl.fl import (
    DATASETS,
    FeatureRange,
    load_dataset,
    partition_dirichlet,
    partition_iid,
    sample_batch,
)
from hpc_zkfl.fl.data import _quantize


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=7)


def assert_partition(parts, n):
    """Disjoint, covering range(n), each part sorted int64."""
    joined = np.concatenate(parts)
    assert joined.dtype == np.int64
    assert np.array_equal(np.sort(joined), np.arange(n))
    for p in parts:
        assert np.all(np.diff(p) > 0)


def label_skew(parts, labels):
    """Mean over nodes of the total-variation distance between node and global label mix."""
    classes = np.unique(labels)
    glob = np.array([np.mean(labels == c) for c in classes])
    tv = [0.5 * np.abs(np.array([np.mean(labels[p] == c) for c in classes]) - glob).sum()
          for p in parts]
    return float(np.mean(tv))


def test_digits_quantization_exact(digits):
    raw = load_digits()
    assert digits.feature_spec == FeatureRange(frac_bits=4, lo=0, hi=16)
    assert (digits.n_classes, digits.n_features) == (10, 64)
    for X, y, rows in ((digits.X_train, digits.y_train, digits.train_index),
                       (digits.X_test, digits.y_test, digits.test_index)):
        assert X.dtype == np.int64 and y.dtype == np.int64
        assert np.array_equal(X, raw.data[rows])                  # pixels are the integers
        assert np.array_equal(X / 16, raw.data[rows] / 16)
        assert np.array_equal(y, raw.target[rows])
        assert X.min() >= 0 and X.max() <= 16
    assert np.array_equal(digits.X_train_float, raw.data[digits.train_index] / 16)
    assert np.array_equal(np.sort(np.concatenate([digits.train_index, digits.test_index])),
                          np.arange(len(raw.target)))


def test_split_stratified_and_read_only(digits):
    raw = load_digits()
    for c in range(10):
        n_c = np.sum(raw.target == c)
        assert np.sum(digits.y_test == c) == round(0.2 * n_c)
    with pytest.raises(ValueError):
        digits.X_train[0, 0] = 1


def test_split_deterministic_from_seed(digits):
    again = load_dataset("digits", seed=7)
    assert np.array_equal(again.train_index, digits.train_index)
    assert np.array_equal(again.X_train, digits.X_train)
    other = load_dataset("digits", seed=8)
    assert not np.array_equal(other.train_index, digits.train_index)
    assert len(load_dataset("digits", seed=7, test_fraction=0.5).y_test) > len(digits.y_test)


def test_breast_cancer_on_grid():
    ds = load_dataset("breast_cancer", seed=3)
    spec = ds.feature_spec
    assert spec == FeatureRange(frac_bits=4, lo=-64, hi=63)
    assert (ds.n_classes, ds.n_features) == (2, 30)
    for X in (ds.X_train, ds.X_test):
        assert X.dtype == np.int64 and X.min() >= spec.lo and X.max() <= spec.hi
    # standardized with the training split's statistics, clipped, rounded to the 1/16 grid
    raw = load_breast_cancer().data
    train = raw[ds.train_index]
    for X, rows in ((ds.X_train, ds.train_index), (ds.X_test, ds.test_index)):
        z = np.clip((raw[rows] - train.mean(axis=0)) / train.std(axis=0), -4, 4 - 1 / 16)
        assert np.abs(X / 16 - z).max() <= 1 / 32
    assert ds.X_train.min() < -16 and ds.X_train.max() == 63    # both tails are present
    assert set(np.unique(ds.y_train)) == {0, 1}


def test_quantize_rounds_half_away_from_zero():
    v = np.array([0.5, -0.5, 1.5, -1.5, 0.49, -0.49, 2.51]) / 16
    assert _quantize(v, 4).tolist() == [1, -1, 2, -2, 0, 0, 3]


def test_unknown_dataset_refused():
    with pytest.raises(ValueError, match="known datasets: " + ", ".join(DATASETS)):
        load_dataset("mnist", seed=0)
    with pytest.raises(ValueError, match="test_fraction"):
        load_dataset("digits", seed=0, test_fraction=1.0)


def test_partition_iid(rng):
    seed = rng.randrange(2**32)
    parts = partition_iid(103, 10, seed)
    assert_partition(parts, 103)
    assert {len(p) for p in parts} == {10, 11}
    assert all(np.array_equal(a, b) for a, b in zip(parts, partition_iid(103, 10, seed)))
    assert not all(np.array_equal(a, b) for a, b in zip(parts, partition_iid(103, 10, seed + 1)))
    assert_partition(partition_iid(5, 5, seed), 5)
    assert_partition(partition_iid(5, 1, seed), 5)


def test_partition_dirichlet_skew_and_determinism(digits, rng):
    seed = rng.randrange(2**32)
    y = digits.y_train
    skewed = partition_dirichlet(y, 10, 0.1, seed)
    assert_partition(skewed, len(y))
    again = partition_dirichlet(y, 10, 0.1, seed)
    assert all(np.array_equal(a, b) for a, b in zip(skewed, again))
    iid = partition_iid(len(y), 10, seed)
    near_iid = partition_dirichlet(y, 10, 1000.0, seed)
    assert_partition(near_iid, len(y))
    assert label_skew(skewed, y) > 0.4          # typically ~0.7
    assert label_skew(iid, y) < 0.15            # typically ~0.05
    assert label_skew(near_iid, y) < 0.15


def test_partition_dirichlet_min_samples(digits, rng):
    seed = rng.randrange(2**32)
    y = digits.y_train
    parts = partition_dirichlet(y, 30, 0.3, seed, min_samples=8)
    assert_partition(parts, len(y))
    assert min(len(p) for p in parts) >= 8
    # alpha = 1e-3 sends almost every class whole to one node, so at most ~10 of 20 nodes get
    # samples by drawing: this exercises the repair.
    parts = partition_dirichlet(y, 20, 1e-3, seed, min_samples=10)
    assert_partition(parts, len(y))
    assert min(len(p) for p in parts) >= 10
    tiny = partition_dirichlet(np.array([0, 0, 1, 1, 1]), 5, 0.5, seed)
    assert_partition(tiny, 5)
    assert all(len(p) == 1 for p in tiny)


def test_partition_bad_arguments():
    y = np.array([0, 1, 0, 1, 2, 2])
    with pytest.raises(ValueError, match="at least one node"):
        partition_iid(6, 0, 0)
    with pytest.raises(ValueError, match="cannot give"):
        partition_iid(6, 7, 0)
    with pytest.raises(ValueError, match="at least one node"):
        partition_dirichlet(y, 0, 1.0, 0)
    with pytest.raises(ValueError, match="cannot give"):
        partition_dirichlet(y, 7, 1.0, 0)
    with pytest.raises(ValueError, match="cannot give"):
        partition_dirichlet(y, 3, 1.0, 0, min_samples=3)
    for alpha in (0.0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="alpha"):
            partition_dirichlet(y, 2, alpha, 0)


def test_sample_batch(rng):
    seed = rng.randrange(2**32)
    node = np.arange(100, 200, 3)                       # 34 samples
    batch = sample_batch(node, 32, seed, 5, 2)
    assert batch.shape == (32,) and len(set(batch.tolist())) == 32   # without replacement
    assert np.isin(batch, node).all()
    assert np.array_equal(batch, sample_batch(node, 32, seed, 5, 2))
    assert not np.array_equal(batch, sample_batch(node, 32, seed, 6, 2))
    assert not np.array_equal(batch, sample_batch(node, 32, seed, 5, 3))
    whole = sample_batch(node, 34, seed, 1, 0)
    assert np.array_equal(np.sort(whole), node)          # exactly enough: every sample once
    small = sample_batch(node[:5], 32, seed, 1, 0)       # too few: with replacement
    assert small.shape == (32,) and np.isin(small, node[:5]).all()
    with pytest.raises(ValueError, match="non-empty"):
        sample_batch([], 4, seed, 1, 0)
    with pytest.raises(ValueError, match="batch_size"):
        sample_batch(node, 0, seed, 1, 0)
    with pytest.raises(ValueError, match="round_index"):
        sample_batch(node, 4, seed, -1, 0)


def test_partition_shared_allows_more_nodes_than_samples():
    from hpc_zkfl.fl.data import partition_shared
    parts = partition_shared(455, 1000, 4, seed=2)
    assert len(parts) == 1000 and all(len(p) == 4 for p in parts)
    counts = np.bincount(np.concatenate(parts), minlength=455)
    assert counts.min() >= 8 and counts.max() <= 9            # 4000 slots over 455 samples
    assert all(np.array_equal(a, b) for a, b in zip(parts, partition_shared(455, 1000, 4, seed=2)))
    with pytest.raises(ValueError, match="per_node"):
        partition_shared(10, 5, 11, seed=0)
