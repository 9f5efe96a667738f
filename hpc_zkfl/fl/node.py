"""A federated node's round: its batch, its fixed-point update, its proof, and what a
malicious node sends instead.  No transport here: transports carry `NodeMessage`s (fl/message.py).

Everything a node does is a function of (seed, round, node id), so a run resumed from its
results file repeats exactly what the interrupted run would have done.
"""
import time

import numpy as np

from hpc_zkfl.circuit.fixedpoint import FixedPointRangeError
from hpc_zkfl.models import update_ref

from .attacks import corrupt_proof_bytes, poison_labels, poison_update
from .data import sample_batch
from .federation import Federation
from .message import NO_PROOF, NodeMessage

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


__all__ = ["FederatedNode"]
