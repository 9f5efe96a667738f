"""Groth16 setup, prover and verifiers on random constraint systems: completeness, the QAP
identity behind the prover, soundness against tampered proofs and inputs, witness refusal,
and batch verification naming exactly the invalid proofs."""
import random

import numpy as np
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.curve import G1
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.msm import msm_g2
from hpc_zkfl.algebra.subgroup import random_twist_points
from hpc_zkfl.groth16 import verifier
from hpc_zkfl.groth16 import (Proof, UnsatisfiedWitnessError, batch_verify, prepare_verifying_key,
                              prove, setup, verify)
from hpc_zkfl.groth16.r1cs_to_qap import compute_h, domain_size, lagrange_at, qap_at
from hpc_zkfl.groth16.testing import public_signals, random_circuit, solve


@pytest.fixture(scope="module")
def rnd():
    return random.Random(20261125)


@pytest.fixture(scope="module")
def system(rnd):
    """A circuit with 2 outputs, 3 public and 2 private inputs, its key, and two valid
    (public signals, proof) instances for different inputs."""
    r1cs, w = random_circuit(12, 2, 3, 2, rng=rnd)
    pk = setup(r1cs, rng=rnd)
    w2 = solve(r1cs, [rnd.randrange(R) for _ in range(5)])
    instances = [(public_signals(r1cs, x), prove(pk, r1cs, x)) for x in (w, w2)]
    return r1cs, w, pk, instances


@pytest.mark.parametrize("shape", [(1, 0, 0, 0), (3, 0, 0, 2), (8, 1, 0, 3), (12, 2, 3, 2),
                                   (29, 1, 1, 1), (30, 1, 1, 1), (40, 0, 6, 0)])
def test_completeness(shape, rnd):
    r1cs, w = random_circuit(*shape, rng=rnd)
    assert r1cs.unsatisfied(w) is None
    pk = setup(r1cs, rng=rnd)
    assert pk.h_query.shape[0] == domain_size(r1cs) - 1
    proof = prove(pk, r1cs, w)
    x = public_signals(r1cs, w)
    assert len(x) == r1cs.n_public
    assert verify(pk.vk, x, proof)
    assert verify(prepare_verifying_key(pk.vk), x, proof)


def test_domain_size_counts_public_rows():
    for m, n_public, n in [(1, 0, 2), (29, 2, 32), (30, 2, 64), (1, 6, 8)]:
        r1cs, _ = random_circuit(m, min(n_public, m - 1), n_public - min(n_public, m - 1), 0,
                                 rng=random.Random(m))
        assert domain_size(r1cs) == n


def test_qap_identity(rnd):
    """a(tau) b(tau) - c(tau) = h(tau) Z(tau) for the prover's h and the setup's a_i(tau)."""
    r1cs, w = random_circuit(20, 1, 2, 3, rng=rnd)
    n = domain_size(r1cs)
    tau = rnd.randrange(R)
    a, b, c = (FR.decode(v) for v in qap_at(r1cs, lagrange_at(tau, n)))
    wv = FR.decode(w)
    dot = lambda v: sum(x * y for x, y in zip(v, wv)) % R  # noqa: E731
    h = FR.decode(compute_h(r1cs, w))
    assert len(h) == n - 1
    h_tau = sum(hj * pow(tau, j, R) for j, hj in enumerate(h)) % R
    assert (dot(a) * dot(b) - dot(c)) % R == h_tau * (pow(tau, n, R) - 1) % R


def test_proofs_are_rerandomized(system):
    r1cs, w, pk, _ = system
    p1, p2 = prove(pk, r1cs, w), prove(pk, r1cs, w)
    assert p1 != p2
    x = public_signals(r1cs, w)
    assert verify(pk.vk, x, p1) and verify(pk.vk, x, p2)


def test_changed_public_input_fails(system):
    _, _, pk, [(x, proof), _] = system
    for i in range(len(x)):
        bad = list(x)
        bad[i] = (bad[i] + 1) % R
        assert not verify(pk.vk, bad, proof)


