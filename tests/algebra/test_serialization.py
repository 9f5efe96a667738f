"""Point and scalar encodings: round trips, independent expected bytes, published vectors, and
every refusal of the decoders.

Expected encodings come from tests/vectors/gen_serialization.py, which writes them from py_ecc
integers with code that shares nothing with the kernels (int.to_bytes and the arkworks flag
rule on Python ints); the same helper also encodes a fresh random py_ecc point on each run.
Published vectors: an EIP-197 input from go-ethereum, arkworks-serialized BN254 keys and a
proof from Sui's framework tests, and snarkjs verification-key points (see the generator).
"""
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn

from hpc_zkfl.algebra import serialization as S
from hpc_zkfl.algebra.constants import P, R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fields import FQ
from hpc_zkfl.algebra.limbs import ints_to_limbs, limbs_to_ints
from hpc_zkfl.algebra.serialization import (COMPRESSED, ETH, FORMATS, UNCOMPRESSED, FieldRangeError,
                                            FlagError, FormatError, LengthError, NoSquareRootError,
                                            NotOnCurveError, PointDecodeError, SubgroupError)
from hpc_zkfl.algebra.subgroup import random_twist_points, twist_point_from_x

VECTOR_DIR = Path(__file__).resolve().parents[1] / "vectors"
VECTORS = json.loads((VECTOR_DIR / "serialization.json").read_text())
PUBLISHED = VECTORS["published"]
_spec = importlib.util.spec_from_file_location("gen_serialization", VECTOR_DIR / "gen_serialization.py")
gen_serialization = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(gen_serialization)

GROUPS = {"G1": G1, "G2": G2}
GROUP_FORMATS = [(g, f) for g in GROUPS for f in FORMATS]


@pytest.fixture(params=["G1", "G2"])
def group(request):
    return GROUPS[request.param]


def py_point(entry):
    x, y = [int(c) for c in entry["x"]], [int(c) for c in entry["y"]]
    return (x[0], y[0]) if entry["group"] == "G1" else (tuple(x), tuple(y))


def random_points(group, rng, n, with_infinity=True):
    """n points as a Montgomery array (kernel-made), some rows infinity."""
    pts = group.scalar_mul(group.encode([group.generator] * n),
                           ints_to_limbs([rng.randrange(1, R) for _ in range(n)]))
    if with_infinity:
        pts[::5] = 0
    return pts


def negate(group, pt):
    if group is G1:
        return (pt[0], (-pt[1]) % P)
    return (pt[0], tuple((-c) % P for c in pt[1]))


# ---- expected bytes --------------------------------------------------------------------------------
@pytest.mark.parametrize("entry", VECTORS["points"], ids=lambda e: f"{e['group']}-{e['scalar'][:8]}")
def test_frozen_py_ecc_encodings(entry):
    g = GROUPS[entry["group"]]
    pt = py_point(entry)
    for fmt in FORMATS:
        assert S.encode_point(g, pt, fmt).hex() == entry[fmt], fmt
        assert S.decode_point(g, bytes.fromhex(entry[fmt]), fmt) == pt, fmt
    assert S.to_snarkjs(g, pt) == entry["snarkjs"]
    assert S.from_snarkjs(g, entry["snarkjs"]) == pt


@pytest.mark.parametrize("name", ["G1", "G2"])
def test_frozen_encodings_as_one_batch(name):
    g = GROUPS[name]
    entries = [e for e in VECTORS["points"] if e["group"] == name]
    arr = g.encode([py_point(e) for e in entries])
    for fmt in FORMATS:
        enc = S.encode_points(g, arr, fmt)
        assert [bytes(row).hex() for row in enc] == [e[fmt] for e in entries]
        res = S.decode_points(g, b"".join(bytes.fromhex(e[fmt]) for e in entries), fmt)
        assert res.ok.all() and np.array_equal(res.values, arr)
    assert S.points_to_snarkjs(g, arr) == [e["snarkjs"] for e in entries]


