"""Variable-base multi-scalar multiplication sum_i [k_i] P_i on G1 and G2 (Pippenger).

Bucket method (Pippenger 1976; in the form of Bernstein, Doumen, Lange, Oosterwijk,
"Faster batch forgery identification", INDOCRYPT 2012, eprint 2012/549):

* Scalars are cut into W windows of c bits and recoded into signed digits in
  [-2^(c-1), 2^(c-1)], so a window needs only 2^(c-1) buckets and the negation of a point
  is free.  The carry into window w is bit wc-1 of the scalar (a window whose top bit is set
  becomes negative and lends 1 to the next), so digits are computed on the fly from the
  scalar limbs, with no digit array; W = ceil(255 / c) covers scalars below r < 2^254, and
  fewer windows cover short scalars (W = ceil((bits + 1) / c) for the largest one's bits).
* Short signed scalars: k > (r - 1) / 2 is used as r - k with the point negated (the sign
  of its digits flipped), so a witness full of small negative values r - |v| needs only the
  windows of the largest |v| (`signed_scalars`).  When at least a quarter of the scalars are
  below 2^64 and they need at most half the windows, they go in a run of their own and the
  full-width minority in another (a witness's products of packed values, say).
* Each point is added into bucket |d|-1 of each window (negated when d < 0).  Two bucket
  kinds, chosen by `plan`:
  - extended Jacobian "XYZZ" (x = X/ZZ, y = Y/ZZZ, ZZ^3 = ZZZ^2): adding an affine point
    costs 8M + 2S (madd-2008-s, Explicit-Formulas Database, Bernstein-Lange);
  - batch-affine (large windows): affine buckets whose additions are queued and done a batch
    at a time with one shared inversion (Montgomery's trick), about 6M an addition, as in
    the fastest published CPU MSMs.  About 25-30 % faster here from 2^14 points up.
* A window's sum sum_j j B_j is the running sum over buckets from the top (two additions a
  bucket, add-2008-s), and windows are combined from the top with c doublings each
  (dbl-2008-s-1).
* Work is split into tasks (window, chunk of points), each with its own bucket array; the
  cores take the tasks round-robin and the partial sums are added at the end.  Window size
  and chunk count come from a cost model (`plan`) measured on the reference machine.

Both groups share one source: formulas use the generic `field_ops`, and numba compiles a
G1 (Fq) and a G2 (Fq2) version of each kernel from the array types.

Points are affine Montgomery arrays as in `curve` ((n, 2, 4) for G1, (n, 2, 2, 4) for G2,
all zeros for infinity), assumed on the curve (MSM does not check: `Group.on_curve` does).
Scalars are plain (n, 4) uint64 arrays of canonical integers below the group order r;
larger values are refused with ValueError rather than reduced, since a caller passing them
has almost certainly mixed up Montgomery and plain form.
"""
import random
import secrets
from typing import NamedTuple

import numpy as np
from numba import get_num_threads, prange

from ._jit import inline, jit
from .constants import R
from .curve import G1, G2, Group, jac_add, jac_add_affine, jac_from_affine, jac_infinity
from .field_ops import (f_add, f_double, f_eq, f_inv, f_is_zero, f_load, f_mul, f_neg, f_one_like, f_sqr,
                        f_store, f_sub, f_zero_like)
from .fields import FR
from .limbs import ints_to_limbs

# Scalars are below r < 2^254: with W c >= 255 the top window's top bit is clear, so its
# digit needs no carry out.
SCALAR_BITS = 255
MAX_WINDOW = 18
SPLIT_MIN_POINTS = 1024     # below this, one run over all the scalars is cheap anyway


# ---- XYZZ arithmetic (generic over Fq / Fq2); infinity is ZZ = ZZZ = 0 ------------------
@inline
def xyzz_is_infinity(p):
    return f_is_zero(p[2])


@inline
def xyzz_infinity(x):
    z = f_zero_like(x)
    return (z, z, z, z)


@inline
def xyzz_double_affine(x, y):
    """2(x, y) for an affine point (mdbl-2008-s-1, a = 0): 2M + 3S."""
    u = f_double(y)
    v = f_sqr(u)
    w = f_mul(u, v)
    s = f_mul(x, v)
    xx = f_sqr(x)
    m = f_add(f_double(xx), xx)
    x3 = f_sub(f_sqr(m), f_double(s))
    y3 = f_sub(f_mul(m, f_sub(s, x3)), f_mul(w, y))
    return (x3, y3, v, w)


@inline
def xyzz_double(p):
    """dbl-2008-s-1 (a = 0): 6M + 3S; infinity (ZZ = 0) stays infinity."""
    X, Y, ZZ, ZZZ = p
    u = f_double(Y)
    v = f_sqr(u)
    w = f_mul(u, v)
    s = f_mul(X, v)
    xx = f_sqr(X)
    m = f_add(f_double(xx), xx)
    x3 = f_sub(f_sqr(m), f_double(s))
    y3 = f_sub(f_mul(m, f_sub(s, x3)), f_mul(w, Y))
    return (x3, y3, f_mul(v, ZZ), f_mul(w, ZZZ))


