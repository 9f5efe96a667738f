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
    SETUP     root -> worker  ranks on the worker's host u32 | key length u64 | transcript
                              length u32 | proving key | its phase-2 transcript
    REGISTER  worker -> root  count u32 | count x (node id u32 | commitment, 32 bytes LE)
    ROUND     root -> worker  round u64 | n u32 | has_prev u8 | w (n x i64) [| w_prev]
    RESULT    worker -> root  round i64 | node slot i64 | NodeMessage bytes (fl.message)
    STOP      root -> worker  (empty)
    DONE      worker -> root  (empty)

Two-aggregator mode ([privacy] mode = "two_aggregators", fl/private.py) adds the helper, rank
1, which the node ranks write to as they write to the leader (rank 0):

    SHARE     worker -> helper  round i64 | node slot i64 | ShareMessage bytes (helper's)
    CHECK     leader -> helper  round u64 | count u32 | count x node id u32
    VERDICT   helper -> leader  round u64 | count u32 | count x (node u32 | has binding u8 |
                                binding 32 bytes | reason length u16 | reason, UTF-8)
    SUM       leader -> helper  round u64 | count u32 | count x (node u32 | weight u64) |
                                evidence count u32 | per accused node: node u32 | the share
                                and blinding it sent the leader ((P + 1) x 32 bytes, BE)
    TOTAL     helper -> leader  round u64 | ok u8 | n u32 | n x Fr element (32 bytes, BE) or,
                                when not ok, the reason (UTF-8)

    CEREMONY    leader -> helper  key length u64 | transcript length u32 | key | transcript
                                  (the leader's contribution, fl/ceremony.py)
    CONTRIBUTED helper -> leader  the same, after the helper's contribution
    ATTEST      helper -> worker  the helper's contribution hash (64) | step hash (64)

In that mode RESULT carries the leader's ShareMessage instead of a NodeMessage.

Each kind travels under its own MPI tag (`TAGS`), so a receiver can wait for one kind and
check that the frame inside says the same.  This module has no MPI in it: it is tested
without mpiexec, and a hostile rank in the tests builds its frames with it.
"""
import enum
import struct

import numpy as np

from hpc_zkfl.fl.ceremony import MAX_TRANSCRIPT_BYTES

VERSION = 1
MAGIC = b"ZKFW"
_HEAD = struct.Struct("<4sBBHQ")
HEADER_SIZE = _HEAD.size

MAX_HOST_NAME = 255
MAX_KEY_BYTES = 1 << 36             # 64 GiB: a 2^28 domain's key is well below
_ENVELOPE = struct.Struct("<qq")    # RESULT: the round the node computed for, its slot
_REGISTRATION = struct.Struct("<I32s")
_ROUND_HEAD = struct.Struct("<QIB")
_SETUP_HEAD = struct.Struct("<IQI")
_KEYED_HEAD = struct.Struct("<QI")
ATTEST_BYTES = 128
_COUNTED = struct.Struct("<QI")     # round, count
_VERDICT_ENTRY = struct.Struct("<IB32sH")
_SUM_ENTRY = struct.Struct("<IQ")
_TOTAL_HEAD = struct.Struct("<QBI")
MAX_REASON = 200                    # bytes of a VERDICT or TOTAL reason


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
    SHARE = 8
    CHECK = 9
    VERDICT = 10
    SUM = 11
    TOTAL = 12
    CEREMONY = 13
    CONTRIBUTED = 14
    ATTEST = 15


# MPI tag of each kind (apart from any tag an application might use for other traffic).
TAGS = {kind: 40 + int(kind) for kind in Kind}
KIND_OF_TAG = {tag: kind for kind, tag in TAGS.items()}


def frame(kind: Kind, body: bytes = b"") -> bytes:
    return _HEAD.pack(MAGIC, VERSION, int(kind), 0, len(body)) + bytes(body)


def max_frame_size(kind: Kind, n_nodes: int = 0, n_params: int = 0,
                   private: bool = False) -> int:
    """The largest frame of this kind a receiver accepts for a run of n_nodes nodes and
    n_params model parameters (checked against MPI's announced size before receiving);
    private: two-aggregator mode, where RESULT carries a share message."""
    from hpc_zkfl.fl.message import NodeMessage
    from hpc_zkfl.fl.private import ShareMessage
    message = (ShareMessage if private else NodeMessage).max_size(n_params)
    body = {
        Kind.HELLO: MAX_HOST_NAME,
        Kind.SETUP: _SETUP_HEAD.size + MAX_KEY_BYTES + MAX_TRANSCRIPT_BYTES,
        Kind.CEREMONY: _KEYED_HEAD.size + MAX_KEY_BYTES + MAX_TRANSCRIPT_BYTES,
        Kind.CONTRIBUTED: _KEYED_HEAD.size + MAX_KEY_BYTES + MAX_TRANSCRIPT_BYTES,
        Kind.ATTEST: ATTEST_BYTES,
        Kind.REGISTER: 4 + _REGISTRATION.size * n_nodes,
        Kind.ROUND: _ROUND_HEAD.size + 16 * n_params,
        Kind.RESULT: _ENVELOPE.size + message,
        Kind.STOP: 0,
        Kind.DONE: 0,
        Kind.SHARE: _ENVELOPE.size + ShareMessage.max_size(n_params),
        Kind.CHECK: _COUNTED.size + 4 * n_nodes,
        Kind.VERDICT: _COUNTED.size + (_VERDICT_ENTRY.size + MAX_REASON) * n_nodes,
        Kind.SUM: _COUNTED.size + _SUM_ENTRY.size * n_nodes + 4
                  + (4 + 32 * (n_params + 1)) * n_nodes,
        Kind.TOTAL: _TOTAL_HEAD.size + max(32 * n_params, MAX_REASON),
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

def encode_setup(ranks_on_host: int, key: bytes, transcript: bytes = b"") -> bytes:
    return frame(Kind.SETUP, _SETUP_HEAD.pack(ranks_on_host, len(key), len(transcript))
                 + bytes(key) + bytes(transcript))


def setup_frame_size(key_size: int) -> int:
    """The largest SETUP frame carrying a key of key_size bytes (a worker knows its circuit,
    hence the key's size, and refuses any other) and its transcript (none without a key)."""
    return HEADER_SIZE + _SETUP_HEAD.size + key_size + (MAX_TRANSCRIPT_BYTES if key_size else 0)


def decode_setup(data, key_size: int = None) -> tuple:
    """(ranks on the receiver's host, proving key bytes, transcript bytes; both empty when
    proofs are off).  With key_size, a key of any other length is refused."""
    body = unframe(data, Kind.SETUP, max_frame_size(Kind.SETUP))
    if len(body) < _SETUP_HEAD.size:
        raise WireError("SETUP body shorter than its header")
    ranks, n_key, n_transcript = _SETUP_HEAD.unpack_from(body)
    if key_size is not None and n_key != key_size:
        raise WireError(f"SETUP carries a {n_key}-byte key; this run's key has {key_size}")
    if n_transcript > (MAX_TRANSCRIPT_BYTES if n_key else 0):
        raise WireError(f"SETUP carries a {n_transcript}-byte transcript"
                        f"{', over its cap' if n_key else ' without a key'}")
    _exact(body, _SETUP_HEAD.size + n_key + n_transcript, "SETUP")
    if ranks < 1:
        raise WireError("SETUP names no rank on this host")
    start = _SETUP_HEAD.size
    return (int(ranks), bytes(body[start:start + n_key]),
            bytes(body[start + n_key:start + n_key + n_transcript]))


# -- CEREMONY, CONTRIBUTED, ATTEST ---------------------------------------------------------

def encode_keyed(kind: Kind, key: bytes, transcript: bytes) -> bytes:
    """A CEREMONY or CONTRIBUTED frame: a proving key and its phase-2 transcript."""
    return frame(kind, _KEYED_HEAD.pack(len(key), len(transcript)) + bytes(key)
                 + bytes(transcript))


def keyed_frame_size(key_size: int) -> int:
    return HEADER_SIZE + _KEYED_HEAD.size + key_size + MAX_TRANSCRIPT_BYTES


def decode_keyed(data, kind: Kind, key_size: int) -> tuple:
    """(key bytes, transcript bytes) of a CEREMONY or CONTRIBUTED frame whose key must be
    key_size bytes."""
    body = unframe(data, kind, keyed_frame_size(key_size))
    if len(body) < _KEYED_HEAD.size:
        raise WireError(f"{kind.name} body shorter than its header")
    n_key, n_transcript = _KEYED_HEAD.unpack_from(body)
    if n_key != key_size:
        raise WireError(f"{kind.name} carries a {n_key}-byte key; this run's key has {key_size}")
    if n_transcript > MAX_TRANSCRIPT_BYTES:
        raise WireError(f"{kind.name} carries a {n_transcript}-byte transcript, over its cap")
    _exact(body, _KEYED_HEAD.size + n_key + n_transcript, kind.name)
    start = _KEYED_HEAD.size
    return bytes(body[start:start + n_key]), bytes(body[start + n_key:])


def encode_attest(attestation: bytes) -> bytes:
    if len(attestation) != ATTEST_BYTES:
        raise ValueError(f"an attestation is {ATTEST_BYTES} bytes")
    return frame(Kind.ATTEST, attestation)


def decode_attest(data) -> bytes:
    body = unframe(data, Kind.ATTEST, max_frame_size(Kind.ATTEST))
    _exact(body, ATTEST_BYTES, "ATTEST")
    return bytes(body)


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


def decode_result_envelope(data, n_params: int, private: bool = False) -> tuple:
    """(round, node slot, the NodeMessage (private: ShareMessage) bytes, not yet parsed)."""
    body = unframe(data, Kind.RESULT, max_frame_size(Kind.RESULT, n_params=n_params,
                                                     private=private))
    if len(body) < _ENVELOPE.size:
        raise WireError("RESULT body shorter than its envelope")
    t, slot = _ENVELOPE.unpack_from(body)
    return int(t), int(slot), bytes(body[_ENVELOPE.size:])


# -- SHARE (as RESULT, to the helper) ------------------------------------------------------

def encode_share(t: int, slot: int, message: bytes) -> bytes:
    return frame(Kind.SHARE, _ENVELOPE.pack(t, slot) + bytes(message))


def decode_share_envelope(data, n_params: int) -> tuple:
    """(round, node slot, the ShareMessage bytes, not yet parsed)."""
    body = unframe(data, Kind.SHARE, max_frame_size(Kind.SHARE, n_params=n_params))
    if len(body) < _ENVELOPE.size:
        raise WireError("SHARE body shorter than its envelope")
    t, slot = _ENVELOPE.unpack_from(body)
    return int(t), int(slot), bytes(body[_ENVELOPE.size:])


# -- CHECK, VERDICT, SUM, TOTAL: leader and helper -----------------------------------------

def _counted(body, entry_size: int, what: str, n_nodes: int):
    if len(body) < _COUNTED.size:
        raise WireError(f"{what} body shorter than its header")
    t, count = _COUNTED.unpack_from(body)
    if count > n_nodes or t < 1:
        raise WireError(f"{what} for round {t} names {count} nodes; this run has {n_nodes}")
    return int(t), int(count)


def encode_check(t: int, nodes) -> bytes:
    nodes = [int(i) for i in nodes]
    return frame(Kind.CHECK, _COUNTED.pack(t, len(nodes)) + struct.pack(f"<{len(nodes)}I",
                                                                          *nodes))


def decode_check(data, n_nodes: int) -> tuple:
    """(round, [node ids]), each id < n_nodes and listed once."""
    body = unframe(data, Kind.CHECK, max_frame_size(Kind.CHECK, n_nodes=n_nodes))
    t, count = _counted(body, 4, "CHECK", n_nodes)
    _exact(body, _COUNTED.size + 4 * count, "CHECK")
    nodes = list(struct.unpack_from(f"<{count}I", body, _COUNTED.size))
    if any(i >= n_nodes for i in nodes) or len(set(nodes)) != len(nodes):
        raise WireError("CHECK names a node twice or one outside the run")
    return t, nodes


def encode_verdict(t: int, problems: dict, bindings: dict, nodes) -> bytes:
    """The helper's view of `nodes`: problems node -> why (absent: its share opens),
    bindings node -> 32-byte digest of what it received (absent: nothing received)."""
    parts = []
    for i in nodes:
        why = (problems.get(i) or "").encode("utf-8")[:MAX_REASON]
        digest = bindings.get(i)
        parts.append(_VERDICT_ENTRY.pack(i, digest is not None, digest or bytes(32), len(why))
                     + why)
    return frame(Kind.VERDICT, _COUNTED.pack(t, len(parts)) + b"".join(parts))


def decode_verdict(data, n_nodes: int) -> tuple:
    """(round, {node: why or None}, {node: binding digest})."""
    body = unframe(data, Kind.VERDICT, max_frame_size(Kind.VERDICT, n_nodes=n_nodes))
    t, count = _counted(body, _VERDICT_ENTRY.size, "VERDICT", n_nodes)
    at, problems, bindings = _COUNTED.size, {}, {}
    for _ in range(count):
        if len(body) < at + _VERDICT_ENTRY.size:
            raise WireError("VERDICT shorter than its entries")
        node, has, digest, n_why = _VERDICT_ENTRY.unpack_from(body, at)
        at += _VERDICT_ENTRY.size
        if node >= n_nodes or node in problems or has not in (0, 1) or n_why > MAX_REASON \
                or len(body) < at + n_why:
            raise WireError("VERDICT entry out of range, repeated or truncated")
        try:
            why = bytes(body[at:at + n_why]).decode("utf-8")
        except UnicodeDecodeError:
            raise WireError("VERDICT reason is not UTF-8") from None
        at += n_why
        problems[node] = why or None
        if has:
            bindings[node] = bytes(digest)
    _exact(body, at, "VERDICT")
    return t, problems, bindings


def encode_sum(t: int, nodes, weights, evidence: dict = None) -> bytes:
    """The helper's sum request: the agreed nodes and weights, and evidence {node: (share,
    blinding)} against each node the leader's share check failed."""
    body = b"".join(_SUM_ENTRY.pack(int(i), int(n)) for i, n in zip(nodes, weights))
    evidence = evidence or {}
    body += struct.pack("<I", len(evidence))
    for i, (share, blinding) in evidence.items():
        body += struct.pack("<I", int(i)) + b"".join(
            int(v).to_bytes(32, "big") for v in (*share, blinding))
    return frame(Kind.SUM, _COUNTED.pack(t, len(nodes)) + body)


def decode_sum(data, n_nodes: int, n_params: int) -> tuple:
    """(round, [node ids], [weights], {node: (share tuple, blinding)}): ids distinct and
    < n_nodes, weights >= 1, evidence values in Fr."""
    from hpc_zkfl.algebra.constants import R
    body = unframe(data, Kind.SUM, max_frame_size(Kind.SUM, n_nodes=n_nodes,
                                                  n_params=n_params))
    t, count = _counted(body, _SUM_ENTRY.size, "SUM", n_nodes)
    at = _COUNTED.size + count * _SUM_ENTRY.size
    if len(body) < at + 4:
        raise WireError("SUM shorter than its entries")
    entries = list(_SUM_ENTRY.iter_unpack(body[_COUNTED.size:at]))
    nodes = [e[0] for e in entries]
    if any(i >= n_nodes for i in nodes) or len(set(nodes)) != count \
            or any(n < 1 for _, n in entries):
        raise WireError("SUM names a node twice, one outside the run, or a zero weight")
    (n_evidence,) = struct.unpack_from("<I", body, at)
    entry = 4 + 32 * (n_params + 1)
    _exact(body, at + 4 + n_evidence * entry, "SUM")
    evidence, at = {}, at + 4
    for _ in range(n_evidence):
        (node,) = struct.unpack_from("<I", body, at)
        values = [int.from_bytes(body[k:k + 32], "big")
                  for k in range(at + 4, at + entry, 32)]
        if node >= n_nodes or node in evidence or node in nodes or any(v >= R for v in values):
            raise WireError("SUM evidence for a summed, repeated or unknown node, or not in Fr")
        evidence[node] = (tuple(values[:-1]), values[-1])
        at += entry
    return t, nodes, [e[1] for e in entries], evidence


def encode_total(t: int, values=None, refusal: str = "") -> bytes:
    """The helper's share sum (Fr elements), or why it refuses to give one."""
    if values is None:
        why = refusal.encode("utf-8")[:MAX_REASON]
        return frame(Kind.TOTAL, _TOTAL_HEAD.pack(t, 0, len(why)) + why)
    body = b"".join(int(v).to_bytes(32, "big") for v in values)
    return frame(Kind.TOTAL, _TOTAL_HEAD.pack(t, 1, len(values)) + body)


def decode_total(data, n_params: int) -> tuple:
    """(round, [n_params ints in [0, r)] or None, refusal reason)."""
    from hpc_zkfl.algebra.constants import R
    body = unframe(data, Kind.TOTAL, max_frame_size(Kind.TOTAL, n_params=n_params))
    if len(body) < _TOTAL_HEAD.size:
        raise WireError("TOTAL body shorter than its header")
    t, ok, n = _TOTAL_HEAD.unpack_from(body)
    rest = bytes(body[_TOTAL_HEAD.size:])
    if ok not in (0, 1) or t < 1:
        raise WireError("TOTAL header out of range")
    if not ok:
        _exact(rest, n, "TOTAL reason")
        try:
            return int(t), None, rest.decode("utf-8")
        except UnicodeDecodeError:
            raise WireError("TOTAL reason is not UTF-8") from None
    if n != n_params:
        raise WireError(f"TOTAL of {n} values; this run has {n_params} parameters")
    _exact(rest, 32 * n, "TOTAL")
    values = [int.from_bytes(rest[k:k + 32], "big") for k in range(0, 32 * n, 32)]
    if any(v >= R for v in values):
        raise WireError("TOTAL value outside Fr")
    return int(t), values, ""


# -- STOP, DONE ----------------------------------------------------------------------------

def encode_empty(kind: Kind) -> bytes:
    return frame(kind)


def decode_empty(data, kind: Kind) -> None:
    _exact(unframe(data, kind, HEADER_SIZE), 0, kind.name)


__all__ = ["HEADER_SIZE", "KIND_OF_TAG", "Kind", "MAX_HOST_NAME", "TAGS", "VERSION", "WireError",
           "decode_check", "decode_empty", "decode_hello", "decode_register",
           "decode_result_envelope", "decode_round", "decode_setup", "decode_share_envelope",
           "decode_sum", "decode_total", "decode_verdict", "encode_check", "encode_empty",
           "encode_hello", "encode_register", "encode_result", "encode_round", "encode_setup",
           "encode_share", "encode_sum", "encode_total", "encode_verdict", "frame",
           "max_frame_size", "setup_frame_size", "unframe"]
