"""The optimal ate pairing against py_ecc: frozen values (tests/vectors/pairing.json, made by
tests/vectors/gen_pairing.py), bilinearity, non-degeneracy, products and checks."""
import json
from pathlib import Path

import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn
from py_ecc.fields import optimized_bn128_FQ12 as PyFQ12

from hpc_zkfl.algebra import pairing as pr
from hpc_zkfl.algebra.constants import G1_GENERATOR, G2_GENERATOR, P, R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fq12 import fq12_from_coeffs, fq12_from_py_ecc, fq12_to_py_ecc
from hpc_zkfl.backends.reference import from_py_ecc

VECTORS = json.loads((Path(__file__).resolve().parents[1] / "vectors" / "pairing.json").read_text())


def g1_point(v):
    return tuple(int(c) for c in v)


def g2_point(v):
    return tuple(tuple(int(c) for c in coord) for coord in v)


def _py_g1(pt):
    return (bn.FQ(pt[0]), bn.FQ(pt[1]), bn.FQ.one())


def from_py_ecc_g1(pt):
    return from_py_ecc(G1, pt)


def from_py_ecc_g2(pt):
    return from_py_ecc(G2, pt)


def neg_g1(pt):
    return (pt[0], (-pt[1]) % P)


def value(f):
    return fq12_to_py_ecc(f)


@pytest.fixture(scope="module")
def base_pairing():
    return value(pr.pairing(G1_GENERATOR, G2_GENERATOR))


@pytest.fixture(scope="module")
def vector_points():
    return [(g1_point(v["g1"]), g2_point(v["g2"])) for v in VECTORS["pairs"]]


# ---- values ------------------------------------------------------------------------------
def test_generator_pairing_matches_py_ecc(base_pairing):
    assert base_pairing == bn.pairing(bn.G2, bn.G1)


@pytest.mark.parametrize("k", range(len(VECTORS["pairs"])))
def test_pairing_matches_frozen_vectors(k):
    v = VECTORS["pairs"][k]
    got = pr.pairing(g1_point(v["g1"]), g2_point(v["g2"]))
    assert np.array_equal(got, fq12_from_coeffs([int(c) for c in v["pairing"]]))


def test_final_exponentiation_matches_frozen_vector():
    fe = VECTORS["final_exponentiation"]
    f = fq12_from_coeffs([int(c) for c in fe["f"]])
    expect = fq12_from_coeffs([int(c) for c in fe["result"]])
    assert np.array_equal(pr.final_exponentiation(f), expect)


def test_array_and_python_inputs_agree(vector_points):
    p, q = vector_points[0]
    by_python = pr.pairing(p, q)
    by_array = pr.pairing(G1.encode([p])[0], G2.encode([q])[0])
    assert np.array_equal(by_python, by_array)
    assert np.array_equal(pr.multi_pairing(G1.encode([p]), G2.encode([q])), by_python)
    assert np.array_equal(pr.multi_pairing([p], [q]), by_python)
    g1, g2 = G1.encode([p]), G2.encode([q])
    g1.flags.writeable = g2.flags.writeable = False
    assert np.array_equal(pr.multi_pairing(g1, g2), by_python)


# ---- bilinearity, non-degeneracy ---------------------------------------------------------
def test_bilinearity_from_vectors(base_pairing):
    # Each frozen vector is e([a] G1, [b] G2), which must equal e(G1, G2)^(ab).
    for v in VECTORS["pairs"][:2]:
        a, b = int(v["a"]), int(v["b"])
        expect = base_pairing ** (a * b % R)
        frozen = fq12_from_coeffs([int(c) for c in v["pairing"]])
        assert np.array_equal(fq12_from_py_ecc(expect), frozen)


def test_bilinearity_scalar_moves_across(rng, vector_points):
    p, q = vector_points[1]
    a = rng.randrange(1, R)
    ap = from_py_ecc_g1(bn.multiply(_py_g1(p), a))
    aq = from_py_ecc_g2(bn.multiply(_py_g2(q), a))
    e_ap_q = pr.pairing(ap, q)
    assert np.array_equal(e_ap_q, pr.pairing(p, aq))
    assert value(e_ap_q) == value(pr.pairing(p, q)) ** a


def _py_g2(q):
    return (bn.FQ2(list(q[0])), bn.FQ2(list(q[1])), bn.FQ2.one())


