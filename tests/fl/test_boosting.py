"""Federated boosted trees through the round protocol (hpc_zkfl.fl.boosting): honest proven
runs grow the centralized integer trees, every model-poisoning attack is rejected and
attributed while no honest node is, label flipping is not (data poisoning), unproven sums
are not protected; the state, the update and the config are checked at their bounds."""
import numpy as np
import pytest

from hpc_zkfl.config import ConfigError, parse_config
from hpc_zkfl.fl.boosting import (BoostingSpec, aggregate_histograms, load_ensemble,
                                  poison_histograms)
from hpc_zkfl.fl.attacks import Attack
from hpc_zkfl.fl.federation import build_federation
from hpc_zkfl.fl.protocol import run_in_process
from hpc_zkfl.io.results import RejectReason, load_results
from hpc_zkfl.models.gbdt import GBDTParams, Tree, train_reference
from hpc_zkfl.models.gbdt_statement import GBDTStatementSpec, margin_commitment
from hpc_zkfl.names import MODEL_POISONING

BASE = """
[run]
seed = {seed}
rounds = {rounds}

[data]
dataset = "breast_cancer"
partition = "{partition}"
samples_per_node = 6

[nodes]
count = {nodes}

[model]
kind = "gbdt"
n_trees = {trees}
max_depth = {depth}
n_bins = {bins}
learning_rate = 0.3
min_child_weight = 0.5

[aggregation]
proofs = {proofs}
strategy = "{strategy}"
{extra}
"""


def gbdt_config(seed=0, trees=2, depth=2, bins=4, nodes=4, partition="shared", proofs=True,
                strategy="fedavg", extra=""):
    return parse_config(BASE.format(seed=seed, rounds=trees * depth, partition=partition,
                                    nodes=nodes, trees=trees, depth=depth, bins=bins,
                                    proofs=str(proofs).lower(), strategy=strategy,
                                    extra=extra))


def central_trees(fed, nodes=None):
    """train_reference on the nodes' committed data (labels as committed), one part each."""
    nodes = range(fed.n_nodes) if nodes is None else nodes
    parts = [fed.tree(i) for i in nodes]
    return train_reference([d.bins for d in parts], [d.labels for d in parts], fed.params,
                           fed.edges).trees


def assert_same_trees(path, fed, nodes=None):
    got = load_ensemble(path).trees
    want = central_trees(fed, nodes)
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert a.same_as(b)
    return got


def test_a_proven_run_grows_the_centralized_trees(tmp_path):
    """Four proving nodes (overlapping parts): every proof accepted, the trees those of the
    integer algorithm on the same parts, and the recorded accuracy the ensemble's."""
    cfg = gbdt_config()
    out = tmp_path / "run.h5"
    run_in_process(cfg, out)
    res = load_results(out)
    assert res.nodes["accepted"].all()
    fed = build_federation(cfg, with_statement=False)
    trees = assert_same_trees(out, fed)
    assert any(t.is_split.any() for t in trees)
    ens = load_ensemble(out)
    assert res.rounds["accuracy"][-1] == ens.accuracy(fed.dataset.X_test, fed.dataset.y_test)


def test_an_unproven_iid_federation_equals_the_centralized_run_on_all_data(tmp_path):
    """Disjoint IID parts covering the training split: the trees of one centralized run."""
    cfg = gbdt_config(trees=3, depth=3, bins=16, nodes=5, partition="iid", proofs=False)
    out = tmp_path / "run.h5"
    run_in_process(cfg, out)
    fed = build_federation(cfg, with_statement=False)
    bins = fed.edges.transform(fed.dataset.X_train)
    want = train_reference([bins], [fed.dataset.y_train], fed.params, fed.edges).trees
    for a, b in zip(load_ensemble(out).trees, want):
        assert a.same_as(b)
    assert load_results(out).rounds["accuracy"][-1] > 0.9


