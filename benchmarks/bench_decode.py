"""Point decoding and subgroup checks, the root rank's first step on every proof.

Batch decode of 1,000 compressed points / Groth16 proofs (A in G1, B in G2, C in G1, 128
bytes) and the G2 subgroup check (eprint 2022/348) against the check by definition [r]Q = O;
py_ecc's [r]Q side by side.

    python benchmarks/bench_decode.py [--n 1000]
"""
import argparse

from _common import best_of, fmt_time, machine, table
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.msm import random_points
from hpc_zkfl.algebra.serialization import COMPRESSED, ETH, decode_points, encode_points
from hpc_zkfl.algebra.subgroup import g2_in_subgroup, g2_in_subgroup_by_order


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    n = ap.parse_args().n
    g1, _ = random_points(G1, 2 * n, seed=1)
    g2, _ = random_points(G2, n, seed=2)
    rows = []

    def row(label, fn, repeat=5):
        fn()  # compile or load from the cache outside the timing
        sec = best_of(fn, repeat=repeat)
        rows.append([label, fmt_time(sec), fmt_time(sec / n)])
        return sec

    fast = row(f"G2 subgroup check, {n} points (psi criterion)", lambda: g2_in_subgroup(g2))
    row(f"G2 subgroup check, {n} points ([r]Q = O)", lambda: g2_in_subgroup_by_order(g2), 2)
    for group, pts in ((G1, g1[:n]), (G2, g2)):
        for fmt in (COMPRESSED, ETH):
            data = encode_points(group, pts, fmt)
            res = decode_points(group, data, fmt)
            assert res.ok.all()
            row(f"decode {n} {group.name} points, {fmt}", lambda: decode_points(group, data, fmt))
    a = encode_points(G1, g1[:n], COMPRESSED)
    b = encode_points(G2, g2, COMPRESSED)
    c = encode_points(G1, g1[n:], COMPRESSED)

    def decode_proofs():
        return (decode_points(G1, a).ok & decode_points(G2, b).ok & decode_points(G1, c).ok).all()

    assert decode_proofs()
    row(f"decode {n} compressed Groth16 proofs (A, B, C; with subgroup check)", decode_proofs)

    from py_ecc import optimized_bn128 as bn
    from hpc_zkfl.backends.reference import to_py_ecc
    pts = [to_py_ecc(G2, q) for q in G2.decode(g2[:3])]
    ref = best_of(lambda: [bn.is_inf(bn.multiply(q, bn.curve_order)) for q in pts], repeat=1) / 3
    rows.append(["py_ecc [r]Q = O (reference)", "",
                 f"{fmt_time(ref)} (the psi check is {ref / (fast / n):.0f}x faster)"])
    print(f"Machine: {machine()}\n")
    print(table(["operation", "total", "per point / proof"], rows))


if __name__ == "__main__":
    main()