def test_bilinearity_in_each_argument(vector_points, base_pairing):
    (p1, q1), (p2, q2) = vector_points[:2]
    p12 = from_py_ecc_g1(bn.add(_py_g1(p1), _py_g1(p2)))
    assert value(pr.pairing(p12, q1)) == value(pr.pairing(p1, q1)) * value(pr.pairing(p2, q1))
    q12 = from_py_ecc_g2(bn.add(_py_g2(q1), _py_g2(q2)))
    assert value(pr.pairing(p1, q12)) == value(pr.pairing(p1, q1)) * value(pr.pairing(p1, q2))
    # e(-P, Q) = e(P, Q)^-1
    assert value(pr.pairing(neg_g1(p1), q1)) * value(pr.pairing(p1, q1)) == PyFQ12.one()


def test_non_degenerate_and_in_gt(base_pairing):
    assert base_pairing != PyFQ12.one()
    assert base_pairing ** R == PyFQ12.one()


def test_infinity_gives_one(vector_points):
    p, q = vector_points[0]
    for a, b in [(p, None), (None, q), (None, None)]:
        assert pr.fq12_is_one(pr.pairing(a, b))
        assert pr.fq12_is_one(pr.miller_loop([a], [b]))
    # Infinity pairs inside a product change nothing.
    with_inf = pr.multi_pairing([p, None, p], [q, q, None])
    assert np.array_equal(with_inf, pr.pairing(p, q))


# ---- products and checks -----------------------------------------------------------------
def test_multi_pairing_is_product(vector_points):
    ps, qs = zip(*vector_points[:3])
    product = PyFQ12.one()
    for p, q in zip(ps, qs):
        product = product * value(pr.pairing(p, q))
    assert value(pr.multi_pairing(list(ps), list(qs))) == product


def test_parallel_split_equals_serial(vector_points):
    # 8 pairs: above PARALLEL_MIN_PAIRS, so split over threads; the Miller products are the
    # same field element however the pairs are grouped.
    pts = (vector_points * 2)
    g1, g2 = G1.encode([p for p, _ in pts]), G2.encode([q for _, q in pts])
    empty1, emptyp = pr._EMPTY_G1, pr._EMPTY_PREPARED
    serial = pr._miller_partials(g1, g2, empty1, emptyp, threads=1)
    split = pr._miller_partials(g1, g2, empty1, emptyp, threads=2)
    assert serial.shape[0] == 1 and split.shape[0] == 2
    assert np.array_equal(pr.fq12_mul_values(split), serial[0])
    assert np.array_equal(pr.multi_pairing(g1, g2), pr._final_exp_of(serial))


@pytest.mark.parametrize("n, m, chunks", [(4, 0, 2), (1, 3, 2), (0, 5, 2), (7, 2, 3), (2, 0, 4)])
def test_chunk_bounds_cover_each_pair_once(n, m, chunks):
    b = pr._chunk_bounds(n, m, chunks)
    assert b.shape == (chunks, 4)
    plain = [i for lo, hi, _, _ in b for i in range(lo, hi)]
    prepared = [i for _, _, lo, hi in b for i in range(lo, hi)]
    assert plain == list(range(n)) and prepared == list(range(m))


def test_pairing_check(vector_points):
    p, q = vector_points[0]
    assert pr.pairing_check([(p, q), (neg_g1(p), q)])
    assert not pr.pairing_check([(p, q), (p, q)])
    assert pr.pairing_check([])
    assert pr.pairing_check([(None, q), (p, None)])
    assert not pr.pairing_check([(p, q)])
    # Array-form pairs and the array entry point.
    a1, a2 = G1.encode([p, neg_g1(p)]), G2.encode([q, q])
    assert pr.pairing_check([(a1[0], a2[0]), (a1[1], a2[1])])
    assert pr.pairing_check_arrays(a1, a2)
    assert np.array_equal(pr.multi_pairing(list(a1), list(a2)), pr.multi_pairing(a1, a2))
    assert not pr.pairing_check_arrays(G1.encode([p, p]), a2)


def test_pairing_check_groth16_shape(vector_points):
    # e(aP, bQ) e(-abP, Q) = 1 with four pairs mixing plain and prepared G2 points.
    (p, q), (p2, q2) = vector_points[:2]
    a, b = 12345, 67890
    ap = from_py_ecc_g1(bn.multiply(_py_g1(p), a))
    bq = from_py_ecc_g2(bn.multiply(_py_g2(q), b))
    abp = from_py_ecc_g1(bn.multiply(_py_g1(p), a * b))
    prep_q, prep_q2 = pr.prepare_g2(q), pr.prepare_g2(q2)
    assert pr.pairing_check([(ap, bq), (neg_g1(abp), prep_q), (p2, q2), (neg_g1(p2), prep_q2)])
    assert not pr.pairing_check([(ap, bq), (abp, prep_q), (p2, q2), (neg_g1(p2), prep_q2)])
    g1p = G1.encode([neg_g1(abp), neg_g1(p2)])
    assert pr.pairing_check_arrays(G1.encode([ap, p2]), G2.encode([bq, q2]), g1p,
                                   np.stack([prep_q, prep_q2]))


