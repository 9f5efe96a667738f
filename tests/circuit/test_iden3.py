"""iden3 .r1cs / .wtns files: layout checked against an independent encoder written from the
format specification, round trips, and refusal of malformed files."""
import importlib.util
import json
import os
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest

from hpc_zkfl.algebra.constants import P, R
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.circuit import (
    ConstraintSystem,
    Iden3FormatError,
    load_r1cs,
    load_wtns,
    r1cs_from_bytes,
    r1cs_to_bytes,
    save_r1cs,
    save_wtns,
    wtns_from_bytes,
    wtns_to_bytes,
)

BLS12_381_R = 0x73EDA753299D7D483339D80809A1D80553BDA402FFFE5BFEFFFFFFFF00000001


# an independent encoder, written from the specification ----------------------------------------
def container(magic, version, sections):
    out = magic + struct.pack("<II", version, len(sections))
    for kind, body in sections:
        out += struct.pack("<IQ", kind, len(body)) + body
    return out


def header(n_wires, n_out, n_pub, n_prv, n_labels, m, prime=R, n8=32):
    return (struct.pack("<I", n8) + prime.to_bytes(n8, "little")
            + struct.pack("<IIIIQI", n_wires, n_out, n_pub, n_prv, n_labels, m))


def lc_bytes(terms):
    return struct.pack("<I", len(terms)) + b"".join(
        struct.pack("<I", w) + (c % (1 << 256)).to_bytes(32, "little") for w, c in terms)


def constraints_bytes(constraints):
    return b"".join(lc_bytes(a) + lc_bytes(b) + lc_bytes(c) for a, b, c in constraints)


def r1cs_file(n_wires=4, counts=(1, 0, 2), constraints=None, labels=None, n_labels=None,
              prime=R, n8=32, magic=b"r1cs", version=1, extra=(), order=(1, 2, 3)):
    """Multiplier by default: wires [1, c, a, b], constraint a * b = c ((R-1) * -a * b = -c)."""
    if constraints is None:
        constraints = [([(2, R - 1)], [(3, 1)], [(1, R - 1)])]
    labels = list(range(n_wires)) if labels is None else labels
    n_labels = len(labels) if n_labels is None else n_labels
    body = {1: header(n_wires, *counts, n_labels, len(constraints), prime, n8),
            2: constraints_bytes(constraints),
            3: b"".join(struct.pack("<Q", x) for x in labels)}
    return container(magic, version, [(k, body[k]) for k in order] + list(extra))


def wtns_file(values, prime=R, n8=32, magic=b"wtns", version=2, n=None):
    n = len(values) if n is None else n
    head = struct.pack("<I", n8) + prime.to_bytes(n8, "little") + struct.pack("<I", n)
    return container(magic, version, [(1, head), (2, b"".join(v.to_bytes(n8, "little") for v in values))])


def same_r1cs(a, b):
    assert (a.n_wires, a.n_outputs, a.n_public_inputs, a.n_private_inputs) == \
        (b.n_wires, b.n_outputs, b.n_public_inputs, b.n_private_inputs)
    for name in "ABC":
        x, y = getattr(a, name), getattr(b, name)
        assert np.array_equal(x.indptr, y.indptr) and np.array_equal(x.wires, y.wires)
        assert np.array_equal(x.coeffs, y.coeffs)
    assert np.array_equal(a.wire_to_label, b.wire_to_label)


def sample_circuit():
    cs = ConstraintSystem()
    x, y = cs.private_input("x"), cs.public_input("y")
    bits = cs.to_bits(x, 10)
    cs.public_output("z", cs.select(bits[3], cs.mul(x, y) - 7, y * (R - 2)))
    cs.assert_equal(cs.is_zero(x - y), 0)
    return cs.compile()


