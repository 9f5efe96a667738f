"""Binary Merkle trees with Poseidon(2) nodes: an integer reference and a membership gadget.

A node is `poseidon_hash([left, right])` (circomlib's Poseidon(2), see `poseidon.py`); leaves
are field elements, level 0 is the leaves and the root is level `depth`.  A tree of n leaves
is padded with 0 leaves up to 2^depth, depth = ceil(log2 n), so an empty subtree of height h
hashes to the fixed value z_h = H(z_{h-1}, z_{h-1}), z_0 = 0, as in the usual "zero value"
incremental trees.

Why 0 padding is safe when the real leaves are commitments (hashes of samples or model data):
a membership proof for a padding position proves that the leaf 0 is in the tree, so a prover
could only pass one off as a real leaf if 0 were a valid commitment, which would need a
Poseidon preimage of 0.  Callers that let leaves be raw values, so that 0 can be a real leaf,
must not treat "0 is a member" as meaningful (or must bind the index and the leaf count).

The index of a leaf is given to the gadget as private bits b_0..b_{depth-1}, least significant
first: bit i is 1 when the node on the path at level i is a right child.  They are inputs
rather than hints because they are the prover's data, not functions of other wires, and they
are asserted boolean; `MerklePathInputs.index()` gives the caller the index as a linear
combination to bind (e.g. to a public input) when the position matters.
"""
from dataclasses import dataclass

from .builder import CircuitError, LinearCombination, as_lc, linear_sum
from .poseidon import as_field_element, poseidon_gadget, poseidon_hash


def hash_pair(left: int, right: int) -> int:
    """A Merkle node: Poseidon(2) of its children."""
    return poseidon_hash([left, right])


class MerkleTree:
    """A binary Poseidon Merkle tree over field elements (ints in [0, r)), 0-padded to a power
    of two.  `levels[0]` are the padded leaves and `levels[depth]` is `[root]`."""

    def __init__(self, leaves):
        leaves = [as_field_element(x, f"leaf {i}") for i, x in enumerate(leaves)]
        if not leaves:
            raise ValueError("a Merkle tree needs at least one leaf")
        self.n_leaves = len(leaves)
        self.depth = (self.n_leaves - 1).bit_length()   # 1 leaf: depth 0, the root is the leaf
        level = leaves + [0] * ((1 << self.depth) - self.n_leaves)
        self.levels = [level]
        while len(level) > 1:
            level = [hash_pair(level[i], level[i + 1]) for i in range(0, len(level), 2)]
            self.levels.append(level)

    @property
    def root(self) -> int:
        return self.levels[-1][0]

    @property
    def leaves(self) -> list:
        return self.levels[0][:self.n_leaves]

    def path(self, index: int):
        """(siblings, index_bits) from the leaf up: siblings[i] is the other child at level i and
        index_bits[i] = (index >> i) & 1 says whether the path node there is a right child."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.n_leaves:
            raise IndexError(f"leaf index must be an int in [0, {self.n_leaves}), got {index!r}")
        siblings, bits = [], []
        for level in range(self.depth):
            node = index >> level
            siblings.append(self.levels[level][node ^ 1])
            bits.append(node & 1)
        return siblings, bits


def verify_path(leaf: int, root: int, siblings, index_bits) -> bool:
    """Whether the path (as from `MerkleTree.path`) leads from `leaf` to `root`."""
    if len(siblings) != len(index_bits):
        raise ValueError("siblings and index_bits differ in length")
    cur = as_field_element(leaf, "leaf")
    for sibling, bit in zip(siblings, index_bits):
        if bit not in (0, 1):
            raise ValueError(f"index bits must be 0 or 1, got {bit!r}")
        cur = hash_pair(sibling, cur) if bit else hash_pair(cur, sibling)
    return cur == as_field_element(root, "root")


@dataclass(frozen=True)
class MerklePathInputs:
    """The private inputs a `merkle_membership` gadget declared: array names and wires."""

    siblings_name: str
    bits_name: str
    siblings: list
    index_bits: list

    def index(self) -> LinearCombination:
        """sum 2^i b_i: the leaf index as a linear combination (no constraint)."""
        return linear_sum(self.index_bits, [1 << i for i in range(len(self.index_bits))])


def _names(prefix: str):
    return f"{prefix}.siblings", f"{prefix}.index_bits"


def merkle_membership(cs, leaf, root, depth: int, prefix: str,
                      label: str = "merkle") -> MerklePathInputs:
    """Constrain `leaf` to be a leaf of the depth-`depth` tree with root `root` (both circuit
    values: LinearCombinations or ints).

    Declares two private input arrays of `depth` elements, `{prefix}.siblings` and
    `{prefix}.index_bits`; give the solver their values with `assign_merkle_path`.  Cost per
    level: 1 constraint for the boolean bit, 1 for the swap, 240 for Poseidon(2); plus 1 for the
    root equality.  Returns the declared inputs (e.g. to bind the index)."""
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise CircuitError(f"Merkle depth must be a non-negative int, got {depth!r}")
    siblings_name, bits_name = _names(prefix)
    siblings = cs.private_inputs(siblings_name, depth)
    bits = cs.private_inputs(bits_name, depth)
    cur = as_lc(leaf)
    with cs.scope(label):
        for level, (sibling, bit) in enumerate(zip(siblings, bits)):
            cs.assert_boolean(bit, label=f"level {level} index bit is boolean")
            # Conditional swap in one constraint: d = bit * (sibling - cur) gives
            # (left, right) = (cur, sibling) for bit 0 and (sibling, cur) for bit 1.
            d = cs.mul(bit, sibling - cur, label=f"level {level} swap")
            cur = poseidon_gadget(cs, [cur + d, sibling - d], label=f"level {level} poseidon")
        cs.assert_equal(cur, root, label="computed root equals root")
    return MerklePathInputs(siblings_name, bits_name, siblings, bits)


def assign_merkle_path(tree: MerkleTree, index: int, prefix: str) -> dict:
    """Private input values for the `merkle_membership` gadget declared with `prefix`, proving
    leaf `index` of `tree`: merge the dict into the solver's private inputs."""
    siblings, bits = tree.path(index)
    siblings_name, bits_name = _names(prefix)
    return {siblings_name: siblings, bits_name: bits}
