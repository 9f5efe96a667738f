"""The results file of a run (HDF5): written by the root rank round by round, resumable, and
read back for analysis.  docs/results-layout.md describes the layout.

A round is complete only once the root attribute `completed_rounds` counts it.  Each round is
written in this order: grow and fill the per-round, per-node and model datasets, flush, bump
`completed_rounds`, flush again.  So a file left by a killed job holds every complete round
intact and at most one partial round beyond `completed_rounds`, which readers ignore and
`ResultsWriter.open_for_resume` cuts off.  The int64 fixed-point models are the truth; float
views are derived (`Results.models_float`).
"""
import datetime
import json
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from hpc_zkfl.fl.record import RoundRecord
from hpc_zkfl.fl.verdicts import RejectReason

# package_versions stays importable from here (it is in __all__).
from hpc_zkfl.machine import git_commit, host_name, package_versions

log = logging.getLogger("hpc_zkfl.io")

FORMAT = "hpc-zkfl-results"
FORMAT_VERSION = 5              # 2: /rounds/idle and reason IDLE (partial participation);
                                # 3: reason UNREGISTERED, the proving key's digest;
                                # 4: reason SHARE_MISMATCH, [privacy] (two aggregators);
                                # 5: reason OUT_OF_SYNC, boosted trees

# Per-round phase times, stored as /rounds/time_<phase> (seconds).
PHASES = ("local", "prove", "gather", "verify", "aggregate", "evaluate", "write", "total")

ROUND_COUNTS = ("accepted", "rejected", "late", "idle")
ROUND_FLOATS = ("accuracy", "loss") + tuple(f"time_{p}" for p in PHASES)
ROUND_DATASETS = ("round",) + ROUND_COUNTS + ROUND_FLOATS
NODE_DATASETS = {                       # name -> dtype; shape (rounds, n_nodes)
    "accepted": np.bool_,
    "reject_reason": np.int8,
    "late": np.bool_,
    "proof_time": np.float64,
    "verify_time": np.float64,
    "update_norm": np.float64,
}

# Root attributes the writer owns; run metadata may not use these names.
_RESERVED = {"format", "format_version", "completed_rounds", "n_nodes", "n_params", "frac_bits",
             "resumes", "lost_ranks"}
# h5py's file locking (HDF5 >= 1.10.7): the writer locks so that a second writer is refused,
# "best-effort" so that file systems without locks (some Lustre/NFS mounts) still work.
_WRITE_LOCKING = "best-effort"


class ResultsFileError(Exception):
    """A results file that cannot be used; the one-line message names the file."""


class ResultsFileExistsError(ResultsFileError, FileExistsError):
    """create() on a file that exists, without overwrite=True."""


# The server's verdicts (hpc_zkfl.fl.verdicts), stored by code.
REASON_NAMES = tuple(r.name for r in sorted(RejectReason))      # index = code


# ---------------------------------------------------------------------------------------
# metadata


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def collect_metadata(config_toml: str, config: dict, backend: str, device: str, n_ranks: int,
                     hosts: list, seed: int = None) -> dict:
    """The run metadata that ResultsWriter.create stores as root attributes.

    config: the parsed configuration (RunConfig.as_dict()); the seed is its run.seed unless
    given.  hosts: the host name of every rank (duplicates are dropped, order kept; this
    host when empty).
    """
    if seed is None:
        seed = (config.get("run") or {}).get("seed", -1)
    return {
        "config_toml": config_toml,
        "config": config,
        "versions": package_versions(),
        "git_commit": git_commit(),
        "hosts": list(dict.fromkeys(str(h) for h in hosts)) or [host_name()],
        "n_ranks": int(n_ranks),
        "backend": str(backend),
        "device": str(device),
        "started_at": _now(),
        "seed": int(seed),
    }


def _set_attr(attrs, key: str, value) -> None:
    """Store a metadata value as an attribute: scalars as they are, lists of strings as string
    arrays, anything else (dicts, mixed lists) as JSON under "<key>_json"."""
    if value is None:
        return
    if isinstance(value, (bool, np.bool_, int, float, str, np.integer, np.floating)):
        attrs[key] = value
    elif isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        attrs[key] = np.array(value, dtype=h5py.string_dtype())
    else:
        attrs[key + "_json"] = json.dumps(value)


