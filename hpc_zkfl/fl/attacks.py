"""What malicious nodes send, as pure functions the runtime applies without knowing the kinds.

Model poisoning (the update or its proof is forged); the proofs reject all of it:
  scaling     u' = s u (boosting: Bhagoji, Chakraborty, Mittal, Calo, "Analyzing federated
              learning through an adversarial lens", ICML 2019, arXiv:1811.12470)
  sign_flip   u' = -s u (a reversed gradient; Fang, Cao, Jia, Gong, "Local model poisoning
              attacks to Byzantine-robust federated learning", USENIX Security 2020)
  gaussian    u' = u + N(0, sigma^2) per coordinate, sigma in real units (the Gaussian
              Byzantine node of Blanchard et al., NeurIPS 2017)
  free_rider  u' = 0 (Lin, Du, Liu, "Free-riders in federated learning: attacks and
              defenses", arXiv:1911.12560)
  replay      a previous round's message of this node, or another node's message of this
              round, header relabelled (the proof binds round and node id, so it fails)
  malformed   proof bytes corrupted: random, truncated or bit-flipped
Data poisoning, which proofs cannot stop (the node proves honestly on data it chose):
  label_flip  the node trains on y' = n_classes - 1 - y (Tolpegin, Truex, Gursoy, Liu, "Data
              poisoning attacks against federated learning systems", ESORICS 2020,
              arXiv:2007.08432)

How the runtime uses it: `malicious_nodes` picks the attackers once per run; a malicious node
passes its batch's labels through `poison_labels`, its honest update through `poison_update`
and, for "malformed", its proof through `corrupt_proof_bytes`; each is the identity for the
kinds it does not concern.  "replay" needs the messages of other rounds and nodes, so the
node builds it (`hpc_zkfl.fl.node`) from the option `source`.

Poisoned updates are int64 and clamped to the fixed-point range, so a message is always well
formed and only its proof can betray it.
"""
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np

from hpc_zkfl import names
from hpc_zkfl.names import (ATTACK_OPTIONS, DATA_POISONING, MODEL_POISONING,
                            PRIVATE_ONLY_ATTACKS)

# The names (and what each attack does) are the registry's, hpc_zkfl/names.py.
ATTACK_KINDS = tuple(names.ATTACKS)
DESCRIPTIONS = names.ATTACKS
REPLAY_SOURCES = tuple(names.REPLAY_SOURCES)


def _positive_number(value, what: str) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real) \
            or not np.isfinite(value) or not value > 0:
        raise ValueError(f"{what} must be a finite number > 0, got {value!r}")
    return float(value)


@dataclass(frozen=True)
class Attack:
    """An attack kind, the fraction of nodes that run it, and its options (the kind's defaults
    filled in; see ATTACK_OPTIONS)."""

    kind: str = "none"
    fraction: float = 0.0
    options: dict = field(default_factory=dict, hash=False)

    def __post_init__(self):
        if self.kind not in ATTACK_KINDS:
            raise ValueError(f"unknown attack {self.kind!r}; known: {', '.join(ATTACK_KINDS)}")
        if isinstance(self.fraction, (bool, np.bool_)) or not isinstance(self.fraction, Real) \
                or not 0.0 <= self.fraction <= 1.0:
            raise ValueError(f"attack fraction must be a number in [0, 1], got "
                             f"{self.fraction!r}")
        defaults = ATTACK_OPTIONS.get(self.kind, {})
        unknown = sorted(set(self.options) - set(defaults))
        if unknown:
            raise ValueError(f"attack {self.kind!r} takes no option(s) {', '.join(unknown)}; "
                             f"its options: {', '.join(defaults) or 'none'}")
        options = {**defaults, **self.options}       # a copy: the caller's dict stays theirs
        if "scale" in options:
            options["scale"] = _positive_number(options["scale"], "attack option scale")
        if "noise_std" in options:
            options["noise_std"] = _positive_number(options["noise_std"],
                                                    "attack option noise_std")
        if "source" in options and options["source"] not in REPLAY_SOURCES:
            raise ValueError(f"attack option source must be one of {', '.join(REPLAY_SOURCES)}"
                             f", got {options['source']!r}")
        object.__setattr__(self, "fraction", float(self.fraction))
        object.__setattr__(self, "options", options)

    @property
    def poisoning(self):
        """The kind's class: "model" or "data" poisoning, "protocol" for the attacks on the
        two-aggregator protocol, None for "none"."""
        if self.kind in MODEL_POISONING:
            return "model"
        if self.kind in PRIVATE_ONLY_ATTACKS:
            return "protocol"
        return "data" if self.kind in DATA_POISONING else None

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.kind]


