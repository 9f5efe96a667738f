"""The federated run over MPI: rank 0 is the root, the other ranks host the nodes.

Protocol of a round t (rank 0 = root; with one rank the root hosts every node itself):

1. the root broadcasts (t, w_t, w_{t-1});
2. each hosting rank computes its nodes' messages one after the other and sends each one as
   soon as it is ready: raw bytes (`NodeMessage.to_bytes`) behind an envelope naming the round
   and the node slot, so that a message that arrives after its round is recognised and dropped;
3. the root collects until every node has answered or the round's deadline passes (the
   missing nodes are late for that round), then judges, aggregates, evaluates and writes the
   round (`hpc_zkfl.fl.server.process_round`, `hpc_zkfl.io.results`).

After the last round the root broadcasts a stop; every hosting rank then completes its sends
and reports done, and the root drains what is still in flight, so nothing is left pending at
MPI_Finalize.  Only this module imports mpi4py.
"""
import logging
import os
import struct
import time
from pathlib import Path

import numpy as np

from hpc_zkfl.config import RunConfig

log = logging.getLogger("hpc_zkfl.run")

TAG_RESULT, TAG_DONE, TAG_COMMITMENT = 11, 12, 13
_ENVELOPE = struct.Struct("<qq")        # round the rank computed for, node slot


