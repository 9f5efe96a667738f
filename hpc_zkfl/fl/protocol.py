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
import os
import sys
import time
from pathlib import Path
from typing import Protocol

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
    """Every node computed in this process, in node order: the one-rank run, the tests."""

    def __init__(self, fed, nodes=None, slow=None):
        from .node import FederatedNode
        self.fed = fed
        self.nodes = nodes if nodes is not None else [FederatedNode(i, fed)
                                                      for i in range(fed.n_nodes)]
        self.owner = [0] * fed.n_nodes
        self.slow = slow or (lambda node_id: None)
        self.commitments = ({node.id: fed.tree(node.id).root for node in self.nodes}
                            if fed.spec.data_binding else {})
        self.unregistered = {}

    def start_round(self, t, w, w_prev):
        """Nothing to send: `collect` computes the nodes with the round's model."""

    def collect(self, t, t_start, deadline, w, w_prev):
        from .message import NodeMessage
        messages = {}
        participating = self.fed.participants(t)
        for node in self.nodes:
            if not participating[node.id]:
                continue
            self.slow(node.id)
            msg = node.step(t, w, w_prev)
            if time.perf_counter() <= deadline:     # through its bytes, as a transport would
                messages[node.id] = NodeMessage.from_bytes(msg.to_bytes())
        return messages, 0


class RoundLog:
    """A writer that keeps the rounds' records in memory, for runs that need no results file
    (benchmarks, tests): `records[-1].w` is the final model."""

    def __init__(self):
        self.records = []

    def append_round(self, record) -> None:
        self.records.append(record)


def run_rounds(cfg, fed, transport: Transport, writer, w, w_prev, first_round: int) -> None:
    """Rounds first_round..cfg.run.rounds of the run, each recorded by `writer` before the
    next starts.  Progress: a bar on a terminal, one log line a round otherwise."""
    from tqdm import tqdm

    from hpc_zkfl.io.results import RoundRecord

    from .federation import server_step_of
    from .message import NodeMessage
    from .server import process_round
    from .verdicts import RejectReason

    step = server_step_of(cfg)
    verified = 0
    interactive = sys.stderr.isatty()
    bar = tqdm(total=cfg.run.rounds, initial=first_round - 1, desc="rounds", unit="round",
               disable=None if interactive else True)
    try:
        for t in range(first_round, cfg.run.rounds + 1):
            t_start = time.perf_counter()
            transport.start_round(t, w, w_prev)
            deadline = t_start + cfg.run.round_deadline_s
            messages, stale = transport.collect(t, t_start, deadline, w, w_prev)
            t_gather = time.perf_counter() - t_start
            if stale:
                log.info("round %d: dropped %d late message(s) of earlier rounds", t, stale)
            judged = {i: (m if isinstance(m, NodeMessage) else _malformed(t, i))
                      for i, m in messages.items()}
            outcome = process_round(fed, t, w, judged, step, transport.commitments,
                                    unregistered=transport.unregistered)
            prove_time = np.array([judged[i].prove_seconds if i in judged else np.nan
                                   for i in range(fed.n_nodes)])
            local_time = np.array([judged[i].local_seconds if i in judged else 0.0
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
            if t == cfg.faults.kill_after_round:
                log.warning("fault injection: the root dies after round %d", t)
                os._exit(137)                   # as a killed job: no clean-up, no finalize
            idle = outcome.reason == RejectReason.IDLE
            verified += int(np.sum(~outcome.late & ~idle)) if fed.proofs else 0
            w_prev, w = w, outcome.w
            accepted = int(outcome.accepted.sum())
            rejected = int((~outcome.accepted & ~outcome.late & ~idle).sum())
            late = int(outcome.late.sum())
            bar.update(1)
            bar.set_postfix(acc=f"{outcome.accuracy:.3f}", accepted=accepted,
                            rejected=rejected, late=late, proofs_checked=verified)
            if not interactive:                 # a batch log: one line a round
                log.info("round %d/%d: accuracy %.4f, accepted %d, rejected %d, late %d, "
                         "%.2f s", t, cfg.run.rounds, outcome.accuracy, accepted, rejected,
                         late, time.perf_counter() - t_start)
    finally:
        bar.close()


def open_results(cfg, fed, out, resume: bool, *, n_ranks: int = 1, hosts=(),
                 registration=None):
    """The run's results file: created with the run's metadata and start model, or (resume)
    reopened after its last complete round.  Returns (writer, first round to run, w, w_prev).
    registration: {node: why} of the nodes refused before round 1."""
    from hpc_zkfl.backends import resolve_backend
    from hpc_zkfl.io.results import ResultsWriter, collect_metadata, file_sha256
    from hpc_zkfl.machine import device_name

    from .federation import initial_model

    out = Path(out)
    run_meta = {"registration": {str(i): why for i, why in sorted((registration or {}).items())}}
    if fed.proofs:
        run_meta["proving_key_sha256"] = file_sha256(out.with_suffix(".pk"))
    if resume:
        writer = ResultsWriter.open_for_resume(
            out, n_nodes=fed.n_nodes, n_params=fed.spec.n_params,
            metadata={"n_ranks": n_ranks, "hosts": list(hosts), **run_meta})
        done = writer.completed_rounds
        log.info("resuming %s after round %d of %d", out, done, cfg.run.rounds)
        return (writer, done + 1, writer.model(done),
                writer.model(done - 1) if done >= 1 else None)
    backend = resolve_backend(fed.backend)          # what "auto" picks here
    meta = collect_metadata(cfg.source, cfg.as_dict(), backend, device_name(backend), n_ranks,
                            list(hosts))
    meta.update(run_meta)
    w = initial_model(fed)
    writer = ResultsWriter.create(out, meta, fed.n_nodes, fed.spec.n_params,
                                  fed.spec.fixed_point.frac_bits, fed.malicious,
                                  [fed.attack.kind if m else "none" for m in fed.malicious], w)
    return writer, 1, w, None


def run_in_process(cfg, out, resume: bool = False) -> int:
    """The whole run of `cfg` in this process, without MPI, into the results file `out` (its
    proving key beside it; resume: continue it after its last complete round): what
    `mpiexec -n N hpc-zkfl run` computes, bit for bit.  Returns 0."""
    from .federation import build_federation, make_proving_key

    out = Path(out)
    fed = build_federation(cfg)
    if fed.proofs:
        fed = fed.with_key(make_proving_key(fed, out.with_suffix(".pk"), reuse=resume)[0])
    writer, first, w, w_prev = open_results(cfg, fed, out, resume)
    with writer:
        run_rounds(cfg, fed, InProcess(fed), writer, w, w_prev, first)
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


__all__ = ["InProcess", "RoundLog", "Transport", "open_results", "run_in_process",
           "run_rounds"]