def _get_attrs(attrs) -> dict:
    """The inverse of _set_attr over all attributes: Python scalars, lists of str, dicts."""
    out = {}
    for key, value in attrs.items():
        if isinstance(value, bytes):
            value = value.decode("utf-8", "replace")
        if key.endswith("_json") and isinstance(value, str):
            out[key[:-len("_json")]] = json.loads(value)
            continue
        if isinstance(value, np.ndarray):
            value = [v.decode("utf-8", "replace") if isinstance(v, bytes) else
                     (v.item() if isinstance(v, np.generic) else v) for v in value.tolist()]
        elif isinstance(value, np.generic):
            value = value.item()
        out[key] = value
    return out


# ---------------------------------------------------------------------------------------
# opening files


def _h5open(path: Path, mode: str, locking):
    try:
        return h5py.File(path, mode, locking=locking)
    except ValueError as exc:
        if "locking" not in str(exc):           # an HDF5 too old for the locking option
            raise
        return h5py.File(path, mode)


def _is_hdf5(path: Path) -> bool:
    try:
        return bool(h5py.is_hdf5(path))
    except OSError:
        return False


def _open_error(path: Path, exc: Exception) -> ResultsFileError:
    if not path.exists():
        return ResultsFileError(f"{path}: no such file")
    if path.is_dir():
        return ResultsFileError(f"{path}: is a folder, not a results file")
    if not _is_hdf5(path):
        return ResultsFileError(f"{path}: not an HDF5 file")
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "lock" in reason:
        return ResultsFileError(f"{path}: in use by another process (is a run still writing "
                                f"it?): {reason}")
    return ResultsFileError(f"{path}: cannot open the HDF5 file ({reason})")


def _open_read(path: Path):
    """Open for reading, also while a writer in another process holds the file (hence no
    lock); a writer in this same process needs the same locking flags, hence the retry."""
    try:
        return _h5open(path, "r", False)
    except OSError as exc:
        if "locking" in str(exc):
            try:
                return _h5open(path, "r", _WRITE_LOCKING)
            except OSError as exc2:
                raise _open_error(path, exc2) from None
        raise _open_error(path, exc) from None


def _check_layout(f, path: Path) -> int:
    """completed_rounds of an open file after checking that it is a results file in one
    piece up to there; ResultsFileError otherwise."""
    if f.attrs.get("format") not in (FORMAT, FORMAT.encode()):
        raise ResultsFileError(f"{path}: not an hpc-zkfl results file (no format attribute "
                               f"{FORMAT!r})")
    fv = int(f.attrs.get("format_version", -1))
    if fv > FORMAT_VERSION:
        raise ResultsFileError(f"{path}: results format version {fv} is newer than this "
                               f"hpc-zkfl reads ({FORMAT_VERSION}); upgrade hpc-zkfl")
    for key in ("completed_rounds", "n_nodes", "n_params", "frac_bits"):
        if key not in f.attrs:
            raise ResultsFileError(f"{path}: damaged results file: no root attribute {key!r}")
    done = int(f.attrs["completed_rounds"])
    n, p = int(f.attrs["n_nodes"]), int(f.attrs["n_params"])
    expect = {f"rounds/{k}": (done,) for k in ROUND_DATASETS if k != "idle" or fv >= 2}
    expect.update({f"nodes/{k}": (done, n) for k in NODE_DATASETS})
    expect.update({"nodes/malicious": None, "nodes/attack": None, "models/w": (done + 1, p)})
    for name, need in expect.items():
        if not isinstance(f.get(name), h5py.Dataset):
            raise ResultsFileError(f"{path}: damaged results file: no dataset /{name}")
        if need is None:
            if f[name].shape != (n,):
                raise ResultsFileError(f"{path}: damaged results file: /{name} has shape "
                                       f"{f[name].shape}, expected ({n},)")
            continue
        shape = f[name].shape
        if len(shape) != len(need) or shape[0] < need[0] or shape[1:] != need[1:]:
            raise ResultsFileError(f"{path}: damaged results file: /{name} has shape {shape}, "
                                   f"but {done} rounds are marked complete")
    return done


# ---------------------------------------------------------------------------------------
# writing


