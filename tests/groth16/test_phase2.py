"""Phase 2 by several parties (`hpc_zkfl.groth16.phase2`), .zkey writing and proving from a
.zkey (`hpc_zkfl.groth16.zkey`), and the CLI's setup / contribute / verify-key / prove.

Against snarkjs itself (the session's `npm_prefix`): our initial key is byte for byte
snarkjs' `groth16 setup`; contributions by either tool verify in both (`zkey verify` and our
`verify-key`), in any interleaving; our contribution hashes are the ones snarkjs prints; a
beacon is re-derived; proofs from our .zkey prover verify in snarkjs and snarkjs' proofs
under our keys verify here.  Tampering with any contribution, the L or H section, the
circuit or the ptau is refused with exit code 2 and a line naming what failed.  The
forgery test shows what a contributor alone holds is not enough to forge.
"""
import json
import random
import re
import struct
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.circuit.iden3 import save_r1cs, save_wtns
from hpc_zkfl.groth16 import committed, formats, phase2, verify
from hpc_zkfl.groth16.data_structures import Proof
from hpc_zkfl.groth16.key_check import check_proving_key
from hpc_zkfl.groth16.ptau import start_phase2
from hpc_zkfl.groth16.r1cs_to_qap import lagrange_at, qap_at
from hpc_zkfl.groth16.testing import public_signals, random_circuit, write_insecure_ptau
from hpc_zkfl.groth16.zkey import ZkeyError, ZkeyProver, read_zkey, verify_key, write_zkey

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "vectors"))
import gen_circom  # noqa: E402

POWER = 5
TAU, ALPHA, BETA = 0x1234567, 0x89ABCDE, 0x31415926     # insecure, tests only


@pytest.fixture(scope="module")
def circuit(tmp_path_factory):
    d = tmp_path_factory.mktemp("phase2")
    r1cs, witness = random_circuit(20, n_outputs=1, n_public_inputs=2, rng=random.Random(7))
    save_r1cs(r1cs, d / "c.r1cs")
    save_wtns(witness, d / "w.wtns")
    write_insecure_ptau(d / "t.ptau", POWER, TAU, ALPHA, BETA)
    return d, r1cs, witness


@pytest.fixture(scope="module")
def snarkjs(npm_prefix, circuit):
    d = circuit[0]
    return lambda *a: gen_circom.run_snarkjs(npm_prefix, d, *a)


def _cli(*args):
    from hpc_zkfl.cli import main
    return main([str(a) for a in args])


def _hex(text: str) -> str:
    return re.sub(r"[^0-9a-f]", "", text)


# -- against snarkjs -----------------------------------------------------------------------

def test_initial_key_is_snarkjs_setup_byte_for_byte(circuit, snarkjs):
    d, r1cs, _ = circuit
    snarkjs("groth16", "setup", "c.r1cs", "t.ptau", "theirs0.zkey")
    assert _cli("groth16", "setup", d / "c.r1cs", d / "ours0.zkey", d / "ours0.json",
                "--ptau", d / "t.ptau", "--initial") == 0
    assert (d / "ours0.zkey").read_bytes() == (d / "theirs0.zkey").read_bytes()


def test_contributions_interleave_and_verify_in_both(circuit, snarkjs, capsys):
    d, r1cs, witness = circuit
    snarkjs("groth16", "setup", "c.r1cs", "t.ptau", "k0.zkey")
    assert _cli("groth16", "contribute", d / "k0.zkey", d / "k1.zkey", "--name", "alice") == 0
    snarkjs("zkey", "contribute", "k1.zkey", "k2.zkey", "-n=bob", "-e=bob's entropy")
    assert _cli("groth16", "contribute", d / "k2.zkey", d / "k3.zkey", "--name", "carol") == 0
    snarkjs("zkey", "beacon", "k3.zkey", "k4.zkey", bytes(range(32)).hex(), "10", "-n=final")
    theirs = snarkjs("zkey", "verify", "c.r1cs", "t.ptau", "k4.zkey")
    assert "ZKey Ok!" in theirs
    capsys.readouterr()
    assert _cli("groth16", "verify-key", d / "c.r1cs", d / "t.ptau", d / "k4.zkey") == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("OK")
    z = read_zkey(d / "k4.zkey", convert_h=False)
    assert z.contributions == ("alice", "bob", "carol", "final")
    for c in z.transcript.contributions:      # the hashes snarkjs prints are ours
        assert c.contribution_hash().hex() in _hex(theirs)
        assert c.contribution_hash().hex() in out

    # prove with our .zkey prover; snarkjs verifies.  snarkjs proves; we verify.
    snarkjs("zkey", "export", "verificationkey", "k4.zkey", "k4.json")
    assert _cli("groth16", "prove", d / "k4.zkey", d / "w.wtns", d / "p.json", d / "pub.json") == 0
    assert "OK" in snarkjs("groth16", "verify", "k4.json", "pub.json", "p.json")
    snarkjs("groth16", "prove", "k4.zkey", "w.wtns", "sp.json", "spub.json")
    assert _cli("groth16", "verify", d / "k4.json", d / "spub.json", d / "sp.json") == 0
    assert json.loads((d / "pub.json").read_text()) == json.loads((d / "spub.json").read_text())