@pytest.mark.parametrize("kind", MODEL_POISONING)
def test_every_model_poisoning_attack_is_rejected_and_attributed(tmp_path, kind):
    """One attacker of four: refused every round (its proof; once its proof of a tree's first
    level has failed, OUT_OF_SYNC), every honest node accepted, and the trees are the honest
    nodes' alone."""
    cfg = gbdt_config(extra=f'[attack]\nkind = "{kind}"\nfraction = 0.25\n')
    out = tmp_path / "run.h5"
    run_in_process(cfg, out)
    res = load_results(out)
    bad = res.malicious
    assert bad.sum() == 1
    assert res.nodes["accepted"][:, ~bad].all()
    assert not res.nodes["accepted"][:, bad].any()
    reasons = res.nodes["reject_reason"][:, bad][:, 0]
    assert set(reasons[:3]) <= {RejectReason.INVALID_PROOF, RejectReason.MALFORMED,
                                RejectReason.WRONG_ROUND_OR_NODE}, reasons
    assert reasons[3] == RejectReason.OUT_OF_SYNC       # tree 1's first level was refused
    fed = build_federation(cfg, with_statement=False)
    assert_same_trees(out, fed, [i for i in range(fed.n_nodes) if not bad[i]])


def test_label_flipping_is_proven_and_accepted(tmp_path):
    """Data poisoning: the flipped labels are what the node committed to, so its proofs hold;
    the trees are those of the committed (flipped) data."""
    cfg = gbdt_config(extra='[attack]\nkind = "label_flip"\nfraction = 0.25\n')
    out = tmp_path / "run.h5"
    run_in_process(cfg, out)
    assert load_results(out).nodes["accepted"].all()
    fed = build_federation(cfg, with_statement=False)
    bad = int(np.flatnonzero(fed.malicious)[0])
    rows = fed.partition[bad]
    assert np.array_equal(fed.tree(bad).labels, 1 - fed.dataset.y_train[rows])
    assert_same_trees(out, fed)


def test_unproven_sums_take_a_scaled_histogram(tmp_path):
    """Without proofs the root sums what it gets: a scaling node is accepted and the trees
    differ from the honest nodes' (the median baseline runs too)."""
    attack = '[attack]\nkind = "sign_flip"\nfraction = 0.25\nscale = 4.0\n'
    cfg = gbdt_config(proofs=False, extra=attack)
    out = tmp_path / "plain.h5"
    run_in_process(cfg, out)
    assert load_results(out).nodes["accepted"].all()
    fed = build_federation(cfg, with_statement=False)
    honest = [i for i in range(fed.n_nodes) if not fed.malicious[i]]
    assert not all(a.same_as(b) for a, b in zip(load_ensemble(out).trees,
                                                central_trees(fed, honest)))
    median = tmp_path / "median.h5"
    run_in_process(gbdt_config(proofs=False, strategy="median", extra=attack), median)
    assert load_results(median).nodes["accepted"].all()


def test_a_results_file_of_another_model_has_no_trees(tmp_path, small_run_toml):
    out = tmp_path / "linear.h5"
    run_in_process(parse_config(small_run_toml({"run": {"rounds": 1},
                                                "aggregation": {"proofs": False}})), out)
    with pytest.raises(ValueError, match="not a boosted-tree run"):
        load_ensemble(out)


def test_state_and_update_layouts_round_trip_and_refuse_malformed_input():
    params = GBDTParams(n_trees=3, max_depth=2, n_bins=4)
    spec = BoostingSpec(GBDTStatementSpec(params, 5, 7), 3)
    rng = np.random.default_rng(1)
    trees = []
    for _ in range(3):
        t = Tree.empty(params)
        t.feature[:] = rng.integers(0, 5, 3)
        t.threshold[:] = rng.integers(0, 4, 3)
        t.is_split[:] = rng.integers(0, 2, 3).astype(bool)
        t.leaf[:] = rng.integers(-1 << 20, 1 << 20, 4)
        t.loss_change[:] = rng.normal(size=3)
        t.cover[:] = rng.random(7)
        trees.append(t)
    commits = [margin_commitment(np.zeros(7, np.int64)), 1, (1 << 254) - 1]
    w = spec.encode_state(trees, commits, [0, 1, 3])
    assert w.shape == (spec.n_params,) and w.dtype == np.int64
    back, got_commits, folded = spec.decode_state(w)
    assert all(a.same_as(b) for a, b in zip(back, trees))
    assert all(np.array_equal(a.cover, b.cover) for a, b in zip(back, trees))
    assert got_commits == commits and folded.tolist() == [0, 1, 3]
    for bad in (w[:-1], w.astype(np.float64), np.where(np.arange(len(w)) == 0, 5, w),
                np.where(np.arange(len(w)) == len(w) - 1, 4, w)):
        with pytest.raises(ValueError):
            spec.decode_state(bad)
    G = rng.integers(-(7 << 16), 7 << 16, spec.hist_shape)
    H = rng.integers(0, 7 << 30, spec.hist_shape)
    u = spec.encode_update(G, H, commits[0])
    G2, H2, m = spec.decode_update(u)
    assert np.array_equal(G, G2) and np.array_equal(H, H2) and m == commits[0]
    n = G.size
    for index, value in ((0, (7 << 16) + 1), (n, -1), (2 * n - 1, (7 << 30) + 1),
                         (2 * n + 3, -1)):                  # margins_out >= r
        bad = u.copy()
        bad[index] = value
        with pytest.raises(ValueError):
            spec.decode_update(bad)
    with pytest.raises(ValueError):
        spec.decode_update(u[:-1])


