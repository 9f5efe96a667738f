"""Phase 1 of a Groth16 setup from a powers-of-tau ceremony: a strict reader of snarkjs
``.ptau`` files (the format of the Hermez / Perpetual Powers of Tau ceremonies and of
``snarkjs powersoftau``), and `setup_from_ptau`, which derives a circuit's proving key from
such a file instead of drawing tau, alpha and beta locally.

The file (iden3's binary section container) as snarkjs writes it:

    "ptau" | version u32 (1) | number of sections u32
    then each section: id u32 | size u64 | size bytes

All integers little-endian.  Points are affine with both coordinates in Montgomery form
(x R mod q, R = 2^256: the bytes of this package's Montgomery limb arrays, so reading is a
view of the bytes), G2 coordinates c0 then c1, the point at infinity all zeros.
With N = 2^power:

    1  header          n8 u32 (32) | q (n8 bytes, BN254's base field prime) | power u32 |
                       ceremony power u32 (the power the ceremony ran at; >= power)
    2  tauG1           [tau^i]_1, i < 2N - 1
    3  tauG2           [tau^i]_2, i < N
    4  alphaTauG1      [alpha tau^i]_1, i < N
    5  betaTauG1       [beta tau^i]_1, i < N
    6  betaG2          [beta]_2
    7  contributions   count u32, then per contribution its points, public key, hashes,
                       type and parameters (parsed for their structure only)
    12..15             written by `snarkjs powersoftau prepare phase2`: sections 2..5 in the
                       Lagrange basis L_j(tau) of every domain 2^k, k = 0..power, one after
                       another (level k starts at point 2^k - 1), each 2N - 1 points;
                       section 12 may carry one more level, 2N points for the domain 2N
                       (`prepare phase2` writes it, from the powers padded with a zero;
                       `powersoftau truncate` copies the bigger file's level, and left it
                       out before snarkjs 0.7): the reader accepts both sizes and never
                       reads that level.

`read_ptau` checks the container before it allocates anything that a size field names: the
magic, the version, a bounded section count, every section inside the file and the file
ending exactly where the last one does, no unknown or repeated section, the header (BN254's
q, 1 <= power <= ceremony power <= 28), every section's size against the power, and the
contributions' structure.  It then reads the first points (generators, [tau], [alpha],
[beta]) and checks e([tau]_1, [1]_2) = e([1]_1, [tau]_2) and e([beta]_1, [1]_2) =
e([1]_1, [beta]_2).  Points are read only where a caller asks for them, and each is checked
as it is read: coordinates below q, on the curve, G2 points in the order-r subgroup, and no
point at infinity outside the Lagrange sections.  Any failure is a `PtauError` (a ValueError)
with one line that names the file and what is wrong.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import numpy as np
from numba import prange

from hpc_zkfl.algebra import montgomery as mont
from hpc_zkfl.algebra._jit import inline, jit
from hpc_zkfl.algebra.constants import FR_TWO_ADICITY, P, R, fr_root_of_unity
from hpc_zkfl.algebra.curve import G1, G2, affine_is_infinity, jac_add, jac_infinity, jac_neg
from hpc_zkfl.algebra.curve import jac_scalar_mul
from hpc_zkfl.algebra.field_ops import f_load, f_neg, f_one_like
from hpc_zkfl.algebra.fields import FQ, FR_M
from hpc_zkfl.algebra.limbs import int_to_tuple, ints_to_limbs
from hpc_zkfl.algebra.ntt import powers
from hpc_zkfl.algebra.pairing import _load_t, _store_t, pairing_check_arrays
from hpc_zkfl.algebra.subgroup import g2_in_subgroup

from .data_structures import ProvingKey, VerifyingKey
from .key_check import KeyCheckError, check_proving_key
from .r1cs_to_qap import domain_size, to_plain

# ---- the layout (shared with the test writer `testing.write_insecure_ptau`) -----------------
MAGIC = b"ptau"
VERSION = 1
MAX_POWER = FR_TWO_ADICITY          # 28: Fr has no radix-2 domain larger than 2^28
N8 = 32                             # bytes per Fq element
G1_BYTES, G2_BYTES = 2 * N8, 4 * N8
HEADER_BYTES = 4 + N8 + 4 + 4
MAX_SECTIONS = 32                   # snarkjs writes 7 (11 once prepared)
MAX_CONTRIBUTIONS_BYTES = 1 << 26   # 64 MiB: tens of thousands of contributions

HEADER, TAU_G1, TAU_G2, ALPHA_TAU_G1, BETA_TAU_G1, BETA_G2, CONTRIBUTIONS = range(1, 8)
LAGRANGE_G1, LAGRANGE_G2, ALPHA_LAGRANGE_G1, BETA_LAGRANGE_G1 = range(12, 16)
REQUIRED_SECTIONS = (HEADER, TAU_G1, TAU_G2, ALPHA_TAU_G1, BETA_TAU_G1, BETA_G2, CONTRIBUTIONS)
LAGRANGE_SECTIONS = (LAGRANGE_G1, LAGRANGE_G2, ALPHA_LAGRANGE_G1, BETA_LAGRANGE_G1)
SECTION_NAMES = {
    HEADER: "header", TAU_G1: "tauG1", TAU_G2: "tauG2", ALPHA_TAU_G1: "alphaTauG1",
    BETA_TAU_G1: "betaTauG1", BETA_G2: "betaG2", CONTRIBUTIONS: "contributions",
    LAGRANGE_G1: "Lagrange tauG1", LAGRANGE_G2: "Lagrange tauG2",
    ALPHA_LAGRANGE_G1: "Lagrange alphaTauG1", BETA_LAGRANGE_G1: "Lagrange betaTauG1",
}
_GROUP = {TAU_G1: G1, TAU_G2: G2, ALPHA_TAU_G1: G1, BETA_TAU_G1: G1, BETA_G2: G2,
          LAGRANGE_G1: G1, LAGRANGE_G2: G2, ALPHA_LAGRANGE_G1: G1, BETA_LAGRANGE_G1: G1}
_BLS12_381_Q = int("1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ff"
                   "ffb9feffffffffaaab", 16)
# One contribution: tauG1, tauG2, alphaG1, betaG1, betaG2, the public key (6 G1, 3 G2),
# partial hash (216), next challenge (64), type u32; then a u32 parameter length.
_CONTRIBUTION_FIXED = 3 * G1_BYTES + 2 * G2_BYTES + 6 * G1_BYTES + 3 * G2_BYTES + 216 + 64 + 4


class PtauError(ValueError):
    """A .ptau file that cannot be used: the message is one line naming the file and why."""


def point_bytes(group) -> int:
    return G1_BYTES if group is G1 else G2_BYTES


def point_problem(arr, group, allow_infinity: bool = False, subgroup_check: bool = True):
    """(index, why) of the first point of an affine Montgomery array that is not a valid
    point of `group`, or None; `why` continues a phrase naming the point (": a coordinate
    ..." or " is ...").  Checked: coordinates below q, infinity (unless allowed), the curve
    equation and, for G2 with subgroup_check, the order-r subgroup (G1 has cofactor 1)."""
    count = arr.shape[0]
    if not count:
        return None
    bad = np.flatnonzero(~FQ.is_canonical(arr.reshape(-1, 4)).reshape(count, -1).all(axis=1))
    if bad.size:
        return int(bad[0]), ": a coordinate (Montgomery form) is not below q"
    finite = arr.reshape(count, -1).any(axis=1)
    if not allow_infinity and not finite.all():
        return int(np.flatnonzero(~finite)[0]), " is the point at infinity"
    bad = np.flatnonzero(~(group.on_curve(arr) | ~finite))
    if bad.size:
        return int(bad[0]), " is not on the curve"
    if group is G2 and subgroup_check:
        bad = np.flatnonzero(~(g2_in_subgroup(arr) | ~finite))
        if bad.size:
            return int(bad[0]), " is not in the order-r subgroup"
    return None


def section_points(section: int, power: int) -> tuple:
    """The point counts that `section` may hold in a file of this power (section 12: with or
    without the level of the domain 2N, see the module docstring)."""
    n = 1 << power
    if section == TAU_G1:
        return (2 * n - 1,)
    if section in (TAU_G2, ALPHA_TAU_G1, BETA_TAU_G1):
        return (n,)
    if section == BETA_G2:
        return (1,)
    if section == LAGRANGE_G1:
        return (2 * n - 1, 4 * n - 1)
    if section in LAGRANGE_SECTIONS:
        return (2 * n - 1,)
    raise ValueError(f"section {section} holds no points")


def lagrange_offset(log_n: int) -> int:
    """Index of the first point of domain 2^log_n in the Lagrange sections 12..15."""
    return (1 << log_n) - 1


def header_section(power: int, ceremony_power: int = None) -> bytes:
    """The body of section 1 for a BN254 file."""
    return (struct.pack("<I", N8) + P.to_bytes(N8, "little")
            + struct.pack("<II", power, power if ceremony_power is None else ceremony_power))


def write_container(path, sections, magic: bytes = MAGIC) -> None:
    """Write a .ptau (or, with magic b"zkey", a .zkey) container: `sections` is an ordered
    {id: bytes or a callable giving bytes} (called one at a time, so only one section's data
    is in memory); written beside `path` and renamed into place."""
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "wb") as out:
        out.write(magic + struct.pack("<II", VERSION, len(sections)))
        for kind, body in sections.items():
            data = body() if callable(body) else body
            out.write(struct.pack("<IQ", kind, len(data)))
            out.write(data)
    os.replace(tmp, path)


# ---- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Section:
    offset: int     # of the section's data in the file
    size: int


@dataclass(frozen=True)
class Contribution:
    name: str       # "" when the contributor gave none
    kind: int       # 0: a contribution, 1: a random beacon


@dataclass(frozen=True)
class PtauFile:
    """A checked .ptau file (see the module docstring).  The point methods read and check
    the requested points; they never read more than asked."""

    path: str
    file_size: int
    power: int
    ceremony_power: int
    sections: dict
    contributions: tuple

    @property
    def prepared(self) -> bool:
        """Whether the Lagrange sections 12..15 are present (`prepare phase2` ran)."""
        return LAGRANGE_G1 in self.sections

    def fail(self, why: str):
        raise PtauError(f"{self.path}: {why}")

    def points(self, section: int, start: int, count: int, allow_infinity: bool = False):
        """Points start .. start + count - 1 of a point section, checked, as a Montgomery
        affine array (n, 2, 4) or (n, 2, 2, 4)."""
        group = _GROUP[section]
        size = point_bytes(group)
        sec = self.sections.get(section)
        if sec is None:
            self.fail(f"no section {section} ({SECTION_NAMES[section]})")
        if start < 0 or count < 0 or (start + count) * size > sec.size:
            raise ValueError(f"points {start}..{start + count - 1} lie outside section {section}")
        with open(self.path, "rb") as f:
            if os.fstat(f.fileno()).st_size != self.file_size:
                self.fail("the file changed size since it was read")
            f.seek(sec.offset + start * size)
            data = f.read(count * size)
        if len(data) != count * size:
            self.fail(f"truncated while reading {SECTION_NAMES[section]}")
        arr = (np.frombuffer(data, dtype="<u8").astype(np.uint64)
               .reshape((count, 2) + group.coord_shape))
        self._check_points(arr, group, section, start, allow_infinity)
        return arr

    def _check_points(self, arr, group, section, start, allow_infinity) -> None:
        problem = point_problem(arr, group, allow_infinity)
        if problem:
            self.fail(f"{SECTION_NAMES[section]} (section {section}) point "
                      f"{start + problem[0]}{problem[1]}")

    # named accessors
    def tau_g1(self, count: int) -> np.ndarray:
        return self.points(TAU_G1, 0, count)

    def tau_g2(self, count: int) -> np.ndarray:
        return self.points(TAU_G2, 0, count)

    def alpha_tau_g1(self, count: int) -> np.ndarray:
        return self.points(ALPHA_TAU_G1, 0, count)

    def beta_tau_g1(self, count: int) -> np.ndarray:
        return self.points(BETA_TAU_G1, 0, count)

    def beta_g2(self) -> np.ndarray:
        return self.points(BETA_G2, 0, 1)[0]

    def lagrange(self, section: int, log_n: int) -> np.ndarray:
        """[L_j(tau)]_1 / _2, [alpha L_j(tau)]_1 or [beta L_j(tau)]_1 (section 12..15), j < 2^log_n,
        over the domain of size 2^log_n (log_n <= power)."""
        if section not in LAGRANGE_SECTIONS:
            raise ValueError(f"section {section} is not a Lagrange section")
        if not 0 <= log_n <= self.power:
            raise ValueError(f"domain 2^{log_n} is not in this file of power {self.power}")
        return self.points(section, lagrange_offset(log_n), 1 << log_n, allow_infinity=True)

    def lagrange_top(self, log_n: int):
        """[L_j(tau)]_1 over the domain 2^log_n from section 12 (log_n may be power + 1 where
        the file has that level, from the powers padded with a zero), or None where the file
        lacks the level."""
        if log_n <= self.power:
            return self.lagrange(LAGRANGE_G1, log_n)
        if log_n != self.power + 1 or self.sections[LAGRANGE_G1].size < (
                lagrange_offset(log_n) + (1 << log_n)) * G1_BYTES:
            return None
        return self.points(LAGRANGE_G1, lagrange_offset(log_n), 1 << log_n,
                           allow_infinity=True)

    def describe(self) -> str:
        """One line: power, ceremony power, contributions, prepared or not."""
        names = [c.name or "(unnamed)" for c in self.contributions]
        shown = ", ".join(names[-3:]) + (", ..." if len(names) > 3 else "")
        count = f"{len(names)} contribution{'s' if len(names) != 1 else ''}"
        return (f"power {self.power}, ceremony power {self.ceremony_power}, {count}"
                f"{' (last: ' + shown + ')' if names else ''}, "
                f"{'prepared for phase 2' if self.prepared else 'not prepared for phase 2'}")


def read_ptau(path) -> PtauFile:
    """Open and check a .ptau file (see the module docstring); raises PtauError, or OSError
    when the file cannot be read at all."""
    path = os.fspath(path)
    with open(path, "rb") as f:
        file_size = os.fstat(f.fileno()).st_size
        return _Reader(path, f, file_size).read()


class _Reader:
    """snarkjs's binary container (magic, version, a table of sections), read strictly; the
    zkey reader (`hpc_zkfl.groth16.zkey`) is this class with its own magic and sections."""

    KIND, MAGIC, VERSION, SECTION_NAMES = ".ptau", MAGIC, VERSION, SECTION_NAMES

    def __init__(self, path, f, file_size):
        self.path, self.f, self.file_size = path, f, file_size

    def fail(self, why: str):
        raise PtauError(f"{self.path}: {why}")

    def _bytes(self, offset: int, size: int, what: str) -> bytes:
        self.f.seek(offset)
        data = self.f.read(size)
        if len(data) != size:
            self.fail(f"truncated: {what} at byte {offset} needs {size} bytes, the file has "
                      f"{max(0, self.file_size - offset)}")
        return data

    def container(self) -> dict:
        """{section id: Section} after checking the file header and the whole table."""
        if self.file_size < 12:
            self.fail(f"truncated or not a {self.KIND} file: {self.file_size} bytes, less than "
                      f"the 12-byte file header")
        magic, version, n_sections = struct.unpack("<4sII", self._bytes(0, 12, "file header"))
        if magic != self.MAGIC:
            self.fail(f"not a {self.KIND} file: magic {magic!r}, expected {self.MAGIC!r}")
        if version != self.VERSION:
            self.fail(f"unsupported {self.KIND} version {version} (snarkjs writes "
                      f"{self.VERSION})")
        if not 1 <= n_sections <= MAX_SECTIONS:
            self.fail(f"{n_sections} sections in the table, expected 1..{MAX_SECTIONS}")
        return self._table(n_sections)

    def read(self) -> PtauFile:
        sections = self.container()
        for kind in REQUIRED_SECTIONS:
            if kind not in sections:
                self.fail(f"missing section {kind} ({SECTION_NAMES[kind]})")
        lagrange = [kind for kind in LAGRANGE_SECTIONS if kind in sections]
        if lagrange and len(lagrange) != len(LAGRANGE_SECTIONS):
            missing = [k for k in LAGRANGE_SECTIONS if k not in sections]
            self.fail(f"incompletely prepared: has Lagrange section(s) {lagrange}, lacks {missing}")
        power, ceremony_power = self._header(sections[HEADER])
        for kind in (*REQUIRED_SECTIONS[1:6], *lagrange):
            size = point_bytes(_GROUP[kind])
            allowed = [count * size for count in section_points(kind, power)]
            if sections[kind].size not in allowed:
                want = " or ".join(str(a) for a in allowed)
                self.fail(f"section {kind} ({SECTION_NAMES[kind]}) has {sections[kind].size} bytes;"
                          f" power {power} needs {want}")
        contributions = self._contributions(sections[CONTRIBUTIONS])
        ptau = PtauFile(self.path, self.file_size, power, ceremony_power, sections, contributions)
        _check_first_points(ptau)
        return ptau

    def _table(self, n_sections: int) -> dict:
        sections, pos = {}, 12
        for i in range(n_sections):
            if pos + 12 > self.file_size:
                self.fail(f"truncated: the table lists {n_sections} sections, the file ends "
                          f"after {i} (at byte {self.file_size})")
            kind, size = struct.unpack("<IQ", self._bytes(pos, 12, f"section {i} header"))
            if kind not in self.SECTION_NAMES:
                self.fail(f"unknown section id {kind} (section {i} at byte {pos})")
            if kind in sections:
                self.fail(f"section {kind} ({self.SECTION_NAMES[kind]}) appears twice")
            if size > self.file_size - pos - 12:
                self.fail(f"truncated: section {kind} ({self.SECTION_NAMES[kind]}) declares {size} "
                          f"bytes at byte {pos + 12}, the file ends {self.file_size - pos - 12} "
                          f"bytes later")
            sections[kind] = Section(pos + 12, size)
            pos += 12 + size
        if pos != self.file_size:
            self.fail(f"{self.file_size - pos} bytes after the last of the {n_sections} sections")
        return sections

    def _header(self, sec: Section) -> tuple:
        if sec.size < 4 or sec.size > 4 + 64 + 8:
            self.fail(f"header section has {sec.size} bytes, expected {HEADER_BYTES}")
        data = self._bytes(sec.offset, sec.size, "header")
        (n8,) = struct.unpack_from("<I", data)
        if sec.size != 4 + n8 + 8:
            self.fail(f"header section has {sec.size} bytes, inconsistent with its field size "
                      f"n8 = {n8} (expected {HEADER_BYTES})")
        q = int.from_bytes(data[4:4 + n8], "little")
        if q != P:
            known = " (BLS12-381's)" if q == _BLS12_381_Q else ""
            self.fail(f"wrong curve: the header's field prime q = {q:#x}{known} is not BN254's "
                      f"q = {P:#x}")
        if n8 != N8:
            self.fail(f"field element size n8 = {n8}, expected {N8} for BN254")
        power, ceremony_power = struct.unpack_from("<II", data, 4 + n8)
        if not 1 <= power <= MAX_POWER:
            self.fail(f"power {power} outside 1..{MAX_POWER}")
        if not power <= ceremony_power <= MAX_POWER:
            self.fail(f"ceremony power {ceremony_power} outside {power}..{MAX_POWER} "
                      f"(power {power})")
        return power, ceremony_power

    def _contributions(self, sec: Section) -> tuple:
        if sec.size > MAX_CONTRIBUTIONS_BYTES:
            self.fail(f"contributions section of {sec.size} bytes exceeds "
                      f"{MAX_CONTRIBUTIONS_BYTES}")
        data = self._bytes(sec.offset, sec.size, "contributions")

        def bad(why):
            self.fail(f"contributions (section {CONTRIBUTIONS}): {why}")

        if len(data) < 4:
            bad("shorter than its 4-byte count")
        (count,) = struct.unpack_from("<I", data)
        if count * (_CONTRIBUTION_FIXED + 4) > len(data) - 4:
            bad(f"{count} contributions cannot fit in {len(data)} bytes")
        out, pos = [], 4
        for i in range(count):
            if pos + _CONTRIBUTION_FIXED + 4 > len(data):
                bad(f"contribution {i + 1} is truncated")
            (kind,) = struct.unpack_from("<I", data, pos + _CONTRIBUTION_FIXED - 4)
            (length,) = struct.unpack_from("<I", data, pos + _CONTRIBUTION_FIXED)
            pos += _CONTRIBUTION_FIXED + 4
            if pos + length > len(data):
                bad(f"contribution {i + 1}'s parameters run past the section")
            params, pos = data[pos:pos + length], pos + length
            name, last, j = "", 0, 0
            while j < len(params):
                ptype = params[j]
                if ptype <= last or ptype not in (1, 2, 3):
                    bad(f"contribution {i + 1} has an unknown or unsorted parameter {ptype}")
                last = ptype
                if ptype == 2:              # iterations exponent of a beacon: one byte
                    j += 2
                else:                       # 1: name, 3: beacon hash: length byte, bytes
                    if j + 1 >= len(params):
                        bad(f"contribution {i + 1}'s parameter {ptype} is truncated")
                    end = j + 2 + params[j + 1]
                    if ptype == 1:
                        name = params[j + 2:end].decode("utf-8", "replace")
                    j = end
                if j > len(params):
                    bad(f"contribution {i + 1}'s parameter {ptype} is truncated")
            out.append(Contribution(name, kind))
        if pos != len(data):
            bad(f"{len(data) - pos} bytes after the last of {count} contributions")
        return tuple(out)


_G1_GEN = G1.encode([G1.generator])[0]
_G2_GEN = G2.encode([G2.generator])[0]


def _neg_g1(point) -> np.ndarray:
    out = np.array(point, dtype=np.uint64)
    out[1] = FQ.neg(out[1][None])[0]
    return out


def _check_first_points(ptau: PtauFile) -> None:
    """Generators first, and [tau], [beta] agreeing between G1 and G2."""
    t1, t2 = ptau.tau_g1(2), ptau.tau_g2(2)
    if not np.array_equal(t1[0], _G1_GEN):
        ptau.fail("tauG1 (section 2) point 0 is not the generator of G1")
    if not np.array_equal(t2[0], _G2_GEN):
        ptau.fail("tauG2 (section 3) point 0 is not the generator of G2")
    ptau.alpha_tau_g1(1)        # checked as it is read (alpha has no G2 image to compare with)
    beta_g1, beta_g2 = ptau.beta_tau_g1(1)[0], ptau.beta_g2()
    if not pairing_check_arrays(np.stack([t1[1], _neg_g1(t1[0])]), np.stack([t2[0], t2[1]])):
        ptau.fail("tauG1 point 1 and tauG2 point 1 are not [tau] for one tau")
    if not pairing_check_arrays(np.stack([beta_g1, _neg_g1(t1[0])]), np.stack([t2[0], beta_g2])):
        ptau.fail("betaTauG1 point 0 and betaG2 are not [beta] for one beta")


# ---- group kernels: linear maps of points with public scalars ----------------------------------
_R_HALF = int_to_tuple((R - 1) // 2)
# A Jacobian point is three coordinates, loaded and stored as the pairing's line triples are.
_load_jac, _store_jac = _load_t, _store_t


@inline
def _above_half(k):
    for limb in range(3, -1, -1):
        if k[limb] != _R_HALF[limb]:
            return k[limb] > _R_HALF[limb]
    return False


@jit
def _butterfly(jac, tw, i, j, k):
    a = _load_jac(jac, i)
    t = jac_scalar_mul(_load_jac(jac, j), (tw[k, 0], tw[k, 1], tw[k, 2], tw[k, 3]))
    _store_jac(jac, i, jac_add(a, t))
    _store_jac(jac, j, jac_add(a, jac_neg(t)))


@jit(parallel=True)
def _dit_layer(jac, tw, half, stride):
    """One radix-2 decimation-in-time layer over blocks of 2 half points, in place."""
    for b in prange(jac.shape[0] // 2):
        k = b % half
        i = (b // half) * 2 * half + k
        _butterfly(jac, tw, i, i + half, k * stride)


@jit
def _combination_row(points, ptr, idx, coeffs, out, i):
    acc = jac_infinity(f_load(points, 0, 0))
    for t in range(ptr[i], ptr[i + 1]):
        j = idx[t]
        x = f_load(points, j, 0)
        y = f_load(points, j, 1)
        if affine_is_infinity(x, y):
            continue
        k = (coeffs[t, 0], coeffs[t, 1], coeffs[t, 2], coeffs[t, 3])
        if _above_half(k):          # -c is the shorter scalar (circuit coefficients -1, -2, ...)
            k = mont.neg(k, FR_M)
            y = f_neg(y)
        acc = jac_add(acc, jac_scalar_mul((x, y, f_one_like(x)), k))
    _store_jac(out, i, acc)


@jit(parallel=True)
def _combination_array(points, ptr, idx, coeffs, out):
    for i in prange(out.shape[0]):
        _combination_row(points, ptr, idx, coeffs, out, i)


def _jacobian(group, affine) -> np.ndarray:
    """Affine points (all zeros = infinity) as Jacobian rows with Z = 1 (Z = 0 for infinity)."""
    n = affine.shape[0]
    jac = np.zeros((n, 3) + group.coord_shape, dtype=np.uint64)
    jac[:, :2] = affine
    one = FQ.encode([1])[0]
    finite = affine.reshape(n, -1).any(axis=1)
    if group is G1:
        jac[finite, 2] = one
    else:
        jac[finite, 2, 0] = one
    return jac


def group_intt(group, points) -> np.ndarray:
    """The inverse DFT in the group: for points P_j = [p_j] (j < n, n a power of two), the
    points [(1/n) sum_j omega^(-jk) p_j], k < n, omega the domain's root of unity.  For the
    powers [tau^j] these are the Lagrange basis [L_k(tau)] of the domain (what `snarkjs
    powersoftau prepare phase2` computes).  Radix 2: (n/2) log2(n) variable-base scalar
    multiplications, then n more by 1/n: fine for small domains (2^10 G1 points take about
    a second on one core, G2 three times as long), slow beyond 2^16 -- prepare such files
    with snarkjs once instead."""
    points = group._check(points, 2)
    n = points.shape[0]
    log_n = n.bit_length() - 1
    if n == 0 or n != 1 << log_n or log_n > MAX_POWER:
        raise ValueError(f"need a power-of-two number of points up to 2^{MAX_POWER}, got {n}")
    rev = np.zeros(n, dtype=np.int64)
    for b in range(log_n):
        rev |= ((np.arange(n) >> b) & 1) << (log_n - 1 - b)
    jac = _jacobian(group, points[rev])
    if n > 1:
        tw = to_plain(powers(pow(fr_root_of_unity(log_n), -1, R), n // 2))
        half = 1
        while half < n:
            _dit_layer(jac, tw, half, n // (2 * half))
            half *= 2
    return group.scalar_mul(group.to_affine(jac), ints_to_limbs([pow(n, -1, R)] * n))


def linear_combinations(group, points, out_index, point_index, coeffs, n_out) -> np.ndarray:
    """out[i] = sum of coeffs[t] * points[point_index[t]] over the t with out_index[t] = i:
    n_out affine points.  `coeffs`: plain (nnz, 4) scalars below r; each costs one
    variable-base scalar multiplication by min(c, r - c), so the small coefficients of
    circuits (1, -1, 2, ...) are cheap."""
    out = np.zeros((n_out, 3) + group.coord_shape, dtype=np.uint64)
    if n_out == 0 or points.shape[0] == 0 or len(out_index) == 0:
        return np.zeros((n_out, 2) + group.coord_shape, dtype=np.uint64)
    out_index = np.asarray(out_index, dtype=np.int64)
    order = np.argsort(out_index, kind="stable")
    ptr = np.zeros(n_out + 1, dtype=np.int64)
    ptr[1:] = np.cumsum(np.bincount(out_index, minlength=n_out))
    _combination_array(group._check(points, 2), ptr,
                       np.ascontiguousarray(np.asarray(point_index, dtype=np.int64)[order]),
                       np.ascontiguousarray(coeffs[order], dtype=np.uint64), out)
    return group.to_affine(out)


# ---- the proving key from phase 1 -------------------------------------------------------------
def _triplets(mat, point_offset=0):
    """(wire, point index = row + offset, plain coefficient) of a CSR constraint matrix."""
    rows = np.repeat(np.arange(mat.n_rows, dtype=np.int64), np.diff(mat.indptr))
    return (np.asarray(mat.wires, dtype=np.int64), rows + point_offset,
            to_plain(mat.coeffs) if len(mat.wires) else np.zeros((0, 4), np.uint64))


def _join(*parts):
    return tuple(np.concatenate([p[i] for p in parts]) for i in range(3))


def _public_rows(r1cs, point_offset=0):
    """The extra rows m + i of the QAP (A = w_i for each public wire i, see r1cs_to_qap)."""
    k = r1cs.n_public + 1
    wires = np.arange(k, dtype=np.int64)
    return wires, r1cs.n_constraints + wires + point_offset, ints_to_limbs([1] * k)


def start_phase2(r1cs, ptau_path, commitment: bool = False, zkey_h: bool = True):
    """The initial key of phase 2 for `r1cs` from the powers-of-tau file `ptau_path` (a path
    or a `PtauFile`): what `snarkjs groth16 setup circuit.r1cs file.ptau` writes, point for
    point, with gamma = delta = 1 (and eta = 1 with `commitment`).  INSECURE until someone
    contributes (`phase2.contribute`): anyone can forge proofs under delta = 1.  A
    `phase2.Phase2Key` with the circuit hash and snarkjs' H section.

    The circuit's domain n = 2^k needs a file of power >= k (PtauError otherwise, naming
    both).  [L_j(tau)] come from the Lagrange sections of a prepared file, else from the
    powers by `group_intt` (slow for large domains: prepare the file with snarkjs).  The
    queries are sparse combinations of those points with the circuit's coefficients; the
    H query is [tau^(j+n)] - [tau^j].  Before it is returned the key is checked against the
    file's powers of tau with `check_proving_key`, so an inconsistent file (Lagrange sections
    that do not match its powers, a wrong alpha or beta section) gives a PtauError and never
    a key.  `commitment`: the key also keeps the powers tau_g1 (2n - 1) and tau_g2 ([1]_2,
    [tau]_2), as `setup(..., commitment=True)`.  `zkey_h=False` leaves snarkjs' H section
    out (h_odd None): a key that is proven with here and never written as a .zkey does not
    need it, and from an unprepared file it costs a group inverse NTT of 2n points."""
    from .phase2 import Phase2Key, Transcript, circuit_hash

    ptau = ptau_path if isinstance(ptau_path, PtauFile) else read_ptau(ptau_path)
    n = domain_size(r1cs)
    log_n = n.bit_length() - 1
    if log_n > ptau.power:
        ptau.fail(f"too small for this circuit: {r1cs.n_constraints} constraints and "
                  f"{r1cs.n_public} public signals need a domain of 2^{log_n}, so a powers-of-tau "
                  f"file of power >= {log_n}; this file has power {ptau.power}")
    # snarkjs hashes n differences [tau^(n+i)] - [tau^i] once n > 2^14 (whole chunks of 2^14)
    n_hashed = n - 1 if n <= 1 << 14 else n
    if n_hashed + n > 2 * (1 << ptau.power) - 1:
        ptau.fail(f"a domain of 2^{log_n} in a file of power {ptau.power}: the circuit hash "
                  f"snarkjs records needs [tau^{2 * n - 1}], so a file of power >= {log_n + 1}")
    tau_g1 = ptau.tau_g1(n + n_hashed)
    if np.array_equal(tau_g1[n], tau_g1[0]):
        ptau.fail(f"tau is a root of unity of the domain 2^{log_n} (tau^n = 1): no usable "
                  f"contribution (a new, uncontributed file?)")
    tau_g2 = ptau.tau_g2(2)
    alpha_g1, beta_g1, beta_g2 = ptau.alpha_tau_g1(1)[0], ptau.beta_tau_g1(1)[0], ptau.beta_g2()
    if ptau.prepared:
        lag, lag_g2, lag_alpha, lag_beta = (ptau.lagrange(s, log_n) for s in LAGRANGE_SECTIONS)
    else:
        lag = group_intt(G1, tau_g1[:n])
        lag_g2 = group_intt(G2, ptau.tau_g2(n))
        lag_alpha = group_intt(G1, ptau.alpha_tau_g1(n))
        lag_beta = group_intt(G1, ptau.beta_tau_g1(n))
    h_odd = None
    if zkey_h:
        lag_2n = ptau.lagrange_top(log_n + 1) if ptau.prepared else None
        if lag_2n is None:      # the 2n domain from the 2n - 1 powers padded with a zero
            lag_2n = group_intt(G1, np.concatenate([tau_g1[:2 * n - 1],
                                                    np.zeros((1, 2, 4), np.uint64)]))
        h_odd = np.ascontiguousarray(lag_2n[1::2])

    nw, k = r1cs.n_wires, r1cs.n_public + 1
    a_trip = _join(_triplets(r1cs.A), _public_rows(r1cs))
    b_trip = _triplets(r1cs.B)
    a_q = linear_combinations(G1, lag, *a_trip, nw)
    b_g1_q = linear_combinations(G1, lag, *b_trip, nw)
    b_g2_q = linear_combinations(G2, lag_g2, *b_trip, nw)
    # u_i = (beta a_i + alpha b_i + c_i)(tau) over the points [L | alpha L | beta L]
    u = linear_combinations(G1, np.concatenate([lag, lag_alpha, lag_beta]),
                            *_join(_triplets(r1cs.C), _triplets(r1cs.B, n),
                                   _triplets(r1cs.A, 2 * n), _public_rows(r1cs, 2 * n)), nw)
    j = np.arange(n_hashed, dtype=np.int64)
    z_times_powers = linear_combinations(       # [tau^j (tau^n - 1)]_1 = [tau^(j+n)] - [tau^j]
        G1, tau_g1, np.concatenate([j, j]), np.concatenate([j + n, j]),
        ints_to_limbs([1] * n_hashed + [R - 1] * n_hashed), n_hashed)

    g1, g2 = _G1_GEN.copy(), _G2_GEN.copy()
    vk = VerifyingKey(alpha_g1, beta_g2, g2.copy(), g2.copy(), np.ascontiguousarray(u[:k]),
                      g1.copy() if commitment else None)
    pk = ProvingKey(vk, beta_g1, g1.copy(), a_q, b_g1_q, b_g2_q,
                    np.ascontiguousarray(z_times_powers[:n - 1]), np.ascontiguousarray(u[k:]),
                    r1cs.n_constraints, n, g1.copy() if commitment else None,
                    np.ascontiguousarray(tau_g1[:2 * n - 1]), tau_g2)
    try:    # G2 points: sums of subgroup-checked points, so no second subgroup test
        check_proving_key(pk, r1cs, subgroup_check=False)
    except KeyCheckError as exc:
        ptau.fail(f"its phase-1 points are not consistent with each other ({exc})")
    cs_hash = circuit_hash(pk, z_times_powers)
    if not commitment:
        pk = ProvingKey(vk, beta_g1, pk.delta_g1, a_q, b_g1_q, b_g2_q, pk.h_query, pk.l_query,
                        r1cs.n_constraints, n)
    return Phase2Key(pk, Transcript(cs_hash), h_odd)


def setup_from_ptau(r1cs, ptau_path, backend="cpu", commitment: bool = False,
                    rng=None) -> ProvingKey:
    """A Groth16 proving key for `r1cs` whose tau, alpha and beta are those of the
    powers-of-tau file `ptau_path`: `start_phase2`, then one phase-2 contribution by this
    process (and, with `commitment`, one re-randomization of gamma and eta), from the OS
    CSPRNG (`rng`: a random.Random for reproducible tests only).  Phase 1 comes from the
    ceremony; phase 2 by a single party, which could forge proofs had it kept its secret:
    for a key no single party could forge under, several parties contribute
    (`hpc_zkfl.groth16.phase2`).  `backend` is accepted for the callers' symmetry; the work
    runs on the CPU."""
    from .phase2 import contribute, contribute_commitment

    key = start_phase2(r1cs, ptau_path, commitment=commitment)
    pk, transcript, _, _ = contribute(key.pk, key.transcript, "setup", rng=rng)
    if commitment:
        pk, _ = contribute_commitment(pk, transcript, rng=rng)
    return pk


__all__ = ["Contribution", "MAX_POWER", "PtauError", "PtauFile", "group_intt",
           "linear_combinations", "read_ptau", "setup_from_ptau", "start_phase2",
           "write_container"]