# layout -------------------------------------------------------------------------------------------
def test_multiplier_layout_matches_the_specification():
    cs = ConstraintSystem()
    a, b = cs.private_input("a"), cs.private_input("b")
    cs.public_output("c", cs.mul(a, b))
    r1cs, solver = cs.compile()
    # the builder's rows: constraint 0 is a * b = t, constraint 1 is t * 1 = c
    expected = r1cs_file(n_wires=5, constraints=[([(2, 1)], [(3, 1)], [(4, 1)]),
                                                 ([(4, 1)], [(0, 1)], [(1, 1)])], order=(2, 1, 3))
    assert r1cs_to_bytes(r1cs) == expected
    sol = solver.solve({}, {"a": 6, "b": 7})
    assert wtns_to_bytes(sol.witness) == wtns_file([1, 42, 6, 7, 42])


def test_coefficients_are_standard_form_not_montgomery():
    data = r1cs_file()
    r1cs = r1cs_from_bytes(data)
    assert r1cs.A.rows() == [{2: R - 1}] and r1cs.B.rows() == [{3: 1}] and r1cs.C.rows() == [{1: R - 1}]
    assert (R - 1).to_bytes(32, "little") in data and FR.element(R - 1) != tuple(
        int.from_bytes((R - 1).to_bytes(32, "little")[8 * k:8 * k + 8], "little") for k in range(4))
    w = wtns_from_bytes(wtns_file([1, 12, 3, 4]))
    assert FR.decode(w) == [1, 12, 3, 4]
    assert r1cs.unsatisfied(w) is None
    assert r1cs.unsatisfied(wtns_from_bytes(wtns_file([1, 13, 3, 4]))) == 0
    assert r1cs_to_bytes(r1cs) == r1cs_file(order=(2, 1, 3))


# round trips --------------------------------------------------------------------------------------
def test_r1cs_round_trip(tmp_path):
    r1cs, solver = sample_circuit()
    data = r1cs_to_bytes(r1cs)
    back = r1cs_from_bytes(data)
    same_r1cs(r1cs, back)
    assert r1cs_to_bytes(back) == data
    save_r1cs(r1cs, tmp_path / "c.r1cs")
    same_r1cs(r1cs, load_r1cs(tmp_path / "c.r1cs"))
    same_r1cs(r1cs, load_r1cs(str(tmp_path / "c.r1cs")))
    sol = solver.solve({"y": 5}, {"x": 8})
    assert back.unsatisfied(sol.witness) is None


def test_wtns_round_trip(tmp_path, rng):
    r1cs, solver = sample_circuit()
    sol = solver.solve({"y": 5}, {"x": 1000})
    data = wtns_to_bytes(sol.witness)
    assert np.array_equal(wtns_from_bytes(data), sol.witness)
    save_wtns(sol.witness, tmp_path / "w.wtns")
    w = load_wtns(tmp_path / "w.wtns")
    assert np.array_equal(w, sol.witness) and r1cs.unsatisfied(w) is None
    values = [1] + [rng.randrange(R) for _ in range(20)] + [R - 1, 0]
    assert FR.decode(wtns_from_bytes(wtns_file(values))) == values
    with pytest.raises(ValueError):
        wtns_to_bytes(np.zeros((3, 3), dtype=np.uint64))


def test_sections_in_any_order_and_unknown_sections_ignored():
    base = r1cs_from_bytes(r1cs_file())
    for order in [(3, 2, 1), (2, 1, 3), (1, 2)]:
        other = r1cs_from_bytes(r1cs_file(order=order, extra=[(9, b"anything")]))
        assert other.A.rows() == base.A.rows() and other.C.rows() == base.C.rows()
    assert r1cs_from_bytes(r1cs_file(order=(1, 2))).wire_to_label.size == 0
    # empty linear combinations and zero constraints are legal
    r1cs = r1cs_from_bytes(r1cs_file(constraints=[([], [], [])]))
    assert r1cs.n_constraints == 1 and r1cs.A.rows() == [{}]
    assert r1cs_from_bytes(r1cs_file(constraints=[])).n_constraints == 0


