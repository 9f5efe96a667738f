"""iden3 binary files: `.r1cs` constraint systems and `.wtns` witnesses (circom, snarkjs).

Both use iden3's section container: a 4-byte magic, a u32 version, a u32 section count, then
sections, each a u32 type, a u64 byte size and its content; all integers little-endian.  Field
elements are 32-byte little-endian integers in *standard* form (not Montgomery): that is what the
r1cs format specification prescribes and what circom writes (the Montgomery scaling that snarkjs
applies belongs to its `.zkey` files).  Inside the project they become Montgomery arrays.

`.r1cs` (version 1), sections:
  1 header: field size (u32, 32), prime (32 bytes), nWires, nPubOut, nPubIn, nPrvIn (u32),
    nLabels (u64), mConstraints (u32);
  2 constraints: per constraint A, B, C, each a u32 term count then (u32 wire id, 32-byte
    coefficient) terms;
  3 wire -> label map: nWires u64 label ids.
Sections may come in any order (circom writes 2, 1, 3; so does `r1cs_to_bytes`).  Sections 4
and 5 (PLONK custom gates) are refused; other unknown sections are ignored, as the
specification asks.  The specification asks for terms in increasing wire order, but circom
does not keep to it (circom 2.2.3 writes C = [256, 255] in a chain of products): the reader
sorts each linear combination and merges repeated wire ids by adding their coefficients mod r,
dropping a merged term whose sum is 0.  `r1cs_to_bytes` writes strictly increasing wire ids.

`.wtns` (version 2), sections: 1 header: field size (u32), prime, nWitness (u32); 2 the values.

Readers refuse with `Iden3FormatError` (a ValueError) anything malformed: wrong magic, another
version, a prime other than BN254's r, truncated or oversized sections, wire ids out of range,
coefficients or values >= r.
"""
import os
import struct

import numpy as np

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.fields import FR

from ._kernels import row_sums
from .r1cs import R1CS, SparseMatrix

N8 = 32
R1CS_VERSION = 1
WTNS_VERSION = 2
_PRIME_BYTES = R.to_bytes(N8, "little")
# One constraint term: u32 wire id then a 32-byte coefficient (packed, 36 bytes).
_TERM = np.dtype([("wire", "<u4"), ("coeff", "<u8", (4,))])


class Iden3FormatError(ValueError):
    """A malformed or unsupported iden3 binary file."""


# container ---------------------------------------------------------------------------------
def _container(sections, magic: bytes, version: int) -> bytes:
    out = [magic, struct.pack("<II", version, len(sections))]
    for kind, body in sections:
        out += [struct.pack("<IQ", kind, len(body)), body]
    return b"".join(out)


def _read_container(data, magic: bytes, version: int, what: str) -> dict:
    """{section type: memoryview of its content}; refuses duplicates and truncation."""
    data = memoryview(bytes(data))
    if len(data) < 12:
        raise Iden3FormatError(f"{what}: file too short ({len(data)} bytes) for the header")
    if bytes(data[:4]) != magic:
        raise Iden3FormatError(f"{what}: wrong magic {bytes(data[:4])!r}, expected {magic!r}")
    got_version, n_sections = struct.unpack_from("<II", data, 4)
    if got_version != version:
        raise Iden3FormatError(f"{what}: unsupported version {got_version} (only {version})")
    sections, pos = {}, 12
    for i in range(n_sections):
        if pos + 12 > len(data):
            raise Iden3FormatError(f"{what}: truncated: section {i} header missing")
        kind, size = struct.unpack_from("<IQ", data, pos)
        pos += 12
        if size > len(data) - pos:
            raise Iden3FormatError(f"{what}: truncated: section {i} (type {kind}) declares {size} "
                                   f"bytes, {len(data) - pos} remain")
        if kind in sections:
            raise Iden3FormatError(f"{what}: section type {kind} appears twice")
        sections[kind] = data[pos:pos + size]
        pos += size
    if pos != len(data):
        raise Iden3FormatError(f"{what}: {len(data) - pos} trailing bytes after the last section")
    return sections


