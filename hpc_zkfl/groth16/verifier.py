"""Groth16 verification, single and batched.

A proof (A, B, C) for public signals x is accepted when
    e(A, B) = e(alpha, beta) e(IC(x), gamma) e(C, delta),  IC(x) = IC_0 + sum_i x_i IC_i,
checked as one product of four pairings equal to one (shared Miller loop, one final
exponentiation), with the verifying key's G2 points prepared once.

`batch_verify` checks many proofs under one key with the small-exponent test of Bellare,
Garay and Rabin ("Fast batch verification for modular exponentiation and digital
signatures", EUROCRYPT 1998): with independent random 128-bit z_j,
    prod_j e(z_j A_j, B_j) = e(sum_j z_j alpha, beta) e(sum_j z_j IC(x_j), gamma)
                             e(sum_j z_j C_j, delta),
n + 3 Miller loops and one final exponentiation for n proofs.  A batch holding an invalid
proof passes with probability at most 2^-128, and an all-valid batch always passes.  When a
batch fails, a random sample of its proofs is checked one by one to estimate the invalid
fraction: when it is large, every proof is checked on its own (in parallel); otherwise the
rest are batch-tested in groups sized from the estimate and failing groups are bisected, a
left half that passes marking its right half as failing untested (group testing after Dorfman,
"The detection of defective members of large populations", Ann. Math. Stat. 1943, and the
divide and conquer of Pastuszak, Michalek, Pieprzyk, Seberry, "Identification of bad
signatures in batches", PKC 2000).  The result names exactly the invalid proofs.

A proof with committed inputs (LegoGroth16, `committed`) comes with its commitment D, which is
added to IC(x) (whose committed positions are 0): an item is then (signals, proof, D), and the
batch test's input sum gains sum_j z_j D_j.

Points are trusted to be canonical Montgomery arrays (decoders in `formats` validate
untrusted bytes and JSON); still, a proof whose points are not on the curve or whose B is not
in G2 is rejected rather than fed to the pairing.
"""
import secrets

import numpy as np

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.curve import G1
from hpc_zkfl.algebra.fields import FQ
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.pairing import pairing_check_arrays, pairing_checks_arrays
from hpc_zkfl.algebra.subgroup import g2_in_subgroup
from hpc_zkfl.backends import as_backend

from .data_structures import PreparedVerifyingKey, Proof, VerifyingKey

BATCH_COEFF_BITS = 128


def prepare_verifying_key(vk: VerifyingKey) -> PreparedVerifyingKey:
    return PreparedVerifyingKey.from_vk(vk)


def _prepared(vk) -> PreparedVerifyingKey:
    if isinstance(vk, PreparedVerifyingKey):
        return vk
    if isinstance(vk, VerifyingKey):
        return PreparedVerifyingKey.from_vk(vk)
    raise TypeError(f"expected a VerifyingKey or PreparedVerifyingKey, got {type(vk).__name__}")


def _public_ok(pvk, public_signals) -> bool:
    """Whether the signals are n_public ints in [0, r); ValueError for a wrong count/type."""
    signals = list(public_signals)
    if len(signals) != pvk.n_public:
        raise ValueError(f"expected {pvk.n_public} public signals, got {len(signals)}")
    for x in signals:
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
            raise ValueError(f"public signals must be ints, got {type(x).__name__}")
    return all(0 <= int(x) < R for x in signals)


def _proof_points_ok(proof) -> bool:
    """Shapes, curve equations and G2 membership of B; never raises."""
    try:
        a = np.asarray(proof.a, dtype=np.uint64)
        b = np.asarray(proof.b, dtype=np.uint64)
        c = np.asarray(proof.c, dtype=np.uint64)
    except (AttributeError, TypeError, ValueError):
        return False
    if a.shape != (2, 4) or c.shape != (2, 4) or b.shape != (2, 2, 4):
        return False
    return bool(G1.on_curve(np.stack([a, c])).all() and g2_in_subgroup(b[None])[0])


def _neg_g1(point) -> np.ndarray:
    out = np.array(point, dtype=np.uint64)
    out[1] = FQ.neg(out[1][None])[0]
    return out


def _ic(pvk, be, scalars) -> np.ndarray:
    """sum_i scalars[i] IC_i for plain ints scalars[0..n_public]."""
    return be.msm_g1(pvk.vk.gamma_abc_g1, ints_to_limbs([int(x) % R for x in scalars]))


