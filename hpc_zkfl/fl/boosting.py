"""Federated gradient-boosted trees: the level-by-level round protocol over the same
transports, results file and keys as the gradient-step models.

A round grows one level of one tree: round t (1-based) is level d = (t - 1) mod D of tree
tau = (t - 1) // D (D = max_depth; a run has n_trees * D rounds).  The root broadcasts its
state (`BoostingSpec.encode_state`: the trees, the nodes' margin commitments), each node sends
the histograms of g and h of all its committed samples at the last depth of the tree being
grown, with a proof (`hpc_zkfl.models.gbdt_statement`), and the root sums the accepted ones,
grows the level (`gbdt.grow_level`: XGBoost's gain, lambda, gamma, min_child_weight) and, at a
tree's last level, sets its leaf weights.  Honest nodes give the centralized integer trees.

A node's margins are committed state: the root keeps, per node, the commitment M_i its last
accepted proof output and the count k_i of trees folded into it.  The first level of tree tau
folds in tree tau - 1, so it needs k_i = tau - 1; the other levels need k_i = tau.  A node
whose proof of a tree's first level is rejected, or missing, falls behind: it is OUT_OF_SYNC
for the rest of the run (its margins can no longer be proven), and a node that sees it is
behind (the state says so) sends a refusal instead of proving.

Bin edges are public: quantiles of the training split's features (`gbdt.quantile_edges`),
fixed before round 1 as the linear models' feature grid is, and stored with the results.
"""
import math
import time
from dataclasses import dataclass, field

import numpy as np

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.models.gbdt import (GRAD_FRAC_BITS, HESS_FRAC_BITS, MARGIN_FORMAT, BinEdges,
                                  Ensemble, GBDTParams, Tree, grow_level, histograms_ref,
                                  quantile_edges)
from hpc_zkfl.models.gbdt_statement import (CommittedData, GBDTLevelStatement,
                                            GBDTStatementSpec, histograms_at, level_ref,
                                            margin_commitment, pack_histograms)

from .attacks import corrupt_proof_bytes
from .federation import Federation
from .message import NO_PROOF, NodeMessage
from .verdicts import RejectReason

_FIELD_LIMBS = 4                        # a field element in the int64 state: 4 x 64 bits


def _to_limbs(x: int) -> list:
    return [int(np.int64(np.uint64((int(x) >> (64 * j)) & ((1 << 64) - 1))))
            for j in range(_FIELD_LIMBS)]


def _from_limbs(limbs) -> int:
    return sum(int(np.uint64(np.int64(v))) << (64 * j) for j, v in enumerate(limbs))


def _f64_bits(values) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.int64)


