"""On-chain verification: a Solidity Groth16 verifier for a verifying key, and the calldata
of its `verifyProof` for a proof.

The contract checks Groth16's equation (Groth, EUROCRYPT 2016)

    e(A, B) = e(alpha, beta) e(IC(x), gamma) e(C, delta),   IC(x) = IC_0 + sum_i x_i IC_i,

with Ethereum's BN254 precompiles (EIP-196: ecAdd at 0x06, ecMul at 0x07; EIP-197: ecPairing
at 0x08) as ONE pairing-product check of four pairs

    e(A, B) e(alpha, -beta) e(IC(x), -gamma) e(C, -delta) = 1,

the three G2 points negated here, when the source is generated, so that the contract negates
nothing: n_public ecMul and ecAdd calls for IC(x) (none for a signal equal to 0) and one
ecPairing call.

ABI: ``verifyProof(uint256[2] a, uint256[2][2] b, uint256[2] c, uint256[N] input) returns
(bool)``, N = n_public, the shape of snarkjs' generated verifier, so calldata made for one
works for the other (`export_calldata` prints it as ``snarkjs zkey export soliditycalldata``
does).  Points use the precompiles' encoding: 32-byte big-endian integers, (0, 0) the point
at infinity, and a G2 coordinate as (imaginary, real): ``b = [[x_im, x_re], [y_im, y_re]]``.
A Solidity static array cannot be empty, so for a key without public signals the function is
``verifyProof(uint256[2] a, uint256[2][2] b, uint256[2] c)``.

What the contract does with input that is not a valid proof (it returns false, and does not
revert, in every case the ABI decoder lets through):

* a public signal >= r: false, before any precompile call (ecMul would reduce it mod r, so
  without the check x and x + r would both be accepted);
* a coordinate of A, B or C >= q: false, before any precompile call;
* A or C not on y^2 = x^3 + 3 (and not (0, 0)): false, before any precompile call;
* B not on the twist or not in its order-r subgroup: the ecPairing precompile fails, and the
  contract returns false.  A failing precompile consumes all the gas passed to it (63/64 of
  what is left, EIP-150), so such a call costs nearly its whole gas limit; the 1/64 kept back
  is ample to return false whenever the limit would have sufficed for a valid proof;
* a proof that is well formed but wrong: the pairing check fails, false.

Calldata shorter than the ABI needs, or with another selector, makes Solidity's ABI decoder
(dispatcher) revert; bytes after the arguments are ignored.  A key with LegoGroth16's
eta element (`committed`) gets a verifier of plain Groth16 proofs: proofs with a commitment D
are not accepted (D would have to be added to IC(x)).

Cost (measured in tests/groth16/test_solidity.py, solc 0.8.37 with the optimizer at 200
runs): 181,000 gas for the pairing (EIP-1108 prices) + 6,150 per non-zero signal (ecMul,
ecAdd) + about 1,400 + 400 per signal for the rest (182,402 gas with no signal, 188,971 with
one, 215,010 with five; snarkjs' verifier: 215,510 with five), execution only: a transaction
adds 21,000 and its calldata.  The IC points live in the code, unrolled, about 95 bytes of
code per signal, so keys of up to about 240 public signals fit the 24,576-byte limit on
deployed code (EIP-170; solc warns beyond it, and deployment fails).
"""
import re

import numpy as np

import hpc_zkfl
from hpc_zkfl.algebra.constants import P, R
from hpc_zkfl.algebra.curve import G1, G2

from .data_structures import Proof, VerifyingKey

Q = P                   # the base field's modulus, Solidity's usual name for it
CONTRACT_NAME = "Groth16Verifier"
PRAGMA = ">=0.8.13 <0.9.0"   # assembly ("memory-safe") needs 0.8.13
UINT256 = 1 << 256


