"""The federated run over MPI: rank 0 is the root, the other ranks host the nodes.

Every message between ranks is a frame of plain bytes (`hpc_zkfl.mpi.wire`): no rank can make
another unpickle anything, and every frame is length-capped before it is received and decoded
strictly.  The root trusts no worker rank: a rank speaks only for the nodes it hosts, every wait
of the root has a deadline, and whatever a rank does (garbage, silence, dying) costs at most its
own nodes.  docs/threat-model.md says who is trusted for what.

Start (deadline `run.round_deadline_s` for each step the root waits on):

1. each worker sends HELLO (its host name); the root makes or reloads the proving key and sends
   each worker that said hello a SETUP (the key, and how many ranks share its host, so that
   numba's threads split the cores); a rank whose HELLO is missing or malformed takes no part
   and its nodes are UNREGISTERED;
2. with data binding, each worker sends REGISTER (its nodes' dataset commitments); the root
   accepts a commitment only from the rank hosting that node and only as an element of Fr,
   and refuses the node otherwise (UNREGISTERED, the reason in the results' metadata).

A round t:

1. the root sends ROUND (t, w_t, w_{t-1}) to each worker taking part;
2. each worker computes its nodes' messages one after the other and sends each as a RESULT as
   soon as it is ready (the envelope names the round and the node slot, so that a message
   arriving after its round is recognised and dropped);
3. the root collects until every node has answered or the round's deadline passes (the
   missing nodes are LATE), then judges, aggregates, evaluates and writes the round.

The round itself is the FL core's (`hpc_zkfl.fl.protocol.run_rounds`); the root is its
transport (`start_round`, `collect`), as `hpc_zkfl.fl.protocol.InProcess` is for a one-process
run.

In two-aggregator mode ([privacy] mode = "two_aggregators", `hpc_zkfl.fl.private`) rank 1 is
the helper and hosts no node; the nodes live on ranks 2 and up and send each round one
RESULT (the leader's share message) to the root and one SHARE (the helper's) to rank 1.  The
root, the leader, asks the helper through CHECK / VERDICT which shares open their commitments,
then through SUM / TOTAL for the helper's share sum over the nodes both accepted; every wait
on the helper has the round's deadline, and a helper that misses one ends the run (its results
file keeps every complete round; resume continues it).  Each node rank checks the proving key
(`hpc_zkfl.groth16.key_check`) before proving with it.

After the last round the root sends STOP; each worker completes its sends and answers DONE;
the root drains what is still in flight until every worker is done or the deadline passes, and
records the ranks it lost (and why) in the results file, which is closed whatever happens.  If
a rank never answered DONE, the root then ends the whole job with MPI_Abort (exit status 0:
the run itself is complete), since MPI_Finalize would wait for it forever.  Only this module
imports mpi4py.
"""
import contextlib
import logging
import os
import sys
import time
from pathlib import Path

from hpc_zkfl.config import RunConfig
from hpc_zkfl.fl.federation import build_federation

from . import wire
from .wire import Kind, WireError

log = logging.getLogger("hpc_zkfl.run")

# A node's self-reported work may exceed the round's elapsed time at the root only by clock
# granularity: anything more is a lie (the times are stored and shape every figure).
_TIMING_SLACK_S = 0.5
# Warnings about one rank's stray traffic: the first few, then silence (no log flood).
_MAX_WARNINGS_PER_RANK = 5


HELPER_RANK = 1


