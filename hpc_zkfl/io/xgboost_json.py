"""Export a boosted-tree `Ensemble` to XGBoost's JSON model format (objective binary:logistic).

The document is the layout XGBoost 2.1 writes (`Booster.save_model("m.json")`), which XGBoost
2.x and 3.x load: a `learner` with `learner_model_param`, the objective and a `gbtree`
booster whose trees are flat per-node arrays (children, parents, split feature and condition,
default direction, leaf values in `split_conditions`, statistics).

- Base score 0.5: XGBoost starts every margin at logit(0.5) = 0, as our margins start.
- Splits: XGBoost sends x left when x < split_condition (features compared as float32); our
  split (f, bin b) sends x left when x < edges_f[b], a float32 value, so the condition is that
  edge and both route every sample alike.
- Pass-through nodes are pruned: a node that is not a real split becomes a leaf carrying the
  (uniform) weight of the leaves below it.  Nodes are numbered breadth first.
- Missing values go left (default_left); our features are never missing.
- Rounding: a leaf weight is a multiple of 2^-16 with |w| <= 16, exact in float32, but
  XGBoost adds the trees' weights in float32.  While sum_t |w_t(x)| <= 256 every partial sum
  is a multiple of 2^-16 of magnitude at most 2^8, exact in float32, so XGBoost's margin
  equals ours exactly (always so for at most 16 trees).  Beyond, each addition rounds by at
  most 2^-24 of its result: |error| <= n_trees * 2^-24 * sum_t |w_t(x)| to first order (the
  tests allow twice that, with 300 trees whose margins pass 2000, and equality below 256).
- Internal nodes' `base_weights` are 0: the reference keeps no weight for a node that
  splits, and XGBoost does not use them to predict.
"""
import json

import numpy as np

from hpc_zkfl.files import write_atomically
from hpc_zkfl.models.gbdt import LEAF_BOUND, MARGIN_FORMAT, BinEdges, Ensemble, Tree

FORMAT_VERSION = [2, 1, 0]           # the XGBoost release whose layout this is
OBJECTIVE = "binary:logistic"
BASE_SCORE = "5E-1"                  # probability 0.5: starting margin 0
NO_PARENT = 2147483647               # XGBoost's parent of the root (31 bits all set)


def export_xgboost_json(ensemble: Ensemble) -> dict:
    """The XGBoost JSON model of `ensemble` as a dict (`json.dump` writes the file).
    Raises TypeError for a value that is not an Ensemble of Trees, ValueError for trees that
    cannot be exported faithfully."""
    if not isinstance(ensemble, Ensemble):
        raise TypeError(f"expected an Ensemble, got {type(ensemble).__name__}")
    if not isinstance(ensemble.edges, BinEdges):
        raise TypeError(f"ensemble.edges must be BinEdges, got {type(ensemble.edges).__name__}")
    if not isinstance(ensemble.trees, (list, tuple)):
        raise TypeError(f"ensemble.trees must be a list, got {type(ensemble.trees).__name__}")
    trees = list(ensemble.trees)
    n_features = ensemble.edges.n_features
    exported = [_export_tree(t, i, ensemble.edges) for i, t in enumerate(trees)]
    return {
        "learner": {
            "attributes": {},
            "feature_names": [],
            "feature_types": [],
            "gradient_booster": {
                "model": {
                    "gbtree_model_param": {"num_parallel_tree": "1",
                                           "num_trees": str(len(trees))},
                    "iteration_indptr": list(range(len(trees) + 1)),
                    "tree_info": [0] * len(trees),
                    "trees": exported,
                },
                "name": "gbtree",
            },
            "learner_model_param": {
                "base_score": BASE_SCORE,
                "boost_from_average": "0",       # the base score is given, not estimated
                "num_class": "0",
                "num_feature": str(n_features),
                "num_target": "1",
            },
            "objective": {"name": OBJECTIVE, "reg_loss_param": {"scale_pos_weight": "1"}},
        },
        "version": list(FORMAT_VERSION),
    }


def save_xgboost_json(ensemble: Ensemble, path) -> None:
    """Write `export_xgboost_json(ensemble)` to `path`, atomically (a temporary file in the
    same folder, then renamed), so a reader never sees a partial model."""
    write_atomically(path, json.dumps(export_xgboost_json(ensemble), allow_nan=False))


def _stats(values, n_nodes: int, name: str, index: int) -> np.ndarray:
    """A tree's optional per-node statistics as float64 (zeros when absent)."""
    if values is None:
        return np.zeros(n_nodes)
    arr = np.asarray(values, dtype=np.float64)
    if arr.shape != (n_nodes,) or not np.all(np.isfinite(arr)):
        raise ValueError(f"tree {index}: {name} must be {n_nodes} finite numbers")
    return arr


