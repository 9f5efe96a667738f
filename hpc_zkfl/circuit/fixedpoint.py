"""Fixed-point arithmetic over Fr: one definition of rounding for the node's integer reference
and for its circuit.

A real x is the signed integer v = x * 2^f (f fractional bits) and lives in Fr as v mod r, so
negative values are r - |v|.  A format also bounds the integer part: every value that the
circuit range-checks satisfies -2^(k-1) <= v < 2^(k-1) (k = `total_bits`).

Rounding has exactly one definition, used by both sides: a truncation by s bits is the floor
v >> s (towards minus infinity).  In the circuit the quotient q comes from a hint and is
constrained by

    x - q * 2^s in [0, 2^s)       (the remainder, s + 1 constraints)
    q in [-2^(k-1), 2^(k-1))      (k + 1 constraints, or by whatever consumes q)

which pins q down uniquely because every integer involved is far below r (about 2^254): an
unchecked q would let a prover pick another remainder and shift q by (rem - rem') / 2^s mod r,
a huge field element that later arithmetic can fold back into a plausible update.  Callers that
range-check q anyway (the sigmoid takes |z| apart into bits, ReLU takes z apart) pass
`check_output=False` instead of paying twice.

Products are exact: a product of values with f_a and f_b fractional bits has f_a + f_b, and a
dot product is summed exactly and truncated once.  The integer reference works on numpy int64
arrays (the functions suffixed `_ref`) and refuses, with `FixedPointRangeError`, any value
outside the range the circuit would check, so an honest node finds out before proving.

The sigmoid is a continuous piecewise-linear approximation with knots at |z| = 0, 1, 2, 4, 8
(powers of two, so "|z| >= knot" is a zero test on high bits of |z|) and slopes that are
multiples of 2^-9, so it is evaluated exactly with 9 more fractional bits; it reaches 1 at
|z| = 8 and stays there.  In the spirit of
PLAN (Amin, Curtis, Hayes-Gill, "Piecewise linear approximation applied to nonlinear function
of a neural network", IEE Proc. Circuits Devices Syst. 144(6), 1997); its slopes are our own
minimax fit (`benchmarks/fit_sigmoid.py`), measured in `SIGMOID_MAX_ERROR`.
"""
from dataclasses import dataclass

import numpy as np

from hpc_zkfl.algebra.constants import R

from .builder import MAX_BITS, CircuitError, as_lc

# int64 reference arithmetic stays exact below this (with room for one addition).
_INT64_SAFE = 1 << 62


class FixedPointRangeError(ArithmeticError):
    """A fixed-point value outside the range its format (and hence the circuit) allows."""


def to_field(v) -> int:
    """A signed integer as an element of Fr."""
    return int(v) % R


def from_field(x: int) -> int:
    """The signed integer in (-r/2, r/2] that the field element x stands for."""
    x = int(x) % R
    return x - R if x > R // 2 else x


@dataclass(frozen=True)
class FixedPointFormat:
    """Signed fixed point with `frac_bits` fractional bits and values in
    [-2^(total_bits-1), 2^(total_bits-1))."""

    frac_bits: int = 16
    total_bits: int = 32

    def __post_init__(self):
        if not 0 <= self.frac_bits < self.total_bits <= 62:
            raise ValueError(f"need 0 <= frac_bits < total_bits <= 62, got frac_bits="
                             f"{self.frac_bits}, total_bits={self.total_bits}")

    @property
    def one(self) -> int:
        return 1 << self.frac_bits

    @property
    def lo(self) -> int:
        return -(1 << (self.total_bits - 1))

    @property
    def hi(self) -> int:
        return (1 << (self.total_bits - 1)) - 1

    def encode(self, x, what: str = "value") -> np.ndarray:
        """Round reals to the nearest grid point (ties to even) and check the range."""
        v = np.rint(np.asarray(x, dtype=np.float64) * self.one)
        if not np.all(np.isfinite(v)):
            raise FixedPointRangeError(f"{what}: not finite")
        return self.check(v.astype(np.int64), what)

    def decode(self, v) -> np.ndarray:
        return np.asarray(v, dtype=np.float64) / self.one

    def check(self, v, what: str = "value") -> np.ndarray:
        """v unchanged (as int64) if every element is in range, else FixedPointRangeError."""
        return check_range(v, self.lo, self.hi, what)


