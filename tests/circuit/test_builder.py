"""Circuit builder, gadgets and witness solver: every gadget with valid and invalid witnesses."""
import numpy as np
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.circuit import (
    CircuitError,
    ConstraintSystem,
    LinearCombination,
    UnsatisfiedConstraintError,
)
from hpc_zkfl.circuit.builder import MAX_BITS


def tamper(witness, wire, delta=1):
    """A copy of the witness with wire `wire` changed by +delta."""
    out = witness.copy()
    out[wire] = FR.encode([(FR.decode(witness[wire:wire + 1])[0] + delta) % R])[0]
    return out


def check_circuit(build, valid=(), invalid=(), free=()):
    """Compile `build(cs)` and check it on input cases (public, private).

    Each valid case must solve and satisfy every constraint, and changing any single output or
    internal wire (inputs are free by definition; so are the wires named in `free`, which the
    constraints leave undetermined) must break a constraint.  Each invalid case must be refused
    by the solver or break a constraint.  Returns (r1cs, solver)."""
    cs = ConstraintSystem()
    build(cs)
    r1cs, solver = cs.compile()
    for public, private in valid:
        sol = solver.solve(public, private)
        assert r1cs.unsatisfied(sol.witness) is None, (public, private)
        solver.check(sol)
        assert sol.public_signals == FR.decode(sol.witness[1:1 + r1cs.n_public])
        first_internal = 1 + r1cs.n_public + r1cs.n_private_inputs
        for wire in [*range(1, 1 + r1cs.n_outputs), *range(first_internal, r1cs.n_wires)]:
            if solver.wire_names[wire] in free:
                continue
            assert r1cs.unsatisfied(tamper(sol.witness, wire)) is not None, \
                f"changing wire {solver.wire_names[wire]} went unnoticed for {public}, {private}"
    for public, private in invalid:
        try:
            sol = solver.solve(public, private)
        except ValueError:
            continue
        with pytest.raises(UnsatisfiedConstraintError):
            solver.check(sol)
    return r1cs, solver


# linear combinations ---------------------------------------------------------------------------
def test_linear_combinations_fold_and_create_no_constraints():
    cs = ConstraintSystem()
    x, y = cs.private_input("x"), cs.private_input("y")
    lc = 3 * x + y * 2 - 5 + x - (-1)
    assert lc.terms == {1: 4, 2: 2, 0: R - 4}
    assert (x - x).terms == {}
    assert (-x).terms == {1: R - 1}
    assert (x * 0).terms == {}
    assert (2 - x).terms == {0: 2, 1: R - 1}
    k = LinearCombination.constant(7) * LinearCombination.constant(6)
    assert k.is_constant() and k.constant_value() == 42
    assert cs.mul(x, 5).terms == {1: 5}
    assert cs.mul(cs.constant(2) + 1, y + 1).terms == {2: 3, 0: 3}
    assert cs.n_constraints == 0 and cs.n_wires == 3
    with pytest.raises(CircuitError, match="cs.mul"):
        x * y
    with pytest.raises(CircuitError):
        x.constant_value()
    for bad in (1.5, True, "1", None):
        with pytest.raises(TypeError):
            x + bad
    assert cs.sum([x, y, 3, x]).terms == {1: 2, 2: 1, 0: 3}
    assert cs.sum([x, y, 3], [5, -1, 2]).terms == {1: 5, 2: R - 1, 0: 6}
    cs.mul(x + 1, y - 2)
    assert cs.n_constraints == 1 and cs.n_wires == 4


def test_wire_order_follows_iden3_whatever_the_declaration_order():
    cs = ConstraintSystem()
    p = cs.private_input("p")
    a = cs.public_input("a")
    t = cs.mul(p, a)
    cs.public_output("out", t + 1)
    q = cs.private_input("q")
    b = cs.public_input("b")
    cs.assert_equal(cs.mul(q, b), t)
    r1cs, solver = cs.compile()
    assert (r1cs.n_outputs, r1cs.n_public_inputs, r1cs.n_private_inputs) == (1, 2, 2)
    assert solver.wire_names[:6] == ["1", "out", "a", "b", "p", "q"]
    sol = solver.solve({"a": 3, "b": 2}, {"p": 4, "q": 6})
    assert sol.public_signals == [13, 3, 2]
    solver.check(sol)
    # lists: values in declaration order of each kind
    assert solver.solve([3, 2], [4, 6]).public_signals == [13, 3, 2]
    with pytest.raises(UnsatisfiedConstraintError):
        solver.check(solver.solve({"a": 3, "b": 2}, {"p": 4, "q": 5}))


