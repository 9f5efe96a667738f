"""snarkjs Groth16 .zkey files read into our ProvingKey (`hpc_zkfl.groth16.zkey`).

With node and npm (the session's `npm_prefix`): a prepared insecure ptau of known trapdoor,
`snarkjs groth16 setup`, then `zkey contribute`; each key read here proves, and the proof is
accepted by our verifier and by `snarkjs groth16 verify` under snarkjs' exported key.  Our
converted h_query equals [tau^j Z(tau) / delta]_1 with delta = 1 (setup's key).  Every cut,
a foreign magic, a foreign circuit and a bad point are refused with a ZkeyError.
"""
import json
import random
import struct
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.curve import G1
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.msm import fixed_base_mul
from hpc_zkfl.circuit.iden3 import save_r1cs
from hpc_zkfl.groth16 import formats, prove, verify
from hpc_zkfl.groth16.r1cs_to_qap import domain_size
from hpc_zkfl.groth16.testing import public_signals, random_circuit, write_insecure_ptau
from hpc_zkfl.groth16.zkey import ZkeyError, _same_coefficients, load_zkey, read_zkey

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "vectors"))
import gen_circom  # noqa: E402

POWER = 5
TRAPDOOR = (0x1234567, 0x89ABCDE, 0x31415926)      # tau, alpha, beta: insecure, tests only


@pytest.fixture(scope="module")
def keys(npm_prefix, tmp_path_factory):
    d = tmp_path_factory.mktemp("zkey")
    rng = random.Random(7)
    r1cs, witness = random_circuit(20, n_outputs=1, n_public_inputs=2, rng=rng)
    assert domain_size(r1cs) == 32
    save_r1cs(r1cs, d / "c.r1cs")
    write_insecure_ptau(d / "t.ptau", POWER, *TRAPDOOR)
    run = lambda *a: gen_circom.run_snarkjs(npm_prefix, d, *a)      # noqa: E731
    run("groth16", "setup", "c.r1cs", "t.ptau", "c0.zkey")
    run("zkey", "contribute", "c0.zkey", "c1.zkey", "-n=one", "-e=some entropy")
    run("zkey", "beacon", "c1.zkey", "c2.zkey", bytes(range(32)).hex(), "10", "-n=final")
    for name in ("c0", "c1", "c2"):
        run("zkey", "export", "verificationkey", f"{name}.zkey", f"{name}_vk.json")
    return d, r1cs, witness, run


def _proves_and_both_verify(d, r1cs, witness, run, name):
    t0 = time.perf_counter()
    pk = load_zkey(d / f"{name}.zkey", r1cs)
    t1 = time.perf_counter()
    public = public_signals(r1cs, witness)
    proof = prove(pk, r1cs, witness)
    assert verify(pk.vk, public, proof)
    theirs = formats.vk_from_snarkjs(formats.load_json(d / f"{name}_vk.json"))
    assert theirs == pk.vk
    (d / f"{name}_proof.json").write_text(json.dumps(formats.proof_to_snarkjs(proof)))
    (d / f"{name}_public.json").write_text(json.dumps(formats.public_to_snarkjs(public)))
    assert "OK" in run("groth16", "verify", f"{name}_vk.json", f"{name}_public.json",
                       f"{name}_proof.json")
    # a wrong public signal is rejected by both
    bad = [(public[0] + 1) % R] + public[1:]
    assert not verify(pk.vk, bad, proof)
    print(f"{name}: load_zkey {t1 - t0:.2f} s")
    return pk


def test_setup_zkey_proves_and_verifies_here_and_in_snarkjs(keys):
    d, r1cs, witness, run = keys
    pk = _proves_and_both_verify(d, r1cs, witness, run, "c0")
    # delta = 1 before any contribution: h_query is [tau^j (tau^n - 1)]_1 exactly
    tau, n = TRAPDOOR[0], pk.domain_size
    want = fixed_base_mul(G1, ints_to_limbs([pow(tau, j, R) * (pow(tau, n, R) - 1) % R
                                             for j in range(n - 1)]))
    assert np.array_equal(pk.h_query, want)
    assert read_zkey(d / "c0.zkey").n_contributions == 0


