"""A strict reader of snarkjs Groth16 ``.zkey`` files (``snarkjs groth16 setup`` and
``snarkjs zkey contribute`` / ``beacon``) into this package's `ProvingKey`.

The container is iden3's binary section container ("zkey" | version u32 (1) | count u32,
then id u32 | size u64 | body per section), the framing `hpc_zkfl.groth16.ptau` reads.
Points are affine, both coordinates in Montgomery form (the bytes of our limb arrays), G2
c0 then c1, infinity all zeros.  Sections, for a circuit of nVars wires, nPublic public
signals and domain size n:

    1  header          protocol u32 (1 = Groth16)
    2  Groth16 header  n8q u32 | q | n8r u32 | r | nVars u32 | nPublic u32 | n u32 |
                       [alpha]_1 [beta]_1 [beta]_2 [gamma]_2 [delta]_1 [delta]_2
    3  IC              nPublic + 1 G1 (our vk.gamma_abc_g1)
    4  coefficients    count u32, then per entry: matrix u32 (0 = A, 1 = B), row u32,
                       wire u32, value (n8r bytes): the plain integer v R^2 mod r, i.e. the
                       Montgomery limbs of v R -- one from-Montgomery step gives ours.  Only
                       A and B (snarkjs' prover gets C = A B per row), plus the public rows
                       m + i (A = w_i) of the QAP extension this package also uses.
    5  A               nVars G1 ([a_i(tau)]_1: our a_query)
    6  B1              nVars G1
    7  B2              nVars G2
    8  C               nVars - nPublic - 1 G1 (our l_query)
    9  H               n G1: [L'_(2i+1)(tau) / delta]_1, the odd-indexed Lagrange basis of the
                       domain 2n (from the powers padded with a zero).  snarkjs' prover
                       evaluates a b - c on the odd coset of the domain 2n and uses those
                       values as scalars directly (no division by Z).
    10 contributions   circuit hash (64 bytes) | count u32 | per contribution its points,
                       transcript and parameters (not parsed here beyond the first 68 bytes)

Our prover wants h_query[j] = [tau^j Z(tau) / delta]_1 (j < n - 1) with h in coefficient
form.  For p = X^j Z (degree < 2n - 1, zero on the even points of the 2n domain) and
g = omega_2n: p(g^(2i+1)) = -2 g^j omega_n^(ij), so
    h_query[j] = -2 g^j sum_i omega_n^(ij) H_i = (-2 n g^j) * INTT(H)[(n - j) mod n],
one group inverse NTT of H and n - 1 scalar multiplications (`_h_query`).

Every size is checked against the file (and the header's counts) before anything is
allocated; any failure is a `ZkeyError` (a ValueError) with one line naming the file.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import numpy as np

from hpc_zkfl.algebra.constants import FR_TWO_ADICITY, P, R, fr_root_of_unity
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fields import FQ, FR
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.subgroup import g2_in_subgroup
from hpc_zkfl.circuit._kernels import row_sums

from . import ptau as _ptau
from .data_structures import ProvingKey, VerifyingKey
from .r1cs_to_qap import domain_size, to_plain

MAGIC = b"zkey"
VERSION = 1
N8 = 32
G1_BYTES, G2_BYTES = 2 * N8, 4 * N8
MAX_LOG_DOMAIN = FR_TWO_ADICITY - 1     # H needs the domain 2n
HEADER, GROTH_HEADER, IC, COEFFS, A, B1, B2, C, H, CONTRIBUTIONS = range(1, 11)
SECTION_NAMES = {HEADER: "header", GROTH_HEADER: "Groth16 header", IC: "IC",
                 COEFFS: "coefficients", A: "A", B1: "B1", B2: "B2", C: "C", H: "H",
                 CONTRIBUTIONS: "contributions"}
GROTH_HEADER_BYTES = 4 + N8 + 4 + N8 + 12 + 3 * G1_BYTES + 3 * G2_BYTES
COEFF_BYTES = 12 + N8


class ZkeyError(ValueError):
    """A .zkey file that cannot be used: one line naming the file and why."""


@dataclass(frozen=True)
class Zkey:
    """What a .zkey holds: the proving key in this package's form (h_query converted),
    snarkjs' raw H section, the coefficient section ((matrix, row, wire) int arrays and
    Montgomery Fr values) and the MPC contributions recorded (their names)."""

    path: str
    pk: ProvingKey
    h_snarkjs: np.ndarray
    coeff_index: np.ndarray      # (count, 3) uint32: matrix, row, wire
    coeff_values: np.ndarray     # (count, 4) Montgomery Fr
    contributions: tuple         # the contributors' names ("" for none), oldest first
    circuit_hash: bytes

    @property
    def n_contributions(self) -> int:
        return len(self.contributions)


class _Reader(_ptau._Reader):
    """ptau's container reader (its byte reads and truncation messages), with zkey's magic,
    section ids and ZkeyError."""

    def fail(self, why: str):
        raise ZkeyError(f"{self.path}: {why}")

    KIND, MAGIC, VERSION, SECTION_NAMES = ".zkey", MAGIC, VERSION, SECTION_NAMES

    def table(self) -> dict:
        sections = self.container()
        for kind in SECTION_NAMES:
            if kind not in sections:
                self.fail(f"missing section {kind} ({SECTION_NAMES[kind]})")
        return sections

    def section(self, sections, kind, size=None) -> bytes:
        sec = sections[kind]
        if size is not None and sec.size != size:
            self.fail(f"section {kind} ({SECTION_NAMES[kind]}) has {sec.size} bytes, expected "
                      f"{size}")
        return self._bytes(sec.offset, sec.size, SECTION_NAMES[kind])

    def points(self, data: bytes, group, where: str, allow_infinity: bool) -> np.ndarray:
        size = G1_BYTES if group is G1 else G2_BYTES
        count = len(data) // size
        arr = (np.frombuffer(data, dtype="<u8").astype(np.uint64)
               .reshape((count, 2) + group.coord_shape))
        if not count:
            return arr
        bad = np.flatnonzero(~FQ.is_canonical(arr.reshape(-1, 4)).reshape(count, -1).all(axis=1))
        if bad.size:
            self.fail(f"{where} point {int(bad[0])}: a coordinate is not below q")
        finite = arr.reshape(count, -1).any(axis=1)
        if not allow_infinity and not finite.all():
            self.fail(f"{where} point {int(np.flatnonzero(~finite)[0])} is the point at infinity")
        bad = np.flatnonzero(~(group.on_curve(arr) | ~finite))
        if bad.size:
            self.fail(f"{where} point {int(bad[0])} is not on the curve")
        if group is G2:     # G1 of BN254 has cofactor 1: on the curve is in the subgroup
            bad = np.flatnonzero(~(g2_in_subgroup(arr) | ~finite))
            if bad.size:
                self.fail(f"{where} point {int(bad[0])} is not in the order-r subgroup")
        return arr


def _h_query(h_snarkjs: np.ndarray) -> np.ndarray:
    """snarkjs' H (n points [L'_(2i+1)(tau)/delta]_1) -> our h_query (n - 1 points
    [tau^j Z(tau)/delta]_1); see the module docstring."""
    n = h_snarkjs.shape[0]
    log_n = n.bit_length() - 1
    inv = _ptau.group_intt(G1, h_snarkjs)
    g = fr_root_of_unity(log_n + 1)
    j = np.arange(n - 1)
    scalars = [(-2 * n * pow(g, int(k), R)) % R for k in j]
    return G1.scalar_mul(np.ascontiguousarray(inv[(n - j) % n]), ints_to_limbs(scalars))


def read_zkey(path) -> Zkey:
    """Read and check a snarkjs Groth16 .zkey (see the module docstring); ZkeyError on any
    malformed, truncated or foreign file, OSError when it cannot be read at all.  The key's
    n_constraints is inferred from the last public row snarkjs writes; to prove, use
    `load_zkey` with the circuit (the zkey has no C matrix, so it cannot stand in for it)."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        rd = _Reader(path, f, os.fstat(f.fileno()).st_size)
        sections = rd.table()
        (protocol,) = struct.unpack("<I", rd.section(sections, HEADER, 4))
        if protocol != 1:
            rd.fail(f"protocol {protocol} is not Groth16 (1); PLONK/FFLONK keys are not supported")
        hdr = rd.section(sections, GROTH_HEADER, GROTH_HEADER_BYTES)
        n8q, q = struct.unpack_from("<I", hdr)[0], int.from_bytes(hdr[4:4 + N8], "little")
        n8r, r = (struct.unpack_from("<I", hdr, 4 + N8)[0],
                  int.from_bytes(hdr[8 + N8:8 + 2 * N8], "little"))
        if (n8q, q, n8r, r) != (N8, P, N8, R):
            rd.fail("wrong curve: the Groth16 header's primes are not BN254's q and r")
        n_vars, n_public, n = struct.unpack_from("<III", hdr, 8 + 2 * N8)
        log_n = n.bit_length() - 1
        if n < 2 or n != 1 << log_n or log_n > MAX_LOG_DOMAIN:
            rd.fail(f"domain size {n} is not a power of two in 2..2^{MAX_LOG_DOMAIN}")
        if not 1 + n_public <= n_vars or n_public + 1 > n:
            rd.fail(f"inconsistent header: {n_vars} wires, {n_public} public signals, "
                    f"domain {n}")
        pos = 20 + 2 * N8
        fixed = []
        for group in (G1, G1, G2, G2, G1, G2):
            size = G1_BYTES if group is G1 else G2_BYTES
            fixed.append(rd.points(hdr[pos:pos + size], group, "Groth16 header", False)[0])
            pos += size
        alpha1, beta1, beta2, gamma2, delta1, delta2 = fixed

        def pts(kind, group, count, allow_infinity=True):
            size = (G1_BYTES if group is G1 else G2_BYTES) * count
            return rd.points(rd.section(sections, kind, size), group,
                             f"{SECTION_NAMES[kind]} (section {kind})", allow_infinity)

        ic = pts(IC, G1, n_public + 1)
        a_q, b1_q, b2_q = pts(A, G1, n_vars), pts(B1, G1, n_vars), pts(B2, G2, n_vars)
        l_q = pts(C, G1, n_vars - n_public - 1)
        h_s = pts(H, G1, n, allow_infinity=False)

        sec = sections[COEFFS]
        if sec.size < 4 or (sec.size - 4) % COEFF_BYTES:
            rd.fail(f"coefficients section of {sec.size} bytes is not 4 + k * {COEFF_BYTES}")
        raw = rd.section(sections, COEFFS)
        (count,) = struct.unpack_from("<I", raw)
        if 4 + count * COEFF_BYTES != len(raw):
            rd.fail(f"coefficients section declares {count} entries in {len(raw)} bytes")
        entries = np.frombuffer(raw, dtype=np.dtype([("idx", "<u4", (3,)), ("v", "<u8", (4,))]),
                                offset=4)
        index = entries["idx"].astype(np.int64)
        if count and ((index[:, 0] > 1).any() or (index[:, 1] >= n).any()
                      or (index[:, 2] >= n_vars).any()):
            rd.fail("a coefficient names a matrix other than A/B, a row outside the domain or "
                    "a wire outside the circuit")
        values = entries["v"].astype(np.uint64)
        if count and not FR.is_canonical(values).all():
            rd.fail("a coefficient is not below r")
        coeffs = to_plain(values)   # the limbs of v R, read as Montgomery: one step gives v R

        contrib = rd.section(sections, CONTRIBUTIONS)
        names = _contributions(rd, contrib, delta1)

    vk = VerifyingKey(alpha1, beta2, gamma2, delta2, ic)
    pk = ProvingKey(vk, beta1, delta1, a_q, b1_q, b2_q, _h_query(h_s), l_q,
                    _n_constraints(index, n_public, n), n)
    return Zkey(path, pk, h_s, index.astype(np.uint32), coeffs, names, bytes(contrib[:64]))