def node_ranks(n_nodes: int, size: int, per_rank: int, first: int = 1) -> list:
    """The rank hosting each node: the root itself with one rank; otherwise node i on rank
    first + i // per_rank (per_rank > 0) or spread round robin over ranks first..size-1
    (first = 2 in two-aggregator mode, where rank 1 is the helper)."""
    if size == 1 and first == 1:
        return [0] * n_nodes
    workers = size - first
    if workers < 1:
        raise ValueError(f"two-aggregator mode needs at least 3 MPI ranks (the leader, the "
                         f"helper, and ranks for the nodes); this job has {size}")
    if per_rank:
        if per_rank * workers < n_nodes:
            raise ValueError(f"{n_nodes} nodes do not fit {workers} ranks x {per_rank} nodes "
                             f"per rank; raise nodes.per_rank or the rank count")
        return [first + i // per_rank for i in range(n_nodes)]
    return [first + i % workers for i in range(n_nodes)]


def _setup_logging(rank: int):
    level = logging.INFO if rank == 0 else logging.WARNING
    logging.basicConfig(level=level, format=f"[rank {rank}] %(levelname)s %(message)s")
    logging.getLogger("hpc_zkfl").setLevel(level)


def _share_cores(ranks_on_host: int) -> int:
    """Split this host's cores between the ranks on it, so that numba's threads do not
    oversubscribe them."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, cores // max(1, ranks_on_host))
    if "NUMBA_NUM_THREADS" not in os.environ:
        import numba
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return threads


def run(cfg: RunConfig, resume: bool = False, output=None) -> int:
    """Run (or resume) the federated run of `cfg` on MPI_COMM_WORLD; returns an exit code."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank = comm.rank
    _setup_logging(rank)
    out = Path(output or cfg.run.output)
    private = cfg.privacy.mode == "two_aggregators"
    try:
        owner = node_ranks(cfg.nodes.count, comm.size, cfg.nodes.per_rank,
                           first=2 if private else 1)
    except ValueError as exc:           # every rank sees the same: the root says it
        if rank == 0:
            print(f"hpc-zkfl: error: {exc}", file=sys.stderr, flush=True)
        return 2
    fed = build_federation(cfg)
    if rank != 0:
        role = _helper if private and rank == HELPER_RANK else _worker
        try:
            role(comm, cfg, fed, owner, resume)
        except (WireError, ValueError) as exc:
            # Only a root that breaks the protocol (or sends a bad key) gets here: end the
            # job, loudly.
            log.error("the root broke the protocol: %s; ending the job", exc)
            _abort(comm, 3)
        return 0
    root = _Root(comm, cfg, fed, owner, out, resume)
    try:
        root.run()
    except BaseException as exc:
        if comm.size > 1:
            # The workers wait on the root: end the job rather than leave them hanging.
            print(f"hpc-zkfl: error: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            log.exception("the root failed; ending the job")
            _abort(comm, 2)
        raise
    if root.lost:
        log.warning("rank(s) %s never reported done; the run is complete and its results "
                    "closed, so the root ends the job", sorted(root.lost))
        _abort(comm, 0)
    log.info("done: %s", out)
    return 0


def _abort(comm, code: int):
    """End every rank of the job with exit status `code`, after giving the launcher a moment
    to forward this rank's last lines (it drops what is still in flight when it tears down)."""
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(0.5)
    comm.Abort(code)


# ---------------------------------------------------------------------------------------
# a worker rank


def _slow(cfg, node_id):
    if node_id in cfg.faults.slow_nodes and cfg.faults.slow_seconds > 0:
        time.sleep(cfg.faults.slow_seconds)


def _receive_from_root(comm, caps: dict, source: int = 0):
    """(kind, frame) of the root's (or `source`'s) next frame, whose kind must be one of
    `caps` (kind -> the largest frame accepted); WireError otherwise, before anything is
    allocated."""
    from mpi4py import MPI
    status = MPI.Status()
    # Poll with a growing sleep rather than a blocking Probe: MPI implementations spin inside
    # blocking calls, and a worker waiting for the next round would take a core from the root
    # while it verifies this one's proofs.
    pause = 0.0005
    while not comm.Iprobe(source=source, tag=MPI.ANY_TAG, status=status):
        time.sleep(pause)
        pause = min(2 * pause, 0.02)
    kind = wire.KIND_OF_TAG.get(status.Get_tag())
    size = status.Get_count(MPI.BYTE)
    if kind not in caps:
        raise WireError(f"unexpected message under MPI tag {status.Get_tag()}")
    if size > caps[kind]:
        raise WireError(f"{kind.name} of {size} bytes is over its cap of {caps[kind]}")
    buf = bytearray(size)
    comm.Recv([buf, MPI.BYTE], source=source, tag=status.Get_tag())
    return kind, bytes(buf)


def _discard(comm, rank: int, tag: int):
    """Take an unwanted message out of MPI's queue without allocating its size: a receive
    into one byte truncates it, and MPI drops the rest (the truncation error is expected)."""
    from mpi4py import MPI
    with contextlib.suppress(MPI.Exception):
        comm.Recv([bytearray(1), MPI.BYTE], source=rank, tag=tag)


def _send(comm, kind: Kind, data: bytes, dest: int = 0):
    from mpi4py import MPI
    comm.Send([data, MPI.BYTE], dest=dest, tag=wire.TAGS[kind])


def _worker(comm, cfg, fed, owner, resume: bool):
    from mpi4py import MPI

    from hpc_zkfl.fl.node import step_nodes

    n_params = fed.spec.n_params
    _send(comm, Kind.HELLO, wire.encode_hello(MPI.Get_processor_name()))
    fed, ranks_on_host = _receive_key(comm, fed)
    _share_cores(ranks_on_host)
    if fed.proofs:
        # Check the leader's key before proving with it: its phase 2 (and, with two
        # aggregators, the helper's own word for its contribution on a fresh run, and the
        # key's form, since a malformed key could make proofs leak the witness).
        from hpc_zkfl.fl.ceremony import Attestation, check
        attestation = None
        if fed.private and not resume:
            _, data = _receive_from_root(comm, {Kind.ATTEST: wire.max_frame_size(Kind.ATTEST)},
                                         source=HELPER_RANK)
            attestation = Attestation.from_bytes(wire.decode_attest(data))
        check(fed, fed.key(), attestation)
    mine = [fed.node(i) for i in range(fed.n_nodes) if owner[i] == comm.rank]
    if fed.spec.data_binding:
        _send(comm, Kind.REGISTER,
              wire.encode_register({node.id: fed.tree(node.id).root for node in mine}))

    caps = {Kind.ROUND: wire.max_frame_size(Kind.ROUND, n_params=n_params),
            Kind.STOP: wire.HEADER_SIZE}
    pending = []
    while True:
        kind, data = _receive_from_root(comm, caps)
        if kind == Kind.STOP:
            wire.decode_empty(data, Kind.STOP)
            break
        t, w, w_prev = wire.decode_round(data, n_params)
        participating = fed.participants(t)
        active = [node for node in mine if participating[node.id]]
        for node, msg in step_nodes(active, t, w, w_prev, before=lambda i: _slow(cfg, i)):
            try:
                if isinstance(msg, Exception):          # its step failed: logged below
                    raise msg
                if fed.private:                 # (to the leader, to the helper)
                    sends = [(0, Kind.RESULT, wire.encode_result(t, node.id, m.to_bytes()))
                             for m in msg[:1] if m is not None]
                    sends += [(HELPER_RANK, Kind.SHARE,
                               wire.encode_share(t, node.id, m.to_bytes()))
                              for m in msg[1:] if m is not None]
                else:
                    sends = [(0, Kind.RESULT, wire.encode_result(t, node.id, msg.to_bytes()))]
            except Exception:                                   # never let one node stop a rank
                log.exception("node %d failed in round %d", node.id, t)
                continue
            for dest, kind, payload in sends:
                pending.append((comm.Isend([payload, MPI.BYTE], dest=dest,
                                           tag=wire.TAGS[kind]), payload))
        pending = [(r, p) for r, p in pending if not r.Test()]
    MPI.Request.Waitall([r for r, _ in pending])
    _send(comm, Kind.DONE, wire.encode_empty(Kind.DONE))


def _key_size(fed) -> int:
    """The exact size of this run's proving key, known from the circuit: any other is refused."""
    if not fed.proofs:
        return 0
    from hpc_zkfl.groth16.formats import FLAG_ETA, FLAG_POWERS, pk_size
    from hpc_zkfl.groth16.r1cs_to_qap import domain_size
    r1cs = fed.statement.r1cs
    return pk_size(r1cs.n_public, r1cs.n_wires, domain_size(r1cs),
                   FLAG_ETA | FLAG_POWERS if fed.private else 0)


def _receive_key(comm, fed):
    """SETUP from the root: (the federation with the proving key and its transcript, ranks
    on this host)."""
    key_size = _key_size(fed)
    _, data = _receive_from_root(comm, {Kind.SETUP: wire.setup_frame_size(key_size)})
    ranks_on_host, key, transcript = wire.decode_setup(data, key_size)
    if fed.proofs:
        from hpc_zkfl.fl.ceremony import key_from_bytes
        # In private mode the key is checked (G2 subgroups included) before any proof.
        received = key_from_bytes(key, transcript, subgroup_check=fed.private)
        fed = fed.with_key(received.pk, received.transcript)
    return fed, ranks_on_host


def _helper_contributes(comm, fed):
    """The helper's turn in the run's phase 2 (fl/ceremony.py): the leader's key in
    CEREMONY, back with the helper's contribution in CONTRIBUTED, and the helper's
    attestation to every node rank in ATTEST."""
    from hpc_zkfl.fl.ceremony import helper_turn, key_from_bytes
    from hpc_zkfl.groth16.formats import pk_to_bytes

    key_size = _key_size(fed)
    _, data = _receive_from_root(comm, {Kind.CEREMONY: wire.keyed_frame_size(key_size)})
    leader_key = key_from_bytes(*wire.decode_keyed(data, Kind.CEREMONY, key_size))
    mine, attestation = helper_turn(fed.with_key(leader_key.pk, leader_key.transcript),
                                    leader_key)
    _send(comm, Kind.CONTRIBUTED, wire.encode_keyed(Kind.CONTRIBUTED, pk_to_bytes(mine.pk),
                                                     mine.transcript.to_bytes()))
    for rank in range(HELPER_RANK + 1, comm.size):
        _send(comm, Kind.ATTEST, wire.encode_attest(attestation.to_bytes()), dest=rank)


# ---------------------------------------------------------------------------------------
# the helper (two-aggregator mode)

# How long the helper waits, once asked, for shares still in flight from nodes the leader
# heard from (MPI orders messages per sender and receiver, not across receivers).
_SHARE_GRACE_S = 2.0


def _helper(comm, cfg, fed, owner, resume: bool):
    """Rank 1 in two-aggregator mode: receive the nodes' helper shares, answer the leader's
    CHECK (which shares open D - A) and SUM (the weighted share sum), until STOP.  It trusts
    the leader only with what the protocol gives it: node ids and weights, never a share."""
    from mpi4py import MPI

    from hpc_zkfl.fl.private import HELPER, Aggregator, ShareMessage

    n_nodes, n_params = fed.n_nodes, fed.spec.n_params
    _send(comm, Kind.HELLO, wire.encode_hello(MPI.Get_processor_name()))
    if fed.proofs and not resume:
        _helper_contributes(comm, fed)
    fed, ranks_on_host = _receive_key(comm, fed)
    _share_cores(ranks_on_host)
    aggregator = Aggregator(fed, HELPER, fed.min_accepted)
    from_leader = {kind: wire.max_frame_size(kind, n_nodes=n_nodes, n_params=n_params,
                                             private=True)
                   for kind in (Kind.ROUND, Kind.CHECK, Kind.SUM)}
    from_leader[Kind.STOP] = wire.HEADER_SIZE
    share_cap = wire.max_frame_size(Kind.SHARE, n_params=n_params)
    shares = {}                         # round -> {node: ShareMessage or ValueError}
    status = MPI.Status()
    current = 0

    def take_share(rank, data):
        try:
            t, slot, body = wire.decode_share_envelope(data, n_params)
        except WireError as exc:
            log.warning("rank %d sent a SHARE that is not one: %s", rank, exc)
            return
        if not 0 <= slot < n_nodes or owner[slot] != rank or t < current:
            return                      # not its node, or a round already judged
        box = shares.setdefault(t, {})
        if slot in box:
            return
        try:
            box[slot] = ShareMessage.from_bytes(body)
        except ValueError as exc:
            box[slot] = exc

    def next_frame(deadline=None):
        """(rank, kind, bytes) of the next frame; None at the deadline.  Over-cap frames and
        foreign tags are dropped unread."""
        while deadline is None or time.perf_counter() < deadline:
            if not comm.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status):
                time.sleep(0.001)
                continue
            rank, tag = status.Get_source(), status.Get_tag()
            size = status.Get_count(MPI.BYTE)
            kind = wire.KIND_OF_TAG.get(tag)
            cap = from_leader.get(kind, 0) if rank == 0 else (
                share_cap if kind == Kind.SHARE else 0)
            if size > cap:
                _discard(comm, rank, tag)
                continue
            buf = bytearray(size)
            comm.Recv([buf, MPI.BYTE], source=rank, tag=tag)
            return rank, kind, bytes(buf)
        return None

    while True:
        rank, kind, data = next_frame()
        if rank != 0:
            take_share(rank, data)
            continue
        if kind == Kind.STOP:
            wire.decode_empty(data, Kind.STOP)
            break
        if kind == Kind.ROUND:
            current = max(current, wire.decode_round(data, n_params)[0])
            continue
        if kind == Kind.CHECK:
            t, nodes = wire.decode_check(data, n_nodes)
            current = max(current, t)
            grace = time.perf_counter() + min(_SHARE_GRACE_S, cfg.run.round_deadline_s)
            while set(nodes) - set(shares.get(t, {})):
                item = next_frame(grace)
                if item is None:
                    break
                if item[0] != 0:
                    take_share(item[0], item[2])
                else:
                    raise WireError(f"the leader sent {item[1]} while the helper was "
                                    f"collecting round {t}")
            aggregator.receive(t, shares.pop(t, {}))
            for old in [r for r in shares if r < t]:
                del shares[old]
            verdicts = aggregator.check(nodes)
            _send(comm, Kind.VERDICT, wire.encode_verdict(t, verdicts.problems,
                                                          verdicts.bindings, nodes))
            continue
        t, nodes, weights, evidence = wire.decode_sum(data, n_nodes, n_params)
        try:
            reply = wire.encode_total(t, aggregator.share_sum(nodes, weights, evidence))
        except ValueError as exc:
            reply = wire.encode_total(t, refusal=str(exc))
        _send(comm, Kind.TOTAL, reply)
    _send(comm, Kind.DONE, wire.encode_empty(Kind.DONE))


class _RemoteHelper:
    """The leader's view of the helper on rank 1: `check` and `share_sum`, each one frame
    out and one back, waited on with the round's deadline."""

    def __init__(self, root):
        self.root = root
        self.round = 0

    def _ask(self, kind: Kind, frame: bytes, answer: Kind) -> bytes:
        root = self.root
        root._isend(HELPER_RANK, kind, frame)
        deadline = time.perf_counter() + root.cfg.run.round_deadline_s
        got = root._gather(answer, {HELPER_RANK}, deadline).get(HELPER_RANK)
        if got is None:
            root._lose(HELPER_RANK, f"no {answer.name} before the deadline")
            raise RuntimeError(f"the helper (rank {HELPER_RANK}) did not answer {kind.name} "
                               f"in round {self.round}: a two-aggregator run cannot go on "
                               f"without it (resume continues from the last complete round)")
        return got

    def check(self, expected):
        from hpc_zkfl.fl.private import Verdicts
        t = self.round = self.root.round
        data = self._ask(Kind.CHECK, wire.encode_check(t, expected), Kind.VERDICT)
        got_t, problems, bindings = wire.decode_verdict(data, self.root.fed.n_nodes)
        if got_t != t or set(problems) != set(expected):
            raise WireError(f"the helper's VERDICT is for round {got_t} and other nodes")
        return Verdicts({i: why for i, why in problems.items() if why}, bindings)

    def share_sum(self, accepted, weights, evidence=None):
        t = self.round
        data = self._ask(Kind.SUM, wire.encode_sum(t, accepted, weights, evidence),
                         Kind.TOTAL)
        got_t, values, refusal = wire.decode_total(data, self.root.fed.spec.n_params)
        if got_t != t:
            raise WireError(f"the helper's TOTAL is for round {got_t}, not {t}")
        if values is None:
            raise ValueError(f"the helper refused its sum: {refusal}")
        return values


# ---------------------------------------------------------------------------------------
# the root


class _Root:
    """The root rank: the transport of the round protocol (`hpc_zkfl.fl.protocol`) over MPI,
    and the run's only judge of what the workers send."""

    def __init__(self, comm, cfg, fed, owner, out: Path, resume: bool):
        from mpi4py import MPI
        self.MPI = MPI
        self.comm, self.cfg, self.fed, self.owner = comm, cfg, fed, owner
        self.out, self.resume = out, resume
        self.workers = set(range(1, comm.size))
        self.active = set()             # workers that completed the handshake
        self.done = set()               # workers that answered DONE
        self.lost = {}                  # worker -> why it broke the protocol or never finished
        self.hosts = {0: MPI.Get_processor_name()}
        self.unregistered = {}          # node -> why it was refused before round 1
        self.commitments = {}
        self._sends = []                # (request, buffer) of frames still in flight
        self.local = None               # InProcess: the nodes the root hosts (one rank: all)
        self._warned = {}
        # The largest frame of each kind the root receives.  Any other tag (the kinds the
        # root only sends, or none of ours) has cap 0: dropped unread, out of MPI's queue.
        self._caps = {kind: wire.max_frame_size(kind, n_nodes=fed.n_nodes,
                                                n_params=fed.spec.message_params
                                                if kind == Kind.RESULT else fed.spec.n_params,
                                                private=fed.private)
                      for kind in (Kind.HELLO, Kind.REGISTER, Kind.RESULT, Kind.DONE,
                                   *((Kind.VERDICT, Kind.TOTAL) if fed.private else ()))}
        if fed.private:
            self._caps[Kind.CONTRIBUTED] = wire.keyed_frame_size(_key_size(fed))
        self.helper = _RemoteHelper(self) if fed.private else None
        self.round = 0

    # -- transport ------------------------------------------------------------------------

    def _warn(self, rank: int, message: str, *args):
        count = self._warned.get(rank, 0) + 1
        self._warned[rank] = count
        if count <= _MAX_WARNINGS_PER_RANK:
            log.warning("rank %d: " + message, rank, *args)
        if count == _MAX_WARNINGS_PER_RANK:
            log.warning("rank %d: further warnings about this rank are not shown", rank)

    def _isend(self, rank: int, kind: Kind, data: bytes):
        """Start a send and never wait on it: a rank that does not receive blocks nothing."""
        MPI = self.MPI
        try:
            req = self.comm.Isend([data, MPI.BYTE], dest=rank, tag=wire.TAGS[kind])
        except MPI.Exception as exc:                            # a rank that is gone
            self._lose(rank, f"cannot send to it ({exc.Get_error_string()})")
            return
        self._sends.append((req, data))
        self._sends = [(r, d) for r, d in self._sends if not self._completed(r)]

    def _completed(self, req) -> bool:
        try:
            return req.Test()
        except self.MPI.Exception:
            return True                 # failed: nothing more will come of it

    def _lose(self, rank: int, why: str):
        if rank not in self.lost:
            log.warning("rank %d is out of the run: %s", rank, why)
            self.lost[rank] = why
        self.active.discard(rank)

    def _poll(self, deadline: float):
        """The next frame from any worker before the deadline: (rank, kind, bytes or None for
        a frame over its kind's cap, which is received and dropped unread), or None."""
        MPI = self.MPI
        status = MPI.Status()
        while time.perf_counter() < deadline:
            try:
                got = self.comm.Iprobe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status)
            except MPI.Exception as exc:
                log.warning("probe failed (%s); a rank may have died", exc.Get_error_string())
                time.sleep(0.05)
                continue
            if not got:
                time.sleep(0.001)
                continue
            rank, tag, size = status.Get_source(), status.Get_tag(), status.Get_count(MPI.BYTE)
            kind = wire.KIND_OF_TAG.get(tag)
            cap = self._caps.get(kind, 0)
            if size > cap:
                self._discard(rank, tag)
                self._warn(rank, "sent %s bytes under MPI tag %d (cap %d): dropped unread",
                           size, tag, cap)
                return rank, kind, None
            buf = bytearray(size)
            try:
                self.comm.Recv([buf, MPI.BYTE], source=rank, tag=tag)
            except MPI.Exception as exc:
                self._warn(rank, "receive failed: %s", exc.Get_error_string())
                continue
            return rank, kind, bytes(buf)
        return None


    def _discard(self, rank: int, tag: int):
        _discard(self.comm, rank, tag)

    def _gather(self, kind: Kind, ranks: set, deadline: float) -> dict:
        """{rank: frame} of one `kind` frame from each of `ranks` before the deadline; other
        traffic is handled by `_stray`."""
        got = {}
        while set(ranks) - set(got):
            item = self._poll(deadline)
            if item is None:
                break
            rank, k, data = item
            if k == kind and rank in ranks and rank not in got:
                got[rank] = data
            else:
                self._stray(rank, k, data)
        return got

    def _stray(self, rank: int, kind, data):
        """A frame the root did not ask for at this point: a DONE is remembered (decoded
        strictly), a late RESULT is dropped quietly, anything else is warned about."""
        if kind == Kind.DONE:
            self._done(rank, data)
        elif kind != Kind.RESULT and data is not None:
            self._warn(rank, "sent an unexpected %s frame (%d bytes): dropped",
                       kind.name if kind else "untagged", len(data))

    def _done(self, rank: int, data):
        if data is None:
            self._lose(rank, "sent a frame over DONE's cap: not DONE")
            return
        try:
            wire.decode_empty(data, Kind.DONE)
        except WireError as exc:
            self._lose(rank, f"sent {len(data)} bytes that are not DONE ({exc})")
            return
        self.done.add(rank)

    # -- start ----------------------------------------------------------------------------

    def _handshake(self):
        """HELLO from each worker; then the key (made or reloaded here) in SETUP to each."""
        deadline = time.perf_counter() + self.cfg.run.round_deadline_s
        hellos = self._gather(Kind.HELLO, self.workers, deadline)
        for rank in sorted(self.workers):
            data = hellos.get(rank)
            try:
                if data is None:
                    raise WireError("no HELLO (or one over its cap) before the deadline")
                self.hosts[rank] = wire.decode_hello(data)
                self.active.add(rank)
            except WireError as exc:
                self._lose(rank, f"handshake refused: {exc}")
                self._refuse_nodes_of(rank, f"rank {rank}'s handshake was refused: {exc}")
        per_host = {}
        for host in self.hosts.values():
            per_host[host] = per_host.get(host, 0) + 1
        _share_cores(per_host[self.hosts[0]])
        if self.fed.private and HELPER_RANK not in self.active:
            raise RuntimeError(f"the helper (rank {HELPER_RANK}) failed its handshake: "
                               f"{self.lost.get(HELPER_RANK)}; a two-aggregator run needs it")
        key_bytes = transcript = b""
        if self.fed.proofs:
            self.fed, key_bytes, transcript = self.fed.with_proving_key(
                self.out.with_suffix(".pk"), reuse=self.resume, helper_turn=self._helper_turn)
        for rank in sorted(self.active):
            self._isend(rank, Kind.SETUP, wire.encode_setup(per_host[self.hosts[rank]],
                                                            key_bytes, transcript))

    def _helper_turn(self, key):
        """The helper's contribution to the leader's key (fl/ceremony.py), over CEREMONY and
        CONTRIBUTED, within the round deadline; the caller checks what comes back."""
        from hpc_zkfl.fl.ceremony import key_from_bytes
        from hpc_zkfl.groth16.formats import pk_to_bytes

        data = pk_to_bytes(key.pk)
        self._isend(HELPER_RANK, Kind.CEREMONY,
                    wire.encode_keyed(Kind.CEREMONY, data, key.transcript.to_bytes()))
        deadline = time.perf_counter() + self.cfg.run.round_deadline_s
        got = self._gather(Kind.CONTRIBUTED, {HELPER_RANK}, deadline).get(HELPER_RANK)
        if got is None:
            raise RuntimeError(f"the helper (rank {HELPER_RANK}) did not contribute to the key "
                               f"within the deadline ({self.cfg.run.round_deadline_s:g} s)")
        return key_from_bytes(*wire.decode_keyed(got, Kind.CONTRIBUTED, len(data)))

    def _refuse_nodes_of(self, rank: int, why: str):
        for i, r in enumerate(self.owner):
            if r == rank:
                self.unregistered.setdefault(i, why)

    def _register(self):
        """Dataset commitments: the root's own nodes directly, the workers' from REGISTER.
        A node is registered only by its own rank, once, with an element of Fr."""
        from hpc_zkfl.algebra.constants import R
        self.commitments.update(self.local.commitments)
        if not self.active:
            return
        deadline = time.perf_counter() + self.cfg.run.round_deadline_s
        registering = set(self.active) - ({HELPER_RANK} if self.fed.private else set())
        frames = self._gather(Kind.REGISTER, registering, deadline)
        for rank in sorted(registering):
            hosted = {i for i, r in enumerate(self.owner) if r == rank}
            try:
                if rank not in frames or frames[rank] is None:
                    raise WireError("no REGISTER (or one over its cap) before the deadline")
                entries = wire.decode_register(frames[rank], self.fed.n_nodes)
            except WireError as exc:
                self._refuse_nodes_of(rank, f"registration refused: {exc}")
                continue
            seen = {}
            for node, c in entries:
                if node not in hosted:
                    self._warn(rank, "registered a commitment for node %d, which it does not "
                               "host: ignored", node)
                    continue
                if node in seen:
                    self.unregistered[node] = "registered more than once"
                elif not 0 <= c < R:
                    self.unregistered[node] = f"commitment {c} is not an element of Fr"
                seen[node] = c
            for node in sorted(hosted):
                if node not in seen:
                    self.unregistered.setdefault(node, "no commitment registered")
                elif node not in self.unregistered:
                    self.commitments[node] = seen[node]
        for node, why in sorted(self.unregistered.items()):
            log.warning("node %d refused at registration: %s", node, why)

    # -- rounds ---------------------------------------------------------------------------

    def start_round(self, t, w, w_prev):
        self.round = t
        frame = wire.encode_round(t, w, w_prev)
        for rank in sorted(self.active - self.done):
            self._isend(rank, Kind.ROUND, frame)

    def collect(self, t, t_start, deadline, w, w_prev):
        """{node: NodeMessage or the ValueError of bytes that did not parse} for round t,
        until every expected node has answered or the deadline passes; with one rank the
        root computes its nodes here.  Also returns the count of stale messages dropped."""
        from hpc_zkfl.fl.message import NodeMessage
        from hpc_zkfl.fl.private import ShareMessage
        fed, owner = self.fed, self.owner
        parse = ShareMessage.from_bytes if fed.private else NodeMessage.from_bytes
        messages, stale = self.local.collect(t, t_start, deadline, w, w_prev)
        participating = fed.participants(t)
        answering = self.active - self.done
        expected = {i for i in range(fed.n_nodes) if owner[i] in answering
                    and participating[i] and i not in self.unregistered}
        while expected - set(messages):
            item = self._poll(deadline)
            if item is None:
                break
            sender, kind, raw = item
            if kind != Kind.RESULT or raw is None:
                self._stray(sender, kind, raw)
                continue
            try:
                env_round, slot, body = wire.decode_result_envelope(
                    raw, fed.spec.message_params, fed.private)
            except WireError as exc:
                self._warn(sender, "sent a RESULT that is not one: %s", exc)
                continue
            if env_round != t:
                stale += 1                      # a late answer to an earlier round
                continue
            if not 0 <= slot < fed.n_nodes or owner[slot] != sender:
                self._warn(sender, "sent a message for node %d, which it does not host", slot)
                continue
            if slot not in expected:
                self._warn(sender, "sent a message for node %d, which is idle or unregistered "
                           "in round %d", slot, t)
                continue
            if slot in messages:
                self._warn(sender, "sent a second message for node %d in round %d: ignored",
                           slot, t)
                continue
            try:
                msg = parse(body)
                elapsed = time.perf_counter() - t_start
                claimed = msg.local_seconds + msg.prove_seconds
                if claimed > elapsed + _TIMING_SLACK_S:
                    raise ValueError(f"reports {claimed:.3f} s of work in a round that has "
                                     f"run {elapsed:.3f} s")
                messages[slot] = msg
            except ValueError as exc:
                self._warn(sender, "node %d's message is malformed: %s", slot, exc)
                messages[slot] = exc            # judged MALFORMED
        return messages, stale

    def run(self):
        from hpc_zkfl.fl.protocol import InProcess, RoundPlan, run_rounds
        cfg, out = self.cfg, self.out
        self._handshake()
        fed = self.fed                  # with the key the handshake made
        local = [fed.node(i) for i in range(fed.n_nodes) if self.owner[i] == 0]
        # The root's own nodes (with one rank, all of them); in two-aggregator mode it hosts
        # none, and the helper is rank 1 (self.helper), not a local one.
        self.local = InProcess(fed, local, slow=lambda i: _slow(cfg, i), aggregators=False)
        if fed.spec.data_binding:
            self._register()
        hosts = [self.hosts.get(r, "unknown") for r in range(self.comm.size)]
        writer, first, w, w_prev = fed.open_results(out, self.resume, n_ranks=self.comm.size,
                                                    hosts=hosts,
                                                    registration=self.unregistered)
        try:
            run_rounds(RoundPlan.of(cfg, first), fed, self, writer, w, w_prev)
        finally:
            try:
                self._stop_and_drain()
                if self.lost:
                    writer.note_lost_ranks(self.lost, after_round=writer.completed_rounds)
            finally:
                writer.close()

    def _stop_and_drain(self):
        """STOP to every worker still taking part, then receive (and drop) what they still
        send until each has answered DONE or the deadline passes; those that have not are
        lost."""
        stop = wire.encode_empty(Kind.STOP)
        for rank in sorted(self.active - self.done):
            self._isend(rank, Kind.STOP, stop)
        # A worker may be one round of work (at most a deadline's worth) behind.
        deadline = time.perf_counter() + self.cfg.run.round_deadline_s
        while self.active - self.done:
            item = self._poll(deadline)
            if item is None:
                break
            self._stray(*item)
        for rank in sorted(self.workers - self.done):
            self._lose(rank, "no DONE before the deadline")
        # A worker that answered DONE has received every frame sent to it: testing those
        # sends now frees their requests before MPI_Finalize (which reports any left).
        self._sends = [(r, d) for r, d in self._sends if not self._completed(r)]


__all__ = ["node_ranks", "run"]
