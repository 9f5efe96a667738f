"""Nodes and the root's round without transport: every attack is judged as it should be, and
no message, however malformed, makes the root raise."""
import dataclasses

import numpy as np
import pytest

from hpc_zkfl.config import parse_config
from hpc_zkfl.fl.message import NodeMessage
from hpc_zkfl.fl.node import FederatedNode
from hpc_zkfl.fl.server import process_round
from hpc_zkfl.groth16 import setup
from hpc_zkfl.io.results import RejectReason
from hpc_zkfl.fl.federation import build_federation, server_step_of
from hpc_zkfl.mpi.runtime import node_ranks

CONFIG = """
[run]
seed = 5
[data]
dataset = "breast_cancer"
[nodes]
count = 4
[model]
kind = "logistic"
batch_size = 4
learning_rate = 0.5
norm_bound = 4.0
[attack]
kind = "{kind}"
fraction = 0.5
{extra}
"""


@pytest.fixture(scope="module")
def keys():
    fed = federation(None, "none")
    return fed.statement, setup(fed.statement.r1cs, backend="cpu")


def federation(keys, kind, extra=""):
    text = CONFIG.format(kind=kind, extra=extra)
    if kind == "none":
        text = text.replace("fraction = 0.5", "fraction = 0.0")
    if keys is None:                    # the statement and key, made once for the module
        return build_federation(parse_config(text))
    fed = build_federation(parse_config(text), with_statement=False)
    return dataclasses.replace(fed, statement=keys[0], proving_key=keys[1], backend="cpu")


def play(fed, rounds=2):
    """Run `rounds` rounds in one process; the outcomes."""
    nodes = [FederatedNode(i, fed) for i in range(fed.n_nodes)]
    w, w_prev, outcomes = fed.initial_model(), None, []
    for t in range(1, rounds + 1):
        msgs = {n.id: NodeMessage.from_bytes(n.step(t, w, w_prev).to_bytes()) for n in nodes}
        out = process_round(fed, t, w, msgs, server_step_of(parse_config("")))
        outcomes.append(out)
        w_prev, w = w, out.w
    return outcomes


@pytest.mark.parametrize("kind,extra,reason", [
    ("scaling", "", RejectReason.INVALID_PROOF),
    ("sign_flip", "", RejectReason.INVALID_PROOF),
    ("gaussian", "", RejectReason.INVALID_PROOF),
    ("free_rider", "", RejectReason.INVALID_PROOF),
    ("replay", "source = \"old_round\"", RejectReason.INVALID_PROOF),
    ("replay", "source = \"other_node\"", RejectReason.INVALID_PROOF),
    ("malformed", "", None),
])
def test_model_poisoning_is_rejected(keys, kind, extra, reason):
    fed = federation(keys, kind, extra)
    for out in play(fed):
        assert not out.accepted[fed.malicious].any()
        assert out.accepted[~fed.malicious].all()
        if reason is not None:
            assert (out.reason[fed.malicious] == reason).all()
        else:
            assert set(out.reason[fed.malicious]) <= {RejectReason.MALFORMED,
                                                      RejectReason.INVALID_PROOF}


def test_label_flip_is_proven_and_accepted(keys):
    """Data poisoning within the declared ranges: the proofs hold (and say so honestly)."""
    fed = federation(keys, "label_flip")
    for out in play(fed):
        assert out.accepted.all()


def test_root_survives_any_message(keys):
    fed = federation(keys, "none")
    node = FederatedNode(0, fed)
    w = fed.initial_model()
    good = node.step(1, w)
    msgs = {
        0: good,
        1: NodeMessage(1, 1, np.zeros(3, dtype=np.int64), good.proof),        # wrong shape
        2: NodeMessage(2, 2, good.update, good.proof),                        # another round
        # node 3 absent: late
    }
    out = process_round(fed, 1, w, msgs, server_step_of(parse_config("")))
    assert out.reason.tolist() == [RejectReason.ACCEPTED, RejectReason.MALFORMED,
                                   RejectReason.WRONG_ROUND_OR_NODE, RejectReason.LATE]
    assert out.late.tolist() == [False, False, False, True]
    # A node whose prover refused, and proof bytes of every bad length.
    refused = NodeMessage(1, 1, good.update, b"", refused="norm bound exceeded")
    out = process_round(fed, 1, w, {0: good, 1: refused,
                                    2: NodeMessage(1, 2, good.update, good.proof[:-1]),
                                    3: NodeMessage(1, 3, good.update, b"\xff" * 128)},
                        server_step_of(parse_config("")))
    assert out.reason.tolist() == [RejectReason.ACCEPTED, RejectReason.NO_PROOF,
                                   RejectReason.MALFORMED, RejectReason.MALFORMED]


