"""Packed rows (hpc_zkfl.circuit.packing): exact against integer arithmetic, and what keeps a
prover from moving value between the digits of a pack."""
import numpy as np
import pytest

from hpc_zkfl.circuit import CircuitError, ConstraintSystem, UnsatisfiedConstraintError
from hpc_zkfl.circuit import packing
from hpc_zkfl.circuit.fixedpoint import FixedPointFormat, from_field, range_check_signed

FMT = FixedPointFormat(16, 32)
K, D, SHIFT, X_BOUND = 7, 5, 4, 16
# |W x + offset| <= D 2^31 16 + 2^35 < 2^42; the quotients' range checks bound the other side
DIGIT_BITS = max(FMT.total_bits + SHIFT, (D * (1 << 31) * X_BOUND + (1 << 35)).bit_length())


def floor_circuit(check_quotients=True, hint=None, monkeypatch=None):
    """Public W (K x D), offsets (K) and x (D); public outputs z_k."""
    if hint is not None:
        monkeypatch.setattr(packing, "_unpack_floor_hint", hint)
    cs = ConstraintSystem()
    W = cs.public_inputs("w", K * D)
    off = cs.public_inputs("off", K)
    x = cs.public_inputs("x", D)
    rows = [W[k * D:(k + 1) * D] for k in range(K)]
    z = packing.packed_affine_floor(cs, rows, x, off, SHIFT, DIGIT_BITS, FMT)
    for k, zk in enumerate(z):
        if check_quotients:
            range_check_signed(cs, zk, FMT.total_bits, label=f"z {k}")
        cs.public_output(f"z{k}", zk)
    return cs.compile()


def case(seed):
    g = np.random.default_rng(seed)
    W = g.integers(FMT.lo, FMT.hi + 1, (K, D)) >> g.integers(0, 28, (K, D))
    off = g.integers(-(1 << 20), 1 << 20, K) << SHIFT
    x = g.integers(-X_BOUND, X_BOUND + 1, D)
    return W, off, x


def run(r1cs, solver, W, off, x):
    sol = solver.solve({"w": [int(v) for v in W.ravel()], "off": [int(v) for v in off],
                        "x": [int(v) for v in x]})
    solver.check(sol)
    return [from_field(v) for v in sol.public_signals[:r1cs.n_outputs]]


def test_layout():
    lam, m = packing.pack_layout(DIGIT_BITS)
    assert lam == DIGIT_BITS + 1 and m * lam <= packing.PACK_BITS < (m + 1) * lam
    assert packing.pack_layout(125) == (126, 2)
    for bad in (0, 252, 400):
        with pytest.raises(CircuitError, match="cannot pack"):
            packing.pack_layout(bad)


