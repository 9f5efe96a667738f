"""Poseidon Merkle trees: the reference tree and paths, and the membership gadget with valid and
invalid paths."""
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.circuit import CircuitError, ConstraintSystem
from hpc_zkfl.circuit.merkle import (
    MerkleTree,
    assign_merkle_path,
    hash_pair,
    merkle_membership,
    verify_path,
)
from hpc_zkfl.circuit.poseidon import poseidon_hash

SIZES = [1, 2, 5, 8, 33]


def tamper(witness, wire, delta=1):
    out = witness.copy()
    out[wire] = FR.encode([(FR.decode(witness[wire:wire + 1])[0] + delta) % R])[0]
    return out


def random_leaves(rng, n):
    return [rng.randrange(R) for _ in range(n)]


def membership_circuit(depth: int, bind_index: bool = False):
    """Public root (and index), private leaf and path under prefix "p"."""
    cs = ConstraintSystem()
    root = cs.public_input("root")
    index = cs.public_input("index") if bind_index else None
    leaf = cs.private_input("leaf")
    path = merkle_membership(cs, leaf, root, depth, prefix="p")
    if bind_index:
        cs.assert_equal(path.index(), index, label="index matches")
    return cs.compile()


# reference ------------------------------------------------------------------------------------
def test_small_trees_by_hand(rng):
    a, b, c = random_leaves(rng, 3)
    one = MerkleTree([a])
    assert (one.depth, one.root, one.path(0)) == (0, a, ([], []))
    two = MerkleTree([a, b])
    assert (two.depth, two.root) == (1, poseidon_hash([a, b]))
    assert two.path(0) == ([b], [0]) and two.path(1) == ([a], [1])
    three = MerkleTree([a, b, c])          # padded with one 0 leaf
    assert three.depth == 2 and three.n_leaves == 3 and three.leaves == [a, b, c]
    assert three.root == hash_pair(hash_pair(a, b), hash_pair(c, 0))
    assert three.path(2) == ([0, hash_pair(a, b)], [0, 1])


@pytest.mark.parametrize("size", SIZES)
def test_every_path_verifies(size, rng):
    leaves = random_leaves(rng, size)
    tree = MerkleTree(leaves)
    assert tree.depth == (size - 1).bit_length() and len(tree.levels[0]) == 1 << tree.depth
    for index, leaf in enumerate(leaves):
        siblings, bits = tree.path(index)
        assert len(siblings) == len(bits) == tree.depth
        assert sum(b << i for i, b in enumerate(bits)) == index
        assert verify_path(leaf, tree.root, siblings, bits)
        if size > 1:
            assert not verify_path((leaf + 1) % R, tree.root, siblings, bits)
            assert not verify_path(leaf, tree.root, siblings, [1 - bits[0], *bits[1:]])


def test_tree_arguments():
    with pytest.raises(ValueError, match="at least one leaf"):
        MerkleTree([])
    for bad in (-1, R, 1.0, True):
        with pytest.raises(ValueError):
            MerkleTree([1, bad])
    tree = MerkleTree([1, 2, 3])
    for bad in (-1, 3, 4, True, 1.0):
        with pytest.raises(IndexError):
            tree.path(bad)
    with pytest.raises(ValueError):
        verify_path(1, tree.root, [2], [0, 1])
    with pytest.raises(ValueError):
        verify_path(1, tree.root, [2, 3], [0, 2])


# gadget ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("size", SIZES)
def test_membership_proofs_satisfy(size, rng):
    leaves = random_leaves(rng, size)
    tree = MerkleTree(leaves)
    r1cs, solver = membership_circuit(tree.depth)
    assert r1cs.n_constraints == 242 * tree.depth + 1
    indices = sorted({0, size - 1, rng.randrange(size)})
    for index in indices:
        private = {"leaf": leaves[index], **assign_merkle_path(tree, index, "p")}
        sol = solver.solve({"root": tree.root}, private)
        assert r1cs.unsatisfied(sol.witness) is None, index


def test_every_wire_is_determined(rng):
    tree = MerkleTree(random_leaves(rng, 4))
    r1cs, solver = membership_circuit(tree.depth)
    private = {"leaf": tree.leaves[2], **assign_merkle_path(tree, 2, "p")}
    sol = solver.solve({"root": tree.root}, private)
    first_internal = 1 + r1cs.n_public + r1cs.n_private_inputs
    for wire in range(first_internal, r1cs.n_wires):
        assert r1cs.unsatisfied(tamper(sol.witness, wire)) is not None, solver.wire_names[wire]