def test_message_bytes_round_trip_and_refusals():
    msg = NodeMessage(3, 7, np.array([1, -2, 3], dtype=np.int64), b"p" * 128, 0.5, 1.5, "")
    back = NodeMessage.from_bytes(msg.to_bytes())
    assert (back.round, back.node, back.proof, back.local_seconds) == (3, 7, b"p" * 128, 0.5)
    assert back.update.tolist() == [1, -2, 3] and back.update_low is None
    msg.update_low = np.array([0, 5, (1 << 62) - 1], dtype=np.int64)
    back = NodeMessage.from_bytes(msg.to_bytes())
    assert back.update_low.dtype == np.int64 and back.update_low.tolist() == [0, 5, (1 << 62) - 1]
    raw = msg.to_bytes()
    for bad in (b"", raw[:10], b"X" + raw[1:], raw[:-1], raw + b"\0"):
        with pytest.raises(ValueError):
            NodeMessage.from_bytes(bad)


def test_node_placement():
    assert node_ranks(5, 1, 0) == [0] * 5
    assert node_ranks(5, 3, 0) == [1, 2, 1, 2, 1]
    assert node_ranks(5, 3, 3) == [1, 1, 1, 2, 2]
    with pytest.raises(ValueError, match="do not fit"):
        node_ranks(5, 3, 2)


def test_unproven_baselines_accept_poison(keys):
    """Without proofs a sign-flipping node's update goes in (which is what the baselines are
    for); Krum leaves updates out and says so."""
    text = CONFIG.format(kind="sign_flip", extra="").replace("[attack]", "[aggregation]\nproofs = false\n[attack]")
    fed = build_federation(parse_config(text))
    out = play(fed, rounds=1)[0]
    assert out.accepted.all()
    text = CONFIG.format(kind="sign_flip", extra="").replace(
        "count = 4", "count = 5").replace(
        "[attack]", "[aggregation]\nproofs = false\nstrategy = \"krum\"\nkrum_malicious = 1\n[attack]")
    cfg = parse_config(text)
    fed = build_federation(cfg)
    nodes = [FederatedNode(i, fed) for i in range(fed.n_nodes)]
    w = fed.initial_model()
    out = process_round(fed, 1, w, {n.id: n.step(1, w) for n in nodes}, server_step_of(cfg))
    assert out.accepted.sum() == 1
    assert (out.reason[~out.accepted] == RejectReason.NOT_SELECTED).all()


def test_a_refused_update_sits_out_with_or_without_proofs():
    """A node whose own computation refused (its update out of the fixed-point range) is not
    averaged in as a zero update: it sits the round out, weight and all, and the outcome says
    why; the model entries the step clamps are counted."""
    from hpc_zkfl.fl.aggregation import fedavg_fixed
    text = CONFIG.format(kind="none", extra="").replace("fraction = 0.5", "fraction = 0.0")
    fed = build_federation(parse_config(text.replace("[attack]",
                                                     "[aggregation]\nproofs = false\n[attack]")))
    nodes = [FederatedNode(i, fed) for i in range(fed.n_nodes)]
    w = fed.initial_model()
    msgs = {n.id: n.step(1, w) for n in nodes}
    msgs[0] = NodeMessage(1, 0, np.zeros(fed.spec.n_params, dtype=np.int64), b"", 0.0,
                          refused="norm bound exceeded")
    out = process_round(fed, 1, w, msgs, server_step_of(parse_config("")))
    assert out.reason[0] == RejectReason.NO_PROOF and out.refused == {0: "norm bound exceeded"}
    assert out.accepted[1:].all()
    others = [1, 2, 3]
    expect = w + fedavg_fixed([msgs[i].update for i in others],
                              [len(fed.partition[i]) for i in others])
    assert np.array_equal(out.w, expect) and out.clamped == 0
    fmt = fed.spec.fixed_point
    big = {i: NodeMessage(1, i, np.full(fed.spec.n_params, fmt.hi, dtype=np.int64), b"", 0.0)
           for i in range(fed.n_nodes)}
    edge = process_round(fed, 1, np.full(fed.spec.n_params, fmt.hi, dtype=np.int64), big,
                         server_step_of(parse_config("")))
    assert edge.clamped == fed.spec.n_params and (edge.w == fmt.hi).all()


def test_krum_with_too_few_updates_lowers_f():
    from hpc_zkfl.fl.server import ServerStep, _feasible
    assert _feasible(ServerStep("krum", {"n_malicious": 3, "multi": 2}), 6) == (
        "krum", {"n_malicious": 1, "multi": 2})
    assert _feasible(ServerStep("krum", {"n_malicious": 1, "multi": 1}), 2) == ("median", {})
    assert _feasible(ServerStep("median", {}), 1) == ("median", {})


def test_partial_participation_draws_the_same_nodes_everywhere():
    fed = federation(None, "none")
    assert fed.per_round == 0 and fed.participants(3).all()
    fed = dataclasses.replace(fed, per_round=2)
    draws = [fed.participants(t) for t in range(1, 41)]
    assert all(d.sum() == 2 for d in draws)
    assert all(np.array_equal(d, fed.participants(t)) for t, d in enumerate(draws, 1))
    counts = np.sum(draws, axis=0)
    assert counts.min() > 0 and len({tuple(d) for d in draws}) > 1    # not always the same


