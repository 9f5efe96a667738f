"""The server's strategies, a registry over int64 fixed-point updates, as pure functions (no
transport, as in Flower): FedAvg, the product, applied to proven updates; and the robust
aggregators that defend without proofs, kept as baselines to compare against.

- `coordinate_median`, `trimmed_mean`: coordinate-wise median and trimmed mean (Yin, Chen,
  Ramchandran, Bartlett, "Byzantine-robust distributed learning: towards optimal statistical
  rates", ICML 2018, arXiv:1803.01498).
- `krum`: Krum and Multi-Krum (Blanchard, El Mhamdi, Guerraoui, Stainer, "Machine learning with
  adversaries: Byzantine tolerant gradient descent", NeurIPS 2017).
- `fedavg_weighted`: `hpc_zkfl.fl.aggregation.fedavg_fixed` under the name of this registry.

Every result is int64 and exact: a mean is the floor of the exact integer mean (towards minus
infinity, the rounding of the node statement's fixed-point truncation), never a float mean.

`aggregate(name, updates, weights, **options)` is the one entry point the runtime calls: it
returns (aggregate, indices of the updates used), the indices being all of them except for
Krum, which picks.
"""
import inspect
from numbers import Integral, Real

import numpy as np

from .aggregation import _to_int64, fedavg_fixed

_INT64_MAX = np.iinfo(np.int64).max

# The weighted FedAvg of proven updates is fedavg_fixed itself, not a second implementation.
fedavg_weighted = fedavg_fixed


def _stack(updates) -> np.ndarray:
    """The updates as one (n, P) int64 array; refuses empty, ragged, non-1-d or float input."""
    if isinstance(updates, np.ndarray) and updates.ndim == 2:
        updates = list(updates)
    elif not isinstance(updates, (list, tuple)):
        updates = list(updates)
    if len(updates) == 0:
        raise ValueError("no updates to aggregate")
    arrays = [np.asarray(u) for u in updates]
    for i, a in enumerate(arrays):
        if a.ndim != 1 or a.shape != arrays[0].shape:
            raise ValueError(f"update {i} has shape {a.shape}, update 0 has {arrays[0].shape}; "
                             "robust aggregators take flat (P,) updates of one length")
    return np.stack([_to_int64(a, i, None) for i, a in enumerate(arrays)])


def _floor_mean(rows) -> np.ndarray:
    """floor(sum(rows) / len(rows)) per coordinate, exact (fedavg_fixed with unit weights)."""
    return fedavg_fixed(list(rows), [1] * len(rows))


