"""Attacks: each transform on a known vector, clamping to the fixed-point range, determinism
from seeds and generators, label flips onto valid classes, proof corruption, refusals."""
import numpy as np
import pytest

from hpc_zkfl.circuit.fixedpoint import FixedPointFormat
from hpc_zkfl.names import PRIVATE_ONLY_ATTACKS
from hpc_zkfl.fl.attacks import (
    ATTACK_KINDS,
    ATTACK_OPTIONS,
    DATA_POISONING,
    DESCRIPTIONS,
    MODEL_POISONING,
    Attack,
    corrupt_proof_bytes,
    malicious_nodes,
    poison_labels,
    poison_update,
)

FMT = FixedPointFormat()                    # 16 fractional bits, 32 in all
ONE = FMT.one


def _u():
    return np.array([ONE, -2 * ONE, 3, 0, -1], dtype=np.int64)


def _gen(seed=0):
    return np.random.default_rng(seed)


def test_kinds_are_described_and_classified():
    assert set(DESCRIPTIONS) == set(ATTACK_KINDS)
    assert all(DESCRIPTIONS[k] and "\n" not in DESCRIPTIONS[k] for k in ATTACK_KINDS)
    assert set(MODEL_POISONING) | set(DATA_POISONING) | set(PRIVATE_ONLY_ATTACKS) | {"none"} \
        == set(ATTACK_KINDS)
    assert Attack("bad_share", 0.1).poisoning == "protocol"
    assert not set(MODEL_POISONING) & set(DATA_POISONING)
    assert DATA_POISONING == ("label_flip",)
    assert Attack("label_flip", 0.1).poisoning == "data"
    assert Attack("replay", 0.1).poisoning == "model" and Attack().poisoning is None
    assert Attack("scaling").description == DESCRIPTIONS["scaling"]


def test_attack_defaults_and_validation():
    a = Attack("scaling", 0.25)
    assert a.options == {"scale": 10.0} and a.fraction == 0.25
    assert Attack("sign_flip", 0.5).options == {"scale": 1.0}
    assert Attack("gaussian", 1, {"noise_std": 2}).options == {"noise_std": 2.0}
    assert Attack("replay", 0.2, {"source": "other_node"}).options == {"source": "other_node"}
    assert Attack("free_rider", 0.3).options == {}
    opts = {"scale": 3}
    Attack("scaling", 0.1, opts)
    assert opts == {"scale": 3}             # the caller's dict is not filled in
    hash(Attack("scaling", 0.1))            # frozen and hashable despite the options dict
    assert Attack("scaling", 0.1) == Attack("scaling", 0.1, {"scale": 10.0})


def test_attack_refusals():
    with pytest.raises(ValueError, match="unknown attack 'boost'; known: none, scaling, "
                                         "sign_flip, gaussian, label_flip, free_rider, replay, "
                                         "malformed"):
        Attack("boost", 0.1)
    for bad in (-0.1, 1.5, float("nan"), True, "0.1"):
        with pytest.raises(ValueError, match=r"fraction must be a number in \[0, 1\]"):
            Attack("scaling", bad)
    with pytest.raises(ValueError, match="'scaling' takes no option.*sigma.*its options: scale"):
        Attack("scaling", 0.1, {"sigma": 1})
    with pytest.raises(ValueError, match="'free_rider' takes no option.*its options: none"):
        Attack("free_rider", 0.1, {"scale": 2})
    for bad in (0, -1, float("inf"), "2", False):
        with pytest.raises(ValueError, match="scale must be a finite number > 0"):
            Attack("scaling", 0.1, {"scale": bad})
    with pytest.raises(ValueError, match="noise_std must be a finite number > 0"):
        Attack("gaussian", 0.1, {"noise_std": 0.0})
    with pytest.raises(ValueError, match="source must be one of old_round, other_node"):
        Attack("replay", 0.1, {"source": "yesterday"})
    assert set(ATTACK_OPTIONS) <= set(ATTACK_KINDS)


