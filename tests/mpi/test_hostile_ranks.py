"""The trust boundary under mpiexec: an unmodified root beside a worker rank running modified
code (tests/mpi/hostile_rank.py), with -n 2 (the hostile rank is the only worker) and -n 3
(rank 1 honest, hosting nodes 0 and 2; rank 2 hostile, hosting nodes 1 and 3).

Each test asserts the root's verdicts, that the honest nodes are still accepted, that nothing
the hostile rank sent was executed, and that the run ends with its results file complete.
The last tests turn it round: a root running modified code (tests/mpi/hostile_root.py) beside
an honest worker."""
import ast
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hpc_zkfl.io.results import RejectReason, load_results

pytestmark = pytest.mark.mpi

HERE = Path(__file__).resolve().parent
HOSTILE = HERE / "hostile_rank.py"
RUNTIME = HERE.parents[1] / "hpc_zkfl" / "mpi" / "runtime.py"
MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent) + os.pathsep +
                       os.environ.get("PATH", ""))
ROUNDS = 2
HONEST, EVIL = [0, 2], [1, 3]                   # with -n 3

CONFIG = """
[run]
name = "hostile"
seed = 5
rounds = {rounds}
round_deadline_s = {deadline}

[data]
dataset = "breast_cancer"

[nodes]
count = 4

[model]
kind = "logistic"
batch_size = 8
learning_rate = 0.5
norm_bound = 4.0
data_binding = {binding}
"""


GBDT_CONFIG = """
[run]
name = "hostile_gbdt"
seed = 5
rounds = {rounds}
round_deadline_s = {deadline}

[data]
dataset = "breast_cancer"
partition = "shared"
samples_per_node = 6

[nodes]
count = 4

[model]
kind = "gbdt"
n_trees = 1
max_depth = {rounds}
n_bins = 4
"""


def launch(tmp_path, mode, ranks=3, deadline=60.0, binding=False, launcher_flags=(),
           config=CONFIG):
    """Run root (+ an honest worker with -n 3) + the hostile rank; (process, results, marker)."""
    if MPIEXEC is None:
        pytest.skip("mpiexec not found (pip install mpich)")
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(config.format(rounds=ROUNDS, deadline=deadline,
                                 binding="true" if binding else "false"))
    out, marker = tmp_path / "out.h5", tmp_path / "code-ran"
    cli = [sys.executable, "-m", "hpc_zkfl.cli", "run", str(cfg), "--output", str(out)]
    cmd = [MPIEXEC, *launcher_flags, "-n", "1", *cli]
    if ranks == 3:
        cmd += [":", "-n", "1", *cli]
    cmd += [":", "-n", "1", sys.executable, str(HOSTILE), mode, str(cfg), str(marker)]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, f"exit {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    res = load_results(out)                     # complete and closed, whatever happened
    assert res.rounds["accuracy"].shape == (ROUNDS,)
    return proc, res, marker


def lost(res) -> dict:
    """{rank: why} of the ranks the run lost (the results file records them: the launcher may
    drop the last lines of output when the root ends the job)."""
    return {e["rank"]: e["why"] for e in res.metadata.get("lost_ranks", [])}


def reasons(res, nodes):
    return {RejectReason(int(c)).name for c in np.unique(res.nodes["reject_reason"][:, nodes])}


def test_the_pickle_payload_is_live(tmp_path):
    """Control: the payload the hostile rank sends does run code when unpickled, so the tests
    below that find no trace of it show that the root never unpickled it."""
    sys.path.insert(0, str(HERE))
    try:
        import hostile_rank
    finally:
        sys.path.remove(str(HERE))
    marker = tmp_path / "code-ran"
    pickle.loads(pickle.dumps(hostile_rank.Payload(str(marker))))
    assert marker.read_text() == "code ran"


@pytest.mark.parametrize("ranks", [2, 3])
def test_pickle_in_place_of_hello(tmp_path, ranks):
    proc, res, marker = launch(tmp_path, "pickle_hello", ranks=ranks)
    assert not marker.exists()
    evil = EVIL if ranks == 3 else [0, 1, 2, 3]
    assert reasons(res, evil) == {"UNREGISTERED"}
    assert all("handshake" in res.metadata["registration"][str(i)] for i in evil)
    assert "handshake refused" in lost(res)[ranks - 1]
    if ranks == 3:
        assert res.nodes["accepted"][:, HONEST].all()
    else:
        assert np.array_equal(res.models[0], res.models[-1])   # nothing was aggregated


def test_pickles_and_forged_updates_after_a_valid_handshake(tmp_path):
    proc, res, marker = launch(tmp_path, "pickle_everywhere")
    assert not marker.exists()
    assert not res.nodes["accepted"][:, EVIL].any()
    assert reasons(res, EVIL) <= {"MALFORMED", "INVALID_PROOF"}
    assert res.nodes["accepted"][:, HONEST].all()
    assert "not DONE" in lost(res)[2]


def test_commitments_for_other_nodes_and_out_of_field(tmp_path):
    proc, res, _ = launch(tmp_path, "foreign_commitments", binding=True)
    assert res.nodes["accepted"][:, HONEST].all()         # their own registrations stand
    assert reasons(res, EVIL) == {"UNREGISTERED"}
    why = res.metadata["registration"]
    assert set(why) == {"1", "3"}
    assert "not an element of Fr" in why["1"] and "more than once" in why["3"]
    assert "does not host" in proc.stderr
    assert lost(res) == {}


