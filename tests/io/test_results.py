"""The HDF5 results file: exact round trip, completeness, resume after a partial round or a
killed writer, refusals, and one-line errors for files that are not results files."""
import json
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest

from hpc_zkfl.io.results import (NODE_DATASETS, PHASES, REASON_NAMES, ROUND_DATASETS,
                                 RejectReason, ResultsFileError, ResultsFileExistsError,
                                 ResultsWriter, RoundRecord, collect_metadata, load_results,
                                 read_config_toml)

N, P, FRAC = 5, 7, 16
TOML = '[run]\nname = "t"\nseed = 11\n\n[attack]\nkind = "sign_flip"\nfraction = 0.4\n'
CONFIG = {"run": {"name": "t", "seed": 11}, "attack": {"kind": "sign_flip", "fraction": 0.4}}
MALICIOUS = np.array([False, True, False, True, False])
KINDS = ["sign_flip" if m else "none" for m in MALICIOUS]


def metadata():
    return collect_metadata(TOML, CONFIG, "cpu", "test CPU", 3, ["host-a", "host-b", "host-a"])


def synthetic_round(t: int, gen: np.random.Generator, w_prev: np.ndarray) -> RoundRecord:
    """Round t of a run in which the malicious nodes are rejected and node 4 is late in even
    rounds."""
    reason = np.where(MALICIOUS, RejectReason.INVALID_PROOF, RejectReason.ACCEPTED).astype(np.int8)
    if t % 2 == 0:
        reason[4] = RejectReason.LATE
    late = reason == RejectReason.LATE
    proof = gen.uniform(0.5, 2.0, N)
    proof[late] = np.nan
    norm = gen.uniform(0, 4, N)
    norm[late] = np.nan
    return RoundRecord.build(
        round=t, accuracy=gen.uniform(), loss=gen.uniform(0, 3),
        accepted=reason == RejectReason.ACCEPTED, reject_reason=reason, late=late,
        proof_time=proof, verify_time=np.where(late, 0.0, gen.uniform(0, 0.01, N)),
        update_norm=norm, w=w_prev + gen.integers(-1000, 1000, P),
        times={p: float(gen.uniform(0, 5)) for p in PHASES if p not in ("write", "total")},
        write_started=time.perf_counter(), round_started=time.perf_counter() - 1.0)


def write_run(path, rounds: int, seed: int = 0):
    """A results file of `rounds` synthetic rounds; (w0, records)."""
    gen = np.random.default_rng(seed)
    w0 = gen.integers(-(1 << 20), 1 << 20, P)
    records, w = [], w0
    with ResultsWriter.create(path, metadata(), N, P, FRAC, MALICIOUS, KINDS, w0) as writer:
        for t in range(1, rounds + 1):
            rec = synthetic_round(t, gen, w)
            writer.append_round(rec)
            records.append(rec)
            w = rec.w
    return w0, records


