"""Encodings of G1/G2 points and Fr scalars, with decoders that validate everything.

Binary point formats (`fmt`), p < 2^254 so each Fq element takes 32 bytes:

* ``"compressed"`` -- arkworks canonical compressed form (ark-serialize / ark-ec short
  Weierstrass curves), the project's own compressed format: the x coordinate little-endian
  (G1: 32 bytes; G2: x.c0 || x.c1, 64 bytes) with two flags in the top bits of the LAST byte
  (the most significant byte of x, for G2 of x.c1): bit 7 set when y is the lexicographically
  largest of y and -y (ark's "YIsNegative"), bit 6 set for the point at infinity (then every
  other bit is zero).  "Lexicographically largest" compares canonical integers; in Fq2 it
  compares c1 first and c0 only when the c1's are equal.  A Groth16 proof is 128 bytes:
  A (G1, 32) || B (G2, 64) || C (G1, 32), composed by the Groth16 layer.
* ``"uncompressed"`` -- arkworks canonical uncompressed form: x || y little-endian (G1 64
  bytes; G2 x.c0 || x.c1 || y.c0 || y.c1, 128 bytes), with the same two flags in the last byte
  (that of y, for G2 of y.c1).  Infinity: all zeros but the infinity flag.
* ``"eth"`` -- Ethereum precompiles (EIP-196 / EIP-197): 32-byte big-endian integers, G1
  x || y (64 bytes), G2 x_im || x_re || y_im || y_re (128 bytes; imaginary part first);
  infinity is all zeros.

snarkjs JSON (``verification_key.json`` / ``proof.json``): decimal strings in Jacobian
projective coordinates as ffjavascript writes them (x = X/Z^2, y = Y/Z^3), normalized to
Z = 1: G1 ``["x", "y", "1"]``, G2 ``[["x0", "x1"], ["y0", "y1"], ["1", "0"]]`` (real part
first); infinity ``["0", "1", "0"]`` / ``[["0", "0"], ["1", "0"], ["0", "0"]]``.  Input may
have any non-zero Z (it is converted) or omit Z.

Fr scalars: 32 bytes little-endian (arkworks) or decimal strings; values must be < r.

Decoders accept only canonical encodings: coordinates below p, flags consistent with the
point (the y-sign flag must match y also in the uncompressed form, where arkworks itself
ignores it), the point on the curve, and a G2 point in the order-r subgroup (G1 has cofactor
1).  Each refusal is a subclass of `PointDecodeError` (a ValueError).  The batch decoders
(`decode_points`, `points_from_snarkjs`, `decode_fr_batch`) never raise on a bad item: they
return per-item reason codes (`OK` = 0) beside the decoded array, in which a refused item
is left all zero -- the encoding of infinity, so callers must check `reason` / `ok`.
"""
import re
from typing import NamedTuple

import numpy as np
from numba import prange

from . import montgomery as mont
from ._jit import jit
from .constants import P, R, fq2_inv_ints, fq2_mul_ints
from .curve import B_G1, B_G2, G1, G2, affine_is_infinity, affine_on_curve
from .field_ops import _generic, f_add, f_is_zero, f_load, f_mul, f_neg, f_sqr, f_store, f_zero_like
from .fields import FQ_M, FR, fq_sqrt
from .fq2 import fq2_sqrt
from .limbs import int_to_tuple, ints_to_limbs
from .subgroup import affine_in_subgroup

COMPRESSED, UNCOMPRESSED, ETH = "compressed", "uncompressed", "eth"
FORMATS = (COMPRESSED, UNCOMPRESSED, ETH)

# Flag bits of the last byte (arkworks SWFlags).
FLAG_NEGATIVE = 0x80    # y > -y ("y is lexicographically largest")
FLAG_INFINITY = 0x40
FLAG_MASK = FLAG_NEGATIVE | FLAG_INFINITY

# ---- reasons and exceptions -------------------------------------------------------------
OK, BAD_LENGTH, BAD_FORMAT, NOT_CANONICAL, BAD_FLAGS = 0, 1, 2, 3, 4
NOT_ON_CURVE, NO_SQUARE_ROOT, NOT_IN_SUBGROUP = 5, 6, 7