def failing_constraint(r1cs, solver, public, private):
    bad = r1cs.unsatisfied(solver.solve(public, private).witness)
    assert bad is not None, "the witness should break a constraint"
    return solver.describe(bad)


@pytest.mark.parametrize("size", [2, 5, 33])
def test_bad_paths_break_a_constraint(size, rng):
    leaves = random_leaves(rng, size)
    tree = MerkleTree(leaves)
    r1cs, solver = membership_circuit(tree.depth)
    index = rng.randrange(size)
    path = assign_merkle_path(tree, index, "p")
    good = {"leaf": leaves[index], **path}
    root = {"root": tree.root}
    assert r1cs.unsatisfied(solver.solve(root, good).witness) is None

    outsider = next(v for v in random_leaves(rng, 10) if v not in leaves)
    assert "computed root equals root" in failing_constraint(
        r1cs, solver, root, {**good, "leaf": outsider})

    level = rng.randrange(tree.depth)
    siblings = list(path["p.siblings"])
    siblings[level] = (siblings[level] + 1) % R
    assert "computed root equals root" in failing_constraint(
        r1cs, solver, root, {**good, "p.siblings": siblings})

    assert "computed root equals root" in failing_constraint(
        r1cs, solver, {"root": (tree.root + 1) % R}, good)

    # the leaf at the mirrored position: a flipped bit swaps the pair, which changes the hash
    bits = list(path["p.index_bits"])
    bits[level] ^= 1
    assert "computed root equals root" in failing_constraint(
        r1cs, solver, root, {**good, "p.index_bits": bits})

    bits = list(path["p.index_bits"])
    bits[level] = 2
    assert f"merkle/level {level} index bit is boolean" in failing_constraint(
        r1cs, solver, root, {**good, "p.index_bits": bits})


def test_index_can_be_bound(rng):
    tree = MerkleTree(random_leaves(rng, 6))
    r1cs, solver = membership_circuit(tree.depth, bind_index=True)
    private = {"leaf": tree.leaves[5], **assign_merkle_path(tree, 5, "p")}
    assert r1cs.unsatisfied(solver.solve({"root": tree.root, "index": 5}, private).witness) is None
    assert "index matches" in failing_constraint(
        r1cs, solver, {"root": tree.root, "index": 4}, private)


def test_single_leaf_tree(rng):
    tree = MerkleTree([rng.randrange(R)])
    r1cs, solver = membership_circuit(0)
    assert r1cs.n_constraints == 1
    sol = solver.solve({"root": tree.root}, {"leaf": tree.root, **assign_merkle_path(tree, 0, "p")})
    assert r1cs.unsatisfied(sol.witness) is None
    assert "computed root equals root" in failing_constraint(
        r1cs, solver, {"root": tree.root}, {"leaf": (tree.root + 1) % R})


def test_two_proofs_in_one_circuit_and_arguments(rng):
    tree = MerkleTree(random_leaves(rng, 3))
    cs = ConstraintSystem()
    root = cs.public_input("root")
    leaves = cs.private_inputs("leaf", 2)
    merkle_membership(cs, leaves[0], root, tree.depth, prefix="a")
    merkle_membership(cs, leaves[1], root, tree.depth, prefix="b", label="second")
    with pytest.raises(CircuitError, match="already declared"):
        merkle_membership(cs, leaves[0], root, tree.depth, prefix="a")
    for bad in (-1, 1.0, True):
        with pytest.raises(CircuitError, match="depth"):
            merkle_membership(cs, leaves[0], root, bad, prefix="c")
    r1cs, solver = cs.compile()
    private = {"leaf": [tree.leaves[0], tree.leaves[2]],
               **assign_merkle_path(tree, 0, "a"), **assign_merkle_path(tree, 2, "b")}
    assert r1cs.unsatisfied(solver.solve({"root": tree.root}, private).witness) is None
    private = {**private, **assign_merkle_path(tree, 1, "b")}
    assert "second/computed root equals root" in failing_constraint(
        r1cs, solver, {"root": tree.root}, private)