@inline
def xyzz_add_affine(p, x2, y2):
    """P + (x2, y2) for an affine point that is not infinity (madd-2008-s): 8M + 2S.
    Handles P = infinity, P = Q (doubling) and P = -Q (infinity)."""
    if xyzz_is_infinity(p):
        one = f_one_like(x2)
        return (x2, y2, one, one)
    X1, Y1, ZZ1, ZZZ1 = p
    pp_ = f_sub(f_mul(x2, ZZ1), X1)
    r = f_sub(f_mul(y2, ZZZ1), Y1)
    if f_is_zero(pp_):
        if f_is_zero(r):
            return xyzz_double_affine(x2, y2)
        return xyzz_infinity(x2)
    pp = f_sqr(pp_)
    ppp = f_mul(pp_, pp)
    q = f_mul(X1, pp)
    x3 = f_sub(f_sub(f_sqr(r), ppp), f_double(q))
    y3 = f_sub(f_mul(r, f_sub(q, x3)), f_mul(Y1, ppp))
    return (x3, y3, f_mul(ZZ1, pp), f_mul(ZZZ1, ppp))


@inline
def xyzz_add(p, q):
    """P + Q (add-2008-s): 12M + 2S; handles infinity, P = Q and P = -Q."""
    if xyzz_is_infinity(p):
        return q
    if xyzz_is_infinity(q):
        return p
    X1, Y1, ZZ1, ZZZ1 = p
    X2, Y2, ZZ2, ZZZ2 = q
    u1 = f_mul(X1, ZZ2)
    s1 = f_mul(Y1, ZZZ2)
    pp_ = f_sub(f_mul(X2, ZZ1), u1)
    r = f_sub(f_mul(Y2, ZZZ1), s1)
    if f_is_zero(pp_):
        if f_is_zero(r):
            return xyzz_double(p)
        return xyzz_infinity(X1)
    pp = f_sqr(pp_)
    ppp = f_mul(pp_, pp)
    q_ = f_mul(u1, pp)
    x3 = f_sub(f_sub(f_sqr(r), ppp), f_double(q_))
    y3 = f_sub(f_mul(r, f_sub(q_, x3)), f_mul(s1, ppp))
    return (x3, y3, f_mul(f_mul(ZZ1, ZZ2), pp), f_mul(f_mul(ZZZ1, ZZZ2), ppp))


@inline
def xyzz_to_affine(p):
    """(x, y), all zeros for infinity: x = X/ZZ, y = Y/ZZZ with one inversion, since
    1/ZZ = (ZZ/ZZZ)^2 when ZZ^3 = ZZZ^2."""
    if xyzz_is_infinity(p):
        z = f_zero_like(p[0])
        return (z, z)
    zzz_inv = f_inv(p[3])
    zz_inv = f_sqr(f_mul(zzz_inv, p[2]))
    return (f_mul(p[0], zz_inv), f_mul(p[1], zzz_inv))


@inline
def _load4(arr, i):
    return (f_load(arr, i, 0), f_load(arr, i, 1), f_load(arr, i, 2), f_load(arr, i, 3))


@inline
def _store4(arr, i, p):
    f_store(arr, i, 0, p[0])
    f_store(arr, i, 1, p[1])
    f_store(arr, i, 2, p[2])
    f_store(arr, i, 3, p[3])


# ---- Pippenger ----------------------------------------------------------------------------
@inline
def _window_bits(scalars, i, bit, c, mask):
    """Bits [bit, bit + c) of scalar i (zeros above bit 255)."""
    limb = bit >> 6
    off = bit & 63
    v = scalars[i, limb] >> np.uint64(off)
    if off + c > 64 and limb < 3:
        v |= scalars[i, limb + 1] << np.uint64(64 - off)
    return v & mask


@inline
def _digit(scalars, i, bit, c, mask):
    """Signed digit of the window of c bits starting at `bit`: its bits, plus the carry
    from below (bit - 1), minus 2^c when its own top bit is set (lent to the next window)."""
    bits = np.int64(_window_bits(scalars, i, bit, c, mask))
    d = bits - ((bits >> (c - 1)) << c)
    if bit > 0:
        b = bit - 1
        d += np.int64((scalars[i, b >> 6] >> np.uint64(b & 63)) & np.uint64(1))
    return d


@inline
def _xyzz_reduce(bk, nb, zero):
    """sum_j (j + 1) B_j = sum over j of the running sums B_nb-1 + ... + B_j."""
    run = zero
    tot = zero
    for j in range(nb - 1, -1, -1):
        if not f_is_zero(f_load(bk, j, 2)):
            run = xyzz_add(run, _load4(bk, j))
        tot = xyzz_add(tot, run)
    return tot


