"""256-bit integers as four little-endian 64-bit limbs, and the carry primitives.

numba has no 128-bit integer type, but LLVM does: these intrinsics emit an `i128`
multiply-add, which LLVM lowers to a single `mul`/`mulx` plus `add`/`adc` on x86-64.
A field element inside a kernel is a `UniTuple(uint64, 4)` (lives in registers);
in memory it is one row of a `(n, 4)` uint64 array.
"""
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from ._jit import inline

LIMBS = 4
MASK64 = (1 << 64) - 1
_U64x2 = types.UniTuple(types.uint64, 2)


def _wide(builder, values):
    i128 = ir.IntType(128)
    return [builder.zext(v, i128) for v in values]


def _split(context, builder, signature, wide):
    i64 = ir.IntType(64)
    lo = builder.trunc(wide, i64)
    hi = builder.trunc(builder.lshr(wide, ir.Constant(ir.IntType(128), 64)), i64)
    return context.make_tuple(builder, signature.return_type, [lo, hi])


@intrinsic
def mac(typingctx, a, b, c, d):
    """a*b + c + d -> (lo, hi); never overflows 128 bits."""
    sig = _U64x2(types.uint64, types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        a_, b_, c_, d_ = _wide(builder, args)
        return _split(context, builder, signature, builder.add(builder.add(builder.mul(a_, b_), c_), d_))

    return sig, codegen


@intrinsic
def adc(typingctx, a, b, carry):
    """a + b + carry -> (sum, carry_out); llvm.uadd.with.overflow lowers to a native add/adc
    chain, where an i128 addition compiled to poor code."""
    sig = _U64x2(types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        a_, b_, c_ = args
        i64 = ir.IntType(64)
        d1 = builder.uadd_with_overflow(a_, b_)
        d2 = builder.uadd_with_overflow(builder.extract_value(d1, 0), c_)
        o = builder.or_(builder.extract_value(d1, 1), builder.extract_value(d2, 1))
        return context.make_tuple(builder, signature.return_type,
                                  [builder.extract_value(d2, 0), builder.zext(o, i64)])

    return sig, codegen


@intrinsic
def sbb(typingctx, a, b, borrow):
    """a - b - borrow -> (difference, borrow_out in {0, 1})."""
    sig = _U64x2(types.uint64, types.uint64, types.uint64)

    def codegen(context, builder, signature, args):
        a_, b_, c_ = args
        i64 = ir.IntType(64)
        d1 = builder.usub_with_overflow(a_, b_)
        d2 = builder.usub_with_overflow(builder.extract_value(d1, 0), c_)
        o = builder.or_(builder.extract_value(d1, 1), builder.extract_value(d2, 1))
        return context.make_tuple(builder, signature.return_type,
                                  [builder.extract_value(d2, 0), builder.zext(o, i64)])

    return sig, codegen


@inline
def load(arr, i):
    """Row i of an (n, 4) limb array as a register tuple."""
    return (arr[i, 0], arr[i, 1], arr[i, 2], arr[i, 3])


@inline
def store(arr, i, x):
    arr[i, 0] = x[0]
    arr[i, 1] = x[1]
    arr[i, 2] = x[2]
    arr[i, 3] = x[3]


def int_to_tuple(x: int):
    """A Python int (0 <= x < 2^256) as a limb tuple of np.uint64, for numba constants."""
    return tuple(np.uint64((x >> (64 * k)) & MASK64) for k in range(LIMBS))


def ints_to_limbs(values) -> np.ndarray:
    """Python ints in [0, 2^256) -> (n, 4) uint64 array, little-endian limbs."""
    values = list(values)
    try:
        raw = b"".join(int(v).to_bytes(32, "little") for v in values)
    except OverflowError as exc:
        raise ValueError("value does not fit in 256 bits (or is negative)") from exc
    return np.frombuffer(raw, dtype="<u8").astype(np.uint64).reshape(len(values), LIMBS)


def limbs_to_ints(arr: np.ndarray) -> list:
    """(n, 4) uint64 array -> list of Python ints."""
    flat = np.ascontiguousarray(arr, dtype="<u8").reshape(-1, LIMBS)
    raw = flat.tobytes()
    return [int.from_bytes(raw[32 * k: 32 * k + 32], "little") for k in range(flat.shape[0])]
