"""snarkjs powers-of-tau (.ptau) files: the strict reader and Groth16 keys from their phase 1.

* Files from `testing.write_insecure_ptau` (known trapdoor): every point the reader returns is
  checked against py_ecc and fixed-base multiplications; the group inverse NTT gives the
  prepared Lagrange sections; a key from the file proves, verifies, passes the key check and
  is the key of that trapdoor; the unprepared file gives the same key.
* Refusals (PtauError, one line): every cut of a small file, foreign magic and version, a wrong
  prime, sections missing, repeated, unknown or of the wrong size, trailing bytes, malformed
  contributions, points off the curve, outside G2, not below q or at infinity, generators,
  inconsistent sections, a file too small for the circuit (naming both powers), tau a root of
  unity; the CLI exits 2 with one line for them.
* Files made by snarkjs itself (needs node and npm): `powersoftau new`, two `contribute -e`, a
  `beacon`, `prepare phase2` and `truncate`; snarkjs' Lagrange sections equal our group inverse
  NTT of its powers, every cut of a truncated file is refused, and `snarkjs groth16 setup` on the
  same file has our alpha and beta.
"""
import json
import random
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn

from hpc_zkfl.algebra.constants import P, R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.msm import fixed_base_mul
from hpc_zkfl.algebra.ntt import powers
from hpc_zkfl.algebra.pairing import pairing_check
from hpc_zkfl.algebra.subgroup import random_twist_points
from hpc_zkfl.backends.reference import from_py_ecc
from hpc_zkfl.circuit.iden3 import save_r1cs, save_wtns
from hpc_zkfl.cli import main
from hpc_zkfl.groth16 import (PtauError, check_proving_key, formats, prove, read_ptau,
                              setup_from_ptau, verify)
from hpc_zkfl.groth16 import ptau as ptau_mod
from hpc_zkfl.groth16.committed import hide, prove_committed
from hpc_zkfl.groth16.r1cs_to_qap import domain_size, lagrange_at, qap_at, to_plain
from hpc_zkfl.groth16.testing import public_signals, random_circuit, write_insecure_ptau

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
sys.path.insert(0, str(VECTORS))
import gen_circom  # noqa: E402  (npm set-up shared with the circom vectors)

POWER = 4                   # the insecure file; circuits of CIRCUIT_ROWS fill its domain 2^4
CIRCUIT_ROWS = 13           # 13 constraints + 2 public signals + 1 = 16 rows
R_MONT_INV = pow(1 << 256, -1, P)


def _mul(group, k):
    return fixed_base_mul(group, ints_to_limbs([k % R]))[0]


def _circuit(rows, rng):
    r1cs, witness = random_circuit(rows, n_outputs=1, n_public_inputs=1, rng=rng)
    return r1cs, witness


@pytest.fixture(scope="module")
def trapdoor():
    rnd = random.Random(20240611)
    return tuple(rnd.randrange(2, R) for _ in range(3))     # tau, alpha, beta


@pytest.fixture(scope="module")
def files(tmp_path_factory, trapdoor):
    """The insecure prepared file of power POWER, the same without sections 12..15, and a tiny
    prepared file of power 1 for the cut points."""
    d = tmp_path_factory.mktemp("ptau")
    write_insecure_ptau(d / "prepared.ptau", POWER, *trapdoor)
    sections = _sections(d / "prepared.ptau")
    ptau_mod.write_container(d / "plain.ptau", {k: v for k, v in sections.items() if k < 12})
    write_insecure_ptau(d / "tiny.ptau", 1, *trapdoor)
    return {"dir": d, "prepared": d / "prepared.ptau", "plain": d / "plain.ptau",
            "tiny": d / "tiny.ptau"}


def _sections(path) -> dict:
    """{id: bytes} of a file, in file order, by the raw container layout."""
    data = Path(path).read_bytes()
    (count,) = struct.unpack_from("<I", data, 8)
    out, pos = {}, 12
    for _ in range(count):
        kind, size = struct.unpack_from("<IQ", data, pos)
        out[kind] = data[pos + 12:pos + 12 + size]
        pos += 12 + size
    return out