def check_range(v, lo: int, hi: int, what: str = "value") -> np.ndarray:
    """v as int64 if lo <= v <= hi elementwise, else FixedPointRangeError naming the worst."""
    arr = np.asarray(v)
    if arr.size == 0:
        return arr.astype(np.int64)
    mn, mx = int(arr.min()), int(arr.max())
    if mn < lo or mx > hi:
        worst = mn if mn < lo else mx
        raise FixedPointRangeError(f"{what} out of range: {worst} not in [{lo}, {hi}]")
    return arr.astype(np.int64)


# --- integer reference ---------------------------------------------------------------------

def floor_shift(v, shift: int):
    """floor(v / 2^shift) for numpy integer or object arrays and Python ints: THE rounding."""
    if shift < 0:
        raise ValueError("shift must be >= 0")
    return v >> shift


def exact_matmul(a, b) -> np.ndarray:
    """a @ b for integer arrays, exactly: int64 when the operand bounds allow it, Python ints
    (object arrays) otherwise."""
    a, b = np.asarray(a), np.asarray(b)
    inner = a.shape[-1]
    amax = int(np.abs(a).max()) if a.size else 0
    bmax = int(np.abs(b).max()) if b.size else 0
    if amax * bmax * max(inner, 1) < _INT64_SAFE:
        return a.astype(np.int64) @ b.astype(np.int64)
    return a.astype(object) @ b.astype(object)


def truncate_ref(v, shift: int, fmt: FixedPointFormat, what: str = "value") -> np.ndarray:
    """floor(v / 2^shift), range-checked against fmt (what the circuit's truncation proves)."""
    return fmt.check(floor_shift(np.asarray(v), shift), what)


def relu_ref(v, fmt: FixedPointFormat, what: str = "ReLU input"):
    """(max(v, 0), mask v >= 0); v must lie in fmt's range (the circuit takes it apart)."""
    v = fmt.check(v, what)
    mask = v >= 0
    return np.where(mask, v, 0), mask


def clamp_ref(v, lo: int, hi: int, fmt: FixedPointFormat, what: str = "clamp input"):
    return np.clip(fmt.check(v, what), lo, hi)


def less_than_ref(a, b, fmt: FixedPointFormat, what: str = "comparison input"):
    return fmt.check(a, what) < fmt.check(b, what)


# --- gadgets -------------------------------------------------------------------------------

def _floor_shift_hint(shift: int):
    def hint(x):
        return to_field(floor_shift(from_field(x), shift))
    return hint


def _sign_hint(x):
    return int(from_field(x) >= 0)


def range_check_signed(cs, x, bits: int, label: str = "signed range") -> list:
    """Assert -2^(bits-1) <= x < 2^(bits-1); the bits of x + 2^(bits-1) (bits + 1
    constraints; the top bit is 1 exactly when x >= 0)."""
    return cs.to_bits(as_lc(x) + (1 << (bits - 1)), bits, label=label)


def truncate(cs, x, shift: int, fmt: FixedPointFormat, out=None, check_output: bool = True,
             label: str = "truncate"):
    """floor(x / 2^shift) of a value x known to be an integer of magnitude below
    2^(total_bits - 1 + shift).  The quotient is `out` when given (a wire the caller declared,
    e.g. a public input), else a hint.  Cost: shift + 1 constraints, plus total_bits + 1 when
    check_output (see the module docstring for when skipping it is sound)."""
    x = as_lc(x)
    if shift == 0:
        q = x if out is None else as_lc(out)
        if out is not None:
            cs.assert_equal(q, x, label=f"{label}: quotient")
    else:
        with cs.scope(label):
            if out is None:
                (q,) = cs.hint(_floor_shift_hint(shift), x, label="quotient")
            else:
                q = as_lc(out)
            cs.range_check(x - q * (1 << shift), shift, label="remainder")
    if check_output:
        range_check_signed(cs, q, fmt.total_bits, label=f"{label}: quotient range")
    return q