def test_idle_nodes_are_neither_late_nor_rejected(keys):
    fed = dataclasses.replace(federation(keys, "sign_flip"), per_round=2)
    t, w = 1, fed.initial_model()
    part = fed.participants(t)
    nodes = [FederatedNode(i, fed) for i in range(fed.n_nodes)]
    # Every node answers, the idle ones too: the root ignores what it did not ask for.
    msgs = {n.id: NodeMessage.from_bytes(n.step(t, w).to_bytes()) for n in nodes}
    out = process_round(fed, t, w, msgs, server_step_of(parse_config("")))
    assert (out.reason[~part] == RejectReason.IDLE).all()
    assert not out.late.any() and not out.accepted[~part].any()
    for i in np.flatnonzero(part):
        want = RejectReason.INVALID_PROOF if fed.malicious[i] else RejectReason.ACCEPTED
        assert out.reason[i] == want
    # A participant that did not answer is late; an idle one is still idle.
    quiet = {i: m for i, m in msgs.items() if part[i] and i != np.flatnonzero(part)[0]}
    out = process_round(fed, t, w, quiet, server_step_of(parse_config("")))
    assert out.late.sum() == 1 and (out.reason[~part] == RejectReason.IDLE).all()


def test_server_learning_rate_scales_and_decays_the_step():
    from hpc_zkfl.fl.server import ServerStep
    assert ServerStep().step_size(7) == 1.0
    decayed = ServerStep(server_lr=0.8, half_life=10.0)
    assert decayed.step_size(1) == 0.8 and decayed.step_size(11) == pytest.approx(0.4)
    text = CONFIG.format(kind="none", extra="").replace("fraction = 0.5", "fraction = 0.0")
    text = text.replace("[attack]", "[aggregation]\nproofs = false\n[attack]")
    cfg = parse_config(text)
    fed = build_federation(cfg)
    nodes = [FederatedNode(i, fed) for i in range(fed.n_nodes)]
    w = fed.initial_model()
    msgs = {n.id: n.step(3, w) for n in nodes}
    full = process_round(fed, 3, w, msgs, server_step_of(cfg)).w - w
    half = parse_config(text.replace("proofs = false", "proofs = false\nserver_lr = 2.0\n"
                                     "server_lr_half_life = 1.0"))
    quarter = process_round(fed, 3, w, msgs, server_step_of(half)).w - w   # 2 * 2^-2 = 0.5
    assert np.abs(full).max() > 10
    assert np.array_equal(quarter, np.rint(0.5 * full).astype(np.int64))


def test_a_proving_rank_keeps_one_h_table_per_key(keys):
    """The node prover builds the key's fixed-base H table once and reuses it; a budget of 0
    proves without one; a new key gets its own."""
    fed = federation(keys, "none")
    table = fed.h_table()
    assert table is not None and table.bases.shape == keys[1].h_query.shape
    assert fed.h_table() is table
    msg = FederatedNode(0, fed).step(1, np.zeros(fed.spec.n_params, dtype=np.int64))
    assert process_round(fed, 1, np.zeros(fed.spec.n_params, dtype=np.int64), {0: msg},
                         server_step_of(parse_config(""))).reason[0] == RejectReason.ACCEPTED
    other = fed.with_key(setup(keys[0].r1cs, backend="cpu"))
    assert other.h_table() is not table
    text = CONFIG.format(kind="none", extra="").replace("seed = 5",
                                                        "seed = 5\nprover_table_mib = 0")
    text = text.replace("fraction = 0.5", "fraction = 0.0")
    fed0 = dataclasses.replace(build_federation(parse_config(text), with_statement=False),
                               statement=keys[0], proving_key=keys[1], backend="cpu")
    assert fed0.h_table() is None


def test_step_nodes_proves_several_at_once_and_hands_back_failures(keys, monkeypatch):
    """Every node's message comes back once (in the order they finish), each accepted by
    the root, whether the nodes prove one after another or k at a time; a node whose step
    raises is handed back with its exception, and the others still come back."""
    from hpc_zkfl.fl import node as node_mod
    fed = federation(keys, "none")
    w = np.zeros(fed.spec.n_params, dtype=np.int64)
    for k in (1, 2):
        monkeypatch.setattr(node_mod, "concurrent_provers", lambda k=k: k)
        nodes = [FederatedNode(i, fed) for i in range(4)]
        bad = nodes[2]
        monkeypatch.setattr(bad, "step", lambda *a: (_ for _ in ()).throw(RuntimeError("boom")))
        got = dict((n.id, m) for n, m in node_mod.step_nodes(nodes, 1, w))
        assert sorted(got) == [0, 1, 2, 3] and isinstance(got[2], RuntimeError)
        messages = {i: m for i, m in got.items() if i != 2}
        out = process_round(fed, 1, w, messages, server_step_of(parse_config("")))
        assert [out.reason[i] for i in (0, 1, 3)] == [RejectReason.ACCEPTED] * 3