def _refused(path, *fragments, call=read_ptau):
    with pytest.raises(PtauError) as info:
        call(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path)), msg
    for fragment in fragments:
        assert fragment in msg, msg
    return msg


# ---- reading files of a known trapdoor ---------------------------------------------------------
def _raw_g1(data, i):
    """Point i of a G1 section, decoded by hand: Montgomery little-endian x, y -> ints."""
    x, y = (int.from_bytes(data[64 * i + 32 * c:64 * i + 32 * c + 32], "little") * R_MONT_INV % P
            for c in (0, 1))
    return x, y


def _raw_g2(data, i):
    c = [int.from_bytes(data[128 * i + 32 * j:128 * i + 32 * j + 32], "little") * R_MONT_INV % P
         for j in range(4)]
    return (c[0], c[1]), (c[2], c[3])


def test_points_are_montgomery_little_endian_as_py_ecc_says(files, trapdoor):
    tau, alpha, beta = trapdoor
    raw = _sections(files["prepared"])
    assert _raw_g1(raw[2], 0) == (1, 2)
    for i in (1, 2, 2 * (1 << POWER) - 2):
        assert _raw_g1(raw[2], i) == from_py_ecc(G1, bn.multiply(bn.G1, pow(tau, i, R)))
    assert _raw_g2(raw[3], 1) == from_py_ecc(G2, bn.multiply(bn.G2, tau))
    assert _raw_g1(raw[4], 1) == from_py_ecc(G1, bn.multiply(bn.G1, alpha * tau % R))
    assert _raw_g1(raw[5], 0) == from_py_ecc(G1, bn.multiply(bn.G1, beta))
    assert _raw_g2(raw[6], 0) == from_py_ecc(G2, bn.multiply(bn.G2, beta))
    # and the reader's arrays are those points in this package's representation
    f = read_ptau(files["prepared"])
    assert G1.decode(f.tau_g1(3)) == [_raw_g1(raw[2], i) for i in range(3)]
    assert G2.decode(f.tau_g2(2)) == [_raw_g2(raw[3], i) for i in range(2)]


def test_reader_returns_the_trapdoors_points(files, trapdoor):
    tau, alpha, beta = trapdoor
    f = read_ptau(files["prepared"])
    n = 1 << POWER
    assert (f.power, f.ceremony_power, f.prepared, f.contributions) == (POWER, POWER, True, ())
    assert _sections(files["prepared"])[1] == ptau_mod.header_section(POWER)
    assert "power 4" in f.describe() and "0 contributions" in f.describe()
    tp = to_plain(powers(tau, 2 * n))
    assert np.array_equal(f.tau_g1(2 * n - 1), fixed_base_mul(G1, tp[:2 * n - 1]))
    assert np.array_equal(f.tau_g2(n), fixed_base_mul(G2, tp[:n]))
    alpha_g1 = G1.decode(_mul(G1, alpha)[None])[0]
    assert np.array_equal(f.alpha_tau_g1(n), fixed_base_mul(G1, tp[:n], base=alpha_g1))
    assert np.array_equal(f.beta_tau_g1(1)[0], _mul(G1, beta))
    assert np.array_equal(f.beta_g2(), _mul(G2, beta))
    t1, t2 = f.tau_g1(2), f.tau_g2(2)
    neg = G1.decode(t1[:1])[0]
    assert pairing_check([(t1[1], t2[0]), ((neg[0], -neg[1] % P), t2[1])])
    for k in range(POWER + 1):
        basis = to_plain(lagrange_at(tau, 1 << k))
        assert np.array_equal(f.lagrange(12, k), fixed_base_mul(G1, basis))
        beta_g1 = G1.decode(_mul(G1, beta)[None])[0]
        assert np.array_equal(f.lagrange(15, k), fixed_base_mul(G1, basis, base=beta_g1))
    assert np.array_equal(f.lagrange(13, 2), fixed_base_mul(G2, to_plain(lagrange_at(tau, 4))))


