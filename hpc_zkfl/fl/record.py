"""What the round protocol records of one round, for whatever writer it is given: the results
file (`hpc_zkfl.io.results.ResultsWriter`, which stores every field) or an in-memory log
(`hpc_zkfl.fl.protocol.RoundLog`)."""
from dataclasses import dataclass, field

import numpy as np


@dataclass
class RoundRecord:
    """Everything the results file holds about one round.

    Per-node arrays have length n_nodes.  times: seconds per phase, keys from
    `hpc_zkfl.io.results.PHASES`; a phase left out is stored as NaN, except that append_round
    fills in a missing "write" from write_started and a missing "total" from round_started
    (time.perf_counter() stamps taken before the write and at the start of the round), so
    that both include the write itself; without round_started, "total" is the sum of the
    other phases.
    """

    round: int
    accuracy: float
    loss: float
    accepted: np.ndarray                # bool
    reject_reason: np.ndarray           # int8 RejectReason codes
    late: np.ndarray                    # bool
    proof_time: np.ndarray              # seconds; NaN: no proof arrived
    verify_time: np.ndarray             # seconds; 0 or NaN: not verified
    update_norm: np.ndarray             # real units; NaN: no usable update
    w: np.ndarray                       # the new global model, int64 fixed point
    times: dict = field(default_factory=dict)
    write_started: float = None
    round_started: float = None

    @classmethod
    def build(cls, *, round, accuracy, loss, accepted, reject_reason, late, proof_time,
              verify_time, update_norm, w, times=None, write_started=None,
              round_started=None) -> "RoundRecord":
        """A record with every array converted to its stored dtype (copies)."""
        return cls(round=int(round), accuracy=float(accuracy), loss=float(loss),
                   accepted=np.array(accepted, dtype=bool),
                   reject_reason=np.array(reject_reason, dtype=np.int8),
                   late=np.array(late, dtype=bool),
                   proof_time=np.array(proof_time, dtype=np.float64),
                   verify_time=np.array(verify_time, dtype=np.float64),
                   update_norm=np.array(update_norm, dtype=np.float64),
                   w=np.array(w), times=dict(times or {}), write_started=write_started,
                   round_started=round_started)


__all__ = ["RoundRecord"]
