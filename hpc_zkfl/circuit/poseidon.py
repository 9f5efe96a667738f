"""Poseidon over the BN254 scalar field with circomlib's parameters: an integer reference and a
circuit gadget.

Poseidon is the hash of Grassi, Khovratovich, Rechberger, Roy and Schofnegger, "Poseidon: A New
Hash Function for Zero-Knowledge Proof Systems" (USENIX Security 2021, eprint 2019/458).  The
instance here is the one of circomlib (`circuits/poseidon.circom`) and circomlibjs (`poseidon`,
`poseidon_reference`), so hashes and circuits agree with circom/snarkjs tooling:

* width t = n_inputs + 1 for 1..16 inputs, initial state [0, inputs...], output state[0];
* S-box x^5 (gcd(5, r - 1) = 1, so it is a permutation of Fr);
* 8 full rounds (4 before and 4 after the partial ones) and R_P partial rounds from
  `PARTIAL_ROUNDS` (the paper's security bounds for 128 bits, rounded up as circomlib did);
* every round: add the round constants, apply the S-box (to every element in full rounds, to
  element 0 only in partial rounds), multiply by the MDS matrix: new[i] = sum_j M[i][j] old[j].

Constants are not shipped: they are regenerated per t, as circomlib's were, by the procedure of
the paper's reference script (`generate_parameters_grain.sage` in the authors' hadeshash
repository), see `_GrainLFSR` and `poseidon_parameters`.
"""
from functools import lru_cache

import numpy as np

from hpc_zkfl.algebra.constants import R

from .builder import CircuitError, LinearCombination, as_lc, linear_sum

FULL_ROUNDS = 8
# R_P for t = 2..17 (circomlib's N_ROUNDS_P).
PARTIAL_ROUNDS = (56, 57, 56, 60, 60, 63, 64, 63, 60, 66, 60, 65, 70, 60, 64, 68)
MAX_INPUTS = len(PARTIAL_ROUNDS)
_FIELD_BITS = R.bit_length()    # 254