def _sections(data: bytes) -> dict:
    pos, out = 12, {}
    for _ in range(struct.unpack_from("<I", data, 8)[0]):
        kind, size = struct.unpack_from("<IQ", data, pos)
        out[kind] = (pos + 12, size)
        pos += 12 + size
    return out


def _tampered(src: Path, dst: Path, section: int, offset: int) -> Path:
    data = bytearray(src.read_bytes())
    start, _ = _sections(bytes(data))[section]
    data[start + offset] ^= 1
    dst.write_bytes(bytes(data))
    return dst


@pytest.fixture(scope="module")
def two_contributions(circuit, snarkjs):
    d = circuit[0]
    assert _cli("groth16", "setup", d / "c.r1cs", d / "t0.zkey", d / "t0.json",
                "--ptau", d / "t.ptau", "--name", "first") == 0
    snarkjs("zkey", "contribute", "t0.zkey", "t1.zkey", "-n=second", "-e=xyz")
    return d / "t1.zkey"


def _three(group) -> bytes:
    """A valid point that is no key's: [3] of the generator, as a .zkey stores it."""
    p = group.scalar_mul(group.encode([group.generator]), ints_to_limbs([3]))[0]
    return np.ascontiguousarray(p, dtype="<u8").tobytes()


# Section 10: circuit hash (64) | count (4) | contribution 1: delta, [s]_1, [s x]_1 (64 each),
# [s' x]_2 (128), transcript (64), type (4), parameter length (4), parameters (7: "first")
_C1 = 68
_C2 = _C1 + 3 * 64 + 128 + 64 + 8 + 7


@pytest.mark.parametrize("what, offset, replacement, says", [pytest.param(*p, id=p[0]) for p in [
    ("the second contribution's transcript", _C2 + 320, b"\x55", "contribution 2 (second)"),
    ("the first contribution's [s x]_1", _C1 + 128, _three(G1), "contribution 1 (first)"),
    ("the first contribution's [s' x]_2", _C1 + 192, _three(G2), "contribution 1 (first)"),
    ("the first contribution's delta", _C1, _three(G1), "contribution 1 (first)"),
    ("a bit of the first [s]_1", _C1 + 64 + 5, None, "contribution 1's [s]_1"),
]])
def test_a_tampered_contribution_is_named(circuit, two_contributions, capsys, what, offset,
                                          replacement, says):
    d = circuit[0]
    data = bytearray(two_contributions.read_bytes())
    start, _ = _sections(bytes(data))[10]
    if replacement is None:
        data[start + offset] ^= 1
    else:
        data[start + offset:start + offset + len(replacement)] = replacement
    bad = d / "bad.zkey"
    bad.write_bytes(bytes(data))
    capsys.readouterr()
    assert _cli("groth16", "verify-key", d / "c.r1cs", d / "t.ptau", bad) == 2, what
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and says in err, err


@pytest.mark.parametrize("section, says", [(8, "L section"), (9, "H section"), (5, "its A"),
                                           (3, "its IC")])
def test_a_tampered_key_section_is_refused(circuit, two_contributions, capsys, section, says):
    d = circuit[0]
    bad = _tampered(two_contributions, d / "bad_s.zkey", section, 0)
    capsys.readouterr()
    assert _cli("groth16", "verify-key", d / "c.r1cs", d / "t.ptau", bad) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert says in err or "not on the curve" in err, err