def test_fresh_py_ecc_point(group, rng):
    """A random py_ecc point of this run, against the generator's independent encoder."""
    a = rng.randrange(1, R)
    q = bn.normalize(bn.multiply(bn.G1 if group is G1 else bn.G2, a))
    if group is G1:
        x, y = (int(q[0]),), (int(q[1]),)
        pt = (x[0], y[0])
    else:
        x, y = tuple(int(c) for c in q[0].coeffs), tuple(int(c) for c in q[1].coeffs)
        pt = (x, y)
    expected = gen_serialization.encodings(x, y)
    for fmt in FORMATS:
        assert S.encode_point(group, pt, fmt).hex() == expected[fmt]
        assert S.decode_point(group, bytes.fromhex(expected[fmt]), fmt) == pt
    # Ethereum bytes straight from the py_ecc integers (G2: imaginary part first).
    words = [pt[0], pt[1]] if group is G1 else [pt[0][1], pt[0][0], pt[1][1], pt[1][0]]
    assert S.encode_point(group, pt, ETH) == b"".join(w.to_bytes(32, "big") for w in words)


def test_infinity_encodings(group):
    k = 1 if group is G1 else 2
    assert S.encode_point(group, None, ETH) == bytes(64 * k)
    assert S.encode_point(group, None, UNCOMPRESSED) == bytes(64 * k - 1) + b"\x40"
    assert S.encode_point(group, None, COMPRESSED) == bytes(32 * k - 1) + b"\x40"
    for fmt in FORMATS:
        assert S.decode_point(group, S.encode_point(group, None, fmt), fmt) is None
    inf = ["0", "1", "0"] if group is G1 else [["0", "0"], ["1", "0"], ["0", "0"]]
    assert S.to_snarkjs(group, None) == inf
    assert S.from_snarkjs(group, inf) is None


# ---- round trips -------------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", FORMATS)
def test_batch_round_trip(group, fmt, rng):
    pts = random_points(group, rng, 40)
    enc = S.encode_points(group, pts, fmt)
    assert enc.shape == (40, S.point_size(group, fmt)) and enc.dtype == np.uint8
    for data in (enc, enc.tobytes(), [bytes(row) for row in enc]):
        res = S.decode_points(group, data, fmt)
        assert res.ok.all(), res.errors()
        assert np.array_equal(res.values, pts)
    if fmt != ETH:   # both signs of y occur among 32 random finite points
        signs = enc[:, -1] & S.FLAG_NEGATIVE
        assert signs.any() and not signs.all()
    assert S.decode_points(group, b"", fmt).values.shape == (0, 2) + group.coord_shape


def test_snarkjs_round_trip(group, rng):
    pts = random_points(group, rng, 10)
    objs = S.points_to_snarkjs(group, pts)
    res = S.points_from_snarkjs(group, json.loads(json.dumps(objs)))
    assert res.ok.all() and np.array_equal(res.values, pts)


def test_snarkjs_projective_input(group, rng):
    """Any non-zero Z is accepted (Jacobian, as ffjavascript) and normalized; Z may be omitted."""
    pt = group.decode(random_points(group, rng, 2, with_infinity=False))[1]
    if group is G1:
        z = rng.randrange(2, P)
        obj = [str(pt[0] * z * z % P), str(pt[1] * z ** 3 % P), str(z)]
        short = [str(pt[0]), str(pt[1])]
    else:
        def mul(a, b):
            return ((a[0] * b[0] - a[1] * b[1]) % P, (a[0] * b[1] + a[1] * b[0]) % P)
        z = (rng.randrange(P), rng.randrange(P))
        z2 = mul(z, z)
        obj = [[str(c) for c in mul(pt[0], z2)], [str(c) for c in mul(pt[1], mul(z2, z))],
               [str(c) for c in z]]
        short = S.to_snarkjs(group, pt)[:2]
    assert S.from_snarkjs(group, obj) == pt
    assert S.from_snarkjs(group, short) == pt
    assert S.to_snarkjs(group, S.from_snarkjs(group, obj)) == S.to_snarkjs(group, pt)


def test_compressed_sign_bit_selects_the_other_root(group, rng):
    pt = group.decode(random_points(group, rng, 2, with_infinity=False))[1]
    enc = bytearray(S.encode_point(group, pt, COMPRESSED))
    enc[-1] ^= S.FLAG_NEGATIVE
    assert S.decode_point(group, bytes(enc), COMPRESSED) == negate(group, pt)


