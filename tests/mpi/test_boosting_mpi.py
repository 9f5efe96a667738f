"""Boosted trees under mpiexec: a run with a sign-flipping node equals the in-process run bit
for bit (rejections included), and a killed run resumed from its results file ends with the
same trees as an uninterrupted one."""
import numpy as np
import pytest

from hpc_zkfl.config import load_config
from hpc_zkfl.fl.protocol import run_in_process
from hpc_zkfl.io.results import RejectReason, load_results

from test_run_mpi import hpc_zkfl

pytestmark = pytest.mark.mpi

CONFIG = """
[run]
name = "gbdt_mpi"
seed = 2
rounds = 4

[data]
dataset = "breast_cancer"
partition = "shared"
samples_per_node = 6

[nodes]
count = 5

[model]
kind = "gbdt"
n_trees = 2
max_depth = 2
n_bins = 4
min_child_weight = 0.5

[attack]
kind = "sign_flip"
fraction = 0.2
{extra}
"""


def test_mpi_and_in_process_boosting_runs_are_identical(tmp_path):
    cfg = tmp_path / "gbdt.toml"
    cfg.write_text(CONFIG.format(extra=""))
    mpi, local = tmp_path / "mpi.h5", tmp_path / "local.h5"
    hpc_zkfl(["run", cfg, "--output", mpi], ranks=3)
    run_in_process(load_config(cfg), local)
    a, b = load_results(mpi), load_results(local)
    assert np.array_equal(a.models, b.models)
    assert np.array_equal(a.nodes["reject_reason"], b.nodes["reject_reason"])
    assert not a.nodes["accepted"][:, a.malicious].any()
    assert a.nodes["accepted"][:, ~a.malicious].all()
    assert a.nodes["reject_reason"][-1, a.malicious][0] == RejectReason.OUT_OF_SYNC
    exported = tmp_path / "model.json"
    proc = hpc_zkfl(["export", mpi, exported])
    assert "2 trees" in proc.stdout and exported.stat().st_size > 0


def test_a_killed_boosting_run_resumes_to_the_same_trees(tmp_path):
    cfg = tmp_path / "gbdt.toml"
    cfg.write_text(CONFIG.format(extra=""))
    killed = tmp_path / "killed.toml"
    killed.write_text(CONFIG.format(extra="[faults]\nkill_after_round = 1\n"))
    whole, part = tmp_path / "whole.h5", tmp_path / "part.h5"
    hpc_zkfl(["run", cfg, "--output", whole], ranks=2)
    proc = hpc_zkfl(["run", killed, "--output", part], ranks=2, check=False)
    assert proc.returncode != 0 and load_results(part).rounds["accuracy"].shape == (1,)
    hpc_zkfl(["run", cfg, "--output", part, "--resume"], ranks=2)
    a, b = load_results(whole), load_results(part)
    assert np.array_equal(a.models, b.models)
    assert np.array_equal(a.nodes["reject_reason"], b.nodes["reject_reason"])
