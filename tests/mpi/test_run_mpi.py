"""Whole runs under mpiexec with 1, 2 and 4 ranks: rejections, resume, deadlines, malformed
messages, bad configurations.  Each run is a small binary logistic regression on
breast_cancer, so that a proof takes tens of milliseconds."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpc_zkfl.io.results import RejectReason, load_results

pytestmark = pytest.mark.mpi

MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent) + os.pathsep +
                       os.environ.get("PATH", ""))

BASE = """
[run]
name = "{name}"
seed = 3
rounds = {rounds}
round_deadline_s = {deadline}

[data]
dataset = "breast_cancer"

[nodes]
count = 6

[model]
kind = "logistic"
batch_size = 8
learning_rate = 0.5
norm_bound = 4.0

[attack]
kind = "{attack}"
fraction = {fraction}
{extra}
"""


def write_config(tmp_path, name, rounds=4, attack="sign_flip", fraction=0.34, deadline=120.0,
                 extra="", file=None):
    path = tmp_path / f"{file or name}.toml"
    path.write_text(BASE.format(name=name, rounds=rounds, attack=attack, fraction=fraction,
                                deadline=deadline, extra=extra))
    return path


def hpc_zkfl(args, ranks=None, timeout=300, check=True):
    """Run the CLI (under mpiexec -n ranks when ranks is given); CompletedProcess."""
    cmd = [sys.executable, "-m", "hpc_zkfl.cli", *map(str, args)]
    if ranks is not None:
        if MPIEXEC is None:
            pytest.skip("mpiexec not found (pip install mpich)")
        cmd = [MPIEXEC, "-n", str(ranks), *cmd]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.mark.parametrize("ranks", [1, 2, 4])
def test_run_rejects_every_poisoned_update(tmp_path, ranks):
    cfg = write_config(tmp_path, f"n{ranks}")
    out = tmp_path / "results.h5"
    proc = hpc_zkfl(["run", cfg, "--output", out], ranks=ranks)
    # Output is not a terminal here (as in a batch job): one log line a round.
    lines = [line for line in proc.stderr.splitlines() if "INFO round " in line]
    assert [line.split("INFO round ")[1].split(":")[0] for line in lines] == \
        ["1/4", "2/4", "3/4", "4/4"]
    assert all("accepted 4, rejected 2, late 0" in line for line in lines)
    res = load_results(out)
    malicious = res.malicious
    assert malicious.sum() == 2
    accepted = res.nodes["accepted"]
    assert accepted.shape == (4, 6)
    assert not accepted[:, malicious].any()                 # every poisoned update rejected
    assert accepted[:, ~malicious].all()                    # no honest node ever
    reasons = res.nodes["reject_reason"][:, malicious]
    assert (reasons == RejectReason.INVALID_PROOF).all()
    acc = res.rounds["accuracy"]
    assert acc[-1] > 0.8 and acc[-1] >= acc[0]
    assert res.metadata["n_ranks"] == ranks


def test_resume_ends_with_the_same_model(tmp_path):
    cfg = write_config(tmp_path, "resume", rounds=5)
    whole = tmp_path / "whole.h5"
    hpc_zkfl(["run", cfg, "--output", whole], ranks=2)
    killed_cfg = write_config(tmp_path, "resume", rounds=5, file="killed",
                              extra="[faults]\nkill_after_round = 2\n")
    part = tmp_path / "part.h5"
    proc = hpc_zkfl(["run", killed_cfg, "--output", part], ranks=2, check=False)
    assert proc.returncode != 0
    assert load_results(part).rounds["accuracy"].shape == (2,)
    other = write_config(tmp_path, "resume", rounds=5, file="other", attack="scaling")
    proc = hpc_zkfl(["run", other, "--output", part, "--resume"], check=False)
    assert proc.returncode == 2 and "attack.kind" in proc.stderr
    # Another key file in place of the run's: refused before any MPI work, naming both digests.
    key = part.with_suffix(".pk")
    good = key.read_bytes()
    key.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    proc = hpc_zkfl(["run", cfg, "--output", part, "--resume"], check=False)
    digest = load_results(part).metadata["proving_key_sha256"]
    assert proc.returncode == 2 and digest in proc.stderr and proc.stderr.count("sha256") == 2
    key.write_bytes(good)
    hpc_zkfl(["run", cfg, "--output", part, "--resume"], ranks=2)
    a, b = load_results(whole), load_results(part)
    assert np.array_equal(a.models, b.models)
    assert np.array_equal(a.nodes["accepted"], b.nodes["accepted"])


def test_slow_node_is_dropped_and_the_round_completes(tmp_path):
    cfg = write_config(tmp_path, "slow", rounds=2, attack="none", fraction=0.0, deadline=6.0,
                       extra="[faults]\nslow_nodes = [4]\nslow_seconds = 8.0\n")
    out = tmp_path / "slow.h5"
    hpc_zkfl(["run", cfg, "--output", out], ranks=3)
    res = load_results(out)
    late = res.nodes["late"]
    assert late[:, 4].all() and not late[:, [0, 1, 2, 3, 5]].any()
    assert (res.nodes["reject_reason"][:, 4] == RejectReason.LATE).all()
    assert res.rounds["accuracy"].shape == (2,)


def test_malformed_proofs_leave_the_root_running(tmp_path):
    cfg = write_config(tmp_path, "malformed", rounds=2, attack="malformed", fraction=0.5)
    out = tmp_path / "malformed.h5"
    hpc_zkfl(["run", cfg, "--output", out], ranks=2)
    res = load_results(out)
    bad = res.malicious
    assert not res.nodes["accepted"][:, bad].any() and res.nodes["accepted"][:, ~bad].all()
    assert set(np.unique(res.nodes["reject_reason"][:, bad])) <= {
        int(RejectReason.MALFORMED), int(RejectReason.INVALID_PROOF)}


@pytest.mark.parametrize("extra,message", [
    ("[run]\nroundz = 2\n", "unknown key"),
    ("[model]\nbatch_size = 0\n", "batch_size"),
])
def test_bad_config_fails_before_mpi(tmp_path, extra, message):
    path = tmp_path / "bad.toml"
    path.write_text(extra)
    proc = hpc_zkfl(["run", path], check=False)
    assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr


def test_existing_results_need_resume(tmp_path):
    cfg = write_config(tmp_path, "exists", rounds=1)
    out = tmp_path / "exists.h5"
    out.write_bytes(b"")
    proc = hpc_zkfl(["run", cfg, "--output", out], check=False)
    assert proc.returncode == 2 and "--resume" in proc.stderr


def test_report(tmp_path):
    cfg = write_config(tmp_path, "report", rounds=2)
    out = tmp_path / "report.h5"
    hpc_zkfl(["run", cfg, "--output", out], ranks=1)
    proc = hpc_zkfl(["report", out, "--out", tmp_path / "plots"])
    assert "report" in proc.stdout
    assert list((tmp_path / "plots").glob("*.png"))


def test_partial_participation(tmp_path):
    """per_round nodes take part each round; the others are IDLE, neither late nor rejected,
    and every participating poisoned update is still rejected."""
    cfg = write_config(tmp_path, "sampled", rounds=4, extra="[nodes]\ncount = 6\nper_round = 3\n")
    cfg.write_text(cfg.read_text().replace("[nodes]\ncount = 6\n\n", "", 1))
    out = tmp_path / "sampled.h5"
    hpc_zkfl(["run", cfg, "--output", out], ranks=2)
    res = load_results(out)
    reason = res.nodes["reject_reason"]
    idle = reason == RejectReason.IDLE
    assert (idle.sum(axis=1) == 3).all() and (res.rounds["idle"] == 3).all()
    assert (res.rounds["accepted"] + res.rounds["rejected"] + res.rounds["late"]
            + res.rounds["idle"] == 6).all()
    taking_part = ~idle
    mal = np.broadcast_to(res.malicious, reason.shape)
    assert (reason[taking_part & mal] == RejectReason.INVALID_PROOF).all()
    assert (reason[taking_part & ~mal] == RejectReason.ACCEPTED).all()
    assert len({tuple(row) for row in idle}) > 1            # a new draw each round


def test_in_process_and_mpi_runs_are_identical(tmp_path):
    """One round protocol, two transports: the same config run in this process (no MPI) and
    under mpiexec -n 3 gives bit-identical models and verdicts (proofs, data binding and an
    attack included; the two runs have different keys, which must not matter)."""
    from hpc_zkfl.config import load_config
    from hpc_zkfl.fl.protocol import run_in_process
    cfg = write_config(tmp_path, "same", rounds=2, extra="", file="same")
    cfg.write_text(cfg.read_text().replace("norm_bound = 4.0",
                                           "norm_bound = 4.0\ndata_binding = true"))
    here, there = tmp_path / "in_process.h5", tmp_path / "mpi.h5"
    run_in_process(load_config(cfg), here)
    hpc_zkfl(["run", cfg, "--output", there], ranks=3)
    a, b = load_results(here), load_results(there)
    assert a.rounds["accuracy"].shape == (2,)
    assert np.array_equal(a.models, b.models)
    for name in ("reject_reason", "accepted", "late"):
        assert np.array_equal(a.nodes[name], b.nodes[name]), name
    assert (a.nodes["reject_reason"][:, a.malicious] == RejectReason.INVALID_PROOF).all()
    assert a.metadata["proving_key_sha256"] != b.metadata["proving_key_sha256"]
