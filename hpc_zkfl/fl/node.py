"""A federated node's round: its batch, its fixed-point update, its proof, and what a
malicious node sends instead.  No transport here: the MPI layer carries `NodeMessage`s.

Everything a node does is a function of (seed, round, node id), so a run resumed from its
results file repeats exactly what the interrupted run would have done.
"""
import struct
import time
from dataclasses import dataclass, field

import numpy as np

from hpc_zkfl.circuit.fixedpoint import FixedPointRangeError
from hpc_zkfl.models import DatasetTree, NodeStatement, StatementSpec, update_ref

from .attacks import Attack, corrupt_proof_bytes, poison_labels, poison_update
from .data import Dataset, sample_batch

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

    # Wire format (little endian): magic, round, node, local and prove seconds, parameter
    # count, proof length, reason length, then the int64 update, the proof, the reason (UTF-8).
    # Plain bytes, never pickle: the root must be able to read anything a node sends.
    _HEAD = struct.Struct("<8sqqddIII")
    _MAGIC = b"ZKFLMSG1"
    MAX_PARAMS = 1 << 24
    MAX_PROOF = 256                     # an uncompressed proof; ours are 128 bytes
    MAX_REASON = 4096
    MAX_SECONDS = 1e7                   # a self-reported time beyond ~4 months is a lie

    @classmethod
    def max_size(cls, n_params: int) -> int:
        """The largest message for a model of n_params parameters."""
        return cls._HEAD.size + 8 * n_params + cls.MAX_PROOF + cls.MAX_REASON

    def to_bytes(self) -> bytes:
        update = np.ascontiguousarray(self.update, dtype="<i8")
        reason = self.refused[:self.MAX_REASON // 4].encode("utf-8")   # <= 4 bytes a char
        return (self._HEAD.pack(self._MAGIC, self.round, self.node, self.local_seconds,
                                self.prove_seconds, update.size, len(self.proof), len(reason))
                + update.tobytes() + bytes(self.proof) + reason)

    @classmethod
    def from_bytes(cls, data) -> "NodeMessage":
        """Parse a message; ValueError (never anything else) for bytes that are not one."""
        data = bytes(data)
        if len(data) < cls._HEAD.size:
            raise ValueError(f"message of {len(data)} bytes is shorter than its header")
        magic, t, node, local_s, prove_s, n, n_proof, n_reason = cls._HEAD.unpack_from(data)
        if magic != cls._MAGIC:
            raise ValueError("not a node message (bad magic)")
        if n > cls.MAX_PARAMS or n_proof > cls.MAX_PROOF or n_reason > cls.MAX_REASON:
            raise ValueError(f"message header announces {n} parameters, a {n_proof}-byte "
                             f"proof and a {n_reason}-byte reason: over the caps")
        if len(data) != cls._HEAD.size + 8 * n + n_proof + n_reason:
            raise ValueError("message length does not match its header")
        for what, s in (("local", local_s), ("prove", prove_s)):
            if not 0.0 <= s <= cls.MAX_SECONDS:         # also refuses NaN
                raise ValueError(f"message reports {what} seconds {s!r}: not in "
                                 f"[0, {cls.MAX_SECONDS:g}]")
        at = cls._HEAD.size
        update = np.frombuffer(data, dtype="<i8", count=n, offset=at).astype(np.int64)
        at += 8 * n
        proof = data[at:at + n_proof]
        try:
            reason = data[at + n_proof:].decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("message reason is not UTF-8") from None
        return cls(t, node, update, proof, local_s, prove_s, reason)


@dataclass
class Federation:
    """What every rank knows about a run: data, partition, statement, keys and attack."""

    dataset: Dataset
    partition: list
    spec: StatementSpec
    seed: int
    attack: Attack
    malicious: np.ndarray               # (n_nodes,) bool
    proofs: bool = True
    statement: NodeStatement = None     # None when proofs are off
    proving_key: object = None
    backend: str = "auto"
    trees: dict = field(default_factory=dict)       # node -> DatasetTree (data binding)
    per_round: int = 0                  # participants per round; 0: every node, every round

    @property
    def n_nodes(self) -> int:
        return len(self.partition)

    def node_rng(self, round_index: int, node_id: int, purpose: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, round_index, node_id,
                                                             purpose]))

    def participants(self, round_index: int) -> np.ndarray:
        """(n_nodes,) bool: the nodes asked for an update in this round.  With per_round = k
        (0 < k < n_nodes), k nodes drawn uniformly without replacement, deterministically from
        the seed and the round, so every rank (and a resumed run) draws the same; FedAvg's
        client fraction C = k / n_nodes (McMahan et al., AISTATS 2017)."""
        n, k = self.n_nodes, self.per_round
        mask = np.zeros(n, dtype=bool)
        if k <= 0 or k >= n:
            mask[:] = True
            return mask
        # A stream of its own (the constant tags it), apart from the nodes' streams.
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, round_index, 0x5A3]))
        mask[rng.choice(n, size=k, replace=False)] = True
        return mask

    def tree(self, node_id: int) -> DatasetTree:
        """The node's committed dataset (built on first use)."""
        if node_id not in self.trees:
            rows = self.partition[node_id]
            self.trees[node_id] = DatasetTree.build(self.spec, self.dataset.X_train[rows],
                                                    self.dataset.y_train[rows])
        return self.trees[node_id]


