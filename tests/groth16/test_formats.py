"""Groth16 file formats: snarkjs JSON (verification key, proof, public signals) and the
binary proof and key encodings; round trips, a key written by snarkjs, and refusal of
malformed input."""
import json
import random
import struct
from pathlib import Path

import numpy as np
import pytest

from hpc_zkfl.algebra.constants import P, R
from hpc_zkfl.algebra.curve import G2
from hpc_zkfl.algebra.serialization import (COMPRESSED, FieldRangeError, FormatError, LengthError,
                                            NoSquareRootError, NotOnCurveError, PointDecodeError,
                                            SubgroupError, encode_points, points_to_snarkjs)
from hpc_zkfl.algebra.subgroup import random_twist_points
from hpc_zkfl.groth16 import Proof, prove, setup, verify
from hpc_zkfl.groth16 import formats as fm
from hpc_zkfl.groth16.testing import public_signals, random_circuit

# A verification key exported by snarkjs (nPublic 2), as published in open-source projects.
SNARKJS_VK = {
    "protocol": "groth16", "curve": "bn128", "nPublic": 2,
    "vk_alpha_1": ["20491192805390485299153009773594534940189261866228447918068658471970481763042",
                   "9383485363053290200918347156157836566562967994039712273449902621266178545958",
                   "1"],
    "vk_beta_2": [["6375614351688725206403948262868962793625744043794305715222011528459656738731",
                   "4252822878758300859123897981450591353533073413197771768651442665752259397132"],
                  ["10505242626370262277552901082094356697409835680220590971873171140371331206856",
                   "21847035105528745403288232691147584728191162732299865338377159692350059136679"],
                  ["1", "0"]],
    "vk_gamma_2": [["10857046999023057135944570762232829481370756359578518086990519993285655852781",
                    "11559732032986387107991004021392285783925812861821192530917403151452391805634"],
                   ["8495653923123431417604973247489272438418190587263600148770280649306958101930",
                    "4082367875863433681332203403145435568316851327593401208105741076214120093531"],
                   ["1", "0"]],
    "vk_delta_2": [["17608963753378099486245458723771923191425930747139112370610976690633207576600",
                    "502327822159726970000387749281741394036053489703183429816461629884219340919"],
                   ["6381936594791359602770991568909069629025254801614368938598939969718914424925",
                    "11353215306399907187438531994284586041711480912639561106259508619293648058580"],
                   ["1", "0"]],
    "vk_alphabeta_12": [
        [["2029413683389138792403550203267699914886160938906632433982220835551125967885",
          "21072700047562757817161031222997517981543347628379360635925549008442030252106"],
         ["5940354580057074848093997050200682056184807770593307860589430076672439820312",
          "12156638873931618554171829126792193045421052652279363021382169897324752428276"],
         ["7898200236362823042373859371574133993780991612861777490112507062703164551277",
          "7074218545237549455313236346927434013100842096812539264420499035217050630853"]],
        [["7077479683546002997211712695946002074877511277312570035766170199895071832130",
          "10093483419865920389913245021038182291233451549023025229112148274109565435465"],
         ["4595479056700221319381530156280926371456704509942304414423590385166031118820",
          "19831328484489333784475432780421641293929726139240675179672856274388269393268"],
         ["11934129596455521040620786944827826205713621633706285934057045369193958244500",
          "8037395052364110730298837004334506829870972346962140206007064471173334027475"]]],
    "IC": [["14197337208806770545889220037358805071954256513497618666763526856238699710862",
            "9453653003318842103590170162898346038399530062335296624636426850906339758932", "1"],
           ["7374419710074923783649892211890616707963750737341310197238451007583332192797",
            "4777866817750211338926228749453665894287783251391950411282042253958828314422", "1"],
           ["5944135141027406582923479745934505228510427791131178445052716386361609615767",
            "12206970540198405095222264634510513580619878699676273073206648968392358034589", "1"]],
}


# Key, proof and public signals made by snarkjs for a circom circuit (gen_snarkjs_groth16.py).
SNARKJS_RUN = json.loads((Path(__file__).parents[1] / "vectors" / "snarkjs_groth16.json").read_text())


@pytest.fixture(scope="module")
def system():
    rnd = random.Random(7)
    r1cs, w = random_circuit(6, 1, 2, 2, rng=rnd)
    pk = setup(r1cs, rng=rnd)
    return r1cs, pk, public_signals(r1cs, w), prove(pk, r1cs, w)


