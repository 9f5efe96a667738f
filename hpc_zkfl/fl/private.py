"""Private updates: two aggregators verify every node's proof without either seeing its update.

The leader/helper split of Prio (Corrigan-Gibbs, Boneh, NSDI 2017) and the IETF Distributed
Aggregation Protocol, over LegoGroth16 commitments (`hpc_zkfl.groth16.committed`):

    node i:  proof (A, B, C') with its update u committed in D = Commit(u; nu), not shown;
             u = a + b, nu = alpha + beta over Fr with a, alpha uniform; A = Commit(a; alpha)
             -> leader: (proof, D, A, a, alpha)       -> helper: (proof, D, A, b, beta)
    leader:  batch-verifies the proofs against (t, i, w_t[, c_i]) and D; checks A = Commit(a; alpha)
    helper:  checks D - A = Commit(b; beta); tells the leader which nodes passed, with a digest
             of the (proof, D, A) it received, which must equal the leader's
    both:    sum the shares of the accepted nodes, weighted by their dataset sizes; the leader
             adds the helper's sum to its own and finishes FedAvg on the total

Commit is additively homomorphic and binding (for anyone without the setup's trapdoor), so
both checks passing means a + b = u for the u the proof is about.  Each aggregator sees only
uniform shares, a perfectly hiding D and a zero-knowledge proof; only both together could
rebuild u.  The weighted FedAvg is linear: sum_i n_i (a_i + b_i) = sum_i n_i u_i (mod r), and
|sum_i n_i u_i| < r / 2, so the leader decodes the signed total and divides as
`fedavg_fixed` does, bit for bit.  The root never computes a per-node norm in this mode.

Share checks are batched with random linear combinations (one MSM over the commitment key per
batch, bisection on failure), as the proof verifier batches pairings.  A node whose shares
fail, or whose two aggregators got different (proof, D, A), or which repeats a share blinding
it used before, is refused as SHARE_MISMATCH.  The helper refuses to release a sum over fewer
than `min_accepted` nodes, so a leader cannot narrow a sum down to one node's update by
claiming the others failed (docs/threat-model.md).
"""
import hashlib
import secrets
import struct
from dataclasses import dataclass

import numpy as np

from hpc_zkfl.algebra.constants import R

from .message import NO_PROOF

LEADER, HELPER = 0, 1
_FR_BYTES = 32
_G1C = 32                       # compressed G1 point
_PROOF_BYTES = 128              # compressed (A, B, C')
CHALLENGE_BITS = 128            # random linear combination coefficients


