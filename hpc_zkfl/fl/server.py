"""The root's round, without transport: screen the nodes' messages, batch-verify their
proofs, aggregate the accepted updates, evaluate the new global model.

Reasons for rejecting a node's update (codes of `hpc_zkfl.fl.verdicts.RejectReason`): no message
before the deadline (LATE), a header for another round or node (WRONG_ROUND_OR_NODE), an update
of the wrong shape or proof bytes that do not decode to curve points in the right subgroups
(MALFORMED), no proof because the node's own prover refused (NO_PROOF; with proofs off: the
node's fixed-point update is out of range, and it sits the round out), a proof that fails
verification against (t, i, w_t, u[, c_i]) or, in public mode, an update outside the
fixed-point range or the norm bound, the part of the statement the verifier checks on the
public u itself (INVALID_PROOF), and, for the unproven robust
aggregators, an update the aggregator left out (NOT_SELECTED); a node refused before round 1
(its rank's handshake or its dataset commitment) is UNREGISTERED.  Nodes that are not among the
round's participants (IDLE) are not asked and anything they send is ignored.  A malformed
message never raises: it is one more rejection.
"""
import time
from dataclasses import dataclass

import numpy as np

from .federation import Federation
from .message import NodeMessage
from .simulation import accuracy_ref
from .strategies import aggregate
from .verdicts import RejectReason


@dataclass
class ServerStep:
    """How the server turns the accepted updates into the next model: which strategy and its
    options (`hpc_zkfl.fl.strategies.aggregate`), and the server learning rate: w_{t+1} = w_t + eta_t * aggregate, eta_t = server_lr * 2^(-(t-1) / half_life)
    (constant without a half-life).  A server step size apart from the nodes' one is FedOpt's
    (Reddi et al., "Adaptive Federated Optimization", ICLR 2021); decaying it lets the model
    settle instead of moving with every round's draw of participants, without changing what a
    node proves."""

    strategy: str = "fedavg"
    options: dict = None
    server_lr: float = 1.0
    half_life: float = 0.0

    def step_size(self, t: int) -> float:
        if not self.half_life:
            return self.server_lr
        return self.server_lr * 0.5 ** ((t - 1) / self.half_life)


@dataclass
class RoundOutcome:
    w: np.ndarray                       # the new global model
    accepted: np.ndarray                # (n_nodes,) bool
    reason: np.ndarray                  # (n_nodes,) int8 RejectReason
    late: np.ndarray                    # (n_nodes,) bool
    verify_time: np.ndarray             # (n_nodes,) seconds (a batch's time split evenly)
    update_norm: np.ndarray             # (n_nodes,) real units; NaN without a usable update
    accuracy: float
    loss: float
    times: dict                         # verify, aggregate, evaluate
    clamped: int = 0                    # model entries clamped to the fixed-point range
    refused: dict = None                # node -> why its own computation refused (NO_PROOF)


def _int64_vector(v, n_params: int):
    """v when it is an int64 vector of n_params entries (an update, or its low bits), else
    None."""
    if not isinstance(v, np.ndarray) or v.shape != (n_params,) or v.dtype != np.int64:
        return None
    return v


