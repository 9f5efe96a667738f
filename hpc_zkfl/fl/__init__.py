"""Federated learning without transport: datasets on the fixed-point grid, partitions over nodes,
per-round batches, pure aggregation (FedAvg), and the float torch yardstick.

`hpc_zkfl.fl.float_reference` needs torch; its names are re-exported here lazily, so importing
the data and aggregation layers does not import torch.
"""
import importlib

from .aggregation import fedavg, fedavg_fixed
from .data import (
    DATASETS,
    Dataset,
    FeatureRange,
    load_dataset,
    partition_dirichlet,
    partition_iid,
    partition_shared,
    sample_batch,
)

# The float yardstick's names (hpc_zkfl.fl.float_reference.__all__) resolve on first use.
__all__ = [
    "DATASETS",
    "Dataset",
    "FeatureRange",
    "fedavg",
    "fedavg_fixed",
    "load_dataset",
    "partition_dirichlet",
    "partition_iid",
    "partition_shared",
    "sample_batch",
]


def __getattr__(name):
    if not name.startswith("_") and name != "float_reference":
        float_reference = importlib.import_module(f"{__name__}.float_reference")
        if name in float_reference.__all__:
            return getattr(float_reference, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
