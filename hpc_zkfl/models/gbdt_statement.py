"""The boosted-tree node statement: one level of one tree, over all of a node's committed data.

One circuit (and key) serves every level of every tree.  In round t a node proves that its
public histograms are exactly `gbdt.histograms_ref` of all its committed samples, at depth
D - 1 of the tree being grown (D = max_depth), at its current margins.  Nodes below the level
being grown are still pass-through (every sample goes left), so the histogram of node k at
depth d is the one of node k 2^(D-1-d) at depth D - 1 (`histograms_at`).  Inputs:

- public: `node`, `round` (t: a proof for one round is no proof for another: a replayed level
  fails), `commitment` (c_i, the Merkle root of the node's samples, registered before round
  1), `margins_in` (the node's margin commitment, below), the *previous* tree (splits and
  leaf weights: its weights are added to the margins; a tree of zero leaves adds nothing) and
  the current tree's splits above depth D - 1.  A tree's splits are, per feature f and group
  of internal nodes, the packed column sum_j [feature_j = f] 2^(bb j) (bb = bits of a bin)
  and per internal node its threshold bin.
- private, per slot s of the node's capacity N: the one-hot bins E[s][f][b] (b >= 1; bin 0
  is 1 - sum), the label y, `valid` (1 for a real sample, 0 for a padding slot) and the margin.
- public outputs: the packed histograms (below), then the new margin commitment.

The constraints:

1. Data: E one-hot, y and valid boolean; the leaf of slot s is valid * (its bins and label
   packed, `sample_leaf`) and the Merkle root of the N leaves (0-padded, `merkle.MerkleTree`)
   equals c_i.  So the histograms cover every committed sample and nothing else: no subset,
   no superset, no other data.
2. Margins, carried as committed state: M = Poseidon sponge over the margins packed seven
   32-bit limbs m + 2^31 to an element (`margin_commitment`).  The circuit opens the margins
   from `margins_in` (range-checked, so the packing is injective), adds the previous tree's
   leaf weight on each sample and outputs `margins_out`, M of the result, on which the
   histograms are computed.  The root sends the previous tree at the first level of a tree
   and a zero tree at the others; the first round's `margins_in` is the commitment of zeros.
3. Routing: a sample reaches node 2j+1 from j when its bin of feature_j is <= threshold_j,
   with v_j = sum_f bin_f [feature_j = f] read off one packed product per feature (digits
   range-checked to bb bits, so the packed equation holds over the integers,
   `hpc_zkfl.circuit.packing`) and one comparison per internal node; the reach R is one-hot
   over the nodes at the last depth, R_root = valid.
4. Gradients: p16 = floor(sigmoid(m) / 2^9) (quotient and remainder range-checked),
   g = p16 - 2^16 y, h = p16 (2^16 - p16): `gbdt.gradients_ref` bit for bit.
5. Histograms: with T = g + 2^lamG h (lamG bits hold |sum g|, lamH bits hold sum h over N
   samples, balanced digits), one product per group of nodes gives W = sum_nu R_nu T 2^(Lam i)
   and one per (feature, group of bins) gives sum_b E_b 2^(Lam nv k) W; each public output
   element is that product summed over the slots.  Its digits are the (node, feature, bin)
   sums of g and h: exact, at most 252 bits in all, so the field element is the integer
   (`HistogramLayout`, `pack_histograms`, `unpack_histograms`).

The circuit trusts its public inputs to be well formed (one-hot feature columns, thresholds
below n_bins, leaf weights of the margin format): the root builds them from its own trees.
"""
from dataclasses import dataclass

import numpy as np

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.circuit import ConstraintSystem
from hpc_zkfl.circuit.builder import linear_sum
from hpc_zkfl.circuit.fixedpoint import (SIGMOID_SLOPE_BITS, from_field, range_check_signed,
                                         sigmoid)
from hpc_zkfl.circuit.merkle import MerkleTree
from hpc_zkfl.circuit.packing import PACK_BITS
from hpc_zkfl.circuit.poseidon import MAX_INPUTS, poseidon_gadget, poseidon_hash

from .binding import PACK_BITS as LEAF_PACK_BITS
from .gbdt import (GRAD_FRAC_BITS, HESS_FRAC_BITS, MARGIN_FORMAT, GBDTParams, Tree,
                   histograms_ref)