@dataclass(frozen=True)
class BoostingSpec:
    """A boosted-tree run's shapes: its statement, node count, and the int64 layouts of the
    root's state (the "model" w that rounds broadcast and the results store) and of a node's
    update (its histograms and new margin commitment)."""

    statement: GBDTStatementSpec
    n_nodes: int
    data_binding = True                 # always: every sample of a node in every proof
    verifier_checks_update = False
    fixed_point = MARGIN_FORMAT

    @property
    def params(self) -> GBDTParams:
        return self.statement.params

    @property
    def n_features(self) -> int:
        return self.statement.n_features

    @property
    def hist_shape(self) -> tuple:
        return (self.statement.n_nodes, self.n_features, self.params.n_bins)

    @property
    def _tree_size(self) -> int:
        J, L = self.params.n_internal, self.params.n_leaves
        return 5 * J + 2 * L            # feature, threshold, split, loss change; leaf; cover

    @property
    def n_params(self) -> int:
        """Entries of the state vector."""
        return self.params.n_trees * self._tree_size + self.n_nodes * (_FIELD_LIMBS + 1)

    @property
    def message_params(self) -> int:
        """Entries of a node's update: G and H, then margins_out in four 64-bit limbs."""
        return 2 * math.prod(self.hist_shape) + _FIELD_LIMBS

    # --- state -------------------------------------------------------------------------------
    def encode_state(self, trees, commitments, folded) -> np.ndarray:
        """The state vector of the trees (n_trees of them, the ungrown ones empty), each
        node's margin commitment and count of trees folded into it."""
        if len(trees) != self.params.n_trees or len(commitments) != self.n_nodes or \
                len(folded) != self.n_nodes:
            raise ValueError("state needs n_trees trees and a commitment and count per node")
        parts = []
        for t in trees:
            parts += [t.feature, t.threshold, t.is_split.astype(np.int64), t.leaf,
                      _f64_bits(t.loss_change), _f64_bits(t.cover)]
        parts.append(np.array([v for c in commitments for v in _to_limbs(c)], dtype=np.int64))
        parts.append(np.asarray(folded, dtype=np.int64))
        return np.concatenate([np.asarray(p, dtype=np.int64).reshape(-1) for p in parts])

    def decode_state(self, w) -> tuple:
        """(trees, commitments, folded) of a state vector; ValueError if it is not one."""
        w = np.asarray(w)
        if w.shape != (self.n_params,) or w.dtype != np.int64:
            raise ValueError(f"a boosting state is {self.n_params} int64 entries, got "
                             f"{w.dtype} {w.shape}")
        P, J, L = self.params, self.params.n_internal, self.params.n_leaves
        trees, at = [], 0
        for _ in range(P.n_trees):
            sizes = (J, J, J, L, J, J + L)
            chunks = []
            for n in sizes:
                chunks.append(w[at:at + n].copy())
                at += n
            feature, threshold, split, leaf, loss, cover = chunks
            if feature.min() < 0 or feature.max() >= self.n_features or threshold.min() < 0 \
                    or threshold.max() >= P.n_bins or not np.isin(split, (0, 1)).all():
                raise ValueError("a tree of the state has splits outside its features and bins")
            trees.append(Tree(feature, threshold, split.astype(bool),
                              MARGIN_FORMAT.check(leaf, "leaf weight"),
                              loss.view(np.float64), cover.view(np.float64)))
        limbs = w[at:at + _FIELD_LIMBS * self.n_nodes].reshape(self.n_nodes, _FIELD_LIMBS)
        commitments = [_from_limbs(row) for row in limbs]
        folded = w[at + _FIELD_LIMBS * self.n_nodes:].copy()
        if folded.min(initial=0) < 0 or folded.max(initial=0) > P.n_trees:
            raise ValueError("a node's count of folded trees is outside [0, n_trees]")
        return trees, commitments, folded

    # --- updates -----------------------------------------------------------------------------
    def encode_update(self, G, H, margins_out: int) -> np.ndarray:
        return np.concatenate([np.asarray(G, np.int64).reshape(-1),
                               np.asarray(H, np.int64).reshape(-1),
                               np.array(_to_limbs(margins_out), dtype=np.int64)])

    def decode_update(self, u) -> tuple:
        """(G, H, margins_out) of a node's update; ValueError for one no honest node sends
        (wrong shape, a sum outside what its capacity of samples can give, margins_out not a
        field element)."""
        if not isinstance(u, np.ndarray) or u.shape != (self.message_params,) or \
                u.dtype != np.int64:
            raise ValueError(f"an update is {self.message_params} int64 entries")
        n = math.prod(self.hist_shape)
        G, H = u[:n].reshape(self.hist_shape), u[n:2 * n].reshape(self.hist_shape)
        N = self.statement.capacity
        if np.abs(G).max() > N << GRAD_FRAC_BITS or H.min() < 0 or \
                H.max() > N << (HESS_FRAC_BITS - 2):
            raise ValueError("a histogram sum outside what the node's samples can give")
        m_out = _from_limbs(u[2 * n:])
        if m_out >= R:
            raise ValueError("margins_out is not a field element")
        return G, H, m_out

    def position(self, t: int) -> tuple:
        """(tree, level) grown in round t."""
        return divmod(t - 1, self.params.max_depth)

    def previous_tree(self, trees, t: int) -> Tree:
        """The tree whose weights round t's proofs fold into the margins."""
        tau, d = self.position(t)
        return trees[tau - 1] if d == 0 and tau >= 1 else Tree.empty(self.params)

    def folded_before(self, t: int) -> int:
        """k_i a node needs before round t (trees in its committed margins)."""
        tau, d = self.position(t)
        return tau - 1 if d == 0 and tau >= 1 else tau