def test_independent_checks_each_match_pairing_check(vector_points):
    # Check c: e(a_c P, bQ) e(-a_c b P, Q) e(P2, Q2) = 1 with Q, Q2 prepared, shared by all
    # checks; the odd checks are spoiled by a wrong scalar.
    (p, q), (p2, q2) = vector_points[:2]
    b = 4242
    bq = from_py_ecc_g2(bn.multiply(_py_g2(q), b))
    plain_g1, plain_g2, prepared_g1, expected = [], [], [], []
    for c, a in enumerate([3, 5, 7, 11, 13]):
        ap = from_py_ecc_g1(bn.multiply(_py_g1(p), a))
        abp = from_py_ecc_g1(bn.multiply(_py_g1(p), a * b + c % 2))
        plain_g1.append(G1.encode([ap]))
        plain_g2.append(G2.encode([bq]))
        prepared_g1.append(G1.encode([neg_g1(abp), p2, neg_g1(p2)]))
        expected.append(c % 2 == 0)
    prepared = pr.prepare_g2(G2.encode([q, q2, q2]))
    got = pr.pairing_checks_arrays(np.stack(plain_g1), np.stack(plain_g2),
                                   np.stack(prepared_g1), prepared)
    assert got.tolist() == expected
    for c in range(5):
        assert pr.pairing_check_arrays(plain_g1[c], plain_g2[c], prepared_g1[c],
                                       prepared) == expected[c]
    empty = pr.pairing_checks_arrays(np.zeros((0, 1, 2, 4), np.uint64),
                                     np.zeros((0, 1, 2, 2, 4), np.uint64),
                                     np.zeros((0, 3, 2, 4), np.uint64), prepared)
    assert empty.shape == (0,)
    with pytest.raises(ValueError):
        pr.pairing_checks_arrays(np.stack(plain_g1), np.stack(plain_g2)[:4],
                                 np.stack(prepared_g1), prepared)
    with pytest.raises(ValueError):
        pr.pairing_checks_arrays(np.stack(plain_g1), np.stack(plain_g2),
                                 np.stack(prepared_g1), prepared[:2])


# ---- prepared G2 -------------------------------------------------------------------------
def test_prepared_miller_loop_equals_plain(vector_points):
    ps, qs = zip(*vector_points)
    plain = pr.miller_loop(list(ps), list(qs))
    prepared = pr.prepare_g2(G2.encode(qs))
    assert prepared.shape == (len(qs), pr.N_LINES, 3, 2, 4)
    assert np.array_equal(pr.miller_loop_prepared(list(ps), prepared), plain)
    one = pr.prepare_g2(qs[0])
    assert np.array_equal(one, prepared[0])
    assert np.array_equal(pr.miller_loop_prepared([ps[0]], one), pr.miller_loop([ps[0]], [qs[0]]))


def test_prepared_infinity(vector_points):
    p, q = vector_points[0]
    inf = pr.prepare_g2(None)
    assert not inf.any()
    assert pr.fq12_is_one(pr.miller_loop_prepared([p], inf))
    assert pr.pairing_check([(p, inf)])


# ---- input validation ----------------------------------------------------------------------
def test_bad_inputs_raise(vector_points):
    p, q = vector_points[0]
    with pytest.raises(ValueError):
        pr.pairing((1, 2, 3), q)
    with pytest.raises(ValueError):
        pr.pairing((P, 2), q)                      # coordinate not reduced
    with pytest.raises(ValueError):
        pr.pairing(p, (1, 2))
    with pytest.raises(ValueError):
        pr.pairing(p, ((1, 2), (3, -4)))
    with pytest.raises(ValueError):
        pr.multi_pairing(np.zeros((2, 2, 4), np.uint64), np.zeros((3, 2, 2, 4), np.uint64))
    with pytest.raises(ValueError):
        pr.multi_pairing(np.zeros((2, 3, 4), np.uint64), np.zeros((2, 2, 2, 4), np.uint64))
    with pytest.raises(ValueError):
        pr.multi_pairing(np.zeros((1, 2, 4)), np.zeros((1, 2, 2, 4), np.uint64))   # float limbs
    with pytest.raises(ValueError):
        pr.pairing_check([(p,)])
    with pytest.raises(ValueError):
        pr.pairing_check(42)
    with pytest.raises(ValueError):
        pr.multi_pairing([p], 7)
    with pytest.raises(ValueError):
        pr.miller_loop_prepared([p], np.zeros((pr.N_LINES - 1, 3, 2, 4), np.uint64))
    with pytest.raises(ValueError):
        pr.final_exponentiation(np.zeros((12, 4), np.uint64))