def test_proof_for_other_public_inputs_fails(system):
    _, _, pk, [(x1, p1), (x2, p2)] = system
    assert x1 != x2
    assert verify(pk.vk, x2, p2)
    assert not verify(pk.vk, x2, p1)
    assert not verify(pk.vk, x1, p2)


def test_replaced_points_fail(system):
    _, _, pk, [(x, proof), (_, other)] = system
    g1 = G1.scalar_mul(np.stack([proof.a, proof.c]), ints_to_limbs([2, 3]))
    g2 = msm_g2(proof.b[None], ints_to_limbs([5]))      # compiled by the prover already
    for bad in (Proof(g1[0], proof.b, proof.c), Proof(other.a, proof.b, proof.c),
                Proof(proof.a, g2, proof.c), Proof(proof.a, other.b, proof.c),
                Proof(proof.a, proof.b, g1[1]), Proof(proof.a, proof.b, other.c),
                Proof(proof.c, proof.b, proof.a)):
        assert not verify(pk.vk, x, bad)


def test_malformed_points_are_rejected_without_crash(system, rnd):
    _, _, pk, [(x, proof), _] = system
    off_curve = np.array(proof.a)
    off_curve[0] = FR.encode([1])[0]          # any limbs: (x, y) almost surely off the curve
    outside_g2 = random_twist_points(1, rnd)[0]
    for bad in (Proof(off_curve, proof.b, proof.c), Proof(proof.a, outside_g2, proof.c),
                Proof(proof.a, proof.b, off_curve), Proof(proof.a[:1], proof.b, proof.c)):
        assert not verify(pk.vk, x, bad)
    assert not verify(pk.vk, x, Proof(np.zeros((2, 4), np.uint64), proof.b, proof.c))


def test_public_signal_checks(system):
    _, _, pk, [(x, proof), _] = system
    assert not verify(pk.vk, [x[0] + R] + x[1:], proof)
    assert not verify(pk.vk, [-1] + x[1:], proof)
    with pytest.raises(ValueError, match="public signals"):
        verify(pk.vk, x[:-1], proof)
    with pytest.raises(ValueError):
        verify(pk.vk, [str(x[0])] + x[1:], proof)


def test_prover_refuses_unsatisfied_witness(system):
    r1cs, w, pk, _ = system
    m = r1cs.n_constraints
    for wire, first_bad in [(1, m - 2), (2, m - 1), (r1cs.n_wires - 1, m - 3)]:
        bad = w.copy()
        bad[wire] = FR.add(bad[wire][None], FR.encode([1]))[0]
        assert r1cs.unsatisfied(bad) == first_bad
        with pytest.raises(UnsatisfiedWitnessError, match=f"constraint {first_bad}\\b") as err:
            prove(pk, r1cs, bad)
        assert err.value.constraint == first_bad


def test_key_for_another_circuit_is_refused(system, rnd):
    r1cs, w, _, _ = system
    other, _ = random_circuit(5, 1, 1, 1, rng=rnd)
    with pytest.raises(ValueError, match="does not match"):
        prove(setup(other, rng=rnd), r1cs, w)


def test_batch_verify_names_exactly_the_bad_proofs(system, rnd):
    r1cs, w, pk, [(x1, p1), (x2, p2)] = system
    items = [(x1, prove(pk, r1cs, w)) for _ in range(6)] + [(x2, p2)]
    assert batch_verify(pk.vk, items, rng=rnd) == [True] * 7
    bad = list(items)
    bad[4] = (x2, bad[4][1])                  # proof for other public inputs
    assert batch_verify(pk.vk, bad, rng=rnd) == [True] * 4 + [False] + [True] * 2
    bad[1] = (x1, Proof(p1.c, p1.b, p1.a))
    off = np.array(p1.a)
    off[1] = FR.encode([7])[0]
    bad[6] = (x2, Proof(off, p2.b, p2.c))     # screened out before the pairings
    pvk = prepare_verifying_key(pk.vk)
    assert batch_verify(pvk, bad, rng=rnd) == [True, False, True, True, False, True, False]
    assert batch_verify(pk.vk, [(x1[:-1], p1), (x1, p1), ([str(v) for v in x1], p1)]) == [
        False, True, False]                   # malformed items are invalid, not errors
    assert batch_verify(pk.vk, []) == []
    assert batch_verify(pk.vk, [(x1, p1)]) == [True]