class PointDecodeError(ValueError):
    """An encoding of a point (or of a scalar) that the decoders refuse."""
    reason = None


class LengthError(PointDecodeError):
    reason = BAD_LENGTH


class FormatError(PointDecodeError):
    """Wrong JSON shape, a non-numeric or non-canonical decimal string, a wrong type."""
    reason = BAD_FORMAT


class FieldRangeError(PointDecodeError):
    """A coordinate >= p (or a scalar >= r)."""
    reason = NOT_CANONICAL


class FlagError(PointDecodeError):
    """Both flags set, infinity flag with non-zero coordinates, or a y-sign flag that does
    not match y."""
    reason = BAD_FLAGS


class NotOnCurveError(PointDecodeError):
    reason = NOT_ON_CURVE


class NoSquareRootError(PointDecodeError):
    """Compressed x with x^3 + b not a square: no point has this x."""
    reason = NO_SQUARE_ROOT


class SubgroupError(PointDecodeError):
    """A point of the G2 twist outside the order-r subgroup."""
    reason = NOT_IN_SUBGROUP


ERRORS = {cls.reason: cls for cls in (LengthError, FormatError, FieldRangeError, FlagError,
                                      NotOnCurveError, NoSquareRootError, SubgroupError)}
MESSAGES = {
    OK: "ok",
    BAD_LENGTH: "wrong length",
    BAD_FORMAT: "malformed (wrong shape, type or number syntax)",
    NOT_CANONICAL: "a coordinate is not below the field modulus",
    BAD_FLAGS: "invalid flag bits",
    NOT_ON_CURVE: "point not on the curve",
    NO_SQUARE_ROOT: "x has no point on the curve (x^3 + b is not a square)",
    NOT_IN_SUBGROUP: "point not in the prime-order subgroup",
}


def error_for(reason: int, what: str = "") -> PointDecodeError:
    """The exception for a reason code, with a message naming `what` was decoded."""
    prefix = f"{what}: " if what else ""
    return ERRORS[int(reason)](prefix + MESSAGES[int(reason)])


class Decoded(NamedTuple):
    """Result of a batch decoder: `values` (points as Montgomery affine arrays, or plain
    scalar limbs) and `reason` (uint8 per item, OK = 0).  Refused items are all zero."""
    values: np.ndarray
    reason: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        return self.reason == OK

    def errors(self) -> list:
        """[(index, message)] of the refused items."""
        return [(int(i), MESSAGES[int(self.reason[i])]) for i in np.flatnonzero(self.reason)]

    def raise_first(self, what: str = ""):
        """Raise the exception of the first refused item, if any."""
        bad = np.flatnonzero(self.reason)
        if bad.size:
            i = int(bad[0])
            raise error_for(self.reason[i], f"{what} item {i}" if what else f"item {i}")


