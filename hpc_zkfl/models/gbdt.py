"""Gradient-boosted trees on binned features: the integer reference of the boosted-tree
statement (`gbdt_statement`), shared by every node, the root and a centralized run.

Histogram-based boosting as XGBoost's `hist` method (Chen and Guestrin, "XGBoost: a scalable
tree boosting system", KDD 2016, eprint arXiv:1603.02754, section 2.2 for the gain and the leaf
weight; section 3 for the histogram form), for the logistic loss, with every quantity that a
node proves in fixed point:

- Features are binned by public edges (`BinEdges`): bin(x) = #{edges <= x}, in [0, n_bins).
  A split (feature f, bin b) sends a sample left when bin_f(x) <= b, that is x < edges_f[b].
- A node's margins m (the ensemble's sum of leaf weights on each of its samples) are fixed
  point with `MARGIN_FORMAT.frac_bits` = 16 fractional bits; leaf weights too.
- p16 = floor(sigmoid_pla(m) / 2^9) with the piecewise-linear sigmoid of
  `hpc_zkfl.circuit.fixedpoint` (16 fractional bits), g = p16 - 2^16 y (16 fractional bits)
  and h = p16 (2^16 - p16) (32 fractional bits): exact integers, no further rounding.
- A node's histogram holds, per tree node at the level's depth, feature and bin, the exact
  sums of g and h over its samples there; the root adds the nodes' histograms (exactly), so
  a federated level equals a centralized level on the union of the data, integer for integer.
- Splits are chosen on the aggregated integer sums by XGBoost's loss change
  G_L^2/(H_L+lambda) + G_R^2/(H_R+lambda) - G^2/(H+lambda), in float64 from the same integers
  (deterministic: the same sums give the same tree), a split only where both children have a
  hessian sum of at least min_child_weight and the loss change is at least gamma and above
  1e-6 (XGBoost's kRtEps); ties go to the first (feature, bin) in order.  Gamma decides as
  the tree grows; XGBoost prunes afterwards, bottom up, so it keeps a weak split above a
  strong one where this drops it (no difference at gamma = 0).
- A leaf's weight is -learning_rate G / (H + lambda), computed exactly (fractions of the
  configured floats) and rounded to the nearest multiple of 2^-16 (ties to even), clamped to
  [-LEAF_BOUND, LEAF_BOUND].

A tree is stored complete, of depth `max_depth` (`Tree`): a node that stopped splitting early
keeps a pass-through split (feature 0, bin n_bins - 1: every sample goes left) and each leaf
below it carries its weight, so that a tree's shape, and hence the circuit, is the same for
every tree.  `Tree.is_split` says which splits are real (the export prunes the rest).
"""
import math
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from hpc_zkfl.circuit.fixedpoint import (SIGMOID_SLOPE_BITS, FixedPointFormat, floor_shift,
                                         sigmoid_ref)

MARGIN_FORMAT = FixedPointFormat(frac_bits=16, total_bits=32)
GRAD_FRAC_BITS = 16                      # g: p16 - 2^16 y
HESS_FRAC_BITS = 32                      # h: p16 (2^16 - p16)
LEAF_BOUND = 16.0                        # |leaf weight| (real units)
MAX_BINS = 256
MAX_DEPTH = 8
SPLIT_EPS = 1e-6                         # XGBoost's kRtEps: a smaller loss change is no split


