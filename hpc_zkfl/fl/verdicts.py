"""The root's verdict on a node's update in a round: accepted, or why not.

The server (`hpc_zkfl.fl.server`) decides; the results file stores the codes
(`/nodes/reject_reason`, docs/results-layout.md), so a code never changes meaning.
"""
import enum


class RejectReason(enum.IntEnum):
    """Why a node's update of a round was not aggregated (/nodes/reject_reason)."""

    ACCEPTED = 0
    INVALID_PROOF = 1           # the proof fails verification against (t, i, w_t, u[, c_i])
    MALFORMED = 2               # bytes that do not decode, an update of the wrong shape
    LATE = 3                    # no message before the round's deadline
    WRONG_ROUND_OR_NODE = 4     # replay: the message names another round or node
    NO_PROOF = 5                # the node's own prover refused (no proof sent); unproven: its
                                # update is out of the fixed-point range, it sits the round out
    NOT_SELECTED = 6            # an unproven robust aggregator (Krum, trimmed mean) left it out
    IDLE = 7                    # not among the round's participants ([nodes] per_round)
    UNREGISTERED = 8            # refused before round 1 (its rank's handshake or its dataset
                                # commitment); metadata "registration" says why
    SHARE_MISMATCH = 9          # two-aggregator mode: a share that does not open its commitment,
                                # shares to one aggregator only, different (proof, D, A) at the
                                # two, or a share blinding used before
    OUT_OF_SYNC = 10            # boosted trees: the node's committed margins lag the trees (its
                                # proof of a tree's first level was missing or rejected)


__all__ = ["RejectReason"]