@dataclass(frozen=True)
class BoostingFederation(Federation):
    """A `Federation` whose model is boosted trees: the float data, its bin edges and each
    node's committed binned samples (labels flipped for a label-flipping node: data
    poisoning chooses the data before it is committed)."""

    params: GBDTParams = None
    edges: BinEdges = None
    test_bins: np.ndarray = None
    bins: list = field(default_factory=list)        # per node: its samples' bins

    def node(self, node_id: int):
        return BoostingNode(node_id, self)

    def initial_model(self) -> np.ndarray:
        spec = self.spec
        zero = margin_commitment(np.zeros(spec.statement.capacity, np.int64))
        return spec.encode_state([Tree.empty(self.params)] * self.params.n_trees,
                                 [zero] * self.n_nodes, [0] * self.n_nodes)

    def extra_metadata(self) -> dict:
        return {"gbdt_edges": [list(e) for e in self.edges.edges],
                "gbdt_capacity": self.spec.statement.capacity}

    def tree(self, node_id: int) -> CommittedData:
        """The node's committed data (built on first use)."""
        if node_id not in self.trees:
            labels = self.dataset.y_train[self.partition[node_id]]
            if self.malicious[node_id] and self.attack.kind == "label_flip":
                labels = 1 - labels
            self.trees[node_id] = CommittedData.build(self.bins[node_id], labels,
                                                      self.params.n_bins,
                                                      self.spec.statement.capacity)
        return self.trees[node_id]

    def process_round(self, t, w, messages, step, commitments, unregistered=()):
        return process_boosting_round(self, t, w, messages, step, commitments, unregistered)

    def ensemble(self, w) -> Ensemble:
        trees, _, _ = self.spec.decode_state(w)
        return Ensemble(self.params, self.edges, trees)


def params_of(model) -> GBDTParams:
    """The GBDTParams of a [model] section."""
    return GBDTParams(n_trees=model.n_trees, max_depth=model.max_depth, n_bins=model.n_bins,
                      learning_rate=model.learning_rate, reg_lambda=model.reg_lambda,
                      gamma=model.gamma, min_child_weight=model.min_child_weight)


def build_boosting_federation(cfg, with_statement=True) -> BoostingFederation:
    """The boosted-tree federation of a config (deterministic, as `build_federation`)."""
    from .attacks import ATTACK_OPTIONS, Attack, malicious_nodes
    from .data import load_float_dataset, make_partition

    seed = cfg.run.seed
    data = load_float_dataset(cfg.data.dataset, seed, cfg.data.test_fraction)
    partition = make_partition(data, cfg.nodes.count, cfg.data.partition,
                               cfg.data.dirichlet_alpha, seed, cfg.data.samples_per_node)
    params = params_of(cfg.model)
    edges = quantile_edges(data.X_train, params.n_bins)
    train_bins = edges.transform(data.X_train)
    capacity = max(len(p) for p in partition)
    spec = BoostingSpec(GBDTStatementSpec(params, data.n_features, capacity), len(partition))
    a = cfg.attack
    options = {k: getattr(a, k) for k in ATTACK_OPTIONS.get(a.kind, {})
               if not (k == "scale" and a.scale == 0)}
    proofs = cfg.aggregation.proofs
    statement = GBDTLevelStatement(spec.statement) if proofs and with_statement else None
    return BoostingFederation(
        data, partition, spec, seed, Attack(a.kind, a.fraction, options),
        malicious_nodes(cfg.nodes.count, a.fraction, seed), proofs, statement,
        backend=cfg.run.backend, config=cfg, params=params, edges=edges,
        test_bins=edges.transform(data.X_test), bins=[train_bins[p] for p in partition])


# --- a node --------------------------------------------------------------------------------

