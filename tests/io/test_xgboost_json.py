"""XGBoost JSON export of boosted trees: XGBoost loads the file and predicts our margins
(exactly while sum |w| <= 256, else within the float32 summation bound), the same classes,
pass-through nodes pruned, a save/load/save round trip, and clear refusals."""
import json
import os

import numpy as np
import pytest

xgb = pytest.importorskip("xgboost")

from hpc_zkfl.io.xgboost_json import (FORMAT_VERSION, export_xgboost_json,  # noqa: E402
                                      save_xgboost_json)
from hpc_zkfl.models.gbdt import (LEAF_BOUND, MARGIN_FORMAT, Ensemble,  # noqa: E402
                                  GBDTParams, Tree, quantile_edges, train_reference)

ONE = MARGIN_FORMAT.one


def _synthetic(seed=3, n=300, n_features=5):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, n_features))
    y = ((X[:, 0] + 0.5 * X[:, 1] ** 2 - X[:, 2]) > 0.3).astype(np.int64)
    return X, y


def _train(X, y, **kw):
    params = GBDTParams(**kw)
    edges = quantile_edges(X, params.n_bins)
    return train_reference([edges.transform(X)], [y], params, edges)


def _load(ensemble, tmp_path, name="model.json"):
    path = tmp_path / name
    save_xgboost_json(ensemble, path)
    return xgb.Booster(model_file=str(path))


def _xgb_margin(booster, X):
    return booster.predict(xgb.DMatrix(X), output_margin=True).astype(np.float64)


def _abs_weight_sum(ensemble, X):
    """sum_t |w_t(x)| per row (real units): what bounds XGBoost's float32 rounding."""
    bins = ensemble.edges.transform(X)
    total = np.zeros(len(X), dtype=np.int64)
    for t in ensemble.trees:
        total += np.abs(t.predict_margin(bins))
    return total / ONE


def _margin_bound(ensemble, X):
    """0 where every partial sum is exact in float32, else n_trees 2^-24 sum |w| (doubled:
    the first-order bound plus room for its higher-order terms)."""
    s = _abs_weight_sum(ensemble, X)
    return np.where(s <= 256, 0.0, 2 * len(ensemble.trees) * 2.0 ** -24 * s)


def _with_edge_rows(ensemble, X):
    """X plus rows whose features sit exactly on bin edges (routed right by both)."""
    edges = ensemble.edges.edges
    k = max(len(e) for e in edges)
    extra = np.array([[e[i % len(e)] if e else 0.0 for e in edges] for i in range(k)])
    return np.vstack([X, extra])


def _check_agrees(ensemble, booster, X):
    ours = ensemble.predict_margin(X)
    theirs = _xgb_margin(booster, X)
    bound = _margin_bound(ensemble, X)
    assert np.all(np.abs(theirs - ours) <= bound)
    clear = np.abs(ours) > bound
    prob = booster.predict(xgb.DMatrix(X))
    assert np.array_equal((prob[clear] > 0.5).astype(np.int64), ensemble.predict(X)[clear])
    assert booster.num_boosted_rounds() == len(ensemble.trees)
    return np.abs(theirs - ours).max(initial=0.0)


def _n_real_splits(tree, heap=0):
    """Real splits reachable from heap node `heap` (pass-through subtrees pruned)."""
    if heap >= len(tree.is_split) or not tree.is_split[heap]:
        return 0
    return 1 + _n_real_splits(tree, 2 * heap + 1) + _n_real_splits(tree, 2 * heap + 2)


@pytest.fixture(scope="module")
def synthetic():
    X, y = _synthetic()
    X_test, _ = _synthetic(seed=4, n=200)
    return X, y, X_test


