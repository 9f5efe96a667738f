"""FedAvg's weighted mean of the nodes' updates, in float and in fixed point: pure functions.

FedAvg (McMahan, Moore, Ramage, Hampson, Agüera y Arcas, "Communication-efficient learning of
deep networks from decentralized data", AISTATS 2017) averages the node updates weighted by each
node's number of local samples: sum_i n_i u_i / sum_i n_i.

An update is either one array or a mapping name -> array (as the models' parameter dicts); all
updates must have the same structure and shapes.

`fedavg_fixed` is the fixed-point version used on proven updates: the weighted sum is exact in
integers and the single rounding is a floor division by sum_i n_i (towards minus infinity, the
same rounding as the fixed-point truncation of the node statement).
"""
from collections.abc import Mapping, Sequence
from numbers import Integral, Real

import numpy as np

__all__ = ["fedavg", "fedavg_fixed"]

_INT64_MAX = np.iinfo(np.int64).max


def _check_weights(weights, n_updates: int, integral: bool) -> list:
    weights = list(weights)
    if len(weights) != n_updates:
        raise ValueError(f"{n_updates} updates but {len(weights)} weights")
    kind = Integral if integral else Real
    for i, w in enumerate(weights):
        if isinstance(w, (bool, np.bool_)) or not isinstance(w, kind):
            need = "an integer" if integral else "a real number"
            raise TypeError(f"weight {i} must be {need}, got {w!r}")
        if not w > 0 or (not integral and not np.isfinite(w)):
            raise ValueError(f"weight {i} must be positive and finite, got {w!r}")
    return [int(w) for w in weights] if integral else [float(w) for w in weights]


def _structured(updates, weights, combine):
    """Apply `combine(arrays, weights)` to single arrays, or key by key to mappings."""
    if not isinstance(updates, Sequence) or isinstance(updates, (str, bytes)):
        updates = list(updates)
    if len(updates) == 0:
        raise ValueError("no updates to aggregate")
    if isinstance(updates[0], Mapping):
        keys = list(updates[0])
        for i, u in enumerate(updates):
            if not isinstance(u, Mapping) or set(u) != set(keys):
                raise ValueError(f"update {i} does not have the keys {keys} of update 0")
        return {k: combine([u[k] for u in updates], weights, k) for k in keys}
    return combine(updates, weights, None)


def _arrays(updates, name):
    arrays = [np.asarray(u) for u in updates]
    for i, a in enumerate(arrays):
        if a.shape != arrays[0].shape:
            where = f" for {name!r}" if name is not None else ""
            raise ValueError(f"update {i} has shape {a.shape}{where}, update 0 has "
                             f"{arrays[0].shape}")
    return arrays


def fedavg(updates, weights):
    """sum_i w_i u_i / sum_i w_i for float updates, computed and returned in float64."""
    def combine(updates, weights, name):
        arrays = _arrays(updates, name)
        w = _check_weights(weights, len(arrays), integral=False)
        acc = np.zeros(arrays[0].shape, dtype=np.float64)
        for wi, a in zip(w, arrays):
            acc += wi * a.astype(np.float64)
        return acc / sum(w)

    return _structured(updates, weights, combine)


def _to_int64(a: np.ndarray, i: int, name) -> np.ndarray:
    if a.dtype.kind not in "iu":
        where = f" ({name!r})" if name is not None else ""
        raise TypeError(f"update {i}{where} must be an integer array, got dtype {a.dtype}")
    if a.dtype == np.uint64 and a.size and int(a.max()) > _INT64_MAX:
        raise ValueError(f"update {i} has values beyond int64")
    return a.astype(np.int64)


def fedavg_fixed(updates, weights):
    """floor(sum_i n_i u_i / sum_i n_i) for integer (fixed-point) updates, as int64.

    The weighted sum is exact: in int64 when max |u| * sum n_i fits (every partial sum is then
    bounded by it), otherwise in Python integers.  The result always fits int64, because a
    weighted average lies between the smallest and largest entry.  Rounding is a floor (towards
    minus infinity), so e.g. the average of -1 and 0 is -1.
    """
    def combine(updates, weights, name):
        arrays = [_to_int64(a, i, name) for i, a in enumerate(_arrays(updates, name))]
        w = _check_weights(weights, len(arrays), integral=True)
        total = sum(w)
        max_abs = max((max(int(a.max()), -int(a.min())) for a in arrays if a.size), default=0)
        if max_abs * total <= _INT64_MAX:
            acc = np.zeros(arrays[0].shape, dtype=np.int64)
            for wi, a in zip(w, arrays):
                acc += wi * a
            return np.floor_divide(acc, total)
        # Exact fallback; slow, but only reached with huge weights or values.
        acc = np.zeros(arrays[0].shape, dtype=object)
        for wi, a in zip(w, arrays):
            acc = acc + a.astype(object) * wi
        return np.asarray(acc // total, dtype=object).astype(np.int64)

    return _structured(updates, weights, combine)
