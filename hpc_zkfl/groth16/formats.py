"""Groth16 files: snarkjs JSON and the project's compact binary encodings.

snarkjs JSON (as snarkjs 0.7 writes and reads it; points as in
`hpc_zkfl.algebra.serialization`: decimal strings, Jacobian with Z = 1):

* ``verification_key.json``: ``{"protocol": "groth16", "curve": "bn128", "nPublic": n,
  "vk_alpha_1": G1, "vk_beta_2": G2, "vk_gamma_2": G2, "vk_delta_2": G2,
  "vk_alphabeta_12": e(alpha, beta), "IC": [G1] * (n + 1)}``.  ``vk_alphabeta_12`` is the
  Fq12 value as nested lists ``[[[c, c] * 3] * 2]``: two Fq6 halves (coefficients of 1 and
  w), three Fq2 coefficients each (of 1, v, v^2), real part first; Fq12 = Fq6[w]/(w^2 - v),
  Fq6 = Fq2[v]/(v^3 - (9 + u)).  snarkjs' pairing (ffjavascript) ends with the final
  exponentiation of Fuentes-Castaneda, Knapp and Rodriguez-Henriquez ("Faster hashing to
  G2", SAC 2011), which yields the fixed power e(P, Q)^lambda, lambda = 2x(6x^2 + 3x + 1) for
  the BN parameter x; we write e([lambda] alpha, beta), equal to snarkjs' value.  The field is
  ignored when read, as snarkjs does (other tools write the exact pairing there).
* ``proof.json``: ``{"pi_a": G1, "pi_b": G2, "pi_c": G1, "protocol": "groth16",
  "curve": "bn128"}``.
* ``public.json``: a list of decimal strings, the public signals.

Binary proof: arkworks compressed A (32 bytes) || B (64) || C (32) = 128 bytes.

Binary keys (little-endian), for this project's own key files:

    magic       8 bytes   b"HZKG16PK" (proving key) or b"HZKG16VK" (verifying key)
    version     u32       1
    reserved    u32       0
    n_public    u64
    [proving key only]  n_wires u64, n_constraints u64, domain_size u64
    points, arkworks uncompressed (G1 64 bytes, G2 128 bytes), in this order:
      G1: alpha_g1, gamma_abc_g1[n_public + 1]
          [proving key:] beta_g1, delta_g1, a_query[n_wires], b_g1_query[n_wires],
          h_query[domain_size - 1], l_query[n_wires - n_public - 1]
      G2: beta_g2, gamma_g2, delta_g2 [proving key:] b_g2_query[n_wires]

The header fixes the exact file length, which is checked before anything is decoded; every
point is checked to be on its curve and (G2) in the subgroup unless the caller vouches for
the file with ``subgroup_check=False``.

Every decoder raises ValueError (a `PointDecodeError` subclass for a bad point) on
malformed input; decoded points are always valid.
"""
import json
import struct

import numpy as np

from hpc_zkfl.algebra.constants import BN_X, R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.fields import FQ
from hpc_zkfl.algebra.pairing import pairing
from hpc_zkfl.algebra.serialization import (
    COMPRESSED, OK, UNCOMPRESSED, FormatError, LengthError, decode_points, encode_points,
    error_for, fr_from_decimal, fr_to_decimal, points_from_snarkjs, points_to_snarkjs)

from .data_structures import Proof, ProvingKey, VerifyingKey

PROTOCOL, CURVE = "groth16", "bn128"
PROOF_SIZE = 128
PK_MAGIC, VK_MAGIC = b"HZKG16PK", b"HZKG16VK"
KEY_VERSION = 1
_G1U, _G2U = 64, 128     # uncompressed sizes
# The power of the pairing that snarkjs computes (see the module docstring).
SNARKJS_GT_EXPONENT = 2 * BN_X * (6 * BN_X * BN_X + 3 * BN_X + 1) % R


# ---- snarkjs JSON ------------------------------------------------------------------------------
def _decode_all(group, objs, what):
    res = points_from_snarkjs(group, objs)
    bad = np.flatnonzero(res.reason != OK)
    if bad.size:
        raise error_for(int(res.reason[bad[0]]), f"{what} (item {int(bad[0])})")
    return res.values


