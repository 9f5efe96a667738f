"""Checking a Groth16 proving key received from someone else before proving with it.

A node proves under a key that the aggregator made.  Groth16's zero knowledge is proven for
an honestly generated key; a subverted one can make proofs leak the witness (a point of small
order in b_g2_query, a missing delta that leaves A unblinded, ...).  Proofs stay zero knowledge
under any key that is *well formed*, i.e. consistent with some trapdoor (tau, alpha, beta,
gamma, delta, eta) with non-zero alpha, beta, gamma, delta, eta: subversion zero knowledge,
Fuchsbauer, "Subversion-zero-knowledge SNARKs", PKC 2018 (eprint 2017/587), and Abdolmaleki,
Baghery, Lipmaa, Zajac, "A subversion-resistant SNARK", ASIACRYPT 2017 (eprint 2017/599).
`check_proving_key` decides well-formedness, as snarkjs' `zkey verify` does, but against the
powers of tau that the key carries itself (`setup(..., commitment=True)` keeps them).  It says
nothing about whether the key's maker kept the trapdoor: soundness still trusts the setup.

Every relation between the key's vectors is tested as ONE randomized equation: a random
linear combination with independent 128-bit coefficients rho_i of the per-element relations
holds for a key that breaks any of them with probability at most 2^-128 (a non-zero linear
form in rho vanishes on at most one value of any single coefficient).  The check costs a few
multi-scalar multiplications of the key's size, a few pairing products, and (the largest
share) a subgroup test of every G2 point.  In order, the parts whose names the error gives:

1. The field's own name (e.g. "b_g2_query") or "sizes": shapes, sizes against the circuit,
   coordinates below p, on the curve, G2 points in the order-r subgroup (G1 has cofactor 1).
   A point outside the group would leak the witness modulo the order of its stray component.
2. "generators" (tau_g1[0], tau_g2[0]), then "alpha", "beta", "gamma", "delta", "eta",
   "powers of tau" for an element that is the point at infinity (a zero trapdoor value).
3. "powers of tau": e(sum rho_j T_{j+1}, [1]_2) = e(sum rho_j T_j, [tau]_2), T_0 the generator,
   so T_j = [tau^j]_1; and Z(tau) != 0.
4. "beta", "delta": the G1 and G2 copies have one discrete logarithm.
5. "b_g1/b_g2": e(sum rho_i B1_i, [1]_2) = e([1]_1, sum rho_i B2_i).
6. "a_query", "b_g1_query": sum rho_i Q_i = [P(tau)]_1 with P = sum rho_i a_i (b_i), whose
   evaluations on the domain are the constraint matrix applied to rho and whose coefficients
   an inverse NTT gives, against the powers checked in 3.
7. "l_query / IC": one pairing equation over all wires (see `_check_l_and_ic`).  alpha and
   gamma enter the key only through it, so a wrong alpha_g1 or gamma_g2 is reported here.
8. "h_query": e(sum rho_j H_j, [delta]_2) = e(sum rho_j (T_{j+n} - T_j), [1]_2).
9. "eta": e([eta/delta]_1, [delta]_2) = e([eta/gamma]_1, [gamma]_2).
"""
import secrets

import numpy as np

from hpc_zkfl.algebra import montgomery as mont
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fields import FQ, FR_M
from hpc_zkfl.algebra.ntt import intt
from hpc_zkfl.algebra.pairing import pairing_check_arrays, prepare_g2
from hpc_zkfl.algebra.subgroup import g2_in_subgroup
from hpc_zkfl.backends import as_backend

from .data_structures import ProvingKey, VerifyingKey
from .prover import check_key
from .r1cs_to_qap import domain_size, to_plain

COEFF_BITS = 128

_G1_GEN = G1.encode([G1.generator])[0]
_G2_GEN = G2.encode([G2.generator])[0]
# Slots of the prepared G2 points: [1]_2, [tau]_2, [beta]_2, [gamma]_2, [delta]_2.
_ONE, _TAU, _BETA, _GAMMA, _DELTA = range(5)


class KeyCheckError(ValueError):
    """The proving key is malformed; the message names the first part that fails."""


def _fail(part: str, why: str):
    raise KeyCheckError(f"proving key refused: {part}: {why}")


# ---- shapes and point validity ---------------------------------------------------------------
def _points(part, value, group, single: bool) -> np.ndarray:
    """The field as a contiguous uint64 array of one point (`single`) or of (n, ...) points,
    or a KeyCheckError; never an IndexError later on.  Counts are checked separately."""
    tail = (2,) + group.coord_shape
    if value is None:
        _fail(part, "missing")
    if not isinstance(value, np.ndarray) or value.dtype != np.uint64:
        _fail(part, f"expected a uint64 array, got {type(value).__name__} "
                    f"{getattr(value, 'dtype', '')}".rstrip())
    ok = value.shape == tail if single else (value.ndim == 1 + len(tail)
                                             and value.shape[1:] == tail)
    if not ok:
        want = ("" if single else "n, ") + ", ".join(map(str, tail))
        _fail(part, f"expected shape ({want}), got {value.shape}")
    return np.ascontiguousarray(value)


