"""The proving-key check: honest keys pass; changing any one element of a key, or its shape,
is refused with a message that names the part; keys without powers or for another circuit
are refused."""
import random
import re
from dataclasses import replace

import numpy as np
import pytest

from hpc_zkfl.algebra.constants import fr_root_of_unity
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.msm import msm_g1, msm_g2
from hpc_zkfl.algebra.subgroup import g2_in_subgroup, random_twist_points
from hpc_zkfl.groth16 import prove, setup
from hpc_zkfl.groth16.key_check import KeyCheckError, check_proving_key
from hpc_zkfl.groth16.testing import random_circuit

G1_GEN = G1.encode([G1.generator])[0]
G2_GEN = G2.encode([G2.generator])[0]


def honest_key(r1cs, seed):
    pk = setup(r1cs, backend="cpu", rng=random.Random(seed), commitment=True)
    assert pk.has_powers and pk.supports_commitment
    return pk


def refused(pk, r1cs, part, **kw):
    with pytest.raises(KeyCheckError, match=re.escape(f"refused: {part}:")):
        check_proving_key(pk, r1cs, **kw)


@pytest.fixture(scope="module")
def circuit():
    return random_circuit(40, 2, 3, rng=random.Random(11))


@pytest.fixture(scope="module")
def key(circuit):
    return honest_key(circuit[0], 12)


# ---- honest keys ---------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,seed", [((40, 2, 3), 11), ((100, 1, 1), 1), ((20, 0, 0), 2),
                                        ((64, 3, 0), 3)])
def test_honest_keys_pass(shape, seed):
    r1cs, _ = random_circuit(*shape, rng=random.Random(seed))
    pk = honest_key(r1cs, seed + 100)
    check_proving_key(pk, r1cs)                                  # the OS CSPRNG
    check_proving_key(pk, r1cs, rng=random.Random(seed))         # reproducible coefficients
    check_proving_key(pk, r1cs, subgroup_check=False)


def test_setup_itself_makes_keys_that_pass(circuit):
    r1cs = circuit[0]
    check_proving_key(setup(r1cs, backend="cpu", rng=random.Random(5), commitment=True), r1cs)