def test_group_intt_gives_the_prepared_sections(files):
    f = read_ptau(files["prepared"])
    for k in range(POWER + 1):
        assert np.array_equal(ptau_mod.group_intt(G1, f.tau_g1(1 << k)), f.lagrange(12, k))
    assert np.array_equal(ptau_mod.group_intt(G2, f.tau_g2(1 << POWER)), f.lagrange(13, POWER))
    assert np.array_equal(ptau_mod.group_intt(G1, f.alpha_tau_g1(8)), f.lagrange(14, 3))
    assert np.array_equal(ptau_mod.group_intt(G1, f.beta_tau_g1(8)), f.lagrange(15, 3))


# ---- keys ---------------------------------------------------------------------------------------
def test_key_from_ptau_proves_verifies_and_passes_the_key_check(files, trapdoor, rng):
    tau, alpha, beta = trapdoor
    r1cs, witness = _circuit(CIRCUIT_ROWS, rng)
    n = domain_size(r1cs)
    assert n == 1 << POWER
    pk = setup_from_ptau(r1cs, files["prepared"], commitment=True)
    check_proving_key(pk, r1cs)
    public = public_signals(r1cs, witness)
    proof = prove(pk, r1cs, witness)
    assert verify(pk.vk, public, proof)
    assert not verify(pk.vk, [public[0] + 1] + public[1:], proof)
    # tau, alpha, beta are the file's
    assert np.array_equal(pk.vk.alpha_g1, _mul(G1, alpha))
    assert np.array_equal(pk.vk.beta_g2, _mul(G2, beta))
    assert np.array_equal(pk.beta_g1, _mul(G1, beta))
    a_t, b_t, _ = qap_at(r1cs, lagrange_at(tau, n))
    assert np.array_equal(pk.a_query, fixed_base_mul(G1, to_plain(a_t)))
    assert np.array_equal(pk.b_g2_query, fixed_base_mul(G2, to_plain(b_t)))
    assert np.array_equal(pk.tau_g1, fixed_base_mul(G1, to_plain(powers(tau, 2 * n - 1))))
    assert np.array_equal(pk.tau_g2, fixed_base_mul(G2, to_plain(powers(tau, 2))))
    assert pk.supports_commitment
    cp, _ = prove_committed(pk, r1cs, witness, [1], backend="cpu")    # LegoGroth16: D hides w_2
    assert verify(pk.vk, hide(public, [1]), cp.proof, "cpu", commitment=cp.d)
    assert not verify(pk.vk, hide(public, [1]), cp.proof, "cpu")
    plain = setup_from_ptau(r1cs, files["prepared"])
    assert not plain.has_powers and not plain.supports_commitment
    assert verify(plain.vk, public, prove(plain, r1cs, witness))


def test_unprepared_file_gives_the_same_key(files, rng):
    r1cs, _ = _circuit(5, rng)                          # a smaller domain than the file's
    assert domain_size(r1cs) == 1 << (POWER - 1)
    seed = rng.randrange(1 << 30)
    keys = [setup_from_ptau(r1cs, files[name], commitment=True, rng=random.Random(seed))
            for name in ("prepared", "plain")]
    assert not read_ptau(files["plain"]).prepared
    assert keys[0] == keys[1]


def test_too_small_a_file_names_both_powers(files, rng):
    r1cs, _ = _circuit(CIRCUIT_ROWS + 1, rng)
    _refused(files["prepared"], "power >= 5", "has power 4",
             call=lambda p: setup_from_ptau(r1cs, p))


def test_tau_a_root_of_unity_is_refused(files, rng, tmp_path):
    write_insecure_ptau(tmp_path / "one.ptau", 3, 1, 3, 5)     # tau = 1, like `powersoftau new`
    r1cs, _ = _circuit(2, rng)
    _refused(tmp_path / "one.ptau", "root of unity", call=lambda p: setup_from_ptau(r1cs, p))


