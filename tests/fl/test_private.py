"""Private updates with two aggregators (fl/private.py): the same model as public mode, every
attack rejected and attributed, nothing either aggregator receives depends on a node's update,
no per-node update data in the results file, and a tampered key refused before any proof."""
import random
from dataclasses import replace

import numpy as np
import pytest
from scipy.stats import chi2_contingency, chisquare

from small_run import SMALL_RUN, toml_text
from hpc_zkfl.algebra.constants import R
from hpc_zkfl.config import parse_config
from hpc_zkfl.fl.federation import build_federation
from hpc_zkfl.fl.private import ShareMessage, node_messages, split
from hpc_zkfl.fl.protocol import InProcess, RoundLog, RoundPlan, run_in_process, run_rounds
from hpc_zkfl.fl.verdicts import RejectReason
from hpc_zkfl.groth16.committed import commitment_key
from hpc_zkfl.groth16.key_check import KeyCheckError

def config(mode="two_aggregators", kind="none", fraction=0.0, rounds=2):
    sections = {name: dict(keys) for name, keys in SMALL_RUN.items()}
    sections["run"]["rounds"] = rounds
    sections["privacy"] = {"mode": mode}
    if kind != "none":
        sections["attack"] = {"kind": kind, "fraction": fraction}
    return parse_config(toml_text(sections))


@pytest.fixture(scope="module")
def keyed(tmp_path_factory):
    """Federations of each mode with their keys, made once (a key per mode)."""
    out = {}
    for mode in ("public", "two_aggregators"):
        fed = build_federation(config(mode))
        out[mode] = fed.with_proving_key(tmp_path_factory.mktemp(mode) / "k.pk", False)[0]
    return out


def run(keyed, mode, kind="none", fraction=0.0, rounds=2, tap=None):
    fed = build_federation(config(mode, kind, fraction, rounds))
    fed = fed.with_key(keyed[mode].proving_key)
    log = RoundLog()
    run_rounds(RoundPlan.of(fed.config, 1), fed, InProcess(fed, tap=tap), log,
               fed.initial_model(), None)
    return fed, log


@pytest.mark.parametrize("kind", ["none", "sign_flip", "replay"])
def test_private_and_public_runs_give_the_same_model(keyed, kind):
    fraction = 0.5 if kind != "none" else 0.0
    _, public = run(keyed, "public", kind, fraction)
    fed, private = run(keyed, "two_aggregators", kind, fraction)
    for a, b in zip(public.records, private.records):
        assert np.array_equal(a.w, b.w)
        assert np.array_equal(a.accepted, b.accepted)
    assert np.isnan(private.records[-1].update_norm).all()         # never computed
    assert (private.records[-1].accepted == ~fed.malicious).all()


@pytest.mark.parametrize("kind,first_round", [("bad_share", 1), ("one_aggregator", 1),
                                              ("foreign_commitment", 1), ("malformed", 1),
                                              ("reused_blinding", 2), ("gaussian", 1)])
def test_every_attack_on_the_protocol_is_rejected_and_attributed(keyed, kind, first_round):
    fed, log = run(keyed, "two_aggregators", kind, 0.5, rounds=2)
    for rec in log.records:
        bad = fed.malicious if rec.round >= first_round else np.zeros_like(fed.malicious)
        assert (rec.accepted == ~bad).all(), (kind, rec.round, rec.reject_reason)
    if kind in ("bad_share", "one_aggregator", "reused_blinding"):
        assert (log.records[-1].reject_reason[fed.malicious]
                == RejectReason.SHARE_MISMATCH).all()