def test_update_transforms_on_a_known_vector():
    u = _u()
    assert poison_update(Attack("scaling", 1), u, FMT, _gen()).tolist() == \
        [10 * ONE, -20 * ONE, 30, 0, -10]
    assert poison_update(Attack("scaling", 1, {"scale": 0.5}), u, FMT, _gen()).tolist() == \
        [ONE // 2, -ONE, 2, 0, -0]          # 1.5 rounds to even: 2; -0.5 to -0
    assert poison_update(Attack("sign_flip", 1), u, FMT, _gen()).tolist() == \
        [-ONE, 2 * ONE, -3, 0, 1]
    assert poison_update(Attack("sign_flip", 1, {"scale": 3}), u, FMT, _gen()).tolist() == \
        [-3 * ONE, 6 * ONE, -9, 0, 3]
    assert poison_update(Attack("free_rider", 1), u, FMT, _gen()).tolist() == [0] * 5
    for kind in ("none", "label_flip", "replay", "malformed"):
        out = poison_update(Attack(kind, 1), u, FMT, _gen())
        assert np.array_equal(out, u)
    for kind in ATTACK_KINDS:
        assert poison_update(Attack(kind, 1), u, FMT, _gen()).dtype == np.int64


def test_gaussian_noise_in_real_units_and_deterministic():
    attack = Attack("gaussian", 1, {"noise_std": 0.5})
    u = np.zeros(20000, dtype=np.int64)
    a = poison_update(attack, u, FMT, _gen(7))
    b = poison_update(attack, u, FMT, _gen(7))
    assert np.array_equal(a, b) and a.dtype == np.int64
    assert not np.array_equal(a, poison_update(attack, u, FMT, _gen(8)))
    want = np.rint(_gen(7).normal(0.0, 0.5, size=20000) * ONE).astype(np.int64)
    assert np.array_equal(a, want)          # u + N(0, sigma^2) in real units, rounded once
    assert abs(FMT.decode(a).std() - 0.5) < 0.02
    shifted = poison_update(attack, u + 5, FMT, _gen(7))
    assert np.array_equal(shifted, a + 5)


def test_poisoned_updates_are_clamped():
    big = np.array([FMT.hi // 4, FMT.lo // 4, FMT.hi, FMT.lo], dtype=np.int64)
    out = poison_update(Attack("scaling", 1), big, FMT, _gen())
    assert out.tolist() == [FMT.hi, FMT.lo, FMT.hi, FMT.lo]
    out = poison_update(Attack("sign_flip", 1), big, FMT, _gen())
    assert out.tolist() == [-(FMT.hi // 4), -(FMT.lo // 4), -FMT.hi, FMT.hi]   # -lo > hi
    out = poison_update(Attack("gaussian", 1, {"noise_std": 1e12}), big, FMT, _gen())
    assert out.min() >= FMT.lo and out.max() <= FMT.hi
    assert set(out.tolist()) <= {FMT.lo, FMT.hi}
    # The widest format: the float bound 2^61 - 1 rounds up to 2^61; the result must not.
    wide = FixedPointFormat(16, 62)
    out = poison_update(Attack("scaling", 1), np.array([wide.hi, wide.lo]), wide, _gen())
    assert out.tolist() == [wide.hi, wide.lo]
    out = poison_update(Attack("gaussian", 1, {"noise_std": 1e30}),
                        np.array([wide.hi, wide.lo, 0]), wide, _gen())
    assert out.min() >= wide.lo and out.max() <= wide.hi
    out = poison_update(Attack("scaling", 1), np.array([2**64 - 1], dtype=np.uint64), FMT,
                        _gen())
    assert out.tolist() == [FMT.hi]


def test_poison_update_refuses_float_updates():
    with pytest.raises(TypeError, match="integer"):
        poison_update(Attack("scaling", 1), np.array([0.5]), FMT, _gen())


def test_label_flip_gives_valid_classes():
    y = np.array([0, 1, 2, 9, 5], dtype=np.int32)
    flipped = poison_labels(Attack("label_flip", 0.5), y, 10)
    assert flipped.tolist() == [9, 8, 7, 0, 4] and flipped.dtype == np.int32
    assert poison_labels(Attack("label_flip", 0.5), np.array([0, 1]), 2).tolist() == [1, 0]
    y_all = np.arange(10)
    assert sorted(poison_labels(Attack("label_flip", 1), y_all, 10).tolist()) == y_all.tolist()
    for kind in ATTACK_KINDS:
        if kind != "label_flip":
            assert poison_labels(Attack(kind, 1), y, 10) is not None
            assert np.array_equal(poison_labels(Attack(kind, 1), y, 10), y)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 9\]"):
        poison_labels(Attack("label_flip", 1), np.array([10]), 10)
    with pytest.raises(ValueError, match="n_classes"):
        poison_labels(Attack("label_flip", 1), y, 1)
    with pytest.raises(TypeError, match="labels must be integers"):
        poison_labels(Attack("label_flip", 1), np.array([0.0]), 2)


def test_malicious_nodes_count_and_determinism():
    for n, frac, count in ((10, 0.3, 3), (10, 0.0, 0), (10, 1.0, 10), (7, 0.5, 4), (10, 0.25, 2),
                           (1, 0.4, 0), (1, 0.6, 1)):
        mask = malicious_nodes(n, frac, seed=3)
        assert mask.dtype == bool and mask.shape == (n,) and int(mask.sum()) == count
    a = malicious_nodes(50, 0.2, 11)
    assert np.array_equal(a, malicious_nodes(50, 0.2, 11))
    assert not all(np.array_equal(a, malicious_nodes(50, 0.2, s)) for s in range(12, 16))
    with pytest.raises(ValueError, match="n_nodes"):
        malicious_nodes(0, 0.1, 1)
    with pytest.raises(ValueError, match="fraction"):
        malicious_nodes(5, 1.1, 1)
    with pytest.raises(ValueError, match="seed"):
        malicious_nodes(5, 0.1, -1)


def test_corrupt_proof_bytes_differs():
    proof = bytes(range(128))
    gen = _gen(3)
    ways = set()
    for _ in range(60):
        bad = corrupt_proof_bytes(proof, gen)
        assert isinstance(bad, bytes) and bad != proof
        if len(bad) < len(proof):
            ways.add("truncated")
        else:
            differing = sum(a != b for a, b in zip(bad, proof))
            ways.add("flipped" if differing <= 3 else "random")
    assert ways == {"truncated", "flipped", "random"}
    assert corrupt_proof_bytes(proof, _gen(4)) == corrupt_proof_bytes(proof, _gen(4))
    assert corrupt_proof_bytes(b"", _gen()) != b""
    assert corrupt_proof_bytes(b"\x00", _gen(1)) != b"\x00"