def test_node_statement_key_passes_and_fits_only_its_statement():
    from hpc_zkfl.fl.data import load_dataset
    from hpc_zkfl.fl.simulation import spec_for_dataset
    from hpc_zkfl.models import NodeStatement

    ds = load_dataset("breast_cancer", 0)
    r1cs = NodeStatement(spec_for_dataset(ds, "logistic", 2, 0.5, 4.0)).r1cs
    pk = honest_key(r1cs, 21)
    check_proving_key(pk, r1cs)
    # The same circuit with one coefficient of A, then of C, changed: same shape, other QAP.
    for name, part in (("A", "a_query"), ("C", "l_query / IC")):
        mat = getattr(r1cs, name)
        coeffs = mat.coeffs.copy()
        coeffs[len(coeffs) // 2] = FR.add(coeffs[len(coeffs) // 2][None], FR.encode([1]))[0]
        refused(pk, replace(r1cs, **{name: replace(mat, coeffs=coeffs)}), part)
    other = NodeStatement(spec_for_dataset(ds, "logistic", 2, 0.25, 4.0)).r1cs
    refused(pk, other, "sizes")


# ---- refused keys --------------------------------------------------------------------------------
def plus_generator(point):
    """point + the generator of its group (G1 (2, 4) or G2 (2, 2, 4))."""
    if point.shape == (2, 4):
        return msm_g1(np.stack([point, G1_GEN]), ints_to_limbs([1, 1]))
    return msm_g2(np.stack([point, G2_GEN]), ints_to_limbs([1, 1]))


def bumped(arr, i):
    out = arr.copy()
    out[i] = plus_generator(out[i])
    return out


def vk_with(pk, **fields):
    return replace(pk, vk=replace(pk.vk, **fields))


def off_curve(arr, i):
    out = arr.copy()
    out[i, 1, 0] ^= np.uint64(1)        # y changed: almost surely off the curve
    return out


def not_canonical(arr, i):
    out = arr.copy()
    out[i, 0] = np.uint64(0xFFFFFFFFFFFFFFFF)
    return out


def outside_g2(arr, i):
    out = arr.copy()
    out[i] = random_twist_points(1, random.Random(3))[0]
    assert not g2_in_subgroup(out[i][None])[0]
    return out


ZERO_G1 = np.zeros((2, 4), np.uint64)
ZERO_G2 = np.zeros((2, 2, 4), np.uint64)

TAMPERED = {
    # one element changed: the randomized equations
    "a_query[3]": (lambda pk: replace(pk, a_query=bumped(pk.a_query, 3)), "a_query"),
    "h_query[0]": (lambda pk: replace(pk, h_query=bumped(pk.h_query, 0)), "h_query"),
    "h_query[-1]": (lambda pk: replace(pk, h_query=bumped(pk.h_query, -1)), "h_query"),
    "l_query[-1]": (lambda pk: replace(pk, l_query=bumped(pk.l_query, -1)), "l_query / IC"),
    "IC[1]": (lambda pk: vk_with(pk, gamma_abc_g1=bumped(pk.vk.gamma_abc_g1, 1)),
              "l_query / IC"),
    "IC[0]": (lambda pk: vk_with(pk, gamma_abc_g1=bumped(pk.vk.gamma_abc_g1, 0)),
              "l_query / IC"),
    "alpha_g1": (lambda pk: vk_with(pk, alpha_g1=plus_generator(pk.vk.alpha_g1)), "l_query / IC"),
    "gamma_g2": (lambda pk: vk_with(pk, gamma_g2=plus_generator(pk.vk.gamma_g2)), "l_query / IC"),
    "b_g2_query[2]": (lambda pk: replace(pk, b_g2_query=bumped(pk.b_g2_query, 2)), "b_g1/b_g2"),
    "b_g1_query[2]": (lambda pk: replace(pk, b_g1_query=bumped(pk.b_g1_query, 2)), "b_g1/b_g2"),
    "b_g1_query[2] and b_g2_query[2] alike": (
        lambda pk: replace(pk, b_g1_query=bumped(pk.b_g1_query, 2),
                           b_g2_query=bumped(pk.b_g2_query, 2)), "b_g1_query"),
    "tau_g1[5]": (lambda pk: replace(pk, tau_g1=bumped(pk.tau_g1, 5)), "powers of tau"),
    "tau_g1[-1]": (lambda pk: replace(pk, tau_g1=bumped(pk.tau_g1, -1)), "powers of tau"),
    "tau_g2[1]": (lambda pk: replace(pk, tau_g2=bumped(pk.tau_g2, 1)), "powers of tau"),
    "tau_g1[0]": (lambda pk: replace(pk, tau_g1=bumped(pk.tau_g1, 0)), "generators"),
    "tau_g2[0]": (lambda pk: replace(pk, tau_g2=bumped(pk.tau_g2, 0)), "generators"),
    "beta_g1": (lambda pk: replace(pk, beta_g1=plus_generator(pk.beta_g1)), "beta"),
    "beta_g2": (lambda pk: vk_with(pk, beta_g2=plus_generator(pk.vk.beta_g2)), "beta"),
    "delta_g1": (lambda pk: replace(pk, delta_g1=plus_generator(pk.delta_g1)), "delta"),
    "delta_g2": (lambda pk: vk_with(pk, delta_g2=plus_generator(pk.vk.delta_g2)), "delta"),
    "eta_delta_g1": (lambda pk: replace(pk, eta_delta_g1=plus_generator(pk.eta_delta_g1)), "eta"),
    "eta_gamma_g1": (lambda pk: vk_with(pk, eta_gamma_g1=plus_generator(pk.vk.eta_gamma_g1)),
                     "eta"),
    # degenerate elements
    "alpha_g1 = O": (lambda pk: vk_with(pk, alpha_g1=ZERO_G1), "alpha"),
    "gamma_g2 = O": (lambda pk: vk_with(pk, gamma_g2=ZERO_G2), "gamma"),
    "delta = O in both groups": (lambda pk: vk_with(replace(pk, delta_g1=ZERO_G1),
                                                   delta_g2=ZERO_G2), "delta"),
    "beta_g1 = O": (lambda pk: replace(pk, beta_g1=ZERO_G1), "beta"),
    "eta_gamma_g1 = O": (lambda pk: vk_with(pk, eta_gamma_g1=ZERO_G1), "eta"),
    "tau_g2[1] = O": (lambda pk: replace(pk, tau_g2=np.stack([pk.tau_g2[0], ZERO_G2])),
                      "powers of tau"),
    # invalid points
    "a_query[0] off the curve": (lambda pk: replace(pk, a_query=off_curve(pk.a_query, 0)),
                                 "a_query"),
    "b_g2_query[1] outside G2": (lambda pk: replace(pk, b_g2_query=outside_g2(pk.b_g2_query, 1)),
                                 "b_g2_query"),
    "tau_g2[1] outside G2": (lambda pk: replace(pk, tau_g2=outside_g2(pk.tau_g2, 1)), "tau_g2"),
    "h_query[1] coordinate >= p": (lambda pk: replace(pk, h_query=not_canonical(pk.h_query, 1)),
                                   "h_query"),
    # shapes and sizes
    "a_query one short": (lambda pk: replace(pk, a_query=pk.a_query[:-1]), "sizes"),
    "h_query one short": (lambda pk: replace(pk, h_query=pk.h_query[:-1]), "sizes"),
    "b_g2_query one short": (lambda pk: replace(pk, b_g2_query=pk.b_g2_query[:-1]), "b_g2_query"),
    "b_g1_query one long": (lambda pk: replace(pk, b_g1_query=np.concatenate(
        [pk.b_g1_query, pk.b_g1_query[:1]])), "b_g1_query"),
    "tau_g1 one short": (lambda pk: replace(pk, tau_g1=pk.tau_g1[:-1]), "tau_g1"),
    "tau_g2 one short": (lambda pk: replace(pk, tau_g2=pk.tau_g2[:1]), "tau_g2"),
    "b_g2_query G1-shaped": (lambda pk: replace(pk, b_g2_query=pk.b_g1_query), "b_g2_query"),
    "delta_g2 G1-shaped": (lambda pk: vk_with(pk, delta_g2=pk.delta_g1), "delta_g2"),
    "IC without its point axis": (lambda pk: vk_with(pk, gamma_abc_g1=pk.vk.gamma_abc_g1[0]),
                                  "gamma_abc_g1"),
    "l_query int64": (lambda pk: replace(pk, l_query=pk.l_query.astype(np.int64)), "l_query"),
    "l_query a list": (lambda pk: replace(pk, l_query=pk.l_query.tolist()), "l_query"),
    "only one eta": (lambda pk: replace(pk, eta_delta_g1=None), "eta"),
    "wrong domain size": (lambda pk: replace(pk, domain_size=2 * pk.domain_size), "sizes"),
}


@pytest.mark.parametrize("name", list(TAMPERED))
def test_tampered_keys_are_refused(circuit, key, name):
    tamper, part = TAMPERED[name]
    refused(tamper(key), circuit[0], part)


def test_tau_in_the_domain_is_refused(circuit, key):
    """Consistent powers of a root of unity of the domain: Z(tau) = 0."""
    n = key.domain_size
    omega = fr_root_of_unity(n.bit_length() - 1)
    count = 2 * n - 1
    powers = [pow(omega, j, FR.modulus) for j in range(count)]
    tau_g1 = G1.scalar_mul(np.broadcast_to(G1_GEN, (count, 2, 4)), ints_to_limbs(powers))
    tau_g2 = np.stack([G2_GEN, G2.scalar_mul(G2_GEN[None], ints_to_limbs([omega]))[0]])
    with pytest.raises(KeyCheckError, match="root of unity"):
        check_proving_key(replace(key, tau_g1=tau_g1, tau_g2=tau_g2), circuit[0])


def test_key_without_powers_is_refused(circuit):
    r1cs = circuit[0]
    pk = setup(r1cs, backend="cpu", rng=random.Random(4))
    assert not pk.has_powers
    with pytest.raises(KeyCheckError, match="carries no powers of tau"):
        check_proving_key(pk, r1cs)


def test_not_a_key_is_refused(circuit, key):
    with pytest.raises(KeyCheckError, match="expected a ProvingKey"):
        check_proving_key(key.vk, circuit[0])


def test_key_for_another_circuit_is_refused(circuit, key):
    same_shape, _ = random_circuit(40, 2, 3, rng=random.Random(99))
    assert same_shape.n_wires == circuit[0].n_wires
    refused(key, same_shape, "a_query")
    bigger, _ = random_circuit(41, 2, 3, rng=random.Random(11))
    refused(key, bigger, "sizes")


def test_a_key_without_delta_unblinds_proofs_and_is_refused(circuit, key):
    """Why the check matters: with delta = O, A = alpha + sum_i w_i a_i(tau) carries no r delta
    term, so it is a deterministic function of the witness that the key's maker, who knows
    tau, can test guesses against.  The check refuses such a key before any proof is made."""
    r1cs, witness = circuit
    bad = vk_with(replace(key, delta_g1=ZERO_G1), delta_g2=ZERO_G2)
    a1 = prove(bad, r1cs, witness, backend="cpu", rng=random.Random(1)).a
    a2 = prove(bad, r1cs, witness, backend="cpu", rng=random.Random(2)).a
    assert np.array_equal(a1, a2)
    good1 = prove(key, r1cs, witness, backend="cpu", rng=random.Random(1)).a
    good2 = prove(key, r1cs, witness, backend="cpu", rng=random.Random(2)).a
    assert not np.array_equal(good1, good2)
    refused(bad, r1cs, "delta")


def test_a_key_read_from_bytes_passes_without_a_second_subgroup_test(circuit, key):
    """The intended flow: decode (points validated, G2 subgroup included), then check."""
    from hpc_zkfl.groth16.formats import pk_from_bytes, pk_to_bytes

    received = pk_from_bytes(pk_to_bytes(key))
    assert received.has_powers and received.supports_commitment
    check_proving_key(received, circuit[0], subgroup_check=False)