# Tasks.  Variable base: task t is window t // n_chunks over chunk t % n_chunks of the points,
# reduced into partial[t].  Fixed base (`fixed_msm`): points is a table whose row
# i * stride + w holds 2^(wc) P_i, task t is chunk t of the bases over all n_win windows, and
# a worker reduces its buckets once, into partial[worker], after all its tasks.
@inline
def _task_range(task, n, n_win, n_chunks, fixed):
    """(first window, end window, first scalar, end scalar) of a task."""
    step = (n + n_chunks - 1) // n_chunks
    if fixed:
        w = 0
        ch = task
    else:
        w = task // n_chunks
        ch = task - w * n_chunks
    lo = ch * step
    return (0, n_win, lo, min(n, lo + step)) if fixed else (w, w + 1, lo, min(n, lo + step))


@jit
def _msm_worker_xyzz(points, scalars, neg, c, n_win, n_chunks, fixed, stride, worker, n_workers,
                     buckets, partial):
    """Tasks worker, worker + n_workers, ... with XYZZ buckets buckets[worker]: accumulation,
    then the running-sum reduction.  Digits of scalar i are negated where neg[i] is set (neg
    empty: none is)."""
    n = scalars.shape[0]
    nb = 1 << (c - 1)
    mask = np.uint64((1 << c) - 1)
    flip = neg.shape[0] > 0
    bk = buckets[worker]
    zero = xyzz_infinity(f_load(points, 0, 0))
    n_tasks = n_chunks if fixed else n_win * n_chunks
    for j in range(nb):
        f_store(bk, j, 2, zero[2])
    task = np.int64(worker)  # a prange index may arrive unsigned; keep the arithmetic signed
    while task < n_tasks:
        w_lo, w_hi, lo, hi = _task_range(task, n, n_win, n_chunks, fixed)
        for i in range(lo, hi):
            for w in range(w_lo, w_hi):
                d = _digit(scalars, i, w * c, c, mask)
                if d == 0:
                    continue
                row = i * stride + w if fixed else i
                x = f_load(points, row, 0)
                y = f_load(points, row, 1)
                if f_is_zero(x) and f_is_zero(y):
                    continue
                if (d < 0) != (flip and neg[i] != 0):
                    y = f_neg(y)
                if d < 0:
                    d = -d
                _store4(bk, d - 1, xyzz_add_affine(_load4(bk, d - 1), x, y))
        if not fixed:
            _store4(partial, task, _xyzz_reduce(bk, nb, zero))
            for j in range(nb):
                f_store(bk, j, 2, zero[2])
        task += n_workers
    if fixed:
        _store4(partial, worker, _xyzz_reduce(bk, nb, zero))


# Batch-affine buckets: affine bucket additions cost one inversion each, shared by a batch
# with Montgomery's trick (P. L. Montgomery, "Speeding the Pollard and elliptic curve methods
# of factorization", Math. Comp. 1987): about 6M a point instead of 8M + 2S.  A bucket may
# take one pending addition per batch; a second point for it in the same batch goes into an
# XYZZ overflow bucket of the same index instead of waiting, so no input (say, every point
# in one bucket) can stall the batches.  State of bucket j in st[j]: 0 empty, 1 holds an
# affine point, `stamp` an addition into it is pending in the current batch.
@inline
def _flush(points, abk, st, sj, si, fe, m):
    """Apply the m pending additions abk[sj[t]] += (point si[t] >> 2, negated if bit 1),
    or doublings (bit 0), whose denominators are fe[t, 0]; fe[t, 1] holds prefix products."""
    acc = f_one_like(f_load(fe, 0, 0))
    for t in range(m):
        f_store(fe, t, 1, acc)
        acc = f_mul(acc, f_load(fe, t, 0))
    inv = f_inv(acc)
    for t in range(m - 1, -1, -1):
        dinv = f_mul(f_load(fe, t, 1), inv)
        inv = f_mul(inv, f_load(fe, t, 0))
        j = sj[t]
        code = si[t]
        x1 = f_load(abk, j, 0)
        y1 = f_load(abk, j, 1)
        if code & 1:
            xx = f_sqr(x1)
            lam = f_mul(f_add(f_double(xx), xx), dinv)
            x3 = f_sub(f_sqr(lam), f_double(x1))
        else:
            x2 = f_load(points, code >> 2, 0)
            y2 = f_load(points, code >> 2, 1)
            if code & 2:
                y2 = f_neg(y2)
            lam = f_mul(f_sub(y2, y1), dinv)
            x3 = f_sub(f_sub(f_sqr(lam), x1), x2)
        f_store(abk, j, 0, x3)
        f_store(abk, j, 1, f_sub(f_mul(lam, f_sub(x1, x3)), y1))
        st[j] = 1