def test_results_that_are_wrong_inside(tmp_path):
    proc, res, _ = launch(tmp_path, "wrong_types")
    assert reasons(res, EVIL) == {"MALFORMED"}              # NaN time; time beyond the round
    assert res.nodes["accepted"][:, HONEST].all()
    assert np.isfinite(res.nodes["proof_time"][:, HONEST]).all()
    assert lost(res) == {}


def test_forged_boosted_tree_histograms(tmp_path):
    """Boosted trees: gradient sums negated beside an honest proof fail verification, a negative
    hessian sum is malformed before any pairing, a RESULT longer than any update is dropped;
    the honest rank's nodes are accepted every round."""
    proc, res, _ = launch(tmp_path, "gbdt_forged", config=GBDT_CONFIG)
    assert res.nodes["accepted"][:, HONEST].all()
    assert reasons(res, [EVIL[0]]) == {"INVALID_PROOF"}
    assert reasons(res, [EVIL[1]]) == {"MALFORMED"}
    assert lost(res) == {}


def test_oversized_frames_cost_nothing(tmp_path):
    proc, res, _ = launch(tmp_path, "oversized")
    assert res.nodes["accepted"].all()                      # its honest messages still count
    assert "over its cap" in proc.stderr or "dropped unread" in proc.stderr
    assert lost(res) == {}


def test_a_silent_rank_costs_only_its_nodes(tmp_path):
    proc, res, _ = launch(tmp_path, "silent", deadline=12.0)
    assert reasons(res, EVIL) == {"LATE"}
    assert res.nodes["accepted"][:, HONEST].all()
    assert lost(res) == {2: "no DONE before the deadline"}


def test_garbage_in_place_of_done(tmp_path):
    proc, res, _ = launch(tmp_path, "garbage_done")
    assert res.nodes["accepted"].all()
    assert list(lost(res)) == [2] and "not DONE" in lost(res)[2]


def _hydra() -> bool:
    out = subprocess.run([MPIEXEC, "--version"], capture_output=True, text=True) if MPIEXEC \
        else None
    return out is not None and "HYDRA" in out.stdout


def test_a_rank_that_dies_mid_round(tmp_path):
    """By default a launcher ends the whole job when a rank dies (the run then resumes from
    its results file); MPICH's -disable-auto-cleanup lets the root carry on without it."""
    if not _hydra():
        pytest.skip("needs MPICH's mpiexec (hydra) for -disable-auto-cleanup")
    proc, res, _ = launch(tmp_path, "dies", deadline=12.0,
                          launcher_flags=("-disable-auto-cleanup",))
    assert reasons(res, EVIL) == {"LATE"}
    assert res.nodes["accepted"][:, HONEST].all()
    assert list(lost(res)) == [2]


# Every lowercase mpi4py call pickles its object; the runtime may use none of them.
_PICKLING_CALLS = {"bcast", "gather", "scatter", "allgather", "alltoall", "reduce",
                   "allreduce", "scan", "exscan", "send", "ssend", "bsend", "isend", "issend",
                   "ibsend", "recv", "irecv", "sendrecv", "mprobe", "improbe", "wait",
                   "waitall", "waitany", "test", "testall", "testany", "neighbor_allgather",
                   "neighbor_alltoall", "ibcast", "igather", "iscatter", "iallgather",
                   "ialltoall", "ireduce", "iallreduce"}


def test_the_runtime_makes_no_pickling_mpi_call():
    tree = ast.parse(RUNTIME.read_text())
    calls = {node.func.attr for node in ast.walk(tree)
             if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}
    assert not calls & _PICKLING_CALLS, sorted(calls & _PICKLING_CALLS)
    imports = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import,
                                                                          ast.ImportFrom))
               for alias in node.names}
    assert "pickle" not in imports
    assert "Isend" in calls and "Recv" in calls             # the check is looking at the calls


@pytest.mark.parametrize("mode", ["pickle_setup", "pickle_round"])
def test_a_worker_refuses_a_hostile_root(tmp_path, mode):
    """The other direction: a root that sends a pickle gets nothing executed on the worker,
    which ends the job with the reason."""
    if MPIEXEC is None:
        pytest.skip("mpiexec not found (pip install mpich)")
    cfg = tmp_path / "cfg.toml"
    cfg.write_text(CONFIG.format(rounds=ROUNDS, deadline=60.0, binding="false")
                   + "\n[aggregation]\nproofs = false\n")
    marker = tmp_path / "code-ran"
    cmd = [MPIEXEC, "-n", "1", sys.executable, str(HERE / "hostile_root.py"), mode, str(cfg),
           str(marker), ":", "-n", "1", sys.executable, "-m", "hpc_zkfl.cli", "run", str(cfg),
           "--output", str(tmp_path / "out.h5")]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, PYTHONUNBUFFERED="1"))
    assert proc.returncode != 0
    assert not marker.exists()
    assert "the root broke the protocol" in proc.stderr
    assert ("over its cap" if mode == "pickle_setup" else "bad magic") in proc.stderr