# One phase-2 contribution: [delta]_1 after it, the proof of knowledge [s]_1, [s x]_1, [s p x]_2,
# a 64-byte transcript hash, type u32 (0 contribution, 1 beacon); then u32 parameter length.
_CONTRIBUTION_FIXED = 3 * G1_BYTES + G2_BYTES + 64 + 4


def _contributions(rd, data: bytes, delta1) -> tuple:
    """The names in section 10; checks its structure and that the last contribution's
    [delta]_1 is the key's (the generator when there is none).  The proofs of knowledge
    are not verified here (`snarkjs zkey verify` does that)."""
    def bad(why):
        rd.fail(f"contributions (section {CONTRIBUTIONS}): {why}")

    if len(data) < 68:
        bad(f"{len(data)} bytes, shorter than the 64-byte circuit hash and the count")
    (count,) = struct.unpack_from("<I", data, 64)
    if count * (_CONTRIBUTION_FIXED + 4) > len(data) - 68:
        bad(f"{count} contributions cannot fit in {len(data)} bytes")
    names, pos, last_delta = [], 68, G1.encode([G1.generator])[0]
    for i in range(count):
        if pos + _CONTRIBUTION_FIXED + 4 > len(data):
            bad(f"contribution {i + 1} is truncated")
        last_delta = rd.points(data[pos:pos + G1_BYTES], G1, f"contribution {i + 1}'s delta",
                               False)[0]
        (length,) = struct.unpack_from("<I", data, pos + _CONTRIBUTION_FIXED)
        pos += _CONTRIBUTION_FIXED + 4
        if pos + length > len(data):
            bad(f"contribution {i + 1}'s parameters run past the section")
        params, pos = data[pos:pos + length], pos + length
        name, j = "", 0
        while j < len(params):
            ptype = params[j]
            if ptype == 2:          # beacon's iterations exponent: one byte
                j += 2
            elif ptype in (1, 3) and j + 1 < len(params):   # name / beacon hash: length, bytes
                end = j + 2 + params[j + 1]
                if ptype == 1:
                    name = params[j + 2:end].decode("utf-8", "replace")
                j = end
            else:
                bad(f"contribution {i + 1} has an unknown or truncated parameter {ptype}")
            if j > len(params):
                bad(f"contribution {i + 1}'s parameter {ptype} is truncated")
        names.append(name)
    if pos != len(data):
        bad(f"{len(data) - pos} bytes after the last of {count} contributions")
    if not np.array_equal(last_delta, delta1):
        bad("the last contribution's delta is not the key's [delta]_1")
    return tuple(names)


