"""A circuit builder in the spirit of gnark's frontend API, and its witness solver.

A circuit is written against `ConstraintSystem`: declare inputs, combine them into
`LinearCombination`s with +, - and multiplication by constants (free: linear combinations never
create constraints; they are folded into the rows that use them), and spend constraints only on
products of two non-constant values (`mul`) and on assertions and gadgets (`assert_equal`,
`assert_boolean`, `to_bits`, `range_check`, `is_zero`, `select`, `less_than`, ...).  Values that
are cheap to check but not to compute inside the constraints (bits, inverses, quotients) come
from hints: Python functions of input values that the solver runs, whose results the caller must
constrain.

`compile()` returns the `R1CS` with iden3's wire order (constant 1, public outputs, public
inputs, private inputs, internal wires, whatever order they were declared in) and a `Solver`
that replays the circuit's steps in creation order on concrete inputs to produce the witness.

The bit-decomposition and comparison gadgets follow circomlib's Num2Bits and LessThan; the
zero test is the inverse trick of Buterin's "Quadratic arithmetic programs: from zero to hero"
(also circomlib's IsZero).
"""
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.fields import FR

from .r1cs import R1CS, SparseMatrix

# Largest n for which a sum of n bits is below r, so that a decomposition is unique.
MAX_BITS = R.bit_length() - 1
_KINDS = ("output", "public", "private", "internal")


class CircuitError(ValueError):
    """A circuit built wrongly (a constant assertion that fails, a bad argument, ...)."""


class UnsatisfiedConstraintError(ValueError):
    """A witness that does not satisfy a constraint: `index` and a readable `description`."""

    def __init__(self, index: int, description: str):
        super().__init__(f"constraint {index} is not satisfied: {description}")
        self.index = index
        self.description = description


class LinearCombination:
    """sum_i c_i * wire_i + c_0 over Fr; wire id 0 is the constant 1.

    Immutable; the arithmetic operators return new objects and fold constants.  Wire ids are
    the builder's creation-order ids, remapped to iden3 order by `compile()`."""

    __slots__ = ("terms",)

    def __init__(self, terms=None):
        self.terms = {w: c % R for w, c in (terms or {}).items() if c % R}

    @classmethod
    def constant(cls, value: int) -> "LinearCombination":
        return cls({0: value})

    def is_constant(self) -> bool:
        return all(w == 0 for w in self.terms)

    def constant_value(self) -> int:
        """The value of a constant combination (raises if it involves a wire)."""
        if not self.is_constant():
            raise CircuitError("linear combination is not a constant")
        return self.terms.get(0, 0)

    def _combine(self, other, sign: int) -> "LinearCombination":
        other = as_lc(other)
        terms = dict(self.terms)
        for w, c in other.terms.items():
            terms[w] = terms.get(w, 0) + sign * c
        return LinearCombination(terms)

    def __add__(self, other):
        return self._combine(other, 1)

    def __radd__(self, other):
        return self._combine(other, 1)

    def __sub__(self, other):
        return self._combine(other, -1)

    def __rsub__(self, other):
        return as_lc(other)._combine(self, -1)

    def __neg__(self):
        return LinearCombination({w: -c for w, c in self.terms.items()})

    def __mul__(self, other):
        other = as_lc(other)
        if other.is_constant():
            k = other.constant_value()
            return LinearCombination({w: c * k for w, c in self.terms.items()})
        if self.is_constant():
            return other * self
        raise CircuitError("a product of two non-constant values needs a constraint: use cs.mul(a, b)")

    __rmul__ = __mul__

    def __repr__(self):
        return "LC(" + " + ".join(f"{c}*w{w}" if w else str(c) for w, c in self.terms.items()) + ")"


def linear_sum(items, coeffs=None) -> LinearCombination:
    """sum_i coeffs[i] * items[i] (coeffs default to 1) in linear time; repeated `+` on a growing
    combination copies it each time."""
    terms = {}
    for i, item in enumerate(items):
        k = 1 if coeffs is None else coeffs[i]
        for w, c in as_lc(item).terms.items():
            terms[w] = terms.get(w, 0) + c * k
    return LinearCombination(terms)