# ---- refusals -----------------------------------------------------------------------------------
def test_every_cut_of_a_small_file_is_refused(files, tmp_path):
    data = files["tiny"].read_bytes()
    read_ptau(files["tiny"])
    cut = tmp_path / "cut.ptau"
    for length in range(len(data)):
        cut.write_bytes(data[:length])
        _refused(cut)


def _rewrite(tmp_path, files, change, name="bad.ptau", source="prepared"):
    """A copy of a file with its {id: bytes} sections passed through change()."""
    sections = _sections(files[source])
    change(sections)                                   # edits the dict in place
    path = tmp_path / name
    ptau_mod.write_container(path, sections)
    return path


def _patch(tmp_path, files, offset, new: bytes, source="prepared"):
    data = bytearray(files[source].read_bytes())
    data[offset:offset + len(new)] = new
    path = tmp_path / "patched.ptau"
    path.write_bytes(bytes(data))
    return path


def _header(q=P, n8=32, power=POWER, ceremony=POWER):
    return struct.pack("<I", n8) + q.to_bytes(n8, "little") + struct.pack("<II", power, ceremony)


BLS_Q = ptau_mod._BLS12_381_Q


@pytest.mark.parametrize("change, fragments", [
    (lambda s: s.update({1: _header(q=R)}), ["wrong curve", "is not BN254's"]),
    (lambda s: s.update({1: _header(q=BLS_Q, n8=48)}), ["wrong curve", "BLS12-381"]),
    (lambda s: s.update({1: _header(n8=40, q=P)}), ["n8 = 40"]),
    (lambda s: s.update({1: _header()[:-4]}), ["header section has 40 bytes"]),
    (lambda s: s.update({1: _header(power=0, ceremony=0)}), ["power 0 outside 1..28"]),
    (lambda s: s.update({1: _header(power=29, ceremony=29)}), ["power 29 outside 1..28"]),
    (lambda s: s.update({1: _header(power=POWER, ceremony=POWER - 1)}), ["ceremony power 3"]),
    (lambda s: s.update({1: _header(power=POWER + 1, ceremony=POWER + 1)}),
     ["section 2 (tauG1) has", "power 5 needs"]),
    (lambda s: s.pop(3), ["missing section 3 (tauG2)"]),
    (lambda s: s.pop(7), ["missing section 7 (contributions)"]),
    (lambda s: s.pop(13), ["incompletely prepared", "lacks [13]"]),
    (lambda s: s.update({4: s[4][:-64]}), ["section 4 (alphaTauG1) has", "needs 1024"]),
    (lambda s: s.update({13: s[13] + bytes(128)}), ["section 13 (Lagrange tauG2) has"]),
    (lambda s: s.update({9: b""}), ["unknown section id 9"]),
    (lambda s: s.update({7: struct.pack("<I", 1)}), ["1 contributions cannot fit"]),
    (lambda s: s.update({7: struct.pack("<I", 0xFFFFFFFF)}), ["4294967295 contributions"]),
    (lambda s: s.update({7: s[7] + b"\0"}), ["1 bytes after the last of 0 contributions"]),
    (lambda s: s.update({7: b""}), ["shorter than its 4-byte count"]),
])
def test_malformed_structure_is_refused(files, tmp_path, change, fragments):
    _refused(_rewrite(tmp_path, files, change), *fragments)


def test_malformed_container_is_refused(files, tmp_path):
    data = files["prepared"].read_bytes()
    cases = [
        (b"zkey" + data[4:], ["not a .ptau file", "b'zkey'"]),
        (data[:4] + struct.pack("<I", 2) + data[8:], ["unsupported .ptau version 2"]),
        (data[:8] + struct.pack("<I", 0) + data[12:], ["0 sections"]),
        (data[:8] + struct.pack("<I", 1000) + data[12:], ["1000 sections"]),
        (data[:8] + struct.pack("<I", 12) + data[12:], ["truncated", "lists 12 sections"]),
        (data[:8] + struct.pack("<I", 10) + data[12:], ["bytes after the last of the 10 sections"]),
        (data + b"\0", ["1 bytes after the last"]),
        (data[:16] + struct.pack("<Q", 1 << 60) + data[24:], [f"declares {1 << 60} bytes"]),
        (b"", ["0 bytes"]),
    ]
    path = tmp_path / "bad.ptau"
    for content, fragments in cases:
        path.write_bytes(content)
        _refused(path, *fragments)
    # a repeated section
    sections = list(_sections(files["prepared"]).items())
    with open(path, "wb") as out:
        out.write(b"ptau" + struct.pack("<II", 1, len(sections) + 1))
        for kind, body in sections + [sections[5]]:
            out.write(struct.pack("<IQ", kind, len(body)) + body)
    _refused(path, "section 6 (betaG2) appears twice")