def test_duplicate_names_are_refused():
    cs = ConstraintSystem()
    cs.public_input("x")
    cs.private_inputs("v", 2)
    for declare in (cs.private_input, cs.public_input):
        with pytest.raises(CircuitError, match="already"):
            declare("x")
    with pytest.raises(CircuitError, match="already"):
        cs.public_inputs("v", 1)
    with pytest.raises(CircuitError, match="already"):
        cs.public_output("x", 1)
    with pytest.raises(CircuitError):
        cs.private_input("")


# multiplication and assertions ------------------------------------------------------------------
def multiplier(cs):
    a, b = cs.private_input("a"), cs.private_input("b")
    cs.public_output("c", cs.mul(a, b))


def test_multiplier():
    r1cs, solver = check_circuit(multiplier, valid=[({}, {"a": 3, "b": 11}), ({}, {"a": R - 1, "b": 2})])
    assert r1cs.n_constraints == 2
    sol = solver.solve({}, {"a": -1, "b": 2})
    assert sol.public_signals == [R - 2]
    bad = tamper(sol.witness, 1)
    assert r1cs.unsatisfied(bad) is not None
    with pytest.raises(UnsatisfiedConstraintError, match="output c") as info:
        solver.check(bad)
    assert info.value.index == r1cs.unsatisfied(bad)