@inline
def _push(points, abk, st, sj, si, fe, m, stamp, j, code, den):
    """Queue an addition into bucket j; flush when the batch is full.  -> (m, stamp)."""
    f_store(fe, m, 0, den)
    sj[m] = j
    si[m] = code
    st[j] = stamp
    m += 1
    if m == sj.shape[0]:
        _flush(points, abk, st, sj, si, fe, m)
        return 0, stamp + 1
    return m, stamp


@inline
def _affine_reduce(abk, st, ov, nb, zero):
    """sum_j (j + 1) (affine bucket j + overflow bucket j), by running sums from the top."""
    run = zero
    tot = zero
    for j in range(nb - 1, -1, -1):
        if st[j]:
            run = xyzz_add_affine(run, f_load(abk, j, 0), f_load(abk, j, 1))
        if not f_is_zero(f_load(ov, j, 2)):
            run = xyzz_add(run, _load4(ov, j))
        tot = xyzz_add(tot, run)
    return tot


@inline
def _affine_clear(st, ov, nb, zero):
    for j in range(nb):
        st[j] = 0
        f_store(ov, j, 2, zero[2])


@jit
def _msm_worker_affine(points, scalars, neg, c, n_win, n_chunks, fixed, stride, worker, n_workers,
                       ovb, abk_all, st_all, sj_all, si_all, fe_all, partial):
    """As `_msm_worker_xyzz`, with batch-affine buckets abk_all[worker] (XYZZ overflow in
    ovb[worker]) and batches of sj_all.shape[1] additions."""
    n = scalars.shape[0]
    nb = 1 << (c - 1)
    mask = np.uint64((1 << c) - 1)
    flip = neg.shape[0] > 0
    ov = ovb[worker]
    abk = abk_all[worker]
    st = st_all[worker]
    sj = sj_all[worker]
    si = si_all[worker]
    fe = fe_all[worker]
    zero = xyzz_infinity(f_load(points, 0, 0))
    n_tasks = n_chunks if fixed else n_win * n_chunks
    _affine_clear(st, ov, nb, zero)
    stamp = np.int64(2)
    m = 0
    task = np.int64(worker)
    while task < n_tasks:
        w_lo, w_hi, lo, hi = _task_range(task, n, n_win, n_chunks, fixed)
        for i in range(lo, hi):
            for w in range(w_lo, w_hi):
                d = _digit(scalars, i, w * c, c, mask)
                if d == 0:
                    continue
                sign = 0
                if d < 0:
                    d = -d
                    sign = 2
                if flip and neg[i] != 0:
                    sign ^= 2
                row = i * stride + w if fixed else i
                j = d - 1
                s = st[j]
                x = f_load(points, row, 0)
                if f_is_zero(x) and f_is_zero(f_load(points, row, 1)):
                    continue
                if s == 1:     # the common case: a distinct x, y not needed until the flush
                    dx = f_sub(x, f_load(abk, j, 0))
                    if not f_is_zero(dx):
                        m, stamp = _push(points, abk, st, sj, si, fe, m, stamp, j, 4 * row + sign,
                                         dx)
                        continue
                y = f_load(points, row, 1)
                if sign:
                    y = f_neg(y)
                if s == 0:
                    f_store(abk, j, 0, x)
                    f_store(abk, j, 1, y)
                    st[j] = 1
                elif s == stamp:
                    _store4(ov, j, xyzz_add_affine(_load4(ov, j), x, y))
                elif f_eq(f_load(abk, j, 1), y) and not f_is_zero(y):    # P + P
                    m, stamp = _push(points, abk, st, sj, si, fe, m, stamp, j, 4 * row + sign + 1,
                                     f_double(y))
                else:                                                    # P + (-P)
                    st[j] = 0
        if not fixed:
            if m:
                _flush(points, abk, st, sj, si, fe, m)
                m = 0
            _store4(partial, task, _affine_reduce(abk, st, ov, nb, zero))
            _affine_clear(st, ov, nb, zero)
            stamp = np.int64(2)
        task += n_workers
    if fixed:
        if m:
            _flush(points, abk, st, sj, si, fe, m)
        _store4(partial, worker, _affine_reduce(abk, st, ov, nb, zero))


@jit
def combine_windows(partial, c, n_win, n_chunks, out):
    """out[0] = sum_w 2^(wc) (sum of window w's chunk sums), as an affine point; partial holds
    XYZZ points (task, 4) + coordinate shape, window-major.  The kernel backends finish their
    MSMs with it too: the c doublings between windows are a chain no GPU thread runs fast."""
    acc = xyzz_infinity(f_load(partial, 0, 0))
    for w in range(n_win - 1, -1, -1):
        if not xyzz_is_infinity(acc):
            for _ in range(c):
                acc = xyzz_double(acc)
        for ch in range(n_chunks):
            acc = xyzz_add(acc, _load4(partial, w * n_chunks + ch))
    x, y = xyzz_to_affine(acc)
    f_store(out, 0, 0, x)
    f_store(out, 0, 1, y)


