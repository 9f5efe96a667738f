"""Phase 2 of the Groth16 setup by several parties: each contributor multiplies delta by a
secret of its own and proves that it knows it, so the key is sound unless every contributor
colluded (Bowe, Gabizon, Miers, "Scalable Multi-party Computation for zk-SNARK Parameters in
the Random Beacon Model", eprint 2017/1050, section 7).

Transcript and contributions use snarkjs' format and hashes, so a key contributed here passes
`snarkjs zkey verify` and a snarkjs contribution verifies here:

* The circuit hash (64 bytes, BLAKE2b-512) binds the initial key (`circuit_hash`).
* Contribution i draws x, a point [s]_1 and [s x]_1.  Its transcript is
  BLAKE2b-512(circuit hash | public keys of contributions 0..i-1 | U([s]_1) | U([s x]_1)),
  with U the uncompressed big-endian encoding.  [s']_2 = `hash_to_g2`(transcript) and it
  publishes [s' x]_2.
* The new key has [delta]_1 and [delta]_2 times x, and every element over delta (l_query,
  h_query, snarkjs' H, [eta/delta]_1) times 1/x.
* A contribution's public key is U(delta after) | U([s]_1) | U([s x]_1) | U([s' x]_2) |
  transcript; "contribution hash" = BLAKE2b-512 of it.

`verify_contributions` replays the chain: each transcript, e(s, s'x) = e(sx, s'), and
e(delta before, s'x) = e(delta after, s').  Beacon contributions (snarkjs `zkey beacon`,
type 1) are also re-derived from the beacon.

Two-aggregator runs add records of their own, which snarkjs does not know (`CommitmentStep`).
The helper also re-randomizes gamma and eta, the values the binding of the private-update
commitment rests on (`hpc_zkfl.groth16.committed`): gamma times g and [eta/gamma]_1 times
e / g, each with a proof of knowledge of the same kind.  Keys that carry these are in this
package's own key format only.
"""
from __future__ import annotations

import hashlib
import secrets
import struct
from dataclasses import dataclass, field, replace

import numpy as np

from hpc_zkfl.algebra.constants import G2_COFACTOR, P, R, TWIST_B, fq2_mul_ints, fq2_pow_ints
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.pairing import pairing_check_arrays

from .data_structures import ProvingKey
from .ptau import point_problem

HASH_BYTES = 64
CONTRIBUTION, BEACON = 0, 1
MAX_NAME_BYTES = 64                     # snarkjs keeps the first 64 characters
_MASK32 = 0xFFFFFFFF
_R_MONT_INV = pow(1 << 256, -1, P)
_G1_BYTES, _G2_BYTES = 64, 128


class Phase2Error(ValueError):
    """A phase-2 transcript that does not verify; the message names the contribution."""


# --- snarkjs' deterministic points: ChaCha20 and ffjavascript's fromRng ---------------------

def _chacha_words(seed):
    """ChaCha20 (20 rounds, zero nonce, counter in words 12-13) as a stream of u32 words, the
    generator snarkjs seeds from a hash."""
    state = [0x61707865, 0x3320646E, 0x79622D32, 0x6B206574, *seed, 0, 0, 0, 0]

    def quarter(x, a, b, c, d):
        for s1, s2, s3, rot in ((a, b, d, 16), (c, d, b, 12), (a, b, d, 8), (c, d, b, 7)):
            x[s1] = (x[s1] + x[s2]) & _MASK32
            v = x[s3] ^ x[s1]
            x[s3] = ((v << rot) | (v >> (32 - rot))) & _MASK32

    while True:
        x = list(state)
        for _ in range(10):
            for q in ((0, 4, 8, 12), (1, 5, 9, 13), (2, 6, 10, 14), (3, 7, 11, 15),
                      (0, 5, 10, 15), (1, 6, 11, 12), (2, 7, 8, 13), (3, 4, 9, 14)):
                quarter(x, *q)
        yield from ((x[i] + state[i]) & _MASK32 for i in range(16))
        state[12] = (state[12] + 1) & _MASK32
        if state[12] == 0:
            state[13] = (state[13] + 1) & _MASK32


