"""Fixed-point FedAvg with the node statement, against the float yardstick."""
import numpy as np
import pytest

from hpc_zkfl.fl import load_dataset, partition_iid
from hpc_zkfl.fl.float_reference import init_params, run_float_fedavg
from hpc_zkfl.fl.simulation import run_fixed_fedavg, spec_for_dataset
from hpc_zkfl.models import flatten, unflatten


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=3)


def start(ds, spec, seed):
    p0 = init_params(spec.model, ds.n_features, ds.n_classes, hidden=spec.hidden or None, seed=seed)
    w0 = spec.fixed_point.encode(flatten(spec, p0))
    return w0, unflatten(spec, spec.fixed_point.decode(w0))


@pytest.mark.parametrize("model,hidden", [("ovr", 0), ("mlp", 8)])
def test_fixed_fedavg_tracks_float_fedavg(digits, model, hidden):
    spec = spec_for_dataset(digits, model, 16, 0.5, 64.0, hidden=hidden)
    part = partition_iid(digits.n_train, 4, seed=3)
    w0, p0 = start(digits, spec, 3)
    fixed = run_fixed_fedavg(digits, part, spec, w0, 150, seed=3, eval_every=50)
    flt = run_float_fedavg(digits, part, model, p0, 150, 16, spec.effective_learning_rate, seed=3,
                           eval_every=50)
    assert fixed["rounds"].tolist() == flt["rounds"].tolist() == [0, 50, 100, 150]
    assert fixed["test_accuracy"][0] == pytest.approx(flt["test_accuracy"][0])
    assert fixed["test_accuracy"][-1] > 0.8            # ten classes: chance is 0.1
    assert np.abs(fixed["test_accuracy"] - flt["test_accuracy"]).max() <= 0.04
    assert fixed["refused"] == [] and fixed["clamped"] == 0


def test_proven_rounds_verify(digits):
    spec = spec_for_dataset(digits, "ovr", 4, 0.5, 64.0)
    part = partition_iid(digits.n_train, 3, seed=1)
    w0, _ = start(digits, spec, 1)
    proven = run_fixed_fedavg(digits, part, spec, w0, 2, seed=1, prove_rounds={2})
    plain = run_fixed_fedavg(digits, part, spec, w0, 2, seed=1)
    assert proven["proofs"] == 3 and proven["verify_seconds"] > 0
    assert np.array_equal(proven["w"], plain["w"])


def test_nodes_without_a_proof_sit_out(digits):
    spec = spec_for_dataset(digits, "ovr", 8, 0.5, 1e-3)          # no honest update fits
    part = partition_iid(digits.n_train, 2, seed=0)
    w0, _ = start(digits, spec, 0)
    out = run_fixed_fedavg(digits, part, spec, w0, 3, seed=0)
    assert len(out["refused"]) == 6 and "exceeds the bound" in out["refused"][0][2]
    assert np.array_equal(out["w"], w0)
    with pytest.raises(ValueError, match="parameters"):
        run_fixed_fedavg(digits, part, spec, w0[:-1], 1, seed=0)