def _n_constraints(index, n_public, n) -> int:
    """m: the public rows m + i (A, wire i) are the last rows snarkjs writes."""
    if not len(index):
        return 0
    return int(index[-1, 1]) - n_public


def load_zkey(zkey_path, r1cs) -> ProvingKey:
    """The proving key of `zkey_path` for the constraint system `r1cs` (e.g.
    `hpc_zkfl.circuit.iden3.load_r1cs` of the .r1cs the key was made from).  ZkeyError
    unless the key's shape and its A and B coefficients are exactly the circuit's."""
    z = read_zkey(zkey_path)
    pk = z.pk
    if (pk.n_wires != r1cs.n_wires or pk.n_public != r1cs.n_public
            or pk.domain_size != domain_size(r1cs)):
        raise ZkeyError(f"{z.path}: made for {pk.n_wires} wires, {pk.n_public} public signals, "
                        f"domain {pk.domain_size}; the circuit has {r1cs.n_wires}, "
                        f"{r1cs.n_public}, {domain_size(r1cs)}")
    if not _same_coefficients(z, r1cs):
        raise ZkeyError(f"{z.path}: its A/B coefficients are not those of this circuit")
    return ProvingKey(pk.vk, pk.beta_g1, pk.delta_g1, pk.a_query, pk.b_g1_query, pk.b_g2_query,
                      pk.h_query, pk.l_query, r1cs.n_constraints, pk.domain_size)