@jit(parallel=True)
def _msm_parallel(points, scalars, neg, c, n_win, n_chunks, batch_affine, fixed, stride, ovb, abk,
                  st, sj, si, fe, partial, out):
    """The MSM into out[0]: all workers (ovb.shape[0] of them), then the combination of their
    partial sums (a fixed-base MSM has one per worker and no windows to combine)."""
    n_workers = ovb.shape[0]
    for worker in prange(n_workers):
        if batch_affine:
            _msm_worker_affine(points, scalars, neg, c, n_win, n_chunks, fixed, stride, worker,
                               n_workers, ovb, abk, st, sj, si, fe, partial)
        else:
            _msm_worker_xyzz(points, scalars, neg, c, n_win, n_chunks, fixed, stride, worker,
                             n_workers, ovb, partial)
    if fixed:
        combine_windows(partial, c, 1, n_workers, out)
    else:
        combine_windows(partial, c, n_win, n_chunks, out)


# ---- planning -----------------------------------------------------------------------------
# Relative costs measured on the reference machine, in units of one XYZZ bucket addition
# (madd-2008-s): a batch-affine one, clearing and reducing one bucket (two add-2008-s), and
# a task's fixed cost.  Batch-affine buckets pay off from c = 11 (fewer buckets make
# collisions within a batch too frequent and batches too short).
_COST_AFFINE = 0.88
_COST_BUCKET = 2.9
_COST_TASK = 50.0
AFFINE_MIN_WINDOW = 11
MAX_BATCH = 1024


class MsmPlan(NamedTuple):
    window: int     # c: bits a window
    chunks: int     # chunks of the points a window is split into (one task each)
    workers: int    # cores used, each with its own bucket array
    batch: int      # batch-affine batch size, 0 for XYZZ buckets


