"""A federated node's round: its batch, its fixed-point update, its proof, and what a
malicious node sends instead.  No transport here: transports carry `NodeMessage`s (fl/message.py).

Everything a node does is a function of (seed, round, node id), so a run resumed from its
results file repeats exactly what the interrupted run would have done.
"""
import time

import numpy as np

from hpc_zkfl.backends import as_backend
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
        self._previous = None           # this node's honest message(s) of the last round
        self._ck = None                 # two-aggregator mode: the commitment key (lazily)

    def _batch(self, node_id: int, t: int, labels_attack: bool):
        """(X, y, binding) of node node_id's batch of round t: binding is (its DatasetTree,
        the batch's indices in its dataset) with data binding, else None."""
        fed, spec = self.fed, self.fed.spec
        part = fed.partition[node_id]
        rows = sample_batch(part, spec.batch_size, fed.seed, t, node_id)
        X, y = fed.dataset.X_train[rows], fed.dataset.y_train[rows]
        if labels_attack:
            y = poison_labels(fed.attack, y, spec.n_classes)
        binding = None
        if spec.data_binding:
            position = {int(r): k for k, r in enumerate(part)}
            binding = (fed.tree(node_id), [position[int(r)] for r in rows])
        return X, y, binding

    def _honest(self, node_id: int, t: int, w, labels_attack: bool) -> NodeMessage:
        fed, spec = self.fed, self.fed.spec
        t0 = time.perf_counter()
        X, y, binding = self._batch(node_id, t, labels_attack)
        try:
            if not fed.proofs:
                u = update_ref(spec, w, X, y)
                return NodeMessage(t, node_id, u, NO_PROOF, time.perf_counter() - t0)
            u, wit = fed.statement.witness(t, node_id, w, X, y, binding=binding)
        except FixedPointRangeError as exc:
            return NodeMessage(t, node_id, np.zeros(spec.n_params, dtype=np.int64), NO_PROOF,
                               time.perf_counter() - t0, refused=str(exc))
        t1 = time.perf_counter()
        from hpc_zkfl.groth16 import prove
        from hpc_zkfl.groth16.formats import proof_to_bytes
        proof = proof_to_bytes(prove(fed.proving_key, fed.statement.r1cs, wit.witness,
                                     backend=fed.backend, h_table=fed.h_table()))
        return NodeMessage(t, node_id, u, proof, t1 - t0, time.perf_counter() - t1,
                           update_low=fed.statement.update_low(wit))

    def step(self, t: int, w, w_previous=None) -> NodeMessage:
        """The message this node sends in round t for the global model w (w_previous: the
        model of round t - 1, which a replayer resumed mid-run needs to rebuild its old
        message exactly).  In two-aggregator mode: (to the leader, to the helper), two
        `ShareMessage`s, either of which an attacker may leave out (None)."""
        fed, kind = self.fed, self.fed.attack.kind
        if fed.private:
            return self._private_step(t, w, w_previous)
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
                               msg.prove_seconds, old.refused, old.update_low)
        if kind == "malformed":
            msg.proof = corrupt_proof_bytes(msg.proof, fed.node_rng(t, self.id, 1))
            return msg
        msg.update = poison_update(fed.attack, msg.update, fed.spec.fixed_point,
                                   fed.node_rng(t, self.id, 2))
        return msg

    # -- two-aggregator mode (fl/private.py) ----------------------------------------------

    def _commitment_key(self):
        if self._ck is None:
            from hpc_zkfl.groth16.committed import commitment_key
            self._ck = commitment_key(self.fed.proving_key.vk, self.fed.statement.update_positions)
        return self._ck

    def _private_honest(self, node_id: int, t: int, w, labels_attack: bool, rng=None):
        """(messages to (leader, helper), the update u, the commitment blinding nu and the
        committed proof) of an honest node, or of a data poisoner."""
        from .private import ShareMessage, node_messages
        fed = self.fed
        t0 = time.perf_counter()
        X, y, binding = self._batch(node_id, t, labels_attack)
        try:
            u, wit = fed.statement.witness(t, node_id, w, X, y, binding=binding)
        except FixedPointRangeError as exc:
            local = time.perf_counter() - t0
            return tuple(ShareMessage(t, node_id, role, local_seconds=local, refused=str(exc))
                         for role in (0, 1)), None, None, None
        messages, nu, cp = node_messages(self.fed, self._commitment_key(), t, node_id, u,
                                         wit.witness, time.perf_counter() - t0, rng)
        return messages, u, nu, cp

    def _private_step(self, t: int, w, w_previous):
        from dataclasses import replace

        from hpc_zkfl.algebra.constants import R

        from .private import encode_g1, split
        fed, kind = self.fed, self.fed.attack.kind
        honest = not self.malicious or kind in ("none", "label_flip")
        if honest:
            return self._private_honest(self.id, t, w, kind == "label_flip" and self.malicious)[0]
        if kind == "reused_blinding":           # the same randomness every round
            import random
            rng = random.Random(fed.seed * 1_000_003 + self.id)
            return self._private_honest(self.id, t, w, False, rng)[0]
        (lead, help_), u, nu, _ = self._private_honest(self.id, t, w, False)
        if u is None:                           # its own prover refused: nothing to attack
            return lead, help_
        if kind == "replay":
            old = self._replayed_private(t, w, w_previous)
            self._previous = (lead, help_)
            return tuple(replace(m, round=t, node=self.id) if m is not None else None
                         for m in old)
        if kind == "malformed":
            proof = corrupt_proof_bytes(lead.proof, fed.node_rng(t, self.id, 1))
            return replace(lead, proof=proof), replace(help_, proof=proof)
        if kind == "bad_share":
            share = list(lead.share)
            share[0] = (share[0] + 1) % R
            return replace(lead, share=tuple(share)), help_
        if kind == "one_aggregator":
            return lead, None
        ck = self._commitment_key()
        if kind == "foreign_commitment":
            other = (self.id + 1) % fed.n_nodes
            (o_lead, _), *_ = self._private_honest(other, t, w, False)
            d = o_lead.d or lead.d
            return replace(lead, d=d), replace(help_, d=d)
        # Model poisoning: the proof stays the honest one; the shares and D are those of the
        # poisoned update (consistent with each other), so only the proof can betray it.
        bad = poison_update(fed.attack, u, fed.spec.fixed_point, fed.node_rng(t, self.id, 2))
        (a, alpha), (b, beta) = split(bad, nu)
        d = encode_g1(ck.commit(bad, nu, fed.backend))
        a_commit = encode_g1(ck.commit(a, alpha, fed.backend))
        return (replace(lead, d=d, a_commit=a_commit, share=tuple(a), blinding=alpha),
                replace(help_, d=d, a_commit=a_commit, share=tuple(b), blinding=beta))

    def _replayed_private(self, t: int, w, w_previous):
        """The (leader, helper) messages a replayer resends: its own of the last round."""
        prev = self._previous
        if t > 1 and isinstance(prev, tuple) and prev[0] is not None and prev[0].round == t - 1:
            return prev
        if t > 1 and w_previous is not None:
            return self._private_honest(self.id, t - 1, w_previous, False)[0]
        other = (self.id + 1) % self.fed.n_nodes
        return self._private_honest(other, t, w, False)[0]

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