def malicious_nodes(n_nodes: int, fraction: float, seed: int) -> np.ndarray:
    """(n_nodes,) bool mask with exactly round(fraction * n_nodes) True (Python's round: halves
    to even, so 0.25 of 10 nodes is 2), which nodes chosen deterministically from the seed."""
    if isinstance(n_nodes, (bool, np.bool_)) or not isinstance(n_nodes, Integral) or n_nodes < 1:
        raise ValueError(f"n_nodes must be an integer >= 1, got {n_nodes!r}")
    if isinstance(fraction, (bool, np.bool_)) or not isinstance(fraction, Real) \
            or not 0.0 <= fraction <= 1.0:
        raise ValueError(f"fraction must be a number in [0, 1], got {fraction!r}")
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    count = int(round(fraction * n_nodes))
    # A stream of its own (the constant tags it), so that who is malicious does not shift when
    # other uses of the run's seed change.
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), 0xBAD]))
    mask = np.zeros(n_nodes, dtype=bool)
    mask[rng.choice(n_nodes, size=count, replace=False)] = True
    return mask


def poison_labels(attack: Attack, labels, n_classes: int) -> np.ndarray:
    """The labels a node trains on: flipped to n_classes - 1 - y for "label_flip" (still valid
    classes, so the node can prove its update), unchanged otherwise."""
    labels = np.asarray(labels)
    if attack.kind != "label_flip":
        return labels
    if isinstance(n_classes, (bool, np.bool_)) or not isinstance(n_classes, Integral) \
            or n_classes < 2:
        raise ValueError(f"n_classes must be an integer >= 2, got {n_classes!r}")
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.size and (int(labels.min()) < 0 or int(labels.max()) >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes - 1}], got "
                         f"[{int(labels.min())}, {int(labels.max())}]")
    return (n_classes - 1 - labels.astype(np.int64)).astype(labels.dtype)


def _clamp(x: np.ndarray, fmt) -> np.ndarray:
    """Float or int values to int64 in [fmt.lo, fmt.hi].  Clamped twice: a float bound such as
    2^61 - 1 rounds up to 2^61, so the float clamp alone could leave the range."""
    if x.dtype.kind == "f":
        x = np.clip(x, fmt.lo, fmt.hi).astype(np.int64)
    elif x.dtype.kind == "u":
        x = np.minimum(x, fmt.hi).astype(np.int64)
    return np.clip(x, fmt.lo, fmt.hi).astype(np.int64)


def poison_update(attack: Attack, u, fmt, rng: np.random.Generator) -> np.ndarray:
    """The update a model-poisoning node sends in place of its honest update u, as int64 in
    fmt's range (`hpc_zkfl.circuit.fixedpoint.FixedPointFormat`).

    scaling and sign_flip multiply in float64 and round to nearest (exact while |s u| < 2^53,
    i.e. always for the default 32-bit format and scales below 2^21); gaussian draws its noise
    from rng, so one generator state gives one noise, and adds it in integers.  The kinds that
    do not touch the update ("none", "label_flip", "replay", "malformed") return u unchanged.
    """
    u = np.asarray(u)
    if u.dtype.kind not in "iu":
        raise TypeError(f"update must be an integer (fixed-point) array, got dtype {u.dtype}")
    kind, opt = attack.kind, attack.options
    if kind not in ("scaling", "sign_flip", "gaussian", "free_rider"):
        return u
    u = _clamp(u, fmt)                      # also makes a uint64 or out-of-range input safe
    if kind == "scaling":
        return _clamp(np.rint(u.astype(np.float64) * opt["scale"]), fmt)
    if kind == "sign_flip":
        return _clamp(np.rint(u.astype(np.float64) * -opt["scale"]), fmt)
    if kind == "gaussian":
        noise = np.rint(rng.normal(0.0, opt["noise_std"], size=u.shape) * fmt.one)
        # |noise| <= hi - lo keeps u + noise inside int64 (|u| <= 2^61) and still saturates.
        noise = np.clip(noise, fmt.lo - fmt.hi, fmt.hi - fmt.lo).astype(np.int64)
        return _clamp(u + noise, fmt)
    return np.zeros_like(u)                 # free_rider


def corrupt_proof_bytes(proof_bytes: bytes, rng: np.random.Generator) -> bytes:
    """Proof bytes that differ from the input, one of three ways picked by rng: random bytes
    of the same length, a truncation (possibly to nothing), or one to three flipped bits.
    Random bytes and truncations rarely decode to curve points (MALFORMED at the root); a flipped
    bit may decode and then fails verification (INVALID_PROOF)."""
    proof = bytes(proof_bytes)
    way = int(rng.integers(3)) if proof else 0
    if way == 0:
        out = rng.integers(0, 256, size=max(len(proof), 1), dtype=np.uint8).tobytes()
        # Complementing every byte changes it for sure (probability 2^-1024 for a proof).
        return out if out != proof else bytes(b ^ 0xFF for b in out)
    if way == 1:
        return proof[:int(rng.integers(len(proof)))]
    flipped = bytearray(proof)
    count = int(rng.integers(1, 4))
    for pos in rng.choice(len(proof), size=min(count, len(proof)), replace=False):
        flipped[pos] ^= 1 << int(rng.integers(8))      # distinct bytes: no flip undoes another
    return bytes(flipped)


__all__ = ["ATTACK_KINDS", "ATTACK_OPTIONS", "Attack", "DATA_POISONING", "DESCRIPTIONS",
           "MODEL_POISONING", "REPLAY_SOURCES", "corrupt_proof_bytes", "malicious_nodes",
           "poison_labels", "poison_update"]