def test_another_ptau_or_circuit_is_refused(circuit, two_contributions, tmp_path, capsys):
    d, r1cs, _ = circuit
    write_insecure_ptau(tmp_path / "other.ptau", POWER, TAU + 1, ALPHA, BETA)
    assert _cli("groth16", "verify-key", d / "c.r1cs", tmp_path / "other.ptau",
                two_contributions) == 2
    assert "circuit hash" in capsys.readouterr().err
    other, _ = random_circuit(20, n_outputs=1, n_public_inputs=2, rng=random.Random(8))
    save_r1cs(other, tmp_path / "o.r1cs")
    assert _cli("groth16", "verify-key", tmp_path / "o.r1cs", d / "t.ptau",
                two_contributions) == 2
    assert "does not verify" in capsys.readouterr().err
    cut = tmp_path / "cut.zkey"
    cut.write_bytes(two_contributions.read_bytes()[:-7])
    assert _cli("groth16", "contribute", cut, tmp_path / "x.zkey") == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_witness_that_does_not_satisfy_gives_no_proof(circuit, two_contributions, capsys):
    d, _, witness = circuit
    bad = witness.copy()
    bad[6:7] = FR.add(bad[6:7], FR.encode([1]))
    save_wtns(bad, d / "bad.wtns")
    assert _cli("groth16", "prove", two_contributions, d / "bad.wtns", d / "bp.json",
                d / "bpub.json") == 1
    assert "does not verify" in capsys.readouterr().err
    assert not (d / "bp.json").exists()


# -- without snarkjs -------------------------------------------------------------------------

def _chain(r1cs, ptau, seeds, commitment=False):
    key = start_phase2(r1cs, ptau, commitment=commitment)
    for i, seed in enumerate(seeds):
        key, _ = key.contribute(f"party {i}", rng=random.Random(seed))
    return key


def test_transcript_round_trips_and_rejects_garbage(circuit):
    d, r1cs, _ = circuit
    key = _chain(r1cs, d / "t.ptau", [1, 2], commitment=True)
    pk, t = phase2.contribute_commitment(key.pk, key.transcript, rng=random.Random(3))
    data = t.to_bytes()
    assert phase2.transcript_from_bytes(data).to_bytes() == data
    for cut in (10, 70, len(data) - 1):
        with pytest.raises(phase2.Phase2Error):
            phase2.transcript_from_bytes(data[:cut])
    with pytest.raises(phase2.Phase2Error):
        phase2.transcript_from_bytes(data + b"\0")


def test_commitment_step_keeps_the_key_well_formed_and_proving(circuit):
    d, r1cs, witness = circuit
    key = _chain(r1cs, d / "t.ptau", [1, 2], commitment=True)
    pk, t = phase2.contribute_commitment(key.pk, key.transcript, rng=random.Random(3))
    phase2.Phase2Key(pk, t).verify()
    check_proving_key(pk, r1cs)
    assert not np.array_equal(pk.vk.gamma_g2, key.pk.vk.gamma_g2)
    hidden = [1]
    cp, _ = committed.prove_committed(pk, r1cs, witness, hidden, backend="cpu")
    shown = committed.hide(public_signals(r1cs, witness), hidden)
    assert verify(pk.vk, shown, cp.proof, commitment=cp.d)
    # a step whose gamma is not the proven multiple is refused
    step = t.commitment_steps[0]
    forged = replace(step, gamma_after=G2.encode([G2.generator])[0])
    with pytest.raises(phase2.Phase2Error, match="commitment step 1"):
        phase2.verify_contributions(replace(t, commitment_steps=(forged,)), pk.delta_g1,
                                    pk.vk.delta_g2)


def test_a_delta_without_its_proof_is_refused(circuit):
    d, r1cs, _ = circuit
    key = _chain(r1cs, d / "t.ptau", [1, 2])
    c = key.transcript.contributions[1]
    # a contributor who claims a delta it did not prove knowledge of
    other = replace(c, delta_after=G1.scalar_mul(c.delta_after[None], ints_to_limbs([2]))[0])
    t = replace(key.transcript, contributions=(key.transcript.contributions[0], other))
    with pytest.raises(phase2.Phase2Error, match="contribution 2"):
        phase2.verify_contributions(t, other.delta_after, key.pk.vk.delta_g2)


def _forge(pk, r1cs, public, alpha, beta, tau, delta) -> Proof:
    """A proof for any public signals from the trapdoor: A = [a], B = [b],
    C = [(a b - alpha beta - sum x_i u_i(tau)) / delta] (gamma = 1 in phase-2 keys)."""
    a_t, b_t, c_t = (FR.decode(v) for v in qap_at(r1cs, lagrange_at(tau, pk.domain_size)))
    x = [1] + list(public)
    ic = sum(xi * (beta * a_t[i] + alpha * b_t[i] + c_t[i]) for i, xi in enumerate(x)) % R
    a, b = 5, 7
    c = (a * b - alpha * beta - ic) * pow(delta, -1, R) % R
    g1 = lambda k: G1.scalar_mul(G1.encode([G1.generator]), ints_to_limbs([k]))[0]  # noqa: E731
    g2 = G2.scalar_mul(G2.encode([G2.generator]), ints_to_limbs([b]))[0]
    return Proof(g1(a), g2, g1(c))