def _check_header(obj, what, required):
    if not isinstance(obj, dict):
        raise FormatError(f"{what}: expected a JSON object, got {type(obj).__name__}")
    missing = [k for k in required if k not in obj]
    if missing:
        raise FormatError(f"{what}: missing field(s) {', '.join(missing)}")
    for key, want in (("protocol", PROTOCOL), ("curve", CURVE)):
        if key in obj and obj[key] != want:
            raise FormatError(f"{what}: {key} is {obj[key]!r}, expected {want!r}")


def alphabeta_to_snarkjs(value) -> list:
    """A (2, 3, 2, 4) Fq12 array -> snarkjs' nested [2][3][2] decimal strings."""
    flat = [str(c) for c in FQ.decode(np.ascontiguousarray(value).reshape(12, 4))]
    return [[[flat[(k * 3 + i) * 2], flat[(k * 3 + i) * 2 + 1]] for i in range(3)] for k in range(2)]


def snarkjs_alphabeta(vk: VerifyingKey) -> np.ndarray:
    """e(alpha, beta) as snarkjs computes it: e(alpha, beta)^SNARKJS_GT_EXPONENT."""
    alpha = G1.scalar_mul(vk.alpha_g1[None], ints_to_limbs([SNARKJS_GT_EXPONENT]))[0]
    return pairing(alpha, vk.beta_g2)


def vk_to_snarkjs(vk: VerifyingKey) -> dict:
    """verification_key.json as a dict, in snarkjs' key order."""
    alpha = points_to_snarkjs(G1, vk.alpha_g1[None])[0]
    g2 = points_to_snarkjs(G2, np.stack([vk.beta_g2, vk.gamma_g2, vk.delta_g2]))
    return {"protocol": PROTOCOL, "curve": CURVE, "nPublic": vk.n_public,
            "vk_alpha_1": alpha, "vk_beta_2": g2[0], "vk_gamma_2": g2[1], "vk_delta_2": g2[2],
            "vk_alphabeta_12": alphabeta_to_snarkjs(snarkjs_alphabeta(vk)),
            "IC": points_to_snarkjs(G1, vk.gamma_abc_g1)}


def vk_from_snarkjs(obj) -> VerifyingKey:
    what = "verification key"
    _check_header(obj, what, ("protocol", "curve", "nPublic", "vk_alpha_1", "vk_beta_2",
                              "vk_gamma_2", "vk_delta_2", "IC"))
    n = obj["nPublic"]
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise FormatError(f"{what}: nPublic must be a non-negative integer")
    ic = obj["IC"]
    if not isinstance(ic, list) or len(ic) != n + 1:
        raise FormatError(f"{what}: IC must be a list of nPublic + 1 = {n + 1} points")
    g1 = _decode_all(G1, [obj["vk_alpha_1"], *ic], f"{what} G1 point")
    g2 = _decode_all(G2, [obj["vk_beta_2"], obj["vk_gamma_2"], obj["vk_delta_2"]], f"{what} G2 point")
    return VerifyingKey(g1[0].copy(), g2[0].copy(), g2[1].copy(), g2[2].copy(),
                        np.ascontiguousarray(g1[1:]))


def proof_to_snarkjs(proof: Proof) -> dict:
    ac = points_to_snarkjs(G1, np.stack([proof.a, proof.c]))
    return {"pi_a": ac[0], "pi_b": points_to_snarkjs(G2, proof.b[None])[0], "pi_c": ac[1],
            "protocol": PROTOCOL, "curve": CURVE}


def proof_from_snarkjs(obj) -> Proof:
    what = "proof"
    _check_header(obj, what, ("pi_a", "pi_b", "pi_c"))
    ac = _decode_all(G1, [obj["pi_a"], obj["pi_c"]], f"{what} G1 point")
    b = _decode_all(G2, [obj["pi_b"]], f"{what} G2 point")
    return Proof(ac[0].copy(), b[0].copy(), ac[1].copy())


def public_to_snarkjs(signals) -> list:
    return [fr_to_decimal(int(x)) for x in signals]


def public_from_snarkjs(obj) -> list:
    if not isinstance(obj, list):
        raise FormatError(f"public signals: expected a JSON list, got {type(obj).__name__}")
    return [fr_from_decimal(s) for s in obj]


def dumps(obj) -> str:
    """JSON text laid out as snarkjs writes it (JSON.stringify with one-space indent)."""
    return json.dumps(obj, indent=1)


def save_json(path, obj) -> None:
    with open(path, "w", encoding="utf-8") as f:
        f.write(dumps(obj))


def load_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


