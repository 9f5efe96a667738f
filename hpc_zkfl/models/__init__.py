"""The node statements: for each model, the fixed-point reference step F and its circuit.

`StatementSpec` fixes a statement (model, data grid, fixed-point format, learning rate, norm
bound, data binding); `NodeStatement` compiles it; `update_ref` is the update an honest node
sends, which the circuit reproduces bit for bit.
"""
from .binding import DatasetTree, sample_leaf
from .spec import MODEL_NAMES, FeatureRange, StatementSpec, n_outputs, param_shapes
from .statement import (NodeStatement, NormBoundError, build_circuit, check_batch,
                        constraint_breakdown, flatten, logits_ref, one_hot, predict_ref, unflatten,
                        update_ref)

__all__ = ["DatasetTree", "FeatureRange", "MODEL_NAMES", "NodeStatement", "NormBoundError", "StatementSpec",
           "build_circuit", "check_batch", "constraint_breakdown", "flatten", "logits_ref",
           "n_outputs", "one_hot", "param_shapes", "predict_ref", "sample_leaf", "unflatten",
           "update_ref"]