def _montgomery(value: int) -> bytes:
    return (value * (1 << 256) % P).to_bytes(32, "little")


def test_bad_points_are_refused(files, tmp_path, rng):
    f = read_ptau(files["prepared"])
    s = f.sections
    # a flipped byte in [tau]_1: off the curve
    data = bytearray(files["prepared"].read_bytes())
    data[s[2].offset + 64 + 5] ^= 0x01
    (tmp_path / "flip.ptau").write_bytes(bytes(data))
    _refused(tmp_path / "flip.ptau", "tauG1 (section 2) point 1 is not on the curve")
    # a coordinate of [beta]_2 >= q: x.c0 = q + 1 as stored
    _refused(_patch(tmp_path, files, s[6].offset, (P + 1).to_bytes(32, "little")),
             "betaG2 (section 6) point 0: a coordinate (Montgomery form) is not below q")
    # [tau]_2 replaced by a twist point outside G2
    outside = random_twist_points(1, rng)
    _refused(_patch(tmp_path, files, s[3].offset + 128, outside.astype("<u8").tobytes()),
             "tauG2 (section 3) point 1 is not in the order-r subgroup")
    # [beta]_2 at infinity
    _refused(_patch(tmp_path, files, s[6].offset, bytes(128)),
             "betaG2 (section 6) point 0 is the point at infinity")
    # the first point is not the generator
    two = _mul(G1, 2).astype("<u8").tobytes()
    _refused(_patch(tmp_path, files, s[2].offset, two), "point 0 is not the generator of G1")
    # tau in G1 and in G2 differ
    other = _mul(G1, 12345).astype("<u8").tobytes()
    _refused(_patch(tmp_path, files, s[2].offset + 64, other), "are not [tau] for one tau")
    # betaTauG1[0] and betaG2 differ
    _refused(_patch(tmp_path, files, s[5].offset, other), "are not [beta] for one beta")


def test_bad_points_where_the_setup_reads_are_refused(files, tmp_path, rng):
    r1cs, _ = _circuit(CIRCUIT_ROWS, rng)
    f = read_ptau(files["prepared"])
    lag = f.sections[12].offset + 64 * ptau_mod.lagrange_offset(POWER)
    setup = lambda p: setup_from_ptau(r1cs, p)      # noqa: E731
    data = bytearray(files["prepared"].read_bytes())
    data[lag + 3 * 64 + 7] ^= 0x10
    (tmp_path / "flip.ptau").write_bytes(bytes(data))
    read_ptau(tmp_path / "flip.ptau")            # the reader reads only what it is asked for
    _refused(tmp_path / "flip.ptau", "Lagrange tauG1 (section 12) point 18 is not on the curve",
             call=setup)
    # valid points in the wrong places: two Lagrange points swapped
    data = bytearray(files["prepared"].read_bytes())
    first, second = bytes(data[lag:lag + 64]), bytes(data[lag + 64:lag + 128])
    data[lag:lag + 128] = second + first
    (tmp_path / "swap.ptau").write_bytes(bytes(data))
    _refused(tmp_path / "swap.ptau", "phase-1 points are not consistent", call=setup)
    # alpha's Lagrange section from another alpha
    def other_alpha(sections):
        sections[14] = sections[15]
    _refused(_rewrite(tmp_path, files, other_alpha), "phase-1 points are not consistent",
             call=setup)


