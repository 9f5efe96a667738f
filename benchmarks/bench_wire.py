"""What the byte frames between ranks cost the root per round (hpc_zkfl.mpi.wire).

For each model size: a ROUND frame encoded (the root, once per worker and round) and decoded
(a worker), beside the pickled broadcast tuple it replaced (`pickle.dumps` + `pickle.loads` of
("round", t, w_t, w_{t-1})); and a RESULT frame decoded with its node message (the root, once
per node and round), beside the unframed envelope + node message it replaced.  The last column
is 1,000 RESULT decodes: the root's share of a 1,000-node round.

Usage: python benchmarks/bench_wire.py
"""
import pickle
import struct

import numpy as np

from _common import best_of, fmt_time, machine, table

from hpc_zkfl.fl.message import NodeMessage
from hpc_zkfl.mpi import wire

# Parameter counts of the shipped statements: breast_cancer logistic (30 features + bias),
# digits one-vs-rest (64 x 10 + 10), a digits MLP with 64 hidden units.
SIZES = {"breast_cancer logistic": 31, "digits ovr": 650,
         "digits mlp 64": 64 * 64 + 64 + 64 * 10 + 10}


def main():
    print(f"Machine: {machine()}\n")
    rows = []
    rng = np.random.default_rng(0)
    for name, n in SIZES.items():
        w = rng.integers(-(1 << 20), 1 << 20, n)
        msg = NodeMessage(3, 7, rng.integers(-(1 << 16), 1 << 16, n), bytes(128), 0.2, 1.5)
        round_frame = wire.encode_round(3, w, w)
        result_frame = wire.encode_result(3, 7, msg.to_bytes())

        def decode_result():
            _, _, body = wire.decode_result_envelope(result_frame, n)
            return NodeMessage.from_bytes(body)

        unframed = struct.pack("<qq", 3, 7) + msg.to_bytes()

        def decode_unframed():
            struct.unpack_from("<qq", unframed)
            return NodeMessage.from_bytes(unframed[16:])

        rnd = best_of(lambda: wire.decode_round(wire.encode_round(3, w, w), n), repeat=300)
        rnd_pickle = best_of(lambda: pickle.loads(pickle.dumps(("round", 3, w, w))), repeat=300)
        res = best_of(decode_result, repeat=300)
        res_before = best_of(decode_unframed, repeat=300)
        rows.append([name, n, len(round_frame), fmt_time(rnd), fmt_time(rnd_pickle),
                     f"{rnd / rnd_pickle:.2f}", len(result_frame), fmt_time(res),
                     fmt_time(res_before), f"{res / res_before:.2f}", fmt_time(1000 * res)])
    print(table(["model", "parameters", "ROUND bytes", "ROUND encode + decode",
                 "pickled (before)", "ratio", "RESULT bytes", "RESULT decode + parse",
                 "unframed (before)", "ratio", "1,000 RESULTs"], rows))


if __name__ == "__main__":
    main()
