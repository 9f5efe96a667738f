"""The frames between ranks (hpc_zkfl.mpi.wire), without MPI: every frame round-trips, and
every byte string that is not exactly a frame of the expected kind raises WireError (a
ValueError) and nothing else."""
import contextlib
import pickle
import random
import struct

import numpy as np
import pytest

from hpc_zkfl.fl.message import NodeMessage
from hpc_zkfl.mpi import wire
from hpc_zkfl.mpi.wire import Kind, WireError

N_NODES, N_PARAMS = 6, 31


def _frames():
    w = np.arange(-15, 16, dtype=np.int64)
    msg = NodeMessage(3, 2, w, b"\1" * 128, 0.25, 0.5)
    return {
        Kind.HELLO: (wire.encode_hello("node-7.cluster"), lambda d: wire.decode_hello(d)),
        Kind.SETUP: (wire.encode_setup(4, b"key bytes", b"transcript"),
                     lambda d: wire.decode_setup(d)),
        Kind.REGISTER: (wire.encode_register({0: 5, 5: (1 << 256) - 1}),
                        lambda d: wire.decode_register(d, N_NODES)),
        Kind.ROUND: (wire.encode_round(3, w, w - 1), lambda d: wire.decode_round(d, N_PARAMS)),
        Kind.RESULT: (wire.encode_result(3, 2, msg.to_bytes()),
                      lambda d: wire.decode_result_envelope(d, N_PARAMS)),
        Kind.STOP: (wire.encode_empty(Kind.STOP), lambda d: wire.decode_empty(d, Kind.STOP)),
        Kind.DONE: (wire.encode_empty(Kind.DONE), lambda d: wire.decode_empty(d, Kind.DONE)),
        # two-aggregator mode
        Kind.SHARE: (wire.encode_share(3, 2, _share().to_bytes()),
                     lambda d: wire.decode_share_envelope(d, N_PARAMS)),
        Kind.CHECK: (wire.encode_check(3, [0, 4, 5]), lambda d: wire.decode_check(d, N_NODES)),
        Kind.VERDICT: (wire.encode_verdict(3, {4: "D - A does not open"},
                                           {0: b"\x07" * 32, 4: b"\x08" * 32}, [0, 4, 5]),
                       lambda d: wire.decode_verdict(d, N_NODES)),
        Kind.SUM: (wire.encode_sum(3, [0, 5], [7, 9], {2: (tuple(range(N_PARAMS)), 4)}),
                   lambda d: wire.decode_sum(d, N_NODES, N_PARAMS)),
        Kind.TOTAL: (wire.encode_total(3, list(range(N_PARAMS))),
                     lambda d: wire.decode_total(d, N_PARAMS)),
        Kind.CEREMONY: (wire.encode_keyed(Kind.CEREMONY, b"k" * 9, b"t" * 5),
                        lambda d: wire.decode_keyed(d, Kind.CEREMONY, 9)),
        Kind.CONTRIBUTED: (wire.encode_keyed(Kind.CONTRIBUTED, b"k" * 9, b"t" * 5),
                           lambda d: wire.decode_keyed(d, Kind.CONTRIBUTED, 9)),
        Kind.ATTEST: (wire.encode_attest(bytes(range(128))), wire.decode_attest),
    }


def _share():
    from hpc_zkfl.fl.private import ShareMessage
    return ShareMessage(3, 2, 1, b"\1" * 128, b"\2" * 32, b"\3" * 32, tuple(range(N_PARAMS)),
                        5, 0.25, 0.5)


def test_round_trips():
    f = _frames()
    w = np.arange(-15, 16, dtype=np.int64)
    assert f[Kind.HELLO][1](f[Kind.HELLO][0]) == "node-7.cluster"
    assert f[Kind.SETUP][1](f[Kind.SETUP][0]) == (4, b"key bytes", b"transcript")
    for kind in (Kind.CEREMONY, Kind.CONTRIBUTED):
        assert f[kind][1](f[kind][0]) == (b"k" * 9, b"t" * 5)
    assert f[Kind.ATTEST][1](f[Kind.ATTEST][0]) == bytes(range(128))
    assert f[Kind.REGISTER][1](f[Kind.REGISTER][0]) == [(0, 5), (5, (1 << 256) - 1)]
    t, got, prev = f[Kind.ROUND][1](f[Kind.ROUND][0])
    assert t == 3 and np.array_equal(got, w) and np.array_equal(prev, w - 1)
    t, got, prev = wire.decode_round(wire.encode_round(1, w), N_PARAMS)
    assert t == 1 and np.array_equal(got, w) and prev is None
    t, slot, body = f[Kind.RESULT][1](f[Kind.RESULT][0])
    assert (t, slot) == (3, 2) and np.array_equal(NodeMessage.from_bytes(body).update, w)
    for kind in (Kind.STOP, Kind.DONE):
        assert f[kind][1](f[kind][0]) is None
    t, slot, body = f[Kind.SHARE][1](f[Kind.SHARE][0])
    from hpc_zkfl.fl.private import ShareMessage
    assert (t, slot) == (3, 2) and ShareMessage.from_bytes(body) == _share()
    assert f[Kind.CHECK][1](f[Kind.CHECK][0]) == (3, [0, 4, 5])
    assert f[Kind.VERDICT][1](f[Kind.VERDICT][0]) == (
        3, {0: None, 4: "D - A does not open", 5: None}, {0: b"\x07" * 32, 4: b"\x08" * 32})
    assert f[Kind.SUM][1](f[Kind.SUM][0]) == (3, [0, 5], [7, 9],
                                              {2: (tuple(range(N_PARAMS)), 4)})
    assert f[Kind.TOTAL][1](f[Kind.TOTAL][0]) == (3, list(range(N_PARAMS)), "")
    assert wire.decode_total(wire.encode_total(3, refusal="below min_accepted"), N_PARAMS) \
        == (3, None, "below min_accepted")