def test_round_trip_is_exact(tmp_path):
    path = tmp_path / "sub" / "dir" / "run.h5"            # parent folders are created
    w0, records = write_run(path, rounds=4)
    res = load_results(path)

    assert res.n_rounds == 4 and res.n_nodes == N and res.frac_bits == FRAC
    assert res.name == "run"
    assert np.array_equal(res.models, np.stack([w0] + [r.w for r in records]))
    assert res.models.dtype == np.int64
    assert np.allclose(res.models_float, res.models / 2.0 ** FRAC)
    assert np.array_equal(res.malicious, MALICIOUS) and res.malicious.dtype == bool
    assert list(res.attack) == KINDS
    assert res.reason_names == REASON_NAMES
    assert REASON_NAMES[RejectReason.NOT_SELECTED] == "NOT_SELECTED"

    for name, dtype in NODE_DATASETS.items():
        got = res.nodes[name]
        assert got.shape == (4, N) and got.dtype == dtype
        want = np.stack([getattr(r, name) for r in records]).astype(dtype)
        assert np.array_equal(got, want, equal_nan=got.dtype.kind == "f"), name

    assert set(res.rounds) == set(ROUND_DATASETS)
    assert list(res.rounds["round"]) == [1, 2, 3, 4]
    assert np.array_equal(res.rounds["accuracy"], [r.accuracy for r in records])
    assert np.array_equal(res.rounds["loss"], [r.loss for r in records])
    assert list(res.rounds["accepted"]) == [3, 2, 3, 2]
    assert list(res.rounds["rejected"]) == [2, 2, 2, 2]
    assert list(res.rounds["late"]) == [0, 1, 0, 1]
    for p in ("local", "prove", "gather", "verify", "aggregate", "evaluate"):
        assert np.array_equal(res.rounds[f"time_{p}"], [r.times[p] for r in records])
    # measured by append_round from the perf_counter stamps
    assert (res.rounds["time_write"] >= 0).all() and (res.rounds["time_write"] < 1).all()
    assert (res.rounds["time_total"] >= 1.0).all()

    meta = res.metadata
    assert meta["config_toml"] == TOML and meta["config"] == CONFIG
    assert meta["seed"] == 11 and meta["n_ranks"] == 3
    assert meta["hosts"] == ["host-a", "host-b"]
    assert meta["backend"] == "cpu" and meta["device"] == "test CPU"
    assert {"hpc_zkfl", "numpy", "h5py"} <= set(meta["versions"])
    assert meta["versions"]["h5py"] == h5py.__version__
    assert isinstance(meta["git_commit"], str) and meta["git_commit"]
    assert meta["started_at"].endswith("+00:00")
    assert meta["completed_rounds"] == 4 and meta["n_nodes"] == N and meta["n_params"] == P
    assert read_config_toml(path) == TOML

    with h5py.File(path, "r") as f:                       # the layout docs/results-layout.md
        assert f["models/w"].attrs["frac_bits"] == FRAC   # promises
        assert json.loads(f["nodes/reject_reason"].attrs["codes_json"])["3"] == "LATE"
        assert f["nodes/accepted"].maxshape == (None, N)
        assert f["rounds/time_total"].attrs["units"] == "s"


def test_append_round_validates_and_writes_nothing_on_error(tmp_path):
    path = tmp_path / "run.h5"
    gen = np.random.default_rng(1)
    w0 = np.zeros(P, dtype=np.int64)
    with ResultsWriter.create(path, metadata(), N, P, FRAC, MALICIOUS, KINDS, w0) as writer:
        good = synthetic_round(1, gen, w0)
        bad = [
            (dict(round=2), "next is round 1"),
            (dict(accepted=good.accepted[:-1]), "accepted has shape"),
            (dict(w=good.w.astype(np.float64)), "integer"),
            (dict(w=good.w[:-1]), "w has shape"),
            (dict(accepted=~good.accepted), "accepted disagrees"),
            (dict(reject_reason=np.full(N, len(RejectReason), dtype=np.int8)),
             "unknown reject_reason"),
            (dict(times={"prove": 1.0, "proving": 2.0}), "unknown phase"),
            (dict(late=np.ones(N, dtype=np.int64)), "late must be bool"),
        ]
        for change, message in bad:
            rec = RoundRecord(**{**good.__dict__, **change})
            with pytest.raises(ValueError, match=message):
                writer.append_round(rec)
            assert writer.completed_rounds == 0
        writer.append_round(good)
        assert writer.completed_rounds == 1
        assert np.array_equal(writer.last_model(), good.w)
        assert np.array_equal(writer.model(0), w0)
        with pytest.raises(IndexError):
            writer.model(2)
    with pytest.raises(ValueError, match="closed"):
        writer.append_round(synthetic_round(2, gen, good.w))
    assert load_results(path).n_rounds == 1


def _write_partial_round(path, t):
    """Data of round t written as append_round would, but completed_rounds not bumped: what
    a job killed in the middle of append_round leaves behind."""
    with h5py.File(path, "r+") as f:
        for name in ROUND_DATASETS:
            f["rounds"][name].resize(t, axis=0)
            f["rounds"][name][t - 1] = 99
        for name in NODE_DATASETS:
            f["nodes"][name].resize(t, axis=0)
        f["models/w"].resize(t + 1, axis=0)
        f["models/w"][t] = 12345


