"""Radix-2 number-theoretic transform over Fr, on all cores.

An NTT of size n = 2^k (k <= 28, the two-adicity of Fr) maps coefficients a_0..a_{n-1} to
the evaluations a(omega^i), omega = `constants.fr_root_of_unity(k)`; both in natural order,
as (n, 4) uint64 arrays in Montgomery form.  The inverse includes the 1/n scaling, and the
coset forms evaluate at (or interpolate from) shift * omega^i.  Groth16 uses these to turn
the QAP evaluations into coefficients and evaluate them on a coset, where the vanishing
polynomial is a non-zero constant.

Algorithm.  Small transforms run in one buffer: decimation-in-frequency butterflies
(Gentleman and Sande, 1966) with one contiguous twiddle table per stage, then a
bit-reversal permutation.  Large ones use Bailey's four-step method ("FFTs in external or
hierarchical memory", J. Supercomputing 4, 1990): with n = n1 * n2 and the input seen as
an n1 x n2 row-major matrix,
  1. an n1-point NTT on every column (blocks of columns are gathered into a per-thread
     buffer, so each transform runs in cache and reads whole cache lines),
  2. element (k1, j2) is multiplied by omega^(k1 * j2),
  3. an n2-point NTT on every row (rows are contiguous),
  4. a blocked transpose writes the result in natural order.
Every pass streams memory once, instead of once per butterfly stage, and all twiddle
tables are O(sqrt n): a 2^24-point transform keeps two 4096-entry tables, not n/2 roots.
The twiddle of step 2 is a product of two table entries, omega^e = omega^(n1 e_hi) *
omega^e_lo, so no long chain of dependent multiplications is needed.

The inverse is the forward transform read backwards, INTT(y)_i = NTT(y)_{-i mod n} / n
(the reversal and the scaling fold into the last pass), and coset shifts are element-wise
scalings by shift^i folded into the first pass (forward) or the last (inverse).
"""
from functools import lru_cache

import numpy as np
from numba import get_num_threads, prange

from . import montgomery as mont
from ._jit import inline, jit
from .constants import FR_MULTIPLICATIVE_GENERATOR, FR_TWO_ADICITY, R, fr_root_of_unity
from .fields import FR, FR_M
from .limbs import load, sbb, store

MAX_LOG_N = FR_TWO_ADICITY
# Up to this size a transform runs single-threaded in one buffer; above it the four-step
# method on all cores is faster (measured crossover on 2 cores: 2^9).
DIRECT_MAX_LOG = 8
# Column blocks of the four-step method hold about this many elements (1 MiB, in L2).
_COLUMN_BLOCK_ELEMENTS = 1 << 15
_TRANSPOSE_TILE = 16

# Scaling modes of the first and last pass.
_NO_SCALE, _CONST_SCALE, _TABLE_SCALE = 0, 1, 2


# ---- kernels -------------------------------------------------------------------------------
@inline
def _add(a, b):
    return mont.add(a, b, FR_M)


@inline
def _sub(a, b):
    return mont.sub(a, b, FR_M)


@inline
def _scaled(x, mode, lo, hi, shift, mask, i):
    """x times the scale factor of index i: 1, hi[0], or hi[i >> shift] * lo[i & mask]."""
    if mode == 0:
        return x
    if mode == 1:
        return mont.mul(x, load(hi, 0), FR_M)
    f = mont.mul(load(hi, i >> shift), load(lo, i & mask), FR_M)
    return mont.mul(x, f, FR_M)