def n_windows(c: int, bits: int = SCALAR_BITS) -> int:
    """Windows of c bits covering scalars of `bits` bits plus the top digit's carry."""
    return max(1, -(-bits // c))


def scalar_bits(scalars) -> int:
    """Bit length of the largest of the (n, 4) plain scalars, plus one so that the top
    signed digit never carries out (short scalars need fewer windows)."""
    if scalars.shape[0] == 0:
        return 1
    top = scalars.max(axis=0)           # per-limb maxima: the largest limb row wins
    for limb in range(3, -1, -1):
        if top[limb]:
            return 64 * limb + int(top[limb]).bit_length() + 1
    return 1


# ---- short signed scalars ------------------------------------------------------------------
# A Groth16 witness holds small negative values as r - |v|: full-size field elements that
# would force every window.  Since [r - k] P = [k] (-P), such a scalar can be used as its
# magnitude |v| with the point negated, which costs nothing in the kernels (the digit's sign
# is flipped); the windows then only cover the largest magnitude.
HALF_R = (R - 1) // 2
HALF_R_BITS = HALF_R.bit_length() + 1   # scalar_bits from which a scalar may exceed HALF_R
_HALF_R_LIMBS = ints_to_limbs([HALF_R])[0]
_R_LIMBS = ints_to_limbs([R])[0]
_NO_NEGATION = np.zeros(0, dtype=np.uint8)


def signed_scalars(scalars) -> tuple:
    """(magnitudes, negate) for canonical (n, 4) plain scalars: where k > (r - 1) / 2, the
    magnitude r - k and negate 1 (k P = (r - k)(-P)); elsewhere k and 0.  Magnitudes are at
    most (r - 1) / 2 < 2^253.  Vectorised limb arithmetic: compare from the top limb,
    subtract with borrows from the bottom."""
    scalars = np.asarray(scalars, dtype=np.uint64)
    above = np.zeros(scalars.shape[0], dtype=bool)
    equal = np.ones(scalars.shape[0], dtype=bool)
    for limb in range(3, -1, -1):
        col = scalars[:, limb]
        above |= equal & (col > _HALF_R_LIMBS[limb])
        equal &= col == _HALF_R_LIMBS[limb]
    mags = scalars.copy()
    if above.any():
        big = scalars[above]
        diff = np.empty_like(big)
        borrow = np.zeros(big.shape[0], dtype=np.uint64)
        for limb in range(4):
            r_limb = _R_LIMBS[limb]
            col = big[:, limb]
            diff[:, limb] = r_limb - col - borrow     # wraps modulo 2^64, as limbs do
            borrow = ((col > r_limb) | ((col == r_limb) & (borrow == 1))).astype(np.uint64)
        mags[above] = diff
    return mags, above.view(np.uint8)


def _batch(c: int) -> int:
    return min(MAX_BATCH, (1 << (c - 1)) // 4) if c >= AFFINE_MIN_WINDOW else 0


def plan(n: int, threads: int = None, bits: int = SCALAR_BITS) -> MsmPlan:
    """The window size and split minimising the modelled time of the slowest core: its
    tasks times (points per chunk x addition cost + bucket work per window), for scalars of
    at most `bits` bits."""
    return _plan(n, threads, bits)[1]


def plan_cost(n: int, threads: int = None, bits: int = SCALAR_BITS) -> float:
    """The modelled time of `plan`'s choice, in XYZZ bucket additions (for comparisons)."""
    return _plan(n, threads, bits)[0]


def _plan(n: int, threads: int, bits: int) -> tuple:
    threads = max(1, threads or get_num_threads())
    best = None
    for c in range(1, MAX_WINDOW + 1):
        w = n_windows(c, bits)
        nb = 1 << (c - 1)
        add = _COST_AFFINE if _batch(c) else 1.0
        for k in range(1, 2 * threads + 1):
            tasks = w * k
            workers = min(threads, tasks)
            cost = -(-tasks // workers) * (-(-n // k) * add + _COST_BUCKET * nb + _COST_TASK)
            if best is None or cost < best[0]:
                best = (cost, MsmPlan(c, k, workers, _batch(c)))
    return best


# ---- Python API ---------------------------------------------------------------------------
def check_msm_inputs(group: Group, points, scalars) -> tuple:
    """(points, scalars) as contiguous arrays when they are valid MSM inputs of `group`:
    uint64 points of shape (n, 2, 4) for G1 or (n, 2, 2, 4) for G2 and (n, 4) uint64 plain
    scalars below r, as many as the points; a ValueError saying what is wrong otherwise.
    The check of every MSM on host arrays, the kernel backends' too."""
    points = np.asarray(points)
    check_point_shape(group, points)
    return np.ascontiguousarray(points), check_scalars(group, scalars, points.shape[0])


def check_point_shape(group: Group, points) -> None:
    """ValueError unless `points` (a NumPy or device array) is uint64 of shape (n, 2, ...)
    for `group` (shared with the kernel backends)."""
    shape = (2,) + group.coord_shape
    if points.dtype != np.uint64 or points.ndim != 1 + len(shape) or points.shape[1:] != shape:
        raise ValueError(f"{group.name} MSM: points must be a uint64 array of shape "
                         f"(n, {', '.join(map(str, shape))}), got {points.dtype} {points.shape}")


def check_scalars(group: Group, scalars, n: int) -> np.ndarray:
    """The MSM scalars as a contiguous (n, 4) uint64 array of plain integers below r, or a
    ValueError that says what is wrong (shared with the kernel backends)."""
    scalars = np.asarray(scalars)
    if scalars.dtype != np.uint64 or scalars.ndim != 2 or scalars.shape[1] != 4:
        raise ValueError(f"{group.name} MSM: scalars must be a uint64 array of shape (n, 4), "
                         f"got {scalars.dtype} {scalars.shape}")
    if scalars.shape[0] != n:
        raise ValueError(f"{group.name} MSM: {n} points but {scalars.shape[0]} scalars")
    bad = np.flatnonzero(~FR.is_canonical(scalars))
    if bad.size:
        raise ValueError(f"{group.name} MSM: scalar {int(bad[0])} is not below the group order r")
    return np.ascontiguousarray(scalars)


def msm(group: Group, points, scalars, window: int = None, chunks: int = None,
        batch_affine: bool = None, signed: bool = True) -> np.ndarray:
    """sum_i [scalars[i]] points[i] as one affine point: a (2, 4) array for G1, (2, 2, 4) for
    G2, all zeros for infinity.  `window`, `chunks` and `batch_affine` override the plan
    (window size, chunks per window, bucket kind) for tuning and tests.  With `signed`,
    scalars above (r - 1) / 2 are taken as -(r - k) (see `signed_scalars`); the result is the
    same either way."""
    points, scalars = check_msm_inputs(group, points, scalars)
    if window is not None and not 1 <= window <= MAX_WINDOW:
        raise ValueError(f"window size must be in [1, {MAX_WINDOW}], got {window}")
    if chunks is not None and chunks < 1:
        raise ValueError(f"chunks must be positive, got {chunks}")
    return msm_prepared(group, points, *prepared_scalars(scalars, signed), window, chunks,
                        batch_affine)


def prepared_scalars(scalars, signed: bool = True) -> tuple:
    """(scalars, negation flags, bits) for the kernels from checked (n, 4) plain scalars:
    with `signed`, the magnitudes of `signed_scalars` and their flags (no flags when no
    scalar can exceed (r - 1) / 2); bits bounds them for `n_windows`."""
    bits = min(SCALAR_BITS, scalar_bits(scalars))
    if not signed or bits < HALF_R_BITS:
        return scalars, _NO_NEGATION, bits
    scalars, neg = signed_scalars(scalars)
    return scalars, neg, scalar_bits(scalars)


def msm_prepared(group, points, scalars, neg, bits, window=None, chunks=None,
                 batch_affine=None) -> np.ndarray:
    """`msm` on checked points and `prepared_scalars`, the overrides already validated."""
    n = points.shape[0]

    def windows(bits):
        c = window if window is not None else plan(n, bits=bits).window
        return n_windows(c, bits)

    if window is None and chunks is None and batch_affine is None and n >= SPLIT_MIN_POINTS:
        # A witness is mostly short values with a minority of full-width ones (products of
        # packed values, inverses): the short ones alone need a fraction of the windows.
        short = ~scalars[:, 1:].any(axis=1)             # below 2^64
        n_short = int(np.count_nonzero(short))
        if 4 * n_short >= n and n_short < n:
            short_bits = scalar_bits(scalars[short])
            if 2 * n_windows(plan(n_short, bits=short_bits).window, short_bits) <= windows(bits):
                parts = np.stack([
                    _kernel_msm(group, points[keep], scalars[keep],
                                neg[keep] if neg.size else neg, scalar_bits(scalars[keep]))
                    for keep in (short, ~short)])
                return _kernel_msm(group, parts, ints_to_limbs([1, 1]), _NO_NEGATION, 2)
    return _kernel_msm(group, points, scalars, neg, bits, window, chunks, batch_affine)


def _kernel_msm(group, points, scalars, neg, bits, window=None, chunks=None, batch_affine=None):
    """The bucket kernels on checked inputs (digits of scalar i negated where neg[i] is set,
    scalars below 2^bits)."""
    n = points.shape[0]
    out = np.zeros((1, 2) + group.coord_shape, dtype=np.uint64)
    if n == 0:
        return out[0]
    c, k, _, batch = plan(n, bits=bits)
    if window is not None:
        c = window
        batch = _batch(c)
    if chunks is not None:
        k = min(chunks, n)
    if batch_affine is not None:
        batch = max(1, min(MAX_BATCH, (1 << (c - 1)) // 4)) if batch_affine else 0
    w = n_windows(c, bits)
    workers = max(1, min(get_num_threads(), w * k))
    run_buckets(group, points, scalars, neg, c, w, k, batch, False, 1, workers, w * k, out)
    return out[0]


def run_buckets(group, points, scalars, neg, c, n_win, chunks, batch, fixed, stride, workers,
                n_partial, out) -> None:
    """The bucket kernels' scratch arrays for `workers` cores, then `_msm_parallel` into
    out[0] (variable-base tasks, or with `fixed` a table of `stride` rows a base)."""
    nb = 1 << (c - 1)
    shape = group.coord_shape
    ovb = np.empty((workers, nb, 4) + shape, dtype=np.uint64)
    nb_aff, b = (nb, batch) if batch else (1, 1)   # placeholders of the right type otherwise
    abk = np.empty((workers, nb_aff, 2) + shape, dtype=np.uint64)
    st = np.empty((workers, nb_aff), dtype=np.int64)
    sj = np.empty((workers, b), dtype=np.int64)
    si = np.empty((workers, b), dtype=np.int64)
    fe = np.empty((workers, b, 2) + shape, dtype=np.uint64)
    partial = np.empty((n_partial, 4) + shape, dtype=np.uint64)
    _msm_parallel(points, scalars, neg, c, n_win, chunks, bool(batch), fixed, stride, ovb, abk,
                  st, sj, si, fe, partial, out)


def msm_g1(points, scalars) -> np.ndarray:
    """G1 MSM: (n, 2, 4) affine points, (n, 4) plain scalars -> a (2, 4) affine point."""
    return msm(G1, points, scalars)


def msm_g2(points, scalars) -> np.ndarray:
    """G2 MSM: (n, 2, 2, 4) affine points, (n, 4) plain scalars -> a (2, 2, 4) affine point."""
    return msm(G2, points, scalars)


def msm_values(group: Group, points, scalars):
    """MSM on Python values: points as in `Group.encode` (None = infinity), scalars as ints
    in [0, r); returns a Python point (None for infinity)."""
    points = list(points)
    scalars = [int(k) for k in scalars]
    if any(not 0 <= k < R for k in scalars):
        raise ValueError(f"{group.name} MSM: scalars must be integers in [0, r)")
    enc = group.encode(points) if points else np.zeros((0, 2) + group.coord_shape, dtype=np.uint64)
    lim = ints_to_limbs(scalars) if scalars else np.zeros((0, 4), dtype=np.uint64)
    return group.decode(msm(group, enc, lim)[None])[0]


# ---- fixed-base scalar multiplication (random test points, batches of [k_i] G) ------------
# Table of d 2^(wc) B for every window w and digit d < 2^c: a scalar then costs one mixed
# addition a window and no doubling (fixed-base windowing with full tables; Hankerson,
# Menezes, Vanstone, "Guide to Elliptic Curve Cryptography", 2004, section 3.3.2), about 22
# additions for c = 12 against ~380 doublings and additions by double-and-add.
FIXED_BASE_BITS = 254
MAX_FIXED_WINDOW = 12


@jit
def _fixed_base_table(base, c, n_win, table):
    """table[(w << c) + d] = d 2^(wc) B (Jacobian), row w << c the point at infinity."""
    b = jac_from_affine(f_load(base, 0, 0), f_load(base, 0, 1))
    for w in range(n_win):
        acc = jac_infinity(b[0])
        for d in range(1 << c):
            row = (w << c) + d
            f_store(table, row, 0, acc[0])
            f_store(table, row, 1, acc[1])
            f_store(table, row, 2, acc[2])
            acc = jac_add(acc, b)
        b = acc     # 2^c times this window's base


@jit
def _fixed_base_row(table, scalars, out, i, c, n_win):
    mask = np.uint64((1 << c) - 1)
    acc = jac_infinity(f_load(table, 0, 0))
    for w in range(n_win):
        d = np.int64(_window_bits(scalars, i, w * c, c, mask))
        if d:
            row = (w << c) + d
            acc = jac_add_affine(acc, f_load(table, row, 0), f_load(table, row, 1))
    f_store(out, i, 0, acc[0])
    f_store(out, i, 1, acc[1])
    f_store(out, i, 2, acc[2])


@jit(parallel=True)
def _fixed_base_array(table, scalars, out, c, n_win):
    for i in prange(scalars.shape[0]):
        _fixed_base_row(table, scalars, out, i, c, n_win)


def fixed_base_mul(group: Group, scalars, base=None) -> np.ndarray:
    """[k_i] B for one base point B (a Python point; default the group's generator) and
    plain (n, 4) scalars below r: affine (n, 2, ...) points.  For many scalars; the table
    costs about 2^c n_windows additions, chosen to balance against n."""
    scalars = np.asarray(scalars)
    if scalars.dtype != np.uint64 or scalars.ndim != 2 or scalars.shape[1] != 4:
        raise ValueError(f"scalars must be a uint64 array of shape (n, 4), "
                         f"got {scalars.dtype} {scalars.shape}")
    bad = np.flatnonzero(~FR.is_canonical(scalars))
    if bad.size:
        raise ValueError(f"scalar {int(bad[0])} is not below the group order r")
    n = scalars.shape[0]
    if n == 0:
        return np.zeros((0, 2) + group.coord_shape, dtype=np.uint64)
    c = min(range(2, MAX_FIXED_WINDOW + 1),
            key=lambda c: -(-FIXED_BASE_BITS // c) * (n + 1.3 * (1 << c)))
    n_win = -(-FIXED_BASE_BITS // c)
    enc = group.encode([group.generator if base is None else base])
    jac = np.empty((n_win << c, 3) + group.coord_shape, dtype=np.uint64)
    _fixed_base_table(enc, c, n_win, jac)
    table = group.to_affine(jac)
    out = np.empty((n, 3) + group.coord_shape, dtype=np.uint64)
    _fixed_base_array(table, np.ascontiguousarray(scalars), out, c, n_win)
    return group.to_affine(out)


def random_points(group: Group, n: int, seed=None):
    """n independent uniformly random points of `group` with their discrete logarithms to
    base the generator: (affine (n, 2, ...) array, list of ints in [1, r)).

    The points are [a_i] G for random a_i by `fixed_base_mul`, about 22 mixed additions a
    point.  Knowing the a_i, an MSM over them is checked with one scalar multiplication:
    sum_i k_i P_i = [sum_i k_i a_i] G.  (Cheaper generators such as arithmetic progressions
    S + tQ leave short linear relations between the points, which bucket sums then hit.)
    `seed` None draws from the OS generator; an int makes the points reproducible."""
    rnd = secrets.SystemRandom() if seed is None else random.Random(seed)
    logs = [rnd.randrange(1, R) for _ in range(n)]
    lim = ints_to_limbs(logs) if n else np.zeros((0, 4), dtype=np.uint64)
    return fixed_base_mul(group, lim), logs


__all__ = ["MsmPlan", "check_msm_inputs", "fixed_base_mul", "msm", "msm_g1", "msm_g2",
           "msm_prepared", "msm_values", "n_windows", "plan", "prepared_scalars", "random_points",
           "scalar_bits", "signed_scalars",
           "xyzz_add", "xyzz_add_affine", "xyzz_double", "xyzz_to_affine"]