def test_poisoned_histograms_stay_within_the_statement_bounds():
    rng = np.random.default_rng(2)
    G = rng.integers(-(3 << 16), 3 << 16, (2, 3, 4))
    H = rng.integers(0, 3 << 30, (2, 3, 4))
    for kind, options in (("scaling", {"scale": 1e6}), ("sign_flip", {"scale": 1.0}),
                          ("gaussian", {"noise_std": 1e3}), ("free_rider", {})):
        g, h = poison_histograms(Attack(kind, 0.5, options), G, H, 3, rng)
        assert np.abs(g).max() <= 3 << 16 and h.min() >= 0 and h.max() <= 3 << 30
        assert g.dtype == h.dtype == np.int64
    g, h = poison_histograms(Attack("sign_flip", 0.5), G, H, 3, rng)
    assert np.array_equal(g, -G) and np.array_equal(h, H)
    parts = [(G, H), (2 * G, 2 * H), (-G, H)]
    assert np.array_equal(aggregate_histograms("fedavg", parts)[0], 2 * G)
    med = aggregate_histograms("median", parts)
    assert np.array_equal(med[0], np.rint(3 * np.median([G, 2 * G, -G], axis=0)))


@pytest.mark.parametrize("change, message", [
    ("n_trees = 0", "n_trees"), ("n_trees = 2048", "n_trees"), ("max_depth = 0", "max_depth"),
    ("max_depth = 9", "max_depth"), ("n_bins = 1", "n_bins"), ("n_bins = 257", "n_bins"),
    ("lambda = -1.0", "lambda"), ("gamma = -0.5", "gamma"),
    ("min_child_weight = -1.0", "min_child_weight"), ("learning_rate = 1.5", "learning_rate"),
    ("batch_size = 16", "batch_size"), ("data_binding = true", "data_binding"),
])
def test_config_bounds(change, message):
    text = BASE.format(seed=0, rounds=4, partition="iid", nodes=4, trees=2, depth=2, bins=4,
                       proofs="true", strategy="fedavg", extra="")
    key = change.split(" = ")[0]
    lines = [line for line in text.splitlines() if not line.startswith(key + " ")]
    text = "\n".join(lines).replace('kind = "gbdt"', f'kind = "gbdt"\n{change}')
    with pytest.raises(ConfigError, match=message):
        parse_config(text)


def test_config_limits_and_consistency():
    ok = gbdt_config()
    assert ok.model.reg_lambda == 1.0 and ok.as_dict()["model"]["lambda"] == 1.0
    assert parse_config(ok.source.replace("n_trees = 2", "n_trees = 2047")
                        .replace("rounds = 4", "rounds = 4094")).model.n_trees == 2047
    text = ok.source
    for changed, message in (
            (text.replace("rounds = 4", "rounds = 5"), "n_trees \\* max_depth = 4"),
            (text.replace("count = 4", "count = 4\nper_round = 2"), "per_round"),
            (text + '[privacy]\nmode = "two_aggregators"\n', "privacy"),
            (text.replace('strategy = "fedavg"', 'strategy = "median"'), "median"),
            (text.replace('strategy = "fedavg"', 'strategy = "krum"'), "strategy"),
            (text.replace('"breast_cancer"', '"digits"'), "binary")):
        with pytest.raises(ConfigError, match=message):
            parse_config(changed)
    with pytest.raises(ConfigError, match="for kind = \"gbdt\" only"):
        parse_config('[model]\nkind = "ovr"\nn_trees = 3\n')
    with pytest.raises(ConfigError, match="needs \\[model\\] kind = \"gbdt\""):
        parse_config('[attack]\nkind = "subset"\nfraction = 0.5\n')