MAX_CAPACITY = 1 << 16            # samples a node may commit to (keeps circuits buildable)
_MARGIN_LIMB_BITS = MARGIN_FORMAT.total_bits
_MARGINS_PER_ELEMENT = PACK_BITS // _MARGIN_LIMB_BITS          # 7
_SPONGE_RATE = MAX_INPUTS - 1                                  # 15 elements per Poseidon


# --- layouts ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class GBDTStatementSpec:
    """The boosted-tree statement: the trees' shape and the data's (one circuit for every
    level)."""

    params: GBDTParams
    n_features: int
    capacity: int                 # N: slots, the most samples a node commits to

    def __post_init__(self):
        if not isinstance(self.params, GBDTParams):
            raise TypeError("params must be a GBDTParams")
        if isinstance(self.n_features, bool) or not isinstance(self.n_features, int) or \
                self.n_features < 1:
            raise ValueError(f"n_features must be a positive int, got {self.n_features!r}")
        if isinstance(self.capacity, bool) or not isinstance(self.capacity, int) or \
                not 1 <= self.capacity <= MAX_CAPACITY:
            raise ValueError(f"capacity must be an int in [1, {MAX_CAPACITY}], "
                             f"got {self.capacity!r}")

    @property
    def bin_bits(self) -> int:
        return self.params.bin_bits

    @property
    def merkle_depth(self) -> int:
        return (self.capacity - 1).bit_length()

    @property
    def depth(self) -> int:
        """The depth of the histograms' nodes: the tree's last internal level."""
        return self.params.max_depth - 1

    @property
    def n_nodes(self) -> int:
        """Tree nodes at `depth`: the histograms' first axis."""
        return 1 << self.depth

    def split_groups(self, n_internal: int) -> int:
        """Packed public feature columns per feature for n_internal nodes (bb-bit digits)."""
        return -(-n_internal // (PACK_BITS // self.bin_bits))

    def histogram_layout(self) -> "HistogramLayout":
        return HistogramLayout.of(self)


@dataclass(frozen=True)
class HistogramLayout:
    """How the (node, feature, bin) sums of g and h sit in the public output elements.

    A digit is G + 2^lam_g H with G in [-2^(lam_g-1), 2^(lam_g-1)) and H in [0, 2^(lam_h-1));
    digits go `digit_bits` = lam_g + lam_h apart, `nodes_per` nodes by `bins_per` bins of one
    feature per element (position nodes_per * k_bin + i_node).  Elements in order: feature,
    then bin group, then node group."""

    n_nodes: int
    n_features: int
    n_bins: int
    capacity: int
    lam_g: int
    lam_h: int
    nodes_per: int
    bins_per: int

    @classmethod
    def of(cls, spec: GBDTStatementSpec) -> "HistogramLayout":
        n_bits = spec.capacity.bit_length()              # N < 2^n_bits
        # |sum g| <= N 2^16 < 2^(16 + n_bits); 0 <= sum h <= N 2^30 < 2^(30 + n_bits).
        lam_g = GRAD_FRAC_BITS + 1 + n_bits
        lam_h = HESS_FRAC_BITS - 2 + 1 + n_bits
        per = PACK_BITS // (lam_g + lam_h)
        n_nodes, B, F = spec.n_nodes, spec.params.n_bins, spec.n_features
        best = None
        for nv in range(1, min(n_nodes, per) + 1):    # fewest products per slot
            nb = per // nv
            cost = F * -(-B // nb) * -(-n_nodes // nv) + -(-n_nodes // nv)
            if best is None or cost < best[0]:
                best = (cost, nv, nb)
        _, nv, nb = best
        return cls(n_nodes, F, B, spec.capacity, lam_g, lam_h, nv, min(nb, B))

    @property
    def digit_bits(self) -> int:
        return self.lam_g + self.lam_h

    @property
    def node_groups(self) -> list:
        return [list(range(s, min(s + self.nodes_per, self.n_nodes)))
                for s in range(0, self.n_nodes, self.nodes_per)]

    @property
    def bin_groups(self) -> list:
        return [list(range(s, min(s + self.bins_per, self.n_bins)))
                for s in range(0, self.n_bins, self.bins_per)]

    def elements(self) -> list:
        """(feature, bins, nodes) of each output element, in order."""
        return [(f, bins, nodes) for f in range(self.n_features) for bins in self.bin_groups
                for nodes in self.node_groups]

    @property
    def n_elements(self) -> int:
        return self.n_features * len(self.bin_groups) * len(self.node_groups)

    def position(self, k_bin: int, i_node: int) -> int:
        return self.nodes_per * k_bin + i_node


def pack_histograms(layout: HistogramLayout, G, H) -> list:
    """The public output elements (signed ints) of histograms G, H (n_nodes, F, n_bins)."""
    G, H = np.asarray(G), np.asarray(H)
    shape = (layout.n_nodes, layout.n_features, layout.n_bins)
    if G.shape != shape or H.shape != shape:
        raise ValueError(f"histograms must have shape {shape}, got {G.shape} and {H.shape}")
    out = []
    for f, bins, nodes in layout.elements():
        v = 0
        for kb, b in enumerate(bins):
            for i, nu in enumerate(nodes):
                digit = int(G[nu, f, b]) + (int(H[nu, f, b]) << layout.lam_g)
                v += digit << (layout.digit_bits * layout.position(kb, i))
        out.append(v)
    return out


class MalformedHistogramError(ValueError):
    """Output elements that no honest node could have produced (wrong count, a digit outside
    its bound): the root rejects the message before any pairing."""


def unpack_histograms(layout: HistogramLayout, values) -> tuple:
    """(G, H) int64 arrays (n_nodes, F, n_bins) from the public output elements (field
    elements or signed ints); MalformedHistogramError when they cannot be an honest node's."""
    values = list(values)
    if len(values) != layout.n_elements:
        raise MalformedHistogramError(f"expected {layout.n_elements} histogram elements, "
                                      f"got {len(values)}")
    shape = (layout.n_nodes, layout.n_features, layout.n_bins)
    G, H = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    lam, lg = layout.digit_bits, layout.lam_g
    g_max = layout.capacity << GRAD_FRAC_BITS
    h_max = layout.capacity << (HESS_FRAC_BITS - 2)
    for e, ((f, bins, nodes), raw) in enumerate(zip(layout.elements(), values)):
        if isinstance(raw, bool) or not isinstance(raw, (int, np.integer)):
            raise MalformedHistogramError(f"histogram element {e} is not an integer")
        v = from_field(int(raw))
        for kb, b in enumerate(bins):
            for i, nu in enumerate(nodes):
                digit = _balanced(v, lam)
                v = (v - digit) >> lam
                g = _balanced(digit, lg)
                h = (digit - g) >> lg
                if abs(g) > g_max or not 0 <= h <= h_max:
                    raise MalformedHistogramError(f"histogram element {e}: a sum outside "
                                                  "what N samples can give")
                G[nu, f, b], H[nu, f, b] = g, h
        if v:
            raise MalformedHistogramError(f"histogram element {e} has bits beyond its digits")
    return G, H


def _balanced(v: int, bits: int) -> int:
    """The low digit of v in [-2^(bits-1), 2^(bits-1))."""
    d = v & ((1 << bits) - 1)
    return d - (1 << bits) if d >> (bits - 1) else d


# --- committed data and margins --------------------------------------------------------------

def _bins_per_pack(bin_bits: int) -> int:
    return max(1, LEAF_PACK_BITS // bin_bits)


def compact_leaves(n_features: int, n_bins: int) -> bool:
    """Whether a sample's bins and label fit one field element beside a marker bit: then the
    leaf is that element itself and costs no hash (`sample_leaf`)."""
    return n_features * (n_bins - 1).bit_length() + 2 <= LEAF_PACK_BITS


def sample_leaf(bins_row, label: int, n_bins: int) -> int:
    """The Merkle leaf of one binned sample: 1 + 2 label + 4 (bins packed, bin_bits each)
    when that fits (`compact_leaves`; odd, so never the padding leaf 0), else
    Poseidon(packed bins, label)."""
    row = np.asarray(bins_row, dtype=np.int64)
    if row.ndim != 1 or len(row) == 0 or row.min() < 0 or row.max() >= n_bins:
        raise ValueError(f"a sample's bins must be a non-empty row in [0, {n_bins})")
    if isinstance(label, bool) or int(label) not in (0, 1):
        raise ValueError(f"label must be 0 or 1, got {label!r}")
    bb = (n_bins - 1).bit_length()
    per = _bins_per_pack(bb)
    packs = [sum(int(v) << (bb * j) for j, v in enumerate(row[s:s + per]))
             for s in range(0, len(row), per)]
    if compact_leaves(len(row), n_bins):
        return 1 + 2 * int(label) + 4 * packs[0]
    return poseidon_hash(packs + [int(label)])


@dataclass
class CommittedData:
    """A node's binned training data and its commitment (registered before round 1)."""

    bins: np.ndarray              # (n, F) int64
    labels: np.ndarray            # (n,) int64, 0/1
    capacity: int
    tree: MerkleTree

    @classmethod
    def build(cls, bins, labels, n_bins: int, capacity: int) -> "CommittedData":
        bins, labels = np.asarray(bins, dtype=np.int64), np.asarray(labels, dtype=np.int64)
        if bins.ndim != 2 or labels.shape != (len(bins),):
            raise ValueError(f"need (n, F) bins and n labels, got {bins.shape} and {labels.shape}")
        if not 1 <= len(bins) <= capacity:
            raise ValueError(f"a node commits to 1..{capacity} samples, got {len(bins)}")
        leaves = [sample_leaf(r, y, n_bins) for r, y in zip(bins, labels)]
        tree = MerkleTree(leaves + [0] * (capacity - len(leaves)))
        return cls(bins, labels, capacity, tree)

    @property
    def root(self) -> int:
        return self.tree.root


def _margin_elements(margins) -> list:
    limbs = [int(m) + (1 << (_MARGIN_LIMB_BITS - 1)) for m in margins]
    return [sum(v << (_MARGIN_LIMB_BITS * j) for j, v in enumerate(limbs[s:s + _MARGINS_PER_ELEMENT]))
            for s in range(0, len(limbs), _MARGINS_PER_ELEMENT)]


def margin_commitment(margins) -> int:
    """M of a node's margins, one per slot (fixed point, padding slots 0): a Poseidon sponge,
    h <- Poseidon(h, 15 elements), over the margins packed as 32-bit limbs m + 2^31."""
    elements = _margin_elements(MARGIN_FORMAT.check(margins, "margin"))
    h = 0
    for s in range(0, len(elements), _SPONGE_RATE):
        h = poseidon_hash([h] + elements[s:s + _SPONGE_RATE])
    return h


def split_columns(spec: GBDTStatementSpec, tree: Tree, n_internal: int) -> tuple:
    """(packed feature columns (F x split_groups), thresholds) of the first n_internal
    splits of `tree` (public inputs)."""
    J, bb, per = n_internal, spec.bin_bits, PACK_BITS // spec.bin_bits
    feature, threshold = np.asarray(tree.feature[:J]), np.asarray(tree.threshold[:J])
    if J and (feature.min() < 0 or feature.max() >= spec.n_features or threshold.min() < 0 or
              threshold.max() >= spec.params.n_bins):
        raise ValueError("the tree's splits do not fit the statement's features and bins")
    groups = spec.split_groups(J)
    cols = [[sum(1 << (bb * (j - g * per)) for j in range(g * per, min((g + 1) * per, J))
                 if feature[j] == f) for g in range(groups)]
            for f in range(spec.n_features)]
    return [c for row in cols for c in row], [int(t) for t in threshold]


def histograms_at(G, H, depth: int) -> tuple:
    """The histograms of the nodes at `depth` from those at the statement's depth (axis 0,
    2^(D-1) nodes), while the nodes below `depth` are pass-through: node k's samples all
    reach node k 2^(D-1-depth)."""
    G, H = np.asarray(G), np.asarray(H)
    last = len(G).bit_length() - 1
    if not 0 <= depth <= last:
        raise ValueError(f"depth must be in [0, {last}], got {depth}")
    step = 1 << (last - depth)
    return G[::step].copy(), H[::step].copy()


# --- the circuit -----------------------------------------------------------------------------

def _digits_hint(bits: int, n: int):
    def hint(packed):
        v = int(packed)
        return [(v >> (bits * k)) & ((1 << bits) - 1) for k in range(n)]
    return hint


def _floor_hint(shift: int):
    def hint(x):
        return [int(x) >> shift, int(x) & ((1 << shift) - 1)]
    return hint


def _route(cs, spec, beta, valid, cols, thresholds, n_levels):
    """Reach (one-hot over the 2^n_levels nodes at that depth; all 0 for a padding slot) of
    one slot through the public splits."""
    bb, per = spec.bin_bits, PACK_BITS // spec.bin_bits
    J = (1 << n_levels) - 1
    groups = spec.split_groups(J)
    v = []
    for g in range(groups):
        nodes = range(g * per, min((g + 1) * per, J))
        packed = linear_sum([cs.mul(b, cols[f * groups + g], label=f"feature {f}")
                             for f, b in enumerate(beta)])
        digits = cs.hint(_digits_hint(bb, len(nodes)), packed, n_outputs=len(nodes),
                         label="split bins")
        for j, d in zip(nodes, digits):
            cs.range_check(d, bb, label=f"node {j} bin")
        cs.assert_equal(linear_sum(digits, [1 << (bb * k) for k in range(len(nodes))]), packed,
                        label="split bins")
        v.extend(digits)
    reach = [valid]
    for level in range(n_levels):
        nxt = []
        for k, r in enumerate(reach):
            j = (1 << level) - 1 + k
            bits = cs.to_bits(thresholds[j] - v[j] + (1 << bb), bb + 1, label=f"node {j} test")
            left = cs.mul(r, bits[bb], label=f"node {j} left")
            nxt.extend([left, r - left])
        reach = nxt
    return reach


def _sponge(cs, elements, label):
    h = 0
    for s in range(0, len(elements), _SPONGE_RATE):
        h = poseidon_gadget(cs, [h] + elements[s:s + _SPONGE_RATE], label=f"{label} {s}")
    return h


def _pack_margins(margin_offsets):
    return [linear_sum(margin_offsets[s:s + _MARGINS_PER_ELEMENT],
                       [1 << (_MARGIN_LIMB_BITS * j) for j in range(
                           len(margin_offsets[s:s + _MARGINS_PER_ELEMENT]))])
            for s in range(0, len(margin_offsets), _MARGINS_PER_ELEMENT)]


def build_circuit(spec: GBDTStatementSpec, cs: ConstraintSystem = None,
                  layout: "HistogramLayout" = None) -> ConstraintSystem:
    """The statement's constraint system (not compiled); module docstring for what it
    proves.  `layout`: the spec's own (`statement_size` measures slots with another's)."""
    cs = cs or ConstraintSystem()
    P, N, F, B, d = spec.params, spec.capacity, spec.n_features, spec.params.n_bins, spec.depth
    layout = layout or spec.histogram_layout()
    half = 1 << (_MARGIN_LIMB_BITS - 1)
    cs.public_input("node")
    cs.public_input("round")
    commitment = cs.public_input("commitment")
    margins_in = cs.public_input("margins_in")
    prev_cols = cs.public_inputs("previous_columns", F * spec.split_groups(P.n_internal))
    prev_thresholds = cs.public_inputs("previous_thresholds", P.n_internal)
    leaves = cs.public_inputs("previous_leaves", P.n_leaves)
    cols = cs.public_inputs("columns", F * spec.split_groups(spec.n_nodes - 1))
    thresholds = cs.public_inputs("thresholds", spec.n_nodes - 1)
    onehot = cs.private_inputs("onehot", N * F * (B - 1))
    labels = cs.private_inputs("label", N)
    valid = cs.private_inputs("valid", N)
    margins = cs.private_inputs("margin", N)

    E, beta = [], []                     # E[s][f] = [E_0, ..., E_{B-1}] as combinations
    with cs.scope("data"):
        leaf_values = []
        per = _bins_per_pack(spec.bin_bits)
        for s in range(N):
            with cs.scope(f"slot {s}"):
                row, row_beta = [], []
                for f in range(F):
                    e = onehot[(s * F + f) * (B - 1):(s * F + f + 1) * (B - 1)]
                    for b, x in enumerate(e, start=1):
                        cs.assert_boolean(x, label=f"feature {f} bin {b} is boolean")
                    rest = linear_sum(e)
                    cs.assert_boolean(rest, label=f"feature {f} one bin")
                    row.append([1 - rest] + list(e))
                    row_beta.append(linear_sum(e, list(range(1, B))))
                cs.assert_boolean(labels[s], label="label is 0 or 1")
                cs.assert_boolean(valid[s], label="valid is 0 or 1")
                packs = [linear_sum(row_beta[i:i + per],
                                    [1 << (spec.bin_bits * j) for j in range(len(row_beta[i:i + per]))])
                         for i in range(0, F, per)]
                if compact_leaves(F, B):
                    leaf = 1 + 2 * labels[s] + 4 * packs[0]
                else:
                    leaf = poseidon_gadget(cs, packs + [labels[s]], label="leaf")
                leaf_values.append(cs.mul(valid[s], leaf, label="valid leaf"))
                E.append(row)
                beta.append(row_beta)
        level = leaf_values + [0] * ((1 << spec.merkle_depth) - N)
        h = 0
        while len(level) > 1:
            level = [poseidon_gadget(cs, [level[i], level[i + 1]], label=f"merkle {h}")
                     for i in range(0, len(level), 2)]
            h += 1
        cs.assert_equal(level[0], commitment, label="commitment")

    with cs.scope("margins"):
        # Range-checked so that their limbs pack injectively.
        for s, m in enumerate(margins):
            range_check_signed(cs, m, _MARGIN_LIMB_BITS, label=f"slot {s} range")
        opened = _sponge(cs, _pack_margins([m + half for m in margins]), "opening")
        cs.assert_equal(opened, margins_in, label="margins in")
        current = []
        for s in range(N):
            with cs.scope(f"slot {s}"):
                reach = _route(cs, spec, beta[s], valid[s], prev_cols, prev_thresholds,
                               P.max_depth)
                step = linear_sum([cs.mul(r, w, label=f"leaf {k}")
                                   for k, (r, w) in enumerate(zip(reach, leaves))])
                current.append(margins[s] + step)

    with cs.scope("gradients"):
        T = []
        for s, m in enumerate(current):
            with cs.scope(f"slot {s}"):
                sig = sigmoid(cs, m, MARGIN_FORMAT, label="sigmoid")
                p16, rem = cs.hint(_floor_hint(SIGMOID_SLOPE_BITS), sig, n_outputs=2,
                                   label="p16")
                cs.range_check(p16, GRAD_FRAC_BITS + 1, label="p16 range")
                cs.range_check(rem, SIGMOID_SLOPE_BITS, label="p16 remainder")
                cs.assert_equal(p16 * (1 << SIGMOID_SLOPE_BITS) + rem, sig, label="p16")
                g = p16 - labels[s] * (1 << GRAD_FRAC_BITS)
                hess = cs.mul(p16, (1 << GRAD_FRAC_BITS) - p16, label="hessian")
                T.append(g + hess * (1 << layout.lam_g))

    with cs.scope("histograms"):
        lam = layout.digit_bits
        sums = [[] for _ in range(layout.n_elements)]
        n_groups = len(layout.node_groups)
        for s in range(N):
            with cs.scope(f"slot {s}"):
                reach = _route(cs, spec, beta[s], valid[s], cols, thresholds, d)
                W = [cs.mul(linear_sum([reach[nu] for nu in nodes],
                                       [1 << (lam * i) for i in range(len(nodes))]), T[s],
                            label=f"nodes {nodes[0]}") for nodes in layout.node_groups]
                for e, (f, bins, nodes) in enumerate(layout.elements()):
                    q = linear_sum([E[s][f][b] for b in bins],
                                   [1 << (lam * layout.position(kb, 0)) for kb in range(len(bins))])
                    sums[e].append(cs.mul(q, W[e % n_groups], label=f"feature {f} bin {bins[0]}"))
        for e, terms in enumerate(sums):
            cs.public_output(f"hist[{e}]", linear_sum(terms))
    with cs.scope("margins"):
        # The sigmoid range-checked the new margins: their limbs pack injectively.
        cs.public_output("margins_out", _sponge(cs, _pack_margins([m + half for m in current]),
                                                "commit"))
    return cs


def constraint_breakdown(descriptions) -> dict:
    """Constraint counts by part of the statement (the top scope of each description)."""
    parts = {"data": "data binding and one-hot bins", "margins": "margin state and routing",
             "gradients": "sigmoid, g and h", "histograms": "routing and histogram products"}
    out = {}
    for desc in descriptions:
        key = parts.get(desc.split("/")[0], "outputs")
        out[key] = out.get(key, 0) + 1
    return out


def _scratch_cost(build) -> tuple:
    """(constraints, wires) that build(cs) adds to a fresh circuit."""
    cs = ConstraintSystem()
    before = (cs.n_constraints, cs.n_wires)
    build(cs)
    return cs.n_constraints - before[0], cs.n_wires - before[1]


def _hash_cost(n_vars: int, first: bool, last_constant: bool = False) -> tuple:
    """(constraints, wires) of a Poseidon call on n_vars circuit values, after a constant 0
    (a sponge's first call) or not, and before a constant 0 (a Merkle node beside an
    all-padding subtree)."""
    def build(cs):
        xs = cs.private_inputs("x", n_vars)
        poseidon_gadget(cs, ([0] if first else []) + xs + ([0] if last_constant else []))
    c, w = _scratch_cost(build)
    return c, w - n_vars


def _merkle_cost(n: int) -> tuple:
    """The Merkle nodes over n leaves that hash at least one circuit value (an all-padding
    subtree folds into a constant, whose first-round S-boxes are free)."""
    pair = _hash_cost(2, first=False)
    half = _hash_cost(1, first=False, last_constant=True)
    c = w = 0
    width = n
    for _ in range((n - 1).bit_length()):
        full, odd = divmod(width, 2)
        c, w = c + full * pair[0] + odd * half[0], w + full * pair[1] + odd * half[1]
        width = full + odd
    return c, w


def _sponge_cost(n: int) -> tuple:
    elements = -(-n // _MARGINS_PER_ELEMENT)
    c = w = 0
    for s in range(0, elements, _SPONGE_RATE):
        k = min(_SPONGE_RATE, elements - s)
        dc, dw = _hash_cost(k, first=True) if s == 0 else _hash_cost(k + 1, first=False)
        c, w = c + dc, w + dw
    return c, w


def statement_size(spec: GBDTStatementSpec) -> tuple:
    """(constraints, wires, public signals, hashing constraints) of the statement's R1CS
    without building it at its capacity: every slot costs the same (measured on builds of
    capacity 1 and 2); the Merkle tree and the two margin sponges are counted call by call."""
    layout = spec.histogram_layout()

    def built(n):
        cs = build_circuit(GBDTStatementSpec(spec.params, spec.n_features, n), layout=layout)
        return cs.n_constraints, cs.n_wires, cs

    def shared(n):                          # the hashes that are not per slot
        m, sp = _merkle_cost(n), _sponge_cost(n)
        return m[0] + 2 * sp[0], m[1] + 2 * sp[1]

    c1, w1, cs = built(1)
    c2, w2, _ = built(2)
    s1, s2, sn = shared(1), shared(2), shared(spec.capacity)
    per_c, per_w = c2 - c1 - (s2[0] - s1[0]), w2 - w1 - (s2[1] - s1[1])
    n = spec.capacity - 1
    constraints = c1 + n * per_c + sn[0] - s1[0]
    wires = w1 + n * per_w + sn[1] - s1[1]
    public = sum(1 for k in cs._kind if k in ("output", "public"))
    leaf = 0 if compact_leaves(spec.n_features, spec.params.n_bins) else \
        _hash_cost(-(-spec.n_features // _bins_per_pack(spec.bin_bits)) + 1, first=True)[0]
    return constraints, wires, public, sn[0] + spec.capacity * leaf


class GBDTLevelStatement:
    """The compiled boosted-tree statement: R1CS, solver, reference outputs, public signals.

    Every call takes `previous` (the tree whose leaf weights the proof adds to the margins:
    the last tree at a tree's first level, `Tree.empty` otherwise) and `tree` (the tree
    being grown, its splits above the last level)."""

    def __init__(self, spec: GBDTStatementSpec):
        self.spec = spec
        self.layout = spec.histogram_layout()
        cs = build_circuit(spec)
        self.r1cs, self.solver = cs.compile()
        self.breakdown = constraint_breakdown(cs.descriptions)

    @property
    def n_constraints(self) -> int:
        return self.r1cs.n_constraints

    @property
    def n_outputs(self) -> int:
        """Public outputs: the histogram elements, then margins_out."""
        return self.layout.n_elements + 1

    def _check_tree(self, tree: Tree, what: str):
        if not isinstance(tree, Tree) or tree.depth != self.spec.params.max_depth:
            raise ValueError(f"{what}: expected a Tree of depth {self.spec.params.max_depth}")

    def _tree_inputs(self, previous: Tree, tree: Tree) -> dict:
        self._check_tree(previous, "previous tree")
        self._check_tree(tree, "tree")
        P = self.spec.params
        prev_cols, prev_thresholds = split_columns(self.spec, previous, P.n_internal)
        cols, thresholds = split_columns(self.spec, tree, self.spec.n_nodes - 1)
        leaf = MARGIN_FORMAT.check(previous.leaf, "leaf weight")
        return {"previous_columns": prev_cols, "previous_thresholds": prev_thresholds,
                "previous_leaves": [int(w) for w in leaf], "columns": cols,
                "thresholds": thresholds}

    def public_inputs(self, node_id: int, round_index: int, commitment: int, margins_in: int,
                      previous: Tree, tree: Tree) -> list:
        """The public inputs (after the outputs) as the root forms them."""
        t = self._tree_inputs(previous, tree)
        values = [node_id, round_index, commitment, margins_in]
        for key in ("previous_columns", "previous_thresholds", "previous_leaves", "columns",
                    "thresholds"):
            values.extend(t[key])
        return [int(v) % R for v in values]

    def public_signals(self, outputs, node_id: int, round_index: int, commitment: int,
                       margins_in: int, previous: Tree, tree: Tree) -> list:
        """Outputs (histogram elements, then the new margin commitment), then the public
        inputs: what the verifier checks the proof against."""
        outputs = [int(v) % R for v in outputs]
        if len(outputs) != self.n_outputs:
            raise ValueError(f"expected {self.n_outputs} public outputs, got {len(outputs)}")
        return outputs + self.public_inputs(node_id, round_index, commitment, margins_in,
                                            previous, tree)

    def witness(self, node_id: int, round_index: int, data: CommittedData, margins,
                previous: Tree, tree: Tree):
        """(outputs, Witness): the reference outputs and the witness proving them.  `margins`
        are the node's margins per committed sample before `previous` is added."""
        outputs, public, private = self.inputs(node_id, round_index, data, margins, previous,
                                               tree)
        return outputs, self.solver.solve(public, private)

    def inputs(self, node_id: int, round_index: int, data: CommittedData, margins,
               previous: Tree, tree: Tree) -> tuple:
        """(reference outputs, public inputs, private inputs) for the solver (`witness`)."""
        spec, N = self.spec, self.spec.capacity
        if not isinstance(data, CommittedData) or data.capacity != N:
            raise ValueError(f"expected CommittedData of capacity {N}")
        n, F = data.bins.shape
        if F != spec.n_features:
            raise ValueError(f"expected {spec.n_features} features, got {F}")
        m = MARGIN_FORMAT.check(margins, "margin")
        if m.shape != (n,):
            raise ValueError(f"expected {n} margins, got shape {m.shape}")
        tree_inputs = self._tree_inputs(previous, tree)
        outputs = self.outputs_ref(data, m, previous, tree)
        onehot = np.zeros((N, F, spec.params.n_bins), np.int64)
        onehot[np.arange(n)[:, None], np.arange(F)[None, :], data.bins] = 1
        public = {"node": node_id, "round": round_index, "commitment": data.root,
                  "margins_in": margin_commitment(_slots(m, N)), **tree_inputs}
        private = {"onehot": [int(v) for v in onehot[:, :, 1:].reshape(-1)],
                   "label": [int(v) for v in data.labels] + [0] * (N - n),
                   "valid": [1] * n + [0] * (N - n),
                   "margin": [int(v) for v in _slots(m, N)]}
        return outputs, public, private

    def outputs_ref(self, data: CommittedData, margins, previous: Tree, tree: Tree) -> list:
        """The public outputs an honest node's proof shows (signed ints): the packed
        histograms at the margins after `previous`, then their commitment."""
        G, H, margins_out = level_ref(self.spec, data, margins, previous, tree)
        return pack_histograms(self.layout, G, H) + [margins_out]

    def histograms(self, outputs) -> tuple:
        """(G, H) at the statement's depth from a proof's public outputs
        (MalformedHistogramError if they cannot be an honest node's)."""
        return unpack_histograms(self.layout, list(outputs)[:self.layout.n_elements])


def level_ref(spec: GBDTStatementSpec, data: CommittedData, margins, previous: Tree,
              tree: Tree) -> tuple:
    """(G, H, margins_out) of an honest node: its histograms at the statement's depth of
    `tree`, at its margins after `previous`, and their commitment (the circuit's outputs
    before packing; what an unproven run's node sends)."""
    m = MARGIN_FORMAT.check(margins, "margin")
    m = MARGIN_FORMAT.check(m + previous.predict_margin(data.bins), "margin")
    G, H = histograms_ref(data.bins, data.labels, m, tree, spec.depth, spec.params.n_bins)
    return G, H, margin_commitment(_slots(m, spec.capacity))


def _slots(margins, capacity: int) -> np.ndarray:
    """Margins padded with zeros to one per slot."""
    out = np.zeros(capacity, np.int64)
    out[:len(margins)] = margins
    return out


__all__ = ["CommittedData", "GBDTLevelStatement", "GBDTStatementSpec", "HistogramLayout",
           "MAX_CAPACITY", "MalformedHistogramError", "build_circuit", "compact_leaves",
           "constraint_breakdown", "histograms_at", "level_ref", "margin_commitment",
           "pack_histograms", "sample_leaf", "split_columns", "statement_size", "unpack_histograms"]