@pytest.fixture(scope="module")
def cancer():
    datasets = pytest.importorskip("sklearn.datasets")
    X, y = datasets.load_breast_cancer(return_X_y=True)
    idx = np.random.default_rng(5).permutation(len(X))
    train, test = idx[:400], idx[400:]
    return X[train], y[train].astype(np.int64), X[test], y[test].astype(np.int64)


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
@pytest.mark.parametrize("gamma,min_child_weight", [(0.0, 1.0), (2.0, 1.0), (0.0, 15.0)])
def test_synthetic_margins_exact(synthetic, tmp_path, depth, gamma, min_child_weight):
    X, y, X_test = synthetic
    ens = _train(X, y, n_trees=5, max_depth=depth, n_bins=16, gamma=gamma,
                 min_child_weight=min_child_weight)
    booster = _load(ens, tmp_path)
    for rows in (X, X_test, _with_edge_rows(ens, X_test)):
        # 5 trees of |w| <= 16: every partial sum is exact in float32.
        assert _check_agrees(ens, booster, rows) == 0.0
        assert np.array_equal(_xgb_margin(booster, rows), ens.predict_margin(rows))


def test_pass_through_nodes_are_pruned(synthetic, tmp_path):
    X, y, X_test = synthetic
    ens = _train(X, y, n_trees=4, max_depth=4, n_bins=16, min_child_weight=15.0)
    assert any(not t.is_split.all() for t in ens.trees)
    doc = export_xgboost_json(ens)
    for tree, out in zip(ens.trees, doc["learner"]["gradient_booster"]["model"]["trees"]):
        n_nodes = 2 * _n_real_splits(tree) + 1
        assert int(out["tree_param"]["num_nodes"]) == n_nodes
        for key in ("left_children", "right_children", "parents", "split_indices",
                    "split_conditions", "default_left", "split_type", "base_weights",
                    "loss_changes", "sum_hessian"):
            assert len(out[key]) == n_nodes
        # Breadth first: every child comes after its parent, left right next to each other.
        for i, (lc, rc) in enumerate(zip(out["left_children"], out["right_children"])):
            assert (lc == -1) == (rc == -1)
            if lc != -1:
                assert i < lc and rc == lc + 1
                assert out["parents"][lc] == out["parents"][rc] == i
    assert _check_agrees(ens, _load(ens, tmp_path), X_test) == 0.0


def test_whole_tree_single_leaf(synthetic, tmp_path):
    X, y, X_test = synthetic
    # A gamma above any loss change: no tree splits, each is one leaf.
    ens = _train(X, y, n_trees=3, max_depth=3, n_bins=16, gamma=1e9)
    assert not any(t.is_split.any() for t in ens.trees)
    assert all(len(set(t.leaf.tolist())) == 1 for t in ens.trees)
    doc = export_xgboost_json(ens)
    trees = doc["learner"]["gradient_booster"]["model"]["trees"]
    assert [t["tree_param"]["num_nodes"] for t in trees] == ["1"] * 3
    assert [t["split_conditions"][0] for t in trees] == [t.leaf[0] / ONE for t in ens.trees]
    booster = _load(ens, tmp_path)
    assert _check_agrees(ens, booster, X_test) == 0.0
    # A mix: a real first tree, then one that is a single leaf.
    mixed = _train(X, y, n_trees=2, max_depth=2, n_bins=16)
    mixed.trees.append(ens.trees[0])
    assert _check_agrees(mixed, _load(mixed, tmp_path, "mixed.json"), X_test) == 0.0


@pytest.mark.parametrize("depth", [1, 2, 3, 4])
def test_breast_cancer(cancer, tmp_path, depth):
    X, y, X_test, y_test = cancer
    ens = _train(X, y, n_trees=4, max_depth=depth, n_bins=32)
    booster = _load(ens, tmp_path)
    for rows in (X, X_test):
        assert _check_agrees(ens, booster, rows) == 0.0
    prob = booster.predict(xgb.DMatrix(X_test))
    assert np.mean((prob > 0.5) == y_test) == ens.accuracy(X_test, y_test) > 0.85


def _random_tree(rng, depth, edges):
    """A tree of real splits on random (feature, bin with an edge), weights in [0, 16]."""
    n = (1 << depth) - 1
    feature = rng.integers(0, edges.n_features, n)
    threshold = np.array([rng.integers(0, len(edges.edges[f])) for f in feature])
    leaf = rng.integers(0, int(LEAF_BOUND * ONE) + 1, 1 << depth)
    return Tree(feature.astype(np.int64), threshold.astype(np.int64), np.ones(n, bool),
                leaf.astype(np.int64))


