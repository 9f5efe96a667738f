"""Data binding: batches drawn from the committed dataset prove; anything else does not."""
import numpy as np
import pytest

from hpc_zkfl.circuit import UnsatisfiedConstraintError
from hpc_zkfl.circuit.merkle import assign_merkle_path
from hpc_zkfl.circuit.poseidon import poseidon_hash
from hpc_zkfl.groth16 import prove, setup, verify
from hpc_zkfl.models import DatasetTree, FeatureRange, NodeStatement, StatementSpec, one_hot, sample_leaf, update_ref

SPEC = StatementSpec(model="ovr", n_features=5, n_classes=3, batch_size=3,
                     features=FeatureRange(4, 0, 16), learning_rate=0.5, norm_bound=4.0,
                     data_binding=True, merkle_depth=3)


@pytest.fixture(scope="module")
def case():
    g = np.random.default_rng(5)
    X = g.integers(0, 17, (6, 5))
    y = g.integers(0, 3, 6)
    w = SPEC.fixed_point.encode(g.uniform(-0.5, 0.5, SPEC.n_params))
    return NodeStatement(SPEC), DatasetTree.build(SPEC, X, y), X, y, w


def solve_with_paths(st, tree, w, X, y, path_indices, t=1, i=2):
    u = update_ref(SPEC, w, X, y)
    private = {"x": [int(v) for v in X.ravel()], "y": [int(v) for v in one_hot(SPEC, y).ravel()]}
    for b, idx in enumerate(path_indices):
        private.update(assign_merkle_path(tree.tree, idx, prefix=f"path{b}"))
    public = {"round": t, "node": i, "commitment": tree.root, "w": [int(v) for v in w],
              "u": [int(v) for v in u]}
    return st.solver.solve(public, private)


def test_leaf_packs_the_feature_bits():
    x = np.array([0, 16, 3, 7, 1])
    packed = sum(v << (5 * j) for j, v in enumerate(x.tolist()))
    assert sample_leaf(SPEC, x, 2) == poseidon_hash([packed, 2])
    assert sample_leaf(SPEC, x, 1) != sample_leaf(SPEC, x, 2)
    with pytest.raises(ValueError, match="outside"):
        sample_leaf(SPEC, np.array([0, 17, 3, 7, 1]), 0)
    with pytest.raises(ValueError, match="not a class"):
        sample_leaf(SPEC, x, 3)


def test_batch_from_the_dataset_proves(case):
    st, tree, X, y, w = case
    idx = [4, 0, 4]                      # with replacement: a sample may repeat
    u, wit = st.witness(1, 2, w, X[idx], y[idx], binding=(tree, idx))
    st.solver.check(wit)
    assert wit.public_signals == st.public_signals(1, 2, w, u, commitment=tree.root)
    assert st.breakdown["data binding"] > 0


def test_sample_outside_the_committed_set_is_refused(case):
    st, tree, X, y, w = case
    idx = [1, 2, 3]
    Xo, yo = X[idx].copy(), y[idx].copy()
    Xo[1, 0] = (Xo[1, 0] + 1) % 17       # one feature changed: no longer a registered sample
    with pytest.raises(ValueError, match="not the dataset's sample"):
        st.witness(1, 2, w, Xo, yo, binding=(tree, idx))
    with pytest.raises(UnsatisfiedConstraintError, match="merkle"):
        st.solver.check(solve_with_paths(st, tree, w, Xo, yo, idx))
    # A changed label is a different sample too.
    yo = y[idx].copy()
    yo[0] = (yo[0] + 1) % 3
    with pytest.raises(UnsatisfiedConstraintError, match="merkle"):
        st.solver.check(solve_with_paths(st, tree, w, X[idx], yo, idx))
    # A real sample with another sample's path, and a padding leaf's path.
    with pytest.raises(UnsatisfiedConstraintError, match="merkle"):
        st.solver.check(solve_with_paths(st, tree, w, X[idx], y[idx], [2, 2, 3]))
    with pytest.raises(UnsatisfiedConstraintError, match="merkle"):
        st.solver.check(solve_with_paths(st, tree, w, X[idx], y[idx], [1, 2, 7]))


def test_another_nodes_dataset_is_refused(case):
    st, tree, X, y, w = case
    other = DatasetTree.build(SPEC, X[:5], y[:5])
    idx = [0, 1, 2]
    assert other.root != tree.root
    u, wit = st.witness(1, 2, w, X[idx], y[idx], binding=(tree, idx))
    pk = setup(st.r1cs, backend="cpu")
    proof = prove(pk, st.r1cs, wit.witness, backend="cpu")
    assert verify(pk.vk, st.public_signals(1, 2, w, u, commitment=tree.root), proof, backend="cpu")
    assert not verify(pk.vk, st.public_signals(1, 2, w, u, commitment=other.root), proof,
                      backend="cpu")


def test_dataset_tree_errors():
    X = np.zeros((9, 5), dtype=np.int64)
    with pytest.raises(ValueError, match="do not fit"):
        DatasetTree.build(SPEC, X, np.zeros(9, dtype=np.int64))
    with pytest.raises(ValueError, match="labels"):
        DatasetTree.build(SPEC, X[:3], np.zeros(2, dtype=np.int64))
    plain = StatementSpec(**{**SPEC.__dict__, "data_binding": False, "merkle_depth": 0})
    with pytest.raises(ValueError, match="off"):
        DatasetTree.build(plain, X[:3], np.zeros(3, dtype=np.int64))
