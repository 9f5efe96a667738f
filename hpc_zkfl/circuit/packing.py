"""Several small integers in one field element: dot products and sums of products shared
across the rows of a weight matrix.

A statement's dot products have small operands (fixed-point values of a few dozen bits), so
m of them fit in one element of Fr side by side: P = sum_k 2^(lam k) a_k.  A product of a
packed combination of public weights and one private input is one constraint for m rows at
once, and a packed sum of such products carries every row's dot product exactly.

Why a packed equation pins each value down.  If |a_k| < 2^(lam-1) and |b_k| < 2^(lam-1) for
every k, and lam m <= PACK_BITS = 252, then |P_a|, |P_b| < 2^(lam m) <= 2^252, so P_a = P_b
in Fr (r > 2^253) holds over the integers; and a base-2^lam expansion whose digits differ by
less than 2^lam is unique, so a_k = b_k for every k.  Every use below states both bounds: one
side's from range checks in the circuit (or checks the verifier makes on public inputs), the
other side's from the ranges of its operands.

The same idea (packing several values into a field element to share constraints) is used for
lookup arguments and for batched range checks in, e.g., Gabizon and Williamson, "plookup",
eprint 2020/315; here it is plain R1CS.
"""
from hpc_zkfl.algebra.constants import R

from .builder import CircuitError, LinearCombination, as_lc
from .fixedpoint import from_field, truncate

PACK_BITS = 252


def pack_layout(digit_bits: int) -> tuple:
    """(lam, m): digits of magnitude below 2^digit_bits go lam = digit_bits + 1 bits apart, m
    of them in one element."""
    lam = digit_bits + 1
    if digit_bits < 1 or lam > PACK_BITS:
        raise CircuitError(f"cannot pack values of {digit_bits} bits into Fr")
    return lam, PACK_BITS // lam


def pack(values, lam: int) -> LinearCombination:
    """sum_k 2^(lam k) values[k] (linear: no constraint)."""
    out = LinearCombination()
    for k, v in enumerate(values):
        out = out + as_lc(v) * (1 << (lam * k))
    return out


def _unpack_floor_hint(lam: int, m: int, shift: int):
    """The hint of `packed_affine_floor`: per digit a_k, floor(a_k / 2^shift) and (when shift
    > 0) the remainder, from the packed value."""
    def hint(packed):
        value, out = from_field(packed), []
        for _ in range(m):
            digit = value & ((1 << lam) - 1)
            if digit >> (lam - 1):
                digit -= 1 << lam                   # balanced digits: [-2^(lam-1), 2^(lam-1))
            value = (value - digit) >> lam
            quotient = digit >> shift
            out.append(quotient % R)
            if shift:
                out.append(digit - (quotient << shift))
        return out
    return hint


def packed_affine_floor(cs, rows, inputs, offsets, shift: int, digit_bits: int, fmt,
                        label: str = "packed rows") -> list:
    """z_k = floor((sum_j rows[k][j] inputs[j] + offsets[k]) / 2^shift) for every row k: one
    constraint per input and pack of m rows, one per pack, and shift + 1 per row (its
    remainder's range check).

    The caller must range-check every z_k to (-2^(T-1), 2^(T-1)) (T = fmt.total_bits, with
    T + shift <= digit_bits) and guarantee |sum_j rows[k][j] inputs[j] + offsets[k]| <
    2^digit_bits from its operands' ranges: then both expansions of the packed sum have digits
    below 2^digit_bits and the z_k are the floors (module docstring).  The z_k come back
    unchecked."""
    lam, m = pack_layout(digit_bits)
    out = []
    with cs.scope(label):
        for start in range(0, len(rows), m):
            out.extend(_floor_pack(cs, rows, inputs, offsets, shift, fmt, lam,
                                   list(range(start, min(start + m, len(rows))))))
    return out


def _floor_pack(cs, rows, inputs, offsets, shift, fmt, lam, group) -> list:
    if len(group) == 1:                     # nothing to share: the plain truncation
        (k,) = group
        acc = cs.sum([cs.mul(rows[k][j], x, label=f"input {j}") for j, x in enumerate(inputs)])
        return [truncate(cs, acc + offsets[k], shift, fmt, check_output=False, label=f"row {k}")]
    start = group[0]
    with cs.scope(f"rows {start}-{group[-1]}"):
        acc = pack([offsets[k] for k in group], lam)
        for j, x in enumerate(inputs):
            acc = acc + cs.mul(pack([rows[k][j] for k in group], lam), x, label=f"input {j}")
        parts = cs.hint(_unpack_floor_hint(lam, len(group), shift), acc,
                        n_outputs=len(group) * (2 if shift else 1), label="digit")
        z = parts[0::2] if shift else parts
        digits = []
        for k, zk in zip(group, z):
            if shift:
                rem = parts[2 * (k - start) + 1]
                cs.range_check(rem, shift, label=f"remainder {k}")
                digits.append(zk * (1 << shift) + rem)
            else:
                digits.append(zk)
        cs.assert_equal(pack(digits, lam), acc, label="digits")
    return z


def packed_outer_equal(cs, targets, lefts, rights, scale: int, digit_bits: int,
                       label: str = "packed outer") -> None:
    """Assert targets[k][j] = scale * sum_i lefts[i][k] * rights[i][j] for every k and j: one
    constraint per (i, j) (none where rights[i][j] is a constant) and per pack of m rows, and
    one per (j, pack).  The caller guarantees that every target and every
    scale * sum_i lefts[i][k] rights[i][j] has magnitude below 2^digit_bits (the targets'
    from checks the verifier makes on public inputs, the sums' from their operands' ranges)."""
    lam, m = pack_layout(digit_bits)
    n_rows, n_cols = len(targets), len(targets[0]) if targets else 0
    for start in range(0, n_rows, m):
        group = list(range(start, min(start + m, n_rows)))
        with cs.scope(label), cs.scope(f"rows {start}-{group[-1]}"):
            packed = [pack([left[k] for k in group], lam) for left in lefts]
            for j in range(n_cols):
                total = LinearCombination()
                for i, left in enumerate(packed):
                    total = total + cs.mul(left, rights[i][j], label=f"product {i},{j}")
                cs.assert_equal(pack([targets[k][j] for k in group], lam), total * scale,
                                label=f"column {j}")


__all__ = ["PACK_BITS", "pack", "pack_layout", "packed_affine_floor", "packed_outer_equal"]