def node_ranks(n_nodes: int, size: int, per_rank: int) -> list:
    """The rank hosting each node: the root itself with one rank; otherwise node i on rank
    1 + i // per_rank (per_rank > 0) or spread round robin over ranks 1..size-1."""
    if size == 1:
        return [0] * n_nodes
    workers = size - 1
    if per_rank:
        if per_rank * workers < n_nodes:
            raise ValueError(f"{n_nodes} nodes do not fit {workers} ranks x {per_rank} nodes "
                             f"per rank; raise nodes.per_rank or the rank count")
        return [1 + i // per_rank for i in range(n_nodes)]
    return [1 + i % workers for i in range(n_nodes)]


def _setup_logging(rank: int):
    level = logging.INFO if rank == 0 else logging.WARNING
    logging.basicConfig(level=level, format=f"[rank {rank}] %(levelname)s %(message)s")
    logging.getLogger("hpc_zkfl").setLevel(level)


def _share_cores(comm):
    """Split this host's cores between the ranks on it, so that numba's threads do not
    oversubscribe them."""
    from mpi4py import MPI
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    threads = max(1, cores // local.size)
    local.Free()
    if "NUMBA_NUM_THREADS" not in os.environ:
        import numba
        numba.set_num_threads(min(threads, numba.config.NUMBA_NUM_THREADS))
    return threads


def build_federation(cfg: RunConfig, proving_key=None, with_statement=True):
    """Everything a rank needs about the run, deterministic from the config."""
    from hpc_zkfl.fl.attacks import Attack, malicious_nodes
    from hpc_zkfl.fl.data import load_dataset
    from hpc_zkfl.fl.node import Federation, make_partition, merkle_depth_for
    from hpc_zkfl.fl.simulation import spec_for_dataset
    from hpc_zkfl.models import NodeStatement

    seed = cfg.run.seed
    dataset = load_dataset(cfg.data.dataset, seed, cfg.data.test_fraction)
    partition = make_partition(dataset, cfg.nodes.count, cfg.data.partition,
                               cfg.data.dirichlet_alpha, seed, cfg.data.samples_per_node)
    m = cfg.model
    depth = (m.merkle_depth or merkle_depth_for(partition)) if m.data_binding else 0
    spec = spec_for_dataset(dataset, m.kind, m.batch_size, m.learning_rate, m.norm_bound,
                            hidden=m.hidden, data_binding=m.data_binding, merkle_depth=depth)
    a = cfg.attack
    options = {"scaling": {"scale": a.scale}, "sign_flip": {"scale": 1.0},
               "gaussian": {"noise_std": a.noise_std}, "replay": {"source": a.source}}
    attack = Attack(a.kind, a.fraction, options.get(a.kind, {}))
    malicious = malicious_nodes(cfg.nodes.count, a.fraction, seed)
    proofs = cfg.aggregation.proofs
    statement = NodeStatement(spec) if proofs and with_statement else None
    return Federation(dataset, partition, spec, seed, attack, malicious, proofs, statement,
                      proving_key, cfg.run.backend, per_round=cfg.nodes.per_round)


def aggregation_of(cfg: RunConfig):
    from hpc_zkfl.fl.server import Aggregation
    g = cfg.aggregation
    options = {"trimmed_mean": {"trim_fraction": g.trim_fraction},
               "krum": {"n_malicious": g.krum_malicious, "multi": g.krum_multi}}
    return Aggregation(g.strategy, options.get(g.strategy, {}), g.server_lr, g.server_lr_half_life)


def initial_model(fed) -> np.ndarray:
    """The start model, deterministic from the seed (the float yardstick's initialisation on
    the fixed-point grid)."""
    from hpc_zkfl.fl.float_reference import init_params
    from hpc_zkfl.models import flatten
    spec = fed.spec
    params = init_params(spec.model, spec.n_features, spec.n_classes, hidden=spec.hidden or None,
                         seed=fed.seed)
    return spec.fixed_point.encode(flatten(spec, params))


def _keys(fed, key_path: Path, reuse: bool):
    """The root's proving key: the one stored beside the results when resuming, else a new
    setup (stored atomically for a later resume)."""
    from hpc_zkfl.groth16 import setup
    from hpc_zkfl.groth16.formats import pk_from_bytes, pk_to_bytes
    if reuse and key_path.exists():
        data = key_path.read_bytes()
        log.info("proving key: %s (reused)", key_path)
        return pk_from_bytes(data, subgroup_check=False), data
    t0 = time.perf_counter()
    pk = setup(fed.statement.r1cs, backend=fed.backend)
    data = pk_to_bytes(pk)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = key_path.with_name(key_path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, key_path)
    log.info("setup: %d constraints, %.1f s, key %s", fed.statement.n_constraints,
             time.perf_counter() - t0, key_path)
    return pk, data


def run(cfg: RunConfig, resume: bool = False, output=None) -> int:
    """Run (or resume) the federated run of `cfg` on MPI_COMM_WORLD; returns an exit code."""
    from mpi4py import MPI

    comm = MPI.COMM_WORLD
    rank, size = comm.rank, comm.size
    _setup_logging(rank)
    _share_cores(comm)
    out = Path(output or cfg.run.output)
    hosts = comm.gather(MPI.Get_processor_name(), root=0)
    owner = node_ranks(cfg.nodes.count, size, cfg.nodes.per_rank)
    fed = build_federation(cfg)

    # Keys: made (or reloaded) by the root, broadcast as bytes.
    key_bytes = None
    if fed.proofs:
        if rank == 0:
            fed.proving_key, key_bytes = _keys(fed, out.with_suffix(".pk"), reuse=resume)
        key_bytes = comm.bcast(key_bytes, root=0)
        if rank != 0:
            from hpc_zkfl.groth16.formats import pk_from_bytes
            fed.proving_key = pk_from_bytes(key_bytes, subgroup_check=False)

    from hpc_zkfl.fl.node import FederatedNode
    mine = [FederatedNode(i, fed) for i in range(fed.n_nodes) if owner[i] == rank]

    # Data binding: each node registers its dataset commitment before round 1.
    commitments = {}
    if fed.spec.data_binding:
        local = {node.id: fed.tree(node.id).root for node in mine}
        gathered = comm.gather(local, root=0)
        if rank == 0:
            for part in gathered:
                commitments.update(part)

    if rank == 0:
        return _root(comm, cfg, fed, mine, owner, commitments, out, resume, hosts)
    _worker(comm, cfg, mine)
    return 0


def _slow(cfg, node_id):
    if node_id in cfg.faults.slow_nodes and cfg.faults.slow_seconds > 0:
        time.sleep(cfg.faults.slow_seconds)


def _worker(comm, cfg, mine):
    from mpi4py import MPI
    pending = []
    while True:
        cmd = comm.bcast(None, root=0)
        if cmd[0] == "stop":
            break
        _, t, w, w_prev = cmd
        participating = mine[0].fed.participants(t) if mine else None
        for node in mine:
            if not participating[node.id]:
                continue
            _slow(cfg, node.id)
            try:
                msg = node.step(t, w, w_prev)
                payload = _ENVELOPE.pack(t, node.id) + msg.to_bytes()
            except Exception:                                   # never let one node stop a rank
                log.exception("node %d failed in round %d", node.id, t)
                continue
            pending.append((comm.Isend([payload, MPI.BYTE], dest=0, tag=TAG_RESULT), payload))
        pending = [(r, p) for r, p in pending if not r.Test()]
    MPI.Request.Waitall([r for r, _ in pending])
    comm.send(None, dest=0, tag=TAG_DONE)


def _receive(comm, status):
    from mpi4py import MPI
    buf = bytearray(status.Get_count(MPI.BYTE))
    comm.Recv([buf, MPI.BYTE], source=status.Get_source(), tag=status.Get_tag())
    return bytes(buf)


def _collect(comm, cfg, fed, t, deadline, owner, local_nodes, w, w_prev):
    """{node: NodeMessage or the raw bytes that did not parse} for round t, until every node
    has answered or the deadline passes; with one rank the root computes its nodes here."""
    from mpi4py import MPI
    from hpc_zkfl.fl.node import NodeMessage
    messages, stale = {}, 0
    participating = fed.participants(t)
    for node in local_nodes:
        if not participating[node.id]:
            continue
        _slow(cfg, node.id)
        msg = node.step(t, w, w_prev)
        if time.perf_counter() <= deadline:
            messages[node.id] = NodeMessage.from_bytes(msg.to_bytes())
    expected = {i for i in range(fed.n_nodes) if owner[i] != 0 and participating[i]}
    status = MPI.Status()
    while expected - set(messages) and time.perf_counter() < deadline:
        if not comm.Iprobe(source=MPI.ANY_SOURCE, tag=TAG_RESULT, status=status):
            time.sleep(0.001)
            continue
        raw = _receive(comm, status)
        sender = status.Get_source()
        if len(raw) < _ENVELOPE.size:
            log.warning("rank %d sent %d bytes: not a message", sender, len(raw))
            continue
        env_round, slot = _ENVELOPE.unpack_from(raw)
        if env_round != t:
            stale += 1                          # a late answer to an earlier round
            continue
        if not 0 <= slot < fed.n_nodes or owner[slot] != sender:
            log.warning("rank %d sent a message for node %d, which it does not host", sender, slot)
            continue
        if not participating[slot]:
            log.warning("rank %d sent a message for node %d, which is idle in round %d",
                        sender, slot, t)
            continue
        try:
            messages[slot] = NodeMessage.from_bytes(raw[_ENVELOPE.size:])
        except ValueError as exc:
            messages[slot] = exc                # judged MALFORMED
    return messages, stale


def _root(comm, cfg, fed, mine, owner, commitments, out, resume, hosts):
    from tqdm import tqdm

    from hpc_zkfl.fl.server import process_round
    from hpc_zkfl.io.results import RejectReason, ResultsWriter, RoundRecord, collect_metadata

    aggregation = aggregation_of(cfg)
    if resume:
        writer = ResultsWriter.open_for_resume(out, n_nodes=fed.n_nodes, n_params=fed.spec.n_params,
                                               metadata={"n_ranks": comm.size, "hosts": hosts})
        done = writer.completed_rounds
        w = writer.model(done)
        w_prev = writer.model(done - 1) if done >= 1 else None
        log.info("resuming %s after round %d of %d", out, done, cfg.run.rounds)
    else:
        w = initial_model(fed)
        w_prev = None
        backend = "cpu" if fed.backend == "auto" else fed.backend
        meta = collect_metadata(cfg.source, cfg.as_dict(), backend, _device(backend), comm.size,
                                hosts)
        writer = ResultsWriter.create(out, meta, fed.n_nodes, fed.spec.n_params,
                                      fed.spec.fixed_point.frac_bits, fed.malicious,
                                      [fed.attack.kind if m else "none" for m in fed.malicious], w)
        done = 0
    verified = 0
    bar = tqdm(total=cfg.run.rounds, initial=done, desc="rounds", unit="round",
               disable=None)
    try:
        for t in range(done + 1, cfg.run.rounds + 1):
            t_start = time.perf_counter()
            comm.bcast(("round", t, w, w_prev), root=0)
            deadline = t_start + cfg.run.round_deadline_s
            messages, stale = _collect(comm, cfg, fed, t, deadline, owner, mine, w, w_prev)
            t_gather = time.perf_counter() - t_start
            if stale:
                log.info("round %d: dropped %d late message(s) of earlier rounds", t, stale)
            from hpc_zkfl.fl.node import NodeMessage
            judged = {i: (m if isinstance(m, NodeMessage) else _malformed(t, i))
                      for i, m in messages.items()}
            outcome = process_round(fed, t, w, judged, aggregation, commitments)
            prove_time = np.array([judged[i].prove_seconds if i in judged else np.nan
                                   for i in range(fed.n_nodes)])
            local_time = np.array([judged[i].local_seconds if i in judged else 0.0
                                   for i in range(fed.n_nodes)])
            times = {"local": _critical_path(local_time, owner),
                     "prove": _critical_path(np.nan_to_num(prove_time), owner),
                     "gather": t_gather, **outcome.times}
            record = RoundRecord.build(
                round=t, accuracy=outcome.accuracy, loss=outcome.loss, accepted=outcome.accepted,
                reject_reason=outcome.reason, late=outcome.late, proof_time=prove_time,
                verify_time=outcome.verify_time, update_norm=outcome.update_norm, w=outcome.w,
                times=times, write_started=time.perf_counter(), round_started=t_start)
            writer.append_round(record)
            if t == cfg.faults.kill_after_round:
                log.warning("fault injection: the root dies after round %d", t)
                os._exit(137)                   # as a killed job: no clean-up, no finalize
            idle = outcome.reason == RejectReason.IDLE
            verified += int(np.sum(~outcome.late & ~idle)) if fed.proofs else 0
            w_prev, w = w, outcome.w
            bar.update(1)
            bar.set_postfix(acc=f"{outcome.accuracy:.3f}", accepted=int(outcome.accepted.sum()),
                            rejected=int((~outcome.accepted & ~outcome.late & ~idle).sum()),
                            late=int(outcome.late.sum()), proofs_checked=verified)
    finally:
        bar.close()
        comm.bcast(("stop",), root=0)
        _drain(comm, owner)
        writer.close()
    log.info("done: %s", out)
    return 0


def _malformed(t, i):
    from hpc_zkfl.fl.node import NodeMessage
    # Bytes that did not parse: judged as a message with an unusable update.
    return NodeMessage(t, i, np.zeros(0, dtype=np.int64), b"")


def _critical_path(per_node, owner):
    """The longest per-rank total of a per-node time (ranks work in parallel)."""
    totals = {}
    for i, v in enumerate(per_node):
        totals[owner[i]] = totals.get(owner[i], 0.0) + float(v)
    return max(totals.values(), default=0.0)


def _drain(comm, owner):
    """Receive what the ranks still send until each has reported done."""
    from mpi4py import MPI
    waiting = set(range(1, comm.size))
    status = MPI.Status()
    while waiting:
        comm.Probe(source=MPI.ANY_SOURCE, tag=MPI.ANY_TAG, status=status)
        if status.Get_tag() == TAG_DONE:
            comm.recv(source=status.Get_source(), tag=TAG_DONE)
            waiting.discard(status.Get_source())
        else:
            _receive(comm, status)


def _device(backend: str) -> str:
    if backend == "gpu":
        try:
            import cupy
            return cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        except Exception:                                   # no CuPy or no device
            return "unknown GPU"
    from hpc_zkfl.cli import cpu_model
    return cpu_model()


__all__ = ["build_federation", "initial_model", "node_ranks", "run"]