def test_leader_and_helper_frames_refuse_out_of_range_content():
    from hpc_zkfl.algebra.constants import R
    for bad, decode in (
            (wire.encode_check(3, [0, 0]), lambda d: wire.decode_check(d, N_NODES)),
            (wire.encode_check(3, [N_NODES]), lambda d: wire.decode_check(d, N_NODES)),
            (wire.encode_check(0, [1]), lambda d: wire.decode_check(d, N_NODES)),
            (wire.encode_sum(3, [1, 1], [1, 1]), lambda d: wire.decode_sum(d, N_NODES, N_PARAMS)),
            (wire.encode_sum(3, [1], [0]), lambda d: wire.decode_sum(d, N_NODES, N_PARAMS)),
            (wire.encode_sum(3, [1], [1], {1: ((0,) * N_PARAMS, 0)}),       # summed and accused
             lambda d: wire.decode_sum(d, N_NODES, N_PARAMS)),
            (wire.encode_sum(3, [1], [1], {2: ((R,) + (0,) * (N_PARAMS - 1), 0)}),
             lambda d: wire.decode_sum(d, N_NODES, N_PARAMS)),
            (wire.encode_total(3, [R] + [0] * (N_PARAMS - 1)),
             lambda d: wire.decode_total(d, N_PARAMS)),
            (wire.encode_total(3, [0] * (N_PARAMS + 1)), lambda d: wire.decode_total(d, N_PARAMS)),
            (wire.encode_verdict(3, {}, {}, [0, 0]), lambda d: wire.decode_verdict(d, N_NODES))):
        with pytest.raises(WireError):
            decode(bad)


@pytest.mark.parametrize("kind", list(Kind))
def test_every_truncation_and_extension_is_refused(kind):
    data, decode = _frames()[kind]
    for n in range(len(data)):
        with pytest.raises(WireError):
            decode(data[:n])
    with pytest.raises(WireError):
        decode(data + b"\0")


@pytest.mark.parametrize("kind", list(Kind))
def test_random_corruption_raises_only_wire_error(kind, rng):
    """Flipped bytes either still decode (a body byte that any value may take) or raise
    WireError; nothing else ever escapes."""
    data, decode = _frames()[kind]
    for _ in range(300):
        bad = bytearray(data)
        for _ in range(rng.randint(1, 4)):
            bad[rng.randrange(len(bad))] = rng.randrange(256)
        with contextlib.suppress(WireError):
            decode(bytes(bad))


@pytest.mark.parametrize("kind", list(Kind))
def test_a_pickle_is_not_a_frame(kind):
    _, decode = _frames()[kind]
    with pytest.raises(WireError, match="magic|shorter|cap"):
        decode(pickle.dumps({"any": "object"}))


def test_header_fields_are_checked():
    data = bytearray(wire.encode_empty(Kind.DONE))
    with pytest.raises(WireError, match="expected a DONE frame, got STOP"):
        wire.decode_empty(wire.encode_empty(Kind.STOP), Kind.DONE)
    for offset, value, message in ((4, wire.VERSION + 1, "version"), (5, 99, "unknown kind"),
                                   (6, 1, "reserved")):
        bad = bytearray(data)
        bad[offset] = value
        with pytest.raises(WireError, match=message):
            wire.decode_empty(bytes(bad), Kind.DONE)
    # A length prefix that lies (here 2^60) is compared with the bytes received, never used
    # to allocate.
    head = struct.pack("<4sBBHQ", wire.MAGIC, wire.VERSION, int(Kind.RESULT), 0, 1 << 60)
    with pytest.raises(WireError, match="announces"):
        wire.decode_result_envelope(head + b"\0" * 64, N_PARAMS)


