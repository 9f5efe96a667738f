"""What a node statement is about: the model, the data grid, the fixed-point format, the
learning rate, the norm bound and whether data binding is on.

One `StatementSpec` fixes one circuit (and so one Groth16 key): every node of a run proves
against the same statement; the round, the node id, the global model, the update and the
dataset commitment are its public inputs.
"""
import math
from dataclasses import dataclass, field

import numpy as np

from hpc_zkfl import names
from hpc_zkfl.circuit.fixedpoint import FixedPointFormat

# The registry's models that prove a gradient step (hpc_zkfl/names.py); boosted trees have
# their own statement (gbdt_statement.py).
MODEL_NAMES = tuple(m for m in names.MODELS if m not in names.TREE_MODELS)



def n_outputs(n_classes: int) -> int:
    """Sigmoid outputs of a model: one for binary data (label in {0, 1}), else one per class."""
    if not isinstance(n_classes, int) or n_classes < 2:
        raise ValueError(f"n_classes must be an int >= 2, got {n_classes!r}")
    return 1 if n_classes == 2 else n_classes


def param_shapes(model: str, n_features: int, n_classes: int, hidden: int = 0) -> list:
    """[(name, shape)] of a model's parameters, in the order of the flat parameter vector."""
    if model not in MODEL_NAMES:
        raise ValueError(f"unknown model {model!r}; known: {', '.join(MODEL_NAMES)}")
    k, d = n_outputs(n_classes), n_features
    if model == "logistic" and k != 1:
        raise ValueError("the logistic model is binary: n_classes must be 2 (use 'ovr')")
    if model == "mlp":
        if not isinstance(hidden, int) or hidden < 1:
            raise ValueError(f"the mlp model needs hidden >= 1, got {hidden!r}")
        return [("W1", (hidden, d)), ("b1", (hidden,)), ("W2", (k, hidden)), ("b2", (k,))]
    return [("W", (k, d)), ("b", (k,))]


# Significant bits of the step constant c = learning_rate / batch_size (see `step_constant`).
STEP_CONSTANT_BITS = 12


@dataclass(frozen=True)
class FeatureRange:
    """Features on a fixed-point grid: the int x means x / 2^frac_bits and lo <= x <= hi."""

    frac_bits: int
    lo: int
    hi: int

    def __post_init__(self):
        if self.frac_bits < 0 or self.lo >= self.hi:
            raise ValueError(f"bad feature range: frac_bits={self.frac_bits}, [{self.lo}, {self.hi}]")

    @property
    def bits(self) -> int:
        """Bits of x - lo (what the range check decomposes)."""
        return (self.hi - self.lo).bit_length()

    def to_float(self, x):
        """The real value(s) that the feature integer(s) x stand for (float64)."""
        return np.asarray(x, dtype=np.float64) / (1 << self.frac_bits)


MAX_NORM_SQ_BITS = 252      # B^2 - sum u^2 is range-checked in Fr (254 bits)


