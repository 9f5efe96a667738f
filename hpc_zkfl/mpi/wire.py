"""The bytes that cross between ranks: one versioned frame format, decoded strictly.

No Python object ever crosses between ranks: mpi4py's lowercase calls (`bcast`, `gather`,
`send`, `recv`, ...) pickle, and unpickling runs code chosen by the sender.  Every message is
a frame of plain bytes, and its receiver checks its length against a cap for its kind before
it allocates anything, then decodes it field by field.  A frame that is not exactly what its
kind says raises `WireError` (a ValueError), never anything else.

Frame (little endian, docs/wire-format.md):

    magic b"ZKFW" | version u8 | kind u8 | reserved u16 = 0 | body length u64 | body

Kinds, who sends them and their bodies:

    HELLO     worker -> root  host name (UTF-8, printable, <= 255 bytes)
    SETUP     root -> worker  ranks on the worker's host u32 | key length u64 | proving key
    REGISTER  worker -> root  count u32 | count x (node id u32 | commitment, 32 bytes LE)
    ROUND     root -> worker  round u64 | n u32 | has_prev u8 | w (n x i64) [| w_prev]
    RESULT    worker -> root  round i64 | node slot i64 | NodeMessage bytes (fl.message)
    STOP      root -> worker  (empty)
    DONE      worker -> root  (empty)

Each kind travels under its own MPI tag (`TAGS`), so a receiver can wait for one kind and
check that the frame inside says the same.  This module has no MPI in it: it is tested
without mpiexec, and a hostile rank in the tests builds its frames with it.
"""
import enum
import struct

import numpy as np

VERSION = 1
MAGIC = b"ZKFW"
_HEAD = struct.Struct("<4sBBHQ")
HEADER_SIZE = _HEAD.size

MAX_HOST_NAME = 255
MAX_KEY_BYTES = 1 << 36             # 64 GiB: a 2^28 domain's key is well below
_ENVELOPE = struct.Struct("<qq")    # RESULT: the round the node computed for, its slot
_REGISTRATION = struct.Struct("<I32s")
_ROUND_HEAD = struct.Struct("<QIB")
_SETUP_HEAD = struct.Struct("<IQ")


class WireError(ValueError):
    """Bytes that are not the frame their receiver expects."""


class Kind(enum.IntEnum):
    HELLO = 1
    SETUP = 2
    REGISTER = 3
    ROUND = 4
    RESULT = 5
    STOP = 6
    DONE = 7


# MPI tag of each kind (apart from any tag an application might use for other traffic).
TAGS = {kind: 40 + int(kind) for kind in Kind}
KIND_OF_TAG = {tag: kind for kind, tag in TAGS.items()}


def frame(kind: Kind, body: bytes = b"") -> bytes:
    return _HEAD.pack(MAGIC, VERSION, int(kind), 0, len(body)) + bytes(body)


def max_frame_size(kind: Kind, n_nodes: int = 0, n_params: int = 0) -> int:
    """The largest frame of this kind a receiver accepts for a run of n_nodes nodes and
    n_params model parameters (checked against MPI's announced size before receiving)."""
    from hpc_zkfl.fl.message import NodeMessage
    body = {
        Kind.HELLO: MAX_HOST_NAME,
        Kind.SETUP: _SETUP_HEAD.size + MAX_KEY_BYTES,
        Kind.REGISTER: 4 + _REGISTRATION.size * n_nodes,
        Kind.ROUND: _ROUND_HEAD.size + 16 * n_params,
        Kind.RESULT: _ENVELOPE.size + NodeMessage.max_size(n_params),
        Kind.STOP: 0,
        Kind.DONE: 0,
    }[kind]
    return HEADER_SIZE + body


def unframe(data, kind: Kind, cap: int = None) -> memoryview:
    """The body of a frame that must be of `kind`; WireError for anything else."""
    data = memoryview(data if isinstance(data, bytes) else bytes(data))
    if cap is not None and len(data) > cap:
        raise WireError(f"{kind.name} frame of {len(data)} bytes is over its cap of {cap}")
    if len(data) < HEADER_SIZE:
        raise WireError(f"{len(data)} bytes are shorter than a frame header")
    magic, version, got, reserved, length = _HEAD.unpack_from(data)
    if magic != MAGIC:
        raise WireError("not a frame (bad magic)")
    if version != VERSION:
        raise WireError(f"frame version {version}; this hpc-zkfl speaks version {VERSION}")
    if got != kind:
        name = Kind(got).name if got in Kind._value2member_map_ else f"unknown kind {got}"
        raise WireError(f"expected a {kind.name} frame, got {name}")
    if reserved:
        raise WireError("frame header's reserved field is not zero")
    if length != len(data) - HEADER_SIZE:
        raise WireError(f"{kind.name} frame announces {length} body bytes but carries "
                        f"{len(data) - HEADER_SIZE}")
    return data[HEADER_SIZE:]


def _exact(body, size: int, what: str):
    if len(body) != size:
        raise WireError(f"{what}: {len(body)} bytes, expected {size}")


# -- HELLO ---------------------------------------------------------------------------------

def encode_hello(host: str) -> bytes:
    return frame(Kind.HELLO, host.encode("utf-8")[:MAX_HOST_NAME])


def decode_hello(data) -> str:
    body = unframe(data, Kind.HELLO, max_frame_size(Kind.HELLO))
    try:
        host = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        raise WireError("host name is not UTF-8") from None
    if not host or not host.isprintable():
        raise WireError("host name is empty or has control characters")
    return host