def abs_sign(cs, x, bits: int, label: str = "abs"):
    """(s, |x|, bits of |x|) for -2^(bits-1) < x < 2^(bits-1), s = 1 when x >= 0.  The sign
    is a hint: a wrong one makes |x| = -x, a huge field element that fails the bit
    decomposition (bits + 2 constraints; it also range-checks x)."""
    x = as_lc(x)
    with cs.scope(label):
        (s,) = cs.hint(_sign_hint, x, label="sign")
        cs.assert_boolean(s, label="sign is boolean")
        a = cs.mul(s, 2 * x, label="2 s x") - x          # x if s else -x
        a_bits = cs.to_bits(a, bits - 1, label="|x| bits")
    return s, a, a_bits


def relu(cs, x, fmt: FixedPointFormat, label: str = "relu"):
    """(max(x, 0), mask x >= 0), x range-checked to fmt (total_bits + 2 constraints)."""
    with cs.scope(label):
        bits = range_check_signed(cs, x, fmt.total_bits, label="range")
        mask = bits[-1]
        return cs.mul(mask, x, label="mask * x"), mask


def less_than(cs, a, b, fmt: FixedPointFormat, label: str = "less than"):
    """1 if a < b else 0 for a, b in fmt's range (which the caller has checked):
    total_bits + 2 constraints."""
    with cs.scope(label):
        # a - b + 2^k lies in [1, 2^(k+1)); its bit k is set exactly when a >= b.
        bits = cs.to_bits(as_lc(a) - as_lc(b) + (1 << fmt.total_bits), fmt.total_bits + 1,
                          label="difference")
    return 1 - bits[-1]


def clamp(cs, x, lo: int, hi: int, fmt: FixedPointFormat, label: str = "clamp"):
    """min(max(x, lo), hi) for x in fmt's range (checked here) and constants lo <= hi."""
    if lo > hi:
        raise CircuitError(f"{label}: empty interval [{lo}, {hi}]")
    with cs.scope(label):
        range_check_signed(cs, x, fmt.total_bits, label="range")
        below = less_than(cs, x, lo, fmt, label="x < lo")
        x = cs.select(below, lo, x, label="raise to lo", assume_boolean=True)
        above = less_than(cs, hi, x, fmt, label="hi < x")
        return cs.select(above, hi, x, label="lower to hi", assume_boolean=True)


def in_range(cs, x, lo: int, hi: int, label: str = "in range") -> list:
    """Assert lo <= x <= hi for constants lo < hi; returns the n bits of x - lo (which callers
    may pack, e.g. into hash inputs).  n + 1 constraints when hi - lo + 1 is a power of two,
    n + 2 when hi - lo is one, 2n + 2 otherwise (n = bit length of hi - lo)."""
    span = hi - lo
    if span < 1:
        raise CircuitError(f"{label}: need lo < hi, got [{lo}, {hi}]")
    n = span.bit_length()
    if n > MAX_BITS:
        raise CircuitError(f"{label}: interval too wide")
    x = as_lc(x)
    with cs.scope(label):
        bits = cs.to_bits(x - lo, n, label="x - lo")
        if span == (1 << n) - 1:
            pass
        elif span == 1 << (n - 1):
            # x - lo <= 2^(n-1): the top bit excludes every lower bit.
            cs.assert_product(bits[-1], cs.sum(bits[:-1]), 0, label="top bit excludes the rest")
        else:
            cs.range_check(hi - x, n, label="hi - x")
    return bits


def norm_bound(cs, values, bound_sq: int, label: str = "norm bound"):
    """Assert sum v^2 <= bound_sq for values already range-checked to a few dozen bits (so the
    sum cannot wrap around r): len(values) + bit length of bound_sq + 1 constraints."""
    if bound_sq < 0:
        raise CircuitError(f"{label}: negative bound")
    with cs.scope(label):
        total = cs.sum([cs.square(v, label="square") for v in values])
        cs.range_check(bound_sq - total, max(bound_sq.bit_length(), 1), label="B^2 - sum")
    return total


# --- sigmoid -------------------------------------------------------------------------------

