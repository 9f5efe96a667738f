"""What a node sends the root each round, and its wire format: plain bytes, never pickle, so
the root can read anything a node sends (a malformed message is a verdict, not a crash).
Transports carry these bytes; `hpc_zkfl.mpi.wire` wraps them in a RESULT frame.
"""
import struct
from dataclasses import dataclass

import numpy as np

# What a node that cannot prove its update sends in place of a proof.
NO_PROOF = b""


@dataclass
class NodeMessage:
    """What node `node` sends the root in round `round` (the header may lie: replays)."""

    round: int
    node: int
    update: np.ndarray                  # int64 fixed point, the model's flat layout
    proof: bytes = NO_PROOF             # 128 bytes (compressed A, B, C) when proofs are on
    local_seconds: float = 0.0          # batch + reference update (+ witness)
    prove_seconds: float = 0.0
    refused: str = ""                   # why the node has no proof, when it has none
    # The low bits rho = U - 2^s u of the exact update U the proof shows (int64, one per
    # parameter) where the update is public (`NodeStatement.check_update`); else None.
    update_low: np.ndarray = None

    # Wire format (little endian): magic, round, node, local and prove seconds, parameter
    # count, low-bit count (0 or the parameter count), proof length, reason length, then the
    # int64 update, the int64 low bits, the proof, the reason (UTF-8).  Plain bytes, never
    # pickle: the root must be able to read anything a node sends.
    _HEAD = struct.Struct("<8sqqddIIII")
    _MAGIC = b"ZKFLMSG2"
    MAX_PARAMS = 1 << 24
    MAX_PROOF = 256                     # an uncompressed proof; ours are 128 bytes
    MAX_REASON = 4096
    MAX_SECONDS = 1e7                   # a self-reported time beyond ~4 months is a lie

    @classmethod
    def max_size(cls, n_params: int) -> int:
        """The largest message for a model of n_params parameters."""
        return cls._HEAD.size + 16 * n_params + cls.MAX_PROOF + cls.MAX_REASON

    def to_bytes(self) -> bytes:
        update = np.ascontiguousarray(self.update, dtype="<i8")
        low = np.ascontiguousarray(np.zeros(0) if self.update_low is None else self.update_low,
                                   dtype="<i8")
        reason = self.refused[:self.MAX_REASON // 4].encode("utf-8")   # <= 4 bytes a char
        return (self._HEAD.pack(self._MAGIC, self.round, self.node, self.local_seconds,
                                self.prove_seconds, update.size, low.size, len(self.proof),
                                len(reason))
                + update.tobytes() + low.tobytes() + bytes(self.proof) + reason)

    @classmethod
    def from_bytes(cls, data) -> "NodeMessage":
        """Parse a message; ValueError (never anything else) for bytes that are not one."""
        data = bytes(data)
        if len(data) < cls._HEAD.size:
            raise ValueError(f"message of {len(data)} bytes is shorter than its header")
        magic, t, node, local_s, prove_s, n, n_low, n_proof, n_reason = \
            cls._HEAD.unpack_from(data)
        if magic != cls._MAGIC:
            raise ValueError("not a node message (bad magic)")
        if n > cls.MAX_PARAMS or n_proof > cls.MAX_PROOF or n_reason > cls.MAX_REASON:
            raise ValueError(f"message header announces {n} parameters, a {n_proof}-byte "
                             f"proof and a {n_reason}-byte reason: over the caps")
        if n_low not in (0, n):
            raise ValueError(f"message header announces {n_low} low bits for {n} parameters")
        if len(data) != cls._HEAD.size + 8 * (n + n_low) + n_proof + n_reason:
            raise ValueError("message length does not match its header")
        for what, s in (("local", local_s), ("prove", prove_s)):
            if not 0.0 <= s <= cls.MAX_SECONDS:         # also refuses NaN
                raise ValueError(f"message reports {what} seconds {s!r}: not in "
                                 f"[0, {cls.MAX_SECONDS:g}]")
        at = cls._HEAD.size
        update = np.frombuffer(data, dtype="<i8", count=n, offset=at).astype(np.int64)
        at += 8 * n
        low = np.frombuffer(data, dtype="<i8", count=n_low, offset=at).astype(np.int64) \
            if n_low else None
        at += 8 * n_low
        proof = data[at:at + n_proof]
        try:
            reason = data[at + n_proof:].decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("message reason is not UTF-8") from None
        return cls(t, node, update, proof, local_s, prove_s, reason, low)


__all__ = ["NO_PROOF", "NodeMessage"]