def as_lc(x) -> LinearCombination:
    """An int (a constant) or a LinearCombination as a LinearCombination."""
    if isinstance(x, LinearCombination):
        return x
    if isinstance(x, (int, np.integer)) and not isinstance(x, bool):
        return LinearCombination.constant(int(x))
    raise TypeError(f"expected an int or a LinearCombination, got {type(x).__name__}")


@dataclass(frozen=True)
class _Constraint:
    a: dict
    b: dict
    c: dict
    description: str


class ConstraintSystem:
    """Builds a rank-1 constraint system (see the module docstring)."""

    def __init__(self):
        self._kind = ["one"]            # per creation-order wire id; id 0 = constant 1
        self._names = ["1"]
        self._inputs = {"public": [], "private": []}   # (name, wire) in declaration order
        self._arrays = {}               # array name -> list of element names
        self._input_names = {}          # input name -> (kind, wire)
        self._outputs = []              # (name, wire, lc)
        self._steps = []                # solver program, in creation order
        self._constraints = []
        self._scope = []
        self._taken = set()             # every declared input, array and output name

    # wires and inputs --------------------------------------------------------------------
    def _new_wire(self, kind: str, name: str) -> LinearCombination:
        self._kind.append(kind)
        self._names.append(name)
        return LinearCombination({len(self._kind) - 1: 1})

    def _label(self, label: str) -> str:
        return "/".join(self._scope + [label])

    def _declare(self, kind: str, name: str) -> LinearCombination:
        if not isinstance(name, str) or not name:
            raise CircuitError("an input needs a non-empty string name")
        if name in self._taken:
            raise CircuitError(f"name {name!r} is already declared")
        self._taken.add(name)
        var = self._new_wire(kind, name)
        wire = len(self._kind) - 1
        self._inputs[kind].append((name, wire))
        self._input_names[name] = (kind, wire)
        return var

    def public_input(self, name: str) -> LinearCombination:
        return self._declare("public", name)

    def private_input(self, name: str) -> LinearCombination:
        return self._declare("private", name)

    def _declare_array(self, kind: str, name: str, n: int) -> list:
        if name in self._taken:
            raise CircuitError(f"name {name!r} is already declared")
        variables = [self._declare(kind, f"{name}[{i}]") for i in range(n)]
        self._taken.add(name)
        self._arrays[name] = [f"{name}[{i}]" for i in range(n)]
        return variables

    def public_inputs(self, name: str, n: int) -> list:
        """n public inputs name[0..n-1]; the solver takes them as {name: [values]} too."""
        return self._declare_array("public", name, n)

    def private_inputs(self, name: str, n: int) -> list:
        return self._declare_array("private", name, n)

    def public_output(self, name: str, value) -> LinearCombination:
        """A public output wire equal to `value` (one constraint); the solver computes it."""
        if not isinstance(name, str) or not name or name in self._taken:
            raise CircuitError(f"output name {name!r} is empty or already declared")
        self._taken.add(name)
        value = as_lc(value)
        out = self._new_wire("output", name)
        wire = len(self._kind) - 1
        self._outputs.append((name, wire, value))
        self._steps.append(("lc", value.terms, wire))
        self._constrain(value, 1, out, f"output {name}")
        return out

    @contextmanager
    def scope(self, name: str):
        """Prefix the descriptions of the constraints made inside (for error messages)."""
        self._scope.append(name)
        try:
            yield
        finally:
            self._scope.pop()

    # constraints ---------------------------------------------------------------------------
    def _constrain(self, a, b, c, label: str):
        a, b, c = as_lc(a), as_lc(b), as_lc(c)
        if a.is_constant() and b.is_constant() and c.is_constant():
            if a.constant_value() * b.constant_value() % R != c.constant_value():
                raise CircuitError(f"{self._label(label)}: constant constraint can never hold")
            return
        self._constraints.append(_Constraint(a.terms, b.terms, c.terms, self._label(label)))

    @property
    def n_constraints(self) -> int:
        return len(self._constraints)

    @property
    def descriptions(self) -> list:
        """Each constraint's description (its scopes and label), in order."""
        return [con.description for con in self._constraints]

    @property
    def n_wires(self) -> int:
        return len(self._kind)

    def constant(self, value: int) -> LinearCombination:
        return LinearCombination.constant(value)

    def mul(self, a, b, label: str = "mul") -> LinearCombination:
        """a * b: free when either side is a constant, else one constraint and one new wire."""
        a, b = as_lc(a), as_lc(b)
        if a.is_constant() or b.is_constant():
            return a * b
        out = self._new_wire("internal", self._label(label))
        self._steps.append(("mul", a.terms, b.terms, len(self._kind) - 1))
        self._constrain(a, b, out, label)
        return out

    def square(self, a, label: str = "square") -> LinearCombination:
        return self.mul(a, a, label)

    def div(self, a, b, label: str = "div") -> LinearCombination:
        """a / b with the quotient from a hint and one constraint q * b = a (b must be nonzero:
        for b = 0 and a != 0 no witness exists; for a = b = 0 the quotient is unconstrained)."""
        a, b = as_lc(a), as_lc(b)
        if b.is_constant():
            if b.constant_value() == 0:
                raise CircuitError(f"{self._label(label)}: division by the constant 0")
            return a * pow(b.constant_value(), -1, R)
        (q,) = self.hint(_div_hint, a, b, label=label)
        self._constrain(q, b, a, label)
        return q

    def assert_equal(self, a, b, label: str = "assert_equal"):
        # As 1 * 0 = a - b: the wires of a - b then sit in C only, so the prover's A and B
        # MSMs skip them (a linear check often holds the widest values, e.g. packed sums).
        self._constrain(1, 0, as_lc(a) - as_lc(b), label)

    def assert_product(self, a, b, c, label: str = "assert_product"):
        """Assert a * b == c (one constraint, no new wire)."""
        self._constrain(a, b, c, label)

    def assert_boolean(self, x, label: str = "assert_boolean"):
        x = as_lc(x)
        self._constrain(x, x - 1, 0, label)

    def hint(self, fn, *inputs, n_outputs: int = 1, label: str = "hint") -> list:
        """New private wires whose values the solver computes as fn(*input values) (ints mod r;
        fn returns an int or a sequence of n_outputs ints).  They are NOT constrained: the caller
        must constrain them."""
        if n_outputs < 1:
            raise CircuitError("a hint needs at least one output")
        ins = [as_lc(x).terms for x in inputs]
        outs = [self._new_wire("internal", self._label(f"{label}.{i}")) for i in range(n_outputs)]
        first = len(self._kind) - n_outputs
        self._steps.append(("hint", fn, ins, list(range(first, first + n_outputs)), self._label(label)))
        return outs

    # gadgets -------------------------------------------------------------------------------
    def to_bits(self, x, n: int, label: str = "to_bits") -> list:
        """Little-endian bits b_0..b_{n-1} with sum 2^i b_i = x: n + 1 constraints; it also proves
        x < 2^n (n <= 253 so that the decomposition is unique)."""
        if not 1 <= n <= MAX_BITS:
            raise CircuitError(f"to_bits needs 1 <= n <= {MAX_BITS}, got {n}")
        x = as_lc(x)
        if x.is_constant():
            v = x.constant_value()
            if v >> n:
                raise CircuitError(f"{self._label(label)}: constant {v} does not fit in {n} bits")
            return [LinearCombination.constant((v >> i) & 1) for i in range(n)]
        with self.scope(label):
            bits = self.hint(_bits_hint(n), x, n_outputs=n, label="bit")
            for i, b in enumerate(bits):
                self.assert_boolean(b, label=f"bit {i} is boolean")
            self.assert_equal(self.from_bits(bits), x, label="bits sum to x")
        return bits

    @staticmethod
    def from_bits(bits) -> LinearCombination:
        """sum 2^i bits[i] (a linear combination; it does not check that the bits are boolean)."""
        return linear_sum(bits, [1 << i for i in range(len(bits))])

    @staticmethod
    def sum(items, coeffs=None) -> LinearCombination:
        """sum_i coeffs[i] * items[i] as a linear combination (no constraint; linear time)."""
        return linear_sum(items, coeffs)

    def range_check(self, x, n: int, label: str = "range_check"):
        """Assert 0 <= x < 2^n (n + 1 constraints)."""
        self.to_bits(x, n, label=label)

    def is_zero(self, x, label: str = "is_zero") -> LinearCombination:
        """1 if x == 0 else 0 (two constraints: x * inv = 1 - out and x * out = 0)."""
        x = as_lc(x)
        if x.is_constant():
            return LinearCombination.constant(int(x.constant_value() == 0))
        with self.scope(label):
            (inv,) = self.hint(_inverse_hint, x, label="inverse")
            out = 1 - self.mul(x, inv, label="x * inverse")
            self._constrain(x, out, 0, "x * out = 0")
        return out

    def is_equal(self, a, b, label: str = "is_equal") -> LinearCombination:
        return self.is_zero(as_lc(a) - as_lc(b), label=label)

    def select(self, b, x, y, label: str = "select", assume_boolean: bool = False) -> LinearCombination:
        """x if b == 1 else y: y + b * (x - y), one constraint, plus one asserting b boolean
        unless the caller knows it already is (assume_boolean=True)."""
        b = as_lc(b)
        with self.scope(label):
            if not assume_boolean:
                self.assert_boolean(b, label="condition is boolean")
            return as_lc(y) + self.mul(b, as_lc(x) - as_lc(y), label="b * (x - y)")

    def less_than(self, a, b, n: int, label: str = "less_than") -> LinearCombination:
        """1 if a < b else 0, for a and b known to lie in [0, 2^n) (the caller range-checks
        them): bit n of a + 2^n - b, n + 2 constraints (n <= 252)."""
        if not 1 <= n <= MAX_BITS - 1:
            raise CircuitError(f"less_than needs 1 <= n <= {MAX_BITS - 1}, got {n}")
        with self.scope(label):
            bits = self.to_bits(as_lc(a) + (1 << n) - as_lc(b), n + 1, label="to_bits")
        return 1 - bits[n]

    # compilation ---------------------------------------------------------------------------
    def compile(self):
        """(R1CS, Solver) for the circuit as built so far."""
        order = [0]
        for kind in _KINDS:
            order += [w for w, k in enumerate(self._kind) if k == kind]
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))

        def remap(terms):
            return {int(position[w]): c for w, c in terms.items()}

        counts = {k: self._kind.count(k) for k in _KINDS}
        mats = [SparseMatrix.from_rows([remap(getattr(con, side)) for con in self._constraints])
                for side in "abc"]
        r1cs = R1CS(len(order), counts["output"], counts["public"], counts["private"], *mats,
                    wire_to_label=np.arange(len(order), dtype=np.int64))
        solver = Solver(self, r1cs, np.asarray(order, dtype=np.int64))
        return r1cs, solver


