"""A worker rank running modified code, for test_hostile_ranks.py.

Launched in a worker's place beside an unmodified root (MPMD):

    mpiexec -n 1 python -m hpc_zkfl.cli run CFG --output OUT : -n 1 python hostile_rank.py MODE CFG

It speaks the wire format (`hpc_zkfl.mpi.wire`) where it wants to and breaks it where its mode
says; where it does real work (its own nodes' honest messages) it uses the package's own code.

Modes:
  pickle_hello        a pickle in place of HELLO (and of REGISTER and DONE), then silence
  pickle_everywhere   a valid handshake, then pickles under every tag, updates of 2^24 in
                      every coordinate with identity-point proofs, a pickle in place of DONE
  foreign_commitments registers other ranks' nodes, a commitment >= r, a node twice
  wrong_types         RESULT frames that are well framed but wrong inside
  oversized           a frame announcing 2^60 bytes, a 64 MiB frame, traffic on a foreign
                      tag; then honest messages
  silent              a valid HELLO, then nothing
  dies                a valid handshake, then exits mid-round without a word
  garbage_done        honest work, then garbage in place of DONE
  gbdt_forged         boosted trees: its first node's gradient sums negated beside the honest
                      proof, its second node's with a negative hessian sum, then a RESULT
                      longer than any update of the run
"""
import os
import pickle
import struct
import sys
import time

import numpy as np
from mpi4py import MPI

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.config import load_config
from hpc_zkfl.fl.message import NodeMessage
from hpc_zkfl.mpi import wire
from hpc_zkfl.fl.federation import build_federation
from hpc_zkfl.mpi.runtime import node_ranks
from hpc_zkfl.mpi.wire import Kind

comm = MPI.COMM_WORLD