class _GrainLFSR:
    """The paper's parameter PRNG: an 80-bit Grain-style LFSR with self-shrinking output.

    The state is seeded with the instance description, most significant bit first: field type
    (2 bits, 1 = prime field), S-box (4 bits, 0 = x^alpha), field size in bits (12), t (12),
    R_F (10), R_P (10), then thirty 1s.  Each step outputs
        b[k+80] = b[k+62] ^ b[k+51] ^ b[k+38] ^ b[k+23] ^ b[k+13] ^ b[k],
    the first 160 outputs are discarded, and the rest are read in pairs (a, b): b is kept when a
    is 1, the pair is dropped when a is 0.
    """

    _CHUNK = 18 * 1024          # raw bits per refill: a multiple of 18 (see _raw_bits), even

    def __init__(self, t: int, r_f: int, r_p: int):
        seed = (f"{1:02b}{0:04b}{_FIELD_BITS:012b}{t:012b}{r_f:010b}{r_p:010b}" + "1" * 30)
        assert len(seed) == 80
        # Bit i of the int is sequence element b[k+i]: the oldest bit is bit 0.
        self._state = int(seed[::-1], 2)
        self._buffer = ""
        self._pos = 0
        self._append(self._raw_bits(self._CHUNK)[160:])     # the warm-up outputs are dropped

    def _raw_bits(self, n: int) -> np.ndarray:
        """The next n raw LFSR outputs (n a multiple of 18), oldest first.

        The shortest tap distance from the new bit is 80 - 62 = 18, so 18 new bits depend only
        on bits already in the state and come out of one round of whole-word shifts."""
        s = self._state
        words = []
        for _ in range(n // 18):
            new = ((s >> 62) ^ (s >> 51) ^ (s >> 38) ^ (s >> 23) ^ (s >> 13) ^ s) & 0x3FFFF
            words.append(new)
            s = (s >> 18) | (new << 62)
        self._state = s
        words = np.asarray(words, dtype=np.uint32)
        return ((words[:, None] >> np.arange(18, dtype=np.uint32)) & 1).astype(np.uint8).ravel()

    def _append(self, raw: np.ndarray):
        kept = raw[1::2][raw[0::2] == 1]
        self._buffer = self._buffer[self._pos:] + (kept + ord("0")).tobytes().decode()
        self._pos = 0

    def bits(self, n: int) -> int:
        """The next n output bits as an integer, first bit most significant."""
        while len(self._buffer) - self._pos < n:
            self._append(self._raw_bits(self._CHUNK))
        out = int(self._buffer[self._pos:self._pos + n], 2)
        self._pos += n
        return out


@lru_cache(maxsize=None)
def poseidon_parameters(t: int):
    """(round_constants, mds) for width t = 2..17: round_constants is a tuple of
    (R_F + R_P) tuples of t ints, mds a t x t tuple of tuples.

    As in the reference script: the round constants are the first (R_F + R_P) * t LFSR outputs
    of 254 bits that are below r (rejection sampling); then the MDS matrix is the Cauchy matrix
    M[i][j] = 1 / (x_i + y_j) for x_0..x_{t-1}, y_0..y_{t-1} the next 2t 254-bit outputs reduced
    mod r (all 2t drawn again should two coincide or some x_i + y_j vanish).  The reference
    script then also tests the matrix against the paper's infinitely-long-subspace-trail attacks
    and draws again if it fails; circomlib's matrices are the first draw for every t = 2..17
    (the tests compare hashes at every width with circomlibjs), so that test is not repeated."""
    if not 2 <= t <= MAX_INPUTS + 1:
        raise ValueError(f"Poseidon width t must be in [2, {MAX_INPUTS + 1}], got {t}")
    r_p = PARTIAL_ROUNDS[t - 2]
    lfsr = _GrainLFSR(t, FULL_ROUNDS, r_p)
    flat = []
    while len(flat) < (FULL_ROUNDS + r_p) * t:
        c = lfsr.bits(_FIELD_BITS)
        if c < R:
            flat.append(c)
    while True:
        xy = [lfsr.bits(_FIELD_BITS) % R for _ in range(2 * t)]
        if len(set(xy)) == 2 * t and all((x + y) % R for x in xy[:t] for y in xy[t:]):
            break
    xs, ys = xy[:t], xy[t:]
    mds = tuple(tuple(pow(x + y, -1, R) for y in ys) for x in xs)
    constants = tuple(tuple(flat[r * t:(r + 1) * t]) for r in range(FULL_ROUNDS + r_p))
    return constants, mds


def _is_full_round(rnd: int, r_p: int) -> bool:
    half = FULL_ROUNDS // 2
    return rnd < half or rnd >= half + r_p


def as_field_element(x, what: str = "value") -> int:
    """x as a field element, refusing anything but an int in [0, r) (no silent reduction: a
    hash of x and of x + r would otherwise collide)."""
    if isinstance(x, bool) or not isinstance(x, (int, np.integer)):
        raise ValueError(f"{what} must be an int in [0, r), got {type(x).__name__}")
    x = int(x)
    if not 0 <= x < R:
        raise ValueError(f"{what} must be a field element in [0, r), got {x}")
    return x


def poseidon_permutation(state) -> list:
    """The Poseidon permutation of width t = len(state) (2..17) on field elements in [0, r);
    returns the whole output state (circomlib's PoseidonEx gives these)."""
    state = [as_field_element(x, f"state[{i}]") for i, x in enumerate(state)]
    t = len(state)
    if not 2 <= t <= MAX_INPUTS + 1:
        raise ValueError(f"Poseidon state must have 2..{MAX_INPUTS + 1} elements, got {t}")
    constants, mds = poseidon_parameters(t)
    r_p = PARTIAL_ROUNDS[t - 2]
    for rnd, rc in enumerate(constants):
        state = [(s + c) % R for s, c in zip(state, rc)]
        if _is_full_round(rnd, r_p):
            state = [pow(s, 5, R) for s in state]
        else:
            state[0] = pow(state[0], 5, R)
        state = [sum(m * s for m, s in zip(row, state)) % R for row in mds]
    return state


def poseidon_hash(inputs) -> int:
    """circomlib's Poseidon(n) of 1..16 field elements (ints in [0, r)): the first element of
    the permutation of [0, inputs...]."""
    inputs = list(inputs)
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise ValueError(f"Poseidon takes 1..{MAX_INPUTS} inputs, got {len(inputs)}")
    inputs = [as_field_element(x, f"input {i}") for i, x in enumerate(inputs)]
    return poseidon_permutation([0, *inputs])[0]


def _sbox(cs, x: LinearCombination, label: str) -> LinearCombination:
    """x^5 in three constraints (x^2, x^4, x^4 * x); free when x is a constant."""
    x2 = cs.square(x, label=f"{label} x^2")
    x4 = cs.square(x2, label=f"{label} x^4")
    return cs.mul(x4, x, label=f"{label} x^5")


def poseidon_permutation_gadget(cs, state, label: str = "poseidon") -> list:
    """The permutation in constraints: the output state as linear combinations.

    Only S-boxes cost constraints (3 each): round constants and the MDS mixing are folded into
    linear combinations.  An S-box on a constant (the capacity element of the first round) is
    computed at build time.  Without materialising the partial-round state the combinations
    grow by one term per partial round, which keeps the constraint count at circomlib's."""
    state = [as_lc(x) for x in state]
    t = len(state)
    if not 2 <= t <= MAX_INPUTS + 1:
        raise CircuitError(f"Poseidon state must have 2..{MAX_INPUTS + 1} elements, got {t}")
    constants, mds = poseidon_parameters(t)
    r_p = PARTIAL_ROUNDS[t - 2]
    with cs.scope(label):
        for rnd, rc in enumerate(constants):
            state = [s + c for s, c in zip(state, rc)]
            if _is_full_round(rnd, r_p):
                state = [_sbox(cs, s, f"round {rnd} sbox {i}") for i, s in enumerate(state)]
            else:
                state[0] = _sbox(cs, state[0], f"round {rnd} sbox 0")
            state = [linear_sum(state, row) for row in mds]
    return state


def poseidon_gadget(cs, inputs, label: str = "poseidon") -> LinearCombination:
    """circomlib's Poseidon(n) on 1..16 circuit values (LinearCombinations or ints): the hash as
    a linear combination (3 constraints per S-box; 240 constraints for 2 inputs)."""
    inputs = list(inputs)
    if not 1 <= len(inputs) <= MAX_INPUTS:
        raise CircuitError(f"Poseidon takes 1..{MAX_INPUTS} inputs, got {len(inputs)}")
    return poseidon_permutation_gadget(cs, [0, *inputs], label=label)[0]
