"""Fixed-point gadgets against the integer reference, and the ways a prover could cheat them."""
import math

import numpy as np
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.circuit import ConstraintSystem, UnsatisfiedConstraintError
from hpc_zkfl.circuit import fixedpoint as fx
from hpc_zkfl.circuit.fixedpoint import (SIGMOID_MAX_ERROR, FixedPointFormat, FixedPointRangeError,
                                         from_field, to_field)

FMT = FixedPointFormat(16, 32)


def compile_unary(gadget, n=1):
    """A circuit with public inputs x[0..n-1] and public outputs gadget(cs, x_i)."""
    cs = ConstraintSystem()
    xs = cs.public_inputs("x", n)
    for i, x in enumerate(xs):
        cs.public_output(f"y{i}", gadget(cs, x))
    return cs.compile()


def outputs(r1cs, solver, xs):
    sol = solver.solve({"x": [int(v) for v in xs]})
    solver.check(sol)
    return [from_field(v) for v in sol.public_signals[:r1cs.n_outputs]]


def refused(solver, public):
    """True when the witness for `public` breaks a constraint (or cannot be built)."""
    try:
        solver.check(solver.solve(public))
    except (UnsatisfiedConstraintError, ValueError):
        return True
    return False


def test_format_validation_and_round_trip():
    with pytest.raises(ValueError, match="frac_bits"):
        FixedPointFormat(32, 32)
    with pytest.raises(ValueError):
        FixedPointFormat(8, 63)
    x = np.array([-1.5, 0.0, 2.0 ** -16, 3.25])
    assert FMT.decode(FMT.encode(x)).tolist() == x.tolist()
    with pytest.raises(FixedPointRangeError, match="out of range"):
        FMT.encode([40000.0])
    with pytest.raises(FixedPointRangeError, match="not finite"):
        FMT.encode([float("nan")])
    assert from_field(to_field(-5)) == -5 and to_field(-5) == R - 5


def test_floor_shift_rounds_towards_minus_infinity():
    v = np.array([-5, -4, -1, 0, 1, 7, 8], dtype=np.int64)
    assert fx.floor_shift(v, 2).tolist() == [-2, -1, -1, 0, 0, 1, 2]
    assert fx.floor_shift(-(1 << 70), 3) == -(1 << 67)
    assert fx.floor_shift(np.array([-(1 << 70)], dtype=object), 3)[0] == -(1 << 67)


def test_exact_matmul_switches_to_python_ints():
    a = np.array([[1 << 40, -(1 << 40)]], dtype=np.int64)
    b = np.array([[1 << 30], [3]], dtype=np.int64)
    out = fx.exact_matmul(a, b)
    assert out.dtype == object and out[0, 0] == (1 << 70) - 3 * (1 << 40)
    assert fx.exact_matmul(np.array([[2, 3]]), np.array([[4], [5]])).dtype == np.int64


@pytest.mark.parametrize("shift", [1, 4, 16])
def test_truncate_matches_reference(rng, shift):
    values = [rng.randrange(-(1 << (30 + shift)), 1 << (30 + shift)) for _ in range(20)]
    values += [-(1 << shift), -1, 0, (1 << shift) - 1, 1 << shift]
    r1cs, solver = compile_unary(lambda cs, x: fx.truncate(cs, x, shift, FMT), len(values))
    expect = fx.truncate_ref(np.array(values, dtype=np.int64), shift, FMT)
    assert outputs(r1cs, solver, values) == expect.tolist()
    assert r1cs.n_constraints == len(values) * (shift + 1 + FMT.total_bits + 1 + 1)


def test_truncate_pins_the_quotient():
    """A given quotient other than the floor breaks the remainder check; the quotient that a
    different remainder would give (x - rem') / 2^s mod r is a huge field element, which only
    the quotient's range check stops."""
    shift, x = 8, -123456789
    q = x >> shift
    for check in (True, False):
        cs = ConstraintSystem()
        xv, qv = cs.public_input("x"), cs.public_input("q")
        fx.truncate(cs, xv, shift, FMT, out=qv, check_output=check)
        r1cs, solver = cs.compile()
        assert not refused(solver, {"x": x, "q": q})
        assert refused(solver, {"x": x, "q": q + 1})
        assert refused(solver, {"x": x, "q": q - 1})
        rem_other = (x - q * (1 << shift) + 1) % (1 << shift)
        forged = (x - rem_other) * pow(1 << shift, -1, R) % R
        assert refused(solver, {"x": x, "q": forged}) is check


