"""The round protocol, written once: send the round out, collect the nodes' messages, judge,
aggregate, evaluate, record.

A transport carries a round to the nodes and their messages back; it is all that differs
between an in-process run (`InProcess`: every node computed here, one after the other) and the
MPI runtime (`hpc_zkfl.mpi.runtime`, whose root is a transport over byte frames).  Judging,
aggregation and evaluation are `hpc_zkfl.fl.server.process_round`; recording is the results
writer's `append_round`.

    for t in rounds:   transport.start_round(t, w_t, w_{t-1})
                       messages = transport.collect(t, ...)   until all or the deadline
                       outcome = process_round(...)           verify, aggregate, evaluate
                       writer.append_round(...)               the round is complete on disk
"""
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Protocol

import numpy as np

log = logging.getLogger("hpc_zkfl.run")


class Transport(Protocol):
    """What the round protocol needs from whatever carries its messages."""

    owner: list             # the rank (or worker) hosting each node: ranks work in parallel
    commitments: dict       # node -> registered dataset commitment (data binding)
    unregistered: dict      # node -> why it was refused before round 1

    def start_round(self, t: int, w, w_prev) -> None:
        """Send round t (the model w_t, and w_{t-1} for replayers) to every node."""

    def collect(self, t: int, t_start: float, deadline: float, w, w_prev) -> tuple:
        """({node: NodeMessage, or the ValueError of bytes that did not parse}, count of
        stale messages of earlier rounds dropped) for round t, until every node expected has
        answered or the deadline (time.perf_counter()) passes."""


class InProcess:
    """Every node computed in this process, in node order: the one-rank run, the tests.

    In two-aggregator mode the helper is an `Aggregator` here too (`helper`), holding only the
    messages addressed to it; `tap(role, data)`, if given, sees every byte string delivered
    to the leader (role 0) and to the helper (role 1), as a test of what each learns needs.
    aggregators=False: the nodes only (the MPI root's own), no local helper and no key check
    (the MPI transport has its own)."""

    def __init__(self, fed, nodes=None, slow=None, tap=None, aggregators=True):
        self.fed = fed
        self.nodes = nodes if nodes is not None else [fed.node(i) for i in range(fed.n_nodes)]
        self.owner = [0] * fed.n_nodes
        self.slow = slow or (lambda node_id: None)
        self.tap = tap or (lambda role, data: None)
        self.commitments = ({node.id: fed.tree(node.id).root for node in self.nodes}
                            if fed.spec.data_binding else {})
        self.unregistered = {}
        self.helper = None
        if fed.private and aggregators:
            from .private import HELPER, Aggregator
            # The nodes check the key before proving with it, wherever it came from: its
            # phase 2 when it has one (ceremony.check), else its form (a key made directly).
            if fed.transcript is not None:
                from .ceremony import check
                check(fed, fed.key())
            else:
                from hpc_zkfl.groth16.key_check import check_proving_key
                check_proving_key(fed.proving_key, fed.statement.r1cs, backend=fed.backend)
            self.helper = Aggregator(fed, HELPER, fed.min_accepted)

    def start_round(self, t, w, w_prev):
        """Nothing to send: `collect` computes the nodes with the round's model."""

    def collect(self, t, t_start, deadline, w, w_prev):
        from .message import NodeMessage
        from .node import step_nodes
        from .private import ShareMessage
        messages, to_helper = {}, {}
        participating = self.fed.participants(t)
        active = [node for node in self.nodes if participating[node.id]]
        for node, msg in step_nodes(active, t, w, w_prev, before=self.slow):
            if isinstance(msg, Exception):
                raise msg
            if time.perf_counter() > deadline:
                continue
            # Through their bytes, as a transport would carry them.
            if not self.fed.private:
                data = msg.to_bytes()
                self.tap(0, data)
                messages[node.id] = NodeMessage.from_bytes(data)
                continue
            for role, part, box in ((0, msg[0], messages), (1, msg[1], to_helper)):
                if part is not None:
                    data = part.to_bytes()
                    self.tap(role, data)
                    box[node.id] = ShareMessage.from_bytes(data)
        if self.helper is not None:
            self.helper.receive(t, to_helper)
        return messages, 0


class RoundLog:
    """A writer that keeps the rounds' records in memory, for runs that need no results file
    (benchmarks, tests): `records[-1].w` is the final model."""

    def __init__(self):
        self.records = []

    def append_round(self, record) -> None:
        self.records.append(record)


@dataclass(frozen=True)
class RoundPlan:
    """Which rounds to run and how the server steps: rounds first..last of a run of `total`,
    each waiting at most deadline_s for the nodes."""

    first: int
    last: int
    step: object                        # hpc_zkfl.fl.server.ServerStep
    deadline_s: float = math.inf
    kill_after_round: int = 0           # fault injection: the root dies after this round
    total: int = 0                      # rounds of the whole run (progress); 0: last
    show_progress: bool = True

    @classmethod
    def of(cls, cfg, first: int) -> "RoundPlan":
        """Rounds first..cfg.run.rounds of the run `cfg` describes."""
        from .federation import server_step_of
        return cls(first, cfg.run.rounds, server_step_of(cfg), cfg.run.round_deadline_s,
                   cfg.faults.kill_after_round, cfg.run.rounds)