# ---- published vectors ----------------------------------------------------------------------
def test_eip197_pairing_input():
    """go-ethereum's bn256Pairing "jeff1": two (G1, G2) pairs that must decode and re-encode."""
    raw = bytes.fromhex(PUBLISHED["eip197_jeff1"])
    g1 = raw[0:64] + raw[192:256]
    g2 = raw[64:192] + raw[256:384]
    r1, r2 = S.decode_points(G1, g1, ETH), S.decode_points(G2, g2, ETH)
    assert r1.ok.all() and r2.ok.all()
    assert S.encode_points(G1, r1.values, ETH).tobytes() == g1
    assert S.encode_points(G2, r2.values, ETH).tobytes() == g2
    assert G2.decode(r2.values)[1] == G2.generator
    # Read with the real part first, the G2 words are not a point of the twist.
    swapped = b"".join(g2[i + 32: i + 64] + g2[i: i + 32] for i in range(0, 256, 64))
    assert (S.decode_points(G2, swapped, ETH).reason == S.NOT_ON_CURVE).all()


def test_arkworks_verifying_key_and_proof():
    """Sui's BN254 Groth16 test data: canonical compressed VerifyingKey<Bn254> and proof."""
    vk = bytes.fromhex(PUBLISHED["sui_vk"])
    alpha, beta, gamma, delta = vk[:32], vk[32:96], vk[96:160], vk[160:224]
    count = int.from_bytes(vk[224:232], "little")
    ic = vk[232:]
    assert count == 2 and len(ic) == 32 * count
    g1 = S.decode_points(G1, alpha + ic, COMPRESSED)
    g2 = S.decode_points(G2, beta + gamma + delta, COMPRESSED)
    assert g1.ok.all() and g2.ok.all()
    assert S.encode_points(G1, g1.values).tobytes() == alpha + ic
    assert S.encode_points(G2, g2.values).tobytes() == beta + gamma + delta
    # The prepared key stores -gamma and -delta: the same x with the other sign flag.
    gamma_pt, delta_pt = G2.decode(g2.values)[1:]
    assert S.encode_point(G2, negate(G2, gamma_pt)).hex() == PUBLISHED["sui_neg_gamma"]
    assert S.encode_point(G2, negate(G2, delta_pt)).hex() == PUBLISHED["sui_neg_delta"]
    proof = bytes.fromhex(PUBLISHED["sui_proof"])
    a = S.decode_point(G1, proof[:32])
    b = S.decode_point(G2, proof[32:96])
    c = S.decode_point(G1, proof[96:])
    assert None not in (a, b, c)
    assert S.encode_point(G1, a) + S.encode_point(G2, b) + S.encode_point(G1, c) == proof
    assert 0 < S.fr_from_bytes(bytes.fromhex(PUBLISHED["sui_public_input"])) < R


def test_snarkjs_key_points_and_their_arkworks_bytes():
    vk = PUBLISHED["snarkjs_vk"]
    alpha = S.from_snarkjs(G1, vk["vk_alpha_1"])
    beta = S.from_snarkjs(G2, vk["vk_beta_2"])
    assert S.from_snarkjs(G2, vk["vk_gamma_2"]) == G2.generator
    assert (S.encode_point(G1, alpha) + S.encode_point(G2, beta)).hex() == PUBLISHED["ark_alpha_beta"]
    raw = bytes.fromhex(PUBLISHED["ark_alpha_beta"])
    assert S.to_snarkjs(G1, S.decode_point(G1, raw[:32])) == vk["vk_alpha_1"]
    assert S.to_snarkjs(G2, S.decode_point(G2, raw[32:])) == vk["vk_beta_2"]


# ---- refusals: length and type ---------------------------------------------------------------
@pytest.mark.parametrize("name,fmt", GROUP_FORMATS)
def test_wrong_length(name, fmt):
    g = GROUPS[name]
    good = S.encode_point(g, g.generator, fmt)
    for data in (good[:-1], good + b"\x00", b""):
        with pytest.raises(LengthError):
            S.decode_point(g, data, fmt)
    with pytest.raises(FormatError):
        S.decode_point(g, good.hex(), fmt)
    with pytest.raises(LengthError):
        S.decode_points(g, good + good[:5], fmt)
    with pytest.raises(LengthError):
        S.decode_points(g, np.zeros((2, len(good) + 1), dtype=np.uint8), fmt)
    res = S.decode_points(g, [good, good[:-1], "not bytes", good], fmt)
    assert list(res.reason) == [S.OK, S.BAD_LENGTH, S.BAD_LENGTH, S.OK]