@dataclass(frozen=True)
class GBDTParams:
    """The boosting hyperparameters (config `[model]` with kind = "gbdt")."""

    n_trees: int = 10
    max_depth: int = 3
    n_bins: int = 16
    learning_rate: float = 0.3
    reg_lambda: float = 1.0
    gamma: float = 0.0
    min_child_weight: float = 1.0

    def __post_init__(self):
        for name in ("n_trees", "max_depth", "n_bins"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
                raise TypeError(f"{name} must be an int, got {v!r}")
        if not 1 <= self.max_depth <= MAX_DEPTH:
            raise ValueError(f"max_depth must be in [1, {MAX_DEPTH}], got {self.max_depth}")
        if not 2 <= self.n_bins <= MAX_BINS:
            raise ValueError(f"n_bins must be in [2, {MAX_BINS}], got {self.n_bins}")
        max_trees = int((2 ** (MARGIN_FORMAT.total_bits - 1 - MARGIN_FORMAT.frac_bits) - 1)
                        // LEAF_BOUND)
        if not 1 <= self.n_trees <= max_trees:
            raise ValueError(f"n_trees must be in [1, {max_trees}] (margins stay within "
                             f"their fixed-point range), got {self.n_trees}")
        for name in ("learning_rate", "reg_lambda", "gamma", "min_child_weight"):
            v = getattr(self, name)
            if isinstance(v, bool) or not (isinstance(v, (int, float)) and math.isfinite(v)):
                raise ValueError(f"{name} must be a finite number, got {v!r}")
        if not 0 < self.learning_rate <= 1:
            raise ValueError(f"learning_rate must be in (0, 1], got {self.learning_rate}")
        if self.reg_lambda < 0 or self.gamma < 0 or self.min_child_weight < 0:
            raise ValueError("lambda, gamma and min_child_weight must be >= 0")

    @property
    def bin_bits(self) -> int:
        """Bits of a bin index."""
        return (self.n_bins - 1).bit_length()

    @property
    def n_internal(self) -> int:
        return (1 << self.max_depth) - 1

    @property
    def n_leaves(self) -> int:
        return 1 << self.max_depth


# --- binning -------------------------------------------------------------------------------

@dataclass(frozen=True)
class BinEdges:
    """Public bin edges per feature (float32 values, increasing): bin(x) = #{edges <= x}.

    Chosen before round 1 from quantiles of the training features (`quantile_edges`), as the
    quantile sketches of XGBoost's `hist` method and of federated XGBoost do; every node and
    the root bin with the same edges.  float32 because XGBoost compares float32 features with
    float32 split conditions, so an exported tree routes every sample as here."""

    edges: tuple                     # per feature, a tuple of float32-representable floats
    n_bins: int

    def __post_init__(self):
        for f, e in enumerate(self.edges):
            arr = np.asarray(e, dtype=np.float64)
            if len(arr) > self.n_bins - 1:
                raise ValueError(f"feature {f}: {len(arr)} edges make more than {self.n_bins} bins")
            if not np.all(np.isfinite(arr)) or np.any(np.diff(arr) <= 0):
                raise ValueError(f"feature {f}: edges must be finite and increasing")
            if not np.array_equal(arr.astype(np.float32).astype(np.float64), arr):
                raise ValueError(f"feature {f}: edges must be float32 values")

    @property
    def n_features(self) -> int:
        return len(self.edges)

    def transform(self, X) -> np.ndarray:
        """Bins (int64, n x F) of the float rows X (compared as float32, as XGBoost does)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ValueError(f"expected rows of {self.n_features} features, got shape {X.shape}")
        if not np.all(np.isfinite(X)):
            raise ValueError("features must be finite (missing values are not supported)")
        with np.errstate(over="ignore"):            # beyond float32: +-inf, the end bins
            X32 = X.astype(np.float32)
        out = np.empty(X.shape, dtype=np.int64)
        for f, e in enumerate(self.edges):
            out[:, f] = np.searchsorted(np.asarray(e, dtype=np.float32), X32[:, f], side="right")
        return out

    def condition(self, feature: int, threshold_bin: int) -> float:
        """The float split condition of (feature, bin): x < condition goes left."""
        return float(self.edges[feature][threshold_bin])


def quantile_edges(X, n_bins: int) -> BinEdges:
    """Per feature, an edge above each of the 1/n_bins .. (n_bins-1)/n_bins quantiles of X:
    halfway (in float32) between the quantile and the next larger training value, so that a
    split falls between observed values rather than on one; a quantile that is the largest
    value gives none, and equal edges are kept once.  Features with few distinct values get
    fewer edges."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError("need a non-empty 2-d array of training features")
    if not np.all(np.isfinite(X)):
        raise ValueError("features must be finite")
    qs = np.arange(1, n_bins) / n_bins
    edges = []
    for f in range(X.shape[1]):
        col = X[:, f].astype(np.float32)
        values = np.unique(col)
        q = np.quantile(col.astype(np.float64), qs, method="lower").astype(np.float32)
        at = np.searchsorted(values, q, side="right")
        keep = at < len(values)
        mid = ((q[keep].astype(np.float64) + values[at[keep]].astype(np.float64)) / 2)
        cand = np.unique(mid.astype(np.float32))
        edges.append(tuple(float(v) for v in cand[cand > values[0]]))
    return BinEdges(tuple(edges), n_bins)


# --- trees ---------------------------------------------------------------------------------

@dataclass
class Tree:
    """A complete binary tree of depth D in heap order: internal node j has children 2j+1 and
    2j+2; leaf k (0 .. 2^D - 1) is node 2^D - 1 + k.  `threshold[j]` is a bin: left when
    bin_{feature[j]}(x) <= threshold[j]."""

    feature: np.ndarray              # (2^D - 1,) int64
    threshold: np.ndarray            # (2^D - 1,) int64
    is_split: np.ndarray             # (2^D - 1,) bool: a real split (else pass-through)
    leaf: np.ndarray                 # (2^D,) int64, fixed point (MARGIN_FORMAT)
    loss_change: np.ndarray = None   # (2^D - 1,) float64, for the export
    cover: np.ndarray = None         # (2^D - 1 + 2^D,) float64: hessian sums (real units)

    @classmethod
    def empty(cls, params: GBDTParams) -> "Tree":
        n = params.n_internal
        return cls(np.zeros(n, np.int64), np.full(n, params.n_bins - 1, np.int64),
                   np.zeros(n, bool), np.zeros(params.n_leaves, np.int64),
                   np.zeros(n), np.zeros(n + params.n_leaves))

    @property
    def depth(self) -> int:
        return len(self.leaf).bit_length() - 1

    def positions(self, bins, depth: int) -> np.ndarray:
        """Index (0 .. 2^depth - 1) of the node at `depth` that each binned row reaches."""
        pos = np.zeros(len(bins), dtype=np.int64)
        for _ in range(depth):
            j = (1 << _) - 1 + pos
            go_left = bins[np.arange(len(bins)), self.feature[j]] <= self.threshold[j]
            pos = 2 * pos + (~go_left).astype(np.int64)
        return pos

    def predict_margin(self, bins) -> np.ndarray:
        """The leaf weight (fixed point) each binned row reaches."""
        return self.leaf[self.positions(bins, self.depth)]

    def copy(self) -> "Tree":
        return Tree(*(None if a is None else np.array(a) for a in
                      (self.feature, self.threshold, self.is_split, self.leaf,
                       self.loss_change, self.cover)))

    def same_as(self, other: "Tree") -> bool:
        """Same splits and leaf weights (the statistics aside)."""
        return all(np.array_equal(a, b) for a, b in
                   ((self.feature, other.feature), (self.threshold, other.threshold),
                    (self.is_split, other.is_split), (self.leaf, other.leaf)))


# --- what a node computes ------------------------------------------------------------------

def gradients_ref(margins, y) -> tuple:
    """(g, h) of the logistic loss at the fixed-point margins (module docstring), int64."""
    m = MARGIN_FORMAT.check(margins, "margin")
    y = np.asarray(y, dtype=np.int64)
    if y.shape != m.shape or np.any((y != 0) & (y != 1)):
        raise ValueError("labels must be 0 or 1, one per margin")
    p16 = floor_shift(sigmoid_ref(m, MARGIN_FORMAT), SIGMOID_SLOPE_BITS)
    one = 1 << GRAD_FRAC_BITS
    return p16 - one * y, p16 * (one - p16)


def histograms_ref(bins, y, margins, tree: Tree, depth: int, n_bins: int) -> tuple:
    """(G, H): int64 arrays (2^depth, F, n_bins) of the exact sums of g and h per node at
    `depth` of `tree` (its splits above that depth), feature and bin, over all rows."""
    bins = np.asarray(bins, dtype=np.int64)
    n, F = bins.shape
    if n and (bins.min() < 0 or bins.max() >= n_bins):
        raise ValueError(f"bins must lie in [0, {n_bins})")
    g, h = gradients_ref(margins, y)
    pos = tree.positions(bins, depth)
    G = np.zeros((1 << depth, F, n_bins), dtype=np.int64)
    H = np.zeros_like(G)
    rows = np.repeat(pos, F)
    feats = np.tile(np.arange(F), n)
    np.add.at(G, (rows, feats, bins.reshape(-1)), np.repeat(g, F))
    np.add.at(H, (rows, feats, bins.reshape(-1)), np.repeat(h, F))
    return G, H


# --- what the root computes ----------------------------------------------------------------

def _real_g(G):
    return np.asarray(G, dtype=np.float64) / (1 << GRAD_FRAC_BITS)


def _real_h(H):
    return np.asarray(H, dtype=np.float64) / (1 << HESS_FRAC_BITS)


def leaf_weight(G: int, H: int, params: GBDTParams) -> int:
    """-learning_rate G / (H + lambda) in fixed point, exactly rounded (ties to even) and
    clamped to +-LEAF_BOUND; 0 where the hessian sum is below min_child_weight (as XGBoost's
    leaf weight)."""
    if Fraction(int(H), 1 << HESS_FRAC_BITS) < Fraction(params.min_child_weight):
        return 0
    num = -Fraction(params.learning_rate) * Fraction(int(G), 1 << GRAD_FRAC_BITS)
    den = Fraction(int(H), 1 << HESS_FRAC_BITS) + Fraction(params.reg_lambda)
    if den == 0:
        return 0
    w = round(num / den * MARGIN_FORMAT.one)            # Fraction rounds half to even
    bound = int(LEAF_BOUND * MARGIN_FORMAT.one)
    return int(min(max(w, -bound), bound))


def best_splits(G, H, params: GBDTParams, n_valid_bins=None) -> list:
    """Per node of the aggregated histograms (2^d, F, n_bins): (loss change, feature, bin),
    or None where no split qualifies.  n_valid_bins[f]: bins feature f really has (candidate
    thresholds 0 .. n_valid_bins[f] - 2); default n_bins."""
    G, H = np.asarray(G), np.asarray(H)
    n_nodes, F, B = G.shape
    lam, mcw = params.reg_lambda, params.min_child_weight
    gl, hl = np.cumsum(_real_g(G), axis=2), np.cumsum(_real_h(H), axis=2)
    # Exact totals (integers) so every feature sees the same node sums.
    gt = _real_g(G[:, 0, :].sum(axis=1))[:, None, None]
    ht = _real_h(H[:, 0, :].sum(axis=1))[:, None, None]
    gr, hr = gt - gl, ht - hl
    with np.errstate(divide="ignore", invalid="ignore"):
        change = gl * gl / (hl + lam) + gr * gr / (hr + lam) - gt * gt / (ht + lam)
    ok = (hl >= mcw) & (hr >= mcw) & np.isfinite(change)
    valid = np.full((F, B), True)
    valid[:, B - 1] = False
    if n_valid_bins is not None:
        valid &= np.arange(B)[None, :] < (np.asarray(n_valid_bins)[:, None] - 1)
    ok &= valid[None]
    change = np.where(ok, change, -np.inf)
    out = []
    for k in range(n_nodes):
        flat = int(np.argmax(change[k]))             # first maximum: (feature, bin) order
        best = float(change[k].reshape(-1)[flat])
        out.append((best, flat // B, flat % B) if best > SPLIT_EPS and best >= params.gamma
                   else None)
    return out


def grow_level(tree: Tree, depth: int, G, H, params: GBDTParams, open_nodes,
               n_valid_bins=None) -> list:
    """Set the splits at `depth` of `tree` from the aggregated histograms and return which
    nodes at depth + 1 are open.  At the last level (depth = max_depth - 1), or for a node
    that does not split, the leaf weights below are set from the sums."""
    G, H = np.asarray(G, dtype=np.int64), np.asarray(H, dtype=np.int64)
    D = params.max_depth
    splits = best_splits(G, H, params, n_valid_bins)
    child_open = [False] * (2 << depth)
    for k in range(1 << depth):
        j = (1 << depth) - 1 + k
        g_tot, h_tot = int(G[k, 0].sum()), int(H[k, 0].sum())
        if not open_nodes[k]:
            continue
        tree.cover[j] = h_tot / (1 << HESS_FRAC_BITS)
        split = splits[k]
        if split is None:
            _set_leaves(tree, depth, k, leaf_weight(g_tot, h_tot, params), h_tot, params)
            continue
        change, f, b = split
        tree.feature[j], tree.threshold[j], tree.is_split[j] = f, b, True
        tree.loss_change[j] = change
        g_left, h_left = int(G[k, f, :b + 1].sum()), int(H[k, f, :b + 1].sum())
        sides = ((g_left, h_left), (g_tot - g_left, h_tot - h_left))
        if depth == D - 1:
            for side, (gs, hs) in enumerate(sides):
                _set_leaves(tree, depth + 1, 2 * k + side, leaf_weight(gs, hs, params), hs,
                            params)
        else:
            child_open[2 * k] = child_open[2 * k + 1] = True
    return child_open


def _set_leaves(tree: Tree, depth: int, k: int, weight: int, h_sum: int, params) -> None:
    """Node k at `depth` becomes a leaf of weight `weight`: every leaf below carries it."""
    D = params.max_depth
    span = 1 << (D - depth)
    tree.leaf[k * span:(k + 1) * span] = weight
    j = (1 << depth) - 1 + k
    tree.cover[j] = h_sum / (1 << HESS_FRAC_BITS)


@dataclass
class Ensemble:
    """The trees grown so far, with the parameters and bin edges they were grown with."""

    params: GBDTParams
    edges: BinEdges
    trees: list = field(default_factory=list)

    def margins(self, bins) -> np.ndarray:
        """Fixed-point margins (int64) of binned rows: the sum of the trees' leaf weights."""
        m = np.zeros(len(bins), dtype=np.int64)
        for t in self.trees:
            m = m + t.predict_margin(bins)
        return MARGIN_FORMAT.check(m, "margin")

    def predict_margin(self, X) -> np.ndarray:
        """Real-valued margins of float rows X."""
        return MARGIN_FORMAT.decode(self.margins(self.edges.transform(X)))

    def predict(self, X) -> np.ndarray:
        """Classes (margin > 0, as XGBoost's probability > 0.5)."""
        return (self.margins(self.edges.transform(X)) > 0).astype(np.int64)

    def accuracy(self, X, y) -> float:
        return float(np.mean(self.predict(X) == np.asarray(y)))


def train_reference(bins_parts, y_parts, params: GBDTParams, edges: BinEdges,
                    on_level=None) -> Ensemble:
    """The integer algorithm, run centrally: `bins_parts`/`y_parts` are lists of parts (one
    part is a centralized run; one part per node is what a federation of honest nodes
    computes, and gives the same trees).  on_level(tree_index, depth, G, H) sees each
    level's aggregated histograms."""
    if len(bins_parts) != len(y_parts) or not bins_parts:
        raise ValueError("need as many label parts as bin parts, at least one")
    ens = Ensemble(params, edges)
    n_valid = [len(e) + 1 for e in edges.edges]
    margins = [np.zeros(len(b), dtype=np.int64) for b in bins_parts]
    for t in range(params.n_trees):
        tree = Tree.empty(params)
        open_nodes = [True]
        for d in range(params.max_depth):
            G = H = 0
            for bins, y, m in zip(bins_parts, y_parts, margins):
                g, h = histograms_ref(bins, y, m, tree, d, params.n_bins)
                G, H = G + g, H + h
            if on_level is not None:
                on_level(t, d, G, H)
            open_nodes = grow_level(tree, d, G, H, params, open_nodes, n_valid)
        ens.trees.append(tree)
        margins = [MARGIN_FORMAT.check(m + tree.predict_margin(b), "margin")
                   for m, b in zip(margins, bins_parts)]
    return ens


__all__ = ["BinEdges", "Ensemble", "GBDTParams", "GRAD_FRAC_BITS", "HESS_FRAC_BITS",
           "LEAF_BOUND", "MARGIN_FORMAT", "MAX_BINS", "MAX_DEPTH", "Tree", "best_splits",
           "gradients_ref", "grow_level", "histograms_ref", "leaf_weight", "quantile_edges",
           "train_reference"]
