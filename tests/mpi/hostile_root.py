"""A root running modified code, for test_hostile_ranks.py: rank 0 of

    mpiexec -n 1 python hostile_root.py MODE CFG MARKER : -n 1 python -m hpc_zkfl.cli run CFG

Modes: pickle_setup (a pickle in place of SETUP), pickle_round (a valid SETUP for a run without
proofs, then a pickle in place of ROUND).  An honest worker must refuse either, run nothing,
and end the job.

Two-aggregator mode (mpiexec -n 1 hostile root : -n 2 honest ranks, the helper and a node
rank); the root takes part in the key's phase 2 with the honest helper, then
- tampered_key: sends the key with one element of h_query changed, then a ROUND;
- skip_helper: drops the helper's contribution and sends a key it contributed to twice itself,
  with a commitment step of its own (a valid transcript), then a ROUND.
The node rank must refuse the key before proving anything.
"""
import pickle
import sys
import time

from mpi4py import MPI

from hpc_zkfl.mpi import wire
from hpc_zkfl.mpi.wire import Kind

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from hostile_rank import Payload  # noqa: E402

comm = MPI.COMM_WORLD


def hostile_key(mode: str, cfg_path: str):
    from dataclasses import replace

    import numpy as np

    from hpc_zkfl.config import load_config
    from hpc_zkfl.fl import ceremony
    from hpc_zkfl.fl.federation import build_federation
    from hpc_zkfl.groth16 import phase2
    from hpc_zkfl.groth16.formats import pk_to_bytes

    status = MPI.Status()
    for rank in (1, 2):
        comm.Probe(source=rank, tag=wire.TAGS[Kind.HELLO], status=status)
        comm.Recv([bytearray(status.Get_count(MPI.BYTE)), MPI.BYTE], source=rank,
                  tag=wire.TAGS[Kind.HELLO])
    fed = build_federation(load_config(cfg_path))
    key = ceremony.start(fed)
    data = pk_to_bytes(key.pk)
    comm.Send([wire.encode_keyed(Kind.CEREMONY, data, key.transcript.to_bytes()), MPI.BYTE],
              dest=1, tag=wire.TAGS[Kind.CEREMONY])
    comm.Probe(source=1, tag=wire.TAGS[Kind.CONTRIBUTED], status=status)
    buf = bytearray(status.Get_count(MPI.BYTE))
    comm.Recv([buf, MPI.BYTE], source=1, tag=wire.TAGS[Kind.CONTRIBUTED])
    pk_bytes, transcript = wire.decode_keyed(bytes(buf), Kind.CONTRIBUTED, len(data))
    if mode == "tampered_key":
        from hpc_zkfl.groth16.formats import pk_from_bytes
        pk = pk_from_bytes(pk_bytes)
        h = pk.h_query.copy()
        h[0] = h[1]                     # one element changed: same size, still on the curve
        pk_bytes = pk_to_bytes(replace(pk, h_query=np.ascontiguousarray(h)))
    else:                               # skip_helper: the leader poses as the helper
        mine, _ = key.contribute(ceremony.HELPER)
        pk, t = phase2.contribute_commitment(mine.pk, mine.transcript)
        pk_bytes, transcript = pk_to_bytes(pk), t.to_bytes()
    for rank in (1, 2):
        comm.Send([wire.encode_setup(1, pk_bytes, transcript), MPI.BYTE], dest=rank,
                  tag=wire.TAGS[Kind.SETUP])
    w = fed.initial_model()
    comm.Send([wire.encode_round(1, w), MPI.BYTE], dest=2, tag=wire.TAGS[Kind.ROUND])
    time.sleep(120)                     # the node rank's abort ends the job long before


def main(mode: str, marker: str):
    status = MPI.Status()
    comm.Probe(source=1, tag=wire.TAGS[Kind.HELLO], status=status)
    comm.Recv([bytearray(status.Get_count(MPI.BYTE)), MPI.BYTE], source=1,
              tag=wire.TAGS[Kind.HELLO])
    evil = pickle.dumps(Payload(marker))
    if mode == "pickle_setup":
        comm.Send([evil, MPI.BYTE], dest=1, tag=wire.TAGS[Kind.SETUP])
    else:
        comm.Send([wire.encode_setup(1, b""), MPI.BYTE], dest=1, tag=wire.TAGS[Kind.SETUP])
        comm.Send([evil, MPI.BYTE], dest=1, tag=wire.TAGS[Kind.ROUND])
    time.sleep(120)                 # the worker's abort ends the job long before


if __name__ == "__main__":
    if sys.argv[1] in ("tampered_key", "skip_helper"):
        hostile_key(sys.argv[1], sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[3])
