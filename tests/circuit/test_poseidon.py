"""Poseidon (circomlib's BN254 instance): published vectors, the generated constants, the
gadget against the reference, and live interop with circomlibjs."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.circuit import CircuitError, ConstraintSystem
from hpc_zkfl.circuit.poseidon import (
    FULL_ROUNDS,
    PARTIAL_ROUNDS,
    poseidon_gadget,
    poseidon_hash,
    poseidon_parameters,
    poseidon_permutation,
    poseidon_permutation_gadget,
)

# From circomlibjs test/poseidon.js (and circomlib test/poseidoncircuit.js): inputs -> hash.
PUBLISHED = [
    ([1], 18586133768512220936620570745912940619677854269274689475585506675881198879027),
    ([1, 2], 0x115cc0f5e7d690413df64c6b9662e9cf2a3617f2743245519e19607a4417189a),
    ([3, 4], 14763215145315200506921711489642608356394854266165572616578112107564877678998),
    ([1, 2, 3, 4], 0x299c867db6c1fdd79dcefa40e4510b9837e60ebb1ce0663dbaa525df65250465),
    ([1, 2, 0, 0, 0],
     1018317224307729531995786483840663576608797660851238720571059489595066344487),
    ([3, 4, 5, 10, 23],
     13034429309846638789535561449942021891039729847501137143363028890275222221409),
    ([1, 2, 3, 4, 5, 6],
     20400040500897583745843009878988256314335038853985262692600694741116813247201),
    (list(range(1, 10)) + [0] * 7,
     11882816200654282475720830292386643970958445617880627439994635298904836126497),
    (list(range(1, 17)),
     9989051620750914585850546081941653841776809718687451684622678807385399211877),
]
# circomlibjs poseidon(inputs, initState, nOut): the first nOut elements of the permutation of
# [initState, inputs...] (circomlib's PoseidonEx).
PUBLISHED_STATES = [
    ([1, 2], 0,
     [7853200120776062878684798364095072458815029376092732009249414926327459813530,
      7142104613055408817911962100316808866448378443474503659992478482890339429929]),
    ([1, 2, 3, 4], 7,
     [1569211601569591254857354699102545060324851338714426496554851741114291465006]),
    ([1, 2, 0, 0, 0], 0,
     [1018317224307729531995786483840663576608797660851238720571059489595066344487,
      1268987460374965117190107941866588409937190018195924754936306024116268626868,
      8783366202813713093021184624438037804022412226788318946130389248546914776762]),
    (list(range(1, 17)), 17,
     [7865037705064445207187340054656830232157001572238023180016026650118519857086,
      9292383997006336854008325030029058442489692927472584277596649832441082093099,
      21700625464938935909463291795162623951575229166945244593449711331894544619498]),
]


def expected_constraints(t: int) -> int:
    """3 per S-box, less the one on the constant capacity element of the first round."""
    return 3 * (FULL_ROUNDS * t + PARTIAL_ROUNDS[t - 2]) - 3


def tamper(witness, wire, delta=1):
    out = witness.copy()
    out[wire] = FR.encode([(FR.decode(witness[wire:wire + 1])[0] + delta) % R])[0]
    return out


def build_hash_circuit(n: int):
    cs = ConstraintSystem()
    xs = cs.private_inputs("x", n)
    cs.public_output("hash", poseidon_gadget(cs, xs))
    return cs


# reference ------------------------------------------------------------------------------------
@pytest.mark.parametrize("inputs, expected", PUBLISHED)
def test_published_vectors(inputs, expected):
    assert poseidon_hash(inputs) == expected


@pytest.mark.parametrize("inputs, init, expected", PUBLISHED_STATES)
def test_published_permutation_states(inputs, init, expected):
    state = poseidon_permutation([init, *inputs])
    assert len(state) == len(inputs) + 1
    assert state[:len(expected)] == expected


def test_parameters_shape_and_range():
    for t in (2, 3, 17):
        constants, mds = poseidon_parameters(t)
        assert len(constants) == FULL_ROUNDS + PARTIAL_ROUNDS[t - 2]
        assert all(len(rc) == t and all(0 <= c < R for c in rc) for rc in constants)
        assert len(mds) == t and all(len(row) == t for row in mds)
        # a Cauchy matrix: 1 / M[i][j] = x_i + y_j, so differences across rows are constant
        inv = [[pow(m, -1, R) for m in row] for row in mds]
        for i in range(1, t):
            assert len({(inv[i][j] - inv[0][j]) % R for j in range(t)}) == 1
    assert poseidon_parameters(3) is poseidon_parameters(3)     # cached
    for bad in (0, 1, 18):
        with pytest.raises(ValueError, match="width"):
            poseidon_parameters(bad)


def test_inputs_are_validated():
    for bad in ([], list(range(17))):
        with pytest.raises(ValueError, match="1..16 inputs"):
            poseidon_hash(bad)
    for bad in (-1, R, R + 5, 1 << 300):
        with pytest.raises(ValueError, match=r"field element in \[0, r\)"):
            poseidon_hash([1, bad])
    for bad in (True, 1.0, "1", None):
        with pytest.raises(ValueError, match="must be an int"):
            poseidon_hash([bad])
    assert poseidon_hash([R - 1, 0]) != poseidon_hash([0, R - 1])
    with pytest.raises(ValueError, match="2..17 elements"):
        poseidon_permutation([5])


# gadget ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("n_inputs", [1, 2, 3, 4, 8, 16])
def test_gadget_matches_reference(n_inputs, rng):
    cs = build_hash_circuit(n_inputs)
    assert cs.n_constraints == expected_constraints(n_inputs + 1) + 1    # + the output wire
    r1cs, solver = cs.compile()
    cases = [[rng.randrange(R) for _ in range(n_inputs)] for _ in range(3)] + [[0] * n_inputs]
    for values in cases:
        sol = solver.solve({}, {"x": values})
        assert r1cs.unsatisfied(sol.witness) is None
        assert sol.public_signals == [poseidon_hash(values)]


def test_constraint_counts():
    # circomlib's Poseidon(2) is 240 constraints as well
    assert {t: expected_constraints(t) for t in (2, 3, 4, 17)} == {2: 213, 3: 240, 4: 261, 17: 609}
    for t in (2, 3, 4, 17):
        cs = ConstraintSystem()
        poseidon_gadget(cs, cs.private_inputs("x", t - 1))
        assert cs.n_constraints == expected_constraints(t)


def test_gadget_with_constant_inputs(rng):
    # all constant: computed at build time, no constraint
    cs = ConstraintSystem()
    h = poseidon_gadget(cs, [1, 2])
    assert cs.n_constraints == 0 and h.constant_value() == PUBLISHED[1][1]
    # mixed wires and constants
    cs = ConstraintSystem()
    x = cs.private_input("x")
    cs.public_output("hash", poseidon_gadget(cs, [x, 7, x + 3]))
    r1cs, solver = cs.compile()
    v = rng.randrange(R)
    sol = solver.solve({}, {"x": v})
    assert r1cs.unsatisfied(sol.witness) is None
    assert sol.public_signals == [poseidon_hash([v, 7, (v + 3) % R])]


def test_permutation_gadget_gives_the_whole_state(rng):
    cs = ConstraintSystem()
    state = cs.private_inputs("s", 5)
    for i, out in enumerate(poseidon_permutation_gadget(cs, state)):
        cs.public_output(f"out{i}", out)
    r1cs, solver = cs.compile()
    values = [rng.randrange(R) for _ in range(5)]
    sol = solver.solve({}, {"s": values})
    assert r1cs.unsatisfied(sol.witness) is None
    assert sol.public_signals == poseidon_permutation(values)


def test_every_wire_is_determined_and_failures_are_named(rng):
    """Changing the output or any S-box wire breaks a constraint; the failure names the round."""
    cs = build_hash_circuit(2)
    r1cs, solver = cs.compile()
    sol = solver.solve({}, {"x": [rng.randrange(R), rng.randrange(R)]})
    first_internal = 1 + r1cs.n_public + r1cs.n_private_inputs
    for wire in [1, *range(first_internal, r1cs.n_wires)]:
        assert r1cs.unsatisfied(tamper(sol.witness, wire)) is not None, solver.wire_names[wire]
    # tampering with the output alone breaks exactly the output constraint
    bad = r1cs.unsatisfied(tamper(sol.witness, 1))
    assert "output hash" in solver.describe(bad)
    # tampering with an S-box wire is reported with its round
    wire = first_internal + 10
    bad = r1cs.unsatisfied(tamper(sol.witness, wire))
    assert solver.describe(bad).startswith("poseidon/round ")
    # a claimed hash that is not the hash of the inputs
    cs = ConstraintSystem()
    xs = cs.private_inputs("x", 2)
    cs.assert_equal(poseidon_gadget(cs, xs), cs.public_input("claimed"), label="hash matches")
    r1cs, solver = cs.compile()
    sol = solver.solve({"claimed": PUBLISHED[1][1]}, {"x": [1, 2]})
    assert r1cs.unsatisfied(sol.witness) is None
    bad = r1cs.unsatisfied(solver.solve({"claimed": PUBLISHED[1][1]}, {"x": [2, 1]}).witness)
    assert bad is not None and "hash matches" in solver.describe(bad)


def test_gadget_arguments():
    cs = ConstraintSystem()
    for bad in ([], list(range(17))):
        with pytest.raises(CircuitError, match="1..16 inputs"):
            poseidon_gadget(cs, bad)
    with pytest.raises(TypeError):
        poseidon_gadget(cs, [1.5])


# live interop with circomlibjs ----------------------------------------------------------------
NODE_SCRIPT = """
const { buildPoseidon, buildPoseidonReference } = require("circomlibjs");
let data = "";
process.stdin.on("data", (chunk) => { data += chunk; });
process.stdin.on("end", async () => {
    const cases = JSON.parse(data);
    const wasm = await buildPoseidon();
    const ref = await buildPoseidonReference();
    const out = cases.map(({ inputs, init }) => {
        const n = inputs.length + 1;
        const ins = inputs.map(BigInt);
        return {
            hash: wasm.F.toObject(wasm(ins)).toString(),
            reference: ref.F.toObject(ref(ins)).toString(),
            state: ref(ins, BigInt(init), n).map((x) => ref.F.toObject(x).toString()),
        };
    });
    process.stdout.write(JSON.stringify(out));
    process.exit(0);
});
"""


@pytest.fixture(scope="module")
def circomlibjs_prefix(tmp_path_factory):
    """An npm prefix holding circomlibjs: $HPC_ZKFL_NODE_PREFIX (installed into if missing, as
    tests/vectors/gen_circom.py does for circom2 and snarkjs) or a fresh temporary one."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"circomlibjs interop needs node and npm: {', '.join(missing)} "
                    "not found on PATH")
    prefix = os.environ.get("HPC_ZKFL_NODE_PREFIX")
    prefix = Path(prefix) if prefix else tmp_path_factory.mktemp("npm")
    if not (prefix / "node_modules" / "circomlibjs" / "package.json").exists():
        try:
            subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                            "--fetch-retries=0", "circomlibjs"],
                           check=True, capture_output=True, timeout=120)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            pytest.skip(f"could not npm-install circomlibjs into {prefix}: {exc}")
    return prefix


def test_live_circomlibjs(circomlibjs_prefix, rng):
    cases = []
    for n in range(1, 17):       # every width t = 2..17, plus a few more at random widths
        cases.append({"inputs": [rng.randrange(R) for _ in range(n)], "init": rng.randrange(R)})
    for _ in range(6):
        n = rng.randrange(1, 17)
        cases.append({"inputs": [rng.choice([0, 1, R - 1, rng.randrange(R)]) for _ in range(n)],
                      "init": 0})
    payload = json.dumps([{"inputs": [str(v) for v in c["inputs"]], "init": str(c["init"])}
                          for c in cases])
    proc = subprocess.run(["node", "-e", NODE_SCRIPT], input=payload, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "NODE_PATH": str(circomlibjs_prefix / "node_modules")})
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    assert len(results) == len(cases)
    for case, res in zip(cases, results):
        expected = poseidon_hash(case["inputs"])
        assert int(res["hash"]) == expected, case
        assert int(res["reference"]) == expected, case
        state = poseidon_permutation([case["init"], *case["inputs"]])
        assert [int(x) for x in res["state"]] == state, case
