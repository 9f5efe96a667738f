"""Groth16 with committed public inputs (LegoGroth16): completeness, the commitment's
homomorphism and hiding, and soundness against a commitment to other values, a tampered
proof, a commitment from another proof and a malformed point, single and batched."""
import random
from dataclasses import replace

import numpy as np
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.curve import G1
from hpc_zkfl.groth16 import batch_verify, setup, verify
from hpc_zkfl.groth16.committed import commitment_key, hide, prove_committed
from hpc_zkfl.groth16.testing import public_signals, random_circuit

COMMITTED = [1, 2]          # public signals 1 and 2 are hidden in D; signal 0 stays public


@pytest.fixture(scope="module")
def system():
    r1cs, witness = random_circuit(24, n_outputs=1, n_public_inputs=3, rng=random.Random(7))
    pk = setup(r1cs, backend="cpu", rng=random.Random(8), commitment=True)
    return r1cs, witness, pk


def test_a_committed_proof_verifies_and_hides_only_what_it_should(system):
    r1cs, witness, pk = system
    signals = public_signals(r1cs, witness)
    cp, nu = prove_committed(pk, r1cs, witness, COMMITTED, backend="cpu")
    shown = hide(signals, COMMITTED)
    assert verify(pk.vk, shown, cp.proof, "cpu", commitment=cp.d)
    # D opens to the committed signals with nu, and to nothing else with it.
    ck = commitment_key(pk.vk, COMMITTED)
    assert np.array_equal(ck.commit([signals[j] for j in COMMITTED], nu, "cpu"), cp.d)
    assert not np.array_equal(ck.commit([signals[1] + 1, signals[2]], nu, "cpu"), cp.d)
    # Without D, or with the committed values in the clear as well, it fails.
    assert not verify(pk.vk, shown, cp.proof, "cpu")
    assert not verify(pk.vk, signals, cp.proof, "cpu", commitment=cp.d)


def test_the_commitment_is_homomorphic_and_fresh(system):
    r1cs, witness, pk = system
    ck = commitment_key(pk.vk, COMMITTED)
    rnd = random.Random(3)
    a, b = [rnd.randrange(R) for _ in range(2)], [rnd.randrange(R) for _ in range(2)]
    alpha, beta = rnd.randrange(R), rnd.randrange(R)
    lhs = G1.decode(ck.commit([x + y for x, y in zip(a, b)], alpha + beta, "cpu")[None])[0]
    from py_ecc.optimized_bn128 import add, normalize
    pa, pb = (G1.decode(ck.commit(v, s, "cpu")[None])[0] for v, s in ((a, alpha), (b, beta)))
    to = lambda p: (p[0], p[1], 1)          # noqa: E731
    from py_ecc.fields import optimized_bn128_FQ as FQ
    total = normalize(add(*(tuple(FQ(c) for c in to(p)) for p in (pa, pb))))
    assert (int(total[0]), int(total[1])) == lhs
    # Two proofs of the same witness: fresh blinding, fresh proof, both valid.
    (p1, n1), (p2, n2) = (prove_committed(pk, r1cs, witness, COMMITTED, "cpu") for _ in "ab")
    assert n1 != n2 and not np.array_equal(p1.d, p2.d)
    assert not np.array_equal(p1.proof.a, p2.proof.a)


def test_batched_committed_proofs_name_exactly_the_bad_ones(system):
    r1cs, witness, pk = system
    signals = hide(public_signals(r1cs, witness), COMMITTED)
    proofs = [prove_committed(pk, r1cs, witness, COMMITTED, "cpu")[0] for _ in range(6)]
    other = prove_committed(pk, r1cs, witness, COMMITTED, "cpu")[0]
    ck = commitment_key(pk.vk, COMMITTED)
    forged = ck.commit([5, 6], 7, "cpu")                 # a commitment to other values
    bad_c = replace(proofs[3].proof, c=other.proof.c)    # C' of another proof
    items = [(signals, cp.proof, cp.d) for cp in proofs]
    items[1] = (signals, proofs[1].proof, forged)
    items[2] = (signals, proofs[2].proof, other.d)       # D of another proof
    items[3] = (signals, bad_c, proofs[3].d)
    items[4] = (signals, proofs[4].proof, np.zeros((2, 3), dtype=np.uint64))   # malformed
    got = batch_verify(pk.vk, items, backend="cpu", rng=random.Random(1))
    assert got == [True, False, False, False, False, True]
    off = np.array(proofs[5].d)
    off[1, 0] ^= 1                                       # off the curve
    assert not verify(pk.vk, signals, proofs[5].proof, "cpu", commitment=off)
    # Plain (uncommitted) items and committed ones mix in one batch.
    plain_sig = public_signals(r1cs, witness)
    from hpc_zkfl.groth16 import prove
    mixed = [(plain_sig, prove(pk, r1cs, witness, "cpu")), items[0], items[1]]
    assert batch_verify(pk.vk, mixed, backend="cpu") == [True, True, False]


def test_keys_without_eta_and_bad_positions_are_refused(system):
    r1cs, witness, _ = system
    plain = setup(r1cs, backend="cpu", rng=random.Random(9))
    with pytest.raises(ValueError, match="committed inputs"):
        prove_committed(plain, r1cs, witness, COMMITTED, "cpu")
    with pytest.raises(ValueError, match="distinct"):
        commitment_key(setup(r1cs, backend="cpu", rng=random.Random(9), commitment=True).vk,
                       [1, 1])
