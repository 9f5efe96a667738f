"""A root running modified code, for test_hostile_ranks.py: rank 0 of

    mpiexec -n 1 python hostile_root.py MODE CFG MARKER : -n 1 python -m hpc_zkfl.cli run CFG

Modes: pickle_setup (a pickle in place of SETUP), pickle_round (a valid SETUP for a run without
proofs, then a pickle in place of ROUND).  An honest worker must refuse either, run nothing,
and end the job.
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
    main(sys.argv[1], sys.argv[3])
