"""Two-aggregator mode under mpiexec: the leader (rank 0), the helper (rank 1) and node ranks
give the in-process run's models and verdicts bit for bit, attacks on the protocol included;
fewer than 3 ranks are refused; a node rank refuses a tampered proving key before proving."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpc_zkfl.config import load_config
from hpc_zkfl.fl.protocol import run_in_process
from hpc_zkfl.io.results import RejectReason, load_results

pytestmark = pytest.mark.mpi

HERE = Path(__file__).resolve().parent
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent) + os.pathsep +
                       os.environ.get("PATH", ""))

PRIVATE = {"nodes": {"count": 5}, "privacy": {"mode": "two_aggregators"}}


def private_config(small_run_toml, tmp_path, kind="none"):
    attack = {"attack": {"kind": kind, "fraction": 0.4}} if kind != "none" else {}
    path = tmp_path / "p.toml"
    path.write_text(small_run_toml({**PRIVATE, **attack}))
    return path


def mpirun(args, ranks, timeout=600):
    if MPIEXEC is None:
        pytest.skip("mpiexec not found (pip install mpich)")
    cmd = [MPIEXEC, "-n", str(ranks), sys.executable, "-m", "hpc_zkfl.cli", *map(str, args)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("kind", ["sign_flip", "one_aggregator", "bad_share"])
def test_mpi_and_in_process_private_runs_are_identical(tmp_path, kind, small_run_toml):
    cfg_path = private_config(small_run_toml, tmp_path, kind)
    proc = mpirun(["run", cfg_path, "--output", tmp_path / "mpi.h5"], ranks=4)
    assert proc.returncode == 0, proc.stderr
    mpi = load_results(tmp_path / "mpi.h5")
    run_in_process(load_config(cfg_path), tmp_path / "local.h5")
    local = load_results(tmp_path / "local.h5")
    assert np.array_equal(mpi.nodes["reject_reason"], local.nodes["reject_reason"])
    assert np.array_equal(mpi.models, local.models)
    reasons = mpi.nodes["reject_reason"][:, mpi.malicious]
    expected = RejectReason.INVALID_PROOF if kind == "sign_flip" else \
        RejectReason.SHARE_MISMATCH
    assert (reasons == expected).all()
    assert (mpi.nodes["accepted"][:, ~mpi.malicious]).all()
    assert np.isnan(mpi.nodes["update_norm"]).all()
    # the key's phase 2: the leader's and the helper's contributions, the helper's step
    meta = mpi.metadata
    assert [c["name"] for c in meta["phase2_contributions"]] == ["leader (rank 0)",
                                                                 "helper (rank 1)"]
    assert len(meta["phase2_commitment_steps"]) == 1
    assert len(meta["phase2_transcript_hash"]) == 128


def test_fewer_than_three_ranks_are_refused(tmp_path, small_run_toml):
    cfg_path = private_config(small_run_toml, tmp_path)
    proc = mpirun(["run", cfg_path, "--output", tmp_path / "out.h5"], ranks=2, timeout=120)
    assert proc.returncode == 2
    assert "needs at least 3 MPI ranks" in proc.stderr
    assert not (tmp_path / "out.h5").exists()


@pytest.mark.parametrize("mode, says", [
    ("tampered_key", "proving key refused: h_query"),
    ("skip_helper", "the helper's contribution is not in the key's transcript"),
])
def test_a_node_rank_refuses_a_hostile_leaders_key(tmp_path, small_run_toml, mode, says):
    """A leader that changes the key after the ceremony, or that drops the helper's
    contribution and poses as the helper with a valid transcript of its own: the node rank
    refuses the key before any proof."""
    if MPIEXEC is None:
        pytest.skip("mpiexec not found (pip install mpich)")
    cfg_path = private_config(small_run_toml, tmp_path)
    cli = [sys.executable, "-m", "hpc_zkfl.cli", "run", str(cfg_path), "--output",
           str(tmp_path / "out.h5")]
    cmd = [MPIEXEC, "-n", "1", sys.executable, str(HERE / "hostile_root.py"), mode,
           str(cfg_path), "-", ":", "-n", "2", *cli]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))
    assert proc.returncode != 0
    assert says in proc.stderr, proc.stderr