def test_partial_round_is_ignored_and_cut_on_resume(tmp_path):
    path = tmp_path / "run.h5"
    w0, records = write_run(path, rounds=2, seed=5)
    _write_partial_round(path, 3)

    res = load_results(path)                               # readers see complete rounds only
    assert res.n_rounds == 2 and res.rounds["accuracy"].shape == (2,)
    assert res.nodes["accepted"].shape == (2, N)
    with h5py.File(path, "r") as f:                       # and leave the file alone
        assert f["rounds/accuracy"].shape == (3,)

    gen = np.random.default_rng(7)
    with ResultsWriter.open_for_resume(path, n_nodes=N, n_params=P,
                                       metadata={"n_ranks": 2}) as writer:
        assert writer.completed_rounds == 2
        assert np.array_equal(writer.last_model(), records[-1].w)
        with h5py.File(path, "r", locking="best-effort") as f:
            assert f["rounds/accuracy"].shape == (2,) and f["models/w"].shape == (3, P)
        rec3 = synthetic_round(3, gen, writer.last_model())
        writer.append_round(rec3)

    res = load_results(path)
    assert res.n_rounds == 3
    assert np.array_equal(res.models, np.stack([w0] + [r.w for r in records] + [rec3.w]))
    assert res.rounds["accuracy"][2] == rec3.accuracy
    assert list(res.rounds["round"]) == [1, 2, 3]
    assert res.metadata["n_ranks"] == 3                    # the original run's
    [resume] = res.metadata["resumes"]
    assert resume["after_round"] == 2 and resume["dropped_partial_round"] is True
    assert resume["n_ranks"] == 2


KILLED_WRITER = """
import os, sys, time
import numpy as np
sys.path.insert(0, {tests!r})
from test_results import write_run, synthetic_round
from hpc_zkfl.io.results import ResultsWriter
path = {path!r}
write_run(path, rounds=2, seed=3)
w = ResultsWriter.open_for_resume(path)
rec = synthetic_round(3, np.random.default_rng(0), w.last_model())
f = w._file()                         # half of round 3, flushed, then the job is killed
f["nodes/accepted"].resize(3, axis=0)
f["nodes/accepted"][2] = rec.accepted
f["models/w"].resize(4, axis=0)
f.flush()
os._exit(137)
"""


def test_resume_after_the_writer_was_killed(tmp_path):
    path = tmp_path / "killed.h5"
    script = KILLED_WRITER.format(tests=str(__import__("pathlib").Path(__file__).parent),
                                  path=str(path))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 137, proc.stderr
    assert load_results(path).n_rounds == 2
    with ResultsWriter.open_for_resume(path, n_nodes=N, n_params=P) as writer:
        assert writer.completed_rounds == 2
        writer.append_round(synthetic_round(3, np.random.default_rng(1), writer.last_model()))
    res = load_results(path)
    assert res.n_rounds == 3 and res.models.shape == (4, P)
    assert res.metadata["resumes"][-1]["dropped_partial_round"] is True


def test_reading_while_this_process_writes(tmp_path):
    # The root reads the models back (load_results) while its writer holds the file.
    path = tmp_path / "run.h5"
    write_run(path, rounds=1)
    with ResultsWriter.open_for_resume(path) as writer:
        assert load_results(path).n_rounds == writer.completed_rounds == 1
        assert read_config_toml(path) == TOML


HOLDING_WRITER = """
import sys
from hpc_zkfl.io.results import ResultsWriter
w = ResultsWriter.open_for_resume({path!r})
print("ready", flush=True)
sys.stdin.read()
w.close()
"""


