"""FedAvg with the fixed-point node statement, in one process: the round protocol
(`hpc_zkfl.fl.protocol.run_rounds`) over the in-process transport, for a dataset, partition and
statement given directly rather than through a run's configuration.

The same schedule as the float yardstick (`float_reference.run_float_fedavg`): rounds
t = 1 .. rounds, node i's batch sample_batch(partition[i], batch_size, seed, t, i), server step
FedAvg weighted by each node's dataset size.  Each node's update is `update_ref`, the integer
step its proof shows; with `prove_rounds` the updates of those rounds are also proven and the
root batch-verifies them (a failure raises: an honest run must verify).  The server clamps the
model to the statement's fixed-point range after each step (the bounds that make the circuit's
truncations unique assume it) and counts the clamped entries.
"""
import numpy as np

from hpc_zkfl.models import FeatureRange, NodeStatement, StatementSpec, predict_ref

from .data import Dataset


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
    "prove_seconds" (witness and proof), "verify_seconds"}.  progress(t, accuracy or None)
    after each round."""
    from dataclasses import replace

    from .attacks import Attack
    from .federation import Federation
    from .protocol import InProcess, RoundLog, RoundPlan, run_rounds
    from .server import ServerStep
    from .verdicts import RejectReason

    if rounds < 0 or eval_every < 1:
        raise ValueError(f"need rounds >= 0 and eval_every >= 1, got {rounds}, {eval_every}")
    partition = [np.asarray(part, dtype=np.int64) for part in partition]
    if not partition:
        raise ValueError("the partition has no nodes")
    w = spec.fixed_point.check(np.asarray(w0), what="initial model")
    if w.shape != (spec.n_params,):
        raise ValueError(f"the model has {spec.n_params} parameters, w0 has shape {w.shape}")
    unproven = Federation(dataset, partition, spec, seed, Attack("none", 0.0, {}),
                          np.zeros(len(partition), dtype=bool), proofs=False, backend=backend)
    proven = None
    prove_rounds = {t for t in prove_rounds if 1 <= t <= rounds}
    if prove_rounds:
        from hpc_zkfl.groth16 import setup
        statement = NodeStatement(spec)
        proven = replace(unproven, proofs=True, statement=statement,
                         proving_key=setup(statement.r1cs, backend=backend))

    evaluated, acc = [0], [accuracy_ref(spec, w, dataset.X_test, dataset.y_test)]
    totals = {"refused": [], "clamped": 0, "proofs": 0, "prove": 0.0, "verify": 0.0}

    def record(t, outcome):
        totals["refused"] += [(t, i, why) for i, why in sorted(outcome.refused.items())]
        totals["clamped"] += outcome.clamped
        if t in prove_rounds:
            bad = np.flatnonzero((outcome.reason != RejectReason.ACCEPTED)
                                 & (outcome.reason != RejectReason.NO_PROOF))
            if bad.size:
                raise AssertionError(f"round {t}: honest proofs of nodes {bad.tolist()} failed "
                                     f"to verify: {outcome.reason[bad].tolist()}")
            totals["proofs"] += int(outcome.accepted.sum())
        if t % eval_every == 0 or t == rounds:
            evaluated.append(t)
            acc.append(outcome.accuracy)
        if progress is not None:
            progress(t, acc[-1] if evaluated[-1] == t else None)

    log, w_prev, t = RoundLog(), None, 1
    while t <= rounds:              # runs of consecutive rounds, proven or not
        fed = proven if t in prove_rounds else unproven
        last = t
        while last + 1 <= rounds and ((last + 1) in prove_rounds) == (t in prove_rounds):
            last += 1
        plan = RoundPlan(t, last, ServerStep(), total=rounds, show_progress=False)
        w, w_prev = run_rounds(plan, fed, InProcess(fed), log, w, w_prev, on_round=record)
        if fed.proofs:
            for rec in log.records[-(last - t + 1):]:
                totals["prove"] += rec.times["local"] + rec.times["prove"]
                totals["verify"] += rec.times["verify"]
        t = last + 1
    return {"rounds": np.asarray(evaluated, dtype=np.int64),
            "test_accuracy": np.asarray(acc, dtype=np.float64), "w": w,
            "refused": totals["refused"], "clamped": totals["clamped"],
            "proofs": totals["proofs"], "prove_seconds": totals["prove"],
            "verify_seconds": totals["verify"]}


__all__ = ["accuracy_ref", "run_fixed_fedavg", "spec_for_dataset"]
