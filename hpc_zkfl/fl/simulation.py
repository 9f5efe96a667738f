"""FedAvg with the fixed-point node statement, in one process (no transport).

The same schedule as the float yardstick (`float_reference.run_float_fedavg`): rounds
t = 1 .. rounds, node i's batch sample_batch(partition[i], batch_size, seed, t, i), server step
FedAvg weighted by each node's dataset size.  Each node's update is `update_ref`, the integer
step its proof shows; with `prove_rounds` the updates of those rounds are also proven and the
root batch-verifies them (a failure raises: an honest run must verify).  The MPI runtime runs
the same step across ranks.

The model stays in the statement's fixed-point range: the root clamps it after each step (the
bounds that make the circuit's truncations unique assume it) and counts the clamped entries.
"""
import time

import numpy as np

from hpc_zkfl.circuit.fixedpoint import FixedPointRangeError
from hpc_zkfl.models import FeatureRange, NodeStatement, StatementSpec, predict_ref, update_ref

from .aggregation import fedavg_fixed
from .data import Dataset, sample_batch


def spec_for_dataset(dataset: Dataset, model: str, batch_size: int, learning_rate: float,
                     norm_bound: float, hidden: int = 0, **options) -> StatementSpec:
    """The node statement for a dataset's shape and feature grid."""
    fs = dataset.feature_spec
    return StatementSpec(model=model, n_features=dataset.n_features, n_classes=dataset.n_classes,
                         batch_size=batch_size, features=FeatureRange(fs.frac_bits, fs.lo, fs.hi),
                         learning_rate=learning_rate, norm_bound=norm_bound, hidden=hidden,
                         **options)


def accuracy_ref(spec: StatementSpec, w, X, y) -> float:
    return float(np.mean(predict_ref(spec, w, X) == np.asarray(y)))


def run_fixed_fedavg(dataset: Dataset, partition, spec: StatementSpec, w0, rounds: int, seed: int,
                     eval_every: int = 1, prove_rounds=(), backend="cpu", progress=None) -> dict:
    """Returns {"rounds", "test_accuracy" (as in run_float_fedavg), "w" (final, int64),
    "refused": [(round, node, reason)] for nodes whose update has no proof (a value out of
    range or the norm bound exceeded; they sit the round out), "clamped": entries of the
    model clamped to the format's range, "proofs": number proven and batch-verified,
    "prove_seconds", "verify_seconds"}."""
    if rounds < 0 or eval_every < 1:
        raise ValueError(f"need rounds >= 0 and eval_every >= 1, got {rounds}, {eval_every}")
    partition = [np.asarray(part, dtype=np.int64) for part in partition]
    if not partition:
        raise ValueError("the partition has no nodes")
    fmt = spec.fixed_point
    w = fmt.check(np.asarray(w0), what="initial model")
    if w.shape != (spec.n_params,):
        raise ValueError(f"the model has {spec.n_params} parameters, w0 has shape {w.shape}")
    prove_rounds = set(prove_rounds)
    statement = pk = None
    if prove_rounds:
        from hpc_zkfl.groth16 import batch_verify, prove, setup
        statement = NodeStatement(spec)
        pk = setup(statement.r1cs, backend=backend)
    X, y = dataset.X_train, dataset.y_train
    evaluated, acc = [0], [accuracy_ref(spec, w, dataset.X_test, dataset.y_test)]
    refused, clamped, n_proofs, t_prove, t_verify = [], 0, 0, 0.0, 0.0
    for t in range(1, rounds + 1):
        updates, weights, items = [], [], []
        for i, part in enumerate(partition):
            rows = sample_batch(part, spec.batch_size, seed, t, i)
            try:
                if t in prove_rounds:
                    t0 = time.perf_counter()
                    u, wit = statement.witness(t, i, w, X[rows], y[rows])
                    items.append((wit.public_signals, prove(pk, statement.r1cs, wit.witness,
                                                            backend=backend)))
                    t_prove += time.perf_counter() - t0
                else:
                    u = update_ref(spec, w, X[rows], y[rows])
            except FixedPointRangeError as exc:
                refused.append((t, i, str(exc)))
                continue
            updates.append(u)
            weights.append(len(part))
        if items:
            t0 = time.perf_counter()
            ok = batch_verify(pk.vk, items, backend=backend)
            t_verify += time.perf_counter() - t0
            if not all(ok):
                raise AssertionError(f"round {t}: honest proofs failed to verify: {ok}")
            n_proofs += len(items)
        if updates:
            w = w + fedavg_fixed(updates, weights)
            out = (w < fmt.lo) | (w > fmt.hi)
            clamped += int(out.sum())
            w = np.clip(w, fmt.lo, fmt.hi)
        if t % eval_every == 0 or t == rounds:
            evaluated.append(t)
            acc.append(accuracy_ref(spec, w, dataset.X_test, dataset.y_test))
        if progress is not None:
            progress(t, acc[-1] if evaluated[-1] == t else None)
    return {"rounds": np.asarray(evaluated, dtype=np.int64),
            "test_accuracy": np.asarray(acc, dtype=np.float64), "w": w, "refused": refused,
            "clamped": clamped, "proofs": n_proofs, "prove_seconds": t_prove,
            "verify_seconds": t_verify}


__all__ = ["accuracy_ref", "run_fixed_fedavg", "spec_for_dataset"]
