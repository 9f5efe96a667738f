"""The node statement of each model: satisfied by honest updates bit for bit with the integer
reference; every way of cheating the issue names is refused by the solver or the verifier."""
import numpy as np
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.circuit import UnsatisfiedConstraintError
from hpc_zkfl.circuit.fixedpoint import SIGMOID_MAX_ERROR, FixedPointRangeError
from hpc_zkfl.groth16 import UnsatisfiedWitnessError, batch_verify, prove, setup, verify
from hpc_zkfl.models import (FeatureRange, NodeStatement, NormBoundError, StatementSpec, check_batch,
                             one_hot, predict_ref, unflatten, update_ref)

DIGITS_GRID = FeatureRange(frac_bits=4, lo=0, hi=16)
SPECS = {
    "logistic": StatementSpec(model="logistic", n_features=6, n_classes=2, batch_size=4,
                              features=FeatureRange(4, -64, 63), learning_rate=0.5, norm_bound=4.0),
    "ovr": StatementSpec(model="ovr", n_features=5, n_classes=3, batch_size=4,
                         features=DIGITS_GRID, learning_rate=0.25, norm_bound=4.0),
    "mlp": StatementSpec(model="mlp", n_features=4, n_classes=3, batch_size=3, hidden=3,
                         features=DIGITS_GRID, learning_rate=0.5, norm_bound=4.0),
}


@pytest.fixture(scope="module")
def statements():
    return {name: NodeStatement(spec) for name, spec in SPECS.items()}


def random_case(spec, seed, scale=1.0):
    g = np.random.default_rng(seed)
    w = spec.fixed_point.encode(g.uniform(-scale, scale, spec.n_params))
    X = g.integers(spec.features.lo, spec.features.hi + 1, (spec.batch_size, spec.n_features))
    y = g.integers(0, spec.n_classes, spec.batch_size)
    return w, X, y


def solve(st, t, i, w, u, X, Y):
    """Solve the circuit with whatever public and private values a (cheating) prover picks."""
    return st.solver.solve({"round": t, "node": i, "w": [int(v) for v in w], "u": [int(v) for v in u]},
                           {"x": [int(v) for v in np.ravel(X)], "y": [int(v) for v in np.ravel(Y)]})


def satisfied(st, t, i, w, u, X, Y) -> bool:
    try:
        st.solver.check(solve(st, t, i, w, u, X, Y))
    except UnsatisfiedConstraintError:
        return False
    return True