def coordinate_median(updates) -> np.ndarray:
    """The median of every coordinate over the n updates (Yin et al. 2018).

    For an odd n it is the middle value; for an even n, the floor of the mean of the two middle
    values, so the result stays an exact integer (e.g. the median of -1 and 0 is -1).
    """
    s = np.sort(_stack(updates), axis=0)
    n = len(s)
    if n % 2:
        return s[n // 2].copy()
    lo, hi = s[n // 2 - 1], s[n // 2]
    # floor((lo + hi) / 2) without forming lo + hi, which can overflow int64: with
    # lo = 2a + r, hi = 2b + q (arithmetic shifts floor), it is a + b + (r & q).
    return (lo >> 1) + (hi >> 1) + (lo & hi & 1)


def trimmed_mean(updates, trim_fraction: float) -> np.ndarray:
    """Coordinate-wise trimmed mean (Yin et al. 2018): per coordinate, drop the
    k = floor(trim_fraction * n) largest and k smallest values and take the floor of the mean
    of the n - 2k left.  trim_fraction must lie in [0, 0.5); 0 is the plain floor mean."""
    if isinstance(trim_fraction, (bool, np.bool_)) or not isinstance(trim_fraction, Real) \
            or not 0.0 <= trim_fraction < 0.5:
        raise ValueError(f"trim_fraction must be a number in [0, 0.5), got {trim_fraction!r}")
    s = np.sort(_stack(updates), axis=0)
    n = len(s)
    k = int(np.floor(trim_fraction * n))
    if n - 2 * k < 1:                       # k < n / 2 already; kept against float surprises
        raise ValueError(f"trimming {k} of {n} updates from each side leaves none")
    return _floor_mean(s[k:n - k])


def _check_count(value, name: str, lo: int, hi=None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f"[{lo}, {hi}]" if hi is not None else f">= {lo}"
        raise ValueError(f"{name} must be {bound}, got {value}")
    return int(value)


def _squared_distances(x: np.ndarray) -> np.ndarray:
    """(n, n) float64 squared Euclidean distances between the rows of the int64 array x.

    Differences are taken coordinate by coordinate (exact in int64 whenever the values' span
    fits, which fixed-point formats of at most 62 bits guarantee), then squared and summed in
    float64: relative error below about P * 2^-53, enough to rank.  The textbook expansion
    |a|^2 + |b|^2 - 2ab would cancel catastrophically for a tight cluster far from 0.
    """
    n = len(x)
    exact = n == 0 or int(x.max()) - int(x.min()) <= _INT64_MAX
    xf = None if exact else x.astype(np.float64)
    dist = np.empty((n, n), dtype=np.float64)
    for i in range(n):
        d = (x - x[i]).astype(np.float64) if exact else xf - xf[i]
        dist[i] = np.einsum("ij,ij->i", d, d)
    return dist


def krum_scores(updates, n_malicious: int) -> np.ndarray:
    """Krum's score of every update: the sum of its squared distances to its n - f - 2 nearest
    other updates (Blanchard et al. 2017, f = n_malicious).  Needs n >= 2f + 3."""
    return _krum_scores(_stack(updates), n_malicious)


def _krum_scores(x: np.ndarray, n_malicious) -> np.ndarray:
    n = len(x)
    f = _check_count(n_malicious, "n_malicious", 0)
    if n < 2 * f + 3:
        raise ValueError(f"Krum tolerates f Byzantine updates only among n >= 2f + 3; got "
                         f"n = {n} updates for f = {f} (at most f = {max((n - 3) // 2, 0)} "
                         f"for n = {n}{'' if n >= 3 else '; Krum needs at least 3 updates'})")
    dist = _squared_distances(x)
    np.fill_diagonal(dist, np.inf)          # an update is not its own neighbour
    return np.sort(dist, axis=1)[:, :n - f - 2].sum(axis=1)


def krum(updates, n_malicious: int, multi: int = 1):
    """Krum (multi = 1) or Multi-Krum (Blanchard et al. 2017): (aggregate, selected).

    Scores every update once (`krum_scores`), selects the `multi` lowest-scored updates (ties
    to the lower index), and returns the floor mean of those, exact in integers, together with
    their indices, ascending.  With multi = 1 the aggregate is the chosen update itself.
    """
    x = _stack(updates)
    scores = _krum_scores(x, n_malicious)
    m = _check_count(multi, "multi", 1, len(x))
    selected = np.sort(np.argsort(scores, kind="stable")[:m]).astype(np.int64)
    return _floor_mean(x[selected]), selected


# The registry.  Every entry has the signature (updates, weights, **options) ->
# (aggregate, selected indices); an entry's keyword parameters are its options, those without
# a default are required.  The robust aggregators are unweighted (as in their papers).

def _everyone(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64)


def _aggregate_fedavg(updates, weights):
    updates = list(updates)
    return fedavg_weighted(updates, weights), _everyone(len(updates))


def _aggregate_median(updates, weights):
    out = coordinate_median(updates)
    return out, _everyone(len(updates))


def _aggregate_trimmed_mean(updates, weights, *, trim_fraction=0.1):
    out = trimmed_mean(updates, trim_fraction)
    return out, _everyone(len(updates))


def _aggregate_krum(updates, weights, *, n_malicious, multi=1):
    return krum(updates, n_malicious, multi)


AGGREGATORS = {
    "fedavg": _aggregate_fedavg,
    "median": _aggregate_median,
    "trimmed_mean": _aggregate_trimmed_mean,
    "krum": _aggregate_krum,
}


def aggregator_options(name: str) -> dict:
    """Option name -> default (inspect.Parameter.empty when required) of aggregator `name`."""
    _check_name(name)
    params = list(inspect.signature(AGGREGATORS[name]).parameters.values())[2:]
    return {p.name: p.default for p in params}


def _check_name(name):
    if name not in AGGREGATORS:
        raise ValueError(f"unknown aggregator {name!r}; known: {', '.join(AGGREGATORS)}")


def aggregate(name: str, updates, weights=None, **options):
    """(aggregate, selected) by the aggregator `name` of AGGREGATORS.

    `weights` are the nodes' sample counts: required by "fedavg", ignored by the robust
    aggregators (checked for length when given).  `selected` holds the indices, into
    `updates`, of the updates the aggregate uses (all but Krum's rejects), ascending.
    """
    _check_name(name)
    known = aggregator_options(name)
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ValueError(f"aggregator {name!r} takes no option(s) {', '.join(unknown)}; its "
                         f"options: {', '.join(known) or 'none'}")
    missing = [k for k, v in known.items() if v is inspect.Parameter.empty and k not in options]
    if missing:
        raise ValueError(f"aggregator {name!r} needs option(s) {', '.join(missing)}")
    if not isinstance(updates, (list, tuple, np.ndarray)):
        updates = list(updates)
    if name == "fedavg":
        if weights is None:
            raise ValueError("aggregator 'fedavg' needs weights (the nodes' sample counts)")
    elif weights is not None and len(weights) != len(updates):
        raise ValueError(f"{len(updates)} updates but {len(weights)} weights")
    return AGGREGATORS[name](updates, weights, **options)


__all__ = ["AGGREGATORS", "aggregate", "aggregator_options", "coordinate_median",
           "fedavg_weighted", "krum", "krum_scores", "trimmed_mean"]
