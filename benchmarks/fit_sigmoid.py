"""Fit the slopes of the circuit's piecewise-linear sigmoid and measure its error.

The approximation (hpc_zkfl.circuit.fixedpoint): g(a) = 1/2 + the slopes over the pieces
between the knots 0, 1, 2, 4, 8 of a = |z|, flat beyond the last knot, mirrored as 1 - g(|z|)
for z < 0.  Slopes are multiples of 2^-SIGMOID_SLOPE_BITS, so that the circuit evaluates g
exactly, and g reaches exactly 1 at the last knot (so that sigmoid - y vanishes for confident
correct predictions, as with the true sigmoid).  The script searches every slope combination
within `--radius` steps of the true sigmoid's chords that meets that constraint and keeps the
one with the smallest maximum error over z >= 0 (the error over all reals, by symmetry), ties
broken by the mean error; then it
prints the error of the constants the package ships.

Usage: python benchmarks/fit_sigmoid.py [--radius 8]
"""
import argparse
import itertools

import numpy as np

from hpc_zkfl.circuit.fixedpoint import SIGMOID_KNOTS, SIGMOID_SLOPE_BITS, SIGMOID_SLOPES

STEP = 2.0 ** -SIGMOID_SLOPE_BITS
WIDTHS = np.diff(SIGMOID_KNOTS)


def pla(a, slopes):
    g = np.full_like(a, 0.5)
    prev = 0.0
    for knot, slope in zip(SIGMOID_KNOTS, list(slopes) + [0]):
        g += (slope - prev) * STEP * np.maximum(a - knot, 0.0)
        prev = slope
    return g


def max_error(slopes, a):
    return float(np.max(np.abs(pla(a, slopes) - 1 / (1 + np.exp(-a)))))


def score(slopes, a):
    """Maximum error first, then mean error on [0, 8] among equals."""
    err = np.abs(pla(a, slopes) - 1 / (1 + np.exp(-a)))
    return round(float(err.max()), 6), float(err[a <= 8].mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--radius", type=int, default=8, help="slope steps searched around each chord")
    args = ap.parse_args()
    a = np.linspace(0, 40, 400_001)
    sig = 1 / (1 + np.exp(-np.asarray(SIGMOID_KNOTS, dtype=float)))
    chords = (np.diff(sig) / WIDTHS / STEP).tolist()
    half = round(0.5 / STEP)                   # sum of slope * width that reaches 1
    coarse = a[::40]
    best, best_score = None, (float("inf"), 0.0)
    free = [range(max(0, round(c) - args.radius), round(c) + args.radius + 1) for c in chords[:-1]]
    for head in itertools.product(*free):
        rest = half - int(np.dot(head, WIDTHS[:-1]))
        if rest < 0 or rest % WIDTHS[-1]:
            continue
        slopes = (*head, rest // int(WIDTHS[-1]))
        sc = score(slopes, coarse)
        if sc < best_score:
            best, best_score = slopes, sc
    print(f"chord slopes (units of 2^-{SIGMOID_SLOPE_BITS}): {[round(c, 2) for c in chords]}")
    print(f"best slopes reaching 1 at {SIGMOID_KNOTS[-1]}: {best}, max error {max_error(best, a):.5f}")
    print(f"shipped slopes: {SIGMOID_SLOPES}, max error {max_error(SIGMOID_SLOPES, a):.5f}")


if __name__ == "__main__":
    main()
