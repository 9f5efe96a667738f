"""The boosted-tree level statement: the circuit equals the integer reference bit for bit, a
federation of proving nodes grows the centralized trees, and every deviation from the
committed data, margins or histograms leaves no satisfying witness (or no valid proof)."""
import numpy as np
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.circuit.builder import UnsatisfiedConstraintError
from hpc_zkfl.groth16 import prove, setup, verify
from hpc_zkfl.models.gbdt import (MARGIN_FORMAT, BinEdges, GBDTParams, Tree, grow_level,
                                  histograms_ref, train_reference)
from hpc_zkfl.models.gbdt_statement import (CommittedData, GBDTLevelStatement,
                                            GBDTStatementSpec, MalformedHistogramError,
                                            build_circuit, histograms_at, margin_commitment,
                                            pack_histograms, statement_size,
                                            unpack_histograms)

PARAMS = GBDTParams(n_trees=3, max_depth=2, n_bins=5, learning_rate=0.5, reg_lambda=1.0,
                    min_child_weight=0.0)
F, N = 3, 6


def _edges(params, n_features):
    return BinEdges(tuple(tuple(float(b) + 0.5 for b in range(params.n_bins - 1))
                          for _ in range(n_features)), params.n_bins)


def _node_data(rng, n, params=PARAMS, n_features=F, capacity=N):
    bins = rng.integers(0, params.n_bins, (n, n_features))
    # Labels that depend on the bins, so that the trees split.
    y = ((bins[:, 0] + rng.integers(0, 2, n)) > params.n_bins // 2).astype(np.int64)
    return CommittedData.build(bins, y, params.n_bins, capacity)


@pytest.fixture(scope="module")
def statement():
    return GBDTLevelStatement(GBDTStatementSpec(PARAMS, F, N))


def _signals(st, outputs, node, t, data, margins, previous, tree):
    slots = np.zeros(st.spec.capacity, np.int64)
    slots[:len(margins)] = margins
    return st.public_signals(outputs, node, t, data.root, margin_commitment(slots), previous,
                             tree)


def test_federation_of_proving_nodes_grows_the_centralized_trees(statement):
    """Nodes with 6, 4 and 1 samples prove every level of three trees; the root sums the
    histograms it unpacks from the witnesses' public signals (exactly what the proofs show)
    and grows the trees: the same trees as `train_reference` on the union, level for level,
    and each level's margins_out is the next level's margins_in."""
    st = statement
    rng = np.random.default_rng(3)
    nodes = [_node_data(rng, n) for n in (6, 4, 1)]
    central = []
    ens = train_reference([np.concatenate([d.bins for d in nodes])],
                          [np.concatenate([d.labels for d in nodes])], PARAMS, _edges(PARAMS, F),
                          on_level=lambda t, d, G, H: central.append((G, H)))
    margins = [np.zeros(len(d.labels), np.int64) for d in nodes]
    state = [None] * len(nodes)                 # the root's margin commitment per node
    prev = Tree.empty(PARAMS)
    n_valid = [PARAMS.n_bins] * F
    step = 0
    for t in range(PARAMS.n_trees):
        tree, open_nodes = Tree.empty(PARAMS), [True]
        for d in range(PARAMS.max_depth):
            previous = prev if d == 0 else Tree.empty(PARAMS)
            G = H = 0
            for i, data in enumerate(nodes):
                outputs, wit = st.witness(i, step, data, margins[i], previous, tree)
                st.solver.check(wit)
                signals = _signals(st, outputs, i, step, data, margins[i], previous, tree)
                assert signals == [int(v) for v in wit.public_signals]
                if state[i] is not None:
                    assert signals[st.n_outputs + 3] == state[i]
                state[i] = signals[st.n_outputs - 1]
                g, h = histograms_at(*st.histograms(wit.public_signals), d)
                at = margins[i] + previous.predict_margin(data.bins)
                ref = histograms_ref(data.bins, data.labels, at, tree, d, PARAMS.n_bins)
                assert np.array_equal(g, ref[0]) and np.array_equal(h, ref[1])
                G, H = G + g, H + h
            assert np.array_equal(G, central[step][0]) and np.array_equal(H, central[step][1])
            step += 1
            open_nodes = grow_level(tree, d, G, H, PARAMS, open_nodes, n_valid)
            margins = [m + previous.predict_margin(data.bins) for m, data in zip(margins, nodes)]
        assert tree.same_as(ens.trees[t])
        prev = tree
    assert any(t.is_split.any() for t in ens.trees)


def _tampered(st, data, margins, previous, tree, **changes):
    """Solve with honest public inputs and private inputs changed by `changes`."""
    _, public, private = st.inputs(2, 1, data, margins, previous, tree)
    for key, fn in changes.items():
        private[key] = fn(list(private[key]))
    return st.solver.solve(public, private)


def _set(index, value):
    def change(values):
        values[index] = value
        return values
    return change


def _trees():
    previous = Tree.empty(PARAMS)
    previous.feature[:] = [2, 0, 1]
    previous.threshold[:] = [1, 3, 0]
    previous.leaf[:] = [4000, -4000, 70000, -65536]
    tree = Tree.empty(PARAMS)
    tree.feature[0], tree.threshold[0] = 1, 2
    return previous, tree


def test_deviations_leave_no_witness(statement):
    """Other data (a moved bin, a flipped label), a subset (a real sample marked padding), a
    superset (a padding slot marked real), other margins, or a tampered output: each
    breaks a constraint."""
    st = statement
    data = _node_data(np.random.default_rng(11), 4)
    previous, tree = _trees()
    margins = np.array([100, -200, 300, 0])
    _, honest = st.witness(2, 1, data, margins, previous, tree)
    st.solver.check(honest)
    B1 = PARAMS.n_bins - 1
    b = int(data.bins[0, 0])
    moved = lambda v: _set(b - 1, 0)(_set(b % B1, 1)(v)) if b else _set(0, 1)(v)  # noqa: E731
    cases = {
        "moved bin": dict(onehot=moved),
        "flipped label": dict(label=_set(0, 1 - int(data.labels[0]))),
        "subset": dict(valid=_set(1, 0)),
        "superset": dict(valid=_set(5, 1)),
        "other margin": dict(margin=_set(2, 301)),
    }
    for name, change in cases.items():
        wit = _tampered(st, data, margins, previous, tree, **change)
        with pytest.raises(UnsatisfiedConstraintError):
            st.solver.check(wit)
    for wire in (1, st.n_outputs):          # the first histogram element, margins_out
        scaled = honest.witness.copy()
        scaled[wire] = FR.encode([2 * int(honest.public_signals[wire - 1]) % R])[0]
        with pytest.raises(UnsatisfiedConstraintError):
            st.solver.check(scaled)


def test_groth16_binds_node_round_data_trees_and_histograms(statement):
    """A real proof verifies for its own public signals only: not for another node, round
    (a replayed level), commitment, margins, previous or current tree, nor for scaled,
    sign-flipped or fabricated histograms or another margin commitment."""
    st = statement
    pk = setup(st.r1cs, backend="cpu")
    data = _node_data(np.random.default_rng(17), 5)
    previous, tree = _trees()
    margins = np.array([10, 20, -30, 40, 0])
    outputs, wit = st.witness(3, 2, data, margins, previous, tree)
    proof = prove(pk, st.r1cs, wit.witness, backend="cpu")
    good = _signals(st, outputs, 3, 2, data, margins, previous, tree)
    assert verify(pk.vk, good, proof, backend="cpu")
    G, H = st.histograms(outputs)
    other_prev, other_tree = previous.copy(), tree.copy()
    other_prev.leaf[0] += 1
    other_tree.threshold[0] += 1
    tail = outputs[-1:]

    def signals(outputs=outputs, node=3, t=2, margins=margins, previous=previous, tree=tree):
        return _signals(st, outputs, node, t, data, margins, previous, tree)

    bad = {
        "node": signals(node=4),
        "round": signals(t=3),
        "commitment": st.public_signals(outputs, 3, 2, data.root + 1,
                                        good[st.n_outputs + 3], previous, tree),
        "margins": signals(margins=margins + 1),
        "previous tree": signals(previous=other_prev),
        "tree": signals(tree=other_tree),
        "scaled": signals(outputs=pack_histograms(st.layout, 2 * G, 2 * H) + tail),
        "sign-flipped": signals(outputs=pack_histograms(st.layout, -G, H) + tail),
        "fabricated": signals(outputs=pack_histograms(st.layout, G + 1, H) + tail),
        "margins out": signals(outputs=outputs[:-1] + [outputs[-1] + 1]),
    }
    for name, sig in bad.items():
        assert sig != good, name
        assert not verify(pk.vk, sig, proof, backend="cpu"), name


def test_histograms_at_a_shallower_depth():
    """With the nodes below depth d pass-through, the deepest histograms hold the shallower
    ones at every 2^(D-1-d)-th node."""
    params = GBDTParams(max_depth=4, n_bins=4)
    rng = np.random.default_rng(31)
    bins, y = rng.integers(0, 4, (40, 3)), rng.integers(0, 2, 40)
    m = rng.integers(-1 << 17, 1 << 17, 40)
    for d in (0, 1, 2, 3):
        tree = Tree.empty(params)
        k = (1 << d) - 1                                 # the splits above depth d
        tree.feature[:k] = rng.integers(0, 3, k)
        tree.threshold[:k] = rng.integers(0, 4, k)
        deep = histograms_ref(bins, y, m, tree, 3, 4)
        got = histograms_at(*deep, d)
        ref = histograms_ref(bins, y, m, tree, d, 4)
        assert np.array_equal(got[0], ref[0]) and np.array_equal(got[1], ref[1])
    with pytest.raises(ValueError, match="depth"):
        histograms_at(*deep, 4)


def test_histogram_packing_round_trips_and_refuses_malformed_elements():
    rng = np.random.default_rng(23)
    for d, capacity, n_bins in ((0, 1, 2), (1, 7, 5), (2, 300, 16), (3, 1 << 16, 256)):
        params = GBDTParams(max_depth=d + 1, n_bins=n_bins)
        layout = GBDTStatementSpec(params, 4, capacity).histogram_layout()
        assert layout.digit_bits * layout.nodes_per * layout.bins_per <= 252
        shape = (1 << d, 4, n_bins)
        gmax, hmax = capacity << 16, capacity << 30
        G = rng.integers(-gmax, gmax + 1, shape)
        H = rng.integers(0, hmax + 1, shape)
        G.flat[0], H.flat[0], G.flat[-1], H.flat[-1] = -gmax, hmax, gmax, 0
        values = pack_histograms(layout, G, H)
        for as_field in (False, True):
            got = unpack_histograms(layout, [v % R if as_field else v for v in values])
            assert np.array_equal(got[0], G) and np.array_equal(got[1], H)
    with pytest.raises(MalformedHistogramError, match="expected"):
        unpack_histograms(layout, values[:-1])
    with pytest.raises(MalformedHistogramError, match="not an integer"):
        unpack_histograms(layout, [1.5] + values[1:])
    top = layout.digit_bits * layout.nodes_per * layout.bins_per
    with pytest.raises(MalformedHistogramError, match="beyond"):
        unpack_histograms(layout, [values[0] + (1 << top)] + values[1:])
    G[0, 0, 0] = gmax + 1
    with pytest.raises(MalformedHistogramError, match="outside"):
        unpack_histograms(layout, pack_histograms(layout, G, H))


def test_spec_and_input_validation(statement):
    with pytest.raises(ValueError, match="capacity"):
        GBDTStatementSpec(PARAMS, F, 0)
    with pytest.raises(ValueError, match="capacity"):
        GBDTStatementSpec(PARAMS, F, (1 << 16) + 1)
    with pytest.raises(ValueError, match="capacity"):
        GBDTStatementSpec(PARAMS, F, True)
    with pytest.raises(ValueError, match="n_features"):
        GBDTStatementSpec(PARAMS, 0, N)
    with pytest.raises(TypeError, match="GBDTParams"):
        GBDTStatementSpec({}, F, N)
    with pytest.raises(ValueError, match="1..6"):
        CommittedData.build(np.zeros((7, F), np.int64), np.zeros(7, np.int64), 5, N)
    with pytest.raises(ValueError, match="bins"):
        CommittedData.build(np.full((2, F), 5), np.zeros(2, np.int64), 5, N)
    with pytest.raises(ValueError, match="label"):
        CommittedData.build(np.zeros((2, F), np.int64), np.array([0, 2]), 5, N)
    data = _node_data(np.random.default_rng(29), 3)
    st, empty = statement, Tree.empty(PARAMS)
    with pytest.raises(ValueError, match="margins"):
        st.witness(0, 0, data, np.zeros(4, np.int64), empty, empty)
    with pytest.raises(ArithmeticError):
        st.witness(0, 0, data, np.array([MARGIN_FORMAT.hi + 1, 0, 0]), empty, empty)
    with pytest.raises(ValueError, match="depth"):
        st.witness(0, 0, data, np.zeros(3, np.int64), empty, Tree.empty(GBDTParams(max_depth=3)))
    bad_tree = Tree.empty(PARAMS)
    bad_tree.feature[0] = F
    with pytest.raises(ValueError, match="splits"):
        st.witness(0, 0, data, np.zeros(3, np.int64), bad_tree, empty)
    with pytest.raises(ValueError, match="outputs"):
        st.public_signals([0], 0, 0, data.root, 0, empty, empty)


@pytest.mark.parametrize("n_features, n_bins, depth, capacity", [
    (3, 5, 2, 1), (3, 5, 2, 6), (2, 2, 1, 130), (4, 16, 3, 23), (31, 256, 1, 3)])
def test_statement_size_counts_the_built_circuit_exactly(n_features, n_bins, depth, capacity):
    """The resource check's count (no build at the capacity) against the real circuit:
    compact and hashed leaves, Merkle levels with odd widths, a sponge of several calls."""
    spec = GBDTStatementSpec(GBDTParams(max_depth=depth, n_bins=n_bins), n_features, capacity)
    r1cs, _ = build_circuit(spec).compile()
    assert statement_size(spec)[:3] == (r1cs.n_constraints, r1cs.n_wires, r1cs.n_public)