def test_one_contribution_alone_cannot_forge_the_full_trapdoor_can(circuit):
    """Two parties contribute; even knowing phase 1's trapdoor, the forging recipe needs
    delta = x1 x2: with one party's x alone the proof is refused, with both it verifies."""
    d, r1cs, witness = circuit
    key = _chain(r1cs, d / "t.ptau", [11, 12])
    x1, x2 = (phase2._nonzero(random.Random(s)) for s in (11, 12))
    false_public = [(v + 1) % R for v in public_signals(r1cs, witness)]
    control = _forge(key.pk, r1cs, false_public, ALPHA, BETA, TAU, x1 * x2 % R)
    assert verify(key.pk.vk, false_public, control)
    for alone in (x1, x2):
        assert not verify(key.pk.vk, false_public,
                          _forge(key.pk, r1cs, false_public, ALPHA, BETA, TAU, alone))


def test_zkey_prover_matches_the_key(circuit, tmp_path):
    d, r1cs, witness = circuit
    key = _chain(r1cs, d / "t.ptau", [4])
    write_zkey(tmp_path / "k.zkey", key, r1cs)
    z = read_zkey(tmp_path / "k.zkey", convert_h=False)
    verify_key(z, r1cs, d / "t.ptau")
    proof, public = ZkeyProver(z).prove(witness)
    assert public == public_signals(r1cs, witness)
    assert verify(key.pk.vk, public, proof)
    # and read back with h_query converted, the key is the one we wrote
    assert read_zkey(tmp_path / "k.zkey").pk == key.pk
    with pytest.raises(ZkeyError):
        verify_key(replace(z, transcript=phase2.Transcript(z.transcript.circuit_hash)), r1cs,
                   d / "t.ptau")


def test_hash_to_g2_lands_in_g2():
    from hpc_zkfl.algebra.subgroup import g2_in_subgroup
    pts = [phase2.hash_to_g2(bytes([i]) * 64) for i in range(4)]
    arr = G2.encode(pts)
    assert G2.on_curve(arr).all() and g2_in_subgroup(arr).all()
    assert len({p[0] for p in pts}) == 4
    assert formats.proof_to_snarkjs  # the module's format helpers stay importable


def _outside_g2():
    """A point of the twist curve outside the order-r subgroup."""
    from hpc_zkfl.algebra.constants import P, TWIST_B, fq2_mul_ints
    x = 1
    while True:
        x3 = fq2_mul_ints(fq2_mul_ints((x, 0), (x, 0)), (x, 0))
        rhs = ((x3[0] + TWIST_B[0]) % P, (x3[1] + TWIST_B[1]) % P)
        if pow((rhs[0] ** 2 + rhs[1] ** 2) % P, (P - 1) // 2, P) == 1:
            return G2.encode([((x, 0), phase2._fq2_sqrt(rhs))])[0]
        x += 1


def test_a_b2_point_outside_g2_gives_no_proof(circuit, tmp_path, capsys):
    """`prove` reads a .zkey without the G2 subgroup test (it is most of the reading time)
    and verifies each proof instead: B then leaves G2 and the proof is never written."""
    from hpc_zkfl.algebra.subgroup import g2_in_subgroup
    d, r1cs, witness = circuit
    key = _chain(r1cs, d / "t.ptau", [5])
    bad_point = _outside_g2()
    assert G2.on_curve(bad_point[None])[0] and not g2_in_subgroup(bad_point[None])[0]
    wire = int(np.flatnonzero(np.asarray(r1cs.B.wires) > r1cs.n_public)[0])
    b2 = key.pk.b_g2_query.copy()
    b2[r1cs.B.wires[wire]] = bad_point
    write_zkey(tmp_path / "bad.zkey", replace(key, pk=replace(key.pk, b_g2_query=b2)), r1cs)
    with pytest.raises(ZkeyError, match="subgroup"):
        read_zkey(tmp_path / "bad.zkey")
    assert _cli("groth16", "prove", tmp_path / "bad.zkey", d / "w.wtns", tmp_path / "p.json",
                tmp_path / "pub.json") == 1
    assert "does not verify" in capsys.readouterr().err
    assert not (tmp_path / "p.json").exists()