# terms in any order, repeated wires --------------------------------------------------------------
# c = (3 + a + 2b)(1 + b) - 5a on wires [1, c, a, b], its terms sorted and merged ...
SORTED_TERMS = ([(0, 3), (2, 1), (3, 2)], [(0, 1), (3, 1)], [(1, 1), (2, 5)])
# ... and written otherwise: the same constraint each time
SAME_TERMS = {
    "unsorted": ([(3, 2), (0, 3), (2, 1)], [(3, 1), (0, 1)], [(2, 5), (1, 1)]),
    "repeated": ([(3, 1), (0, 3), (3, 1), (2, 1)], [(0, 1), (3, 1)], [(2, 2), (1, 1), (2, 3)]),
    "sum wraps mod r": ([(0, 3), (2, R - 1), (2, 2), (3, 2)], [(0, 1), (3, 1)],
                        [(1, R - 4), (2, 5), (1, 5)]),
    "repeats cancel": ([(0, 3), (2, 1), (3, 2), (1, 9), (1, R - 9)],
                       [(3, 1), (2, 7), (0, 1), (2, R - 7)],
                       [(2, 5), (1, 1), (0, 0), (0, 0)]),
}


def multiplier_witness(a, b):
    return [1, ((3 + a + 2 * b) * (1 + b) - 5 * a) % R, a % R, b % R]


@pytest.mark.parametrize("case", sorted(SAME_TERMS))
def test_terms_in_any_order_read_as_sorted_and_merged(case):
    expected = r1cs_from_bytes(r1cs_file(constraints=[SORTED_TERMS]))
    assert [m.rows() for m in (expected.A, expected.B, expected.C)] == \
        [[dict(terms)] for terms in SORTED_TERMS]
    r1cs = r1cs_from_bytes(r1cs_file(constraints=[SAME_TERMS[case]]))
    same_r1cs(r1cs, expected)
    assert r1cs_to_bytes(r1cs) == r1cs_file(constraints=[SORTED_TERMS], order=(2, 1, 3))
    for a, b in [(6, 7), (0, 0), (R - 1, 12345)]:
        good = multiplier_witness(a, b)
        assert r1cs.unsatisfied(wtns_from_bytes(wtns_file(good))) is None
        bad = good[:1] + [(good[1] + 1) % R] + good[2:]
        assert r1cs.unsatisfied(wtns_from_bytes(wtns_file(bad))) == 0


def test_shuffled_and_split_terms_read_as_the_original(rng):
    """Every term of a builder circuit split in random parts, plus repeats that cancel,
    shuffled: the reader must give back the circuit itself."""
    r1cs, solver = sample_circuit()

    def scramble(row):
        terms = []
        for wire, coeff in row.items():
            part = rng.randrange(R)
            terms += [(wire, part), (wire, (coeff - part) % R)] if rng.random() < 0.5 else \
                [(wire, coeff)]
        wire, extra = rng.randrange(r1cs.n_wires), rng.randrange(1, R)
        terms += [(wire, extra), (wire, R - extra)]
        rng.shuffle(terms)
        return terms

    constraints = [tuple(scramble(row) for row in rows)
                   for rows in zip(r1cs.A.rows(), r1cs.B.rows(), r1cs.C.rows())]
    data = r1cs_file(n_wires=r1cs.n_wires, counts=(r1cs.n_outputs, r1cs.n_public_inputs,
                                                   r1cs.n_private_inputs), constraints=constraints)
    back = r1cs_from_bytes(data)
    same_r1cs(r1cs, back)
    assert r1cs_to_bytes(back) == r1cs_to_bytes(r1cs)
    sol = solver.solve({"y": 5}, {"x": 8})
    assert back.unsatisfied(sol.witness) is None
    bad = sol.witness.copy()
    bad[1] = FR.encode([FR.decode(bad[1:2])[0] + 1])[0]
    assert back.unsatisfied(bad) is not None