def test_large_margins_within_float32_bound(synthetic, tmp_path):
    """Many trees of large weights: XGBoost's float32 sum rounds, within the bound."""
    X, _, X_test = synthetic
    rng = np.random.default_rng(7)
    edges = quantile_edges(X, 16)
    params = GBDTParams(n_trees=300, max_depth=3, n_bins=16)
    # Nonnegative weights, so that margins grow past 256 and float32 must round.
    trees = [_random_tree(rng, 3, edges) for _ in range(300)]
    ens = Ensemble(params, edges, trees)
    assert _abs_weight_sum(ens, X_test).min() > 256
    booster = _load(ens, tmp_path)
    worst = _check_agrees(ens, booster, X_test)
    assert worst <= 300 * 2.0 ** -24 * 300 * LEAF_BOUND


def test_empty_ensemble_loads(synthetic, tmp_path):
    X, _, _ = synthetic
    ens = Ensemble(GBDTParams(), quantile_edges(X, 16), [])
    doc = export_xgboost_json(ens)
    assert doc["learner"]["gradient_booster"]["model"]["trees"] == []
    booster = _load(ens, tmp_path)
    assert booster.num_boosted_rounds() == 0
    assert np.array_equal(_xgb_margin(booster, X), np.zeros(len(X)))


def test_document_fields(synthetic):
    X, y, _ = synthetic
    ens = _train(X, y, n_trees=3, max_depth=2, n_bins=16)
    doc = export_xgboost_json(ens)
    assert json.loads(json.dumps(doc, allow_nan=False)) == doc
    assert doc["version"] == FORMAT_VERSION
    learner = doc["learner"]
    assert learner["objective"]["name"] == "binary:logistic"
    assert float(learner["learner_model_param"]["base_score"]) == 0.5
    assert learner["learner_model_param"]["num_feature"] == str(ens.edges.n_features)
    model = learner["gradient_booster"]["model"]
    assert model["tree_info"] == [0, 0, 0]
    assert model["iteration_indptr"] == [0, 1, 2, 3]
    assert [t["id"] for t in model["trees"]] == [0, 1, 2]
    for t in model["trees"]:
        assert t["parents"][0] == 2147483647
        assert set(t["default_left"]) == {1}
        assert t["tree_param"]["num_feature"] == str(ens.edges.n_features)
        # XGBoost refuses integers where it reads floats.
        for key in ("split_conditions", "base_weights", "loss_changes", "sum_hessian"):
            assert all(type(v) is float for v in t[key])


def _float32(values):
    return np.asarray(values, dtype=np.float32)


def test_round_trip_through_xgboost(synthetic, tmp_path):
    X, y, X_test = synthetic
    ens = _train(X, y, n_trees=4, max_depth=3, n_bins=16, gamma=1.0)
    ours = export_xgboost_json(ens)
    booster = _load(ens, tmp_path)
    again = tmp_path / "again.json"
    booster.save_model(str(again))
    theirs = json.loads(again.read_text())
    mine_trees = ours["learner"]["gradient_booster"]["model"]["trees"]
    their_model = theirs["learner"]["gradient_booster"]["model"]
    assert their_model["tree_info"] == ours["learner"]["gradient_booster"]["model"]["tree_info"]
    assert len(their_model["trees"]) == len(mine_trees)
    for mine, their in zip(mine_trees, their_model["trees"]):
        for key in ("id", "left_children", "right_children", "parents", "split_indices",
                    "split_type", "categories", "categories_nodes", "categories_segments",
                    "categories_sizes"):
            assert their[key] == mine[key], key
        assert [bool(v) for v in their["default_left"]] == [bool(v) for v in mine["default_left"]]
        for key in ("split_conditions", "base_weights", "loss_changes", "sum_hessian"):
            assert np.array_equal(_float32(their[key]), _float32(mine[key])), key
        for key in ("num_feature", "num_nodes"):
            assert their["tree_param"][key] == mine["tree_param"][key]
    param = theirs["learner"]["learner_model_param"]
    assert float(param["base_score"].strip("[]")) == 0.5
    assert param["num_feature"] == str(ens.edges.n_features)
    # The re-saved model predicts as ours too.
    assert _check_agrees(ens, xgb.Booster(model_file=str(again)), X_test) == 0.0