def _check_field(section, what: str) -> int:
    """Reads field size and prime from a header section; returns the offset after them."""
    if len(section) < 4:
        raise Iden3FormatError(f"{what}: header section truncated")
    (n8,) = struct.unpack_from("<I", section, 0)
    if n8 != N8:
        raise Iden3FormatError(f"{what}: field size {n8} bytes is not supported (only {N8}, BN254)")
    if len(section) < 4 + n8:
        raise Iden3FormatError(f"{what}: header section truncated")
    prime = int.from_bytes(section[4:4 + n8], "little")
    if prime != R:
        raise Iden3FormatError(f"{what}: prime {prime} is not BN254's scalar field order r = {R}; "
                               "only BN254 is supported")
    return 4 + n8


def _require(sections, kind: int, what: str, name: str):
    if kind not in sections:
        raise Iden3FormatError(f"{what}: {name} section (type {kind}) missing")
    return sections[kind]


def _to_montgomery(plain: np.ndarray, what: str) -> np.ndarray:
    """Standard-form (n, 4) limbs -> Montgomery, refusing values >= r."""
    bad = np.flatnonzero(~FR.is_canonical(plain))
    if bad.size:
        raise Iden3FormatError(f"{what} {int(bad[0])} is not below r")
    return FR.from_bytes(np.ascontiguousarray(plain, dtype="<u8").tobytes())


def _first_unsorted_row(indptr: np.ndarray, wires: np.ndarray):
    """Index of the first CSR row whose wire ids are not strictly increasing, or None."""
    if wires.size < 2:
        return None
    row_start = np.zeros(wires.size, dtype=bool)
    starts = indptr[:-1]
    row_start[starts[starts < wires.size]] = True
    disorder = np.flatnonzero((np.diff(wires) <= 0) & ~row_start[1:])
    if not disorder.size:
        return None
    return int(np.searchsorted(indptr, disorder[0] + 1, side="right")) - 1


def _sort_and_merge(indptr: np.ndarray, wires: np.ndarray, coeffs: np.ndarray):
    """CSR rows with wire ids sorted and repeated ids merged: (indptr, wires, coeffs).

    Coefficients (Montgomery) of a repeated wire are added mod r; a merged term whose sum is 0
    is dropped, while a single zero term stays as written (so sorted files still re-encode
    byte for byte)."""
    m = len(indptr) - 1
    rows = np.repeat(np.arange(m, dtype=np.int64), np.diff(indptr))
    order = np.lexsort((wires, rows))
    rows, wires, coeffs = rows[order], wires[order], coeffs[order]
    first = np.ones(wires.size, dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (wires[1:] != wires[:-1])
    starts = np.flatnonzero(first)
    if starts.size < wires.size:
        group_ptr = np.append(starts, wires.size).astype(np.int64)
        sums = np.zeros((starts.size, 4), dtype=np.uint64)
        row_sums(group_ptr, np.ascontiguousarray(coeffs), sums, FR.m)
        keep = (np.diff(group_ptr) == 1) | sums.any(axis=1)
        rows, wires, coeffs = rows[starts][keep], wires[starts][keep], sums[keep]
    out = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=m), out=out[1:])
    return out, wires, coeffs