def run_rounds(plan: RoundPlan, fed, transport: Transport, writer, w, w_prev,
               on_round: Callable = None) -> tuple:
    """The rounds of `plan`, each recorded by `writer` before the next starts; on_round(t,
    outcome) after each (the server's `RoundOutcome`).  Progress: a bar on a terminal, one log
    line a round otherwise.  Returns the last two models (w, w_prev)."""
    from tqdm import tqdm

    from .message import NodeMessage
    from .private import LEADER, Aggregator, process_private_round
    from .record import RoundRecord
    from .verdicts import RejectReason

    leader = Aggregator(fed, LEADER, fed.min_accepted) if fed.private else None
    verified = 0
    interactive = sys.stderr.isatty()
    total = plan.total or plan.last
    bar = tqdm(total=total, initial=plan.first - 1, desc="rounds", unit="round",
               disable=None if interactive and plan.show_progress else True)
    try:
        for t in range(plan.first, plan.last + 1):
            t_start = time.perf_counter()
            transport.start_round(t, w, w_prev)
            deadline = t_start + plan.deadline_s
            messages, stale = transport.collect(t, t_start, deadline, w, w_prev)
            t_gather = time.perf_counter() - t_start
            if stale:
                log.info("round %d: dropped %d late message(s) of earlier rounds", t, stale)
            if fed.private:
                judged = messages
                outcome = process_private_round(fed, t, w, messages, plan.step, leader,
                                                transport.helper, transport.commitments,
                                                unregistered=transport.unregistered)
            else:
                judged = {i: (m if isinstance(m, NodeMessage) else _malformed(t, i))
                          for i, m in messages.items()}
                outcome = fed.process_round(t, w, judged, plan.step, transport.commitments,
                                            unregistered=transport.unregistered)
            prove_time = np.array([getattr(judged.get(i), "prove_seconds", np.nan)
                                   for i in range(fed.n_nodes)])
            local_time = np.array([getattr(judged.get(i), "local_seconds", 0.0)
                                   for i in range(fed.n_nodes)])
            times = {"local": _critical_path(local_time, transport.owner),
                     "prove": _critical_path(np.nan_to_num(prove_time), transport.owner),
                     "gather": t_gather, **outcome.times}
            record = RoundRecord.build(
                round=t, accuracy=outcome.accuracy, loss=outcome.loss,
                accepted=outcome.accepted, reject_reason=outcome.reason, late=outcome.late,
                proof_time=prove_time, verify_time=outcome.verify_time,
                update_norm=outcome.update_norm, w=outcome.w, times=times,
                write_started=time.perf_counter(), round_started=t_start)
            writer.append_round(record)
            if t == plan.kill_after_round:
                log.warning("fault injection: the root dies after round %d", t)
                os._exit(137)                   # as a killed job: no clean-up, no finalize
            if on_round is not None:
                on_round(t, outcome)
            idle = outcome.reason == RejectReason.IDLE
            verified += int(np.sum(~outcome.late & ~idle)) if fed.proofs else 0
            w_prev, w = w, outcome.w
            accepted = int(outcome.accepted.sum())
            rejected = int((~outcome.accepted & ~outcome.late & ~idle).sum())
            late = int(outcome.late.sum())
            bar.update(1)
            bar.set_postfix(acc=f"{outcome.accuracy:.3f}", accepted=accepted,
                            rejected=rejected, late=late, proofs_checked=verified)
            if not interactive and plan.show_progress:      # a batch log: one line a round
                log.info("round %d/%d: accuracy %.4f, accepted %d, rejected %d, late %d, "
                         "%.2f s", t, total, outcome.accuracy, accepted, rejected,
                         late, time.perf_counter() - t_start)
    finally:
        bar.close()
    return w, w_prev


def run_in_process(cfg, out, resume: bool = False) -> int:
    """The whole run of `cfg` in this process, without MPI, into the results file `out` (its
    proving key beside it; resume: continue it after its last complete round): what
    `mpiexec -n N hpc-zkfl run` computes, bit for bit.  Returns 0."""
    from .federation import build_federation

    out = Path(out)
    fed = build_federation(cfg)
    if fed.proofs:
        fed, _, _ = fed.with_proving_key(out.with_suffix(".pk"), reuse=resume)
    writer, first, w, w_prev = fed.open_results(out, resume)
    with writer:
        run_rounds(RoundPlan.of(cfg, first), fed, InProcess(fed), writer, w, w_prev)
    return 0


def _malformed(t, i):
    from .message import NodeMessage
    # Bytes that did not parse: judged as a message with an unusable update.
    return NodeMessage(t, i, np.zeros(0, dtype=np.int64), b"")


def _critical_path(per_node, owner):
    """The longest per-rank total of a per-node time (ranks work in parallel)."""
    totals = {}
    for i, v in enumerate(per_node):
        totals[owner[i]] = totals.get(owner[i], 0.0) + float(v)
    return max(totals.values(), default=0.0)


__all__ = ["InProcess", "RoundLog", "RoundPlan", "Transport", "run_in_process",
           "run_rounds"]
