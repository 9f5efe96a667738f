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
                       transcript and parameters (`hpc_zkfl.groth16.phase2`)

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
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.circuit._kernels import row_sums

from . import phase2 as _phase2
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
_COEFF_DTYPE = np.dtype([("idx", "<u4", (3,)), ("v", "<u8", (4,))])  # matrix, row, wire | value


class ZkeyError(ValueError):
    """A .zkey file that cannot be used: one line naming the file and why."""


@dataclass(frozen=True)
class Zkey:
    """What a .zkey holds: the proving key in this package's form (h_query converted, or
    None), snarkjs' raw H section, the coefficient section ((matrix, row, wire) int arrays
    and Montgomery Fr values) and the phase-2 transcript (circuit hash, contributions)."""

    path: str
    pk: ProvingKey
    h_snarkjs: np.ndarray
    coeff_index: np.ndarray      # (count, 3) uint32: matrix, row, wire
    coeff_values: np.ndarray     # (count, 4) Montgomery Fr
    transcript: _phase2.Transcript

    @property
    def contributions(self) -> tuple:
        """The contributors' names ("" for none), oldest first."""
        return tuple(c.name for c in self.transcript.contributions)

    @property
    def n_contributions(self) -> int:
        return len(self.transcript.contributions)

    def phase2_key(self) -> _phase2.Phase2Key:
        return _phase2.Phase2Key(self.pk, self.transcript, self.h_snarkjs)


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

    subgroup_check = True

    def points(self, data: bytes, group, where: str, allow_infinity: bool) -> np.ndarray:
        size = G1_BYTES if group is G1 else G2_BYTES
        arr = (np.frombuffer(data, dtype="<u8").astype(np.uint64)
               .reshape((len(data) // size, 2) + group.coord_shape))
        problem = _ptau.point_problem(arr, group, allow_infinity, self.subgroup_check)
        if problem:
            self.fail(f"{where} point {problem[0]}{problem[1]}")
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


def read_zkey(path, convert_h: bool = True, subgroup_check: bool = True) -> Zkey:
    """Read and check a snarkjs Groth16 .zkey (see the module docstring); ZkeyError on any
    malformed, truncated or foreign file, OSError when it cannot be read at all.  The key's
    n_constraints is inferred from the last public row snarkjs writes.  `convert_h`: also
    convert H into this package's h_query (a group inverse NTT: slow for large domains;
    without it pk.h_query is None, and `ZkeyProver` or `phase2` work from H itself).
    `subgroup_check=False` skips the order-r test of the G2 points (most of the reading
    time); `ZkeyProver` may, since it verifies each proof before returning it: a B2 point
    outside G2 puts B outside it too, and the proof is refused, never sent."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        rd = _Reader(path, f, os.fstat(f.fileno()).st_size)
        rd.subgroup_check = subgroup_check
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
        entries = np.frombuffer(raw, dtype=_COEFF_DTYPE, offset=4)
        index = entries["idx"].astype(np.int64)
        if count and ((index[:, 0] > 1).any() or (index[:, 1] >= n).any()
                      or (index[:, 2] >= n_vars).any()):
            rd.fail("a coefficient names a matrix other than A/B, a row outside the domain or "
                    "a wire outside the circuit")
        values = entries["v"].astype(np.uint64)
        if count and not FR.is_canonical(values).all():
            rd.fail("a coefficient is not below r")
        coeffs = to_plain(values)   # the limbs of v R, read as Montgomery: one step gives v R

        transcript = _transcript(rd, rd.section(sections, CONTRIBUTIONS), delta1)

    vk = VerifyingKey(alpha1, beta2, gamma2, delta2, ic)
    pk = ProvingKey(vk, beta1, delta1, a_q, b1_q, b2_q, _h_query(h_s) if convert_h else None,
                    l_q, _n_constraints(index, n_public, n), n)
    return Zkey(path, pk, h_s, index.astype(np.uint32), coeffs, transcript)


def _transcript(rd, data: bytes, delta1):
    """Section 10 parsed (`phase2.mpc_from_bytes`: structure, points on the curve and in
    their groups), and the last contribution's [delta]_1 the key's.  The proofs of knowledge
    are checked by `phase2.verify_contributions` (`verify_key`), not here."""
    try:
        transcript, end = _phase2.mpc_from_bytes(data)
    except _phase2.Phase2Error as exc:
        rd.fail(f"contributions (section {CONTRIBUTIONS}): {exc}")
    if end != len(data):
        rd.fail(f"contributions (section {CONTRIBUTIONS}): {len(data) - end} bytes after the "
                f"last of {len(transcript.contributions)} contributions")
    last = (transcript.contributions[-1].delta_after if transcript.contributions
            else G1.encode([G1.generator])[0])
    if not np.array_equal(last, delta1):
        rd.fail(f"contributions (section {CONTRIBUTIONS}): the last contribution's delta is "
                f"not the key's [delta]_1")
    return transcript


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



# ---- writing ----------------------------------------------------------------------------------
def coefficient_section(circuit) -> bytes:
    """Section 4 for `circuit`: a constraint system, as `snarkjs groth16 setup` writes it --
    per constraint its A then its B terms (matrix, row, wire, v R^2 mod r), then the public
    rows m + i (A, wire i, 1); the same bytes as snarkjs' when the .r1cs lists each row's terms
    sorted by wire without repeats, as circom writes them -- or a `Zkey`, whose own entries
    give back the bytes it was read from."""
    if isinstance(circuit, Zkey):
        return _encode_coefficients(circuit.coeff_index, circuit.coeff_values)
    r1cs = circuit
    parts = []
    for which, mat in ((0, r1cs.A), (1, r1cs.B)):
        rows = np.repeat(np.arange(mat.n_rows, dtype=np.int64), np.diff(mat.indptr))
        parts.append((rows, np.full(len(rows), which), np.asarray(mat.wires, np.int64),
                      np.asarray(mat.coeffs, np.uint64).reshape(-1, 4)))
    rows = np.concatenate([p[0] for p in parts])
    order = np.lexsort((np.concatenate([p[1] for p in parts]), rows))   # by row, A before B
    matrix = np.concatenate([p[1] for p in parts])[order]
    wires = np.concatenate([p[2] for p in parts])[order]
    values = np.concatenate([p[3] for p in parts])[order]
    k = r1cs.n_public + 1
    rows = np.concatenate([rows[order], r1cs.n_constraints + np.arange(k)])
    matrix = np.concatenate([matrix, np.zeros(k, np.int64)])
    wires = np.concatenate([wires, np.arange(k)])
    values = np.concatenate([values, np.broadcast_to(FR.encode([1]), (k, 4))])
    return _encode_coefficients(np.stack([matrix, rows, wires], axis=1), values)


def _encode_coefficients(index, values) -> bytes:
    """count u32 | (matrix, row, wire, value) entries, from Montgomery values (v R): snarkjs
    stores v R^2, one Montgomery product (x y / R) with the limbs of R^2, i.e. the Montgomery
    form of R."""
    values = np.ascontiguousarray(values, dtype=np.uint64)
    r_squared = np.broadcast_to(FR.encode([pow(2, 256, R)]), values.shape).copy()
    entries = np.zeros(len(index), dtype=_COEFF_DTYPE)
    entries["idx"] = index
    entries["v"] = FR.mul(values, r_squared) if len(index) else values
    return struct.pack("<I", len(index)) + entries.tobytes()


def write_zkey(path, key, circuit) -> None:
    """Write `key` (a `phase2.Phase2Key` with snarkjs' H, from `ptau.start_phase2`, a
    contribution or `Zkey.phase2_key`) as a snarkjs .zkey, its coefficient section from
    `circuit`: the constraint system, or the `Zkey` the key was read from
    (`coefficient_section`).
    Sections in the order snarkjs writes them.  Keys with eta or commitment steps
    (two-aggregator keys) have no .zkey form: ValueError."""
    pk, t = key.pk, key.transcript
    if key.h_odd is None:
        raise ValueError("this key has no snarkjs H section (it was not made from a .ptau "
                         "or a .zkey), so it cannot be written as a .zkey")
    if pk.eta_delta_g1 is not None or t.commitment_steps:
        raise ValueError("a key for committed inputs (eta, commitment steps) has no .zkey form")
    vk = pk.vk
    header = (struct.pack("<I", N8) + P.to_bytes(N8, "little") + struct.pack("<I", N8)
              + R.to_bytes(N8, "little")
              + struct.pack("<III", pk.n_wires, pk.n_public, pk.domain_size)
              + b"".join(_phase2.lem_bytes(p) for p in (vk.alpha_g1, pk.beta_g1, vk.beta_g2,
                                                    vk.gamma_g2, pk.delta_g1, vk.delta_g2)))
    sections = {
        HEADER: struct.pack("<I", 1),
        GROTH_HEADER: header,
        IC: lambda: _phase2.lem_bytes(vk.gamma_abc_g1),
        COEFFS: lambda: coefficient_section(circuit),
        A: lambda: _phase2.lem_bytes(pk.a_query),
        B1: lambda: _phase2.lem_bytes(pk.b_g1_query),
        B2: lambda: _phase2.lem_bytes(pk.b_g2_query),
        C: lambda: _phase2.lem_bytes(pk.l_query),
        H: lambda: _phase2.lem_bytes(key.h_odd),
        CONTRIBUTIONS: t.mpc_bytes(),
    }
    # snarkjs' order: `groth16 setup` (no contribution) and `zkey contribute` differ
    order = ((HEADER, GROTH_HEADER, COEFFS, IC, H, C, A, B1, B2, CONTRIBUTIONS)
             if not t.contributions else sorted(sections))
    _ptau.write_container(os.fspath(path), {k: sections[k] for k in order}, magic=MAGIC)






# ---- proving from a .zkey alone ----------------------------------------------------------------
def _matrix(index, values, which: int, n: int):
    """The A (0) or B (1) rows of the coefficient section as a CSR matrix of n rows."""
    from hpc_zkfl.circuit.r1cs import SparseMatrix

    sel = np.flatnonzero(index[:, 0] == which)
    order = sel[np.argsort(index[sel, 1], kind="stable")]
    indptr = np.zeros(n + 1, dtype=np.int64)
    indptr[1:] = np.cumsum(np.bincount(index[order, 1].astype(np.int64), minlength=n))
    return SparseMatrix(indptr, index[order, 2].astype(np.int64),
                        np.ascontiguousarray(values[order]))


class ZkeyProver:
    """Proves from a .zkey and a witness only, as `snarkjs groth16 prove` does: the rows a
    and b from the coefficient section, c = a b row by row (a satisfying witness has it),
    and the quotient's scalars as snarkjs takes them, a b - c evaluated on the odd coset
    g H of the domain 2n (g = omega_2n), paired with the H section directly: no h_query, so
    no group transform of the key.  A witness that does not satisfy the circuit gives a proof
    that does not verify; `prove` checks each proof before it returns it."""

    def __init__(self, z: Zkey, backend="auto"):
        from hpc_zkfl.backends import as_backend

        self.z, self.pk, self.n = z, z.pk, z.pk.domain_size
        self.be = as_backend(backend)
        index = z.coeff_index.astype(np.int64)
        self.a = _matrix(index, z.coeff_values, 0, self.n)
        self.b = _matrix(index, z.coeff_values, 1, self.n)
        self.shift = fr_root_of_unity(self.n.bit_length())       # omega_2n

    def prove(self, witness, rng=None):
        """(proof, public signals as ints) for an (n_wires, 4) Montgomery witness, w[0] = 1.
        ValueError for a witness of the wrong size or one whose proof does not verify."""
        from hpc_zkfl.algebra.fields import FR as _FR

        from .prover import assemble
        from .r1cs_to_qap import to_plain as _plain
        from .verifier import verify

        pk, be = self.pk, self.be
        witness = np.ascontiguousarray(witness, dtype=np.uint64)
        if witness.shape != (pk.n_wires, 4):
            raise ValueError(f"the witness has {witness.shape[0]} values; the key's circuit "
                             f"has {pk.n_wires} wires")
        a, b = self.a.evaluate(witness), self.b.evaluate(witness)
        c = be.fr_mul(a, b)
        on_coset = [be.ntt(be.ntt(v, inverse=True), coset_shift=self.shift) for v in (a, b, c)]
        h = be.fr_sub(be.fr_mul(on_coset[0], on_coset[1]), on_coset[2])
        proof = assemble(pk, _plain(witness), self.z.h_snarkjs, _plain(h), be, rng)
        public = _FR.decode(witness[1:1 + pk.n_public])
        if not verify(pk.vk, public, proof):
            raise ValueError("the witness does not satisfy the key's circuit: its proof does "
                             "not verify")
        return proof, public


# ---- verifying a key against its circuit and phase 1 --------------------------------------------
def verify_key(z: Zkey, r1cs, ptau, rng=None) -> None:
    """`snarkjs zkey verify` semantics: ZkeyError unless `z` is the initial key of `r1cs` and
    the powers-of-tau file `ptau` (path or PtauFile) after exactly the contributions its
    transcript records.  Checked: every contribution's transcript, proof of knowledge and
    delta step (`phase2.verify_contributions`, naming the first that fails); the circuit hash,
    alpha, beta, gamma, IC, the coefficients, A, B1 and B2 equal to the initial key's; and L
    and H the initial ones over the final delta, each by one random linear combination
    (128-bit coefficients) and one pairing equation."""
    import secrets as _secrets

    from hpc_zkfl.backends import get_backend

    key = _ptau.start_phase2(r1cs, ptau)
    init = key.pk
    pk = z.pk

    def bad(why):
        raise ZkeyError(f"{z.path}: {why}")

    try:
        _phase2.verify_contributions(z.transcript, pk.delta_g1, pk.vk.delta_g2)
    except _phase2.Phase2Error as exc:
        bad(str(exc))
    if z.transcript.circuit_hash != key.transcript.circuit_hash:
        bad("its circuit hash is not that of this circuit and powers of tau")
    if (pk.n_wires, pk.n_public, pk.domain_size) != (init.n_wires, init.n_public,
                                                     init.domain_size):
        bad(f"made for {pk.n_wires} wires, {pk.n_public} public signals, domain "
            f"{pk.domain_size}; the circuit has {init.n_wires}, {init.n_public}, "
            f"{init.domain_size}")
    for what, ours, want in (("alpha", pk.vk.alpha_g1, init.vk.alpha_g1),
                             ("beta_1", pk.beta_g1, init.beta_g1),
                             ("beta_2", pk.vk.beta_g2, init.vk.beta_g2),
                             ("gamma_2", pk.vk.gamma_g2, init.vk.gamma_g2),
                             ("IC", pk.vk.gamma_abc_g1, init.vk.gamma_abc_g1),
                             ("A", pk.a_query, init.a_query),
                             ("B1", pk.b_g1_query, init.b_g1_query),
                             ("B2", pk.b_g2_query, init.b_g2_query)):
        if not np.array_equal(ours, want):
            bad(f"its {what} is not the one this circuit and powers of tau give")
    if not _same_coefficients(z, r1cs):
        bad("its A/B coefficients are not those of this circuit")
    rnd = rng if rng is not None else _secrets.SystemRandom()
    msm = get_backend("cpu").msm_g1
    for what, ours, want in (("L", pk.l_query, init.l_query), ("H", z.h_snarkjs, key.h_odd)):
        if not len(ours):
            continue
        rho = ints_to_limbs([rnd.getrandbits(128) for _ in range(len(ours))])
        if not _phase2.same_ratio(msm(want, rho), msm(ours, rho), pk.vk.delta_g2,
                                  init.vk.delta_g2):
            bad(f"its {what} section is not the initial one over the final delta")


__all__ = ["Zkey", "ZkeyError", "ZkeyProver", "coefficient_section", "load_zkey", "read_zkey",
           "verify_key", "write_zkey"]
