"""Generate tests/vectors/pairing.json: BN254 pairing values computed by py_ecc.

py_ecc's pairing costs about a second and a final exponentiation by (p^12 - 1)/r a few,
so the pairing tests compare against these frozen values instead of calling py_ecc each
run.  Deterministic from the seed:

    python tests/vectors/gen_pairing.py [--seed 7] [--pairs 4]

Contents: `pairs`: random scalars a, b with P = [a] G1, Q = [b] G2 (affine Python ints) and
e(P, Q) as the 12 coefficients of py_ecc's FQ12 basis (decimal strings); `final_exponentiation`:
a random Fq12 element f and f^((p^12 - 1)/r).
"""
import argparse
import json
import random
from pathlib import Path

from py_ecc import optimized_bn128 as bn
from py_ecc.fields import optimized_bn128_FQ12 as FQ12

OUT = Path(__file__).resolve().parent / "pairing.json"


def _g1(pt):
    x, y = bn.normalize(pt)
    return [str(int(x)), str(int(y))]


def _g2(pt):
    x, y = bn.normalize(pt)
    return [[str(int(c)) for c in x.coeffs], [str(int(c)) for c in y.coeffs]]


def _fq12(f):
    return [str(int(c)) for c in f.coeffs]


def generate(seed: int, n_pairs: int) -> dict:
    rng = random.Random(seed)
    pairs = []
    for _ in range(n_pairs):
        a, b = rng.randrange(1, bn.curve_order), rng.randrange(1, bn.curve_order)
        p, q = bn.multiply(bn.G1, a), bn.multiply(bn.G2, b)
        pairs.append({"a": str(a), "b": str(b), "g1": _g1(p), "g2": _g2(q),
                      "pairing": _fq12(bn.pairing(q, p))})
    f = FQ12([rng.randrange(bn.field_modulus) for _ in range(12)])
    fe = f ** ((bn.field_modulus ** 12 - 1) // bn.curve_order)
    return {
        "description": "BN254 optimal ate pairing values from py_ecc.optimized_bn128; Fq12 values "
                       "as coefficients of w^0..w^11 in Fq[w]/(w^12 - 18 w^6 + 82)",
        "seed": seed,
        "pairs": pairs,
        "final_exponentiation": {"f": _fq12(f), "result": _fq12(fe)},
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--pairs", type=int, default=4)
    args = ap.parse_args()
    data = generate(args.seed, args.pairs)
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