def test_save_is_atomic_and_replaces(synthetic, tmp_path):
    X, y, _ = synthetic
    small = _train(X, y, n_trees=1, max_depth=1, n_bins=16)
    big = _train(X, y, n_trees=3, max_depth=3, n_bins=16)
    path = tmp_path / "m.json"
    save_xgboost_json(small, path)
    save_xgboost_json(big, str(path))
    assert json.loads(path.read_text()) == export_xgboost_json(big)
    assert os.listdir(tmp_path) == ["m.json"]
    bad = Ensemble(big.params, big.edges, big.trees + ["not a tree"])
    with pytest.raises(TypeError, match="tree 3"):
        save_xgboost_json(bad, path)
    assert os.listdir(tmp_path) == ["m.json"]            # no temporary file left
    assert json.loads(path.read_text()) == export_xgboost_json(big)


@pytest.fixture
def one_tree(synthetic):
    X, y, _ = synthetic
    return _train(X, y, n_trees=1, max_depth=3, n_bins=16)


def _with_tree(ens, **changes):
    tree = ens.trees[0].copy()
    for name, value in changes.items():
        setattr(tree, name, value)
    return Ensemble(ens.params, ens.edges, [tree])


def test_rejects_non_ensembles(one_tree):
    for bad in (None, {"trees": []}, one_tree.trees):
        with pytest.raises(TypeError, match="expected an Ensemble"):
            export_xgboost_json(bad)
    with pytest.raises(TypeError, match="BinEdges"):
        export_xgboost_json(Ensemble(one_tree.params, one_tree.edges.edges, one_tree.trees))
    with pytest.raises(TypeError, match="trees must be a list"):
        export_xgboost_json(Ensemble(one_tree.params, one_tree.edges, None))
    with pytest.raises(TypeError, match="tree 0: expected a Tree"):
        export_xgboost_json(Ensemble(one_tree.params, one_tree.edges, [{"leaf": [0, 0]}]))


def test_rejects_bad_trees(one_tree):
    tree = one_tree.trees[0]
    assert tree.is_split[0]
    n_edges = len(one_tree.edges.edges[int(tree.feature[0])])
    cases = [
        (dict(feature=np.where(np.arange(7) == 0, 5, tree.feature)), "feature 5 out of range"),
        (dict(feature=np.where(np.arange(7) == 0, -1, tree.feature)), "out of range"),
        (dict(threshold=np.where(np.arange(7) == 0, n_edges, tree.threshold)), "has no edge"),
        (dict(leaf=np.full(8, int(LEAF_BOUND * ONE) + 1)), "exceeds"),
        (dict(leaf=np.arange(8) / 3.0), "fixed-point integers"),
        (dict(leaf=np.zeros(6, np.int64)), "power of two"),
        (dict(leaf=np.zeros(1, np.int64)), "power of two"),
        (dict(is_split=np.ones(3, bool)), "is_split must have 7"),
        (dict(cover=np.full(15, np.nan)), "cover must be 15 finite"),
        (dict(loss_change=np.zeros(3)), "loss_change must be 7"),
        # A pass-through root over differing leaves cannot become one leaf.
        (dict(is_split=np.zeros(7, bool), leaf=np.arange(8, dtype=np.int64)), "cannot be pruned"),
    ]
    for changes, message in cases:
        with pytest.raises(ValueError, match=message):
            export_xgboost_json(_with_tree(one_tree, **changes))


def test_statistics_are_optional(one_tree, tmp_path, synthetic):
    ens = _with_tree(one_tree, cover=None, loss_change=None)
    doc = export_xgboost_json(ens)
    tree = doc["learner"]["gradient_booster"]["model"]["trees"][0]
    assert set(tree["sum_hessian"]) == {0.0} and set(tree["loss_changes"]) == {0.0}
    assert _check_agrees(ens, _load(ens, tmp_path), synthetic[2]) == 0.0