@dataclass
class ShareMessage:
    """What one aggregator receives from one node in a round: the proof (A, B, C'), the
    commitment D to the update, the commitment A to the leader's share, and this aggregator's
    share and its blinding."""

    round: int
    node: int
    role: int                           # LEADER or HELPER
    proof: bytes = NO_PROOF             # 128 bytes, compressed
    d: bytes = b""                      # 32 bytes, compressed G1
    a_commit: bytes = b""               # 32 bytes, compressed G1
    share: tuple = ()                   # n_params ints in [0, r)
    blinding: int = 0                   # in [0, r)
    local_seconds: float = 0.0
    prove_seconds: float = 0.0
    refused: str = ""

    _HEAD = struct.Struct("<8sqqBddIIIII")
    _MAGIC = b"ZKFLSHR1"
    MAX_PARAMS = 1 << 24
    MAX_REASON = 4096
    MAX_SECONDS = 1e7

    @classmethod
    def max_size(cls, n_params: int) -> int:
        return (cls._HEAD.size + _PROOF_BYTES + 2 * _G1C + _FR_BYTES * (n_params + 1)
                + cls.MAX_REASON)

    def binding(self) -> bytes:
        """What both aggregators must have received alike: round, node, proof, D and A."""
        h = hashlib.sha256(b"hpc-zkfl share binding v1")
        h.update(struct.pack("<qq", self.round, self.node))
        for part in (self.proof, self.d, self.a_commit):
            h.update(struct.pack("<I", len(part)) + bytes(part))
        return h.digest()

    def to_bytes(self) -> bytes:
        reason = self.refused[:self.MAX_REASON // 4].encode("utf-8")
        values = [int(v) for v in self.share] + [int(self.blinding)]
        body = b"".join(v.to_bytes(_FR_BYTES, "big") for v in values)
        return (self._HEAD.pack(self._MAGIC, self.round, self.node, self.role,
                                self.local_seconds, self.prove_seconds, len(self.proof),
                                len(self.d), len(self.a_commit), len(self.share), len(reason))
                + bytes(self.proof) + bytes(self.d) + bytes(self.a_commit) + body + reason)

    @classmethod
    def from_bytes(cls, data) -> "ShareMessage":
        """Parse a message; ValueError (never anything else) for bytes that are not one."""
        data = bytes(data)
        if len(data) < cls._HEAD.size:
            raise ValueError(f"share message of {len(data)} bytes is shorter than its header")
        (magic, t, node, role, local_s, prove_s, n_proof, n_d, n_a, n, n_reason
         ) = cls._HEAD.unpack_from(data)
        if magic != cls._MAGIC:
            raise ValueError("not a share message (bad magic)")
        if role not in (LEADER, HELPER):
            raise ValueError(f"share message for role {role}")
        if (n_proof > _PROOF_BYTES or n_d > _G1C or n_a > _G1C or n > cls.MAX_PARAMS
                or n_reason > cls.MAX_REASON):
            raise ValueError("share message header over the caps")
        size = cls._HEAD.size + n_proof + n_d + n_a + _FR_BYTES * (n + 1) + n_reason
        if len(data) != size:
            raise ValueError("share message length does not match its header")
        for what, s in (("local", local_s), ("prove", prove_s)):
            if not 0.0 <= s <= cls.MAX_SECONDS:
                raise ValueError(f"share message reports {what} seconds {s!r}")
        at = cls._HEAD.size
        proof, at = data[at:at + n_proof], at + n_proof
        d, at = data[at:at + n_d], at + n_d
        a_commit, at = data[at:at + n_a], at + n_a
        values = []
        for _ in range(n + 1):
            v = int.from_bytes(data[at:at + _FR_BYTES], "big")
            if v >= R:
                raise ValueError("a share is not an element of Fr")
            values.append(v)
            at += _FR_BYTES
        try:
            reason = data[at:].decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("share message reason is not UTF-8") from None
        return cls(t, node, role, proof, d, a_commit, tuple(values[:-1]), values[-1], local_s,
                   prove_s, reason)


def split(values, blinding: int, rng=None):
    """Additive shares over Fr of `values` (signed ints) and of `blinding`: ((a, alpha),
    (b, beta)) with a, alpha uniform and a + b = values, alpha + beta = blinding (mod r)."""
    rnd = rng if rng is not None else secrets.SystemRandom()
    a = [rnd.randrange(R) for _ in values]
    b = [(int(v) - x) % R for v, x in zip(values, a)]
    alpha = rnd.randrange(R)
    return (a, alpha), (b, (int(blinding) - alpha) % R)


def encode_g1(point) -> bytes:
    from hpc_zkfl.algebra.curve import G1
    from hpc_zkfl.algebra.serialization import COMPRESSED, encode_points
    return encode_points(G1, np.asarray(point, dtype=np.uint64)[None], COMPRESSED)[0].tobytes()


def node_messages(fed, ck, t, node_id, u, witness, local_seconds, rng=None):
    """The two ShareMessages of an honest node: prove with u committed, split u and the
    commitment's blinding into shares.  Returns ((to the leader, to the helper), the
    blinding nu of D, the CommittedProof)."""
    import time

    from hpc_zkfl.groth16.committed import prove_committed
    from hpc_zkfl.groth16.formats import proof_to_bytes
    t0 = time.perf_counter()
    cp, nu = prove_committed(fed.proving_key, fed.statement.r1cs, witness,
                             fed.statement.update_positions, backend=fed.backend, rng=rng)
    (a, alpha), (b, beta) = split(u, nu, rng)
    a_commit = encode_g1(ck.commit(a, alpha, fed.backend))
    proof, d = proof_to_bytes(cp.proof), encode_g1(cp.d)
    prove_s = time.perf_counter() - t0
    messages = tuple(ShareMessage(t, node_id, role, proof, d, a_commit, tuple(share), blind,
                                  local_seconds, prove_s)
                     for role, share, blind in ((LEADER, a, alpha), (HELPER, b, beta)))
    return messages, nu, cp


def check_openings(ck, targets, shares, blindings, backend="auto", rng=None,
                   minus=None) -> list:
    """For each i, whether Commit(shares[i]; blindings[i]) == T_i, with T_i = targets[i]
    (- minus[i] when given), batched: with random rho_i, sum_i rho_i (Commit(s_i; r_i) - T_i)
    = 0 is one MSM over the commitment key plus one over the targets; a failing batch is
    bisected, so the result names exactly the failures (a wrong opening slips through a batch
    with probability 2^-128)."""
    from hpc_zkfl.algebra.limbs import ints_to_limbs
    from hpc_zkfl.backends import as_backend
    be = as_backend(backend)
    rnd = rng if rng is not None else secrets.SystemRandom()
    n = len(targets)
    ok = [False] * n
    bases = np.concatenate([ck.bases, ck.blinding[None]])

    def batch(idx) -> bool:
        rho = [1 + rnd.randrange((1 << CHALLENGE_BITS) - 1) for _ in idx]
        combined = [0] * (ck.size + 1)
        for r_i, i in zip(rho, idx):
            for j, v in enumerate(shares[i]):
                combined[j] += r_i * v
            combined[-1] += r_i * blindings[i]
        lhs = be.msm_g1(bases, ints_to_limbs([v % R for v in combined]))
        pts = [lhs] + [np.asarray(targets[i], dtype=np.uint64) for i in idx]
        scalars = [1] + [(-r) % R for r in rho]
        if minus is not None:
            pts += [np.asarray(minus[i], dtype=np.uint64) for i in idx]
            scalars += rho
        total = be.msm_g1(np.stack(pts), ints_to_limbs(scalars))
        return not np.asarray(total).any()          # the point at infinity is all zeros

    def search(idx):
        if batch(idx):
            for i in idx:
                ok[i] = True
            return
        if len(idx) == 1:
            return
        half = len(idx) // 2
        search(idx[:half])
        search(idx[half:])

    good = [i for i in range(n) if len(shares[i]) == ck.size]
    if good:
        search(good)
    return ok


@dataclass
class Verdicts:
    """One aggregator's view of a round: node -> None (its share opens) or why not, and the
    binding digest of what it received from each node."""

    problems: dict
    bindings: dict


class Aggregator:
    """One of the two aggregators, holding only what the nodes sent it.  The leader also
    verifies the proofs (in `process_private_round`); both check their shares, both keep a
    record of the share blindings each node used, and both sum the shares of an agreed set."""

    def __init__(self, fed, role: int, min_accepted: int = 2):
        from hpc_zkfl.groth16.committed import commitment_key
        self.fed = fed
        self.role = role
        self.min_accepted = min_accepted
        self.ck = commitment_key(fed.proving_key.vk, fed.statement.update_positions)
        self.round = 0                  # the round of `messages`
        self.messages = {}              # node -> ShareMessage of the current round
        self.seen_blindings = {}        # node -> set of share blindings it has used
        self.accepted_here = set()      # nodes whose shares opened in the last check

    def receive(self, t: int, messages: dict) -> None:
        """This round's messages (node -> ShareMessage, or the ValueError of bytes that did
        not parse)."""
        self.round = t
        self.messages = messages

    def check(self, expected) -> Verdicts:
        """Which of the `expected` nodes' shares open their commitments."""
        problems, bindings, items = {}, {}, []
        for i in expected:
            msg = self.messages.get(i)
            if msg is None:
                problems[i] = "no share"
                continue
            if not isinstance(msg, ShareMessage) or msg.round != self.round or msg.node != i \
                    or msg.role != self.role:
                problems[i] = "malformed share message"
                continue
            bindings[i] = msg.binding()
            if msg.refused:
                problems[i] = "refused"
                continue
            if len(msg.share) != self.ck.size:
                problems[i] = "share of the wrong length"
                continue
            if msg.blinding in self.seen_blindings.get(i, ()):
                problems[i] = "share blinding reused"
                continue
            items.append((i, msg))
        from hpc_zkfl.groth16.formats import g1_points_from_bytes
        ds = g1_points_from_bytes([msg.d for _, msg in items])
        commits = g1_points_from_bytes([msg.a_commit for _, msg in items])
        checked = []
        for (i, msg), d, a_commit in zip(items, ds, commits):
            if d is None or a_commit is None:
                problems[i] = "D or A is not a G1 point"
            else:
                checked.append((i, msg, d, a_commit))
        # The leader's share opens A; the helper's opens D - A.
        leader = self.role == LEADER
        ok = check_openings(self.ck, [a if leader else d for _, _, d, a in checked],
                            [m.share for _, m, _, _ in checked],
                            [m.blinding for _, m, _, _ in checked], self.fed.backend,
                            minus=None if leader else [a for _, _, _, a in checked])
        self.accepted_here = set()
        for (i, msg, _, _), good in zip(checked, ok):
            self.seen_blindings.setdefault(i, set()).add(msg.blinding)
            if good:
                self.accepted_here.add(i)
            else:
                problems[i] = ("A does not open with the leader's share" if self.role == LEADER
                               else "D - A does not open with the helper's share")
        return Verdicts(problems, bindings)

    def evidence(self, nodes) -> dict:
        """{node: (share, blinding)} this aggregator received from each of `nodes` whose
        share failed here: what the other aggregator can check against A."""
        out = {}
        for i in nodes:
            msg = self.messages.get(i)
            if isinstance(msg, ShareMessage) and i not in self.accepted_here \
                    and len(msg.share) == self.ck.size:
                out[i] = (tuple(msg.share), msg.blinding)
        return out

    def _check_evidence(self, evidence: dict) -> None:
        """Refuse (ValueError) when a claimed failing share in fact opens the node's A as
        this aggregator received it (a node whose A this aggregator cannot read failed here
        too: nothing to check)."""
        from hpc_zkfl.groth16.formats import g1_points_from_bytes
        ids = list(evidence)
        points = g1_points_from_bytes([getattr(self.messages.get(i), "a_commit", None)
                                       for i in ids])
        ids, targets = [i for i, p in zip(ids, points) if p is not None], \
            [p for p in points if p is not None]
        opens = check_openings(self.ck, targets, [evidence[i][0] for i in ids],
                               [evidence[i][1] for i in ids], self.fed.backend)
        false = [i for i, o in zip(ids, opens) if o]
        if false:
            raise ValueError(f"the other aggregator's evidence against node(s) {false} opens "
                             f"their commitment A: a false accusation; no sum")

    def share_sum(self, accepted, weights, evidence=None) -> list:
        """sum_i weights[i] share_i mod r over the agreed set.  Refused (ValueError) for
        fewer than min_accepted nodes, for a node whose share did not open here, and when
        the other aggregator's evidence against a node it left out is false: `evidence`
        {node: (share, blinding)} is what it says the node sent it, which must *not* open
        the node's A (the helper checks the leader's accusations this way)."""
        if len(accepted) < self.min_accepted:
            raise ValueError(f"a sum over {len(accepted)} node(s) is below min_accepted "
                             f"{self.min_accepted}")
        if evidence:
            self._check_evidence(evidence)
        total = [0] * self.ck.size
        for i, n_i in zip(accepted, weights):
            msg = self.messages.get(i)
            if i not in self.accepted_here or not isinstance(msg, ShareMessage):
                raise ValueError(f"node {i}'s share did not open here: not summed")
            for j, v in enumerate(msg.share):
                total[j] += n_i * v
        return [v % R for v in total]


def process_private_round(fed, t: int, w, messages: dict, step, leader: "Aggregator", helper,
                          commitments: dict = None, unregistered=()):
    """Judge round t in two-aggregator mode and step the model, as `server.process_round`
    does in public mode: `messages` are the leader's (node -> ShareMessage, or the ValueError
    of bytes that did not parse), `leader` the leader's Aggregator, `helper` the helper (an
    Aggregator in this process, or a transport's proxy for one on another rank: `receive` is
    the transport's business; `check(expected)` and `share_sum(accepted, weights)` are all
    the round asks of it).  No per-node norm is computed: update_norm is NaN throughout."""
    import time

    from hpc_zkfl.groth16.committed import hide
    from hpc_zkfl.groth16.formats import g1_points_from_bytes, proofs_from_bytes

    from .server import RoundOutcome, evaluate_loss, server_step, verify_batch
    from .simulation import accuracy_ref
    from .verdicts import RejectReason

    spec, fmt, n = fed.spec, fed.spec.fixed_point, fed.n_nodes
    reason = np.full(n, RejectReason.ACCEPTED, dtype=np.int8)
    late = np.zeros(n, dtype=bool)
    verify_time = np.zeros(n)
    participating = fed.participants(t)
    asked = [i for i in range(n) if participating[i] and i not in unregistered]
    for i in range(n):
        if not participating[i]:
            reason[i] = RejectReason.IDLE
        elif i in unregistered:
            reason[i] = RejectReason.UNREGISTERED
    leader.receive(t, messages)
    t0 = time.perf_counter()
    helper_view = helper.check(asked)
    t_helper = time.perf_counter() - t0
    problems = {}
    candidates = []
    for i in asked:
        msg = messages.get(i)
        if msg is None:
            if i in helper_view.bindings:               # it wrote to the helper only
                reason[i], problems[i] = RejectReason.SHARE_MISMATCH, "no share at the leader"
            else:
                reason[i], late[i] = RejectReason.LATE, True
        elif not isinstance(msg, ShareMessage) or msg.role != LEADER:
            reason[i] = RejectReason.MALFORMED
        elif msg.round != t or msg.node != i:
            reason[i] = RejectReason.WRONG_ROUND_OR_NODE
        elif msg.refused:
            reason[i] = RejectReason.NO_PROOF
        else:
            candidates.append(i)

    t0 = time.perf_counter()
    items, owners = [], []
    zeros = np.zeros(spec.n_params, dtype=np.int64)
    proofs = proofs_from_bytes([messages[i].proof for i in candidates])
    commitments_d = g1_points_from_bytes([messages[i].d for i in candidates])
    for i, proof, d in zip(candidates, proofs, commitments_d):
        if proof is None or d is None:
            reason[i] = RejectReason.MALFORMED
            continue
        c = commitments.get(i) if spec.data_binding and commitments else None
        if spec.data_binding and c is None:
            reason[i] = RejectReason.UNREGISTERED
            continue
        signals = hide(fed.statement.public_signals(t, i, w, zeros, commitment=c),
                       fed.statement.update_positions)
        items.append((signals, proof, d))
        owners.append(i)
    verify_batch(fed, items, owners, reason, verify_time, t0)
    t_verify = time.perf_counter() - t0

    t0 = time.perf_counter()
    proven = [i for i in owners if reason[i] == RejectReason.ACCEPTED]
    leader_view = leader.check(proven)
    for i in proven:
        why = (leader_view.problems.get(i) or helper_view.problems.get(i)
               or ("the aggregators received different (proof, D, A)"
                   if helper_view.bindings.get(i) != leader_view.bindings.get(i) else None))
        if why:
            reason[i], problems[i] = RejectReason.SHARE_MISMATCH, why
    accepted_ids = [i for i in proven if reason[i] == RejectReason.ACCEPTED]
    new_w = np.asarray(w, dtype=np.int64).copy()
    clamped = 0
    if accepted_ids:
        weights = [len(fed.partition[i]) for i in accepted_ids]
        try:
            ours = leader.share_sum(accepted_ids, weights)
            # The leader's accusations go with the request, for the helper to check.
            accused = [i for i in proven if i in leader_view.problems]
            theirs = helper.share_sum(accepted_ids, weights, leader.evidence(accused))
        except ValueError as exc:       # below min_accepted, or a refused accusation
            problems["aggregate"] = str(exc)
            problems["aggregate"] = str(exc)
        else:
            total = signed([a + b for a, b in zip(ours, theirs)])
            # floor(sum_i n_i u_i / sum_i n_i), as fedavg_fixed rounds
            delta = np.array([v // sum(weights) for v in total], dtype=np.int64)
            new_w, clamped = server_step(step, t, new_w, delta, fmt)
    t_aggregate = time.perf_counter() - t0 + t_helper

    t0 = time.perf_counter()
    accuracy = accuracy_ref(spec, new_w, fed.dataset.X_test, fed.dataset.y_test)
    loss = evaluate_loss(fed, new_w)
    t_evaluate = time.perf_counter() - t0
    return RoundOutcome(new_w, reason == RejectReason.ACCEPTED, reason, late, verify_time,
                        np.full(n, np.nan), accuracy, loss,
                        {"verify": t_verify, "aggregate": t_aggregate, "evaluate": t_evaluate},
                        clamped, problems)


def signed(values) -> np.ndarray:
    """Fr elements as signed int64 (x > r/2 stands for x - r)."""
    out = [v - R if v > R // 2 else v for v in (int(x) % R for x in values)]
    return np.array(out, dtype=object)


__all__ = ["Aggregator", "HELPER", "LEADER", "ShareMessage", "Verdicts", "check_openings",
           "encode_g1", "node_messages", "process_private_round", "signed",
           "split"]