# ---- binary proof --------------------------------------------------------------------------------
def proof_to_bytes(proof: Proof) -> bytes:
    """A || B || C, arkworks compressed: 128 bytes."""
    ac = encode_points(G1, np.stack([proof.a, proof.c]), COMPRESSED)
    b = encode_points(G2, proof.b[None], COMPRESSED)
    return ac[0].tobytes() + b[0].tobytes() + ac[1].tobytes()


def proof_from_bytes(data) -> Proof:
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError(f"proof: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    if len(data) != PROOF_SIZE:
        raise LengthError(f"proof: expected {PROOF_SIZE} bytes, got {len(data)}")
    ac = decode_points(G1, data[:32] + data[96:], COMPRESSED)
    b = decode_points(G2, data[32:96], COMPRESSED)
    for res, names in ((ac, ("A", "C")), (b, ("B",))):
        for name, reason in zip(names, res.reason):
            if reason != OK:
                raise error_for(int(reason), f"proof point {name}")
    return Proof(ac.values[0].copy(), b.values[0].copy(), ac.values[1].copy())


def proofs_from_bytes(items) -> list:
    """Many proofs at once (a round's: one decode call per group instead of two per proof):
    a Proof for each 128-byte item whose points decode, None for any other item."""
    items = [bytes(d) if isinstance(d, (bytes, bytearray, memoryview)) else None
             for d in items]
    good = [k for k, d in enumerate(items) if d is not None and len(d) == PROOF_SIZE]
    out = [None] * len(items)
    if not good:
        return out
    ac = decode_points(G1, b"".join(items[k][:32] + items[k][96:] for k in good), COMPRESSED)
    b = decode_points(G2, b"".join(items[k][32:96] for k in good), COMPRESSED)
    for j, k in enumerate(good):
        if ac.reason[2 * j] == OK and ac.reason[2 * j + 1] == OK and b.reason[j] == OK:
            out[k] = Proof(ac.values[2 * j].copy(), b.values[j].copy(),
                           ac.values[2 * j + 1].copy())
    return out


def g1_points_from_bytes(items) -> list:
    """Compressed G1 points at once: the point for each 32-byte item that is one, else None."""
    items = [bytes(d) if isinstance(d, (bytes, bytearray, memoryview)) else None
             for d in items]
    good = [k for k, d in enumerate(items) if d is not None and len(d) == 32]
    out = [None] * len(items)
    if good:
        res = decode_points(G1, b"".join(items[k] for k in good), COMPRESSED)
        for j, k in enumerate(good):
            if res.reason[j] == OK:
                out[k] = res.values[j].copy()
    return out


# ---- binary keys -------------------------------------------------------------------------------------
# The prefix's last word holds flags (0 in files without the optional parts): what follows
# the base key.
_PREFIX = struct.Struct("<8sII")
FLAG_ETA = 1            # LegoGroth16: [eta/gamma]_1 (vk), and [eta/delta]_1 (pk)
FLAG_POWERS = 2         # pk only: [tau^j]_1 for j <= 2n - 2, and [1]_2, [tau]_2
_KNOWN_FLAGS = FLAG_ETA | FLAG_POWERS


def _counts(n_public, n_wires=None, domain_size=None, flags=0):
    """(G1 count, G2 count) of a key file."""
    g1, g2 = 1 + n_public + 1, 3
    if flags & FLAG_ETA:
        g1 += 1
    if n_wires is not None:
        g1 += 2 + 2 * n_wires + domain_size - 1 + n_wires - n_public - 1
        g2 += n_wires
        if flags & FLAG_ETA:
            g1 += 1
        if flags & FLAG_POWERS:
            g1, g2 = g1 + 2 * domain_size - 1, g2 + 2
    return g1, g2


def _key_bytes(magic, header, g1_parts, g2_parts, flags=0) -> bytes:
    g1 = np.concatenate([np.asarray(p, dtype=np.uint64).reshape(-1, 2, 4) for p in g1_parts])
    g2 = np.concatenate([np.asarray(p, dtype=np.uint64).reshape(-1, 2, 2, 4) for p in g2_parts])
    return (_PREFIX.pack(magic, KEY_VERSION, flags) + struct.pack(f"<{len(header)}Q", *header)
            + encode_points(G1, g1, UNCOMPRESSED).tobytes() + encode_points(G2, g2, UNCOMPRESSED).tobytes())


def _vk_flags(vk: VerifyingKey) -> int:
    return FLAG_ETA if vk.eta_gamma_g1 is not None else 0


def key_flags(pk: ProvingKey) -> int:
    """The optional parts a proving key has (FLAG_ETA, FLAG_POWERS)."""
    return ((FLAG_ETA if pk.supports_commitment else 0)
            | (FLAG_POWERS if pk.has_powers else 0))


def vk_to_bytes(vk: VerifyingKey) -> bytes:
    eta = [vk.eta_gamma_g1] if vk.eta_gamma_g1 is not None else []
    return _key_bytes(VK_MAGIC, [vk.n_public], [vk.alpha_g1, vk.gamma_abc_g1, *eta],
                      [vk.beta_g2, vk.gamma_g2, vk.delta_g2], _vk_flags(vk))


def pk_to_bytes(pk: ProvingKey) -> bytes:
    vk, flags = pk.vk, key_flags(pk)
    if (vk.eta_gamma_g1 is not None or pk.eta_delta_g1 is not None) and not flags & FLAG_ETA:
        raise ValueError("a proving key with only one of its two eta elements")
    header = [vk.n_public, pk.n_wires, pk.n_constraints, pk.domain_size]
    g1 = [vk.alpha_g1, vk.gamma_abc_g1, pk.beta_g1, pk.delta_g1, pk.a_query, pk.b_g1_query,
          pk.h_query, pk.l_query]
    g2 = [vk.beta_g2, vk.gamma_g2, vk.delta_g2, pk.b_g2_query]
    if flags & FLAG_ETA:
        g1 += [vk.eta_gamma_g1, pk.eta_delta_g1]
    if flags & FLAG_POWERS:
        g1.append(pk.tau_g1)
        g2.append(pk.tau_g2)
    return _key_bytes(PK_MAGIC, header, g1, g2, flags)


def pk_size(n_public: int, n_wires: int, domain_size: int, flags: int = 0) -> int:
    """The exact length of pk_to_bytes for a circuit of these sizes and a key with these
    optional parts (so that a receiver can refuse a key of any other length before reading
    it)."""
    n_g1, n_g2 = _counts(n_public, n_wires, domain_size, flags)
    return _PREFIX.size + 8 * 4 + n_g1 * _G1U + n_g2 * _G2U


def _read_key(data, magic, n_header, what, subgroup_check):
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError(f"{what}: expected bytes, got {type(data).__name__}")
    data = bytes(data)
    head = _PREFIX.size + 8 * n_header
    if len(data) < head:
        raise LengthError(f"{what}: {len(data)} bytes is shorter than the header")
    got_magic, version, flags = _PREFIX.unpack_from(data)
    if got_magic != magic:
        raise FormatError(f"{what}: bad magic {got_magic!r}, expected {magic!r}")
    if version != KEY_VERSION or flags & ~_KNOWN_FLAGS or (magic == VK_MAGIC
                                                           and flags & FLAG_POWERS):
        raise FormatError(f"{what}: unsupported version {version} (flags {flags})")
    header = struct.unpack_from(f"<{n_header}Q", data, _PREFIX.size)
    return data, head, header, flags


def _read_points(data, head, n_g1, n_g2, what, subgroup_check):
    size = head + n_g1 * _G1U + n_g2 * _G2U
    if len(data) != size:
        raise LengthError(f"{what}: expected {size} bytes for its header, got {len(data)}")
    mid = head + n_g1 * _G1U
    g1 = decode_points(G1, data[head:mid], UNCOMPRESSED)
    g2 = decode_points(G2, data[mid:], UNCOMPRESSED, subgroup_check=subgroup_check)
    for res, name in ((g1, "G1"), (g2, "G2")):
        bad = np.flatnonzero(res.reason != OK)
        if bad.size:
            raise error_for(int(res.reason[bad[0]]), f"{what} {name} point {int(bad[0])}")
    return g1.values, g2.values


def _split(arr, sizes):
    out, start = [], 0
    for s in sizes:
        out.append(np.ascontiguousarray(arr[start:start + s]))
        start += s
    return out


def vk_from_bytes(data, subgroup_check: bool = True) -> VerifyingKey:
    what = "verifying key"
    data, head, (n_public,), flags = _read_key(data, VK_MAGIC, 1, what, subgroup_check)
    if n_public >= len(data):
        raise LengthError(f"{what}: n_public {n_public} does not fit the file")
    g1, g2 = _read_points(data, head, *_counts(n_public, flags=flags), what, subgroup_check)
    alpha, ic, eta = _split(g1, [1, n_public + 1, 1 if flags & FLAG_ETA else 0])
    return VerifyingKey(alpha[0], g2[0].copy(), g2[1].copy(), g2[2].copy(), ic,
                        eta[0].copy() if flags & FLAG_ETA else None)


def pk_from_bytes(data, subgroup_check: bool = True) -> ProvingKey:
    """Decode a proving key; `subgroup_check=False` skips only the G2 subgroup test (about
    half of the decode time) for files this process's owner wrote and trusts."""
    what = "proving key"
    data, head, (n_public, n_wires, n_constraints, domain), flags = _read_key(
        data, PK_MAGIC, 4, what, subgroup_check)
    if any(v >= len(data) for v in (n_public, n_wires, n_constraints, domain)):
        raise LengthError(f"{what}: header counts do not fit the file")
    rows = n_constraints + n_public + 1
    if (n_wires < n_public + 1 or domain < 2 or domain & (domain - 1)
            or domain != 1 << max(1, (rows - 1).bit_length())):
        raise FormatError(f"{what}: inconsistent header (n_public {n_public}, n_wires {n_wires}, "
                          f"n_constraints {n_constraints}, domain {domain})")
    g1, g2 = _read_points(data, head, *_counts(n_public, n_wires, domain, flags), what,
                          subgroup_check)
    n_eta = 2 if flags & FLAG_ETA else 0
    n_tau = 2 * domain - 1 if flags & FLAG_POWERS else 0
    alpha, ic, beta1, delta1, a_q, b1_q, h_q, l_q, eta, tau1 = _split(
        g1, [1, n_public + 1, 1, 1, n_wires, n_wires, domain - 1, n_wires - n_public - 1,
             n_eta, n_tau])
    vk = VerifyingKey(alpha[0], g2[0].copy(), g2[1].copy(), g2[2].copy(), ic,
                      eta[0].copy() if n_eta else None)
    b2_q = np.ascontiguousarray(g2[3:3 + n_wires])
    return ProvingKey(vk, beta1[0], delta1[0], a_q, b1_q, b2_q, h_q, l_q, int(n_constraints),
                      int(domain), eta[1].copy() if n_eta else None, tau1 if n_tau else None,
                      np.ascontiguousarray(g2[3 + n_wires:]) if n_tau else None)


__all__ = ["CURVE", "FLAG_ETA", "FLAG_POWERS", "KEY_VERSION", "PK_MAGIC", "PROOF_SIZE", "PROTOCOL", "SNARKJS_GT_EXPONENT",
           "VK_MAGIC", "alphabeta_to_snarkjs", "dumps", "load_json", "key_flags",
           "pk_from_bytes", "pk_size", "pk_to_bytes",
           "g1_points_from_bytes", "proof_from_bytes", "proof_from_snarkjs", "proofs_from_bytes", "proof_to_bytes", "proof_to_snarkjs",
           "public_from_snarkjs", "public_to_snarkjs", "save_json", "snarkjs_alphabeta",
           "vk_from_bytes", "vk_to_bytes", "vk_from_snarkjs", "vk_to_snarkjs"]


# ---- proving-key files ---------------------------------------------------------------------------------
# What `hpc-zkfl groth16 setup` writes and `prove` reads: the binary proving key followed by the
# circuit it was made for, as an iden3 .r1cs, so that a proof needs only this file and a witness
# (snarkjs' .zkey carries its circuit for the same reason).  The key's header fixes its length.

def proving_file_to_bytes(pk: ProvingKey, r1cs) -> bytes:
    from hpc_zkfl.circuit.iden3 import r1cs_to_bytes

    return pk_to_bytes(pk) + r1cs_to_bytes(r1cs)


def proving_file_from_bytes(data, subgroup_check: bool = True):
    """(ProvingKey, R1CS) from a proving-key file; ValueError on anything malformed."""
    from hpc_zkfl.circuit.iden3 import r1cs_from_bytes

    what = "proving key file"
    data, head, (n_public, n_wires, _, domain), flags = _read_key(data, PK_MAGIC, 4, what,
                                                                  subgroup_check)
    if any(v >= len(data) for v in (n_public, n_wires, domain)):
        raise LengthError(f"{what}: header counts do not fit the file")
    n_g1, n_g2 = _counts(n_public, n_wires, domain, flags)
    key_size = head + n_g1 * _G1U + n_g2 * _G2U
    if len(data) <= key_size:
        raise LengthError(f"{what}: no circuit after the {key_size}-byte proving key")
    return pk_from_bytes(data[:key_size], subgroup_check), r1cs_from_bytes(data[key_size:])