def test_contributed_zkey_proves_and_verifies_here_and_in_snarkjs(keys):
    d, r1cs, witness, run = keys
    pk = _proves_and_both_verify(d, r1cs, witness, run, "c1")
    assert read_zkey(d / "c1.zkey").contributions == ("one",)
    pk0 = load_zkey(d / "c0.zkey", r1cs)
    assert not np.array_equal(pk.delta_g2, pk0.delta_g2)
    assert np.array_equal(pk.a_query, pk0.a_query)


def test_beacon_zkey_proves_and_verifies_here_and_in_snarkjs(keys):
    d, r1cs, witness, run = keys
    _proves_and_both_verify(d, r1cs, witness, run, "c2")
    assert read_zkey(d / "c2.zkey").contributions == ("one", "final")


def test_every_cut_and_a_foreign_magic_are_refused(keys, tmp_path):
    d = keys[0]
    data = (d / "c1.zkey").read_bytes()
    cut = tmp_path / "cut.zkey"
    step = max(1, len(data) // 400)
    for length in list(range(0, len(data), step)) + [len(data) - 1]:
        cut.write_bytes(data[:length])
        with pytest.raises(ZkeyError) as exc:
            read_zkey(cut)
        assert "\n" not in str(exc.value) and str(cut) in str(exc.value)
    cut.write_bytes(data + b"\0")
    with pytest.raises(ZkeyError, match="bytes after the last"):
        read_zkey(cut)
    for foreign, msg in ((b"ptau" + data[4:], "not a .zkey file"),
                         (data[:4] + struct.pack("<I", 2) + data[8:], "version")):
        cut.write_bytes(foreign)
        with pytest.raises(ZkeyError, match=msg):
            read_zkey(cut)
    with pytest.raises(ZkeyError, match="not a .zkey file"):
        read_zkey(d / "t.ptau")


def test_bad_point_and_foreign_circuit_are_refused(keys, tmp_path):
    d, r1cs, _, _ = keys
    data = bytearray((d / "c0.zkey").read_bytes())
    # the Groth16 header's alpha: section 2 is the second section; flip its y coordinate
    pos, sections = 12, {}
    for _ in range(struct.unpack_from("<I", data, 8)[0]):
        kind, size = struct.unpack_from("<IQ", data, pos)
        sections[kind] = pos + 12
        pos += 12 + size
    alpha_y = sections[2] + 4 + 32 + 4 + 32 + 12 + 32
    bad = bytearray(data)
    bad[alpha_y] ^= 1
    (tmp_path / "bad.zkey").write_bytes(bad)
    with pytest.raises(ZkeyError, match="not on the curve"):
        read_zkey(tmp_path / "bad.zkey")
    other, _ = random_circuit(20, n_outputs=1, n_public_inputs=2, rng=random.Random(8))
    with pytest.raises(ZkeyError, match="coefficients are not those"):
        load_zkey(d / "c0.zkey", other)
    # a contributed key whose delta was swapped for the setup's: section 10 disagrees
    c0, c1 = (d / "c0.zkey").read_bytes(), bytearray((d / "c1.zkey").read_bytes())
    delta1 = sections[2] + 4 + 32 + 4 + 32 + 12 + 2 * 64 + 128 + 128
    c1[delta1:delta1 + 64] = c0[delta1:delta1 + 64]
    (tmp_path / "swapped.zkey").write_bytes(c1)
    with pytest.raises(ZkeyError, match="last contribution's delta"):
        read_zkey(tmp_path / "swapped.zkey")


def test_coefficients_compare_as_linear_combinations(keys):
    """A term split in two (as circom may write it) and any order still match the circuit;
    a changed value does not."""
    d, r1cs = keys[0], keys[1]
    z = read_zkey(d / "c0.zkey")
    assert _same_coefficients(z, r1cs)
    idx, val = z.coeff_index, z.coeff_values
    v = FR.decode(val[:1])[0]
    split = replace(z, coeff_index=np.concatenate([idx, idx[:1]])[::-1].copy(),
                    coeff_values=np.concatenate([FR.encode([(v - 5) % R]), val[1:],
                                                 FR.encode([5])])[::-1].copy())
    assert _same_coefficients(split, r1cs)
    changed = replace(z, coeff_values=np.concatenate([FR.encode([(v + 1) % R]), val[1:]]))
    assert not _same_coefficients(changed, r1cs)