def _commitment_ok(d) -> bool:
    from .committed import commitment_ok
    return commitment_ok(d)


def _plus(be, p, q) -> np.ndarray:
    """p + q in G1 (affine)."""
    return be.msm_g1(np.stack([np.asarray(p, dtype=np.uint64), np.asarray(q, dtype=np.uint64)]),
                     ints_to_limbs([1, 1]))


def verify(vk, public_signals, proof: Proof, backend="auto", commitment=None) -> bool:
    """Whether `proof` is valid for `public_signals` (ints) under vk (a VerifyingKey or a
    PreparedVerifyingKey); with `commitment` D, a proof with committed inputs whose positions
    hold 0 in public_signals (`committed.hide`).  False for signals outside [0, r) and for
    malformed points; ValueError for a wrong number of signals."""
    be = as_backend(backend)
    pvk = _prepared(vk)
    if not _public_ok(pvk, public_signals) or not _proof_points_ok(proof):
        return False
    if commitment is not None and not _commitment_ok(commitment):
        return False
    ic = _signed_ic(pvk, be, public_signals)
    if commitment is not None:
        ic = _plus(be, ic, commitment)
    g1_prepared = np.stack([pvk.vk.alpha_g1, ic, np.asarray(proof.c, dtype=np.uint64)])
    return pairing_check_arrays(_neg_g1(proof.a)[None], np.asarray(proof.b, dtype=np.uint64)[None],
                                g1_prepared, pvk.prepared)


def _batch_ok(pvk, be, items, rnd) -> bool:
    """The small-exponent batch test on (public ints, proof, D or None) items already
    screened."""
    if len(items) == 1:
        return verify(pvk, items[0][0], items[0][1], be, items[0][2])
    z = [1 + rnd.randrange((1 << BATCH_COEFF_BITS) - 1) for _ in items]
    a = np.stack([np.asarray(p.a, dtype=np.uint64) for _, p, _ in items])
    b = np.stack([np.asarray(p.b, dtype=np.uint64) for _, p, _ in items])
    c = np.stack([np.asarray(p.c, dtype=np.uint64) for _, p, _ in items])
    za = G1.scalar_mul(a, ints_to_limbs(z))
    # The right-hand side is moved over with negated scalars r - z instead of negated points.
    # sum_j z_j x_j per public input, one vectorised product of Python ints
    signals = np.array([[1, *(int(v) for v in x)] for x, _, _ in items], dtype=object)
    ic_scalars = [int(v) % R for v in np.array(z, dtype=object) @ signals]
    neg = lambda v: (-v) % R  # noqa: E731
    alpha = G1.scalar_mul(pvk.vk.alpha_g1[None], ints_to_limbs([neg(sum(z))]))[0]
    ic = _ic(pvk, be, [neg(v) for v in ic_scalars])
    ic = _plus_commitments(be, ic, items, [neg(zj) for zj in z])
    csum = be.msm_g1(c, ints_to_limbs([neg(zj) for zj in z]))
    return pairing_check_arrays(za, b, np.stack([alpha, ic, csum]), pvk.prepared)


def _plus_commitments(be, ic, items, scalars) -> np.ndarray:
    """ic + sum_j scalars[j] D_j over the items that have a commitment D_j."""
    have = [(d, s) for (_, _, d), s in zip(items, scalars) if d is not None]
    if not have:
        return ic
    points = np.stack([np.asarray(ic, dtype=np.uint64)]
                      + [np.asarray(d, dtype=np.uint64) for d, _ in have])
    return be.msm_g1(points, ints_to_limbs([1] + [s for _, s in have]))


def _signed_msm(be, bases, neg_bases, scalars) -> np.ndarray:
    """sum_i scalars[i] bases[i] with the scalars taken as signed: x > r/2 stands for x - r,
    whose base is negated, so that the small signed integers of fixed-point statements make
    short scalars (a few MSM windows instead of 255 bits' worth)."""
    scalars = np.asarray(scalars, dtype=object)
    negative = scalars > R // 2
    mags = np.where(negative, R - scalars, scalars)
    pts = np.where(negative[:, None, None], neg_bases, bases)
    return be.msm_g1(np.ascontiguousarray(pts), ints_to_limbs([int(m) for m in mags]))