def _valid(part, points, group, subgroup_check) -> None:
    """Coordinates below p, on the curve, and (G2) in the order-r subgroup."""
    many = points if points.ndim == 2 + len(group.coord_shape) else points[None]
    if not many.shape[0]:
        return
    bad = np.flatnonzero(~FQ.is_canonical(many.reshape(-1, 4)))
    if bad.size:
        _fail(part, f"point {int(bad[0]) // (many[0].size // 4)} has a coordinate not below p")
    if group is G2 and subgroup_check:
        ok, what = g2_in_subgroup(many), "is not in G2"
    else:
        ok, what = group.on_curve(many), "is not on the curve"
    bad = np.flatnonzero(~ok)
    if bad.size:
        _fail(part, f"point {int(bad[0])} {what}")


def _is_infinity(point) -> bool:
    return not point.any()


# ---- randomness and arithmetic helpers -----------------------------------------------------------
def _coefficients(rnd, count) -> np.ndarray:
    """`count` independent uniform COEFF_BITS-bit scalars, plain (count, 4) limbs."""
    out = np.zeros((count, 4), dtype=np.uint64)
    if count:
        raw = rnd.getrandbits(COEFF_BITS * count).to_bytes(COEFF_BITS // 8 * count, "little")
        out[:, :COEFF_BITS // 64] = np.frombuffer(raw, dtype="<u8").reshape(count, -1)
    return out


def _mont(plain) -> np.ndarray:
    out = np.empty_like(plain)
    if plain.shape[0]:
        mont.to_mont_array(plain, out, FR_M)
    return out


def _neg(point) -> np.ndarray:
    out = np.array(point, dtype=np.uint64)
    out[1] = FQ.neg(out[1][None])[0]
    return out


class _Msm:
    """The backend's MSMs, returning host arrays."""

    def __init__(self, backend):
        self.be = as_backend(backend)

    def g1(self, points, scalars) -> np.ndarray:
        return np.ascontiguousarray(self.be.msm_g1(points, scalars), dtype=np.uint64)

    def g2(self, points, scalars) -> np.ndarray:
        return np.ascontiguousarray(self.be.msm_g2(points, scalars), dtype=np.uint64)


def _wire_poly_coefficients(mat, rho_mont, n, m, public_rows) -> np.ndarray:
    """Plain coefficients of P(X) = sum_i rho_i p_i(X) over the wire polynomials of `mat`:
    its evaluation at omega^k is row k of the matrix applied to rho (the extra row m + i of a
    public wire i holds rho_i for A), and an inverse NTT interpolates."""
    evals = np.zeros((n, 4), dtype=np.uint64)
    evals[:m] = mat.evaluate(rho_mont)
    if public_rows:
        evals[m:m + public_rows] = rho_mont[:public_rows]
    return to_plain(intt(evals))


# ---- the check ----------------------------------------------------------------------------------
def check_proving_key(pk: ProvingKey, r1cs, backend="cpu", rng=None, *,
                      subgroup_check: bool = True) -> None:
    """Return None when `pk` is a well-formed Groth16 proving key for `r1cs` (see the module
    docstring), else raise KeyCheckError naming the first failing part.  The key must carry
    its powers of tau (`setup(..., commitment=True)`).  `backend`: whose MSMs run the check.
    `rng`: a random.Random for reproducible tests; by default the coefficients come from the
    OS CSPRNG, which a key's maker must not predict.  `subgroup_check=False` skips only the G2
    subgroup tests (the largest share of the time) for points that `formats.pk_from_bytes`
    decoded with its own subgroup check; every other test still runs."""
    if not isinstance(pk, ProvingKey) or not isinstance(pk.vk, VerifyingKey):
        raise KeyCheckError(f"expected a ProvingKey, got {type(pk).__name__}")
    if not pk.has_powers:
        raise KeyCheckError("proving key refused: the key carries no powers of tau to check "
                            "it against (make it with setup(..., commitment=True))")
    rnd = rng if rng is not None else secrets.SystemRandom()
    key = _structure(pk, r1cs, subgroup_check)
    msm = _Msm(backend)
    n, nw, k = key["n"], r1cs.n_wires, r1cs.n_public + 1
    one_g2 = key["tau_g2"][0]
    # Prepared once: [1]_2, [tau]_2, [beta]_2, [gamma]_2, [delta]_2 (all checked not zero).
    prep = prepare_g2(np.stack([one_g2, key["tau_g2"][1], key["beta_g2"], key["gamma_g2"],
                                key["delta_g2"]]))

    def holds(g1_prepared, which, g1=None, g2=None) -> bool:
        """prod e(g1_prepared[j], prep[which[j]]) * prod e(g1[i], g2[i]) == 1."""
        g1 = np.zeros((0, 2, 4), np.uint64) if g1 is None else np.stack(g1)
        g2 = np.zeros((0, 2, 2, 4), np.uint64) if g2 is None else np.stack(g2)
        return pairing_check_arrays(g1, g2, np.stack(g1_prepared), prep[list(which)])

    tau_g1 = key["tau_g1"]
    # 3. T_{j+1} = tau T_j for every j, T_0 = [1]_1 (checked), hence T_j = [tau^j]_1.
    rho = _coefficients(rnd, 2 * n - 2)
    if not holds([msm.g1(tau_g1[1:], rho), _neg(msm.g1(tau_g1[:-1], rho))], [_ONE, _TAU]):
        _fail("powers of tau", "tau_g1 is not the sequence [tau^j]_1 for tau_g2[1] = [tau]_2")
    if np.array_equal(tau_g1[n], tau_g1[0]):
        _fail("powers of tau", "tau is a root of unity of the domain (Z(tau) = 0)")

    # 4. One discrete logarithm for each G1 / G2 pair.
    g1_one = tau_g1[0]
    if not holds([key["beta_g1"], _neg(g1_one)], [_ONE, _BETA]):
        _fail("beta", "beta_g1 and beta_g2 have different discrete logarithms")
    if not holds([key["delta_g1"], _neg(g1_one)], [_ONE, _DELTA]):
        _fail("delta", "delta_g1 and delta_g2 have different discrete logarithms")

    # 5. b_g1_query[i] and b_g2_query[i] agree; the same rho is reused below: each later test
    # is exact once the earlier ones hold, so one 2^-128 bound covers the whole sequence.
    rho = _coefficients(rnd, nw)
    rho_mont = _mont(rho)
    b1_sum = msm.g1(key["b_g1_query"], rho)
    b2_sum = msm.g2(key["b_g2_query"], rho)
    if not holds([b1_sum], [_ONE], [_neg(g1_one)], [b2_sum]):
        _fail("b_g1/b_g2", "b_g1_query and b_g2_query have different discrete logarithms")

    # 6. a_query and b_g1_query against the (now trusted) powers.
    m = r1cs.n_constraints
    powers = tau_g1[:n]
    pa = msm.g1(powers, _wire_poly_coefficients(r1cs.A, rho_mont, n, m, k))
    if not np.array_equal(msm.g1(key["a_query"], rho), pa):
        _fail("a_query", "a_query is not [a_i(tau)]_1 for this circuit and these powers")
    pb = msm.g1(powers, _wire_poly_coefficients(r1cs.B, rho_mont, n, m, 0))
    if not np.array_equal(b1_sum, pb):
        _fail("b_g1_query", "b_g1_query is not [b_i(tau)]_1 for this circuit and these powers")

    # 7. l_query and IC.
    pc = msm.g1(powers, _wire_poly_coefficients(r1cs.C, rho_mont, n, m, 0))
    _check_l_and_ic(msm, key, rho, k, pa, b2_sum, pc, holds)

    # 8. h_query[j] = [tau^j Z(tau) / delta]_1, Z(tau) = tau^n - 1.
    rho = _coefficients(rnd, n - 1)
    if not holds([msm.g1(key["h_query"], rho), _neg(msm.g1(tau_g1[n:2 * n - 1], rho)),
                  msm.g1(tau_g1[:n - 1], rho)], [_DELTA, _ONE, _ONE]):
        _fail("h_query", "h_query is not [tau^j Z(tau) / delta]_1")

    # 9. One eta behind both elements (non-zero: checked with the points).
    if key["eta"] is not None:
        eta_gamma, eta_delta = key["eta"]
        if not holds([eta_delta, _neg(eta_gamma)], [_DELTA, _GAMMA]):
            _fail("eta", "eta_delta_g1 * delta != eta_gamma_g1 * gamma")


def _check_l_and_ic(msm, key, rho, k, pa, b2_sum, pc, holds) -> None:
    """With u_i = beta a_i(tau) + alpha b_i(tau) + c_i(tau), IC_i should be [u_i / gamma]_1
    (public wires i < k) and l_query[i - k] = [u_i / delta]_1 (private wires).  Tested:

        e(sum_pub rho_i IC_i, [gamma]_2) e(sum_priv rho_i L_i, [delta]_2)
            = e([P_a(tau)]_1, [beta]_2) e([alpha]_1, [P_b(tau)]_2) e([P_c(tau)]_1, [1]_2).

    Why it is sound: [P_a(tau)]_1 and [P_c(tau)]_1 are MSMs over the powers checked in 3, so
    their logarithms are exactly sum rho_i a_i(tau) and sum rho_i c_i(tau); [P_b(tau)]_2 =
    sum rho_i b_g2_query[i], which 5 and 6 tied to b_i(tau) element by element (up to
    2^-128).  Writing y_i, z_i for the logarithms of IC_i and L_i, the equation says
    sum_pub rho_i (gamma y_i - u_i) + sum_priv rho_i (delta z_i - u_i) = 0, a linear form in
    the fresh rho that is not identically zero as soon as one element is wrong (gamma, delta
    are non-zero, so gamma y_i = u_i iff y_i = u_i / gamma); it then vanishes with
    probability at most 2^-128."""
    ic_sum = msm.g1(key["gamma_abc_g1"], rho[:k])
    l_sum = msm.g1(key["l_query"], rho[k:])
    if not holds([ic_sum, l_sum, _neg(pa), _neg(pc)], [_GAMMA, _DELTA, _BETA, _ONE],
                 [_neg(key["alpha_g1"])], [b2_sum]):
        _fail("l_query / IC", "l_query or IC is not [(beta a_i + alpha b_i + c_i)(tau) / "
                              "delta or gamma]_1")


def _structure(pk, r1cs, subgroup_check) -> dict:
    """Parts 1 and 2: every point's shape and validity, the sizes, the generators and the
    elements that must not be zero.  Returns the arrays by name."""
    vk = pk.vk
    n = domain_size(r1cs)
    nw, k = r1cs.n_wires, r1cs.n_public + 1
    spec = [  # name, value, group, count (None: one point)
        ("alpha_g1", vk.alpha_g1, G1, None), ("beta_g1", pk.beta_g1, G1, None),
        ("delta_g1", pk.delta_g1, G1, None), ("beta_g2", vk.beta_g2, G2, None),
        ("gamma_g2", vk.gamma_g2, G2, None), ("delta_g2", vk.delta_g2, G2, None),
        ("a_query", pk.a_query, G1, nw), ("b_g1_query", pk.b_g1_query, G1, nw),
        ("b_g2_query", pk.b_g2_query, G2, nw), ("h_query", pk.h_query, G1, n - 1),
        ("l_query", pk.l_query, G1, nw - k), ("gamma_abc_g1", vk.gamma_abc_g1, G1, k),
        ("tau_g1", pk.tau_g1, G1, 2 * n - 1), ("tau_g2", pk.tau_g2, G2, 2),
    ]
    has_eta = vk.eta_gamma_g1 is not None, pk.eta_delta_g1 is not None
    if any(has_eta):
        if not all(has_eta):
            _fail("eta", "only one of eta_gamma_g1 and eta_delta_g1")
        spec += [("eta_gamma_g1", vk.eta_gamma_g1, G1, None),
                 ("eta_delta_g1", pk.eta_delta_g1, G1, None)]
    key = {"n": n, "eta": None}
    for name, value, group, count in spec:
        key[name] = _points(name, value, group, count is None)
    try:
        check_key(pk, r1cs)
    except ValueError as err:
        raise KeyCheckError(f"proving key refused: sizes: {err}") from None
    for name, _, _, count in spec:
        if count is not None and key[name].shape[0] != count:
            _fail(name, f"expected {count} points for this circuit, got {key[name].shape[0]}")
    for name, _, group, _ in spec:
        _valid(name, key[name], group, subgroup_check)

    if not np.array_equal(key["tau_g1"][0], _G1_GEN):
        _fail("generators", "tau_g1[0] is not the generator of G1")
    if not np.array_equal(key["tau_g2"][0], _G2_GEN):
        _fail("generators", "tau_g2[0] is not the generator of G2")
    if _is_infinity(key["tau_g2"][1]):
        _fail("powers of tau", "tau_g2[1] is the point at infinity (tau = 0)")
    for name, part in (("alpha_g1", "alpha"), ("beta_g1", "beta"), ("beta_g2", "beta"),
                       ("delta_g1", "delta"), ("delta_g2", "delta"), ("gamma_g2", "gamma")):
        if _is_infinity(key[name]):
            _fail(part, f"{name} is the point at infinity")
    if any(has_eta):
        for name in ("eta_gamma_g1", "eta_delta_g1"):
            if _is_infinity(key[name]):
                _fail("eta", f"{name} is the point at infinity")
        key["eta"] = (key["eta_gamma_g1"], key["eta_delta_g1"])
    return key


__all__ = ["COEFF_BITS", "KeyCheckError", "check_proving_key"]