def _seed(digest: bytes) -> list:
    return list(struct.unpack(">8I", digest[:32]))


class _Rng:
    def __init__(self, seed):
        self._words = _chacha_words(seed)

    def u32(self) -> int:
        return next(self._words)

    def u64(self) -> int:
        return (self.u32() << 32) | self.u32()

    def field(self, modulus: int) -> int:
        """ffjavascript's F.fromRng: 4 u64 words, masked to the modulus' bit length, retried
        while >= modulus.  The value lands in the element's Montgomery slot unconverted, so the
        element is v / 2^256."""
        mask = (1 << modulus.bit_length()) - 1
        while True:
            v = sum(self.u64() << (64 * i) for i in range(4)) & mask
            if v < modulus:
                return v


def _fq2_sqrt(a):
    """A square root in Fq2 = Fq[u]/(u^2 + 1), q = 3 mod 4 (Adj, Rodriguez-Henriquez,
    eprint 2012/685, algorithm 9); the caller has checked that one exists."""
    a1 = fq2_pow_ints(a, (P - 3) // 4)
    alpha = fq2_mul_ints(fq2_mul_ints(a1, a1), a)
    x0 = fq2_mul_ints(a1, a)
    if alpha == (P - 1, 0):
        return ((-x0[1]) % P, x0[0])
    b = fq2_pow_ints(((1 + alpha[0]) % P, alpha[1]), (P - 1) // 2)
    return fq2_mul_ints(b, x0)


def _is_negative(v: int) -> bool:
    return v > (P - 1) // 2


def hash_to_g2(digest: bytes) -> tuple:
    """snarkjs' `hashToG2`: the point of G2 drawn by ffjavascript's G2.fromRng from ChaCha20
    seeded with the first 32 bytes of `digest` (eight big-endian u32); a Python point."""
    rng = _Rng(_seed(digest))
    while True:
        x = tuple(rng.field(P) * _R_MONT_INV % P for _ in range(2))
        greatest = rng.u32() & 1
        x3 = fq2_mul_ints(fq2_mul_ints(x, x), x)
        rhs = ((x3[0] + TWIST_B[0]) % P, (x3[1] + TWIST_B[1]) % P)
        if pow((rhs[0] ** 2 + rhs[1] ** 2) % P, (P - 1) // 2, P) in (0, 1):
            break
    y = _fq2_sqrt(rhs)
    negative = _is_negative(y[1]) if y[1] else _is_negative(y[0])
    if greatest ^ negative:
        y = ((-y[0]) % P, (-y[1]) % P)
    point = G2.encode([(x, y)])
    return G2.decode(G2.scalar_mul(point, ints_to_limbs([G2_COFACTOR])))[0]


def _g1_from_rng(rng: _Rng) -> tuple:
    """ffjavascript's G1.fromRng (cofactor 1), for beacon contributions."""
    while True:
        x = rng.field(P) * _R_MONT_INV % P
        greatest = rng.u32() & 1
        rhs = (x * x * x + 3) % P
        if pow(rhs, (P - 1) // 2, P) in (0, 1):
            break
    y = pow(rhs, (P + 1) // 4, P)
    if greatest ^ _is_negative(y):
        y = (-y) % P
    return x, y


# --- encodings -------------------------------------------------------------------------------
def uncompressed_many(group, points) -> bytes:
    """`uncompressed` of every point of an (n, 2, ...) array, one after another."""
    from hpc_zkfl.algebra import montgomery as mont
    from hpc_zkfl.algebra.fields import FQ_M

    arr = np.ascontiguousarray(points, dtype=np.uint64)
    n = arr.shape[0]
    flat = arr.reshape(-1, 4)
    plain = np.empty_like(flat)
    if flat.shape[0]:
        mont.from_mont_array(flat, plain, FQ_M)
    plain = plain.reshape(arr.shape)[..., ::-1]          # limbs most significant first
    if group is G2:
        plain = plain[:, :, ::-1]                         # c1 before c0
    return np.ascontiguousarray(plain).astype(">u8").tobytes() if n else b""


def uncompressed(group, point) -> bytes:
    """snarkjs' toRprUncompressed: big-endian x | y, Fq2 as c1 | c0; infinity all zeros."""
    return uncompressed_many(group, np.asarray(point)[None])


def lem_bytes(point) -> bytes:
    """The zkey/ptau bytes of a point or points: little-endian Montgomery limbs."""
    return np.ascontiguousarray(point, dtype="<u8").tobytes()


def _point(group, data: bytes, what: str) -> np.ndarray:
    size = _G1_BYTES if group is G1 else _G2_BYTES
    if len(data) < size:
        raise Phase2Error(f"{what} is truncated")
    arr = np.frombuffer(data[:size], dtype="<u8").astype(np.uint64).reshape(
        (1, 2) + group.coord_shape)
    problem = point_problem(arr, group)
    if problem:
        raise Phase2Error(f"{what}{problem[1]}")
    return arr[0]


@dataclass(frozen=True)
class Contribution:
    """One phase-2 contribution, as snarkjs records it (points Montgomery affine arrays)."""
    delta_after: np.ndarray     # [delta]_1 after it
    g1_s: np.ndarray
    g1_sx: np.ndarray
    g2_spx: np.ndarray          # [s' x]_2, s' = hash_to_g2(transcript)
    transcript: bytes
    kind: int = CONTRIBUTION
    name: str = ""
    beacon_hash: bytes = b""
    beacon_iterations_exp: int = 0

    def public_key(self) -> bytes:
        return (uncompressed(G1, self.delta_after) + uncompressed(G1, self.g1_s)
                + uncompressed(G1, self.g1_sx) + uncompressed(G2, self.g2_spx) + self.transcript)

    def contribution_hash(self) -> bytes:
        return hashlib.blake2b(self.public_key(), digest_size=HASH_BYTES).digest()

    def to_bytes(self) -> bytes:
        params = b""
        if self.name:
            name = self.name[:MAX_NAME_BYTES].encode("utf-8")
            params += bytes([1, len(name)]) + name
        if self.kind == BEACON:
            params += bytes([2, self.beacon_iterations_exp, 3, len(self.beacon_hash)])
            params += self.beacon_hash
        return (lem_bytes(self.delta_after) + lem_bytes(self.g1_s) + lem_bytes(self.g1_sx) + lem_bytes(self.g2_spx)
                + self.transcript + struct.pack("<II", self.kind, len(params)) + params)


def _parse_contribution(data: bytes, pos: int, index: int) -> tuple:
    def bad(why):
        raise Phase2Error(f"contribution {index}: {why}")

    fixed = 3 * _G1_BYTES + _G2_BYTES + HASH_BYTES + 8
    if pos + fixed > len(data):
        bad("truncated")
    pts = [_point(G1, data[pos + i * _G1_BYTES:], f"contribution {index}'s {what}")
           for i, what in enumerate(("delta", "[s]_1", "[s x]_1"))]
    g2_spx = _point(G2, data[pos + 3 * _G1_BYTES:], f"contribution {index}'s [s' x]_2")
    at = pos + 3 * _G1_BYTES + _G2_BYTES
    transcript = bytes(data[at:at + HASH_BYTES])
    kind, length = struct.unpack_from("<II", data, at + HASH_BYTES)
    if kind not in (CONTRIBUTION, BEACON):
        bad(f"unknown type {kind}")
    start = at + HASH_BYTES + 8
    if start + length > len(data):
        bad("its parameters run past the end")
    params, j, last = data[start:start + length], 0, 0
    values = {}
    while j < len(params):
        ptype = params[j]
        if ptype <= last or ptype not in (1, 2, 3) or j + 1 >= len(params):
            bad(f"parameter {ptype} unknown, repeated, out of order or truncated")
        last = ptype
        if ptype == 2:
            values[2], j = params[j + 1], j + 2
        else:
            end = j + 2 + params[j + 1]
            if end > len(params):
                bad(f"parameter {ptype} is truncated")
            values[ptype], j = bytes(params[j + 2:end]), end
    if kind == BEACON and (2 not in values or 3 not in values):
        bad("a beacon without its hash or iteration count")
    name = values.get(1, b"").decode("utf-8", "replace")
    c = Contribution(pts[0], pts[1], pts[2], g2_spx, transcript, kind, name,
                     values.get(3, b""), values.get(2, 0))
    return c, start + length


@dataclass(frozen=True)
class CommitmentStep:
    """A two-aggregator record (not snarkjs'): gamma times g and [eta/gamma]_1 times e/g,
    with a proof of knowledge of each factor; s' of the second is hashed from the first's
    transcript, so the two cannot be replayed apart."""
    gamma_after: np.ndarray     # [gamma]_2 after it
    eta_after: np.ndarray       # [eta/gamma]_1 after it
    pok: tuple                  # ((s, s g, s' g, transcript), (s, s e/g, s'' e/g, transcript))

    def public_key(self) -> bytes:
        out = uncompressed(G2, self.gamma_after) + uncompressed(G1, self.eta_after)
        for s, sx, spx, t in self.pok:
            out += uncompressed(G1, s) + uncompressed(G1, sx) + uncompressed(G2, spx) + t
        return out

    def to_bytes(self) -> bytes:
        out = lem_bytes(self.gamma_after) + lem_bytes(self.eta_after)
        for s, sx, spx, t in self.pok:
            out += lem_bytes(s) + lem_bytes(sx) + lem_bytes(spx) + t
        return out


_STEP_BYTES = _G2_BYTES + _G1_BYTES + 2 * (2 * _G1_BYTES + _G2_BYTES + HASH_BYTES)


def _parse_step(data: bytes, pos: int, index: int) -> tuple:
    if pos + _STEP_BYTES > len(data):
        raise Phase2Error(f"commitment step {index}: truncated")
    w = f"commitment step {index}"
    gamma = _point(G2, data[pos:], f"{w}'s gamma")
    pos += _G2_BYTES
    eta = _point(G1, data[pos:], f"{w}'s eta/gamma")
    pos += _G1_BYTES
    pok = []
    for _ in range(2):
        s = _point(G1, data[pos:], f"{w}'s [s]_1")
        sx = _point(G1, data[pos + _G1_BYTES:], f"{w}'s [s x]_1")
        spx = _point(G2, data[pos + 2 * _G1_BYTES:], f"{w}'s [s' x]_2")
        pos += 2 * _G1_BYTES + _G2_BYTES
        pok.append((s, sx, spx, bytes(data[pos:pos + HASH_BYTES])))
        pos += HASH_BYTES
    return CommitmentStep(gamma, eta, tuple(pok)), pos


def circuit_hash(pk: ProvingKey, z_times_powers) -> bytes:
    """snarkjs' circuit hash of an initial key (gamma = delta = 1): BLAKE2b-512 over, in
    uncompressed form, alpha_1, beta_1, beta_2, gamma_2, delta_1, delta_2, then IC, the H
    points [tau^(i+n)] - [tau^i] (`z_times_powers`: n - 1 of them, or n for n > 2^14, where
    snarkjs hashes whole chunks of 2^14), the private wires' L, A, B1 and B2, each vector
    after its length (big-endian u32; n - 1 for H)."""
    vk = pk.vk
    h = hashlib.blake2b(digest_size=HASH_BYTES)
    for group, point in ((G1, vk.alpha_g1), (G1, pk.beta_g1), (G2, vk.beta_g2),
                         (G2, vk.gamma_g2), (G1, pk.delta_g1), (G2, vk.delta_g2)):
        h.update(uncompressed(group, point))
    for group, points, count in ((G1, vk.gamma_abc_g1, None),
                                 (G1, z_times_powers, pk.domain_size - 1),
                                 (G1, pk.l_query, None), (G1, pk.a_query, None),
                                 (G1, pk.b_g1_query, None), (G2, pk.b_g2_query, None)):
        h.update(struct.pack(">I", points.shape[0] if count is None else count))
        h.update(uncompressed_many(group, points))
    return h.digest()


@dataclass(frozen=True)
class Transcript:
    """snarkjs' MPC parameters (zkey section 10) plus this package's commitment steps."""
    circuit_hash: bytes
    contributions: tuple = ()
    commitment_steps: tuple = ()
    # gamma_2 and [eta/gamma]_1 before any commitment step (generators for ptau keys)
    gamma_start: np.ndarray = field(default=None, compare=False)
    eta_start: np.ndarray = field(default=None, compare=False)

    def mpc_bytes(self) -> bytes:
        """zkey section 10: circuit hash | count u32 | contributions."""
        return (self.circuit_hash + struct.pack("<I", len(self.contributions))
                + b"".join(c.to_bytes() for c in self.contributions))

    def to_bytes(self) -> bytes:
        """mpc_bytes, then (this package only) count u32 | [gamma]_2 | [eta/gamma]_1 start |
        steps."""
        out = self.mpc_bytes() + struct.pack("<I", len(self.commitment_steps))
        if self.commitment_steps:
            out += lem_bytes(self.gamma_start) + lem_bytes(self.eta_start)
            out += b"".join(s.to_bytes() for s in self.commitment_steps)
        return out

    def digest(self) -> bytes:
        """The transcript hash a results file records: BLAKE2b-512 over the circuit hash and
        every public key in order (snarkjs' accumulated hash, extended by the steps)."""
        h = self._hasher()
        for step in self.commitment_steps:
            h.update(step.public_key())
        return h.digest()

    def _hasher(self, upto=None):
        h = hashlib.blake2b(self.circuit_hash, digest_size=HASH_BYTES)
        for c in self.contributions[:upto]:
            h.update(c.public_key())
        return h

    def _step_hasher(self, upto: int):
        """The prefix of commitment step upto + 1's transcripts: independent of the delta
        contributions, which may follow it."""
        h = hashlib.blake2b(b"commitment step" + self.circuit_hash, digest_size=HASH_BYTES)
        for step in self.commitment_steps[:upto]:
            h.update(step.public_key())
        return h


def mpc_from_bytes(data: bytes) -> tuple:
    """(Transcript, end offset) from zkey section 10 bytes (more may follow)."""
    if len(data) < HASH_BYTES + 4:
        raise Phase2Error(f"{len(data)} bytes, shorter than the circuit hash and the count")
    (count,) = struct.unpack_from("<I", data, HASH_BYTES)
    if count * (3 * _G1_BYTES + _G2_BYTES + HASH_BYTES + 8) > len(data):
        raise Phase2Error(f"{count} contributions cannot fit in {len(data)} bytes")
    pos, out = HASH_BYTES + 4, []
    for i in range(count):
        c, pos = _parse_contribution(data, pos, i + 1)
        out.append(c)
    return Transcript(bytes(data[:HASH_BYTES]), tuple(out)), pos


def transcript_from_bytes(data: bytes) -> Transcript:
    t, pos = mpc_from_bytes(data)
    if pos + 4 > len(data):
        raise Phase2Error("the commitment step count is missing")
    (count,) = struct.unpack_from("<I", data, pos)
    pos += 4
    if count > (len(data) - pos) // _STEP_BYTES:
        raise Phase2Error(f"{count} commitment steps cannot fit in {len(data) - pos} bytes")
    gamma = eta = None
    steps = []
    if count:
        if pos + _G2_BYTES + _G1_BYTES > len(data):
            raise Phase2Error("commitment steps: truncated start")
        gamma = _point(G2, data[pos:], "the commitment steps' start gamma")
        eta = _point(G1, data[pos + _G2_BYTES:], "the commitment steps' start eta/gamma")
        pos += _G2_BYTES + _G1_BYTES
        for i in range(count):
            step, pos = _parse_step(data, pos, i + 1)
            steps.append(step)
    if pos != len(data):
        raise Phase2Error(f"{len(data) - pos} bytes after the transcript")
    return replace(t, commitment_steps=tuple(steps), gamma_start=gamma, eta_start=eta)


@dataclass(frozen=True)
class Phase2Key:
    """A proving key in phase 2: the key, its transcript, and snarkjs' H section (the odd
    Lagrange points of the domain 2n over delta; None where the key did not come from a
    powers-of-tau file or a .zkey), which a .zkey carries instead of h_query."""
    pk: ProvingKey
    transcript: Transcript
    h_odd: np.ndarray = None

    def contribute(self, name: str = "", rng=None) -> tuple:
        """(the next Phase2Key, the contribution hash): `contribute` on all three."""
        pk, transcript, chash, h_odd = contribute(self.pk, self.transcript, name, rng,
                                                  self.h_odd)
        return Phase2Key(pk, transcript, h_odd), chash

    def verify(self) -> None:
        """`verify_contributions` against this key."""
        vk = self.pk.vk
        verify_contributions(self.transcript, self.pk.delta_g1, vk.delta_g2,
                             vk.gamma_g2, vk.eta_gamma_g1)


def start_local(r1cs, backend="auto", commitment: bool = False, rng=None) -> Phase2Key:
    """The initial phase-2 key on a phase 1 drawn here (`setup(..., initial=True)`): tau,
    alpha and beta are this process's, so contributions protect nothing against it -- for
    runs without a powers-of-tau file, not for production.  Its circuit hash is snarkjs'
    recipe over the key with its h_query as the H points."""
    from .setup import setup

    pk = setup(r1cs, backend=backend, rng=rng, commitment=commitment, initial=True)
    return Phase2Key(pk, Transcript(circuit_hash(pk, pk.h_query)))


# --- contributing and verifying ----------------------------------------------------------------

def _nonzero(rnd) -> int:
    while True:
        x = rnd.randrange(R)
        if x:
            return x


def _times(group, points, k: int) -> np.ndarray:
    if points is None:
        return None
    pts = np.asarray(points, dtype=np.uint64)
    single = pts.ndim == 1 + len(group.coord_shape)
    pts = pts[None] if single else pts
    if not pts.shape[0]:
        return pts.copy()
    out = group.scalar_mul(pts, np.broadcast_to(ints_to_limbs([k % R]), (pts.shape[0], 4)))
    return out[0] if single else out


def _pok(prefix_hasher, x: int, rnd) -> tuple:
    """(s, s x, s' x, transcript) with s' = hash_to_g2(transcript)."""
    s = _times(G1, G1.encode([G1.generator])[0], _nonzero(rnd))
    sx = _times(G1, s, x)
    h = prefix_hasher.copy()
    h.update(uncompressed(G1, s) + uncompressed(G1, sx))
    t = h.digest()
    spx = _times(G2, G2.encode([hash_to_g2(t)])[0], x)
    return s, sx, spx, t


def scale_delta(pk: ProvingKey, x: int, h_odd=None) -> tuple:
    """The key with delta times x (and everything over delta times 1/x); snarkjs' H too."""
    inv = pow(x, -1, R)
    vk = replace(pk.vk, delta_g2=_times(G2, pk.vk.delta_g2, x))
    new = replace(pk, vk=vk, delta_g1=_times(G1, pk.delta_g1, x),
                  l_query=_times(G1, pk.l_query, inv), h_query=_times(G1, pk.h_query, inv),
                  eta_delta_g1=_times(G1, pk.eta_delta_g1, inv))
    return new, _times(G1, h_odd, inv)


def contribute(pk: ProvingKey, transcript: Transcript, name: str = "", rng=None,
               h_odd=None) -> tuple:
    """(key, transcript, contribution hash, snarkjs' H) after one contribution of a fresh
    secret x from the OS CSPRNG (`rng`: a random.Random in reproducible tests only).  x is
    forgotten when this returns.  `h_odd`: a .zkey's H section, scaled alike."""
    rnd = rng if rng is not None else secrets.SystemRandom()
    x = _nonzero(rnd)
    s, sx, spx, t = _pok(transcript._hasher(), x, rnd)
    new, h_odd = scale_delta(pk, x, h_odd)
    del x
    c = Contribution(new.delta_g1.copy(), s, sx, spx, t, CONTRIBUTION, name[:MAX_NAME_BYTES])
    return new, replace(transcript, contributions=transcript.contributions + (c,)), \
        c.contribution_hash(), h_odd


def contribute_commitment(pk: ProvingKey, transcript: Transcript, rng=None) -> tuple:
    """(key, transcript): gamma times a fresh g, [eta/gamma]_1 times a fresh e / g, IC times
    1 / g and [eta/delta]_1 times e, with proofs of knowledge of g and e / g."""
    if pk.eta_delta_g1 is None:
        raise ValueError("the key has no eta: it was not made for committed inputs")
    rnd = rng if rng is not None else secrets.SystemRandom()
    g, e = _nonzero(rnd), _nonzero(rnd)
    h = transcript._step_hasher(len(transcript.commitment_steps))
    pok_g = _pok(h, g, rnd)
    h.update(pok_g[3])
    pok_e = _pok(h, e * pow(g, -1, R), rnd)
    g_inv = pow(g, -1, R)
    vk = replace(pk.vk, gamma_g2=_times(G2, pk.vk.gamma_g2, g),
                 gamma_abc_g1=_times(G1, pk.vk.gamma_abc_g1, g_inv),
                 eta_gamma_g1=_times(G1, pk.vk.eta_gamma_g1, e * g_inv))
    new = replace(pk, vk=vk, eta_delta_g1=_times(G1, pk.eta_delta_g1, e))
    del g, e, g_inv
    step = CommitmentStep(vk.gamma_g2.copy(), vk.eta_gamma_g1.copy(), (pok_g, pok_e))
    start = {} if transcript.commitment_steps else {"gamma_start": pk.vk.gamma_g2.copy(),
                                                   "eta_start": pk.vk.eta_gamma_g1.copy()}
    return new, replace(transcript, commitment_steps=transcript.commitment_steps + (step,),
                        **start)


def _neg(point) -> np.ndarray:
    x, y = G1.decode(np.asarray(point)[None])[0]
    return G1.encode([(x, (-y) % P)])[0]


def same_ratio(a1, b1, a2, b2) -> bool:
    """e(a1, b2) == e(b1, a2): b1 / a1 (in G1) and b2 / a2 (in G2) have one discrete log.
    None of the points may be infinity (snarkjs' sameRatio)."""
    if not all(np.asarray(p).any() for p in (a1, b1, a2, b2)):
        return False
    return pairing_check_arrays(np.stack([a1, _neg(b1)]), np.stack([b2, a2]))


def _beacon_key(c: Contribution) -> tuple:
    """snarkjs' rngFromBeaconParams: SHA-256 iterated 2^exp times, then ChaCha20; x = Fr.fromRng,
    s = G1.fromRng."""
    digest = c.beacon_hash
    for _ in range(1 << c.beacon_iterations_exp):
        digest = hashlib.sha256(digest).digest()
    rng = _Rng(_seed(digest))
    x = rng.field(R) * pow(1 << 256, -1, R) % R
    return x, _g1_from_rng(rng)


MAX_BEACON_EXP = 24     # 2^24 SHA-256 rounds: seconds; snarkjs allows up to 63


def verify_contributions(transcript: Transcript, delta_g1, delta_g2, gamma_g2=None,
                         eta_gamma_g1=None) -> None:
    """Phase2Error unless every contribution's transcript and proofs hold, the chain of delta
    runs from the generator to the key's [delta]_1, and [delta]_2 matches it; with
    commitment steps, also their chain to the key's gamma_2 and [eta/gamma]_1."""
    g1, g2 = G1.encode([G1.generator])[0], G2.encode([G2.generator])[0]
    cur = g1
    for i, c in enumerate(transcript.contributions, start=1):
        h = transcript._hasher(i - 1)
        h.update(uncompressed(G1, c.g1_s) + uncompressed(G1, c.g1_sx))
        if h.digest() != c.transcript:
            raise Phase2Error(f"contribution {i} ({c.name or 'unnamed'}): its transcript hash "
                              f"is not the hash of the contributions before it")
        sp = G2.encode([hash_to_g2(c.transcript)])[0]
        if not same_ratio(c.g1_s, c.g1_sx, sp, c.g2_spx):
            raise Phase2Error(f"contribution {i} ({c.name or 'unnamed'}): the proof of "
                              f"knowledge of its secret does not hold")
        if not same_ratio(cur, c.delta_after, sp, c.g2_spx):
            raise Phase2Error(f"contribution {i} ({c.name or 'unnamed'}): its delta is not the "
                              f"previous delta times its secret")
        if c.kind == BEACON:
            if c.beacon_iterations_exp > MAX_BEACON_EXP:
                raise Phase2Error(f"contribution {i}: beacon of 2^{c.beacon_iterations_exp} "
                                  f"iterations, above the 2^{MAX_BEACON_EXP} this checks")
            x, s = _beacon_key(c)
            if not (np.array_equal(G1.encode([s])[0], c.g1_s)
                    and np.array_equal(_times(G1, c.g1_s, x), c.g1_sx)):
                raise Phase2Error(f"contribution {i}: the beacon does not give its key")
        cur = c.delta_after
    if not np.array_equal(cur, np.asarray(delta_g1)):
        raise Phase2Error("the key's [delta]_1 is not the last contribution's delta"
                          if transcript.contributions else
                          "no contributions, yet the key's delta is not the generator")
    if not same_ratio(g1, cur, g2, delta_g2):
        raise Phase2Error("the key's [delta]_2 does not match its [delta]_1")
    if not transcript.commitment_steps:
        return
    gamma, eta = transcript.gamma_start, transcript.eta_start
    for i, step in enumerate(transcript.commitment_steps, start=1):
        h = transcript._step_hasher(i - 1)
        for (s, sx, spx, t), before, after in ((step.pok[0], gamma, step.gamma_after),
                                               (step.pok[1], eta, step.eta_after)):
            hh = h.copy()
            hh.update(uncompressed(G1, s) + uncompressed(G1, sx))
            if hh.digest() != t:
                raise Phase2Error(f"commitment step {i}: a transcript hash does not follow")
            sp = G2.encode([hash_to_g2(t)])[0]
            if not same_ratio(s, sx, sp, spx):
                raise Phase2Error(f"commitment step {i}: a proof of knowledge does not hold")
            h.update(t)
            ok = (same_ratio(s, sx, before, after) if before.ndim == 3     # gamma: G2
                  else same_ratio(before, after, sp, spx))
            if not ok:
                raise Phase2Error(f"commitment step {i}: gamma or eta/gamma is not the one "
                                  f"before times the proven secret")
        gamma, eta = step.gamma_after, step.eta_after
    if gamma_g2 is not None and not (np.array_equal(gamma, gamma_g2)
                                     and np.array_equal(eta, eta_gamma_g1)):
        raise Phase2Error("the key's gamma or [eta/gamma]_1 is not the last commitment step's")


__all__ = ["BEACON", "CONTRIBUTION", "CommitmentStep", "Contribution", "Phase2Error", "Phase2Key",
           "circuit_hash", "lem_bytes", "start_local", "uncompressed_many",
           "Transcript", "contribute", "contribute_commitment", "hash_to_g2", "mpc_from_bytes",
           "same_ratio", "scale_delta", "transcript_from_bytes", "uncompressed",
           "verify_contributions"]