def test_snarkjs_vk_is_read_and_alphabeta_matches():
    vk = fm.vk_from_snarkjs(SNARKJS_VK)
    assert vk.n_public == 2 and vk.IC.shape == (3, 2, 4)
    out = fm.vk_to_snarkjs(vk)
    assert out == SNARKJS_VK                      # vk_alphabeta_12 recomputed exactly
    assert list(out) == list(SNARKJS_VK)          # snarkjs' key order


def test_snarkjs_proof_verifies_and_files_re_export_identically():
    vk = fm.vk_from_snarkjs(SNARKJS_RUN["verification_key"])
    proof = fm.proof_from_snarkjs(SNARKJS_RUN["proof"])
    x = fm.public_from_snarkjs(SNARKJS_RUN["public"])
    assert verify(vk, x, proof)
    assert not verify(vk, [(x[0] + 1) % R] + x[1:], proof)
    assert fm.vk_to_snarkjs(vk) == SNARKJS_RUN["verification_key"]
    assert fm.proof_to_snarkjs(proof) == SNARKJS_RUN["proof"]
    assert fm.public_to_snarkjs(x) == SNARKJS_RUN["public"]


def test_vk_json_round_trip(system):
    _, pk, _, _ = system
    obj = json.loads(fm.dumps(fm.vk_to_snarkjs(pk.vk)))
    assert obj["nPublic"] == 3 and len(obj["IC"]) == 4
    assert np.array(obj["vk_alphabeta_12"]).shape == (2, 3, 2)
    assert fm.vk_from_snarkjs(obj) == pk.vk


def test_proof_and_public_json_round_trip(system, tmp_path):
    _, pk, x, proof = system
    fm.save_json(tmp_path / "proof.json", fm.proof_to_snarkjs(proof))
    fm.save_json(tmp_path / "public.json", fm.public_to_snarkjs(x))
    obj = fm.load_json(tmp_path / "proof.json")
    assert list(obj) == ["pi_a", "pi_b", "pi_c", "protocol", "curve"]
    assert obj["protocol"] == "groth16" and obj["curve"] == "bn128"
    public = fm.load_json(tmp_path / "public.json")
    assert all(isinstance(s, str) for s in public)
    proof2, x2 = fm.proof_from_snarkjs(obj), fm.public_from_snarkjs(public)
    assert proof2 == proof and x2 == x
    assert verify(pk.vk, x2, proof2)


def test_json_refusals(system, rng):
    _, pk, x, proof = system
    obj = fm.proof_to_snarkjs(proof)
    for key, value in (("protocol", "plonk"), ("curve", "bls12381")):
        with pytest.raises(FormatError):
            fm.proof_from_snarkjs({**obj, key: value})
    with pytest.raises(FormatError, match="missing"):
        fm.proof_from_snarkjs({k: v for k, v in obj.items() if k != "pi_c"})
    with pytest.raises(NotOnCurveError):
        fm.proof_from_snarkjs({**obj, "pi_a": [obj["pi_a"][0], "5", "1"]})
    outside = points_to_snarkjs(G2, random_twist_points(1, rng))[0]
    with pytest.raises(SubgroupError):
        fm.proof_from_snarkjs({**obj, "pi_b": outside})
    vk = fm.vk_to_snarkjs(pk.vk)
    with pytest.raises(FormatError, match="IC"):
        fm.vk_from_snarkjs({**vk, "IC": vk["IC"][:-1]})
    with pytest.raises(FormatError):
        fm.vk_from_snarkjs({**vk, "nPublic": "3"})
    with pytest.raises(SubgroupError):
        fm.vk_from_snarkjs({**vk, "vk_delta_2": outside})
    with pytest.raises(FormatError):
        fm.vk_from_snarkjs([vk])
    with pytest.raises(FieldRangeError):
        fm.public_from_snarkjs([str(R)])
    with pytest.raises(FormatError):
        fm.public_from_snarkjs(["01"])
    with pytest.raises(FormatError):
        fm.public_from_snarkjs("1")


def test_binary_proof_round_trip(system):
    _, pk, x, proof = system
    data = fm.proof_to_bytes(proof)
    assert len(data) == fm.PROOF_SIZE == 128
    assert fm.proof_from_bytes(data) == proof
    assert fm.proof_from_bytes(bytearray(data)) == proof
    assert verify(pk.vk, x, fm.proof_from_bytes(data))