def _chunk_rows(row_bytes: int) -> int:
    """Rows per chunk for datasets that grow by one row per round: about 64 KiB a chunk."""
    return max(1, min(1024, (1 << 16) // max(1, row_bytes)))


class ResultsWriter:
    """Writes one run's results file; only the root rank creates one.

    Use `create` for a new run and `open_for_resume` to continue one; then `append_round`
    once per round and `close` at the end (or use it as a context manager).
    """

    def __init__(self, f: h5py.File, path: Path):
        self._f = f
        self.path = path
        self.n_nodes = int(f.attrs["n_nodes"])
        self.n_params = int(f.attrs["n_params"])
        self.frac_bits = int(f.attrs["frac_bits"])

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def create(cls, path, metadata: dict, n_nodes: int, n_params: int, frac_bits: int,
               malicious, attack_kinds, w0, overwrite: bool = False) -> "ResultsWriter":
        """A new results file at path (parent folders created) holding the run metadata
        (root attributes, see collect_metadata), the nodes' roles and the start model w0."""
        path = Path(path)
        malicious = np.asarray(malicious)
        attack_kinds = [str(a) for a in attack_kinds]
        w0 = np.asarray(w0)
        if n_nodes < 1 or n_params < 1:
            raise ValueError(f"need n_nodes >= 1 and n_params >= 1, got {n_nodes}, {n_params}")
        if malicious.shape != (n_nodes,) or malicious.dtype != np.bool_:
            raise ValueError(f"malicious must be a bool array of shape ({n_nodes},), got "
                             f"{malicious.dtype} {malicious.shape}")
        if len(attack_kinds) != n_nodes:
            raise ValueError(f"attack_kinds must name {n_nodes} nodes, got {len(attack_kinds)}")
        _check_model(w0, n_params, "w0")
        clash = _RESERVED.intersection(metadata) | {k for k in metadata if k.endswith("_json")}
        if clash:
            raise ValueError(f"metadata may not use the reserved names {sorted(clash)}")
        if path.exists() and not overwrite:
            raise ResultsFileExistsError(f"{path} exists; pass --resume to continue that run, "
                                         f"or choose another output file")
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            f = _h5open(path, "w", _WRITE_LOCKING)
        except OSError as exc:
            raise ResultsFileError(f"{path}: cannot create the results file "
                                   f"({str(exc).splitlines()[0]})") from None
        try:
            cls._lay_out(f, metadata, n_nodes, n_params, frac_bits, malicious, attack_kinds, w0)
            f.flush()
        except BaseException:
            f.close()
            raise
        return cls(f, path)

    @staticmethod
    def _lay_out(f, metadata, n_nodes, n_params, frac_bits, malicious, attack_kinds, w0):
        f.attrs["format"] = FORMAT
        f.attrs["format_version"] = FORMAT_VERSION
        f.attrs["n_nodes"] = int(n_nodes)
        f.attrs["n_params"] = int(n_params)
        f.attrs["frac_bits"] = int(frac_bits)
        for key, value in metadata.items():
            _set_attr(f.attrs, key, value)

        rounds = f.create_group("rounds")
        for name in ROUND_DATASETS:
            integer = name == "round" or name in ROUND_COUNTS
            rounds.create_dataset(name, shape=(0,), maxshape=(None,), chunks=(1024,),
                                  dtype=np.int64 if integer else np.float64,
                                  fillvalue=-1 if integer else np.nan)
        for name in PHASES:
            rounds[f"time_{name}"].attrs["units"] = "s"

        nodes = f.create_group("nodes")
        for name, dtype in NODE_DATASETS.items():
            rows = _chunk_rows(n_nodes * np.dtype(dtype).itemsize)
            fill = {np.float64: np.nan, np.int8: -1}.get(dtype, False)
            nodes.create_dataset(name, shape=(0, n_nodes), maxshape=(None, n_nodes),
                                 chunks=(rows, n_nodes), dtype=dtype, fillvalue=fill)
        for name in ("proof_time", "verify_time"):
            nodes[name].attrs["units"] = "s"
        nodes["reject_reason"].attrs["reason_names"] = np.array(REASON_NAMES,
                                                                dtype=h5py.string_dtype())
        nodes["reject_reason"].attrs["codes_json"] = json.dumps(
            {str(int(r)): r.name for r in RejectReason})
        nodes.create_dataset("malicious", data=malicious)
        nodes.create_dataset("attack", data=np.array(attack_kinds, dtype=h5py.string_dtype()))

        models = f.create_group("models")
        # Models dominate the file's size; shuffle + gzip(1) shrinks small fixed-point
        # integers several times over at a few ms per round.
        w = models.create_dataset("w", shape=(1, n_params), maxshape=(None, n_params),
                                  chunks=(_chunk_rows(8 * n_params), n_params), dtype=np.int64,
                                  shuffle=True, compression="gzip", compression_opts=1)
        w[0] = w0
        w.attrs["frac_bits"] = int(frac_bits)
        f.attrs["completed_rounds"] = 0

    @classmethod
    def open_for_resume(cls, path, n_nodes: int = None, n_params: int = None,
                        metadata: dict = None) -> "ResultsWriter":
        """The writer of an existing results file, positioned after its last complete round.

        A partial round (data written beyond completed_rounds by a job killed mid-write) is
        cut off.  n_nodes / n_params, when given, must match the file's.  metadata (e.g.
        n_ranks, hosts of the resumed job) is recorded in the root attribute "resumes_json".
        """
        path = Path(path)
        # Checked first because HDF5 opens an empty file in r+ mode by writing a superblock
        # into it, which would turn any empty file into a (foreign) HDF5 file.
        if not path.is_file() or not _is_hdf5(path):
            raise _open_error(path, OSError("not an HDF5 file"))
        try:
            f = _h5open(path, "r+", _WRITE_LOCKING)
        except OSError as exc:
            raise _open_error(path, exc) from None
        try:
            done = _check_layout(f, path)
            if int(f.attrs["format_version"]) < FORMAT_VERSION:
                raise ResultsFileError(f"{path}: cannot resume: written in results format "
                                       f"{int(f.attrs['format_version'])}, this hpc-zkfl writes "
                                       f"{FORMAT_VERSION}; start a new run")
            for what, want in (("n_nodes", n_nodes), ("n_params", n_params)):
                have = int(f.attrs[what])
                if want is not None and int(want) != have:
                    raise ResultsFileError(f"{path}: cannot resume: the file has {what} = "
                                           f"{have}, this run {want}")
            cut = cls._truncate(f, done)
            if cut:
                log.warning("%s: dropped the partial round %d (written after round %d "
                            "completed)", path, done + 1, done)
            history = json.loads(f.attrs.get("resumes_json", "[]"))
            history.append({"at": _now(), "after_round": done, "dropped_partial_round": cut,
                            **(metadata or {})})
            f.attrs["resumes_json"] = json.dumps(history)
            f.flush()
        except ResultsFileError:
            f.close()
            raise
        except (OSError, KeyError, ValueError, TypeError) as exc:
            f.close()
            raise ResultsFileError(f"{path}: damaged results file ({exc})") from None
        return cls(f, path)

    @staticmethod
    def _truncate(f, done: int) -> bool:
        """Resize every growing dataset back to `done` complete rounds; True if any was longer."""
        cut = False
        names = [f"rounds/{k}" for k in ROUND_DATASETS] + [f"nodes/{k}" for k in NODE_DATASETS]
        for name, rows in [(n, done) for n in names] + [("models/w", done + 1)]:
            if f[name].shape[0] > rows:
                f[name].resize(rows, axis=0)
                cut = True
        return cut

    # -- state ----------------------------------------------------------------------------

    @property
    def completed_rounds(self) -> int:
        return int(self._file().attrs["completed_rounds"])

    def model(self, t: int) -> np.ndarray:
        """The global model after round t (t = 0: the start model), int64."""
        done = self.completed_rounds
        if not 0 <= t <= done:
            raise IndexError(f"round {t} is not complete ({done} complete rounds)")
        return self._file()["models/w"][t].astype(np.int64)

    def last_model(self) -> np.ndarray:
        """The global model after the last complete round (the start model before round 1)."""
        return self.model(self.completed_rounds)

    # -- writing --------------------------------------------------------------------------

    def append_round(self, rec: RoundRecord) -> None:
        """Write round rec.round, which must be completed_rounds + 1, and mark it complete."""
        f = self._file()
        done = self.completed_rounds
        n = self.n_nodes
        if int(rec.round) != done + 1:
            raise ValueError(f"{self.path}: round {rec.round} cannot follow {done} complete "
                             f"rounds; the next is round {done + 1}")
        per_node = {}
        for name, dtype in NODE_DATASETS.items():
            a = np.asarray(getattr(rec, name))
            if a.shape != (n,):
                raise ValueError(f"round {rec.round}: {name} has shape {a.shape}, expected ({n},)")
            if dtype is np.bool_ and a.dtype != np.bool_:
                raise ValueError(f"round {rec.round}: {name} must be bool, got {a.dtype}")
            per_node[name] = a.astype(dtype)
        reason = per_node["reject_reason"]
        if not np.array_equal(reason.astype(np.int64), np.asarray(rec.reject_reason)):
            raise ValueError(f"round {rec.round}: reject_reason does not fit int8")
        bad = ~np.isin(reason, [int(r) for r in RejectReason])
        if bad.any():
            raise ValueError(f"round {rec.round}: unknown reject_reason code(s) "
                             f"{sorted(set(reason[bad].tolist()))}")
        if not np.array_equal(per_node["accepted"], reason == RejectReason.ACCEPTED):
            raise ValueError(f"round {rec.round}: accepted disagrees with reject_reason == "
                             f"ACCEPTED for node(s) "
                             f"{np.flatnonzero(per_node['accepted'] != (reason == 0)).tolist()}")
        if not np.array_equal(per_node["late"], reason == RejectReason.LATE):
            raise ValueError(f"round {rec.round}: late disagrees with reject_reason == LATE")
        w = _check_model(rec.w, self.n_params, f"round {rec.round}: w")
        unknown = set(rec.times) - set(PHASES)
        if unknown:
            raise ValueError(f"round {rec.round}: unknown phase(s) in times: {sorted(unknown)}; "
                             f"expected some of {', '.join(PHASES)}")

        t = done + 1
        for name, a in per_node.items():
            ds = f["nodes"][name]
            ds.resize(t, axis=0)
            ds[done] = a
        ds = f["models/w"]
        ds.resize(t + 1, axis=0)
        ds[t] = w
        accepted = int(per_node["accepted"].sum())
        late = int(per_node["late"].sum())
        idle = int((reason == RejectReason.IDLE).sum())
        scalars = {"round": t, "accuracy": float(rec.accuracy), "loss": float(rec.loss),
                   "accepted": accepted, "late": late, "idle": idle,
                   "rejected": n - accepted - late - idle}
        times = {p: float(rec.times.get(p, math.nan)) for p in PHASES}
        for name in ROUND_DATASETS:
            f["rounds"][name].resize(t, axis=0)
        f.flush()
        # The write time covers the bulk of the work, so measure it now; the last few
        # scalars and the flushes after this point are not counted.
        now = time.perf_counter()
        if "write" not in rec.times and rec.write_started is not None:
            times["write"] = now - rec.write_started
        if "total" not in rec.times:
            if rec.round_started is not None:
                times["total"] = now - rec.round_started
            else:
                times["total"] = math.fsum(v for p, v in times.items()
                                           if p != "total" and not math.isnan(v))
        scalars.update({f"time_{p}": v for p, v in times.items()})
        for name, value in scalars.items():
            f["rounds"][name][done] = value
        f.flush()
        f.attrs["completed_rounds"] = t
        f.flush()

    def note_lost_ranks(self, lost: dict, after_round: int) -> None:
        """Record the worker ranks a run lost ({rank: why}) in the root attribute
        "lost_ranks_json", a list that every (resumed) run of the file appends to."""
        f = self._file()
        history = json.loads(f.attrs.get("lost_ranks_json", "[]"))
        history += [{"rank": int(r), "why": str(why), "after_round": int(after_round)}
                    for r, why in sorted(lost.items())]
        f.attrs["lost_ranks_json"] = json.dumps(history)
        f.flush()

    def flush(self) -> None:
        self._file().flush()

    def close(self) -> None:
        if self._f is not None:
            self._f.close()
            self._f = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _file(self) -> h5py.File:
        if self._f is None:
            raise ValueError(f"{self.path}: the results writer is closed")
        return self._f


def _check_model(w, n_params: int, what: str) -> np.ndarray:
    w = np.asarray(w)
    if w.shape != (n_params,):
        raise ValueError(f"{what} has shape {w.shape}, expected ({n_params},)")
    # The stored model is exact fixed point: a float array would hide a conversion upstream.
    if w.dtype.kind not in "iu":
        raise ValueError(f"{what} must be an integer (fixed-point) array, got {w.dtype}")
    if w.dtype.kind == "u" and w.size and int(w.max()) > np.iinfo(np.int64).max:
        raise ValueError(f"{what} has values beyond int64")
    return w.astype(np.int64)


# ---------------------------------------------------------------------------------------
# reading


@dataclass(frozen=True, eq=False)          # arrays: no element-wise __eq__
class Results:
    """The complete rounds of a results file, as numpy arrays.

    rounds: name -> (R,) array (ROUND_DATASETS); nodes: name -> (R, N) array (NODE_DATASETS);
    models: (R + 1, N_params) int64, row 0 the start model; malicious: (N,) bool;
    attack: (N,) str; reason_names: name of each reject_reason code (index = code);
    metadata: the root attributes (config and versions parsed from their JSON).
    """

    path: Path
    metadata: dict
    rounds: dict
    nodes: dict
    models: np.ndarray
    malicious: np.ndarray
    attack: np.ndarray
    reason_names: tuple
    frac_bits: int

    @property
    def name(self) -> str:
        return self.path.stem

    @property
    def n_rounds(self) -> int:
        return int(self.models.shape[0] - 1)

    @property
    def n_nodes(self) -> int:
        return int(self.malicious.shape[0])

    @property
    def config(self) -> dict:
        """The parsed run configuration ({} when the file has none)."""
        return self.metadata.get("config") or {}

    @property
    def models_float(self) -> np.ndarray:
        """The models in real units (float64), decoded from the fixed-point truth."""
        return self.models.astype(np.float64) / float(1 << self.frac_bits)


def load_results(path) -> Results:
    """The complete rounds of a results file (a partial round is ignored, not removed);
    ResultsFileError for a missing, non-HDF5, foreign or damaged file."""
    path = Path(path)
    f = _open_read(path)
    try:
        with f:
            done = _check_layout(f, path)
            rounds = {k: (f["rounds"][k][:done] if k in f["rounds"] else
                          np.zeros(done, dtype=np.int64))       # "idle": format 1 had none
                      for k in ROUND_DATASETS}
            nodes = {k: f["nodes"][k][:done] for k in NODE_DATASETS}
            attrs = f["nodes/reject_reason"].attrs
            names = tuple(str(n) for n in _get_attrs(attrs).get("reason_names", REASON_NAMES))
            return Results(
                path=path, metadata=_get_attrs(f.attrs), rounds=rounds, nodes=nodes,
                models=f["models/w"][:done + 1].astype(np.int64),
                malicious=f["nodes/malicious"][()].astype(bool),
                attack=np.array(f["nodes/attack"].asstr()[()], dtype=str),
                reason_names=names, frac_bits=int(f.attrs["frac_bits"]))
    except ResultsFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ResultsFileError(f"{path}: damaged results file ({reason})") from None


def file_sha256(path) -> str:
    """The SHA-256 of a file's bytes, hex (read in blocks: keys can be GBs)."""
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def check_resume_key(path, key_path) -> None:
    """Refuse (ResultsFileError, naming both digests) to resume the results file at `path`
    with a proving key file whose SHA-256 is not the one the run recorded: proofs made with
    another key would be judged against a key the file does not describe.  A missing key file
    is allowed (the resumed run makes a new one and records its digest)."""
    key_path = Path(key_path)
    if not key_path.exists():
        return
    f = _open_read(Path(path))
    try:
        recorded = f.attrs.get("proving_key_sha256")
    finally:
        f.close()
    if recorded is None:
        return                                  # a run without proofs
    recorded = recorded.decode() if isinstance(recorded, bytes) else str(recorded)
    # A resume that had to make a new key records that key's digest in its entry.
    for entry in load_results(path).metadata.get("resumes") or []:
        recorded = entry.get("proving_key_sha256") or recorded
    have = file_sha256(key_path)
    if have != recorded:
        raise ResultsFileError(f"{path}: the proving key {key_path} has sha256 "
                               f"{have}, but the run's key has sha256 {recorded}")


def read_config_toml(path) -> str:
    """The TOML text of the configuration a results file was written with."""
    path = Path(path)
    f = _open_read(path)
    try:
        with f:
            _check_layout(f, path)
            text = f.attrs.get("config_toml")
    except ResultsFileError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as exc:
        raise ResultsFileError(f"{path}: damaged results file ({exc})") from None
    if text is None:
        raise ResultsFileError(f"{path}: the results file holds no configuration (config_toml)")
    return text.decode() if isinstance(text, bytes) else str(text)


__all__ = ["FORMAT", "FORMAT_VERSION", "NODE_DATASETS", "PHASES", "REASON_NAMES",
           "ROUND_DATASETS", "RejectReason", "Results", "ResultsFileError",
           "ResultsFileExistsError", "ResultsWriter", "RoundRecord", "check_resume_key",
           "collect_metadata", "file_sha256", "load_results", "package_versions",
           "read_config_toml"]