class BoostingNode:
    """One node of a boosted-tree run: its round's histograms and proof, or an attack's."""

    def __init__(self, node_id: int, fed: BoostingFederation):
        if not 0 <= node_id < fed.n_nodes:
            raise ValueError(f"node id {node_id} is not in 0..{fed.n_nodes - 1}")
        self.id = node_id
        self.fed = fed
        self.malicious = bool(fed.malicious[node_id])
        self._previous = None           # its own message of the last round (replay)

    def _honest(self, node_id: int, t: int, w) -> NodeMessage:
        fed, spec = self.fed, self.fed.spec
        t0 = time.perf_counter()
        trees, _, folded = spec.decode_state(w)
        data = fed.tree(node_id)
        need = spec.folded_before(t)
        if folded[node_id] != need:
            return NodeMessage(t, node_id, np.zeros(spec.message_params, np.int64), NO_PROOF,
                               time.perf_counter() - t0,
                               refused=f"out of sync: its committed margins hold "
                                       f"{folded[node_id]} trees, round {t} needs {need}")
        tau, _ = spec.position(t)
        margins = Ensemble(fed.params, fed.edges, trees[:need]).margins(data.bins)
        previous = spec.previous_tree(trees, t)
        if not fed.proofs:
            G, H, m_out = level_ref(spec.statement, data, margins, previous, trees[tau])
            return NodeMessage(t, node_id, spec.encode_update(G, H, m_out), NO_PROOF,
                               time.perf_counter() - t0)
        outputs, wit = fed.statement.witness(node_id, t, data, margins, previous, trees[tau])
        t1 = time.perf_counter()
        from hpc_zkfl.groth16 import prove
        from hpc_zkfl.groth16.formats import proof_to_bytes
        proof = proof_to_bytes(prove(fed.proving_key, fed.statement.r1cs, wit.witness,
                                     backend=fed.backend, h_table=fed.h_table()))
        G, H = fed.statement.histograms(outputs)
        return NodeMessage(t, node_id, spec.encode_update(G, H, outputs[-1]),
                           proof, t1 - t0, time.perf_counter() - t1)

    def step(self, t: int, w, w_previous=None) -> NodeMessage:
        """The message this node sends in round t for the state w."""
        fed, kind = self.fed, self.fed.attack.kind
        if not self.malicious or kind in ("none", "label_flip"):
            return self._honest(self.id, t, w)
        msg = self._honest(self.id, t, w)
        if msg.refused:
            return msg
        if kind == "replay":
            old = self._replayed(t, w, w_previous)
            self._previous = msg
            return NodeMessage(t, self.id, old.update, old.proof, msg.local_seconds,
                               msg.prove_seconds, old.refused)
        if kind == "malformed":
            msg.proof = corrupt_proof_bytes(msg.proof, fed.node_rng(t, self.id, 1))
            return msg
        spec = fed.spec
        G, H, m_out = spec.decode_update(msg.update)
        if kind in ("subset", "superset"):
            G, H = self._other_data(t, w, kind)
        else:
            G, H = poison_histograms(fed.attack, G, H, spec.statement.capacity,
                                     fed.node_rng(t, self.id, 2))
        msg.update = spec.encode_update(G, H, m_out)
        return msg

    def _other_data(self, t, w, kind) -> tuple:
        """Honestly computed histograms of other data than the committed: half of it
        (subset), or it and the next node's samples (superset), clipped to what the
        statement allows so that only the proof can tell."""
        fed, spec = self.fed, self.fed.spec
        trees, _, _ = spec.decode_state(w)
        tau, _ = spec.position(t)
        data = fed.tree(self.id)
        bins, labels = data.bins, data.labels
        if kind == "subset":
            keep = max(1, len(labels) // 2)
            bins, labels = bins[:keep], labels[:keep]
        else:
            other = fed.tree((self.id + 1) % fed.n_nodes)
            bins = np.concatenate([bins, other.bins])
            labels = np.concatenate([labels, other.labels])
        m = Ensemble(fed.params, fed.edges, trees[:tau]).margins(bins)   # at the tree grown
        G, H = histograms_ref(bins, labels, m, trees[tau], spec.statement.depth,
                              fed.params.n_bins)
        return _clip_histograms(G, H, spec.statement.capacity)

    def _replayed(self, t: int, w, w_previous) -> NodeMessage:
        """Its own message of the last round (a replayed level), or the next node's."""
        if self.fed.attack.options.get("source", "old_round") == "old_round" and t > 1:
            if self._previous is None or self._previous.round != t - 1:
                if w_previous is None:
                    raise ValueError("a replayer needs the previous round's state to resume")
                self._previous = self._honest(self.id, t - 1, w_previous)
            return self._previous
        return self._honest((self.id + 1) % self.fed.n_nodes, t, w)


def _clip_histograms(G, H, capacity: int) -> tuple:
    g_max, h_max = capacity << GRAD_FRAC_BITS, capacity << (HESS_FRAC_BITS - 2)
    return (np.clip(np.asarray(G), -g_max, g_max).astype(np.int64),
            np.clip(np.asarray(H), 0, h_max).astype(np.int64))


def poison_histograms(attack, G, H, capacity: int, rng) -> tuple:
    """The histograms a model-poisoning node sends in place of its honest (G, H), clipped to
    the statement's bounds (so only the proof can betray them): scaled by s (scaling),
    gradients negated and scaled (sign_flip), Gaussian noise of noise_std real units on every
    entry (gaussian: fabricated sums), all zero (free_rider)."""
    kind, opt = attack.kind, attack.options
    G, H = np.asarray(G, np.float64), np.asarray(H, np.float64)
    if kind == "scaling":
        G, H = G * opt["scale"], H * opt["scale"]
    elif kind == "sign_flip":
        G, H = -G * opt["scale"], H * opt["scale"]
    elif kind == "gaussian":
        G = G + rng.normal(0.0, opt["noise_std"], G.shape) * (1 << GRAD_FRAC_BITS)
        H = H + rng.normal(0.0, opt["noise_std"], H.shape) * (1 << HESS_FRAC_BITS)
    elif kind == "free_rider":
        G, H = np.zeros_like(G), np.zeros_like(H)
    bound = float(capacity << HESS_FRAC_BITS)       # keeps the rounding inside int64
    return _clip_histograms(np.rint(np.clip(G, -bound, bound)),
                            np.rint(np.clip(H, -bound, bound)), capacity)


# --- the root ------------------------------------------------------------------------------

def _open_nodes(tree: Tree, depth: int) -> list:
    """Which nodes at `depth` are still growing: every ancestor a real split."""
    out = []
    for k in range(1 << depth):
        j, ok = (1 << depth) - 1 + k, True
        while j > 0:
            j = (j - 1) // 2
            ok &= bool(tree.is_split[j])
        out.append(ok)
    return out


def aggregate_histograms(strategy: str, hists: list) -> tuple:
    """The root's (G, H) from the accepted nodes' histograms: their exact sum (fedavg), or n
    times the coordinate-wise median (median: the unproven robust baseline, Yin et al., ICML
    2018), rounded half to even."""
    Gs = np.stack([h[0] for h in hists])
    Hs = np.stack([h[1] for h in hists])
    if strategy == "median":
        n = len(hists)
        return (np.rint(n * np.median(Gs, axis=0)).astype(np.int64),
                np.rint(n * np.median(Hs, axis=0)).astype(np.int64))
    return Gs.sum(axis=0), Hs.sum(axis=0)


def process_boosting_round(fed: BoostingFederation, t: int, w, messages: dict, step,
                           commitments: dict = None, unregistered=()):
    """Judge round t's messages and grow its level: `hpc_zkfl.fl.server.process_round` for
    boosted trees (the same verdicts, plus OUT_OF_SYNC)."""
    from hpc_zkfl.groth16.formats import proofs_from_bytes

    from .server import RoundOutcome, screen, verify_batch

    spec, n = fed.spec, fed.n_nodes
    trees, margins_commit, folded = spec.decode_state(w)
    tau, d = spec.position(t)
    need = spec.folded_before(t)
    previous = spec.previous_tree(trees, t)
    reason = np.full(n, RejectReason.ACCEPTED, dtype=np.int8)
    late = np.zeros(n, dtype=bool)
    verify_time = np.zeros(n)
    norm = np.full(n, np.nan)
    updates, refused = {}, {}
    for i in range(n):
        msg = messages.get(i)
        verdict = screen(t, i, msg, unregistered)
        if i not in unregistered and folded[i] != need:
            verdict = RejectReason.OUT_OF_SYNC
        if verdict is not None:
            reason[i], late[i] = verdict, verdict == RejectReason.LATE
            continue
        if msg.refused:
            reason[i] = RejectReason.NO_PROOF
            refused[i] = msg.refused
            continue
        try:
            G, H, m_out = spec.decode_update(msg.update)
        except ValueError:
            reason[i] = RejectReason.MALFORMED
            continue
        norm[i] = float(np.sqrt(np.sum((G / (1 << GRAD_FRAC_BITS)) ** 2)))
        updates[i] = (G, H, m_out)

    t0 = time.perf_counter()
    if fed.proofs and updates:
        items, owners = [], []
        proofs = proofs_from_bytes([messages[i].proof for i in updates])
        for (i, (G, H, m_out)), proof in zip(updates.items(), proofs):
            c = (commitments or {}).get(i)
            if proof is None or c is None:
                reason[i] = RejectReason.MALFORMED if proof is None else \
                    RejectReason.UNREGISTERED
                continue
            outputs = pack_histograms(fed.statement.layout, G, H) + [m_out]
            items.append((fed.statement.public_signals(outputs, i, t, c, margins_commit[i],
                                                       previous, trees[tau]), proof))
            owners.append(i)
        verify_batch(fed, items, owners, reason, verify_time, t0)
    updates = {i: u for i, u in updates.items() if reason[i] == RejectReason.ACCEPTED}
    t_verify = time.perf_counter() - t0

    t0 = time.perf_counter()
    for i, (_, _, m_out) in updates.items():
        margins_commit[i], folded[i] = m_out, tau
    tree = trees[tau]
    if updates:
        G, H = aggregate_histograms(step.strategy, [u[:2] for u in updates.values()])
    else:
        G = H = np.zeros(spec.hist_shape, np.int64)
    G_d, H_d = histograms_at(G, H, d)
    grow_level(tree, d, G_d, H_d, fed.params, _open_nodes(tree, d),
               [len(e) + 1 for e in fed.edges.edges])
    new_w = spec.encode_state(trees, margins_commit, folded)
    t_aggregate = time.perf_counter() - t0

    t0 = time.perf_counter()
    ens = Ensemble(fed.params, fed.edges, trees[:tau + 1])
    margins = MARGIN_FORMAT.decode(ens.margins(fed.test_bins))
    y = fed.dataset.y_test
    accuracy = float(np.mean((margins > 0).astype(np.int64) == y))
    p = 1.0 / (1.0 + np.exp(-margins))
    eps = 1e-12
    loss = float(-np.mean(y * np.log(p + eps) + (1 - y) * np.log(1 - p + eps)))
    t_evaluate = time.perf_counter() - t0
    return RoundOutcome(new_w, reason == RejectReason.ACCEPTED, reason, late, verify_time,
                        norm, accuracy, loss,
                        {"verify": t_verify, "aggregate": t_aggregate, "evaluate": t_evaluate},
                        0, refused)


def load_ensemble(path, round_index: int = None) -> Ensemble:
    """The trees of a boosted-tree results file after `round_index` (default: the last
    complete round), with the run's parameters and bin edges."""
    from hpc_zkfl.config import parse_config
    from hpc_zkfl.io.results import load_results

    res = load_results(path)
    meta = res.metadata
    if "gbdt_edges" not in meta:
        raise ValueError(f"{path}: not a boosted-tree run")
    cfg = parse_config(meta["config_toml"], str(path))
    params = params_of(cfg.model)
    edges = BinEdges(tuple(tuple(float(v) for v in e) for e in meta["gbdt_edges"]),
                     params.n_bins)
    spec = BoostingSpec(GBDTStatementSpec(params, edges.n_features, int(meta["gbdt_capacity"])),
                        len(res.malicious))
    done = len(res.models) - 1
    r = done if round_index is None else int(round_index)
    if not 0 <= r <= done:
        raise ValueError(f"{path}: round {r} is not in 0..{done}")
    trees, _, _ = spec.decode_state(res.models[r])
    grown = -(-r // params.max_depth)               # trees touched by rounds 1..r
    return Ensemble(params, edges, trees[:grown])


__all__ = ["BoostingFederation", "BoostingNode", "BoostingSpec", "aggregate_histograms",
           "build_boosting_federation", "load_ensemble", "params_of", "poison_histograms",
           "process_boosting_round"]