@jit
def _dif(a, off, m, tw):
    """In-place decimation-in-frequency NTT of rows off..off+m-1 of a (m a power of two).

    Natural-order input, bit-reversed output.  tw[h + j] = omega_{2h}^j for j < h, so the
    stage with half-size h reads tw[h:2h] contiguously.
    """
    h = m >> 1
    while h >= 4:
        for s in range(off, off + m, 2 * h):
            x = load(a, s)
            y = load(a, s + h)
            store(a, s, _add(x, y))
            store(a, s + h, _sub(x, y))
            for j in range(1, h):
                x = load(a, s + j)
                y = load(a, s + j + h)
                store(a, s + j, _add(x, y))
                store(a, s + j + h, mont.mul(_sub(x, y), load(tw, h + j), FR_M))
        h >>= 1
    if h == 2:
        # The last two stages fused: butterflies on quadruples, the only twiddle is omega_4.
        w4 = load(tw, 3)
        for s in range(off, off + m, 4):
            x0 = load(a, s)
            x1 = load(a, s + 1)
            x2 = load(a, s + 2)
            x3 = load(a, s + 3)
            u0 = _add(x0, x2)
            u2 = _sub(x0, x2)
            u1 = _add(x1, x3)
            u3 = mont.mul(_sub(x1, x3), w4, FR_M)
            store(a, s, _add(u0, u1))
            store(a, s + 1, _sub(u0, u1))
            store(a, s + 2, _add(u2, u3))
            store(a, s + 3, _sub(u2, u3))
    elif h == 1:
        for s in range(off, off + m, 2):
            x = load(a, s)
            y = load(a, s + 1)
            store(a, s, _add(x, y))
            store(a, s + 1, _sub(x, y))


@jit
def _direct(src, dst, tw, rev, inverse, pre_mode, pre_lo, pre_hi, pre_shift,
            post_mode, post_lo, post_hi, post_shift):
    """A whole transform in one buffer: scale, DIF, then permute (and reverse) into dst."""
    n = src.shape[0]
    buf = np.empty((n, 4), np.uint64)
    pre_mask = (1 << pre_shift) - 1
    for i in range(n):
        store(buf, i, _scaled(load(src, i), pre_mode, pre_lo, pre_hi, pre_shift, pre_mask, i))
    _dif(buf, 0, n, tw)
    post_mask = (1 << post_shift) - 1
    for i in range(n):
        k = ((n - i) & (n - 1)) if inverse else i
        x = load(buf, rev[k])
        store(dst, i, _scaled(x, post_mode, post_lo, post_hi, post_shift, post_mask, i))