@pytest.mark.parametrize("bad", [set(), {17}, {0, 9, 10, 33}, set(range(0, 40, 2)),
                                 set(range(40))])
def test_batch_verify_past_the_sample(system, rnd, bad, monkeypatch):
    """With more proofs than the sample, sparse invalid proofs are found by group tests and
    bisection, dense ones by single checks; either way exactly the invalid are named."""
    monkeypatch.setattr(verifier, "SAMPLE_SIZE", 8)
    group_tests = []
    batch_ok_ic = verifier._batch_ok_ic
    monkeypatch.setattr(verifier, "_batch_ok_ic",
                        lambda *a: group_tests.append(len(a[2])) or batch_ok_ic(*a))
    r1cs, w, pk, [(x1, _), (x2, _)] = system
    proofs = [prove(pk, r1cs, w) for _ in range(5)]
    items = [(x2 if j in bad else x1, proofs[j % 5]) for j in range(40)]
    assert batch_verify(pk.vk, items, rng=rnd) == [j not in bad for j in range(40)]
    if len(bad) == 1:      # at most 1 of the 8 sampled is invalid: group tests follow
        assert group_tests and max(group_tests) > 1
    if len(bad) == 40:     # all 8 sampled are invalid: single checks only
        assert not group_tests


def test_batch_verify_many_signed_signals_names_the_invalid(rng):
    """Statements with many public signals that are small signed integers (as the node
    statements' w and u): a batch with several bad proofs names exactly those, through the
    per-proof IC path with short, sign-split scalars."""
    from hpc_zkfl.circuit import ConstraintSystem

    cs = ConstraintSystem()
    a = cs.public_inputs("a", 24)
    cs.public_output("s", cs.sum([cs.mul(v, v) for v in a]))
    r1cs, solver = cs.compile()
    pk = setup(r1cs, backend="cpu", rng=rng)
    items = []
    for _ in range(12):
        values = [rng.randrange(-(1 << 31), 1 << 31) for _ in range(24)]
        values[0] = R - 5 if rng.random() < 0.5 else values[0]      # a full-width signal too
        sol = solver.solve({"a": values})
        items.append((sol.public_signals, prove(pk, r1cs, sol.witness, backend="cpu", rng=rng)))
    bad = {1, 4, 5, 11}
    for j in bad:
        x = list(items[j][0])
        x[3] = (x[3] + 1) % R
        items[j] = (x, items[j][1])
    assert batch_verify(pk.vk, items, backend="cpu", rng=rng) == [j not in bad for j in range(12)]
    assert batch_verify(pk.vk, [items[j] for j in range(12) if j not in bad], backend="cpu",
                        rng=rng) == [True] * 8


def test_proofs_with_the_fixed_base_h_table(rnd):
    """A prover that keeps the key's H table makes the same proof (same r, s) as one without;
    a table of another key is refused."""
    from hpc_zkfl.groth16.prover import build_h_table
    r1cs, w = random_circuit(300, 2, 3, 2, rng=rnd)
    pk = setup(r1cs, rng=rnd)
    table = build_h_table(pk)
    assert table.bases.shape == pk.h_query.shape and table.nbytes > 0
    plain = prove(pk, r1cs, w, rng=random.Random(4))
    fast = prove(pk, r1cs, w, rng=random.Random(4), h_table=table)
    assert all(np.array_equal(getattr(plain, k), getattr(fast, k)) for k in ("a", "b", "c"))
    assert verify(pk.vk, public_signals(r1cs, w), fast)
    small, ws = random_circuit(20, 1, 1, 1, rng=rnd)
    with pytest.raises(ValueError, match="H query"):
        prove(setup(small, rng=rnd), small, ws, h_table=table)
    with pytest.raises(ValueError):
        build_h_table(pk, memory_budget=1024)