# refusals -----------------------------------------------------------------------------------------
R1CS_REFUSALS = {
    "wrong magic": (dict(magic=b"r1cz"), "wrong magic"),
    "wtns magic": (dict(magic=b"wtns"), "wrong magic"),
    "version 2": (dict(version=2), "unsupported version 2"),
    "BLS12-381": (dict(prime=BLS12_381_R), "not BN254"),
    "base field prime": (dict(prime=P), "not BN254"),
    "48-byte field": (dict(n8=48, prime=BLS12_381_R), "field size 48"),
    "too few wires": (dict(n_wires=3, labels=[0, 1, 2], constraints=[([(2, 1)], [], [])]),
                      "cannot hold"),
    "wire out of range": (dict(constraints=[([(2, 1)], [(4, 1)], [])]), "refers to wire 4"),
    "coefficient = r": (dict(constraints=[([(2, R)], [(3, 1)], [])]), "coefficient 0 is not below r"),
    "coefficient >= r": (dict(constraints=[([(2, 1)], [(0, 1), (3, 1 << 255)], [])]),
                         "B coefficient 1 is not below r"),
    "unsorted, wire out of range": (dict(constraints=[([(3, 1), (2, 1)], [], [(4, 1), (1, 1)])]),
                                    "constraint 0 \\(C\\) refers to wire 4"),
    "repeated wire, coefficient r": (dict(constraints=[([(2, 1)], [(3, 1), (3, R)], [])]),
                                     "B coefficient 1 is not below r"),
    "short wire map": (dict(labels=[0, 1, 2]), "wire map has 24 bytes"),
    "label too big": (dict(labels=[0, 1, 2, 9], n_labels=4), "label >= nLabels"),
    "duplicate section": (dict(order=(1, 2, 3, 2)), "appears twice"),
    "missing header": (dict(order=(2, 3)), "header section"),
    "missing constraints": (dict(order=(1, 3)), "constraints section"),
    "custom gates": (dict(extra=[(4, b"\0" * 4)]), "custom gates"),
}


@pytest.mark.parametrize("case", sorted(R1CS_REFUSALS))
def test_r1cs_refusals(case):
    kwargs, message = R1CS_REFUSALS[case]
    with pytest.raises(Iden3FormatError, match=message):
        r1cs_from_bytes(r1cs_file(**kwargs))


def test_r1cs_truncated_or_padded_files_are_refused():
    # unsorted and repeated terms too: the path that sorts them must refuse every cut as well
    data = r1cs_file(constraints=[([(3, 5), (2, 5)], [(3, 1)], [(1, 5)]),
                                  ([(1, 1)], [(0, 1)], [(1, 1), (1, 3)])])
    r1cs_from_bytes(data)
    for cut in range(len(data)):
        with pytest.raises(Iden3FormatError):
            r1cs_from_bytes(data[:cut])
    with pytest.raises(Iden3FormatError, match="trailing"):
        r1cs_from_bytes(data + b"\0")
    # a constraint count larger than the section holds, or smaller
    for m in (1, 3):
        bad = container(b"r1cs", 1, [(1, header(4, 1, 0, 2, 4, m)),
                                     (2, constraints_bytes([([(2, 5)], [(3, 1)], [(1, 5)])] * 2))])
        with pytest.raises(Iden3FormatError, match="constraint"):
            r1cs_from_bytes(bad)
    # a constraint count far beyond the section is refused before anything is allocated
    bad = container(b"r1cs", 1, [(1, header(4, 1, 0, 2, 4, 2**32 - 1)), (2, b"")])
    with pytest.raises(Iden3FormatError, match="too short for 4294967295 constraints"):
        r1cs_from_bytes(bad)
    # a header section with extra bytes
    bad = container(b"r1cs", 1, [(1, header(4, 1, 0, 2, 4, 0) + b"\0"), (2, b"")])
    with pytest.raises(Iden3FormatError, match="header section has"):
        r1cs_from_bytes(bad)