def test_what_each_aggregator_receives_is_independent_of_the_update(keyed):
    """A node's shares (and the commitments and proof with them) are uniform whatever its
    update: over many runs with two different updates, a chi-square test finds no difference
    in what either aggregator received, and no departure from uniform."""
    fed = keyed["two_aggregators"]
    ck = commitment_key(fed.proving_key.vk, fed.statement.update_positions)
    w = fed.initial_model()
    rows = [np.arange(0, 4), np.arange(100, 104)]       # two batches, two updates
    data = fed.dataset
    updates, witnesses = [], []
    for r in rows:
        u, wit = fed.statement.witness(1, 0, w, data.X_train[r], data.y_train[r])
        updates.append(u)
        witnesses.append(wit.witness)
    assert not np.array_equal(updates[0], updates[1])
    bins = 16
    counts = {role: np.zeros((2, bins), dtype=np.int64) for role in (0, 1)}
    points = {role: np.zeros((2, bins), dtype=np.int64) for role in (0, 1)}
    for k in range(2):
        for _ in range(60):
            messages, _, _ = node_messages(fed, ck, 1, 0, updates[k], witnesses[k], 0.0)
            for msg in messages:
                seen = ShareMessage.from_bytes(msg.to_bytes())        # exactly the bytes sent
                values = np.array([v * bins // R for v in (*seen.share, seen.blinding)])
                counts[seen.role][k] += np.bincount(values, minlength=bins)
                for point in (seen.d, seen.a_commit, seen.proof[:32]):
                    points[seen.role][k][point[-1] % bins] += 1
    for role in (0, 1):
        assert chi2_contingency(counts[role]).pvalue > 1e-3
        for k in range(2):
            assert chisquare(counts[role][k]).pvalue > 1e-3
        assert chi2_contingency(points[role] + 1).pvalue > 1e-3


def test_shares_add_up_and_nothing_else_does():
    rnd = random.Random(1)
    values = [3, -7, 0, R - 1]
    (a, alpha), (b, beta) = split(values, 99, rnd)
    assert [(x + y) % R for x, y in zip(a, b)] == [v % R for v in values]
    assert (alpha + beta) % R == 99
    msg = ShareMessage(1, 2, 0, b"p" * 128, b"d" * 32, b"a" * 32, tuple(a), alpha)
    assert ShareMessage.from_bytes(msg.to_bytes()) == msg
    data = bytearray(msg.to_bytes())
    data[-32:] = (R).to_bytes(32, "big")                # a "share" outside Fr
    with pytest.raises(ValueError, match="Fr"):
        ShareMessage.from_bytes(bytes(data))
    with pytest.raises(ValueError):
        ShareMessage.from_bytes(msg.to_bytes()[:-1])


def test_the_results_file_holds_no_per_node_update_data(tmp_path):
    """Per node, only verdicts and times: every per-node dataset is one of the layout's,
    update_norm (the one derived from an update) is NaN throughout, and the only model-sized
    data are the global models."""
    import h5py

    from hpc_zkfl.io.results import NODE_DATASETS
    out = tmp_path / "private.h5"
    cfg = config(rounds=1)
    run_in_process(cfg, out)
    n_params = build_federation(cfg, with_statement=False).spec.n_params
    with h5py.File(out, "r") as f:
        datasets = {}
        f.visititems(lambda name, obj: datasets.update({name: obj.shape})
                     if isinstance(obj, h5py.Dataset) else None)
        per_node = {n for n in datasets if n.startswith("nodes/")}
        assert per_node == {f"nodes/{k}" for k in NODE_DATASETS} | {"nodes/malicious",
                                                                   "nodes/attack"}
        assert np.isnan(f["nodes/update_norm"][:]).all()
        model_sized = {n for n, shape in datasets.items() if n_params in shape}
        assert model_sized == {"models/w"}, model_sized
        assert "two_aggregators" in f.attrs["config_json"]


def test_a_tampered_key_is_refused_before_any_proof(keyed):
    fed = keyed["two_aggregators"]
    pk = fed.proving_key
    bad = replace(pk, h_query=np.concatenate([pk.h_query[1:2], pk.h_query[1:]]))
    with pytest.raises(KeyCheckError, match="h_query"):
        InProcess(fed.with_key(bad))


ATTACKS = ["scaling", "sign_flip", "gaussian", "free_rider", "replay", "malformed",
           "bad_share", "one_aggregator", "foreign_commitment", "reused_blinding"]


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.5])
def test_every_attack_at_every_fraction_is_rejected_and_no_honest_node_is(keyed, fraction):
    """Soundness in private mode as in public mode: each model-poisoning attack and each
    attack on the protocol, at 10/30/50% malicious of 10 nodes, rejects exactly the malicious
    nodes (from round 2 for a reused blinding, which its first use cannot show)."""
    for kind in ATTACKS:
        sections = {name: dict(keys) for name, keys in SMALL_RUN.items()}
        sections["run"]["rounds"] = 2 if kind in ("replay", "reused_blinding") else 1
        sections["nodes"]["count"] = 10
        sections["privacy"] = {"mode": "two_aggregators"}
        sections["attack"] = {"kind": kind, "fraction": fraction}
        fed = build_federation(parse_config(toml_text(sections)))
        fed = fed.with_key(keyed["two_aggregators"].proving_key)
        log = RoundLog()
        run_rounds(RoundPlan.of(fed.config, 1), fed, InProcess(fed), log, fed.initial_model(),
                   None)
        rec = log.records[-1]
        assert fed.malicious.sum() == round(10 * fraction)
        assert (rec.accepted == ~fed.malicious).all(), (kind, fraction, rec.reject_reason)


def test_the_helper_checks_the_leaders_accusations(keyed, monkeypatch):
    """A node whose leader share fails is left out with evidence (the share it sent the
    leader), which the helper checks against A: a true accusation lets the sum through; a
    false one (the leader accusing an honest node with the share it really sent) makes the
    helper refuse the sum, and the model does not move."""
    from hpc_zkfl.fl import private

    def run_capturing(kind, fraction):
        fed, outcomes = build_federation(config(kind=kind, fraction=fraction, rounds=1)), []
        fed = fed.with_key(keyed["two_aggregators"].proving_key)
        w0 = fed.initial_model()
        run_rounds(RoundPlan.of(fed.config, 1), fed, InProcess(fed), RoundLog(), w0, None,
                   on_round=lambda t, outcome: outcomes.append(outcome))
        return fed, w0, outcomes[0]

    fed, w0, outcome = run_capturing("bad_share", 0.5)
    assert "aggregate" not in outcome.refused and not np.array_equal(outcome.w, w0)
    assert all("leader's share" in outcome.refused[i] for i in np.flatnonzero(fed.malicious))

    real_check = private.Aggregator.check

    def lying_check(self, expected):
        verdicts = real_check(self, expected)
        if self.role == private.LEADER and expected:
            victim = expected[0]
            verdicts.problems[victim] = "A does not open with the leader's share (a lie)"
            self.accepted_here.discard(victim)
        return verdicts
    monkeypatch.setattr(private.Aggregator, "check", lying_check)
    fed, w0, outcome = run_capturing("none", 0.0)
    assert "false accusation" in outcome.refused["aggregate"]
    assert np.array_equal(outcome.w, w0)


def test_a_resumed_private_run_ends_like_a_whole_one(tmp_path):
    from hpc_zkfl.io.results import load_results
    whole, part = tmp_path / "whole.h5", tmp_path / "part.h5"
    run_in_process(config(rounds=3), whole)
    run_in_process(config(rounds=1), part)
    run_in_process(config(rounds=3), part, resume=True)
    a, b = load_results(whole), load_results(part)
    assert np.array_equal(a.nodes["reject_reason"], b.nodes["reject_reason"])
    assert np.array_equal(a.models, b.models)