@dataclass(frozen=True)
class StatementSpec:
    """The node statement of one run.

    model: "logistic" (binary data, one sigmoid output), "ovr" (one-vs-rest: one sigmoid
    output per class; one output when n_classes == 2) or "mlp" (one hidden ReLU layer of
    `hidden` units, then ovr outputs).  Loss: the sum over outputs of binary cross-entropy,
    averaged over the batch; the update is one gradient step u = -learning_rate * gradient.
    norm_bound: B in ||u|| <= B (in real units).
    merkle_depth: with data binding on, the node's dataset has at most 2^merkle_depth samples.
    verifier_checks_update: the update u is a public input the verifier sees (public mode), so
    its fixed-point range and ||u|| <= B are checked by the verifier on u itself
    (`NodeStatement.check_update`) instead of by the circuit; False (two-aggregator mode, where
    u is committed and hidden, and the default) keeps both in the circuit.
    """

    model: str
    n_features: int
    n_classes: int
    batch_size: int
    features: FeatureRange
    learning_rate: float
    norm_bound: float
    hidden: int = 0
    fixed_point: FixedPointFormat = field(default_factory=FixedPointFormat)
    data_binding: bool = False
    merkle_depth: int = 0
    verifier_checks_update: bool = False

    def __post_init__(self):
        if self.model not in MODEL_NAMES:
            raise ValueError(f"unknown model {self.model!r}; known: {', '.join(MODEL_NAMES)}")
        for name in ("n_features", "batch_size"):
            if not isinstance(getattr(self, name), int) or getattr(self, name) < 1:
                raise ValueError(f"{name} must be a positive int, got {getattr(self, name)!r}")
        if not isinstance(self.n_classes, int) or self.n_classes < 2:
            raise ValueError(f"n_classes must be an int >= 2, got {self.n_classes!r}")
        if self.model == "logistic" and self.n_classes != 2:
            raise ValueError("the logistic model is binary: n_classes must be 2 (use 'ovr')")
        if self.model == "mlp" and (not isinstance(self.hidden, int) or self.hidden < 1):
            raise ValueError(f"the mlp model needs hidden >= 1, got {self.hidden!r}")
        if self.model != "mlp" and self.hidden:
            raise ValueError(f"hidden units are for the mlp model, not {self.model!r}")
        if not (math.isfinite(self.learning_rate) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be positive, got {self.learning_rate!r}")
        if not (math.isfinite(self.norm_bound) and self.norm_bound > 0):
            raise ValueError(f"norm_bound must be positive, got {self.norm_bound!r}")
        if self.features.frac_bits > self.fixed_point.frac_bits:
            raise ValueError("features may not have more fractional bits than the model format")
        if self.data_binding and not 0 <= self.merkle_depth <= 32:
            raise ValueError(f"merkle_depth must be in [0, 32], got {self.merkle_depth!r}")
        if not self.data_binding and self.merkle_depth:
            raise ValueError("merkle_depth is only meaningful with data_binding on")

    @property
    def n_outputs(self) -> int:
        return n_outputs(self.n_classes)

    def param_shapes(self) -> list:
        """[(name, shape)] in the order of the flat parameter vector."""
        return param_shapes(self.model, self.n_features, self.n_classes, self.hidden)

    @property
    def n_params(self) -> int:
        return sum(math.prod(shape) for _, shape in self.param_shapes())

    @property
    def message_params(self) -> int:
        """Entries of a node's update (a message's cap): one per parameter."""
        return self.n_params

    def step_constant(self) -> tuple:
        """(c, bits): c / 2^bits approximates learning_rate / batch_size with
        STEP_CONSTANT_BITS significant bits; the update is floor(-c * gradient sum / 2^...)."""
        ratio = self.learning_rate / self.batch_size
        bits = max(0, STEP_CONSTANT_BITS - 1 - math.floor(math.log2(ratio)))
        c = round(ratio * (1 << bits))
        # Trailing zero bits would only lengthen the update's truncation (2^-6 becomes 1 / 2^6).
        while c % 2 == 0 and bits > 0:
            c, bits = c // 2, bits - 1
        return c, bits

    @property
    def effective_learning_rate(self) -> float:
        """The learning rate the fixed-point step really uses (c / 2^bits * batch_size)."""
        c, bits = self.step_constant()
        return c / (1 << bits) * self.batch_size

    def norm_bound_sq(self) -> int:
        """floor(B * 2^f)^2: B^2 in the units of sum u_int^2 (2f fractional bits).  ValueError
        when it does not fit a field element (the circuit range-checks B^2 - sum u^2 in
        two-aggregator runs; public runs hold the same limit, so a config means one thing)."""
        bound = math.floor(self.norm_bound * self.fixed_point.one)
        if (bound * bound).bit_length() > MAX_NORM_SQ_BITS:
            raise ValueError(f"norm_bound = {self.norm_bound:g}: B^2 in fixed point has "
                             f"{(bound * bound).bit_length()} bits, more than the "
                             f"{MAX_NORM_SQ_BITS} a range check in Fr holds")
        return bound * bound


__all__ = ["FeatureRange", "MODEL_NAMES", "STEP_CONSTANT_BITS", "StatementSpec", "n_outputs",
           "param_shapes"]