WTNS_REFUSALS = {
    "wrong magic": (dict(magic=b"r1cs"), "wrong magic"),
    "version 1": (dict(version=1), "unsupported version 1"),
    "other prime": (dict(prime=BLS12_381_R), "not BN254"),
    "count too big": (dict(n=4), "witness section has 96 bytes for 4 values"),
    "count too small": (dict(n=2), "for 2 values"),
}


@pytest.mark.parametrize("case", sorted(WTNS_REFUSALS))
def test_wtns_refusals(case):
    kwargs, message = WTNS_REFUSALS[case]
    with pytest.raises(Iden3FormatError, match=message):
        wtns_from_bytes(wtns_file([1, 2, 3], **kwargs))


def test_wtns_value_checks_and_truncation():
    with pytest.raises(Iden3FormatError, match="witness value 2 is not below r"):
        wtns_from_bytes(wtns_file([1, 5, R]))
    with pytest.raises(Iden3FormatError, match="constant 1"):
        wtns_from_bytes(wtns_file([2, 5, 6]))
    with pytest.raises(Iden3FormatError, match="empty"):
        wtns_from_bytes(wtns_file([]))
    data = wtns_file([1, 2, 3])
    for cut in range(len(data)):
        with pytest.raises(Iden3FormatError):
            wtns_from_bytes(data[:cut])


# interop with circom and snarkjs ----------------------------------------------------------------
GEN_CIRCOM = Path(__file__).resolve().parents[1] / "vectors" / "gen_circom.py"


def load_gen_circom():
    spec = importlib.util.spec_from_file_location("gen_circom", GEN_CIRCOM)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def signed(v):
    return v - R if v > R // 2 else v


def check_multiplier_files(r1cs, witness, inputs):
    """The circom Multiplier: wires [1, c, d, k, a, b, t]; c = a*b*k + 3, d = (a-2)(b+5)."""
    a, b, k = (int(inputs[name]) for name in "abk")
    assert (r1cs.n_wires, r1cs.n_outputs, r1cs.n_public_inputs, r1cs.n_private_inputs) == (7, 2, 1, 2)
    assert r1cs.n_constraints == 3
    values = FR.decode(witness)
    assert values[:6] == [1, (a * b * k + 3) % R, (a - 2) * (b + 5) % R, k % R, a % R, b % R]
    assert r1cs.unsatisfied(witness) is None
    for wire in (1, 2, 6):
        bad = witness.copy()
        bad[wire] = FR.encode([values[wire] + 1])[0]
        assert r1cs.unsatisfied(bad) is not None


def test_files_written_by_circom():
    vectors = json.loads((GEN_CIRCOM.parent / "circom.json").read_text())["circom"]
    data = bytes.fromhex(vectors["r1cs"])
    r1cs = r1cs_from_bytes(data)
    assert r1cs_to_bytes(r1cs) == data
    # circom's coefficients are standard form: -1 appears as r - 1
    assert r1cs.A.rows()[0] == {4: R - 1}
    for case in vectors["witnesses"]:
        raw = bytes.fromhex(case["wtns"])
        witness = wtns_from_bytes(raw)
        check_multiplier_files(r1cs, witness, case["inputs"])
        assert wtns_to_bytes(witness) == raw