def test_truncate_refuses_a_wrong_hint(monkeypatch):
    monkeypatch.setattr(fx, "_floor_shift_hint", lambda s: (lambda x: to_field(from_field(x) // (1 << s) + 1)))
    r1cs, solver = compile_unary(lambda cs, x: fx.truncate(cs, x, 4, FMT))
    assert refused(solver, {"x": [1000]})


def test_truncate_ref_refuses_out_of_range():
    with pytest.raises(FixedPointRangeError, match="quotient"):
        fx.truncate_ref(np.array([1 << 40]), 4, FMT, what="quotient")


def test_sigmoid_matches_reference_and_error_bound(rng):
    one = FMT.one
    edges = [0, 1, -1, one, -one, 2 * one - 1, 2 * one, 4 * one, -4 * one, 4 * one + 1,
             FMT.hi, FMT.lo + 1]
    values = edges + [rng.randrange(-8 * one, 8 * one) for _ in range(30)]
    r1cs, solver = compile_unary(lambda cs, z: fx.sigmoid(cs, z, FMT), len(values))
    expect = fx.sigmoid_ref(np.array(values, dtype=np.int64), FMT)
    assert outputs(r1cs, solver, values) == expect.tolist()
    # The error of the approximation over a fine grid of the fixed-point domain.
    z = np.arange(-12 * one, 12 * one, 7, dtype=np.int64)
    approx = fx.sigmoid_ref(z, FMT) / float(1 << fx.sigmoid_out_frac_bits(FMT))
    err = np.max(np.abs(approx - 1 / (1 + np.exp(-z / one))))
    assert err <= SIGMOID_MAX_ERROR
    assert err >= SIGMOID_MAX_ERROR - 0.001          # the constant is the measured error
    # Symmetry, monotonicity and the end points.
    assert np.all(np.diff(approx) >= 0)
    top = 1 << fx.sigmoid_out_frac_bits(FMT)
    assert fx.sigmoid_ref(np.array([0]), FMT)[0] == top // 2
    # It saturates exactly (so sigmoid - y vanishes for confident right answers).
    assert fx.sigmoid_ref(np.array([8 * one, 100 * one, FMT.hi]), FMT).tolist() == [top] * 3
    assert fx.sigmoid_ref(np.array([-8 * one, -100 * one]), FMT).tolist() == [0, 0]
    assert fx.sigmoid_ref(np.array([8 * one - 1]), FMT)[0] < top


def test_sigmoid_cost_and_range():
    r1cs, solver = compile_unary(lambda cs, z: fx.sigmoid(cs, z, FMT))
    knots = len(fx.SIGMOID_KNOTS) - 1
    assert r1cs.n_constraints == FMT.total_bits + 2 + 3 * knots + 1 + 1   # + 1: the output wire
    assert refused(solver, {"x": [FMT.lo]})              # |z| = 2^31 does not fit
    assert refused(solver, {"x": [1 << 40]})
    with pytest.raises(FixedPointRangeError):
        fx.sigmoid_ref(np.array([FMT.lo]), FMT)


def test_sigmoid_refuses_a_wrong_sign_hint(monkeypatch):
    monkeypatch.setattr(fx, "_sign_hint", lambda x: 1 - int(from_field(x) >= 0))
    r1cs, solver = compile_unary(lambda cs, z: fx.sigmoid(cs, z, FMT))
    assert refused(solver, {"x": [12345]})
    assert refused(solver, {"x": [-12345]})


def test_relu_matches_reference(rng):
    values = [0, -1, 1, FMT.lo, FMT.hi] + [rng.randrange(FMT.lo, FMT.hi) for _ in range(20)]
    r1cs, solver = compile_unary(lambda cs, x: fx.relu(cs, x, FMT)[0], len(values))
    out, mask = fx.relu_ref(np.array(values), FMT)
    assert outputs(r1cs, solver, values) == out.tolist()
    assert mask.tolist() == [v >= 0 for v in values]
    assert refused(solver, {"x": [FMT.hi + 1] + values[1:]})


def test_less_than_and_clamp(rng):
    pairs = [(0, 0), (-1, 0), (0, -1), (FMT.lo, FMT.hi), (FMT.hi, FMT.lo)]
    pairs += [(rng.randrange(FMT.lo, FMT.hi), rng.randrange(FMT.lo, FMT.hi)) for _ in range(10)]
    cs = ConstraintSystem()
    a, b = cs.public_inputs("a", len(pairs)), cs.public_inputs("b", len(pairs))
    for i in range(len(pairs)):
        cs.public_output(f"lt{i}", fx.less_than(cs, a[i], b[i], FMT))
    r1cs, solver = cs.compile()
    sol = solver.solve({"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]})
    solver.check(sol)
    expect = fx.less_than_ref(np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs]), FMT)
    assert sol.public_signals[:len(pairs)] == [int(e) for e in expect]

    lo, hi = -3 * FMT.one, 5 * FMT.one
    values = [lo - 1, lo, 0, hi, hi + 1, FMT.lo, FMT.hi] + [rng.randrange(FMT.lo, FMT.hi) for _ in range(10)]
    r1cs, solver = compile_unary(lambda cs, x: fx.clamp(cs, x, lo, hi, FMT), len(values))
    assert outputs(r1cs, solver, values) == fx.clamp_ref(np.array(values), lo, hi, FMT).tolist()


@pytest.mark.parametrize("lo,hi,extra", [(0, 15, 0), (0, 16, 1), (-64, 63, 0), (-3, 9, 5)])
def test_in_range(lo, hi, extra):
    """Every value of [lo, hi] passes, lo - 1 and hi + 1 do not; cost as documented."""
    cs = ConstraintSystem()
    x = cs.public_input("x")
    fx.in_range(cs, x, lo, hi)
    r1cs, solver = cs.compile()
    n = (hi - lo).bit_length()
    assert r1cs.n_constraints == n + 1 + extra
    for v in range(lo, hi + 1):
        assert not refused(solver, {"x": v}), v
    assert refused(solver, {"x": lo - 1}) and refused(solver, {"x": hi + 1})
    assert refused(solver, {"x": hi + (1 << n)})


def test_norm_bound():
    bound_sq = 1000

    def build(cs):
        v = cs.public_inputs("v", 3)
        fx.norm_bound(cs, v, bound_sq)
    cs = ConstraintSystem()
    build(cs)
    r1cs, solver = cs.compile()
    assert not refused(solver, {"v": [10, -30, 0]})          # exactly 1000
    assert refused(solver, {"v": [10, -30, 1]})
    assert refused(solver, {"v": [-40, 0, 0]})
    assert r1cs.n_constraints == 3 + bound_sq.bit_length() + 1
    assert math.isqrt(bound_sq) == 31