def _check_tree(tree, index: int) -> int:
    """The depth of `tree`, after checking that its arrays fit together."""
    if not isinstance(tree, Tree):
        raise TypeError(f"tree {index}: expected a Tree, got {type(tree).__name__}")
    n_leaves = len(tree.leaf)
    depth = n_leaves.bit_length() - 1
    if n_leaves < 2 or n_leaves != 1 << depth:
        raise ValueError(f"tree {index}: {n_leaves} leaves is not a power of two >= 2")
    for name in ("feature", "threshold", "is_split"):
        if np.shape(getattr(tree, name)) != (n_leaves - 1,):
            raise ValueError(f"tree {index}: {name} must have {n_leaves - 1} entries")
    leaf = np.asarray(tree.leaf)
    if not np.issubdtype(leaf.dtype, np.integer):
        raise ValueError(f"tree {index}: leaf weights must be fixed-point integers")
    # Within the bound a weight has at most 21 significant bits: exact in float32.
    bound = int(LEAF_BOUND * MARGIN_FORMAT.one)
    if np.any(np.abs(leaf) > bound):
        raise ValueError(f"tree {index}: a leaf weight exceeds {LEAF_BOUND} in magnitude")
    return depth


def _export_tree(tree, index: int, edges: BinEdges) -> dict:
    """One tree in XGBoost's per-node arrays, pass-through nodes pruned, breadth first."""
    depth = _check_tree(tree, index)
    n_internal = len(tree.leaf) - 1
    loss_change = _stats(tree.loss_change, n_internal, "loss_change", index)
    cover = _stats(tree.cover, 2 * n_internal + 1, "cover", index)
    one = MARGIN_FORMAT.one
    nodes = []                       # (heap index, parent id, feature, condition or leaf value)
    queue = [(0, NO_PARENT)]
    left, right = [], []
    for heap, parent in queue:       # the queue grows while we walk it: breadth first
        node_id = len(nodes)
        if parent != NO_PARENT:
            # Children are queued left then right, so the left one is met first.
            if left[parent] == -1:
                left[parent] = node_id
            else:
                right[parent] = node_id
        left.append(-1)
        right.append(-1)
        if heap < n_internal and bool(tree.is_split[heap]):
            f, b = int(tree.feature[heap]), int(tree.threshold[heap])
            if not 0 <= f < edges.n_features:
                raise ValueError(f"tree {index}, node {heap}: feature {f} out of range "
                                 f"[0, {edges.n_features})")
            if not 0 <= b < len(edges.edges[f]):
                raise ValueError(f"tree {index}, node {heap}: threshold bin {b} of feature "
                                 f"{f} has no edge (feature {f} has {len(edges.edges[f])})")
            nodes.append((heap, parent, f, edges.condition(f, b)))
            queue.append((2 * heap + 1, node_id))
            queue.append((2 * heap + 2, node_id))
        else:
            nodes.append((heap, parent, 0, _subtree_weight(tree, heap, depth, index) / one))
    n = len(nodes)
    is_leaf = [left[i] == -1 for i in range(n)]
    return {
        "base_weights": [value if is_leaf[i] else 0.0 for i, (_, _, _, value) in
                         enumerate(nodes)],
        "categories": [],
        "categories_nodes": [],
        "categories_segments": [],
        "categories_sizes": [],
        "default_left": [1] * n,
        "id": index,
        "left_children": left,
        "loss_changes": [0.0 if is_leaf[i] else float(loss_change[heap])
                         for i, (heap, _, _, _) in enumerate(nodes)],
        "parents": [parent for _, parent, _, _ in nodes],
        "right_children": right,
        "split_conditions": [float(value) for _, _, _, value in nodes],
        "split_indices": [f for _, _, f, _ in nodes],
        "split_type": [0] * n,                    # numerical splits only
        "sum_hessian": [float(cover[heap]) for heap, _, _, _ in nodes],
        "tree_param": {"num_deleted": "0", "num_feature": str(edges.n_features),
                       "num_nodes": str(n), "size_leaf_vector": "1"},
    }


def _subtree_weight(tree, heap: int, depth: int, index: int) -> int:
    """The fixed-point weight of every leaf below heap node `heap` (they must agree)."""
    node_depth = (heap + 1).bit_length() - 1
    span = 1 << (depth - node_depth)
    first = (heap - ((1 << node_depth) - 1)) * span
    weights = np.asarray(tree.leaf[first:first + span])
    if np.any(weights != weights[0]):
        raise ValueError(f"tree {index}, node {heap}: not a real split but the leaves below "
                         "it differ, so it cannot be pruned to one leaf")
    return int(weights[0])


__all__ = ["FORMAT_VERSION", "export_xgboost_json", "save_xgboost_json"]