def concurrent_provers() -> int:
    """How many nodes a rank proves at once: its numba threads, one proof on each, where the
    threading layer lets several Python threads run parallel kernels (OpenMP, TBB)."""
    import numba

    from hpc_zkfl.machine import numba_threading
    threads = numba.get_num_threads()
    return threads if threads > 1 and numba_threading()[1] in ("omp", "tbb") else 1


def step_nodes(nodes, t: int, w, w_previous=None, before=None):
    """Yield (node, its round-t message, or the exception its step raised) for each node, as
    each finishes, so that a message can leave while others are still proving.  Many nodes
    per pass: with k > 1 `concurrent_provers`, k nodes step at once, each proof on one
    thread (the kernels release the GIL), since a small proof split over k threads leaves
    them waiting on each other.  `before(node_id)` runs first in each node's step."""
    def step(node):
        if before is not None:
            before(node.id)
        return node.step(t, w, w_previous)

    # Without proofs a step is a few numpy calls that hold the GIL: threads would only cost.
    # Kernel backends keep their own streams and threads: one node at a time there.
    fed = nodes[0].fed if nodes else None
    workers = concurrent_provers() if len(nodes) > 1 and fed.proofs and \
        as_backend(fed.backend).name == "cpu" else 1
    if workers == 1:
        for node in nodes:
            try:
                yield node, step(node)
            except Exception as exc:                    # the caller decides what it costs
                yield node, exc
        return
    import numba
    from concurrent.futures import ThreadPoolExecutor, as_completed
    if fed.proofs and not fed.private and fed.proving_key is not None:
        fed.h_table()                                   # once, before the threads share it

    def one_thread(node):
        numba.set_num_threads(1)                        # thread-local in numba
        return step(node)

    with ThreadPoolExecutor(workers, thread_name_prefix="prover") as pool:
        futures = {pool.submit(one_thread, node): node for node in nodes}
        for future in as_completed(futures):
            try:
                yield futures[future], future.result()
            except Exception as exc:
                yield futures[future], exc


__all__ = ["FederatedNode", "concurrent_provers", "step_nodes"]
