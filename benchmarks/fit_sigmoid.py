"""Fit the slopes of the circuit's piecewise-linear sigmoid and measure its error.

The approximation (hpc_zkfl.circuit.fixedpoint): g(a) = 1/2 + sum of slopes over the pieces
[0,1), [1,2), [2,4), [4,8) of a = |z|, flat beyond 8, mirrored as 1 - g(|z|) for z < 0.
Slopes are multiples of 2^-8 so that the circuit evaluates g exactly.  This script searches
every combination of slopes within +-`--radius` steps of the chords of the true sigmoid and
keeps the one with the smallest maximum error over z >= 0 (which is also the error over all
reals, by symmetry), then prints the error of the constants the package ships.

Usage: python benchmarks/fit_sigmoid.py [--radius 6]
"""
import argparse
import itertools

import numpy as np

from hpc_zkfl.circuit.fixedpoint import SIGMOID_KNOTS, SIGMOID_SLOPE_BITS, SIGMOID_SLOPES

STEP = 2.0 ** -SIGMOID_SLOPE_BITS


def pla(a, slopes):
    g = np.full_like(a, 0.5)
    prev = 0.0
    for knot, slope in zip(SIGMOID_KNOTS, list(slopes) + [0]):
        g += (slope - prev) * STEP * np.maximum(a - knot, 0.0)
        prev = slope
    return g


def max_error(slopes, a):
    return float(np.max(np.abs(pla(a, slopes) - 1 / (1 + np.exp(-a)))))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--radius", type=int, default=6, help="slope steps searched around each chord")
    args = ap.parse_args()
    a = np.linspace(0, 40, 400_001)
    sig = 1 / (1 + np.exp(-np.asarray(SIGMOID_KNOTS, dtype=float)))
    chords = [(sig[j + 1] - sig[j]) / (SIGMOID_KNOTS[j + 1] - SIGMOID_KNOTS[j]) / STEP
              for j in range(len(SIGMOID_KNOTS) - 1)]
    coarse = a[::40]
    ranges = [range(max(0, round(c) - args.radius), round(c) + args.radius + 1) for c in chords]
    best = min(itertools.product(*ranges), key=lambda s: max_error(s, coarse))
    print(f"chord slopes (units of 2^-{SIGMOID_SLOPE_BITS}): {[round(c, 2) for c in chords]}")
    print(f"best slopes: {best}, max error {max_error(best, a):.5f}")
    print(f"shipped slopes: {SIGMOID_SLOPES}, max error {max_error(SIGMOID_SLOPES, a):.5f}")


if __name__ == "__main__":
    main()