# ---- generic plain-integer helpers for the kernels (Fq or Fq2 by argument type) ----------
_P = int_to_tuple(P)
_HALF = int_to_tuple((P - 1) // 2)


@jit
def _lt(a, b):
    """a < b for plain 4-limb integers."""
    for k in range(3, -1, -1):
        if a[k] != b[k]:
            return a[k] < b[k]
    return False


@jit
def _fq_canonical(a):
    return _lt(a, _P)


@jit
def _fq_largest(a):
    """a > (p-1)/2, i.e. a > -a for canonical non-zero a (arkworks' Fp order)."""
    return _lt(_HALF, a)


@jit
def _fq2_largest(a):
    """Fq2 order: compare c1 first, c0 when c1 == -c1 (c1 = 0)."""
    if f_is_zero(a[1]):
        return _fq_largest(a[0])
    return _fq_largest(a[1])


_canonical = _generic(lambda a: _fq_canonical(a), lambda a: _fq_canonical(a[0]) and _fq_canonical(a[1]))
_largest = _generic(lambda a: _fq_largest(a), lambda a: _fq2_largest(a))
_to_mont = _generic(lambda a: mont.to_mont(a, FQ_M),
                    lambda a: (mont.to_mont(a[0], FQ_M), mont.to_mont(a[1], FQ_M)))
_from_mont = _generic(lambda a: mont.from_mont(a, FQ_M),
                      lambda a: (mont.from_mont(a[0], FQ_M), mont.from_mont(a[1], FQ_M)))
_sqrt = _generic(lambda a: fq_sqrt(a), lambda a: fq2_sqrt(a))
_curve_b = _generic(lambda a: B_G1, lambda a: B_G2)


# ---- kernels -----------------------------------------------------------------------------
# Rows of `plain` hold canonical-candidate integers (flag bits already stripped); `flags` the
# stripped flag bits; `reason` comes in with pre-checks (length, JSON syntax) and goes out
# with the verdict.  prange bodies are single row-function calls (see curve.py).
@jit
def _decode_affine_row(plain, flags, use_flags, check_subgroup, out, reason, i):
    x = f_load(plain, i, 0)
    y = f_load(plain, i, 1)
    zero = f_zero_like(x)
    f_store(out, i, 0, zero)
    f_store(out, i, 1, zero)
    if reason[i] != OK:
        return
    both_zero = f_is_zero(x) and f_is_zero(y)
    fl = flags[i]
    if use_flags:
        if fl & FLAG_INFINITY:
            if (fl & FLAG_NEGATIVE) or not both_zero:
                reason[i] = BAD_FLAGS
            return
        if both_zero:                      # (0, 0) without the infinity flag: not a point
            reason[i] = NOT_ON_CURVE
            return
    elif both_zero:                        # Ethereum / snarkjs-after-parsing: infinity
        return
    if not (_canonical(x) and _canonical(y)):
        reason[i] = NOT_CANONICAL
        return
    if use_flags and _largest(y) != ((fl & FLAG_NEGATIVE) != 0):
        reason[i] = BAD_FLAGS
        return
    xm = _to_mont(x)
    ym = _to_mont(y)
    if not affine_on_curve(xm, ym, _curve_b(xm)):
        reason[i] = NOT_ON_CURVE
        return
    if check_subgroup and not affine_in_subgroup(xm, ym):
        reason[i] = NOT_IN_SUBGROUP
        return
    f_store(out, i, 0, xm)
    f_store(out, i, 1, ym)


@jit(parallel=True)
def decode_affine_kernel(plain, flags, use_flags, check_subgroup, out, reason):
    """Validate and convert plain affine coordinates (G1 (n, 2, 4) / G2 (n, 2, 2, 4))."""
    for i in prange(plain.shape[0]):
        _decode_affine_row(plain, flags, use_flags, check_subgroup, out, reason, i)


@jit
def _decode_compressed_row(xs, flags, check_subgroup, out, reason, i):
    x = f_load(xs, i, 0)
    zero = f_zero_like(x)
    f_store(out, i, 0, zero)
    f_store(out, i, 1, zero)
    if reason[i] != OK:
        return
    fl = flags[i]
    if fl & FLAG_INFINITY:
        if (fl & FLAG_NEGATIVE) or not f_is_zero(x):
            reason[i] = BAD_FLAGS
        return
    if not _canonical(x):
        reason[i] = NOT_CANONICAL
        return
    xm = _to_mont(x)
    ok, y = _sqrt(f_add(f_mul(f_sqr(xm), xm), _curve_b(xm)))
    if not ok:
        reason[i] = NO_SQUARE_ROOT
        return
    # y != 0 (neither curve has 2-torsion), so exactly one of y, -y is the largest.
    if _largest(_from_mont(y)) != ((fl & FLAG_NEGATIVE) != 0):
        y = f_neg(y)
    if check_subgroup and not affine_in_subgroup(xm, y):
        reason[i] = NOT_IN_SUBGROUP
        return
    f_store(out, i, 0, xm)
    f_store(out, i, 1, y)


@jit(parallel=True)
def decode_compressed_kernel(xs, flags, check_subgroup, out, reason):
    """Decompress x (plain, G1 (n, 1, 4) / G2 (n, 1, 2, 4)) with its flags into affine points."""
    for i in prange(xs.shape[0]):
        _decode_compressed_row(xs, flags, check_subgroup, out, reason, i)


@jit
def _encode_row(points, plain, flags, i):
    x = f_load(points, i, 0)
    y = f_load(points, i, 1)
    if affine_is_infinity(x, y):
        f_store(plain, i, 0, x)
        f_store(plain, i, 1, y)
        flags[i] = FLAG_INFINITY
        return
    yp = _from_mont(y)
    f_store(plain, i, 0, _from_mont(x))
    f_store(plain, i, 1, yp)
    flags[i] = FLAG_NEGATIVE if _largest(yp) else 0


@jit(parallel=True)
def encode_kernel(points, plain, flags):
    """Montgomery affine points -> plain coordinates and arkworks flag bits."""
    for i in prange(points.shape[0]):
        _encode_row(points, plain, flags, i)


# ---- bytes <-> limb arrays ---------------------------------------------------------------
def _coords(group) -> int:
    """Fq elements per coordinate: 1 for G1, 2 for G2."""
    return 1 if group.coord_shape == (4,) else 2


def point_size(group, fmt: str = COMPRESSED) -> int:
    """Bytes per point: G1 32 / 64 / 64, G2 64 / 128 / 128 for compressed / uncompressed / eth."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown point format {fmt!r}; expected one of {FORMATS}")
    k = _coords(group)
    return 32 * k * (1 if fmt == COMPRESSED else 2)


def _rows(data, size: int, what: str):
    """(n, size) uint8 rows and a reason array.  Accepts one bytes-like object holding n
    encodings back to back (its length must be a multiple of `size`), a 2-D uint8 array, or
    a sequence of bytes-like items (a wrong-length item gets BAD_LENGTH, not an exception)."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        raw = np.frombuffer(bytes(data), dtype=np.uint8)
        if raw.size % size:
            raise LengthError(f"{what}: {raw.size} bytes is not a multiple of {size}")
        rows = raw.reshape(-1, size).copy()
        return rows, np.zeros(rows.shape[0], dtype=np.uint8)
    if isinstance(data, np.ndarray):
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != size:
            raise LengthError(f"{what}: expected a (n, {size}) uint8 array, got {data.dtype} {data.shape}")
        return np.array(data, dtype=np.uint8, order="C"), np.zeros(data.shape[0], dtype=np.uint8)
    items = list(data)
    rows = np.zeros((len(items), size), dtype=np.uint8)
    reason = np.zeros(len(items), dtype=np.uint8)
    for i, item in enumerate(items):
        if isinstance(item, (bytes, bytearray, memoryview)) and len(item) == size:
            rows[i] = np.frombuffer(bytes(item), dtype=np.uint8)
        else:
            reason[i] = BAD_LENGTH
    return rows, reason


def _strip_flags(rows):
    """Split off the two flag bits of each row's last byte (arkworks formats)."""
    flags = rows[:, -1] & FLAG_MASK
    rows[:, -1] &= ~np.uint8(FLAG_MASK)
    return flags.astype(np.uint8)


def _le_limbs(rows, shape):
    """Little-endian byte rows -> plain limb array of `shape` (n, ...)."""
    return np.ascontiguousarray(rows).view("<u8").astype(np.uint64).reshape(shape)


def _eth_to_limbs(rows, group):
    """Big-endian 32-byte words -> plain (n, 2, 4) / (n, 2, 2, 4); G2 words are im, re."""
    n = rows.shape[0]
    words = rows.reshape(n, -1, 32)[:, :, ::-1]
    limbs = _le_limbs(words, (n, words.shape[1], 4))
    if group is G2:
        limbs = limbs[:, [1, 0, 3, 2]]
    return np.ascontiguousarray(limbs.reshape((n, 2) + group.coord_shape))


def _limbs_to_eth(plain, group):
    n = plain.shape[0]
    words = plain.reshape(n, -1, 4)
    if group is G2:
        words = words[:, [1, 0, 3, 2]]
    raw = np.ascontiguousarray(words).astype("<u8").view(np.uint8).reshape(n, -1, 32)[:, :, ::-1]
    return np.ascontiguousarray(raw.reshape(n, -1))


def decode_points(group, data, fmt: str = COMPRESSED, subgroup_check: bool = True) -> Decoded:
    """Decode many encodings of G1 or G2 points (`group` is curve.G1 or curve.G2).

    `data`: bytes with the encodings back to back, a (n, size) uint8 array, or a sequence
    of bytes objects.  Returns Decoded(points, reason): Montgomery affine points ((n, 2, 4) or
    (n, 2, 2, 4)) and a uint8 reason per item; nothing raises for a malformed item.
    `subgroup_check=False` skips only the G2 subgroup test (about half the cost of a G2
    decode), for data this process wrote itself such as proving keys; never for proofs."""
    size = point_size(group, fmt)
    what = f"{group.name} {fmt}"
    rows, reason = _rows(data, size, what)
    n = rows.shape[0]
    out = np.empty((n, 2) + group.coord_shape, dtype=np.uint64)
    if not n:
        return Decoded(out, reason)
    check = 1 if subgroup_check else 0
    if fmt == ETH:
        plain = _eth_to_limbs(rows, group)
        decode_affine_kernel(plain, np.zeros(n, dtype=np.uint8), 0, check, out, reason)
    elif fmt == UNCOMPRESSED:
        flags = _strip_flags(rows)
        decode_affine_kernel(_le_limbs(rows, (n, 2) + group.coord_shape), flags, 1, check, out, reason)
    else:
        flags = _strip_flags(rows)
        decode_compressed_kernel(_le_limbs(rows, (n, 1) + group.coord_shape), flags, check, out, reason)
    return Decoded(out, reason)


def encode_points(group, points, fmt: str = COMPRESSED) -> np.ndarray:
    """Montgomery affine points (all zeros = infinity) -> (n, size) uint8 encodings.  The
    points are trusted to be valid (they come from this package's kernels)."""
    size = point_size(group, fmt)
    points = group._check(points, 2)
    n = points.shape[0]
    plain = np.empty_like(points)
    flags = np.empty(n, dtype=np.uint8)
    if n:
        encode_kernel(points, plain, flags)
    if fmt == ETH:
        return _limbs_to_eth(plain, group)
    raw = np.ascontiguousarray(plain.astype("<u8")).view(np.uint8).reshape(n, -1)[:, :size].copy()
    raw[:, -1] |= flags
    return raw


# ---- single points (Python values) -------------------------------------------------------
def _check_python_point(group, point):
    """Range and curve check of a Python-level point before encoding it."""
    if point is None:
        return
    coords = [point[0], point[1]] if group is G1 else [*point[0], *point[1]]
    if any(not isinstance(c, int) or not 0 <= c < P for c in coords):
        raise ValueError(f"{group.name} point coordinates must be ints in [0, p)")
    if not group.on_curve(group.encode([point]))[0]:
        raise ValueError(f"{group.name} point is not on the curve")


def encode_point(group, point, fmt: str = COMPRESSED) -> bytes:
    """One Python-level point ((x, y), ((x0, x1), (y0, y1)) or None) -> bytes."""
    _check_python_point(group, point)
    return encode_points(group, group.encode([point]), fmt)[0].tobytes()


def decode_point(group, data, fmt: str = COMPRESSED):
    """bytes -> Python-level point (None for infinity); raises a PointDecodeError subclass."""
    size = point_size(group, fmt)
    what = f"{group.name} {fmt} point"
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError(f"{what}: expected bytes, got {type(data).__name__}")
    if len(data) != size:
        raise LengthError(f"{what}: expected {size} bytes, got {len(data)}")
    res = decode_points(group, bytes(data), fmt)
    if res.reason[0] != OK:
        raise error_for(res.reason[0], what)
    return group.decode(res.values)[0]


# ---- snarkjs JSON --------------------------------------------------------------------------
_DECIMAL = re.compile(r"(0|[1-9][0-9]*)\Z")
_MAX_DIGITS = len(str(P))   # longer canonical decimals are >= 10^77 > p


def _parse_int(s, modulus: int, what: str) -> int:
    """A canonical decimal string (or a non-negative int) below the modulus."""
    if isinstance(s, bool) or not isinstance(s, (str, int)):
        raise FormatError(f"{what}: expected a decimal string, got {type(s).__name__}")
    if isinstance(s, str):
        if not _DECIMAL.match(s):
            raise FormatError(f"{what}: {s[:40]!r} is not a canonical decimal number")
        if len(s) > _MAX_DIGITS:
            raise FieldRangeError(f"{what}: value is not below the modulus")
        s = int(s)
    if not 0 <= s < modulus:
        raise FieldRangeError(f"{what}: value is not below the modulus")
    return s


def _parse_snarkjs(group, obj, what):
    """JSON object -> Python affine point (None = infinity); FormatError / FieldRangeError /
    NotOnCurveError for what can be decided without curve arithmetic."""
    if not isinstance(obj, (list, tuple)) or len(obj) not in (2, 3):
        raise FormatError(f"{what}: expected a list of 2 or 3 coordinates")
    if group is G1:
        coords = [_parse_int(c, P, what) for c in obj]
        one, zero, mul, inv = 1, 0, lambda a, b: a * b % P, lambda a: pow(a, -1, P)
    else:
        coords = []
        for c in obj:
            if not isinstance(c, (list, tuple)) or len(c) != 2:
                raise FormatError(f"{what}: each G2 coordinate must be a pair [c0, c1]")
            coords.append(tuple(_parse_int(v, P, what) for v in c))
        one, zero, mul, inv = (1, 0), (0, 0), fq2_mul_ints, fq2_inv_ints
    x, y = coords[0], coords[1]
    z = coords[2] if len(coords) == 3 else one
    if z == zero:
        if x == zero and y == one:
            return None
        raise FormatError(f"{what}: Z = 0 but not the canonical point at infinity (0, 1, 0)")
    if z != one:   # Jacobian: x = X / Z^2, y = Y / Z^3
        zi = inv(z)
        zi2 = mul(zi, zi)
        x, y = mul(x, zi2), mul(y, mul(zi2, zi))
    if x == zero and y == zero:
        raise NotOnCurveError(f"{what}: (0, 0) is not on the curve")
    return (x, y)


def to_snarkjs(group, point) -> list:
    """Python-level point -> snarkjs JSON value (decimal strings, Z = 1)."""
    _check_python_point(group, point)
    if group is G1:
        return ["0", "1", "0"] if point is None else [str(point[0]), str(point[1]), "1"]
    if point is None:
        return [["0", "0"], ["1", "0"], ["0", "0"]]
    return [[str(c) for c in point[0]], [str(c) for c in point[1]], ["1", "0"]]


def points_to_snarkjs(group, points) -> list:
    """Montgomery affine array -> list of snarkjs JSON values."""
    out = []
    for pt in group.decode(points):
        if group is G1:
            out.append(["0", "1", "0"] if pt is None else [str(pt[0]), str(pt[1]), "1"])
        else:
            out.append([["0", "0"], ["1", "0"], ["0", "0"]] if pt is None
                       else [[str(c) for c in pt[0]], [str(c) for c in pt[1]], ["1", "0"]])
    return out


def points_from_snarkjs(group, objs) -> Decoded:
    """Many snarkjs JSON points -> Decoded(Montgomery affine points, reasons); never raises
    for a malformed item."""
    objs = list(objs)
    n = len(objs)
    reason = np.zeros(n, dtype=np.uint8)
    pts = []
    for i, obj in enumerate(objs):
        try:
            pts.append(_parse_snarkjs(group, obj, f"{group.name} snarkjs point"))
        except PointDecodeError as exc:
            reason[i] = exc.reason
            pts.append(None)
    plain = ints_to_limbs(c for pt in pts for c in _flat(group, pt)).reshape((n, 2) + group.coord_shape)
    out = np.empty_like(plain)
    if n:
        decode_affine_kernel(plain, np.zeros(n, dtype=np.uint8), 0, 1, out, reason)
    return Decoded(out, reason)


def _flat(group, pt):
    if pt is None:
        return (0, 0) if group is G1 else (0, 0, 0, 0)
    return pt if group is G1 else (*pt[0], *pt[1])


def from_snarkjs(group, obj):
    """snarkjs JSON value -> Python-level point; raises a PointDecodeError subclass."""
    what = f"{group.name} snarkjs point"
    _parse_snarkjs(group, obj, what)       # raise the syntax errors with their own message
    res = points_from_snarkjs(group, [obj])
    if res.reason[0] != OK:
        raise error_for(res.reason[0], what)
    return group.decode(res.values)[0]


# ---- Fr scalars -------------------------------------------------------------------------------
def fr_to_bytes(value: int) -> bytes:
    """A scalar in [0, r) -> 32 bytes little-endian (arkworks)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < R:
        raise ValueError("an Fr scalar must be an int in [0, r)")
    return value.to_bytes(32, "little")


def fr_from_bytes(data) -> int:
    """32 bytes little-endian -> scalar; LengthError, FieldRangeError for >= r."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError(f"Fr scalar: expected bytes, got {type(data).__name__}")
    if len(data) != 32:
        raise LengthError(f"Fr scalar: expected 32 bytes, got {len(data)}")
    value = int.from_bytes(bytes(data), "little")
    if value >= R:
        raise FieldRangeError("Fr scalar: value is not below r")
    return value


def fr_to_decimal(value: int) -> str:
    fr_to_bytes(value)
    return str(value)


def fr_from_decimal(s) -> int:
    """A canonical decimal string (snarkjs public.json) -> scalar below r."""
    return _parse_int(s, R, "Fr scalar")


def encode_fr_batch(scalars) -> np.ndarray:
    """(n, 4) plain scalar limbs -> (n, 32) uint8 little-endian encodings."""
    scalars = np.ascontiguousarray(scalars, dtype=np.uint64)
    if scalars.ndim != 2 or scalars.shape[1] != 4:
        raise ValueError(f"expected (n, 4) scalar limbs, got {scalars.shape}")
    return scalars.astype("<u8").view(np.uint8).reshape(-1, 32).copy()


def decode_fr_batch(data) -> Decoded:
    """Many 32-byte little-endian scalars -> Decoded((n, 4) plain limbs, reasons)."""
    rows, reason = _rows(data, 32, "Fr scalars")
    limbs = _le_limbs(rows, (rows.shape[0], 4))
    bad = (reason == OK) & ~FR.is_canonical(limbs)
    reason[bad] = NOT_CANONICAL
    limbs[reason != OK] = 0
    return Decoded(limbs, reason)


__all__ = [
    "COMPRESSED", "UNCOMPRESSED", "ETH", "FORMATS", "FLAG_NEGATIVE", "FLAG_INFINITY",
    "OK", "BAD_LENGTH", "BAD_FORMAT", "NOT_CANONICAL", "BAD_FLAGS", "NOT_ON_CURVE",
    "NO_SQUARE_ROOT", "NOT_IN_SUBGROUP", "MESSAGES", "ERRORS", "error_for",
    "PointDecodeError", "LengthError", "FormatError", "FieldRangeError", "FlagError",
    "NotOnCurveError", "NoSquareRootError", "SubgroupError", "Decoded",
    "point_size", "decode_points", "encode_points", "decode_point", "encode_point",
    "to_snarkjs", "from_snarkjs", "points_to_snarkjs", "points_from_snarkjs",
    "fr_to_bytes", "fr_from_bytes", "fr_to_decimal", "fr_from_decimal",
    "encode_fr_batch", "decode_fr_batch",
]