# ---- command line ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def circuit_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    r1cs, witness = _circuit(CIRCUIT_ROWS, random.Random(7))
    save_r1cs(r1cs, d / "c.r1cs")
    save_wtns(witness, d / "w.wtns")
    big, _ = _circuit(CIRCUIT_ROWS + 1, random.Random(8))
    save_r1cs(big, d / "big.r1cs")
    return d


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "hpc_zkfl.cli", *map(str, args)],
                          capture_output=True, text=True, timeout=300)


def test_cli_setup_from_ptau(files, circuit_files, capsys):
    d = circuit_files
    assert main(["groth16", "setup", str(d / "c.r1cs"), str(d / "pk.bin"), str(d / "vk.json"),
                 "--ptau", str(files["prepared"])]) == 0
    out, err = capsys.readouterr()
    assert "phase 1 from" in out and "power 4" in out and "not for production" not in out + err
    assert main(["groth16", "prove", str(d / "pk.bin"), str(d / "w.wtns"), str(d / "proof.json"),
                 str(d / "public.json")]) == 0
    assert main(["groth16", "verify", str(d / "vk.json"), str(d / "public.json"),
                 str(d / "proof.json")]) == 0
    vk = formats.vk_from_snarkjs(formats.load_json(d / "vk.json"))
    assert np.array_equal(vk.alpha_g1, read_ptau(files["prepared"]).alpha_tau_g1(1)[0])


def test_cli_setup_without_ptau_warns(circuit_files, capsys):
    d = circuit_files
    assert main(["groth16", "setup", str(d / "c.r1cs"), str(d / "pk2.bin"),
                 str(d / "vk2.json")]) == 0
    out, err = capsys.readouterr()
    assert "not for production" in err and err.count("\n") == 1
    assert "local (not for production)" in out


@pytest.mark.parametrize("which, fragments", [
    ("truncated", ["truncated"]), ("foreign", ["not a .ptau file"]),
    ("small", ["power >= 5", "has power 4"]), ("missing", ["cannot read powers of tau"])])
def test_cli_bad_ptau_exits_2_in_one_line(files, circuit_files, tmp_path, which, fragments):
    d = circuit_files
    circuit, ptau = d / "c.r1cs", tmp_path / "p.ptau"
    data = files["prepared"].read_bytes()
    if which == "truncated":
        ptau.write_bytes(data[:len(data) - 100])
    elif which == "foreign":
        ptau.write_bytes((d / "c.r1cs").read_bytes())
    elif which == "small":
        circuit, ptau = d / "big.r1cs", files["prepared"]
    proc = _cli("groth16", "setup", circuit, tmp_path / "pk.bin", tmp_path / "vk.json",
                "--ptau", ptau)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    for fragment in fragments:
        assert fragment in proc.stderr, proc.stderr
    assert not (tmp_path / "pk.bin").exists()


# ---- files made by snarkjs -------------------------------------------------------------------
_snarkjs = gen_circom.run_snarkjs


SNARKJS_POWER = 8


@pytest.fixture(scope="module")
def ceremony(npm_prefix, tmp_path_factory):
    """A power-8 ceremony run by snarkjs: two contributions and a beacon, then prepared and
    truncated."""
    d = tmp_path_factory.mktemp("ceremony")
    run = lambda *args: _snarkjs(npm_prefix, d, "powersoftau", *args)   # noqa: E731
    run("new", "bn128", SNARKJS_POWER, "p0.ptau")
    run("contribute", "p0.ptau", "p1.ptau", "-n=first", "-e=some entropy")
    run("contribute", "p1.ptau", "p2.ptau", "-n=second", "-e=more entropy")
    run("beacon", "p2.ptau", "p3.ptau", bytes(range(1, 33)).hex(), "10", "-n=final beacon")
    run("prepare", "phase2", "p3.ptau", "final.ptau")
    run("truncate", "final.ptau")
    return d