def merkle_depth_for(partition) -> int:
    """The smallest Merkle depth whose tree holds the largest node's dataset."""
    return max(0, (max(len(p) for p in partition) - 1).bit_length())


class FederatedNode:
    """One node: computes its round's message (honest or, if malicious, the attack's)."""

    def __init__(self, node_id: int, fed: Federation):
        if not 0 <= node_id < fed.n_nodes:
            raise ValueError(f"node id {node_id} is not in 0..{fed.n_nodes - 1}")
        self.id = node_id
        self.fed = fed
        self.malicious = bool(fed.malicious[node_id])
        self._previous = None           # this node's honest message of the last round

    def _honest(self, node_id: int, t: int, w, labels_attack: bool) -> NodeMessage:
        fed, spec = self.fed, self.fed.spec
        t0 = time.perf_counter()
        part = fed.partition[node_id]
        rows = sample_batch(part, spec.batch_size, fed.seed, t, node_id)
        X, y = fed.dataset.X_train[rows], fed.dataset.y_train[rows]
        if labels_attack:
            y = poison_labels(fed.attack, y, spec.n_classes)
        try:
            if not fed.proofs:
                u = update_ref(spec, w, X, y)
                return NodeMessage(t, node_id, u, NO_PROOF, time.perf_counter() - t0)
            binding = None
            if spec.data_binding:
                position = {int(r): k for k, r in enumerate(part)}
                binding = (fed.tree(node_id), [position[int(r)] for r in rows])
            u, wit = fed.statement.witness(t, node_id, w, X, y, binding=binding)
        except FixedPointRangeError as exc:
            return NodeMessage(t, node_id, np.zeros(spec.n_params, dtype=np.int64), NO_PROOF,
                               time.perf_counter() - t0, refused=str(exc))
        t1 = time.perf_counter()
        from hpc_zkfl.groth16 import prove
        from hpc_zkfl.groth16.formats import proof_to_bytes
        proof = proof_to_bytes(prove(fed.proving_key, fed.statement.r1cs, wit.witness,
                                     backend=fed.backend))
        return NodeMessage(t, node_id, u, proof, t1 - t0, time.perf_counter() - t1)

    def step(self, t: int, w, w_previous=None) -> NodeMessage:
        """The message this node sends in round t for the global model w (w_previous: the
        model of round t - 1, which a replayer resumed mid-run needs to rebuild its old
        message exactly)."""
        fed, kind = self.fed, self.fed.attack.kind
        if not self.malicious or kind == "none":
            return self._honest(self.id, t, w, labels_attack=False)
        if kind == "label_flip":
            return self._honest(self.id, t, w, labels_attack=True)
        msg = self._honest(self.id, t, w, labels_attack=False)
        if kind == "replay":
            old = self._replayed(t, w, w_previous)
            self._previous = msg
            # A replayer relabels the header: otherwise the root would not even look at it.
            return NodeMessage(t, self.id, old.update, old.proof, msg.local_seconds,
                               msg.prove_seconds, old.refused)
        if kind == "malformed":
            msg.proof = corrupt_proof_bytes(msg.proof, fed.node_rng(t, self.id, 1))
            return msg
        msg.update = poison_update(fed.attack, msg.update, fed.spec.fixed_point,
                                   fed.node_rng(t, self.id, 2))
        return msg

    def _replayed(self, t: int, w, w_previous) -> NodeMessage:
        """The message a replayer resends: its own from the last round, or (option
        source = "other_node", and in round 1) the next node's current one."""
        if self.fed.attack.options.get("source", "old_round") == "old_round" and t > 1:
            if self._previous is None or self._previous.round != t - 1:
                if w_previous is None:
                    raise ValueError("a replayer needs the previous round's model to resume")
                self._previous = self._honest(self.id, t - 1, w_previous, labels_attack=False)
            return self._previous
        other = (self.id + 1) % self.fed.n_nodes
        return self._honest(other, t, w, labels_attack=False)


__all__ = ["Federation", "FederatedNode", "NO_PROOF", "NodeMessage",
           "merkle_depth_for"]
