"""Data binding: every sample of a proven batch is a leaf of the node's committed dataset.

Before round 1 a node registers c_i, the root of a Poseidon Merkle tree (circomlib's BN254
Poseidon, `hpc_zkfl.circuit.poseidon`) of depth `merkle_depth` over its samples, padded with
zero leaves.  A sample's leaf is

    Poseidon(pack_0, ..., pack_{m-1}, class)

where the packs are the bits of x_j - lo (the very bits the feature range check decomposes,
so packing costs no constraint), `features.bits` bits per feature, as many features per field
element as fit in PACK_BITS bits.  A padding leaf (0) would need a Poseidon preimage of 0, so
only registered samples can be proven.
"""
from dataclasses import dataclass

import numpy as np

from hpc_zkfl.circuit.merkle import MerkleTree, assign_merkle_path, merkle_membership
from hpc_zkfl.circuit.poseidon import poseidon_gadget, poseidon_hash

# Packed feature bits per field element (below the 253 bits an element holds exactly).
PACK_BITS = 248


def _features_per_pack(spec) -> int:
    return max(1, PACK_BITS // spec.features.bits)


def sample_leaf(spec, x, label: int) -> int:
    """The Merkle leaf of one sample (features on the spec's grid, class index)."""
    x = np.asarray(x, dtype=np.int64)
    if x.shape != (spec.n_features,):
        raise ValueError(f"a sample has {spec.n_features} features, got shape {x.shape}")
    lo, hi, n = spec.features.lo, spec.features.hi, spec.features.bits
    if x.min() < lo or x.max() > hi:
        raise ValueError(f"a feature is outside [{lo}, {hi}]")
    if not 0 <= int(label) < spec.n_classes:
        raise ValueError(f"label {label} is not a class of 0..{spec.n_classes - 1}")
    per = _features_per_pack(spec)
    packs = []
    for start in range(0, spec.n_features, per):
        packs.append(sum((int(v) - lo) << (n * j) for j, v in enumerate(x[start:start + per])))
    return poseidon_hash(packs + [int(label)])


@dataclass
class DatasetTree:
    """A node's committed dataset: the Merkle tree of its samples' leaves."""

    tree: MerkleTree
    leaves: list

    @classmethod
    def build(cls, spec, X, labels) -> "DatasetTree":
        if not spec.data_binding:
            raise ValueError("data binding is off in this statement")
        X, labels = np.asarray(X), np.asarray(labels)
        if len(X) == 0 or len(X) != len(labels):
            raise ValueError(f"need as many labels as samples (>= 1), got {len(X)} and {len(labels)}")
        capacity = 1 << spec.merkle_depth
        if len(X) > capacity:
            raise ValueError(f"{len(X)} samples do not fit a Merkle tree of depth "
                             f"{spec.merkle_depth} ({capacity} leaves)")
        leaves = [sample_leaf(spec, x, int(y)) for x, y in zip(X, labels)]
        return cls(MerkleTree(leaves + [0] * (capacity - len(leaves))), leaves)

    @property
    def root(self) -> int:
        return self.tree.root


def bind_samples(cs, spec, feature_bits, Y, commitment):
    """For each sample b: leaf from its feature bits and class, Merkle path to `commitment`."""
    n, per = spec.features.bits, _features_per_pack(spec)
    for b, (bits, y) in enumerate(zip(feature_bits, Y)):
        with cs.scope(f"sample {b}"):
            values = [cs.from_bits(f_bits) for f_bits in bits]
            packs = [cs.sum(values[s:s + per], [1 << (n * j) for j in range(len(values[s:s + per]))])
                     for s in range(0, len(values), per)]
            label = y[0] if len(y) == 1 else cs.sum(y, list(range(len(y))))
            leaf = poseidon_gadget(cs, packs + [label], label="leaf")
            merkle_membership(cs, leaf, commitment, spec.merkle_depth, prefix=f"path{b}")


def binding_inputs(spec, binding, X, labels):
    """(commitment, private inputs of the Merkle paths) for a batch drawn from a dataset:
    `binding` is (DatasetTree, the batch's indices into the node's dataset)."""
    if binding is None:
        raise ValueError("data binding is on: give (DatasetTree, indices of the batch)")
    tree, indices = binding
    indices = [int(i) for i in indices]
    if len(indices) != spec.batch_size:
        raise ValueError(f"expected {spec.batch_size} dataset indices, got {len(indices)}")
    extra = {}
    for b, idx in enumerate(indices):
        if not 0 <= idx < len(tree.leaves):
            raise ValueError(f"sample {b}: index {idx} is not in the dataset of {len(tree.leaves)}")
        if sample_leaf(spec, X[b], int(labels[b])) != tree.leaves[idx]:
            raise ValueError(f"sample {b} is not the dataset's sample {idx}")
        extra.update(assign_merkle_path(tree.tree, idx, prefix=f"path{b}"))
    return tree.root, extra


__all__ = ["DatasetTree", "PACK_BITS", "bind_samples", "binding_inputs", "sample_leaf"]