def _signed_ic(pvk, be, public_signals) -> np.ndarray:
    """IC(x) for one proof's signals."""
    return _signed_msm(be, pvk.gamma_abc_g1, pvk.neg_gamma_abc_g1,
                       [1, *(int(v) for v in public_signals)])


def _ic_of_each(pvk, be, items) -> np.ndarray:
    """IC(x_j) for every item.  Signals equal in every item (in a round: the global model w_t,
    the round, the data root) are summed once; each item's MSM covers only its own."""
    signals = np.array([[1, *(int(v) for v in x)] for x, _, _ in items], dtype=object)
    shared = (signals == signals[0]).all(axis=0)
    bases, neg_bases = pvk.gamma_abc_g1, pvk.neg_gamma_abc_g1
    common = _signed_msm(be, bases[shared], neg_bases[shared], signals[0, shared])
    own_bases = np.concatenate([common[None], bases[~shared]])
    own_neg_bases = np.concatenate([common[None], neg_bases[~shared]])   # its scalar is 1
    out = np.empty((len(items), 2, 4), dtype=np.uint64)
    for j in range(len(items)):
        out[j] = _signed_msm(be, own_bases, own_neg_bases, [1, *signals[j, ~shared]])
        if items[j][2] is not None:
            out[j] = _plus(be, out[j], items[j][2])
    return out


def _check_each(pvk, items, ic_points) -> np.ndarray:
    """The exact single-proof check of every item, in parallel: (k,) bools."""
    if not items:
        return np.zeros(0, dtype=bool)
    neg_a = np.stack([np.asarray(p.a, dtype=np.uint64) for _, p, _ in items])
    neg_a[:, 1] = FQ.neg(neg_a[:, 1])
    b = np.stack([np.asarray(p.b, dtype=np.uint64) for _, p, _ in items])
    c = np.stack([np.asarray(p.c, dtype=np.uint64) for _, p, _ in items])
    alpha = np.broadcast_to(np.asarray(pvk.vk.alpha_g1, dtype=np.uint64), c.shape)
    prepared_g1 = np.stack([alpha, ic_points, c], axis=1)
    return pairing_checks_arrays(neg_a[:, None], b[:, None], prepared_g1, pvk.prepared)


def _batch_ok_ic(pvk, be, items, ic_points, rnd) -> bool:
    """The batch test with each item's IC(x_j) already computed."""
    z = [1 + rnd.randrange((1 << BATCH_COEFF_BITS) - 1) for _ in items]
    a = np.stack([np.asarray(p.a, dtype=np.uint64) for _, p, _ in items])
    b = np.stack([np.asarray(p.b, dtype=np.uint64) for _, p, _ in items])
    c = np.stack([np.asarray(p.c, dtype=np.uint64) for _, p, _ in items])
    za = G1.scalar_mul(a, ints_to_limbs(z))
    neg = ints_to_limbs([(-zj) % R for zj in z])
    alpha = G1.scalar_mul(pvk.vk.alpha_g1[None], ints_to_limbs([(-sum(z)) % R]))[0]
    ic = be.msm_g1(np.ascontiguousarray(ic_points), neg)
    csum = be.msm_g1(c, neg)
    return pairing_check_arrays(za, b, np.stack([alpha, ic, csum]), pvk.prepared)


# After a failed batch, SAMPLE_SIZE proofs drawn at random are checked one by one (work that
# is never wasted) to estimate the invalid fraction p.  On 2 cores a single check costs about
# what a batch test's fixed part does (one final exponentiation) and each proof in a batch
# test a fifth of that, so group testing pays only while p is below about 0.2: from
# DENSE_FRACTION on every proof is checked on its own; below it, groups of about 1 / sqrt(p)
# (Dorfman's optimum for small p) are batch-tested and failing ones bisected.
SAMPLE_SIZE = 32
DENSE_FRACTION = 3 / 16


def _split_failed(pvk, be, items, ic_points, idx, rnd, ok):
    """Bisect a group known to hold an invalid proof.  When the left half passes, the right
    half must hold it, so it is split without being tested (Pastuszak et al., PKC 2000)."""
    if len(idx) == 1:
        return
    half = len(idx) // 2
    left, right = idx[:half], idx[half:]
    if _batch_ok_ic(pvk, be, [items[i] for i in left], ic_points[left], rnd):
        ok[left] = True
        _split_failed(pvk, be, items, ic_points, right, rnd, ok)
        return
    _split_failed(pvk, be, items, ic_points, left, rnd, ok)
    _test_group(pvk, be, items, ic_points, right, rnd, ok)