@pytest.mark.parametrize("name", list(SPECS))
def test_honest_update_satisfies_and_matches_reference(statements, name):
    st, spec = statements[name], SPECS[name]
    for seed in range(4):
        w, X, y = random_case(spec, 100 * seed + len(name))
        u, wit = st.witness(5, 17, w, X, y)
        st.solver.check(wit)
        assert np.array_equal(u, update_ref(spec, w, X, y))
        assert wit.public_signals == st.public_signals(5, 17, w, u)
        # The update occupies the last n_params public signals, as signed fixed point.
        tail = wit.public_signals[-spec.n_params:]
        assert [v - R if v > R // 2 else v for v in tail] == u.tolist()


def float_step(spec, w, X, y):
    """One float gradient step of the same model with the exact sigmoid (numpy, float64)."""
    P = unflatten(spec, spec.fixed_point.decode(w))
    Xf, Y, n = spec.features.to_float(X), one_hot(spec, y), len(X)
    lr = spec.effective_learning_rate
    if spec.model != "mlp":
        d = 1 / (1 + np.exp(-(Xf @ P["W"].T + P["b"]))) - Y
        return np.concatenate([(-lr * d.T @ Xf / n).ravel(), -lr * d.mean(axis=0)])
    pre = Xf @ P["W1"].T + P["b1"]
    h = np.maximum(pre, 0)
    d2 = 1 / (1 + np.exp(-(h @ P["W2"].T + P["b2"]))) - Y
    d1 = (d2 @ P["W2"]) * (pre >= 0)
    return -lr * np.concatenate([(d1.T @ Xf / n).ravel(), d1.mean(axis=0),
                                 (d2.T @ h / n).ravel(), d2.mean(axis=0)])


@pytest.mark.parametrize("name", list(SPECS))
def test_reference_is_close_to_float_gradient_step(name):
    """The fixed-point step differs from the float step only by the sigmoid approximation and
    the roundings.  For the linear models the bound is tight: |du| <= lr * (max sigmoid error
    * max |x| + rounding); the MLP's error also passes through W2, so it gets a loose one."""
    spec = SPECS[name]
    w, X, y = random_case(spec, 7, scale=0.5)
    u = spec.fixed_point.decode(update_ref(spec, w, X, y))
    expect = float_step(spec, w, X, y)
    lr = spec.effective_learning_rate
    if spec.model == "mlp":
        assert np.abs(u - expect).max() <= 0.05 * np.abs(expect).max() + 2.0 ** -12
    else:
        bound = lr * (SIGMOID_MAX_ERROR * np.abs(spec.features.to_float(X)).max() + 2.0 ** -14)
        assert np.abs(u - expect).max() <= bound


@pytest.mark.parametrize("name", list(SPECS))
def test_tampered_updates_are_refused(statements, name):
    st, spec = statements[name], SPECS[name]
    w, X, y = random_case(spec, 11)
    u = update_ref(spec, w, X, y)
    Y = one_hot(spec, y)
    assert satisfied(st, 1, 2, w, u, X, Y)
    for j in (0, spec.n_params // 2, spec.n_params - 1):
        for delta in (1, -1):
            bad = u.copy()
            bad[j] += delta
            assert not satisfied(st, 1, 2, w, bad, X, Y), (j, delta)
    assert not satisfied(st, 1, 2, w, u * 10, X, Y)
    assert not satisfied(st, 1, 2, w, -u, X, Y)
    assert not satisfied(st, 1, 2, w, np.zeros_like(u), X, Y)


@pytest.mark.parametrize("name", list(SPECS))
def test_invalid_data_is_refused(statements, name):
    st, spec = statements[name], SPECS[name]
    w, X, y = random_case(spec, 13)
    Y = one_hot(spec, y)
    # A feature off the grid's range: the reference refuses it, and so does the circuit even
    # for the update that the out-of-range batch really gives.
    for value in (spec.features.hi + 1, spec.features.lo - 1):
        Xbad = X.copy()
        Xbad[1, 2] = value
        with pytest.raises(FixedPointRangeError, match="feature"):
            update_ref(spec, w, Xbad, y)
        st2 = StatementSpec(**{**spec.__dict__, "features": FeatureRange(
            spec.features.frac_bits, spec.features.lo - 4, spec.features.hi + 4)})
        u_bad = update_ref(st2, w, Xbad, y)
        assert not satisfied(st, 1, 2, w, u_bad, Xbad, Y)
    # Invalid labels: a value that is no class, or two classes at once.
    Ybad = Y.copy()
    Ybad[0, 0] = 2
    assert not satisfied(st, 1, 2, w, update_ref(spec, w, X, y), X, Ybad)
    if spec.n_outputs > 1:
        Ybad = Y.copy()
        Ybad[0, :] = 1
        assert not satisfied(st, 1, 2, w, update_ref(spec, w, X, y), X, Ybad)
        Ybad[0, :] = 0
        assert not satisfied(st, 1, 2, w, update_ref(spec, w, X, y), X, Ybad)
    with pytest.raises(ValueError, match="not a class"):
        update_ref(spec, w, X, np.full(spec.batch_size, spec.n_classes))


def test_norm_bound_is_enforced():
    spec = SPECS["ovr"]
    w, X, y = random_case(spec, 17)
    u = update_ref(spec, w, X, y)
    norm = np.sqrt(np.sum(spec.fixed_point.decode(u) ** 2))
    tight = StatementSpec(**{**spec.__dict__, "norm_bound": norm * 0.99})
    with pytest.raises(NormBoundError, match="exceeds"):
        update_ref(tight, w, X, y)
    st = NodeStatement(tight)
    assert not satisfied(st, 1, 2, w, u, X, one_hot(spec, y))
    loose = StatementSpec(**{**spec.__dict__, "norm_bound": norm * 1.01})
    assert satisfied(NodeStatement(loose), 1, 2, w, u, X, one_hot(spec, y))


def satisfied_exact(st, t, i, w, U, X, Y) -> bool:
    """Public mode: the circuit with the exact update U as its public input."""
    public = {"round": t, "node": i, "w": [int(v) for v in w], "u_exact": [int(v) for v in U]}
    try:
        st.solver.check(st.solver.solve(public, {"x": [int(v) for v in np.ravel(X)],
                                                 "y": [int(v) for v in np.ravel(Y)]}))
    except UnsatisfiedConstraintError:
        return False
    return True


@pytest.mark.parametrize("name", list(SPECS))
def test_public_mode_proves_the_exact_update(statements, name):
    """With the update public (spec.verifier_checks_update) the circuit proves U = -c G (rows
    packed, `hpc_zkfl.circuit.packing`) and the verifier derives u = floor(U / 2^s): no
    truncation, range check or norm bound per parameter in the circuit, `check_update` holds
    them.  The control: (u - 1, rho + 2^s)
    forms the same U, so the circuit accepts it; only the verifier's rho check refuses it."""
    from dataclasses import replace

    from hpc_zkfl.models.statement import exact_update_ref
    spec = replace(SPECS[name], verifier_checks_update=True)
    st, full = NodeStatement(spec), statements[name]
    fmt, n = spec.fixed_point, spec.n_params
    assert "norm bound" not in st.breakdown and st.breakdown["exact update"] >= n
    assert st.n_constraints <= full.n_constraints - n * (fmt.total_bits + 2)
    w, X, y = random_case(spec, 19)
    (u, low), Y = exact_update_ref(spec, w, X, y), one_hot(spec, y)
    assert np.array_equal(u, update_ref(spec, w, X, y)) and low.dtype == np.int64
    s = st.update_shifts
    assert ((low >= 0) & (np.right_shift(low, s) == 0)).all()
    U = [(int(a) << int(b)) + int(r) for a, b, r in zip(u, s, low)]
    assert satisfied_exact(st, 1, 2, w, U, X, Y) and st.check_update(u, low) is None
    u2, wit = st.witness(1, 2, w, X, y)
    assert np.array_equal(u2, u) and np.array_equal(st.update_low(wit), low)
    assert st.public_signals(1, 2, w, u, low=low) == wit.public_signals
    j = int(np.argmax(u != 0))
    for bad in ([v + 1 if k == j else v for k, v in enumerate(U)], [-v for v in U],
                [v + (1 << int(s[j])) if k == j else v for k, v in enumerate(U)]):
        assert not satisfied_exact(st, 1, 2, w, bad, X, Y)
    if name != "mlp":
        # Rows share products: U' = U + 2^lam at row k and - 1 at row k + 1 (same column)
        # packs to the same value, so the circuit accepts it; the verifier's bound on U (u
        # in range) is what refuses it (circuit/packing.py).
        from hpc_zkfl.circuit.packing import pack_layout
        from hpc_zkfl.models.linear import update_digit_bits
        lam, _ = pack_layout(update_digit_bits(spec))
        K, cols = spec.n_outputs, spec.n_features
        if K > 1:
            carried = list(U)
            carried[0] += 1 << lam                      # W[0][0]
            carried[cols] -= 1                          # W[1][0]
            assert satisfied_exact(st, 1, 2, w, carried, X, Y)
            c_u = np.array([v >> int(b) for v, b in zip(carried, s)], dtype=object)
            c_low = np.array([v - (int(a) << int(b)) for v, a, b in zip(carried, c_u, s)])
            assert "outside the fixed-point range" in st.check_update(c_u, c_low.astype(np.int64))
    # the same U from another decomposition: the verifier's checks are what pin u down
    u_alt, low_alt = u.copy(), low.copy()
    u_alt[j] -= 1
    low_alt[j] += 1 << int(s[j])
    assert st.public_signals(1, 2, w, u_alt, low=low_alt) == wit.public_signals
    assert "low bits of update entry" in st.check_update(u_alt, low_alt)
    assert "low bits" in st.check_update(u, None)
    assert "low bits" in st.check_update(u, low.astype(np.int32))
    neg = low.copy()
    neg[j] = -1
    assert "low bits of update entry" in st.check_update(u, neg)
    with pytest.raises(ValueError, match="low bits"):
        st.public_signals(1, 2, w, u)
    out = u.copy()
    out[j] = fmt.hi + 1
    assert "outside the fixed-point range" in st.check_update(out, low)
    # the norm bound: the circuit no longer holds it, the verifier does
    norm = np.sqrt(np.sum(fmt.decode(u) ** 2))
    tight = NodeStatement(replace(spec, norm_bound=norm * 0.99))
    assert satisfied_exact(tight, 1, 2, w, U, X, Y)
    assert "norm bound" in tight.check_update(u, low)


def test_public_mode_refuses_a_shift_beyond_int64():
    """Low bits travel as int64: a step too small for that is refused when the circuit is
    built, with a message that says what to change."""
    from dataclasses import replace
    spec = replace(SPECS["mlp"], verifier_checks_update=True, learning_rate=1e-12)
    with pytest.raises(ValueError, match="raise the learning rate"):
        NodeStatement(spec)
    NodeStatement(replace(spec, verifier_checks_update=False))       # committed u: no limit


def test_groth16_binds_round_node_and_update(statements):
    """Prove with the real proof system: valid for its own (t, i, w, u), invalid for another
    round, node, model or update; the prover refuses an unsatisfied witness."""
    spec, st = SPECS["logistic"], statements["logistic"]
    pk = setup(st.r1cs, backend="cpu")
    w, X, y = random_case(spec, 19)
    u, wit = st.witness(3, 8, w, X, y)
    proof = prove(pk, st.r1cs, wit.witness, backend="cpu")
    assert verify(pk.vk, st.public_signals(3, 8, w, u), proof, backend="cpu")
    bad_u = u.copy()
    bad_u[0] += 1
    w2 = w.copy()
    w2[-1] += 1
    others = [st.public_signals(4, 8, w, u), st.public_signals(3, 9, w, u),
              st.public_signals(3, 8, w2, u), st.public_signals(3, 8, w, bad_u),
              st.public_signals(3, 8, w, 10 * u)]
    for signals in others:
        assert not verify(pk.vk, signals, proof, backend="cpu")
    items = [(st.public_signals(3, 8, w, u), proof)] + [(s, proof) for s in others]
    assert batch_verify(pk.vk, items, backend="cpu") == [True] + [False] * len(others)
    with pytest.raises(UnsatisfiedWitnessError):
        prove(pk, st.r1cs, solve(st, 3, 8, w, bad_u, X, one_hot(spec, y)).witness, backend="cpu")


def test_input_validation():
    spec = SPECS["ovr"]
    w, X, y = random_case(spec, 23)
    with pytest.raises(ValueError, match="shape"):
        check_batch(spec, X[:-1], y)
    with pytest.raises(ValueError, match="int array"):
        check_batch(spec, X.astype(float), y)
    with pytest.raises(ValueError, match="labels"):
        check_batch(spec, X, y[:-1])
    with pytest.raises(ValueError, match="parameters"):
        update_ref(spec, w[:-1], X, y)
    big = w.copy()
    big[0] = spec.fixed_point.hi + 1
    with pytest.raises(FixedPointRangeError, match="model parameter"):
        update_ref(spec, big, X, y)
    with pytest.raises(ValueError, match="unknown model"):
        StatementSpec(**{**spec.__dict__, "model": "tree"})
    with pytest.raises(ValueError, match="binary"):
        StatementSpec(**{**spec.__dict__, "model": "logistic"})
    with pytest.raises(ValueError, match="hidden"):
        StatementSpec(**{**spec.__dict__, "model": "mlp"})
    with pytest.raises(ValueError, match="learning_rate"):
        StatementSpec(**{**spec.__dict__, "learning_rate": 0.0})
    with pytest.raises(ValueError, match="commitment"):
        NodeStatement(spec).public_signals(1, 2, w, w, commitment=5)


def test_prediction(statements):
    spec = SPECS["ovr"]
    w, X, _ = random_case(spec, 29)
    P = unflatten(spec, spec.fixed_point.decode(w))
    z = spec.features.to_float(X) @ P["W"].T + P["b"]
    pred = predict_ref(spec, w, X)
    # Fixed-point logits are the float logits truncated to 2^-16: the argmax agrees unless two
    # logits are that close.
    close = np.sort(z, axis=1)[:, -1] - np.sort(z, axis=1)[:, -2] < 2.0 ** -15
    assert np.all((pred == np.argmax(z, axis=1)) | close)
    spec_bin = SPECS["logistic"]
    w, X, _ = random_case(spec_bin, 31)
    assert set(predict_ref(spec_bin, w, X).tolist()) <= {0, 1}


def test_constraint_breakdown_adds_up(statements):
    for st in statements.values():
        roles = {k: v for k, v in st.breakdown.items() if not k.startswith("range checks")}
        assert sum(roles.values()) == st.n_constraints
        assert 0 < st.breakdown["range checks (bit decompositions)"] < st.n_constraints
