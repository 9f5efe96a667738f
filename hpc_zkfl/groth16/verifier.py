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
proof passes with probability at most 2^-128.  When a batch fails, it is halved and each half
re-tested with fresh coefficients (the recursive "divide and conquer" of Pastuszak, Michalek,
Pieprzyk, Seberry, "Identification of bad signatures in batches", PKC 2000) until single
proofs, which are verified exactly; the result names exactly the invalid proofs.

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
from hpc_zkfl.algebra.pairing import pairing_check_arrays
from hpc_zkfl.algebra.subgroup import g2_in_subgroup
from hpc_zkfl.backends import get_backend

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


def verify(vk, public_signals, proof: Proof, backend="auto") -> bool:
    """Whether `proof` is valid for `public_signals` (ints) under vk (a VerifyingKey or a
    PreparedVerifyingKey).  False for signals outside [0, r) and for malformed points;
    ValueError for a wrong number of signals."""
    be = get_backend(backend) if isinstance(backend, str) else backend
    pvk = _prepared(vk)
    if not _public_ok(pvk, public_signals) or not _proof_points_ok(proof):
        return False
    ic = _ic(pvk, be, [1, *public_signals])
    g1_prepared = np.stack([pvk.vk.alpha_g1, ic, np.asarray(proof.c, dtype=np.uint64)])
    return pairing_check_arrays(_neg_g1(proof.a)[None], np.asarray(proof.b, dtype=np.uint64)[None],
                                g1_prepared, pvk.prepared)


def _batch_ok(pvk, be, items, rnd) -> bool:
    """The small-exponent batch test on (public ints, proof) items already screened."""
    if len(items) == 1:
        return verify(pvk, items[0][0], items[0][1], be)
    z = [1 + rnd.randrange((1 << BATCH_COEFF_BITS) - 1) for _ in items]
    a = np.stack([np.asarray(p.a, dtype=np.uint64) for _, p in items])
    b = np.stack([np.asarray(p.b, dtype=np.uint64) for _, p in items])
    c = np.stack([np.asarray(p.c, dtype=np.uint64) for _, p in items])
    za = G1.scalar_mul(a, ints_to_limbs(z))
    # The right-hand side is moved over with negated scalars r - z instead of negated points.
    # sum_j z_j x_j per public input, one vectorised product of Python ints
    signals = np.array([[1, *(int(v) for v in x)] for x, _ in items], dtype=object)
    ic_scalars = [int(v) % R for v in np.array(z, dtype=object) @ signals]
    neg = lambda v: (-v) % R  # noqa: E731
    alpha = G1.scalar_mul(pvk.vk.alpha_g1[None], ints_to_limbs([neg(sum(z))]))[0]
    ic = _ic(pvk, be, [neg(v) for v in ic_scalars])
    csum = be.msm_g1(c, ints_to_limbs([neg(zj) for zj in z]))
    return pairing_check_arrays(za, b, np.stack([alpha, ic, csum]), pvk.prepared)


def _ic_of_each(pvk, be, items) -> np.ndarray:
    """IC(x_j) for every item, with signals taken as signed: x > r/2 stands for x - r, whose
    base is negated, so that the small signed integers of fixed-point statements make short
    scalars (a few MSM windows instead of 255 bits' worth)."""
    bases = np.asarray(pvk.vk.gamma_abc_g1, dtype=np.uint64)
    neg_bases = bases.copy()
    neg_bases[:, 1] = FQ.neg(bases[:, 1])
    out = np.empty((len(items), 2, 4), dtype=np.uint64)
    for j, (x, _) in enumerate(items):
        signals = np.array([1, *(int(v) for v in x)], dtype=object)
        negative = signals > R // 2
        mags = np.where(negative, R - signals, signals)
        pts = np.where(negative[:, None, None], neg_bases, bases)
        out[j] = be.msm_g1(np.ascontiguousarray(pts), ints_to_limbs([int(m) for m in mags]))
    return out


def _batch_ok_ic(pvk, be, items, ic_points, rnd) -> bool:
    """The batch test with each item's IC(x_j) already computed."""
    z = [1 + rnd.randrange((1 << BATCH_COEFF_BITS) - 1) for _ in items]
    a = np.stack([np.asarray(p.a, dtype=np.uint64) for _, p in items])
    b = np.stack([np.asarray(p.b, dtype=np.uint64) for _, p in items])
    c = np.stack([np.asarray(p.c, dtype=np.uint64) for _, p in items])
    za = G1.scalar_mul(a, ints_to_limbs(z))
    neg = ints_to_limbs([(-zj) % R for zj in z])
    alpha = G1.scalar_mul(pvk.vk.alpha_g1[None], ints_to_limbs([(-sum(z)) % R]))[0]
    ic = be.msm_g1(np.ascontiguousarray(ic_points), neg)
    csum = be.msm_g1(c, neg)
    return pairing_check_arrays(za, b, np.stack([alpha, ic, csum]), pvk.prepared)


def _bisect_ic(pvk, be, items, ic_points, idx, rnd, out):
    """Divide and conquer with precomputed IC points: a batch check then costs two MSMs of
    its own size, not one over all public inputs."""
    if _batch_ok_ic(pvk, be, [items[i] for i in idx], ic_points[idx], rnd):
        for i in idx:
            out[i] = True
        return
    if len(idx) == 1:
        return
    half = len(idx) // 2
    _bisect_ic(pvk, be, items, ic_points, idx[:half], rnd, out)
    _bisect_ic(pvk, be, items, ic_points, idx[half:], rnd, out)


def _screen(pvk, public_signals, proof) -> bool:
    """In a batch, a malformed item (wrong signal count or type, bad point) is just invalid."""
    try:
        return _public_ok(pvk, public_signals) and _proof_points_ok(proof)
    except (TypeError, ValueError):
        return False


def batch_verify(vk, items, backend="auto", rng=None) -> list:
    """Verify many (public_signals, proof) pairs under one key: a list of bools, True exactly
    for the valid proofs (up to the 2^-128 error of the batch test).  `rng` overrides the
    CSPRNG that draws the batch coefficients (tests only)."""
    be = get_backend(backend) if isinstance(backend, str) else backend
    pvk = _prepared(vk)
    rnd = rng if rng is not None else secrets.SystemRandom()
    items = [(list(x), p) for x, p in items]
    out = [False] * len(items)
    screened = [j for j, (x, p) in enumerate(items) if _screen(pvk, x, p)]
    if not screened:
        return out
    # Fast path: every proof valid, one test whose public-input part is a single MSM.
    if _batch_ok(pvk, be, [items[j] for j in screened], rnd):
        for j in screened:
            out[j] = True
        return out
    if len(screened) == 1:
        return out
    # Some are invalid: with many public signals, compute each proof's IC(x_j) once so that
    # the bisection's tests are cheap.
    ic_points = _ic_of_each(pvk, be, [items[j] for j in screened])
    found = [False] * len(screened)
    half = len(screened) // 2
    everything = list(range(len(screened)))
    _bisect_ic(pvk, be, [items[j] for j in screened], ic_points, everything[:half], rnd, found)
    _bisect_ic(pvk, be, [items[j] for j in screened], ic_points, everything[half:], rnd, found)
    for k, j in enumerate(screened):
        out[j] = found[k]
    return out


__all__ = ["BATCH_COEFF_BITS", "batch_verify", "prepare_verifying_key", "verify"]