def test_assert_equal_and_boolean():
    def build(cs):
        x, y = cs.public_input("x"), cs.private_input("y")
        cs.assert_equal(x + 1, y * 2)
        cs.assert_boolean(x)

    check_circuit(build, valid=[({"x": 1}, {"y": 1}), ({"x": 0}, {"y": (R + 1) // 2})],
                  invalid=[({"x": 1}, {"y": 2}), ({"x": 3}, {"y": 2})])
    cs = ConstraintSystem()
    cs.assert_equal(cs.constant(3), 3)
    cs.assert_boolean(cs.constant(1))
    assert cs.n_constraints == 0
    with pytest.raises(CircuitError, match="never hold"):
        cs.assert_equal(cs.constant(3), 4)
    with pytest.raises(CircuitError, match="never hold"):
        cs.assert_boolean(2)


def test_div():
    def build(cs):
        a, b, q = cs.private_input("a"), cs.private_input("b"), cs.public_input("q")
        cs.assert_equal(cs.div(a, b), q)
        cs.assert_equal(cs.div(a, 4), cs.mul(q, b) * pow(4, -1, R))

    fifth = 5 * pow(7, -1, R) % R
    check_circuit(build, valid=[({"q": 7}, {"a": 21, "b": 3}), ({"q": fifth}, {"a": 5, "b": 7})],
                  invalid=[({"q": 8}, {"a": 21, "b": 3}), ({"q": 0}, {"a": 21, "b": 0})])
    with pytest.raises(CircuitError, match="constant 0"):
        ConstraintSystem().div(1, 0)


# bits and ranges --------------------------------------------------------------------------------
def test_to_bits_and_from_bits(rng):
    n = 12

    def build(cs):
        x = cs.private_input("x")
        bits = cs.to_bits(x, n)
        assert len(bits) == n
        cs.public_output("twice", cs.from_bits(bits) * 2)
        for i, b in enumerate(bits):
            cs.public_output(f"b{i}", b)

    values = [0, 1, (1 << n) - 1] + [rng.randrange(1 << n) for _ in range(3)]
    r1cs, solver = check_circuit(build, valid=[({}, {"x": v}) for v in values],
                                 invalid=[({}, {"x": 1 << n}), ({}, {"x": -1}), ({}, {"x": R - 1})])
    for v in values:
        sol = solver.solve({}, {"x": v})
        assert sol.public_signals == [2 * v] + [(v >> i) & 1 for i in range(n)]
    # n + 1 constraints for the decomposition, one per output
    assert r1cs.n_constraints == n + 1 + n + 1


def test_to_bits_arguments_and_constants():
    cs = ConstraintSystem()
    x = cs.private_input("x")
    for n in (0, MAX_BITS + 1):
        with pytest.raises(CircuitError, match="to_bits"):
            cs.to_bits(x, n)
    bits = cs.to_bits(cs.constant(6), 3)
    assert [b.constant_value() for b in bits] == [0, 1, 1] and cs.n_constraints == 0
    with pytest.raises(CircuitError, match="does not fit"):
        cs.to_bits(cs.constant(8), 3)
    cs.to_bits(x, MAX_BITS)
    r1cs, solver = cs.compile()
    solver.check(solver.solve({}, {"x": (1 << MAX_BITS) - 1}))
    with pytest.raises(UnsatisfiedConstraintError, match="bits sum to x"):
        solver.check(solver.solve({}, {"x": 1 << MAX_BITS}))


def test_range_check(rng):
    def build(cs):
        x = cs.public_input("x")
        cs.range_check(x, 16)
        cs.range_check(x + 1, 17)

    check_circuit(build, valid=[({"x": v}, {}) for v in (0, 65535, rng.randrange(65536))],
                  invalid=[({"x": v}, {}) for v in (65536, -1, R - 2, 1 << 100)])


# comparisons and selection ----------------------------------------------------------------------
def test_is_zero_and_is_equal(rng):
    def build(cs):
        x, y, e = cs.private_input("x"), cs.private_input("y"), cs.public_input("expected")
        cs.assert_equal(cs.is_zero(x), e)
        cs.assert_equal(cs.is_equal(x, y), e)

    v = rng.randrange(1, R)
    check_circuit(build, valid=[({"expected": 0}, {"x": v, "y": v + 1}), ({"expected": 0}, {"x": 1, "y": 0})],
                  invalid=[({"expected": 1}, {"x": v, "y": v + 1}), ({"expected": 1}, {"x": 0, "y": 1}),
                           ({"expected": 0}, {"x": v, "y": v}), ({"expected": 2}, {"x": 0, "y": 0})])
    # x = y = 0: the inverse hints are free (any value satisfies x * inv = 1 - out)
    check_circuit(build, valid=[({"expected": 1}, {"x": 0, "y": 0})],
                  free={"is_zero/inverse.0", "is_equal/inverse.0"})
    cs = ConstraintSystem()
    assert cs.is_zero(cs.constant(0)).constant_value() == 1
    assert cs.is_zero(5).constant_value() == 0
    cs.is_zero(cs.private_input("z"))
    assert cs.n_constraints == 2


def test_select():
    def build(cs):
        b, x, y = cs.private_input("b"), cs.private_input("x"), cs.private_input("y")
        cs.public_output("out", cs.select(b, x, y))

    r1cs, solver = check_circuit(build, valid=[({}, {"b": b, "x": 5, "y": 9}) for b in (0, 1)],
                                 invalid=[({}, {"b": 2, "x": 5, "y": 9})])
    assert solver.solve({}, {"b": 1, "x": 5, "y": 9}).public_signals == [5]
    assert solver.solve({}, {"b": 0, "x": 5, "y": 9}).public_signals == [9]
    assert r1cs.n_constraints == 3
    cs = ConstraintSystem()
    b = cs.private_input("b")
    assert (cs.select(b, 1, 2, assume_boolean=True) - (2 - b)).terms == {}   # constants: no product
    assert cs.n_constraints == 0
    cs.select(b, cs.private_input("x"), 2, assume_boolean=True)
    assert cs.n_constraints == 1


def test_less_than(rng):
    n = 8

    def build(cs):
        a, b, e = cs.private_input("a"), cs.private_input("b"), cs.public_input("lt")
        cs.range_check(a, n)
        cs.range_check(b, n)
        cs.assert_equal(cs.less_than(a, b, n), e)

    pairs = [(0, 0), (0, 255), (255, 0), (255, 255), (7, 8), (8, 7)]
    pairs += [(rng.randrange(256), rng.randrange(256)) for _ in range(3)]
    check_circuit(build, valid=[({"lt": int(a < b)}, {"a": a, "b": b}) for a, b in pairs],
                  invalid=[({"lt": int(a >= b)}, {"a": a, "b": b}) for a, b in pairs[:4]]
                  + [({"lt": 1}, {"a": 300, "b": 400})])
    cs = ConstraintSystem()
    cs.less_than(cs.private_input("a"), cs.private_input("b"), n)
    assert cs.n_constraints == n + 2
    with pytest.raises(CircuitError, match="less_than"):
        cs.less_than(1, 2, MAX_BITS)


# hints ------------------------------------------------------------------------------------------
def test_hint_division_with_remainder():
    def build(cs):
        x = cs.public_input("x")
        q, r = cs.hint(lambda v: divmod(v, 7), x, n_outputs=2, label="divmod7")
        cs.range_check(r, 3)
        cs.assert_boolean(cs.less_than(r, 7, 3))
        cs.assert_equal(cs.less_than(r, 7, 3), 1)
        cs.range_check(q, 16)
        cs.assert_equal(q * 7 + r, x)
        cs.public_output("q", q)

    r1cs, solver = check_circuit(build, valid=[({"x": v}, {}) for v in (0, 6, 7, 100, 7 * 65535 + 6)],
                                 invalid=[({"x": 7 * 65536}, {})])
    assert solver.solve({"x": 100}, {}).public_signals == [14, 100]


def test_hint_errors_and_unconstrained_hint_is_caught_by_tampering():
    cs = ConstraintSystem()
    x = cs.private_input("x")
    (y,) = cs.hint(lambda v: (v, v), x)
    cs.public_output("y", y)
    _, solver = cs.compile()
    with pytest.raises(ValueError, match="returned 2 values"):
        solver.solve({}, {"x": 1})
    with pytest.raises(CircuitError):
        cs.hint(abs, x, n_outputs=0)


# solver input handling and error reporting ------------------------------------------------------
def test_solver_refuses_bad_inputs():
    cs = ConstraintSystem()
    a = cs.public_input("a")
    v = cs.private_inputs("v", 3)
    cs.public_output("s", cs.mul(a, v[0] + v[1] + v[2]))
    r1cs, solver = cs.compile()
    assert solver.solve({"a": 2}, {"v": [1, 2, 3]}).public_signals == [12, 2]
    assert solver.solve([2], {"v[0]": 1, "v[1]": 2, "v[2]": 3}).public_signals == [12, 2]
    assert solver.solve({"a": 2}, [1, 2, 3]).public_signals == [12, 2]
    cases = [
        (({}, {"v": [1, 2, 3]}), "missing public inputs: \\['a'\\]"),
        (({"a": 2}, {"v": [1, 2]}), "has 3 elements"),
        (({"a": 2}, {"v": [1, 2, 3], "w": 1}), "unknown private inputs"),
        (({"a": 2, "v[0]": 1}, {"v": [1, 2, 3]}), "are not public"),
        (({"a": 2.0}, {"v": [1, 2, 3]}), "must be an int"),
        (({"a": True}, {"v": [1, 2, 3]}), "must be an int"),
        (({"a": 2}, [1, 2]), "expected 3 private input values"),
        (({"a": 2}, {"v[0]": 1, "v[1]": 2}), "missing private inputs: \\['v\\[2\\]'\\]"),
    ]
    for (public, private), message in cases:
        with pytest.raises(ValueError, match=message):
            solver.solve(public, private)


def test_unsatisfied_constraint_is_named():
    cs = ConstraintSystem()
    x = cs.private_input("x")
    with cs.scope("layer1"):
        cs.range_check(x, 4)
        y = cs.mul(x, x, label="square")
    cs.public_output("y", y)
    r1cs, solver = cs.compile()
    sol = solver.solve({}, {"x": 3})
    bad = tamper(sol.witness, solver.wire_names.index("layer1/square"))
    k = r1cs.unsatisfied(bad)
    assert k is not None
    with pytest.raises(UnsatisfiedConstraintError) as info:
        solver.check(bad)
    assert info.value.index == k
    assert f"constraint {k}" in str(info.value)
    assert "layer1/square" in info.value.description and "x" in info.value.description
    assert "layer1/range_check/bits sum to x" in solver.describe(4)
    with pytest.raises(IndexError):
        solver.describe(r1cs.n_constraints)
    bad_bit = tamper(sol.witness, solver.wire_names.index("layer1/range_check/bit.0"))
    with pytest.raises(UnsatisfiedConstraintError, match="bit 0 is boolean"):
        solver.check(bad_bit)


def test_witness_layout():
    cs = ConstraintSystem()
    multiplier(cs)
    r1cs, solver = cs.compile()
    sol = solver.solve({}, {"a": 6, "b": 7})
    assert sol.witness.shape == (r1cs.n_wires, 4) and sol.witness.dtype == np.uint64
    assert FR.decode(sol.witness) == [1, 42, 6, 7, 42]
    assert r1cs.wire_to_label.tolist() == list(range(r1cs.n_wires))