class Payload:
    """Unpickling this runs code: it writes `marker` (and a root that unpickled it would then
    run whatever else the attacker chose)."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('code ran')",)


def send(kind_or_tag, data: bytes):
    tag = wire.TAGS[kind_or_tag] if isinstance(kind_or_tag, Kind) else kind_or_tag
    comm.Send([data, MPI.BYTE], dest=0, tag=tag)


def receive():
    status = MPI.Status()
    comm.Probe(source=0, tag=MPI.ANY_TAG, status=status)
    buf = bytearray(status.Get_count(MPI.BYTE))
    comm.Recv([buf, MPI.BYTE], source=0, tag=status.Get_tag())
    return wire.KIND_OF_TAG[status.Get_tag()], bytes(buf)


def block_forever():
    """A rank that is still there but says nothing (ended by the root's abort)."""
    while True:
        time.sleep(1)


def result(t, slot, msg: NodeMessage) -> bytes:
    return wire.encode_result(t, slot, msg.to_bytes())


def raw_message(t, node, n_params, local_s=0.1, prove_s=0.1, proof=b"\0" * 128,
                n_claimed=None, reason=b"") -> bytes:
    """NodeMessage bytes built by hand, so that any field can lie."""
    head = struct.pack("<8sqqddIIII", b"ZKFLMSG2", t, node, local_s, prove_s,
                       n_params if n_claimed is None else n_claimed, n_params, len(proof),
                       len(reason))
    return head + np.zeros(2 * n_params, dtype="<i8").tobytes() + proof + reason


def identity_proof(honest: NodeMessage) -> bytes:
    from hpc_zkfl.groth16.data_structures import Proof
    from hpc_zkfl.groth16.formats import proof_from_bytes, proof_to_bytes
    p = proof_from_bytes(honest.proof)
    return proof_to_bytes(Proof(np.zeros_like(p.a), np.zeros_like(p.b), np.zeros_like(p.c)))


def main(mode: str, config: str, marker: str):
    cfg = load_config(config)
    fed = build_federation(cfg)
    owner = node_ranks(cfg.nodes.count, comm.size, cfg.nodes.per_rank)
    mine = [fed.node(i) for i, r in enumerate(owner) if r == comm.rank]
    others = [i for i, r in enumerate(owner) if r != comm.rank]
    n_params = fed.spec.n_params
    evil = pickle.dumps(Payload(marker))

    if mode == "pickle_hello":
        send(Kind.HELLO, evil)
        send(Kind.REGISTER, evil)
        send(Kind.DONE, evil)
        block_forever()

    send(Kind.HELLO, wire.encode_hello(MPI.Get_processor_name()))
    _, data = receive()
    _, key, _ = wire.decode_setup(data)
    if fed.proofs:
        from hpc_zkfl.groth16.formats import pk_from_bytes
        fed = fed.with_key(pk_from_bytes(key, subgroup_check=False))
    mine = [fed.node(node.id) for node in mine]
    if fed.spec.data_binding:
        real = {node.id: fed.tree(node.id).root for node in mine}
        if mode == "foreign_commitments":
            # At most one entry a node of the run: more is over REGISTER's cap (refused whole).
            body = struct.pack("<I", 4)
            body += struct.pack("<I", others[0]) + (12345).to_bytes(32, "little")  # not its own
            first, second = mine[0].id, mine[1].id
            body += struct.pack("<I", first) + R.to_bytes(32, "little")     # not in Fr
            body += struct.pack("<I", second) + real[second].to_bytes(32, "little")
            body += struct.pack("<I", second) + real[second].to_bytes(32, "little")
            send(Kind.REGISTER, wire.frame(Kind.REGISTER, body))
        else:
            send(Kind.REGISTER, wire.encode_register(real))
    if mode == "silent":
        block_forever()

    while True:
        kind, data = receive()
        if kind == Kind.STOP:
            break
        t, w, w_prev = wire.decode_round(data, n_params)
        if mode == "dies":
            os._exit(1)                             # no DONE, no finalize
        honest = {node.id: node.step(t, w, w_prev) for node in mine}
        if mode == "pickle_everywhere":
            for tag in (wire.TAGS[Kind.RESULT], wire.TAGS[Kind.HELLO],
                        wire.TAGS[Kind.REGISTER]):
                send(tag, evil)
            for node in mine:
                msg = honest[node.id]
                forged = NodeMessage(t, node.id, np.full(n_params, 1 << 24, dtype=np.int64),
                                     identity_proof(msg), msg.local_seconds, msg.prove_seconds,
                                     update_low=msg.update_low)
                send(Kind.RESULT, result(t, node.id, forged))
            continue
        if mode == "wrong_types":
            a, b = mine[0].id, mine[1].id
            send(Kind.RESULT, wire.frame(Kind.RESULT, b"\1\2\3"))               # no envelope
            send(Kind.RESULT, wire.encode_hello("not a result"))               # wrong kind
            send(Kind.RESULT, wire.encode_result(t, others[0],                 # not its node
                                                 raw_message(t, others[0], n_params)))
            send(Kind.RESULT, wire.encode_result(t, 10**6, raw_message(t, 0, n_params)))
            send(Kind.RESULT, wire.encode_result(t, a, raw_message(t, a, n_params,
                                                                   local_s=float("nan"))))
            send(Kind.RESULT, wire.encode_result(t, b, raw_message(t, b, n_params,
                                                                   prove_s=1e6)))
            continue
        if mode == "gbdt_forged":
            spec = fed.spec
            a, b = mine[0].id, mine[1].id
            G, H, m_out = spec.decode_update(honest[a].update)
            honest[a].update = spec.encode_update(-G, H, m_out)
            G, H, m_out = spec.decode_update(honest[b].update)
            H[0, 0, 0] = -1
            honest[b].update = spec.encode_update(G, H, m_out)
            long = NodeMessage(t, b, np.zeros(spec.message_params + 1, np.int64),
                               honest[b].proof, 0.1, 0.1)
            send(Kind.RESULT, result(t, b, long))
        if mode == "oversized":
            head = struct.pack("<4sBBHQ", b"ZKFW", wire.VERSION, int(Kind.RESULT), 0, 1 << 60)
            send(Kind.RESULT, head + b"\0" * 64)                  # length prefix of 2^60
            send(Kind.RESULT, bytes(64 << 20))                    # 64 MiB: over the cap
            send(999, bytes(1 << 20))                             # a tag of no kind
        for node_id, msg in honest.items():
            send(Kind.RESULT, result(t, node_id, msg))

    if mode in ("garbage_done", "pickle_everywhere"):
        send(Kind.DONE, evil if mode == "pickle_everywhere" else b"garbage instead of DONE")
        block_forever()
    send(Kind.DONE, wire.encode_empty(Kind.DONE))


if __name__ == "__main__":
    main(*sys.argv[1:4])