def _load(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    with open(os.fspath(source), "rb") as f:
        return f.read()


# .r1cs -------------------------------------------------------------------------------------
def r1cs_to_bytes(r1cs: R1CS) -> bytes:
    """The `.r1cs` (version 1) encoding of a constraint system."""
    n_wires = r1cs.n_wires
    labels = np.asarray(r1cs.wire_to_label, dtype=np.int64)
    if labels.size == 0:
        labels = np.arange(n_wires, dtype=np.int64)
    if labels.shape != (n_wires,):
        raise ValueError(f"wire_to_label has {labels.size} entries for {n_wires} wires")
    n_labels = int(labels.max()) + 1
    header = struct.pack("<I", N8) + _PRIME_BYTES + struct.pack(
        "<IIIIQI", n_wires, r1cs.n_outputs, r1cs.n_public_inputs, r1cs.n_private_inputs,
        n_labels, r1cs.n_constraints)

    m = r1cs.n_constraints
    parts = []
    for mat in (r1cs.A, r1cs.B, r1cs.C):
        wires = np.asarray(mat.wires, dtype=np.int64)
        if _first_unsorted_row(mat.indptr, wires) is not None:
            raise ValueError("r1cs terms must have strictly increasing wire ids in each row")
        terms = np.empty(len(wires), dtype=_TERM)
        terms["wire"] = wires
        if len(wires):
            plain = np.frombuffer(FR.to_bytes(mat.coeffs), dtype="<u8").reshape(-1, 4)
            terms["coeff"] = plain
        parts.append((mat.indptr, terms.tobytes()))
    body = []
    for k in range(m):
        for indptr, raw in parts:
            a, b = int(indptr[k]), int(indptr[k + 1])
            body.append(struct.pack("<I", b - a))
            body.append(raw[a * _TERM.itemsize:b * _TERM.itemsize])
    constraints = b"".join(body)
    wire_map = labels.astype("<u8").tobytes()
    # circom writes the constraints before the header; doing the same makes files byte-identical.
    return _container([(2, constraints), (1, header), (3, wire_map)], b"r1cs", R1CS_VERSION)


def r1cs_from_bytes(data) -> R1CS:
    """Parse and validate a `.r1cs` file's bytes (see the module docstring)."""
    what = ".r1cs"
    sections = _read_container(data, b"r1cs", R1CS_VERSION, what)
    for kind in (4, 5):
        if kind in sections:
            raise Iden3FormatError(f"{what}: custom gates (section {kind}) are not supported")
    head = _require(sections, 1, what, "header")
    pos = _check_field(head, what)
    if len(head) != pos + 28:
        raise Iden3FormatError(f"{what}: header section has {len(head)} bytes, expected {pos + 28}")
    n_wires, n_out, n_pub, n_prv, n_labels, m = struct.unpack_from("<IIIIQI", head, pos)
    if n_wires < 1 + n_out + n_pub + n_prv:
        raise Iden3FormatError(f"{what}: {n_wires} wires cannot hold the constant, {n_out} outputs, "
                               f"{n_pub} public and {n_prv} private inputs")

    body = _require(sections, 2, what, "constraints")
    if 12 * m > len(body):   # each constraint takes at least three term counts
        raise Iden3FormatError(f"{what}: constraints section ({len(body)} bytes) is too short for "
                               f"{m} constraints")
    raw = np.frombuffer(body, dtype=np.uint8)
    pos = 0
    indptr = [np.zeros(m + 1, dtype=np.int64) for _ in range(3)]
    chunks = [[], [], []]
    counts = [0, 0, 0]
    for k in range(m):
        for side in range(3):
            if pos + 4 > len(raw):
                raise Iden3FormatError(f"{what}: constraints section truncated in constraint {k}")
            (n_terms,) = struct.unpack_from("<I", body, pos)
            pos += 4
            end = pos + n_terms * _TERM.itemsize
            if end > len(raw):
                raise Iden3FormatError(f"{what}: constraints section truncated in constraint {k}")
            chunks[side].append(raw[pos:end])
            counts[side] += n_terms
            indptr[side][k + 1] = counts[side]
            pos = end
    if pos != len(raw):
        raise Iden3FormatError(f"{what}: constraints section has {len(raw) - pos} bytes beyond "
                               f"its {m} constraints")

    mats = []
    for side, name in enumerate("ABC"):
        terms = np.frombuffer(b"".join(c.tobytes() for c in chunks[side]), dtype=_TERM)
        wires = terms["wire"].astype(np.int64)
        if wires.size and wires.max() >= n_wires:
            bad = int(np.flatnonzero(wires >= n_wires)[0])
            k = int(np.searchsorted(indptr[side], bad, side="right")) - 1
            raise Iden3FormatError(f"{what}: constraint {k} ({name}) refers to wire {int(wires[bad])}, "
                                   f"only {n_wires} wires")
        coeffs = (_to_montgomery(np.ascontiguousarray(terms["coeff"]), f"{what}: {name} coefficient")
                  if wires.size else np.zeros((0, 4), dtype=np.uint64))
        rows = indptr[side]
        if _first_unsorted_row(rows, wires) is not None:
            rows, wires, coeffs = _sort_and_merge(rows, wires, coeffs)
        mats.append(SparseMatrix(rows, wires, coeffs))

    labels = np.zeros(0, dtype=np.int64)
    if 3 in sections:
        wire_map = sections[3]
        if len(wire_map) != 8 * n_wires:
            raise Iden3FormatError(f"{what}: wire map has {len(wire_map)} bytes, expected {8 * n_wires}")
        labels = np.frombuffer(wire_map, dtype="<u8")
        if labels.size and labels.max() >= n_labels:
            raise Iden3FormatError(f"{what}: wire map names a label >= nLabels = {n_labels}")
        labels = labels.astype(np.int64)
    return R1CS(n_wires, n_out, n_pub, n_prv, *mats, wire_to_label=labels)


def save_r1cs(r1cs: R1CS, path):
    with open(os.fspath(path), "wb") as f:
        f.write(r1cs_to_bytes(r1cs))


def load_r1cs(source) -> R1CS:
    """From a path or the bytes of a `.r1cs` file."""
    return r1cs_from_bytes(_load(source))


# .wtns -------------------------------------------------------------------------------------
def wtns_to_bytes(witness: np.ndarray) -> bytes:
    """The `.wtns` (version 2) encoding of an (n, 4) Montgomery witness."""
    witness = np.ascontiguousarray(witness, dtype=np.uint64)
    if witness.ndim != 2 or witness.shape[1] != 4:
        raise ValueError(f"witness must be an (n, 4) array, got shape {witness.shape}")
    header = struct.pack("<I", N8) + _PRIME_BYTES + struct.pack("<I", witness.shape[0])
    return _container([(1, header), (2, FR.to_bytes(witness))], b"wtns", WTNS_VERSION)


def wtns_from_bytes(data) -> np.ndarray:
    """Parse a `.wtns` file's bytes into an (n, 4) Montgomery witness (w[0] must be 1)."""
    what = ".wtns"
    sections = _read_container(data, b"wtns", WTNS_VERSION, what)
    head = _require(sections, 1, what, "header")
    pos = _check_field(head, what)
    if len(head) != pos + 4:
        raise Iden3FormatError(f"{what}: header section has {len(head)} bytes, expected {pos + 4}")
    (n,) = struct.unpack_from("<I", head, pos)
    values = _require(sections, 2, what, "witness")
    if len(values) != n * N8:
        raise Iden3FormatError(f"{what}: witness section has {len(values)} bytes for {n} values "
                               f"(expected {n * N8})")
    if n == 0:
        raise Iden3FormatError(f"{what}: empty witness")
    plain = np.frombuffer(values, dtype="<u8").reshape(n, 4)
    witness = _to_montgomery(plain, f"{what}: witness value")
    if not (plain[0, 0] == 1 and not plain[0, 1:].any()):
        raise Iden3FormatError(f"{what}: witness value 0 must be the constant 1")
    return witness


def save_wtns(witness: np.ndarray, path):
    with open(os.fspath(path), "wb") as f:
        f.write(wtns_to_bytes(witness))


def load_wtns(source) -> np.ndarray:
    """From a path or the bytes of a `.wtns` file."""
    return wtns_from_bytes(_load(source))