def test_caps():
    assert wire.max_frame_size(Kind.DONE) == wire.HEADER_SIZE
    over = wire.frame(Kind.HELLO, b"h" * (wire.MAX_HOST_NAME + 1))
    with pytest.raises(WireError, match="cap"):
        wire.decode_hello(over)
    many = wire.encode_register({i: i for i in range(N_NODES + 1)})
    with pytest.raises(WireError, match="cap"):
        wire.decode_register(many, N_NODES)
    big = wire.encode_result(1, 0, b"\0" * (NodeMessage.max_size(N_PARAMS) + 1))
    with pytest.raises(WireError, match="cap"):
        wire.decode_result_envelope(big, N_PARAMS)


def test_round_must_match_the_run():
    w = np.zeros(N_PARAMS, dtype=np.int64)
    with pytest.raises(WireError, match="parameters"):
        wire.decode_round(wire.encode_round(1, w[:-1]), N_PARAMS)
    with pytest.raises(WireError, match="round 0"):
        wire.decode_round(wire.encode_round(0, w), N_PARAMS)


@pytest.mark.parametrize("host", ["", "bad\nname", "tab\there"])
def test_host_names_are_printable(host):
    with pytest.raises(WireError):
        wire.decode_hello(wire.frame(Kind.HELLO, host.encode()))
    with pytest.raises(WireError, match="UTF-8"):
        wire.decode_hello(wire.frame(Kind.HELLO, b"\xff\xfe"))


def test_tags_are_distinct_and_invertible():
    assert len(set(wire.TAGS.values())) == len(Kind)
    assert all(wire.KIND_OF_TAG[tag] == kind for kind, tag in wire.TAGS.items())


def _message_bytes(local_s=0.1, prove_s=0.2, n_proof=128, n_reason=0, n_claimed=None, n_low=4):
    head = struct.pack("<8sqqddIIII", b"ZKFLMSG2", 1, 0, local_s, prove_s,
                       4 if n_claimed is None else n_claimed, n_low, n_proof, n_reason)
    return head + bytes(32 + 8 * n_low) + bytes(n_proof) + b"r" * n_reason


@pytest.mark.parametrize("fields,message", [
    ({"local_s": float("nan")}, "local seconds"),
    ({"prove_s": float("inf")}, "prove seconds"),
    ({"local_s": -1.0}, "local seconds"),
    ({"prove_s": 1e8}, "prove seconds"),
    ({"n_proof": NodeMessage.MAX_PROOF + 1}, "caps"),
    ({"n_reason": NodeMessage.MAX_REASON + 1}, "caps"),
    ({"n_claimed": NodeMessage.MAX_PARAMS + 1}, "caps"),
    ({"n_claimed": 5}, "low bits"),
    ({"n_claimed": 5, "n_low": 0}, "length"),
    ({"n_low": 3}, "low bits"),
    ({"n_low": 8}, "low bits"),
])
def test_node_message_fields_are_bounded(fields, message):
    assert NodeMessage.from_bytes(_message_bytes()).prove_seconds == 0.2
    assert NodeMessage.from_bytes(_message_bytes(n_low=0)).update_low is None
    with pytest.raises(ValueError, match=message):
        NodeMessage.from_bytes(_message_bytes(**fields))


def test_a_long_refusal_still_fits_the_cap():
    msg = NodeMessage(1, 0, np.zeros(4, dtype=np.int64), b"", refused="\u00e9" * 10_000)
    back = NodeMessage.from_bytes(msg.to_bytes())
    assert back.refused and len(back.refused.encode()) <= NodeMessage.MAX_REASON


def test_random_bytes_never_escape(rng: random.Random):
    for _ in range(500):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 80)))
        if rng.random() < 0.5:
            data = wire.MAGIC + data
        for kind, (_, decode) in _frames().items():
            with contextlib.suppress(WireError):
                decode(data)


def test_setup_key_must_have_the_circuits_size():
    data = wire.encode_setup(1, b"k" * 10, b"t" * 3)
    assert wire.decode_setup(data, 10) == (1, b"k" * 10, b"t" * 3)
    assert len(data) <= wire.setup_frame_size(10)
    with pytest.raises(WireError, match="11"):
        wire.decode_setup(data, 11)
    # without proofs no key and no transcript: the frame's cap is exact
    assert len(wire.encode_setup(1, b"")) == wire.setup_frame_size(0)
    with pytest.raises(WireError, match="without a key"):
        wire.decode_setup(wire.encode_setup(1, b"", b"t"), 0)
    # a CEREMONY key of another size, a transcript over its cap, a cut ATTEST
    with pytest.raises(WireError, match="10-byte key"):
        wire.decode_keyed(wire.encode_keyed(Kind.CEREMONY, b"k" * 10, b""), Kind.CEREMONY, 9)
    big = wire.encode_keyed(Kind.CONTRIBUTED, b"k", b"t" * (wire.MAX_TRANSCRIPT_BYTES + 1))
    with pytest.raises(WireError, match="over its cap"):
        wire.decode_keyed(big, Kind.CONTRIBUTED, 1)
    with pytest.raises(WireError):
        wire.decode_attest(wire.encode_attest(bytes(128))[:-1])