def _div_hint(a, b):
    return a * pow(b, -1, R) % R if b else 0


def _inverse_hint(x):
    return pow(x, -1, R) if x else 0


def _bits_hint(n):
    def bits(x):
        return [(x >> i) & 1 for i in range(n)]
    return bits


@dataclass(frozen=True)
class Witness:
    """A solved witness: the (n_wires, 4) Montgomery array and the public signals as ints."""

    witness: np.ndarray
    public_signals: list


class Solver:
    """Computes the witness of a compiled circuit from its input values."""

    def __init__(self, cs: ConstraintSystem, r1cs: R1CS, order: np.ndarray):
        self.r1cs = r1cs
        self._order = order                   # iden3 wire index -> creation-order wire id
        self._n = cs.n_wires
        self._steps = list(cs._steps)
        self._inputs = {k: list(v) for k, v in cs._inputs.items()}
        self._arrays = dict(cs._arrays)
        self._input_names = dict(cs._input_names)
        self._descriptions = [con.description for con in cs._constraints]
        self.wire_names = [cs._names[w] for w in order]   # in iden3 order

    def describe(self, index: int) -> str:
        """Readable description of constraint `index` and the wires it involves."""
        if not 0 <= index < len(self._descriptions):
            raise IndexError(f"no constraint {index}")
        wires = set()
        for mat in (self.r1cs.A, self.r1cs.B, self.r1cs.C):
            a, b = mat.indptr[index], mat.indptr[index + 1]
            wires.update(int(w) for w in mat.wires[a:b] if w)
        names = [self.wire_names[w] for w in sorted(wires)]
        shown = ", ".join(names[:6]) + (", ..." if len(names) > 6 else "")
        return f"{self._descriptions[index]} (wires: {shown})"

    def _assign(self, kind: str, given, values: list):
        expected = self._inputs[kind]
        if given is None:
            given = {}
        if not isinstance(given, dict):
            given = list(given)
            if len(given) != len(expected):
                raise ValueError(f"expected {len(expected)} {kind} input values, got {len(given)}")
            given = {name: v for (name, _), v in zip(expected, given)}
        flat = {}
        for key, v in given.items():
            if key in self._arrays:
                elements = self._arrays[key]
                v = list(v)
                if len(v) != len(elements):
                    raise ValueError(f"input {key!r} has {len(elements)} elements, got {len(v)}")
                flat.update(zip(elements, v))
            else:
                flat[key] = v
        names = {name for name, _ in expected}
        extra = sorted(set(flat) - names)
        if extra:
            other = [n for n in extra if n in self._input_names]
            raise ValueError(f"unknown {kind} inputs: {extra}" +
                             (f" ({other} are not {kind})" if other else ""))
        missing = [name for name, _ in expected if name not in flat]
        if missing:
            raise ValueError(f"missing {kind} inputs: {missing}")
        for name, wire in expected:
            v = flat[name]
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise ValueError(f"input {name!r} must be an int, got {type(v).__name__}")
            values[wire] = int(v) % R

    def solve(self, public=None, private=None) -> Witness:
        """The witness for the given inputs: each a dict name -> int (an array name -> list of
        ints) or a list of values in declaration order.  Negative ints are taken mod r."""
        values = [0] * self._n
        values[0] = 1
        self._assign("public", public, values)
        self._assign("private", private, values)

        def ev(terms):
            return sum(c * values[w] for w, c in terms.items()) % R

        for step in self._steps:
            if step[0] == "mul":
                _, a, b, out = step
                values[out] = ev(a) * ev(b) % R
            elif step[0] == "lc":
                values[step[2]] = ev(step[1])
            else:
                _, fn, ins, outs, label = step
                result = fn(*[ev(t) for t in ins])
                result = [result] if isinstance(result, (int, np.integer)) else list(result)
                if len(result) != len(outs):
                    raise ValueError(f"hint {label} returned {len(result)} values, expected {len(outs)}")
                for w, v in zip(outs, result):
                    values[w] = int(v) % R
        ordered = [values[w] for w in self._order]
        n_pub = self.r1cs.n_public
        return Witness(FR.encode(ordered), ordered[1:1 + n_pub])

    def check(self, witness):
        """Raise UnsatisfiedConstraintError naming the first constraint the witness (an
        (n_wires, 4) Montgomery array or a Witness) does not satisfy."""
        if isinstance(witness, Witness):
            witness = witness.witness
        bad = self.r1cs.unsatisfied(witness)
        if bad is not None:
            raise UnsatisfiedConstraintError(bad, self.describe(bad))