SIGMOID_KNOTS = (0, 1, 2, 4, 8)          # |z| at which the slope changes (powers of two)
SIGMOID_SLOPE_BITS = 9                    # slopes are multiples of 2^-9
# Slopes on [0,1), [1,2), [2,4), [4,8) in units of 2^-9, flat beyond 8, where g reaches 1
# exactly: 123 + 77 + 2*26 + 4*1 = 256 = 2^9 / 2.  Saturating matters: with a flat tail below 1
# (an earlier fit stopped at 0.992 beyond |z| = 4), sigmoid - y never vanishes, logits grow
# without bound and fixed-point FedAvg of the MLP drifted up to 8 points from float.  Minimax
# fit of benchmarks/fit_sigmoid.py over multiples of 2^-9 with g(0) = 1/2 and g(8) = 1
# (ties on the maximum error broken by the mean error).
SIGMOID_SLOPES = (123, 77, 26, 1)
# max |sigmoid_pla(z) - sigmoid(z)| over the reals (the fit script measures it; a test
# re-measures it on a fine grid).
SIGMOID_MAX_ERROR = 0.0116


def sigmoid_out_frac_bits(fmt: FixedPointFormat) -> int:
    """Fractional bits of the sigmoid's output (exact: f + SIGMOID_SLOPE_BITS)."""
    return fmt.frac_bits + SIGMOID_SLOPE_BITS


def _sigmoid_terms(fmt):
    """(knot values as ints with f fractional bits, slope changes in units of 2^-9)."""
    knots = [k << fmt.frac_bits for k in SIGMOID_KNOTS]
    slopes = list(SIGMOID_SLOPES) + [0]
    changes = [slopes[0]] + [slopes[j] - slopes[j - 1] for j in range(1, len(slopes))]
    return knots, changes


def _check_sigmoid_format(fmt):
    if fmt.frac_bits + SIGMOID_KNOTS[-1].bit_length() > fmt.total_bits - 1:
        raise ValueError(f"{fmt} cannot hold the sigmoid's last knot {SIGMOID_KNOTS[-1]}")


def sigmoid_ref(z, fmt: FixedPointFormat, what: str = "sigmoid input") -> np.ndarray:
    """The piecewise-linear sigmoid of z (f fractional bits, in fmt's range), exactly, with
    f + 9 fractional bits: g(|z|) for z >= 0 and 1 - g(|z|) for z < 0, where
    g(a) = 1/2 + sum_j dslope_j * max(a - knot_j, 0)."""
    _check_sigmoid_format(fmt)
    z = check_range(z, fmt.lo + 1, fmt.hi, what)
    a = np.abs(z)
    knots, changes = _sigmoid_terms(fmt)
    one = 1 << sigmoid_out_frac_bits(fmt)
    g = np.full(a.shape, one >> 1, dtype=np.int64)
    for knot, change in zip(knots, changes):
        g += change * np.maximum(a - knot, 0)
    return np.where(z >= 0, g, one - g)


def sigmoid(cs, z, fmt: FixedPointFormat, label: str = "sigmoid"):
    """The circuit of `sigmoid_ref`: it also range-checks z to (-2^(k-1), 2^(k-1)).
    Cost: total_bits + 3 constraints for |z|, 3 per knot above 0, 1 for the sign."""
    _check_sigmoid_format(fmt)
    knots, changes = _sigmoid_terms(fmt)
    one = 1 << sigmoid_out_frac_bits(fmt)
    with cs.scope(label):
        s, a, a_bits = abs_sign(cs, z, fmt.total_bits, label="abs")
        g = as_lc(one >> 1) + changes[0] * a
        for j in range(1, len(knots)):
            # |z| >= 2^e * 2^f exactly when a bit of |z| at position f + e or above is set.
            high = cs.sum(a_bits[knots[j].bit_length() - 1:])
            past = 1 - cs.is_zero(high, label=f"|z| < {SIGMOID_KNOTS[j]}")
            g = g + changes[j] * cs.mul(past, a - knots[j], label=f"hinge {SIGMOID_KNOTS[j]}")
        return cs.select(s, g, one - g, label="symmetry", assume_boolean=True)


__all__ = [
    "FixedPointFormat", "FixedPointRangeError", "SIGMOID_KNOTS", "SIGMOID_MAX_ERROR",
    "SIGMOID_SLOPES", "SIGMOID_SLOPE_BITS", "abs_sign", "check_range", "clamp", "clamp_ref",
    "exact_matmul", "floor_shift", "from_field", "in_range", "less_than", "less_than_ref",
    "norm_bound", "range_check_signed", "relu", "relu_ref", "sigmoid", "sigmoid_out_frac_bits",
    "sigmoid_ref", "to_field", "truncate", "truncate_ref",
]