def _test_group(pvk, be, items, ic_points, idx, rnd, ok):
    if _batch_ok_ic(pvk, be, [items[i] for i in idx], ic_points[idx], rnd):
        ok[idx] = True
    else:
        _split_failed(pvk, be, items, ic_points, idx, rnd, ok)


def _find_valid(pvk, be, items, rnd) -> np.ndarray:
    """Which of the screened items are valid, given that their batch test failed."""
    n = len(items)
    ic_points = _ic_of_each(pvk, be, items)
    ok = np.zeros(n, dtype=bool)
    order = np.array(rnd.sample(range(n), n), dtype=np.int64)
    sample, rest = order[:SAMPLE_SIZE], order[SAMPLE_SIZE:]
    ok[sample] = _check_each(pvk, [items[i] for i in sample], ic_points[sample])
    invalid = len(sample) - int(ok[sample].sum())
    if len(rest) == 0:
        return ok
    if invalid >= DENSE_FRACTION * len(sample):
        ok[rest] = _check_each(pvk, [items[i] for i in rest], ic_points[rest])
        return ok
    if invalid:
        p = invalid / len(sample)
        group = 1 << max(1, round(np.log2(1 / np.sqrt(p))))
    else:                                       # p is likely below 1 / SAMPLE_SIZE
        group = SAMPLE_SIZE
    for lo in range(0, len(rest), group):
        _test_group(pvk, be, items, ic_points, rest[lo:lo + group], rnd, ok)
    return ok


def _screen_all(pvk, items) -> list:
    """The indices of the well-formed items: signals in range and of the right count, proof
    points of the right shapes, on the curve, B in G2 (and D on the curve).  In a batch a
    malformed item is just invalid.  The curve and subgroup checks run once over all items."""
    shaped = []
    for j, (x, p, d) in enumerate(items):
        try:
            if not _public_ok(pvk, x):
                continue
            a, b, c = (np.asarray(v, dtype=np.uint64) for v in (p.a, p.b, p.c))
            d = None if d is None else np.asarray(d, dtype=np.uint64)
        except (AttributeError, TypeError, ValueError):
            continue
        if a.shape == (2, 4) and c.shape == (2, 4) and b.shape == (2, 2, 4) \
                and (d is None or d.shape == (2, 4)):
            shaped.append((j, a, b, c, d))
    if not shaped:
        return []
    g1 = np.stack([pt for _, a, _, c, d in shaped for pt in (a, c) + ((d,) if d is not None
                                                                       else ())])
    on_curve = iter(G1.on_curve(g1))
    in_g2 = g2_in_subgroup(np.stack([b for _, _, b, _, _ in shaped]))
    good = []
    for (j, _, _, _, d), b_ok in zip(shaped, in_g2):
        points_ok = next(on_curve) & next(on_curve)
        if d is not None:
            points_ok &= next(on_curve)
        if points_ok and b_ok:
            good.append(j)
    return good


def batch_verify(vk, items, backend="auto", rng=None) -> list:
    """Verify many (public_signals, proof) pairs, or (public_signals, proof, D) triples of
    proofs with committed inputs, under one key: a list of bools, True exactly for the valid
    proofs (up to the 2^-128 error of the batch test).  `rng` overrides the CSPRNG that draws
    the batch coefficients (tests only)."""
    be = as_backend(backend)
    pvk = _prepared(vk)
    rnd = rng if rng is not None else secrets.SystemRandom()
    items = [(list(item[0]), item[1], item[2] if len(item) > 2 else None) for item in items]
    out = [False] * len(items)
    screened = _screen_all(pvk, items)
    if not screened:
        return out
    # Fast path: every proof valid, one test whose public-input part is a single MSM.
    if _batch_ok(pvk, be, [items[j] for j in screened], rnd):
        for j in screened:
            out[j] = True
        return out
    if len(screened) == 1:
        return out
    found = _find_valid(pvk, be, [items[j] for j in screened], rnd)
    for k, j in enumerate(screened):
        out[j] = bool(found[k])
    return out


__all__ = ["BATCH_COEFF_BITS", "batch_verify", "prepare_verifying_key", "verify"]