# ---- Keccak-256 (ABI selectors; hashlib's sha3_256 is SHA3, padded differently) ---------------
def _keccak_constants():
    """Round constants and rotation offsets of Keccak-f[1600] (FIPS 202, sections 3.2.2 and
    3.2.5), computed rather than pasted."""
    state, rc, bits = 1, [], []
    for _ in range(7 * 24):               # the LFSR x^8 + x^6 + x^5 + x^4 + 1
        bits.append(state & 1)
        state <<= 1
        if state & 0x100:
            state ^= 0x171
    for rnd in range(24):
        rc.append(sum(bits[7 * rnd + j] << ((1 << j) - 1) for j in range(7)))
    rot = [[0] * 5 for _ in range(5)]
    x, y = 1, 0
    for t in range(24):
        rot[x][y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    return rc, rot


_RC, _ROT = _keccak_constants()
_MASK64 = (1 << 64) - 1


def _keccak_f(a):
    for rc in _RC:
        c = [a[x][0] ^ a[x][1] ^ a[x][2] ^ a[x][3] ^ a[x][4] for x in range(5)]
        d = [c[(x - 1) % 5] ^ (((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63)) & _MASK64)
             for x in range(5)]
        b = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                v, r = a[x][y] ^ d[x], _ROT[x][y]
                b[y][(2 * x + 3 * y) % 5] = ((v << r) | (v >> (64 - r))) & _MASK64 if r else v
        for x in range(5):
            for y in range(5):
                a[x][y] = b[x][y] ^ (~b[(x + 1) % 5][y] & b[(x + 2) % 5][y])
        a[0][0] ^= rc


def keccak256(data: bytes) -> bytes:
    """Ethereum's Keccak-256 (original Keccak padding 0x01 ... 0x80, rate 136 bytes)."""
    rate = 136
    msg = bytearray(data)
    msg.append(0x01)
    msg.extend(b"\0" * (-len(msg) % rate))
    msg[-1] |= 0x80
    a = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        for i in range(rate // 8):
            a[i % 5][i // 5] ^= int.from_bytes(msg[off + 8 * i:off + 8 * i + 8], "little")
        _keccak_f(a)
    return b"".join(a[i % 5][i // 5].to_bytes(8, "little") for i in range(4))


# ---- points as EIP-196/197 integers -------------------------------------------------------------
def _g1_ints(point) -> list:
    """A Montgomery affine G1 array -> [x, y] (infinity: [0, 0])."""
    pt = G1.decode(np.asarray(point, dtype=np.uint64)[None])[0]
    return [0, 0] if pt is None else [int(pt[0]), int(pt[1])]


def _g2_ints(point, negate: bool = False) -> list:
    """A Montgomery affine G2 array -> [[x_im, x_re], [y_im, y_re]] (infinity: zeros), with
    y negated when `negate`."""
    pt = G2.decode(np.asarray(point, dtype=np.uint64)[None])[0]
    if pt is None:
        return [[0, 0], [0, 0]]
    (x0, x1), (y0, y1) = pt
    if negate:
        y0, y1 = (-y0) % P, (-y1) % P
    return [[int(x1), int(x0)], [int(y1), int(y0)]]


def verifier_constants(vk: VerifyingKey) -> dict:
    """The integers the contract holds, by constant name: ALPHA_X/Y, NEG_BETA_*, NEG_GAMMA_*,
    NEG_DELTA_* (suffixes X_IM, X_RE, Y_IM, Y_RE: EIP-197 order) and IC{i}_X/Y."""
    if not isinstance(vk, VerifyingKey):
        raise TypeError(f"expected a VerifyingKey, got {type(vk).__name__}")
    out = {}
    out["ALPHA_X"], out["ALPHA_Y"] = _g1_ints(vk.alpha_g1)
    for name, point in (("BETA", vk.beta_g2), ("GAMMA", vk.gamma_g2), ("DELTA", vk.delta_g2)):
        (x_im, x_re), (y_im, y_re) = _g2_ints(point, negate=True)
        out.update({f"NEG_{name}_X_IM": x_im, f"NEG_{name}_X_RE": x_re,
                    f"NEG_{name}_Y_IM": y_im, f"NEG_{name}_Y_RE": y_re})
    ic = G1.decode(np.ascontiguousarray(vk.gamma_abc_g1, dtype=np.uint64))
    for i, pt in enumerate(ic):
        out[f"IC{i}_X"], out[f"IC{i}_Y"] = (0, 0) if pt is None else (int(pt[0]), int(pt[1]))
    return out


# ---- the contract --------------------------------------------------------------------------------
def function_signature(n_public: int) -> str:
    """The canonical signature of verifyProof for a key with n_public public signals."""
    if isinstance(n_public, bool) or not isinstance(n_public, int) or n_public < 0:
        raise ValueError(f"n_public must be a non-negative int, got {n_public!r}")
    tail = f",uint256[{n_public}]" if n_public else ""
    return f"verifyProof(uint256[2],uint256[2][2],uint256[2]{tail})"


def function_selector(n_public: int) -> bytes:
    """The 4-byte ABI selector of verifyProof for a key with n_public public signals."""
    return keccak256(function_signature(n_public).encode())[:4]


_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*\Z")
_SPDX = re.compile(r"[A-Za-z0-9.+\-() ]+\Z")


def export_solidity(vk: VerifyingKey, contract_name: str = CONTRACT_NAME,
                    license: str = "MIT") -> str:  # noqa: A002 -- the SPDX field's name
    """The Solidity source of a contract `contract_name` whose ``verifyProof`` accepts
    exactly the valid Groth16 proofs under `vk` (see the module docstring).  `license` is the
    SPDX identifier written on the first line.  Compiles with solc 0.8.13 or newer."""
    if not _IDENTIFIER.match(contract_name or ""):
        raise ValueError(f"not a Solidity identifier: {contract_name!r}")
    if not _SPDX.match(license or ""):
        raise ValueError(f"not an SPDX license expression: {license!r}")
    consts = verifier_constants(vk)
    n = vk.n_public
    name_width = max(len(k) for k in consts)

    def const_lines(names, indent="    "):
        return "\n".join(f"{indent}uint256 internal constant {k.ljust(name_width)} = {consts[k]};"
                         for k in names)

    g2_names = [f"NEG_{name}_{s}" for name in ("BETA", "GAMMA", "DELTA")
                for s in ("X_IM", "X_RE", "Y_IM", "Y_RE")]
    ic_names = [f"IC{i}_{c}" for i in range(n + 1) for c in "XY"]
    ind = " " * 12
    # Memory from the free-memory pointer m on (not moved: "memory-safe" allows this), the
    # ecPairing input, four 192-byte pairs:
    #   m + 0x000 A | 0x040 B | 0x0c0 alpha | 0x100 -beta | 0x180 IC(x) | 0x1c0 -gamma
    #   m + 0x240 C | 0x280 -delta
    # IC(x) is summed in place at m + 0x180, with m + 0x1c0 .. 0x220 as the ecMul scratch,
    # before -gamma is written there.  Straight-line code, no jumps but one per signal (an
    # ecMul skipped for a signal equal to 0): the failures are and-ed into `valid`.
    signal_checks = "\n".join(
        f"{ind}    valid := and(valid, lt(calldataload(add(input, {32 * i})), r))"
        for i in range(n))
    ic_steps = "\n".join(
        f"{ind}    s := calldataload(add(input, {32 * (i - 1)}))\n"
        f"{ind}    if s {{\n"
        f"{ind}        mstore(t, IC{i}_X)\n"
        f"{ind}        mstore(add(t, 0x20), IC{i}_Y)\n"
        f"{ind}        mstore(add(t, 0x40), s)\n"
        f"{ind}        valid := and(valid, staticcall(gas(), 0x07, t, 0x60, t, 0x40))\n"
        f"{ind}        valid := and(valid, staticcall(gas(), 0x06, acc, 0x80, acc, 0x40))\n"
        f"{ind}    }}" for i in range(1, n + 1))
    g2_stores = "\n".join(
        f"{ind}    mstore(add(m, {hex(off + 32 * k)}), NEG_{name}_{suffix})"
        for name, off in (("BETA", 0x100), ("GAMMA", 0x1c0), ("DELTA", 0x280))
        for k, suffix in enumerate(("X_IM", "X_RE", "Y_IM", "Y_RE")))
    on_g1 = ("and(and(lt(x, q), lt(y, q)), or(iszero(or(x, y)),\n"
             f"{ind}        eq(mulmod(y, y, q), addmod(mulmod(mulmod(x, x, q), x, q), 3, q))))")
    input_param = f", uint256[{n}] calldata input" if n else ""
    ic_block = (f"{ind}    let t := add(m, 0x1c0)\n{ind}    let s\n{ic_steps}\n" if n else "")
    return f"""// SPDX-License-Identifier: {license}
// Groth16 verifier over BN254 (alt_bn128) for one verifying key, generated by
// hpc-zkfl {hpc_zkfl.__version__} (hpc_zkfl.groth16.solidity.export_solidity).
//
// verifyProof(a, b, c, input) returns true exactly when (A, B, C) = (a, b, c) is a valid
// proof for the public signals `input` under the key below:
//     e(A, B) = e(alpha, beta) e(IC(x), gamma) e(C, delta),  IC(x) = IC_0 + sum_i x_i IC_i,
// checked with one ecPairing call (EIP-197) on four pairs,
//     e(A, B) e(alpha, -beta) e(IC(x), -gamma) e(C, -delta) = 1,
// the G2 points of the key stored negated.  Points are encoded as for the precompiles
// (EIP-196/197): (0, 0) is the point at infinity, and a G2 coordinate is written
// (imaginary part, real part): b = [[x_im, x_re], [y_im, y_re]].
// It returns false, and does not revert, for a public signal >= r, any proof coordinate
// >= q and A or C off the curve (checked before any precompile call), and for B off the
// twist or outside its subgroup (refused by ecPairing; a failing precompile consumes the
// gas passed to it: 63/64 of what is left).
pragma solidity {PRAGMA};

contract {contract_name} {{
    // Base field modulus q and scalar field modulus r (the order of G1 and G2).
    uint256 internal constant Q = {Q};
    uint256 internal constant R = {R};

    // The verifying key: alpha (G1), -beta, -gamma, -delta (G2), IC_0 .. IC_{n} (G1).
{const_lines(["ALPHA_X", "ALPHA_Y"])}
{const_lines(g2_names)}
{const_lines(ic_names)}

    /// @notice Whether (a, b, c) is a valid Groth16 proof for the public signals `input`.
    function verifyProof(uint256[2] calldata a, uint256[2][2] calldata b,
                         uint256[2] calldata c{input_param}) public view returns (bool ok) {{
        assembly ("memory-safe") {{
            let valid
            {{
                let q := Q     // (one copy of the constant on the stack: cheaper than many)
                // A and C: (0, 0) (infinity) or on y^2 = x^3 + 3, coordinates below q
                let x := calldataload(a)
                let y := calldataload(add(a, 0x20))
                valid := {on_g1}
                x := calldataload(c)
                y := calldataload(add(c, 0x20))
                valid := and(valid, {on_g1})
                // B: coordinates below q (its curve and subgroup: ecPairing refuses it otherwise)
                valid := and(valid, and(and(lt(calldataload(b), q),
                                            lt(calldataload(add(b, 0x20)), q)),
                                        and(lt(calldataload(add(b, 0x40)), q),
                                            lt(calldataload(add(b, 0x60)), q))))
            }}
            {{
                // public signals below r ({"none" if not n else "ecMul would reduce them mod r"})
                let r := R
{signal_checks or ind + "    // (no public signals)"}
            }}
            if valid {{
                let m := mload(0x40)
                // IC(x) at m + 0x180
                let acc := add(m, 0x180)
                mstore(acc, IC0_X)
                mstore(add(acc, 0x20), IC0_Y)
{ic_block}                calldatacopy(m, a, 0x40)
                calldatacopy(add(m, 0x40), b, 0x80)
                mstore(add(m, 0xc0), ALPHA_X)
                mstore(add(m, 0xe0), ALPHA_Y)
{g2_stores}
                calldatacopy(add(m, 0x240), c, 0x40)
                valid := and(valid, staticcall(gas(), 0x08, m, 0x300, m, 0x20))
                // (after a failed call m still holds A's x, and valid is 0)
                ok := and(valid, eq(mload(m), 1))
            }}
        }}
    }}
}}
"""


# ---- calldata ------------------------------------------------------------------------------------
def _as_proof(proof) -> Proof:
    if isinstance(proof, Proof):
        return proof
    if isinstance(proof, dict):
        from .formats import proof_from_snarkjs
        return proof_from_snarkjs(proof)
    raise TypeError(f"expected a Proof or a snarkjs proof dict, got {type(proof).__name__}")


def _signals(public_signals) -> list:
    out = []
    for x in public_signals:
        if isinstance(x, str):
            from hpc_zkfl.algebra.serialization import fr_from_decimal
            x = fr_from_decimal(x)
        if isinstance(x, bool) or not isinstance(x, (int, np.integer)) or not 0 <= int(x) < R:
            raise ValueError(f"public signals must be ints in [0, r), got {x!r}")
        out.append(int(x))
    return out


def calldata_arguments(proof, public_signals) -> tuple:
    """(a, b, c, input): the arguments of verifyProof as ints, b in EIP-197 order
    ([[x_im, x_re], [y_im, y_re]]).  `proof` is a Proof or a snarkjs proof dict; the signals
    are ints (or decimal strings) in [0, r)."""
    proof = _as_proof(proof)
    return (_g1_ints(proof.a), _g2_ints(proof.b), _g1_ints(proof.c), _signals(public_signals))


def _hex32(v: int) -> str:
    return f'"0x{v:064x}"'


def export_calldata(proof, public_signals) -> str:
    """The arguments of verifyProof as ``snarkjs zkey export soliditycalldata`` prints them:
    ``["0x..", "0x.."],[["0x..", "0x.."],["0x..", "0x.."]],["0x..", "0x.."],["0x..",...]``
    (each value 64 hex digits; the signals' list without spaces; no trailing newline)."""
    a, b, c, x = calldata_arguments(proof, public_signals)
    return (f"[{_hex32(a[0])}, {_hex32(a[1])}],"
            f"[[{_hex32(b[0][0])}, {_hex32(b[0][1])}],[{_hex32(b[1][0])}, {_hex32(b[1][1])}]],"
            f"[{_hex32(c[0])}, {_hex32(c[1])}],"
            f"[{','.join(_hex32(v) for v in x)}]")


def encode_verify_call(a, b, c, inputs) -> bytes:
    """selector || ABI encoding of verifyProof(a, b, c, inputs) for any uint256 values (no
    check that they are valid field elements or points: also for testing a contract with
    malformed proofs); `inputs` may be empty (a key without public signals)."""
    if len(a) != 2 or len(c) != 2 or len(b) != 2 or len(b[0]) != 2 or len(b[1]) != 2:
        raise ValueError("a and c must be pairs and b a pair of pairs")
    words = [*a, *b[0], *b[1], *c, *inputs]
    for w in words:
        if isinstance(w, bool) or not isinstance(w, (int, np.integer)) or not 0 <= int(w) < UINT256:
            raise ValueError(f"ABI words must be ints in [0, 2^256), got {w!r}")
    return function_selector(len(inputs)) + b"".join(int(w).to_bytes(32, "big") for w in words)


def verify_proof_calldata(proof, public_signals) -> bytes:
    """The transaction data of a verifyProof call (selector and ABI-encoded arguments) for a
    proof and its public signals."""
    return encode_verify_call(*calldata_arguments(proof, public_signals))


__all__ = ["CONTRACT_NAME", "calldata_arguments", "encode_verify_call", "export_calldata",
           "export_solidity", "function_selector", "function_signature", "keccak256",
           "verifier_constants", "verify_proof_calldata"]