def _same_coefficients(z: Zkey, r1cs) -> bool:
    want = []
    for which, mat in ((0, r1cs.A), (1, r1cs.B)):
        rows = np.repeat(np.arange(mat.n_rows, dtype=np.int64), np.diff(mat.indptr))
        want.append((np.full(len(rows), which), rows, np.asarray(mat.wires, dtype=np.int64),
                     np.asarray(mat.coeffs, dtype=np.uint64).reshape(-1, 4)))
    k = r1cs.n_public + 1
    want.append((np.zeros(k, np.int64), r1cs.n_constraints + np.arange(k), np.arange(k),
                 np.broadcast_to(FR.encode([1]), (k, 4))))
    w_idx, w_val = _merged(np.concatenate([np.stack(t[:3], axis=1) for t in want]),
                           np.concatenate([t[3] for t in want]))
    g_idx, g_val = _merged(z.coeff_index.astype(np.int64), z.coeff_values)
    return np.array_equal(w_idx, g_idx) and np.array_equal(w_val, g_val)


def _merged(index, values):
    """(matrix, row, wire) entries sorted, repeated ones summed mod r, zeros dropped: the
    same linear combinations however a .r1cs writer split or ordered them."""
    order = np.lexsort((index[:, 2], index[:, 1], index[:, 0]))
    index, values = index[order], np.ascontiguousarray(values[order], dtype=np.uint64)
    first = np.ones(len(index), dtype=bool)
    first[1:] = (index[1:] != index[:-1]).any(axis=1)
    starts = np.flatnonzero(first)
    if starts.size < len(index):
        ptr = np.append(starts, len(index)).astype(np.int64)
        sums = np.zeros((starts.size, 4), dtype=np.uint64)
        row_sums(ptr, values, sums, FR.m)
        index, values = index[starts], sums
    keep = values.any(axis=1)
    return index[keep], values[keep]

__all__ = ["Zkey", "ZkeyError", "load_zkey", "read_zkey"]
