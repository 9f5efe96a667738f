"""Generate tests/vectors/serialization.json: point encodings built from py_ecc integers.

Two sections:

* ``points``: random G1 / G2 points [a] G computed by py_ecc (plus the generators), each with
  its expected encodings in every format, written here directly from the integers with
  independent code (int.to_bytes, the arkworks flag rule spelled out on Python ints), so the
  tests compare the package's kernels against an implementation that shares nothing with them.
* ``published``: byte strings published by other implementations, copied verbatim (sources in
  the comments below), which the package must decode and re-encode bit for bit.

Deterministic from the seed:

    python tests/vectors/gen_serialization.py [--seed 11] [--points 3]
"""
import argparse
import json
import random
from pathlib import Path

from py_ecc import optimized_bn128 as bn

OUT = Path(__file__).resolve().parent / "serialization.json"
P = bn.field_modulus

# ---- published vectors ----------------------------------------------------------------------
# EIP-197 pairing-check input "jeff1" from go-ethereum, core/vm/testdata/precompiles/
# bn256Pairing.json: two (G1, G2) pairs of 192 bytes (G1 x || y, G2 x_im || x_re || y_im || y_re,
# big-endian); the precompile returns 1 for it (the pairing product is one).
EIP197_JEFF1 = (
    "1c76476f4def4bb94541d57ebba1193381ffa7aa76ada664dd31c16024c43f593034dd2920f673e204fee2811c678745"
    "fc819b55d3e9d294e45c9b03a76aef41209dd15ebff5d46c4bd888e51a93cf99a7329636c63514396b4a452003a35bf7"
    "04bf11ca01483bfa8b34b43561848d28905960114c8ac04049af4b6315a416782bb8324af6cfc93537a2ad1a445cfd0c"
    "a2a71acd7ac41fadbf933c2a51be344d120a2a4cf30c1bf9845f20c6fe39e07ea2cce61f0c9bb048165fe5e4de877550"
    "111e129f1cf1097710d41c4ac70fcdfa5ba2023c6ff1cbeac322de49d1b6df7c2032c61a830e3c17286de9462bf242fc"
    "a2883585b93870a73853face6a6bf411198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2"
    "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed090689d0585ff075ec9e99ad690c3395"
    "bc4b313370b38ef355acdadcd122975b12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa"
)

# arkworks (ark-serialize) canonical compressed BN254 data from Sui's Move framework tests,
# crates/sui-framework/packages/sui-framework/tests/crypto/groth16_tests.move:
# test_prepare_verifying_key_bn254: a VerifyingKey<Bn254> (alpha_g1 32 || beta_g2 64 ||
# gamma_g2 64 || delta_g2 64 || u64 count || gamma_abc_g1 32 each) and the prepared key's
# -gamma_g2 and -delta_g2, which must be the negations of the key's gamma_g2 / delta_g2;
# test_verify_groth_16_proof_bn254: a 128-byte proof A || B || C and a public input (Fr, LE).
SUI_VK = (
    "53d75f472c207c7fcf6a34bc1e50cf0d7d2f983dd2230ffcaf280362d162c3871cae3e4f91b77eadaac316fe625e3764"
    "fb39af2bb5aa25007e9bc6b116f6f02f597ad7c28c4a33da5356e656dcef4660d7375973fe0d7b6dc642d51f16b6c880"
    "6030ca5b462a3502d560df7ff62b7f1215195233f688320de19e4b3a2a2cb6120ae49bcc0abbd3cbbf06b29b489edbf8"
    "6e3b679f4e247464992145f468e3c08db41e5e09002a7170cb4cc56ae96b152d17b6b0d1b9333b41f2325c3c8a9d2e2d"
    "f98f8e2315884fae52b3c6bb329df0359daac4eff4d2e7ce729078b10d79d42f02000000000000001dcc52e058148a62"
    "2c51acfdee6e181252ec0e9717653f0be1faaf2a68222e0dd2ccf4e1e8b088efccfdb955a1ff4a0fd28ae2ccbe1a1124"
    "49ddae8738fb40b0"
)
SUI_NEG_GAMMA = ("6030ca5b462a3502d560df7ff62b7f1215195233f688320de19e4b3a2a2cb6120ae49bcc0abbd3cbbf06"
                 "b29b489edbf86e3b679f4e247464992145f468e3c00d")
SUI_NEG_DELTA = ("b41e5e09002a7170cb4cc56ae96b152d17b6b0d1b9333b41f2325c3c8a9d2e2df98f8e2315884fae52b3"
                 "c6bb329df0359daac4eff4d2e7ce729078b10d79d4af")