def test_file_written_by_circom_with_unsorted_terms():
    gen = load_gen_circom()
    vectors = json.loads((GEN_CIRCOM.parent / "circom_unsorted.json").read_text())
    assert vectors["source"] == gen.UNSORTED_CIRCUIT
    data = bytes.fromhex(vectors["r1cs"])
    unsorted = gen.unsorted_combinations(data)
    assert unsorted, "the frozen circom file must hold an unsorted linear combination"
    r1cs = r1cs_from_bytes(data)
    for k, side, wires in unsorted:
        assert list(getattr(r1cs, side).rows()[k]) == sorted(set(wires))
    sorted_bytes = r1cs_to_bytes(r1cs)
    assert sorted_bytes != data and not gen.unsorted_combinations(sorted_bytes)
    same_r1cs(r1cs, r1cs_from_bytes(sorted_bytes))
    width = gen.UNSORTED_WIDTH
    assert (r1cs.n_outputs, r1cs.n_public_inputs, r1cs.n_private_inputs) == (1, 1, width)
    for case in vectors["witnesses"]:
        raw = bytes.fromhex(case["wtns"])
        witness = wtns_from_bytes(raw)
        assert wtns_to_bytes(witness) == raw and r1cs.unsatisfied(witness) is None
        values = FR.decode(witness)
        x0 = sum((j + 1) * int(a) for j, a in enumerate(case["inputs"]["a"]))
        b = int(case["inputs"]["b"])
        assert values[1:3] == [gen.chain_output(x0, b, gen.UNSORTED_STEPS, R), b % R]
        # a[0] is only in the unsorted combination: changing it breaks that constraint
        bad = witness.copy()
        bad[3] = FR.encode([values[3] + 1])[0]
        assert r1cs.unsatisfied(bad) == unsorted[0][0]


def test_files_judged_by_snarkjs():
    gen = load_gen_circom()
    vectors = json.loads((GEN_CIRCOM.parent / "circom.json").read_text())["snarkjs"]
    r1cs, solver = gen.builder_circuit()
    assert r1cs_to_bytes(r1cs) == bytes.fromhex(vectors["r1cs"])
    assert [(c["public"], c["private"]) for c in vectors["checks"]] == \
        [tuple(map(dict, case)) for case in gen.BUILDER_INPUTS]
    for case in vectors["checks"]:
        witness = solver.solve(case["public"], case["private"]).witness
        assert wtns_to_bytes(witness) == bytes.fromhex(case["wtns"])
        assert case["accepted"] == (r1cs.unsatisfied(witness) is None)
        assert case["failed_constraint"] == r1cs.unsatisfied(witness)


@pytest.fixture(scope="module")
def node_prefix(tmp_path_factory):
    """An npm prefix with circom2 and snarkjs: $HPC_ZKFL_NODE_PREFIX, or a fresh install."""
    gen = load_gen_circom()
    reason = gen.node_tools_missing()
    if reason:
        pytest.skip(f"circom interop needs node and npm: {reason}")
    prefix = os.environ.get("HPC_ZKFL_NODE_PREFIX")
    prefix = Path(prefix) if prefix else tmp_path_factory.mktemp("npm")
    try:
        gen.install(prefix, timeout=120)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
        pytest.skip(f"could not npm-install {', '.join(gen.PACKAGES)} into {prefix}: {exc}")
    return gen, prefix


def test_live_circom_and_snarkjs(node_prefix, tmp_path, rng):
    gen, prefix = node_prefix
    r1cs_path, js_dir = gen.compile_circuit(prefix, gen.CIRCUIT, tmp_path)
    r1cs = load_r1cs(r1cs_path)
    assert r1cs_to_bytes(r1cs) == r1cs_path.read_bytes()
    for i in range(2):
        inputs = {name: str(rng.randrange(-(1 << 100), 1 << 100)) for name in "abk"}
        wtns = gen.generate_witness(js_dir, inputs, tmp_path / f"w{i}.wtns")
        check_multiplier_files(r1cs, load_wtns(wtns), inputs)
    # and the other way: snarkjs judges files this package wrote
    ours, solver = gen.builder_circuit()
    save_r1cs(ours, tmp_path / "ours.r1cs")
    for i, (public, private) in enumerate(gen.BUILDER_INPUTS):
        witness = solver.solve(public, private).witness
        save_wtns(witness, tmp_path / f"ours{i}.wtns")
        bad = ours.unsatisfied(witness)
        assert gen.snarkjs_wtns_check(prefix, tmp_path / "ours.r1cs", tmp_path / f"ours{i}.wtns") == \
            (bad is None, bad)