# ---- refusals: coordinates >= p ---------------------------------------------------------------
def _le_word(v):
    return v.to_bytes(32, "little")


@pytest.mark.parametrize("name,fmt", GROUP_FORMATS)
def test_coordinate_not_below_p(name, fmt):
    g = GROUPS[name]
    good = S.encode_point(g, g.generator, fmt)
    size = len(good)
    # Replace each 32-byte word in turn by p and by the largest value the word can hold.
    for w in range(size // 32):
        for value in (P, P + 1, (1 << 254) - 1 if fmt != ETH else (1 << 256) - 1):
            raw = bytearray(good)
            if fmt == ETH:
                raw[32 * w: 32 * w + 32] = value.to_bytes(32, "big")
            else:
                flags = raw[32 * w + 31] & S.FLAG_MASK
                raw[32 * w: 32 * w + 32] = _le_word(value)
                raw[32 * w + 31] |= flags
            with pytest.raises(FieldRangeError):
                S.decode_point(g, bytes(raw), fmt)


# ---- refusals: flags --------------------------------------------------------------------------
@pytest.mark.parametrize("name,fmt", [(g, f) for g in GROUPS for f in (COMPRESSED, UNCOMPRESSED)])
def test_bad_flags(name, fmt):
    g = GROUPS[name]
    good = S.encode_point(g, g.generator, fmt)
    inf = S.encode_point(g, None, fmt)
    cases = []
    raw = bytearray(good)
    raw[-1] |= S.FLAG_MASK                           # both bits
    cases.append(raw)
    raw = bytearray(good)
    raw[-1] = (raw[-1] & 0x3F) | S.FLAG_INFINITY     # infinity flag on a point with x != 0
    cases.append(raw)
    raw = bytearray(inf)
    raw[-1] |= S.FLAG_NEGATIVE                       # infinity with the sign bit
    cases.append(raw)
    raw = bytearray(inf)
    raw[0] = 1                                       # infinity flag, non-zero x
    cases.append(raw)
    if fmt == UNCOMPRESSED:
        raw = bytearray(inf)
        raw[len(raw) // 2] = 1                       # infinity flag, non-zero y
        cases.append(raw)
        raw = bytearray(good)
        raw[-1] ^= S.FLAG_NEGATIVE                   # sign flag that contradicts y
        cases.append(raw)
    for raw in cases:
        with pytest.raises(FlagError):
            S.decode_point(g, bytes(raw), fmt)


def test_zero_coordinates_without_infinity_flag(group):
    """(0, 0) is infinity only in the Ethereum encoding; arkworks needs the flag."""
    k = 1 if group is G1 else 2
    with pytest.raises(NotOnCurveError):
        S.decode_point(group, bytes(64 * k), UNCOMPRESSED)
    assert S.decode_point(group, bytes(64 * k), ETH) is None


# ---- refusals: curve, square root, subgroup --------------------------------------------------
def _off_curve(group, rng):
    pt = group.decode(random_points(group, rng, 2, with_infinity=False))[1]
    if group is G1:
        return (pt[0], (pt[1] + 1) % P)
    return (pt[0], ((pt[1][0] + 1) % P, pt[1][1]))


def _encode_unchecked(group, pt, fmt):
    return S.encode_points(group, group.encode([pt]), fmt)[0].tobytes()


@pytest.mark.parametrize("fmt", [UNCOMPRESSED, ETH])
def test_not_on_curve(group, fmt, rng):
    bad = _off_curve(group, rng)
    with pytest.raises(ValueError):
        S.encode_point(group, bad, fmt)           # encoders refuse them too
    data = _encode_unchecked(group, bad, fmt)
    # The sign flag was computed from the off-curve y, so only the curve check fails.
    with pytest.raises(NotOnCurveError):
        S.decode_point(group, data, fmt)
    point_0_1 = (0, 1) if group is G1 else ((0, 0), (1, 0))
    with pytest.raises(NotOnCurveError):
        S.decode_point(group, _encode_unchecked(group, point_0_1, fmt), fmt)


def _non_residue_x(group, rng):
    while True:
        if group is G1:
            x = rng.randrange(P)
            if FQ.sqrt((x ** 3 + 3) % P) is None:
                return (x, 1)
        else:
            x = (rng.randrange(P), rng.randrange(P))
            if twist_point_from_x(x) is None:
                return (x, (1, 0))


def test_compressed_x_without_square_root(group, rng):
    data = _encode_unchecked(group, _non_residue_x(group, rng), COMPRESSED)
    with pytest.raises(NoSquareRootError):
        S.decode_point(group, data, COMPRESSED)


def test_g2_points_outside_the_subgroup(rng):
    twist = random_twist_points(3, rng)
    for fmt in FORMATS:
        res = S.decode_points(G2, S.encode_points(G2, twist, fmt), fmt)
        assert (res.reason == S.NOT_IN_SUBGROUP).all(), fmt
        assert not res.values.any()
        with pytest.raises(SubgroupError):
            S.decode_point(G2, S.encode_points(G2, twist[:1], fmt)[0].tobytes(), fmt)
        unchecked = S.decode_points(G2, S.encode_points(G2, twist, fmt), fmt, subgroup_check=False)
        assert unchecked.ok.all() and np.array_equal(unchecked.values, twist)
    objs = S.points_to_snarkjs(G2, twist)
    assert (S.points_from_snarkjs(G2, objs).reason == S.NOT_IN_SUBGROUP).all()
    with pytest.raises(SubgroupError):
        S.from_snarkjs(G2, objs[0])


# ---- refusals: snarkjs JSON ----------------------------------------------------------------------
G1_BAD_JSON = [
    ({}, FormatError), ("1", FormatError), ([], FormatError), (["1"], FormatError),
    (["1", "2", "1", "1"], FormatError), ([["1", "0"], ["2", "0"], ["1", "0"]], FormatError),
    (["abc", "2", "1"], FormatError), (["0x1", "2", "1"], FormatError), (["-1", "2", "1"], FormatError),
    (["+1", "2", "1"], FormatError), ([" 1", "2", "1"], FormatError), (["1.0", "2", "1"], FormatError),
    (["01", "2", "1"], FormatError), (["", "2", "1"], FormatError), ([None, "2", "1"], FormatError),
    ([True, "2", "1"], FormatError), ([1.0, "2", "1"], FormatError),
    ([str(P), "2", "1"], FieldRangeError), (["1", "9" * 100, "1"], FieldRangeError),
    (["1", "2", str(P + 1)], FieldRangeError),
    (["1", "1", "0"], FormatError),                  # Z = 0 but not (0, 1, 0)
    (["0", "0", "1"], NotOnCurveError), (["1", "3", "1"], NotOnCurveError),
]
G2_BAD_JSON = [
    (["1", "2", "1"], FormatError), ([["1", "0"], ["2", "0"]] * 2, FormatError),
    ([["1", "0", "0"], ["2", "0"], ["1", "0"]], FormatError), ([["1"], ["2", "0"], ["1", "0"]], FormatError),
    ([["x", "0"], ["2", "0"], ["1", "0"]], FormatError), ([["1", "0"], ["2", "0"], ["1", "00"]], FormatError),
    ([["1", str(P)], ["2", "0"], ["1", "0"]], FieldRangeError),
    ([["0", "0"], ["1", "0"], ["0", "1"]], NotOnCurveError),   # Z = u, (0, 1/u^3) is off the curve
    ([["0", "0"], ["0", "0"], ["0", "0"]], FormatError),
    ([["0", "0"], ["0", "0"], ["1", "0"]], NotOnCurveError),
]


@pytest.mark.parametrize("obj,exc", G1_BAD_JSON, ids=range(len(G1_BAD_JSON)))
def test_bad_snarkjs_g1(obj, exc):
    with pytest.raises(exc):
        S.from_snarkjs(G1, obj)
    assert S.points_from_snarkjs(G1, [obj]).reason[0] == exc.reason


@pytest.mark.parametrize("obj,exc", G2_BAD_JSON, ids=range(len(G2_BAD_JSON)))
def test_bad_snarkjs_g2(obj, exc):
    with pytest.raises(exc):
        S.from_snarkjs(G2, obj)
    assert S.points_from_snarkjs(G2, [obj]).reason[0] == exc.reason


# ---- batches never raise on bad items -------------------------------------------------------
def test_mixed_batch_reports_each_item(group, rng):
    pts = random_points(group, rng, 3, with_infinity=False)
    good = [bytes(r) for r in S.encode_points(group, pts, UNCOMPRESSED)]
    off = _encode_unchecked(group, _off_curve(group, rng), UNCOMPRESSED)
    big = bytearray(good[1])
    big[:32] = _le_word(P)
    flags = bytearray(good[2])
    flags[-1] |= S.FLAG_MASK
    items = [good[0], good[1][:-3], off, bytes(big), good[2], bytes(flags), bytes(len(good[0]))]
    res = S.decode_points(group, items, UNCOMPRESSED)
    assert list(res.reason) == [S.OK, S.BAD_LENGTH, S.NOT_ON_CURVE, S.NOT_CANONICAL, S.OK, S.BAD_FLAGS,
                                S.NOT_ON_CURVE]
    assert np.array_equal(res.values[[0, 4]], pts[[0, 2]])
    assert not res.values[~res.ok].any()
    assert [i for i, _ in res.errors()] == [1, 2, 3, 5, 6]
    with pytest.raises(LengthError, match="item 1"):
        res.raise_first()
    objs = [S.to_snarkjs(group, group.decode(pts[:1])[0]), {"x": 1}, ["1"], S.to_snarkjs(group, None)]
    res = S.points_from_snarkjs(group, objs)
    assert list(res.reason) == [S.OK, S.BAD_FORMAT, S.BAD_FORMAT, S.OK]
    assert issubclass(S.ERRORS[S.BAD_FORMAT], PointDecodeError)
    assert issubclass(PointDecodeError, ValueError)


def test_unknown_format():
    with pytest.raises(ValueError):
        S.point_size(G1, "json")
    with pytest.raises(ValueError):
        S.encode_point(G1, (1, 3))
    with pytest.raises(ValueError):
        S.encode_point(G1, (P + 1, 2))


# ---- Fr scalars ---------------------------------------------------------------------------------
def test_fr_round_trips(rng):
    values = [0, 1, R - 1] + [rng.randrange(R) for _ in range(20)]
    for v in values:
        assert S.fr_from_bytes(S.fr_to_bytes(v)) == v
        assert S.fr_from_decimal(S.fr_to_decimal(v)) == v
        assert S.fr_to_bytes(v) == v.to_bytes(32, "little")
    limbs = ints_to_limbs(values)
    enc = S.encode_fr_batch(limbs)
    assert enc.tobytes() == b"".join(S.fr_to_bytes(v) for v in values)
    res = S.decode_fr_batch(enc)
    assert res.ok.all() and np.array_equal(res.values, limbs)


def test_fr_refusals():
    for bad in (R, R + 1, (1 << 256) - 1):
        with pytest.raises(FieldRangeError):
            S.fr_from_bytes(bad.to_bytes(32, "little"))
        with pytest.raises(FieldRangeError):
            S.fr_from_decimal(str(bad))
        with pytest.raises(ValueError):
            S.fr_to_bytes(bad)
    for data in (bytes(31), bytes(33)):
        with pytest.raises(LengthError):
            S.fr_from_bytes(data)
    for s in ("abc", "-1", "0x10", "01", "", " 7"):
        with pytest.raises(FormatError):
            S.fr_from_decimal(s)
    with pytest.raises(ValueError):
        S.fr_to_bytes(-1)
    res = S.decode_fr_batch([S.fr_to_bytes(5), R.to_bytes(32, "little"), bytes(31), S.fr_to_bytes(R - 1)])
    assert list(res.reason) == [S.OK, S.NOT_CANONICAL, S.BAD_LENGTH, S.OK]
    assert limbs_to_ints(res.values) == [5, 0, 0, R - 1]