def test_a_second_writer_is_refused_and_readers_are_not(tmp_path):
    path = tmp_path / "run.h5"
    write_run(path, rounds=2)
    holder = subprocess.Popen([sys.executable, "-c", HOLDING_WRITER.format(path=str(path))],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ready"
        with pytest.raises(ResultsFileError, match="in use by another process"):
            ResultsWriter.open_for_resume(path)
        assert load_results(path).n_rounds == 2            # report during a run
    finally:
        holder.communicate("", timeout=60)
    assert holder.returncode == 0


def test_create_refuses_to_overwrite(tmp_path):
    path = tmp_path / "run.h5"
    write_run(path, rounds=1)
    w0 = np.zeros(P, dtype=np.int64)
    with pytest.raises(ResultsFileExistsError, match="--resume") as err:
        ResultsWriter.create(path, metadata(), N, P, FRAC, MALICIOUS, KINDS, w0)
    assert str(path) in str(err.value)
    assert isinstance(err.value, ResultsFileError) and isinstance(err.value, FileExistsError)
    assert load_results(path).n_rounds == 1               # untouched
    ResultsWriter.create(path, metadata(), N, P, FRAC, MALICIOUS, KINDS, w0,
                         overwrite=True).close()
    assert load_results(path).n_rounds == 0


@pytest.mark.parametrize("bad", [
    dict(malicious=np.zeros(N - 1, dtype=bool)),
    dict(malicious=np.zeros(N, dtype=np.int64)),
    dict(attack_kinds=["none"] * (N + 1)),
    dict(w0=np.zeros(P, dtype=np.float64)),
    dict(metadata={"completed_rounds": 3}),
])
def test_create_checks_its_arguments(tmp_path, bad):
    args = dict(metadata=metadata(), n_nodes=N, n_params=P, frac_bits=FRAC, malicious=MALICIOUS,
                attack_kinds=KINDS, w0=np.zeros(P, dtype=np.int64))
    with pytest.raises(ValueError):
        ResultsWriter.create(tmp_path / "run.h5", **{**args, **bad})
    assert not (tmp_path / "run.h5").exists()


@pytest.mark.parametrize("what", ["n_nodes", "n_params"])
def test_resume_refuses_another_shape(tmp_path, what):
    path = tmp_path / "run.h5"
    write_run(path, rounds=1)
    with pytest.raises(ResultsFileError, match=f"{what} = {N if what == 'n_nodes' else P}"):
        ResultsWriter.open_for_resume(path, **{what: 99})
    with ResultsWriter.open_for_resume(path) as writer:   # not left locked or changed
        assert writer.completed_rounds == 1


def _not_hdf5(path):
    path.write_text("this is not HDF5\n")


def _empty(path):
    path.write_bytes(b"")


def _foreign_hdf5(path):
    with h5py.File(path, "w") as f:
        f["x"] = np.arange(3)


def _missing_group(path):
    write_run(path, rounds=1)
    with h5py.File(path, "r+") as f:
        del f["nodes"]


def _short_dataset(path):
    write_run(path, rounds=2)
    with h5py.File(path, "r+") as f:
        f["rounds/loss"].resize(1, axis=0)


def _truncated(path):
    write_run(path, rounds=2)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("make,message", [
    (None, "no such file"),
    (_not_hdf5, "not an HDF5 file"),
    (_empty, "not an HDF5 file"),
    (_foreign_hdf5, "not an hpc-zkfl results file"),
    (_missing_group, "no dataset /nodes/"),
    (_short_dataset, "/rounds/loss has shape (1,)"),
    (_truncated, ""),
])
def test_unusable_files_give_one_line_errors(tmp_path, make, message):
    path = tmp_path / "bad.h5"
    if make is not None:
        make(path)
    before = path.read_bytes() if path.exists() else None
    for call in (load_results, read_config_toml, ResultsWriter.open_for_resume):
        with pytest.raises(ResultsFileError) as err:
            call(path)
        text = str(err.value)
        assert text.startswith(str(path)) and "\n" not in text and message in text, text
    # HDF5 would write a superblock into an empty file opened for writing: not here
    assert (path.read_bytes() if path.exists() else None) == before


def test_folder_is_not_a_results_file(tmp_path):
    for call in (load_results, ResultsWriter.open_for_resume):
        with pytest.raises(ResultsFileError, match="folder"):
            call(tmp_path)


def test_collect_metadata():
    meta = collect_metadata(TOML, CONFIG, "gpu", "H100", 4, ["n1", "n2", "n1", "n2"], seed=5)
    assert meta["seed"] == 5 and meta["hosts"] == ["n1", "n2"] and meta["n_ranks"] == 4
    assert meta["versions"]["numpy"] == np.__version__
    assert meta["git_commit"] == "unknown" or len(meta["git_commit"].split("-")[0]) == 40
    assert collect_metadata(TOML, {}, "cpu", "x", 1, [])["seed"] == -1


def test_resume_refuses_another_proving_key(tmp_path):
    from hpc_zkfl.io.results import check_resume_key, file_sha256
    key = tmp_path / "run.pk"
    key.write_bytes(b"the run's key")
    meta = dict(metadata(), proving_key_sha256=file_sha256(key))
    path = tmp_path / "run.h5"
    ResultsWriter.create(path, meta, N, P, FRAC, MALICIOUS, KINDS, np.zeros(P, np.int64)).close()
    check_resume_key(path, key)                               # the same key
    check_resume_key(path, tmp_path / "missing.pk")           # none: a new setup is allowed
    key.write_bytes(b"another key")
    with pytest.raises(ResultsFileError) as err:
        check_resume_key(path, key)
    assert file_sha256(key) in str(err.value) and meta["proving_key_sha256"] in str(err.value)
    # A resume that made a new key records its digest; that key is then the run's.
    ResultsWriter.open_for_resume(path, metadata={"proving_key_sha256": file_sha256(key)}).close()
    check_resume_key(path, key)