def test_binary_proof_refusals(system, rng):
    _, _, _, proof = system
    data = fm.proof_to_bytes(proof)
    for bad in (data[:-1], data + b"\0", b""):
        with pytest.raises(LengthError):
            fm.proof_from_bytes(bad)
    with pytest.raises(FormatError):
        fm.proof_from_bytes(data.hex())
    outside = encode_points(G2, random_twist_points(1, rng), COMPRESSED)[0].tobytes()
    with pytest.raises(SubgroupError, match="B"):
        fm.proof_from_bytes(data[:32] + outside + data[96:])
    while True:      # an x with no point on the curve
        xs = rng.randrange(P)
        if pow((xs ** 3 + 3) % P, (P - 1) // 2, P) == P - 1:
            break
    with pytest.raises(NoSquareRootError, match="C"):
        fm.proof_from_bytes(data[:96] + xs.to_bytes(32, "little"))
    with pytest.raises(PointDecodeError, match="A"):
        fm.proof_from_bytes(P.to_bytes(32, "little") + data[32:])


def test_binary_keys_round_trip(system):
    r1cs, pk, x, _ = system
    data = fm.pk_to_bytes(pk)
    assert data[:8] == fm.PK_MAGIC
    pk2 = fm.pk_from_bytes(data)
    assert pk2 == pk and pk2.vk == pk.vk and pk2 is not pk
    assert fm.pk_from_bytes(data, subgroup_check=False) == pk
    vk_data = fm.vk_to_bytes(pk.vk)
    assert fm.vk_from_bytes(vk_data) == pk.vk
    w = random_circuit(6, 1, 2, 2, rng=random.Random(7))[1]
    assert verify(fm.vk_from_bytes(vk_data), x, prove(pk2, r1cs, w))


def test_binary_key_refusals(system, rng):
    _, pk, _, _ = system
    data = fm.pk_to_bytes(pk)
    for bad in (data[:-1], data + b"\0", data[:20]):
        with pytest.raises(LengthError):
            fm.pk_from_bytes(bad)
    with pytest.raises(FormatError, match="magic"):
        fm.pk_from_bytes(fm.VK_MAGIC + data[8:])
    with pytest.raises(FormatError, match="version"):
        fm.pk_from_bytes(data[:8] + struct.pack("<I", 2) + data[12:])
    head = 16 + 8 * 4
    n_public, n_wires, m, n = struct.unpack_from("<4Q", data, 16)
    with pytest.raises(FormatError, match="inconsistent"):
        fm.pk_from_bytes(data[:16] + struct.pack("<4Q", n_public, n_wires, m, 2 * n) + data[head:])
    with pytest.raises(LengthError):
        fm.pk_from_bytes(data[:16] + struct.pack("<4Q", n_public, n_wires + 1, m, n) + data[head:])
    corrupt = bytearray(data)
    corrupt[head + 5] ^= 1                       # alpha_g1's x: off the curve
    with pytest.raises(NotOnCurveError):
        fm.pk_from_bytes(bytes(corrupt))
    vk_data = fm.vk_to_bytes(pk.vk)
    outside = encode_points(G2, random_twist_points(1, rng), "uncompressed")[0].tobytes()
    g2_at = len(vk_data) - 3 * 128
    with pytest.raises(SubgroupError):
        fm.vk_from_bytes(vk_data[:g2_at] + outside + vk_data[g2_at + 128:])
    with pytest.raises(LengthError):
        fm.vk_from_bytes(vk_data[:16] + struct.pack("<Q", 10 ** 12) + vk_data[24:])
    with pytest.raises(FormatError):
        fm.vk_from_bytes("not bytes")


def test_equality_is_by_value(system):
    _, pk, _, proof = system
    assert Proof(proof.a.copy(), proof.b.copy(), proof.c.copy()) == proof
    assert Proof(proof.c, proof.b, proof.a) != proof
    other = fm.vk_from_snarkjs(SNARKJS_VK)
    assert other != pk.vk and other == fm.vk_from_snarkjs(SNARKJS_VK)


@pytest.mark.parametrize("constraints,public", [(6, 1), (9, 3), (40, 2)])
def test_pk_size_is_the_length_of_the_key_bytes(constraints, public):
    from hpc_zkfl.groth16.r1cs_to_qap import domain_size
    rnd = random.Random(constraints)
    r1cs, _ = random_circuit(constraints, public, 2, 2, rng=rnd)
    pk = setup(r1cs, rng=rnd)
    assert fm.pk_size(r1cs.n_public, r1cs.n_wires, domain_size(r1cs)) == len(fm.pk_to_bytes(pk))