SUI_PROOF = (
    "dd2ef02e57d6a282df6b7f36c134ab7e55c2e04c5b8cbd7831be18e0e7224623ae8bd6c41637c10cbd02f5e68de63944"
    "61f417895ddd264d6f0ddacf68c6cd02feb8881f0efa599139a6faf4223dd8743777c4346cba52322eb466af96f2be9f"
    "813af1450f84d6f8029804f60cac1add70ad1a3d4226404f84f4022dc18caa0f"
)
SUI_PUBLIC_INPUT = "3fd7c445c6845a9399d1a7b8394c16373399a037786c169f16219359d3be840a"

# snarkjs: every Groth16 key made by `snarkjs groth16 setup` on the Hermez powers-of-tau files
# takes alpha and beta from that ceremony, so these vk_alpha_1 / vk_beta_2 values appear in many
# published verification_key.json files (copied here from Semaphore's; risc0-groth16 3.0.5,
# src/verifier.rs, carries the same alpha as ALPHA_X).  The same two points serialized by
# arkworks (compressed) open the arkworks verifying keys of such circuits published in Sui Move
# verifier modules ("e2f26dbe..." || "abb73dc1...").  vk_gamma_2 is always the G2 generator.
SNARKJS_VK = {
    "vk_alpha_1": ["20491192805390485299153009773594534940189261866228447918068658471970481763042",
                   "9383485363053290200918347156157836566562967994039712273449902621266178545958", "1"],
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
}
ARK_ALPHA_BETA = (
    "e2f26dbea299f5223b646cb1fb33eadb059d9407559d7441dfd902e3a79a4d2d"
    "abb73dc17fbc13021e2471e0c08bd67d8401f52b73d6d07483794cad4778180e"
    "0c06f33bbc4c79a9cadef253a68084d382f17788f885c9afd176f7cb2f036789"
)


# ---- expected encodings from integers ---------------------------------------------------------
def _largest(y) -> bool:
    """arkworks' rule: y > -y, Fq2 compared as (c1, c0) tuples of canonical integers."""
    neg = tuple((-c) % P for c in y)
    return (y[1], y[0]) > (neg[1], neg[0])


def _le(values, flags=0) -> str:
    raw = bytearray(b"".join(v.to_bytes(32, "little") for v in values))
    raw[-1] |= flags
    return raw.hex()


def encodings(x, y) -> dict:
    """All encodings of the affine point with coordinate tuples x, y (length 1 or 2)."""
    flag = 0x80 if _largest(y if len(y) == 2 else (y[0], 0)) else 0
    eth = b"".join(c.to_bytes(32, "big") for c in (x[::-1] + y[::-1]))
    snark = ([str(x[0]), str(y[0]), "1"] if len(x) == 1
             else [[str(c) for c in x], [str(c) for c in y], ["1", "0"]])
    return {"compressed": _le(x, flag), "uncompressed": _le(x + y, flag), "eth": eth.hex(),
            "snarkjs": snark}


def _point(pt, g2: bool):
    x, y = bn.normalize(pt)
    if g2:
        return tuple(int(c) for c in x.coeffs), tuple(int(c) for c in y.coeffs)
    return (int(x),), (int(y),)


def generate(seed: int, n_points: int) -> dict:
    rng = random.Random(seed)
    points = []
    for name, gen, g2 in (("G1", bn.G1, False), ("G2", bn.G2, True)):
        scalars = [1, bn.curve_order - 1] + [rng.randrange(2, bn.curve_order) for _ in range(n_points)]
        for a in scalars:
            x, y = _point(bn.multiply(gen, a), g2)
            points.append({"group": name, "scalar": str(a), "x": [str(c) for c in x],
                           "y": [str(c) for c in y], **encodings(x, y)})
    return {
        "description": "BN254 point encodings: arkworks compressed/uncompressed (little-endian, flags "
                       "in the last byte), Ethereum EIP-196/197 (big-endian, G2 imaginary first), "
                       "snarkjs JSON; points [scalar] G from py_ecc.optimized_bn128",
        "seed": seed,
        "points": points,
        "published": {
            "eip197_jeff1": EIP197_JEFF1,
            "sui_vk": SUI_VK,
            "sui_neg_gamma": SUI_NEG_GAMMA,
            "sui_neg_delta": SUI_NEG_DELTA,
            "sui_proof": SUI_PROOF,
            "sui_public_input": SUI_PUBLIC_INPUT,
            "snarkjs_vk": SNARKJS_VK,
            "ark_alpha_beta": ARK_ALPHA_BETA,
        },
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--points", type=int, default=3)
    args = ap.parse_args()
    OUT.write_text(json.dumps(generate(args.seed, args.points), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