def test_snarkjs_files_read_and_match_our_group_intt(ceremony):
    plain, final = read_ptau(ceremony / "p3.ptau"), read_ptau(ceremony / "final.ptau")
    assert [c.name for c in final.contributions] == ["first", "second", "final beacon"]
    assert [c.kind for c in final.contributions] == [0, 0, 1]
    assert final.prepared and not plain.prepared and final.power == SNARKJS_POWER
    for k in (0, 1, 5, SNARKJS_POWER):
        assert np.array_equal(ptau_mod.group_intt(G1, plain.tau_g1(1 << k)), final.lagrange(12, k))
    k = SNARKJS_POWER
    for group, powers_of, section in ((G2, plain.tau_g2, 13), (G1, plain.alpha_tau_g1, 14),
                                      (G1, plain.beta_tau_g1, 15)):
        ours = ptau_mod.group_intt(group, powers_of(1 << k))
        assert np.array_equal(ours, final.lagrange(section, k))
    # the uncontributed file reads, and is refused for a key (tau = 1)
    fresh = read_ptau(ceremony / "p0.ptau")
    assert fresh.contributions == () and np.array_equal(fresh.tau_g1(2)[1], fresh.tau_g1(1)[0])
    # truncated files: power p, ceremony power 8, section 12 with the level 2^(p+1) of the
    # bigger file (snarkjs >= 0.7; older versions leave it out: both sizes are accepted)
    small = read_ptau(ceremony / "final_03.ptau")
    assert (small.power, small.ceremony_power, small.prepared) == (3, SNARKJS_POWER, True)
    assert small.sections[12].size in (64 * (2 * 8 - 1), 64 * (4 * 8 - 1))
    assert np.array_equal(small.lagrange(12, 3), final.lagrange(12, 3))


def test_every_cut_of_a_snarkjs_file_is_refused(ceremony, tmp_path):
    data = (ceremony / "final_01.ptau").read_bytes()
    cut = tmp_path / "cut.ptau"
    for length in range(len(data)):
        cut.write_bytes(data[:length])
        _refused(cut)


def test_key_from_snarkjs_ceremony_matches_snarkjs_setup(npm_prefix, ceremony, tmp_path, rng):
    r1cs, witness = _circuit(200, rng)             # domain 2^8: the whole file
    assert domain_size(r1cs) == 1 << SNARKJS_POWER
    save_r1cs(r1cs, tmp_path / "c.r1cs")
    pk = setup_from_ptau(r1cs, ceremony / "final.ptau", commitment=True)
    check_proving_key(pk, r1cs)
    public = public_signals(r1cs, witness)
    proof = prove(pk, r1cs, witness)
    assert verify(pk.vk, public, proof)
    _snarkjs(npm_prefix, tmp_path, "groth16", "setup", "c.r1cs", ceremony / "final.ptau", "c.zkey")
    _snarkjs(npm_prefix, tmp_path, "zkey", "export", "verificationkey", "c.zkey", "snarkjs_vk.json")
    theirs = formats.vk_from_snarkjs(formats.load_json(tmp_path / "snarkjs_vk.json"))
    assert np.array_equal(theirs.alpha_g1, pk.vk.alpha_g1)
    assert np.array_equal(theirs.beta_g2, pk.vk.beta_g2)
    # the same tau, alpha, beta from the unprepared file (group inverse NTT)
    plain = setup_from_ptau(r1cs, ceremony / "p3.ptau")
    assert np.array_equal(plain.vk.alpha_g1, pk.vk.alpha_g1)
    assert np.array_equal(plain.a_query, pk.a_query)
    assert np.array_equal(plain.b_g2_query, pk.b_g2_query)
    # snarkjs accepts our proof under our key
    for name, obj in (("vk.json", formats.vk_to_snarkjs(pk.vk)),
                      ("proof.json", formats.proof_to_snarkjs(proof)),
                      ("public.json", formats.public_to_snarkjs(public))):
        (tmp_path / name).write_text(json.dumps(obj))
    assert "OK" in _snarkjs(npm_prefix, tmp_path, "groth16", "verify", "vk.json", "public.json",
                            "proof.json")