@jit(parallel=True)
def _columns(src, dst, n1, n2, width, tw, rev1, pre_mode, pre_lo, pre_hi, pre_shift):
    """Four-step pass 1: n1-point NTTs down the columns of src (n1 x n2), into dst."""
    pre_mask = (1 << pre_shift) - 1
    for blk in prange(n2 // width):
        j2 = blk * width
        buf = np.empty((width * n1, 4), np.uint64)
        for j1 in range(n1):
            base = j1 * n2 + j2
            for c in range(width):
                i = base + c
                x = _scaled(load(src, i), pre_mode, pre_lo, pre_hi, pre_shift, pre_mask, i)
                store(buf, c * n1 + j1, x)
        for c in range(width):
            _dif(buf, c * n1, n1, tw)
        for p in range(n1):
            row = rev1[p] * n2 + j2
            for c in range(width):
                store(dst, row + c, load(buf, c * n1 + p))


@jit(parallel=True)
def _rows(a, n1, n2, log_n1, tw, rev2, t_lo, t_hi):
    """Four-step passes 2 and 3 on each row k1: twiddle by omega^(k1 j2), n2-point NTT."""
    n = n1 * n2
    for k1 in prange(n1):
        off = k1 * n2
        if k1 != 0:
            for j2 in range(1, n2):
                e = (k1 * j2) & (n - 1)
                t = mont.mul(load(t_hi, e >> log_n1), load(t_lo, e & (n1 - 1)), FR_M)
                store(a, off + j2, mont.mul(load(a, off + j2), t, FR_M))
        _dif(a, off, n2, tw)
        for q in range(n2):
            r = rev2[q]
            if q < r:
                x = load(a, off + q)
                store(a, off + q, load(a, off + r))
                store(a, off + r, x)


@jit(parallel=True)
def _transpose(src, dst, n1, n2, tile, inverse, post_mode, post_lo, post_hi, post_shift):
    """Four-step pass 4: dst[k2 n1 + k1] = src[k1 n2 + k2] (index negated mod n if inverse)."""
    n = n1 * n2
    post_mask = (1 << post_shift) - 1
    t1 = n1 // tile
    t2 = n2 // tile
    for t in prange(t1 * t2):
        b1 = (t // t2) * tile
        b2 = (t % t2) * tile
        for k2 in range(b2, b2 + tile):
            for k1 in range(b1, b1 + tile):
                d = k2 * n1 + k1
                if inverse:
                    d = (n - d) & (n - 1)
                x = load(src, k1 * n2 + k2)
                store(dst, d, _scaled(x, post_mode, post_lo, post_hi, post_shift, post_mask, d))


@jit(parallel=True)
def _powers_kernel(lo, hi, shift, out):
    """out[i] = hi[i >> shift] * lo[i & mask]: a table of powers without a dependency chain."""
    mask = (1 << shift) - 1
    for i in prange(out.shape[0]):
        store(out, i, mont.mul(load(hi, i >> shift), load(lo, i & mask), FR_M))


@jit(parallel=True)
def _count_unreduced(a):
    """How many rows of a are not below the modulus r (not valid Montgomery residues)."""
    bad = 0
    z = np.uint64(0)
    for i in prange(a.shape[0]):
        _, br = sbb(a[i, 0], FR_M[0], z)
        _, br = sbb(a[i, 1], FR_M[1], br)
        _, br = sbb(a[i, 2], FR_M[2], br)
        _, br = sbb(a[i, 3], FR_M[3], br)
        if br == 0:
            bad += 1
    return bad


# ---- tables (cached) -----------------------------------------------------------------------
def _frozen(arr: np.ndarray) -> np.ndarray:
    # Every table handed to the kernels is read-only, so each kernel compiles one signature.
    arr.setflags(write=False)
    return arr


_UNUSED = _frozen(np.zeros((1, 4), np.uint64))


_TWIDDLES = {}
_BITREV = {}
_ROW_TWIDDLES = {}


def _power_table(base: int, count: int, factor: int = 1) -> np.ndarray:
    """factor * base^i for i < count, as an (count, 4) Montgomery array.

    Short tables are computed with Python ints; long ones as products of two short ones
    (hi[i >> s] * lo[i & (2^s - 1)]) on all cores.
    """
    base %= R
    if count <= 64:
        out = []
        x = factor % R
        for _ in range(count):
            out.append(x)
            x = x * base % R
        return FR.encode(out)
    shift = ((count - 1).bit_length() + 1) // 2
    lo = _frozen(_power_table(base, 1 << shift))
    hi = _frozen(_power_table(pow(base, 1 << shift, R), ((count - 1) >> shift) + 1, factor))
    out = np.empty((count, 4), np.uint64)
    _powers_kernel(lo, hi, shift, out)
    return out


def twiddle_table(log_n: int) -> np.ndarray:
    """The per-stage twiddle table of size n = 2^log_n: row h + j holds omega_{2h}^j (j < h).

    Stage h of a radix-2 transform reads rows h..2h-1 contiguously.  Row 0 is unused (one).
    The table of a size contains those of all smaller sizes as its first rows.  Cached per size.
    """
    _check_log(log_n)
    table = _TWIDDLES.get(log_n)
    if table is None:
        n = 1 << log_n
        table = np.empty((max(n, 2), 4), np.uint64)
        table[0] = FR.ONE
        if n >= 2:
            table[n // 2:n] = _power_table(fr_root_of_unity(log_n), n // 2)
            h = n // 4
            while h >= 1:
                table[h:2 * h] = table[2 * h:4 * h:2]
                h //= 2
        table = _frozen(table[:n] if n >= 2 else table[:1])
        _TWIDDLES[log_n] = table
    return table


def _bitrev(log_n: int) -> np.ndarray:
    rev = _BITREV.get(log_n)
    if rev is None:
        n = 1 << log_n
        rev = np.zeros(n, np.int64)
        for b in range(log_n):
            rev |= ((np.arange(n, dtype=np.int64) >> b) & 1) << (log_n - 1 - b)
        _BITREV[log_n] = rev = _frozen(rev)
    return rev


def _row_twiddles(log_n: int, log_n1: int):
    """(t_lo, t_hi) with omega_n^e = t_hi[e >> log_n1] * t_lo[e & (n1 - 1)]."""
    key = (log_n, log_n1)
    tables = _ROW_TWIDDLES.get(key)
    if tables is None:
        w = fr_root_of_unity(log_n)
        n1 = 1 << log_n1
        tables = (_frozen(_power_table(w, n1)),
                  _frozen(_power_table(pow(w, n1, R), 1 << (log_n - log_n1))))
        _ROW_TWIDDLES[key] = tables
    return tables


@lru_cache(maxsize=32)
def _scale_tables(factor: int, base: int, log_n: int, shift: int):
    """(lo, hi) with factor * base^i = hi[i >> shift] * lo[i & (2^shift - 1)], for i < 2^log_n."""
    lo = _power_table(base, 1 << shift)
    hi = _power_table(pow(base, 1 << shift, R), 1 << (log_n - shift), factor)
    return _frozen(lo), _frozen(hi)


# ---- Python API ----------------------------------------------------------------------------
def _check_log(log_n):
    if not 0 <= log_n <= MAX_LOG_N:
        raise ValueError(f"NTT size must be 2^k with 0 <= k <= {MAX_LOG_N}, got 2^{log_n}")


def _check_values(values) -> int:
    """Validate an (n, 4) uint64 array of Fr residues, n a power of two; returns log2 n."""
    if not isinstance(values, np.ndarray):
        raise ValueError(f"expected a numpy (n, 4) uint64 array, got {type(values).__name__}")
    if values.dtype != np.uint64:
        raise ValueError(f"expected dtype uint64, got {values.dtype}")
    if values.ndim != 2 or values.shape[1] != 4:
        raise ValueError(f"expected shape (n, 4), got {values.shape}")
    n = values.shape[0]
    if n == 0 or n & (n - 1):
        raise ValueError(f"NTT size must be a power of two, got {n}")
    log_n = n.bit_length() - 1
    _check_log(log_n)
    return log_n


def _check_reduced(values):
    if _count_unreduced(values):
        raise ValueError("values are not Fr residues in Montgomery form (some are >= r)")


def _shift_value(coset_shift):
    """None/False -> None; True -> the default generator; an int -> that shift mod r."""
    if coset_shift is None or coset_shift is False:
        return None
    if coset_shift is True:
        return FR_MULTIPLICATIVE_GENERATOR
    if not isinstance(coset_shift, (int, np.integer)):
        raise ValueError(f"coset_shift must be an int, got {type(coset_shift).__name__}")
    shift = int(coset_shift) % R
    if shift == 0:
        raise ValueError("coset_shift must be non-zero modulo r")
    return shift


def _transform(src, dst, log_n, inverse, shift):
    n = 1 << log_n
    pre = (_NO_SCALE, _UNUSED, _UNUSED, 0)
    post = (_NO_SCALE, _UNUSED, _UNUSED, 0)
    if log_n <= DIRECT_MAX_LOG:
        split_pre = split_post = log_n // 2
    else:
        log_n1 = log_n // 2
        log_n2 = log_n - log_n1
        split_pre, split_post = log_n2, log_n1
    if inverse:
        n_inv = pow(n, -1, R)
        if shift is None:
            if n > 1:
                post = (_CONST_SCALE, _UNUSED, _frozen(_power_table(1, 1, n_inv)), 0)
        else:
            lo, hi = _scale_tables(n_inv, pow(shift, -1, R), log_n, split_post)
            post = (_TABLE_SCALE, lo, hi, split_post)
    elif shift is not None:
        lo, hi = _scale_tables(1, shift, log_n, split_pre)
        pre = (_TABLE_SCALE, lo, hi, split_pre)

    if log_n <= DIRECT_MAX_LOG:
        _direct(src, dst, twiddle_table(log_n), _bitrev(log_n), inverse, *pre, *post)
        return
    n1, n2 = 1 << log_n1, 1 << log_n2
    tw = twiddle_table(log_n2)  # log_n2 >= log_n1: holds the stages of both sizes
    # Columns per block: a power of two (so blocks tile the n2 columns), at least two (a
    # whole cache line per row), a few blocks per thread, the block in L2.
    width = max(2, min(n2 // (4 * get_num_threads()), _COLUMN_BLOCK_ELEMENTS // n1))
    width = min(1 << (width.bit_length() - 1), n2)
    scratch = np.empty((n, 4), np.uint64)
    _columns(src, scratch, n1, n2, width, tw, _bitrev(log_n1), *pre)
    t_lo, t_hi = _row_twiddles(log_n, log_n1)
    _rows(scratch, n1, n2, log_n1, tw, _bitrev(log_n2), t_lo, t_hi)
    tile = min(_TRANSPOSE_TILE, n1)
    _transpose(scratch, dst, n1, n2, tile, inverse, *post)


def ntt(values: np.ndarray, inverse: bool = False, coset_shift=None) -> np.ndarray:
    """The NTT of an (n, 4) Montgomery Fr array, as a new array.

    Forward: out[i] = sum_j values[j] * (s omega^i)^j, s = coset_shift or 1.  Inverse: the
    exact inverse of that map (coefficients from evaluations, 1/n included).  coset_shift is
    None (no coset), True (the generator 5) or an int, non-zero mod r.
    """
    log_n = _check_values(values)
    shift = _shift_value(coset_shift)
    src = np.ascontiguousarray(values)
    if not src.flags.writeable:
        src = src.copy()  # the kernels are compiled for writeable inputs
    _check_reduced(src)
    out = np.empty_like(src)
    _transform(src, out, log_n, bool(inverse), shift)
    return out


def ntt_inplace(values: np.ndarray, inverse: bool = False, coset_shift=None) -> None:
    """As `ntt`, overwriting values (a C-contiguous writeable array) with the result."""
    log_n = _check_values(values)
    if not (values.flags.c_contiguous and values.flags.writeable):
        raise ValueError("ntt_inplace needs a C-contiguous, writeable array")
    shift = _shift_value(coset_shift)
    _check_reduced(values)
    _transform(values, values, log_n, bool(inverse), shift)


def intt(values: np.ndarray, coset_shift=None) -> np.ndarray:
    """The inverse NTT (coefficients from evaluations at coset_shift * omega^i)."""
    return ntt(values, inverse=True, coset_shift=coset_shift)


def coset_ntt(values: np.ndarray, shift: int = FR_MULTIPLICATIVE_GENERATOR) -> np.ndarray:
    """Evaluations at shift * omega^i (default shift: the generator 5)."""
    return ntt(values, coset_shift=shift)


def coset_intt(values: np.ndarray, shift: int = FR_MULTIPLICATIVE_GENERATOR) -> np.ndarray:
    """Coefficients from evaluations at shift * omega^i (default shift: the generator 5)."""
    return ntt(values, inverse=True, coset_shift=shift)


def powers(base: int, n: int) -> np.ndarray:
    """base^0, ..., base^(n-1) as an (n, 4) Montgomery Fr array, computed on all cores."""
    if not isinstance(base, (int, np.integer)) or isinstance(base, bool):
        raise ValueError(f"base must be an int, got {type(base).__name__}")
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative int, got {n!r}")
    return _power_table(int(base), int(n))