def _feasible(step: ServerStep, n: int):
    """The strategy and options to use for n updates: Krum needs n >= 2f + 3, which rejections
    can break; f is then lowered to what n allows, and below 3 updates the median is used."""
    options = dict(step.options or {})
    if step.strategy != "krum":
        return step.strategy, options
    if n < 3:
        return "median", {}
    options["n_malicious"] = min(options.get("n_malicious", 0), (n - 3) // 2)
    options["multi"] = min(options.get("multi", 1), n)
    return "krum", options


def process_round(fed: Federation, t: int, w, messages: dict, step: ServerStep,
                  commitments: dict = None, unregistered=()) -> RoundOutcome:
    """Judge round t's messages (node id -> NodeMessage; absent = late, for a participant)
    and step the model.  Nodes in `unregistered` were refused before round 1: whatever they
    send is not looked at."""
    from hpc_zkfl.groth16.formats import proofs_from_bytes

    spec, fmt, n = fed.spec, fed.spec.fixed_point, fed.n_nodes
    reason = np.full(n, RejectReason.ACCEPTED, dtype=np.int8)
    late = np.zeros(n, dtype=bool)
    verify_time = np.zeros(n)
    norm = np.full(n, np.nan)
    updates, refused = {}, {}
    participating = fed.participants(t)
    for i in range(n):
        if not participating[i]:
            reason[i] = RejectReason.IDLE
            continue
        msg = messages.get(i)
        verdict = screen(t, i, msg, unregistered)
        if verdict is not None:
            reason[i], late[i] = verdict, verdict == RejectReason.LATE
            continue
        u = _int64_vector(msg.update, spec.n_params)
        if u is None:
            reason[i] = RejectReason.MALFORMED
            continue
        norm[i] = float(np.sqrt(np.sum(fmt.decode(u) ** 2)))
        if msg.refused:                 # the node could not compute its update: it sits out
            reason[i] = RejectReason.NO_PROOF
            refused[i] = msg.refused
            continue
        if fed.proofs and spec.verifier_checks_update:
            if _int64_vector(msg.update_low, spec.n_params) is None:
                reason[i] = RejectReason.MALFORMED      # no low bits of the exact update
                continue
            if fed.statement.check_update(u, msg.update_low):
                reason[i] = RejectReason.INVALID_PROOF  # the statement's own part fails
                continue
        updates[i] = u

    t0 = time.perf_counter()
    if fed.proofs and updates:
        items, owners = [], []
        proofs = proofs_from_bytes([messages[i].proof for i in updates])
        for (i, u), proof in zip(updates.items(), proofs):
            if proof is None:
                reason[i] = RejectReason.MALFORMED
                continue
            c = commitments.get(i) if spec.data_binding and commitments else None
            if spec.data_binding and c is None:
                reason[i] = RejectReason.UNREGISTERED        # no registered dataset
                continue
            low = messages[i].update_low if spec.verifier_checks_update else None
            items.append((fed.statement.public_signals(t, i, w, u, commitment=c, low=low), proof))
            owners.append(i)
        verify_batch(fed, items, owners, reason, verify_time, t0)
        updates = {i: u for i, u in updates.items() if reason[i] == RejectReason.ACCEPTED}
    t_verify = time.perf_counter() - t0

    t0 = time.perf_counter()
    new_w = np.asarray(w, dtype=np.int64).copy()
    clamped = 0
    if updates:
        ids = sorted(updates)
        weights = [len(fed.partition[i]) for i in ids]
        strategy, options = _feasible(step, len(ids))
        delta, selected = aggregate(strategy, [updates[i] for i in ids], weights, **options)
        chosen = {ids[k] for k in selected}
        for i in ids:
            if i not in chosen:
                reason[i] = RejectReason.NOT_SELECTED
        new_w, clamped = server_step(step, t, new_w, delta, fmt)
    t_aggregate = time.perf_counter() - t0

    t0 = time.perf_counter()
    data = fed.dataset
    accuracy = accuracy_ref(spec, new_w, data.X_test, data.y_test)
    loss = evaluate_loss(fed, new_w)
    t_evaluate = time.perf_counter() - t0
    accepted = reason == RejectReason.ACCEPTED
    return RoundOutcome(new_w, accepted, reason, late, verify_time, norm, accuracy, loss,
                        {"verify": t_verify, "aggregate": t_aggregate, "evaluate": t_evaluate},
                        clamped, refused)


def screen(t: int, i: int, msg, unregistered=()):
    """Why node i's round-t message is refused before its content is read: UNREGISTERED,
    LATE (none), WRONG_ROUND_OR_NODE (a header for another round or node), MALFORMED (bytes
    that did not parse); None when it may be read."""
    if i in unregistered:
        return RejectReason.UNREGISTERED
    if msg is None:
        return RejectReason.LATE
    if not isinstance(msg, NodeMessage):
        return RejectReason.MALFORMED
    if msg.round != t or msg.node != i:
        return RejectReason.WRONG_ROUND_OR_NODE
    return None


def verify_batch(fed: Federation, items, owners, reason, verify_time, t0) -> None:
    """Batch-verify the round's proofs (items of node owners[k]): INVALID_PROOF for the
    failures, each node's share of the time since t0 in verify_time."""
    from hpc_zkfl.groth16 import batch_verify
    ok = batch_verify(fed.proving_key.vk, items, backend=fed.backend) if items else []
    for i, good in zip(owners, ok):
        if not good:
            reason[i] = RejectReason.INVALID_PROOF
    if owners:
        verify_time[owners] = (time.perf_counter() - t0) / len(owners)


def server_step(step: ServerStep, t: int, w, delta, fmt) -> tuple:
    """(w + eta_t delta clamped to the fixed-point range, number of entries clamped)."""
    eta = step.step_size(t)
    if eta != 1.0:                              # fixed point: round to the nearest unit
        delta = np.rint(eta * np.asarray(delta, dtype=np.float64)).astype(np.int64)
    new_w = np.asarray(w, dtype=np.int64) + delta
    clamped = int(np.count_nonzero((new_w < fmt.lo) | (new_w > fmt.hi)))
    return np.clip(new_w, fmt.lo, fmt.hi), clamped


def evaluate_loss(fed: Federation, w) -> float:
    """The training loss (mean over test samples of the summed binary cross-entropies) of the
    global model, in float (the yardstick's definition)."""
    from hpc_zkfl.models import unflatten

    from .float_reference import batch_loss

    params = unflatten(fed.spec, fed.spec.fixed_point.decode(w))
    return float(batch_loss(fed.spec.model, params, fed.dataset.X_test_float, fed.dataset.y_test,
                            dtype="float64"))

__all__ = ["RoundOutcome", "ServerStep", "evaluate_loss", "process_round", "screen",
           "server_step", "verify_batch"]