# -- SETUP ---------------------------------------------------------------------------------

def encode_setup(ranks_on_host: int, key: bytes) -> bytes:
    return frame(Kind.SETUP, _SETUP_HEAD.pack(ranks_on_host, len(key)) + bytes(key))


def setup_frame_size(key_size: int) -> int:
    """The exact size of a SETUP frame carrying a key of key_size bytes (a worker knows its
    circuit, hence the key's size, and refuses any other)."""
    return HEADER_SIZE + _SETUP_HEAD.size + key_size


def decode_setup(data, key_size: int = None) -> tuple:
    """(ranks on the receiver's host, proving key bytes; empty when proofs are off).  With
    key_size, a key of any other length is refused."""
    body = unframe(data, Kind.SETUP, max_frame_size(Kind.SETUP))
    if len(body) < _SETUP_HEAD.size:
        raise WireError("SETUP body shorter than its header")
    ranks, n_key = _SETUP_HEAD.unpack_from(body)
    if key_size is not None and n_key != key_size:
        raise WireError(f"SETUP carries a {n_key}-byte key; this run's key has {key_size}")
    _exact(body, _SETUP_HEAD.size + n_key, "SETUP")
    if ranks < 1:
        raise WireError("SETUP names no rank on this host")
    return int(ranks), bytes(body[_SETUP_HEAD.size:])


# -- REGISTER ------------------------------------------------------------------------------

def encode_register(commitments: dict) -> bytes:
    """commitments: node id -> dataset commitment (an int in [0, 2^256))."""
    body = struct.pack("<I", len(commitments)) + b"".join(
        _REGISTRATION.pack(node, int(c).to_bytes(32, "little"))
        for node, c in commitments.items())
    return frame(Kind.REGISTER, body)


def decode_register(data, n_nodes: int) -> list:
    """[(node id, commitment int)] in the order sent: the structure only; whether the sender
    hosts those nodes, and whether each commitment is a field element, is the root's call."""
    body = unframe(data, Kind.REGISTER, max_frame_size(Kind.REGISTER, n_nodes=n_nodes))
    if len(body) < 4:
        raise WireError("REGISTER body shorter than its count")
    (count,) = struct.unpack_from("<I", body)
    _exact(body, 4 + count * _REGISTRATION.size, "REGISTER")
    return [(node, int.from_bytes(c, "little"))
            for node, c in _REGISTRATION.iter_unpack(body[4:])]


# -- ROUND ---------------------------------------------------------------------------------

def encode_round(t: int, w, w_prev=None) -> bytes:
    w = np.ascontiguousarray(w, dtype="<i8")
    body = _ROUND_HEAD.pack(t, w.size, w_prev is not None) + w.tobytes()
    if w_prev is not None:
        prev = np.ascontiguousarray(w_prev, dtype="<i8")
        if prev.shape != w.shape:
            raise ValueError("w and w_prev differ in shape")
        body += prev.tobytes()
    return frame(Kind.ROUND, body)


def decode_round(data, n_params: int) -> tuple:
    """(t, w, w_prev or None) with w of exactly n_params int64 entries."""
    body = unframe(data, Kind.ROUND, max_frame_size(Kind.ROUND, n_params=n_params))
    if len(body) < _ROUND_HEAD.size:
        raise WireError("ROUND body shorter than its header")
    t, n, has_prev = _ROUND_HEAD.unpack_from(body)
    if n != n_params or has_prev not in (0, 1) or t < 1:
        raise WireError(f"ROUND for round {t} with {n} parameters (prev flag {has_prev}); "
                        f"this run has {n_params}")
    _exact(body, _ROUND_HEAD.size + 8 * n * (1 + has_prev), "ROUND")
    arrays = np.frombuffer(body, dtype="<i8", offset=_ROUND_HEAD.size).astype(np.int64)
    return int(t), arrays[:n].copy(), (arrays[n:].copy() if has_prev else None)


# -- RESULT --------------------------------------------------------------------------------

def encode_result(t: int, slot: int, message: bytes) -> bytes:
    return frame(Kind.RESULT, _ENVELOPE.pack(t, slot) + bytes(message))


def decode_result_envelope(data, n_params: int) -> tuple:
    """(round, node slot, the NodeMessage bytes, not yet parsed)."""
    body = unframe(data, Kind.RESULT, max_frame_size(Kind.RESULT, n_params=n_params))
    if len(body) < _ENVELOPE.size:
        raise WireError("RESULT body shorter than its envelope")
    t, slot = _ENVELOPE.unpack_from(body)
    return int(t), int(slot), bytes(body[_ENVELOPE.size:])


# -- STOP, DONE ----------------------------------------------------------------------------

def encode_empty(kind: Kind) -> bytes:
    return frame(kind)


def decode_empty(data, kind: Kind) -> None:
    _exact(unframe(data, kind, HEADER_SIZE), 0, kind.name)


__all__ = ["HEADER_SIZE", "KIND_OF_TAG", "Kind", "MAX_HOST_NAME", "TAGS", "VERSION", "WireError",
           "decode_empty", "decode_hello", "decode_register", "decode_result_envelope",
           "decode_round", "decode_setup", "encode_empty", "encode_hello", "encode_register",
           "encode_result", "encode_round", "encode_setup", "frame", "max_frame_size",
           "setup_frame_size", "unframe"]