def test_packed_floors_equal_integer_floors():
    r1cs, solver = floor_circuit()
    lam, m = packing.pack_layout(DIGIT_BITS)
    assert m >= 2 and K % m != 0            # a full pack and a partial one
    for seed in range(6):
        W, off, x = case(seed)
        acc = W.astype(object) @ x.astype(object) + off.astype(object)
        want = [int(a) >> SHIFT for a in acc]
        assert run(r1cs, solver, W, off, x) == want
    # one product a pack and input (two packs), not one a row and input
    cs = ConstraintSystem()
    rows = [cs.public_inputs(f"w{k}", D) for k in range(K)]
    packing.packed_affine_floor(cs, rows, cs.public_inputs("x", D), [0] * K, SHIFT, DIGIT_BITS,
                                FMT)
    products = [d for d in cs.descriptions if d.split("/")[-1].startswith("input")]
    assert len(products) == D * -(-K // m)


def test_shift_zero_and_single_rows():
    cs = ConstraintSystem()
    W = cs.public_inputs("w", 2 * 3)
    x = cs.public_inputs("x", 3)
    z = packing.packed_affine_floor(cs, [W[:3], W[3:]], x, [0, 0], 0, 40, FMT)
    one = packing.packed_affine_floor(cs, [W[:3]], x, [5], 2, 40, FMT, label="single")
    for k, v in enumerate(z + one):
        cs.public_output(f"z{k}", v)
    r1cs, solver = cs.compile()
    sol = solver.solve({"w": [3, -4, 5, -6, 7, 8], "x": [2, -3, 4]})
    solver.check(sol)
    got = [from_field(v) for v in sol.public_signals[:3]]
    assert got == [3 * 2 + 4 * 3 + 20, -12 - 21 + 32, (6 + 12 + 20 + 5) >> 2]


def _carrying_hint(lam, m, shift):
    """A cheating prover's digits: 2^lam moved from digit 1 into digit 0 (same packed sum)."""
    honest = packing.__dict__["_honest_hint"](lam, m, shift)

    def hint(packed):
        out = honest(packed)
        step = 2 if shift else 1
        out[0] = (out[0] + (1 << (lam - shift))) % packing.R     # digit 0 + 2^lam
        z1, r1 = from_field(out[step]), out[step + 1] if shift else 0
        a1 = (z1 << shift) + r1 - 1                               # digit 1 - 1
        out[step] = (a1 >> shift) % packing.R
        if shift:
            out[step + 1] = a1 - ((a1 >> shift) << shift)
        return out
    return hint


def test_carrying_between_digits_needs_the_quotient_checks(monkeypatch):
    """The control: without the caller's range checks on z a prover can carry 2^lam between
    digits of a pack and still satisfy every constraint; with them it cannot."""
    monkeypatch.setattr(packing, "_honest_hint", packing._unpack_floor_hint, raising=False)
    W, off, x = case(3)
    r1cs, solver = floor_circuit(check_quotients=False, hint=_carrying_hint,
                                 monkeypatch=monkeypatch)
    acc = W.astype(object) @ x.astype(object) + off.astype(object)
    got = run(r1cs, solver, W, off, x)                 # satisfied: the forgery is there
    assert got[0] != int(acc[0]) >> SHIFT
    r1cs, solver = floor_circuit(check_quotients=True, hint=_carrying_hint,
                                 monkeypatch=monkeypatch)
    with pytest.raises(UnsatisfiedConstraintError):
        run(r1cs, solver, W, off, x)


def test_packed_outer_equal_exact_and_refuses_other_targets():
    """targets[k][j] = scale sum_i lefts[i][k] rights[i][j], rows packed; a target moved by 1
    fails; a carry of 2^lam between rows passes the circuit (the bound on the targets is the
    caller's, e.g. the verifier's check on a public update)."""
    n, rows, cols, scale = 4, 3, 2, -3
    g = np.random.default_rng(9)
    L = g.integers(-(1 << 25), 1 << 25, (n, rows))
    Rt = g.integers(-16, 17, (n, cols))
    T = scale * (L.T.astype(object) @ Rt.astype(object))
    cs = ConstraintSystem()
    tw = cs.public_inputs("t", rows * cols)
    lw = cs.private_inputs("l", n * rows)
    rw = cs.private_inputs("r", n * cols)
    packing.packed_outer_equal(cs, [tw[k * cols:(k + 1) * cols] for k in range(rows)],
                               [lw[i * rows:(i + 1) * rows] for i in range(n)],
                               [rw[i * cols:(i + 1) * cols] for i in range(n)], scale, 40)
    r1cs, solver = cs.compile()
    assert r1cs.n_constraints == n * cols + cols       # one pack of three rows

    def ok(targets):
        sol = solver.solve({"t": [int(v) for v in np.ravel(targets)]},
                           {"l": [int(v) for v in L.ravel()], "r": [int(v) for v in Rt.ravel()]})
        try:
            solver.check(sol)
        except UnsatisfiedConstraintError:
            return False
        return True

    assert ok(T)
    for k in range(rows):
        for j in range(cols):
            bad = T.copy()
            bad[k, j] += 1
            assert not ok(bad)
    lam, _ = packing.pack_layout(40)
    carried = T.copy()
    carried[0, 1] += 1 << lam
    carried[1, 1] -= 1
    assert ok(carried)
