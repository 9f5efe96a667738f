"""The Solidity verifier (hpc_zkfl.groth16.solidity) and its calldata.

* Offline: Keccak-256 and the ABI selector, the calldata against snarkjs' own
  `zkey export soliditycalldata` output for the frozen snarkjs proof, the key constants written
  into the source.
* Live (needs node and npm; skipped with the reason when they are missing): the contract is
  compiled with solc-js (npm `solc`, standard JSON) and run on an EVM (npm `@ethereumjs/evm`),
  driven by a small Node script, for keys with 0, 1 and 5 public signals: valid proofs return
  true, every kind of malformed or wrong proof returns false (never reverts), only calldata the
  ABI decoder refuses reverts.  The same key made by snarkjs (from the insecure prepared
  powers of tau) gets snarkjs' generated verifier beside ours: both accept snarkjs' proof with
  the same calldata, and the gas of each is printed (pytest -s).
"""
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hpc_zkfl.algebra.constants import P, R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.subgroup import g2_in_subgroup, random_twist_points
from hpc_zkfl.circuit.iden3 import save_r1cs, wtns_to_bytes
from hpc_zkfl.groth16 import formats, prove, setup, verify
from hpc_zkfl.groth16.r1cs_to_qap import domain_size
from hpc_zkfl.groth16.solidity import (
    calldata_arguments, encode_verify_call, export_calldata, export_solidity, function_selector,
    function_signature, keccak256, verifier_constants, verify_proof_calldata)
from hpc_zkfl.groth16.testing import public_signals, random_circuit, solve, write_insecure_ptau

VECTORS = Path(__file__).resolve().parents[1] / "vectors"
sys.path.insert(0, str(VECTORS))
import gen_circom  # noqa: E402  (node/npm detection shared with the circom vectors)

DATA = json.loads((VECTORS / "snarkjs_groth16.json").read_text())

# `snarkjs zkey export soliditycalldata public.json proof.json` (snarkjs 0.7.6) for the frozen
# snarkjs proof of tests/vectors/snarkjs_groth16.json, without its final newline.
SNARKJS_CALLDATA = (
    '["0x106997023de0f1d4549303af035ca5dbb94c6ba788c09c9a3c396e552cd9a949", '
    '"0x178af4c603cf6ed9c72664ea1354d327fd7f183896f10ffbc60a581f8ad817d6"],'
    '[["0x2ed2a60a7a1292e2127f1acf36043cda43f2111886e2d53a2879393569630c7c", '
    '"0x1ef09c048828ae919997c703ef0d6f8957d2ce81e51b91a3c9b43e6ea5537abf"],'
    '["0x0a4534cb2eb32f3a197905ac6ed34ffa0b3c9e30a54121aa6d0a22fb8f8dac40", '
    '"0x13ddfeeb1f0958cafa52605b3b659694aa88fc76c9c517bd95848465c6052171"]],'
    '["0x00e6414dfc2b18c3a2ea9ea85880a96bbb49903b47895b70d2bd90b7ddccad74", '
    '"0x1a563d2895b9cf10df75a5f5eecbebe89a759879a650707d85b459f3c46df227"],'
    '["0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593efffffc2",'
    '"0x0000000000000000000000000000000000000000000000000000000000000010",'
    '"0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593efffffff"]')


# ---- offline -------------------------------------------------------------------------------------
KECCAK_VECTORS = {
    b"": "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470",
    b"abc": "4e03657aea45a94fc7d47ba826c8d667c0d1e6e33a64a036ec44f58fa12d6c45",
    # the padding's edge cases (one byte short of the 136-byte rate, exactly the rate) and two
    # blocks; values from npm js-sha3's keccak256
    b"x" * 135: "16570bdb055e663ea1cb57ac6f09194f4bc7b7070847971fc0b86710366dc34f",
    b"x" * 136: "50da8ef3747b7a7f01d08563aa11c72a2a668563fb928adc6e8d2a1ab4e36096",
    b"a" * 200: "96ea54061def936c4be90b518992fdc6f12f535068a256229aca54267b4d084d",
}


def test_keccak256_vectors():
    for data, digest in KECCAK_VECTORS.items():
        assert keccak256(data).hex() == digest, data[:8]
    assert keccak256(b"transfer(address,uint256)")[:4].hex() == "a9059cbb"   # ERC-20


def test_function_signature():
    assert function_signature(3) == "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[3])"
    assert function_signature(0) == "verifyProof(uint256[2],uint256[2][2],uint256[2])"
    assert function_selector(5).hex() == "34baeab9"     # as solc reports it (live tests check all)
    with pytest.raises(ValueError):
        function_signature(-1)


def test_calldata_matches_snarkjs_export():
    assert export_calldata(DATA["proof"], DATA["public"]) == SNARKJS_CALLDATA
    proof = formats.proof_from_snarkjs(DATA["proof"])
    public = formats.public_from_snarkjs(DATA["public"])
    assert export_calldata(proof, public) == SNARKJS_CALLDATA


def test_abi_encoding():
    proof = formats.proof_from_snarkjs(DATA["proof"])
    public = formats.public_from_snarkjs(DATA["public"])
    data = verify_proof_calldata(proof, public)
    assert data[:4] == function_selector(3) and len(data) == 4 + 32 * 11
    words = [int.from_bytes(data[4 + 32 * k:36 + 32 * k], "big") for k in range(11)]
    a, b, c, x = calldata_arguments(proof, public)
    assert words == [*a, *b[0], *b[1], *c, *x] and x == public
    pi_b = DATA["proof"]["pi_b"]          # snarkjs: [[x_re, x_im], [y_re, y_im], ...]
    assert b == [[int(pi_b[0][1]), int(pi_b[0][0])], [int(pi_b[1][1]), int(pi_b[1][0])]]
    with pytest.raises(ValueError):
        verify_proof_calldata(proof, [public[0] + R, *public[1:]])
    with pytest.raises(ValueError):
        encode_verify_call(a, b, c, [1 << 256])


def test_source_holds_the_key():
    vk = formats.vk_from_snarkjs(DATA["verification_key"])
    src = export_solidity(vk)
    consts = verifier_constants(vk)
    for name, value in consts.items():
        assert f" {name} " in src and f"= {value};" in src
    assert len([k for k in consts if k.startswith("IC")]) == 2 * (vk.n_public + 1)
    beta = G2.decode(vk.beta_g2[None])[0]
    assert (consts["NEG_BETA_X_RE"], consts["NEG_BETA_X_IM"]) == beta[0]
    neg_y = ((-beta[1][0]) % P, (-beta[1][1]) % P)
    assert (consts["NEG_BETA_Y_RE"], consts["NEG_BETA_Y_IM"]) == neg_y
    assert "uint256[3] calldata input" in src and "contract Groth16Verifier" in src
    assert "contract Other" in export_solidity(vk, contract_name="Other")
    with pytest.raises(ValueError):
        export_solidity(vk, contract_name="not a name")


# ---- live: solc-js and an EVM -------------------------------------------------------------------
NPM_PACKAGES = ("solc@0.8", "@ethereumjs/evm@10", "@ethereumjs/common@10", "@ethereumjs/util@10",
                "snarkjs@0.7")
NODE_MAJOR = 20           # @ethereumjs/evm 10's engines field
HARDFORK = "prague"
CALL_GAS = 10_000_000

# Compiles job.contracts with solc-js (standard JSON, optimizer on, 200 runs), deploys each on a
# fresh @ethereumjs/evm and runs job.calls, each as the only call of a transaction (EIP-2929:
# the precompiles, sender and callee warm, nothing else).  usage: node run.cjs PREFIX JOB OUT
RUNNER = r"""
const fs = require('node:fs');
const path = require('node:path');
const { createRequire } = require('node:module');
const [prefix, jobFile, outFile] = process.argv.slice(2);
const req = createRequire(path.join(prefix, 'index.js'));
const solc = req('solc');
const { createEVM } = req('@ethereumjs/evm');
const { Common, Mainnet } = req('@ethereumjs/common');
const { bytesToHex, createAddressFromString, hexToBytes } = req('@ethereumjs/util');

(async () => {
  const job = JSON.parse(fs.readFileSync(jobFile, 'utf8'));
  const sources = {};
  for (const [name, c] of Object.entries(job.contracts)) {
    sources[`${name}.sol`] = { content: c.source };
  }
  const output = JSON.parse(solc.compile(JSON.stringify({
    language: 'Solidity', sources,
    settings: {
      optimizer: { enabled: true, runs: 200 }, evmVersion: job.hardfork,
      outputSelection: { '*': { '*': ['evm.bytecode.object', 'evm.deployedBytecode.object',
                                      'evm.methodIdentifiers'] } },
    },
  })));
  const out = { solc: solc.version(), diagnostics: output.errors ?? [], contracts: {}, calls: [] };
  const evm = await createEVM({ common: new Common({ chain: Mainnet, hardfork: job.hardfork }) });
  const addresses = {};
  let k = 0;
  for (const [name, c] of Object.entries(job.contracts)) {
    const compiled = output.contracts?.[`${name}.sol`]?.[c.contract];
    if (!compiled) { out.contracts[name] = { error: 'not compiled' }; continue; }
    k += 1;
    const deployer = createAddressFromString('0x' + k.toString(16).padStart(40, '0'));
    const res = await evm.runCall({ caller: deployer, gasLimit: 30000000n,
                                    data: hexToBytes('0x' + compiled.evm.bytecode.object) });
    const err = res.execResult.exceptionError;
    out.contracts[name] = { error: err ? String(err.error ?? err) : null,
                            codeSize: compiled.evm.deployedBytecode.object.length / 2,
                            methodIdentifiers: compiled.evm.methodIdentifiers };
    if (!err) addresses[name] = res.createdAddress;
  }
  const sender = createAddressFromString('0x' + 'ca'.repeat(20));
  for (const call of job.calls) {
    if (!addresses[call.contract]) { out.calls.push({ error: 'no contract' }); continue; }
    await evm.journal.cleanup();
    for (let i = 1; i <= 0x11; i++) {
      evm.journal.addAlwaysWarmAddress(i.toString(16).padStart(40, '0'));
    }
    evm.journal.addAlwaysWarmAddress(sender.toString());
    evm.journal.addAlwaysWarmAddress(addresses[call.contract].toString());
    const res = await evm.runCall({ caller: sender, to: addresses[call.contract],
                                    data: hexToBytes(call.data), gasLimit: BigInt(call.gas) });
    const err = res.execResult.exceptionError;
    out.calls.push({ reverted: err !== undefined, error: err ? String(err.error ?? err) : null,
                     returnValue: bytesToHex(res.execResult.returnValue),
                     gasUsed: Number(res.execResult.executionGasUsed) });
  }
  fs.writeFileSync(outFile, JSON.stringify(out));
})().catch((e) => { console.error(e); process.exit(1); });
"""


@pytest.fixture(scope="module")
def evm_prefix(tmp_path_factory):
    reason = gen_circom.node_tools_missing()
    if reason:
        pytest.skip(f"the Solidity verifier tests need node and npm: {reason}")
    version = subprocess.run(["node", "--version"], capture_output=True, text=True,
                             timeout=60).stdout.strip()
    major = version.lstrip("v").split(".")[0]
    if not major.isdigit() or int(major) < NODE_MAJOR:
        pytest.skip(f"@ethereumjs/evm 10 needs node >= {NODE_MAJOR}, found {version or 'none'}")
    prefix = tmp_path_factory.mktemp("npm-evm")
    try:
        subprocess.run(["npm", "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
                        "--fetch-retries=0", *NPM_PACKAGES], check=True, capture_output=True,
                       timeout=300)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"could not npm-install {' '.join(NPM_PACKAGES)} into {prefix}: {exc}")
    return prefix


def _tx_gas(data: bytes, execution: int) -> int:
    """A transaction's gas: 21000, calldata (EIP-2028: 16 a non-zero byte, 4 a zero byte),
    execution (the EIP-7623 floor is far below this for a verifier call)."""
    return 21000 + sum(16 if v else 4 for v in data) + execution


class Chain:
    """Collects contracts and calls, runs them all in one Node process."""

    def __init__(self):
        self.contracts, self.calls, self.names = {}, [], {}

    def contract(self, name, source, contract="Groth16Verifier"):
        self.contracts[name] = {"source": source, "contract": contract}

    def call(self, key, contract, data: bytes, gas=CALL_GAS):
        self.names[key] = len(self.calls)
        self.calls.append({"contract": contract, "data": "0x" + data.hex(), "gas": gas,
                           "bytes": data})

    def run(self, prefix, workdir):
        runner = workdir / "run.cjs"
        runner.write_text(RUNNER)
        job = {"hardfork": HARDFORK, "contracts": self.contracts,
               "calls": [{k: v for k, v in c.items() if k != "bytes"} for c in self.calls]}
        (workdir / "job.json").write_text(json.dumps(job))
        proc = subprocess.run(["node", str(runner), str(prefix), str(workdir / "job.json"),
                               str(workdir / "out.json")], capture_output=True, text=True,
                              timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        out = json.loads((workdir / "out.json").read_text())
        self.results = {key: dict(out["calls"][i], data=self.calls[i]["bytes"])
                        for key, i in self.names.items()}
        self.out = out
        return self


def _returned(res) -> bool:
    """The bool verifyProof returned; fails the test on a revert."""
    assert not res["reverted"], f"reverted: {res['error']}"
    value = int(res["returnValue"], 16)
    assert value in (0, 1), res
    return value == 1


def _tamper_cases(proof, public, rng):
    """name -> (a, b, c, input) ints: wrong or malformed variants of a valid proof."""
    a, b, c, x = calldata_arguments(proof, public)
    cases = {}

    def with_(**kw):
        args = {"a": [*a], "b": [[*b[0]], [*b[1]]], "c": [*c], "x": [*x]}
        args.update(kw)
        return args["a"], args["b"], args["c"], args["x"]

    other = G1.decode(G1.scalar_mul(proof.a[None], ints_to_limbs([2])))[0]   # a valid point
    cases["A replaced by 2A"] = with_(a=[int(other[0]), int(other[1])])
    cases["A and C swapped"] = with_(a=[*c], c=[*a])
    cases["A at infinity (0, 0)"] = with_(a=[0, 0])
    cases["all points zero"] = with_(a=[0, 0], b=[[0, 0], [0, 0]], c=[0, 0])
    cases["A off the curve (y + 1)"] = with_(a=[a[0], (a[1] + 1) % P])
    cases["C off the curve (x + 1)"] = with_(c=[(c[0] + 1) % P, c[1]])
    cases["A.y + q (same point mod q)"] = with_(a=[a[0], a[1] + P])
    cases["C.x + q (same point mod q)"] = with_(c=[c[0] + P, c[1]])
    cases["A.x = 2^256 - 1"] = with_(a=[(1 << 256) - 1, a[1]])
    cases["B.x_im + q"] = with_(b=[[b[0][0] + P, b[0][1]], [*b[1]]])
    cases["B.y_re + q"] = with_(b=[[*b[0]], [b[1][0], b[1][1] + P]])
    cases["B off the twist (y_im + 1)"] = with_(b=[[*b[0]], [(b[1][0] + 1) % P, b[1][1]]])
    cases["B, real and imaginary parts swapped"] = with_(b=[[b[0][1], b[0][0]],
                                                           [b[1][1], b[1][0]]])
    twist = random_twist_points(1, rng)
    assert not g2_in_subgroup(twist)[0]
    (tx0, tx1), (ty0, ty1) = G2.decode(twist)[0]
    cases["B on the twist, outside G2"] = with_(b=[[tx1, tx0], [ty1, ty0]])
    if x:
        cases["input 0 + 1"] = with_(x=[(x[0] + 1) % R, *x[1:]])
        cases["input 0 + r (same mod r)"] = with_(x=[x[0] + R, *x[1:]])
        cases["last input = 2^256 - 1"] = with_(x=[*x[:-1], (1 << 256) - 1])
    return cases


def _key(rng, n_outputs, n_public_inputs):
    r1cs, witness = random_circuit(12, n_outputs=n_outputs, n_public_inputs=n_public_inputs,
                                   n_private_inputs=2, rng=rng)
    pk = setup(r1cs)
    proof = prove(pk, r1cs, witness)
    public = public_signals(r1cs, witness)
    assert verify(pk.vk, public, proof)
    return r1cs, witness, pk, proof, public


@pytest.fixture(scope="module")
def chain(evm_prefix, tmp_path_factory, rng):
    """Every contract and call of the live tests, run in one Node process (and the calls
    with tight gas limits in a second)."""
    t0 = time.perf_counter()
    workdir = tmp_path_factory.mktemp("evm")
    ch = Chain()
    ch.keys = {}
    # keys with 0, 1 and 5 public signals (5: 2 outputs, 3 public inputs)
    for n, (n_out, n_in) in {0: (0, 0), 1: (0, 1), 5: (2, 3)}.items():
        r1cs, witness, pk, proof, public = _key(rng, n_out, n_in)
        assert len(public) == n and all(public)
        name = f"ours{n}"
        ch.keys[n] = (r1cs, witness, pk, proof, public)
        ch.contract(name, export_solidity(pk.vk))
        ch.call((n, "valid"), name, verify_proof_calldata(proof, public))
        if n == 5:   # another proof, with public inputs 0 (ecMul skipped) and 1
            w2 = solve(r1cs, [0, 1, rng.randrange(R), rng.randrange(R), rng.randrange(R)])
            public2 = public_signals(r1cs, w2)
            ch.call((n, "valid, inputs 0 and 1"), name,
                    verify_proof_calldata(prove(pk, r1cs, w2), public2))
        for case, args in _tamper_cases(proof, public, rng).items():
            ch.call((n, case), name, encode_verify_call(*args))
        good = verify_proof_calldata(proof, public)
        ch.call((n, "short calldata"), name, good[:-1])
        ch.call((n, "wrong selector"), name, b"\x12\x34\x56\x78" + good[4:])
        ch.call((n, "trailing bytes"), name, good + b"\x01" * 32)
    # the 5-signal circuit through snarkjs: its key, proof and verifier contract
    ch.snarkjs = _snarkjs_key(evm_prefix, workdir, ch.keys[5][0], ch.keys[5][1], rng)
    vk, proof, public, source, _ = ch.snarkjs
    ch.contract("ours_snarkjs_key", export_solidity(vk))
    ch.contract("snarkjs", source)
    data = verify_proof_calldata(proof, public)
    ch.call("ours on snarkjs key", "ours_snarkjs_key", data)
    ch.call("snarkjs verifier", "snarkjs", data)
    wrong = verify_proof_calldata(proof, [(public[0] + 1) % R, *public[1:]])
    ch.call("snarkjs verifier, wrong input", "snarkjs", wrong)
    ch.run(evm_prefix, workdir)
    # gas limits just above what the valid proofs need: a B outside G2 (the precompile fails
    # and takes the gas passed to it) must still return false
    tight = Chain()
    tight.contracts = ch.contracts
    for n in ch.keys:
        valid = ch.results[(n, "valid")]
        limit = valid["gasUsed"] + 5000
        tight.call((n, "valid"), f"ours{n}", valid["data"], gas=limit)
        bad = ch.results[(n, "B on the twist, outside G2")]["data"]
        tight.call((n, "B outside G2"), f"ours{n}", bad, gas=limit)
    tight.run(evm_prefix, workdir)
    ch.tight = tight.results
    ch.seconds = time.perf_counter() - t0
    return ch


def _snarkjs_key(prefix, workdir, r1cs, witness, rng):
    """snarkjs' setup for the circuit (from our insecure prepared powers of tau), its verifier
    contract, its proof of `witness` and its soliditycalldata: (vk, proof, public, source,
    calldata text)."""
    bin_ = str(prefix / "node_modules" / ".bin" / "snarkjs")

    def snarkjs(*args):
        proc = subprocess.run([bin_, *map(str, args)], cwd=workdir, capture_output=True,
                              text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return proc.stdout

    save_r1cs(r1cs, workdir / "c.r1cs")
    (workdir / "w.wtns").write_bytes(wtns_to_bytes(witness))
    power = domain_size(r1cs).bit_length() - 1
    write_insecure_ptau(workdir / "pot.ptau", power, *(1 + rng.randrange(R - 1) for _ in range(3)))
    snarkjs("groth16", "setup", "c.r1cs", "pot.ptau", "c.zkey")
    snarkjs("zkey", "export", "verificationkey", "c.zkey", "vk.json")
    snarkjs("zkey", "export", "solidityverifier", "c.zkey", "snarkjs.sol")
    snarkjs("groth16", "prove", "c.zkey", "w.wtns", "proof.json", "public.json")
    calldata = snarkjs("zkey", "export", "soliditycalldata", "public.json", "proof.json")
    vk = formats.vk_from_snarkjs(formats.load_json(workdir / "vk.json"))
    proof = formats.proof_from_snarkjs(formats.load_json(workdir / "proof.json"))
    public = formats.public_from_snarkjs(formats.load_json(workdir / "public.json"))
    return vk, proof, public, (workdir / "snarkjs.sol").read_text(), calldata.rstrip("\n")


def test_contracts_compile_cleanly(chain):
    ours = [d for d in chain.out["diagnostics"]
            if d.get("sourceLocation", {}).get("file", "").startswith("ours")]
    assert not ours, [d["formattedMessage"] for d in ours]
    for name, info in chain.out["contracts"].items():
        assert info["error"] is None, (name, info)
        if name.startswith("ours"):
            n = int(name[4:]) if name[4:].isdigit() else 5
            assert info["methodIdentifiers"] == {function_signature(n): function_selector(n).hex()}


@pytest.mark.parametrize("n", [0, 1, 5])
def test_valid_proof_is_accepted(chain, n):
    assert _returned(chain.results[(n, "valid")])


def test_valid_proof_with_a_zero_input_is_accepted(chain):
    assert _returned(chain.results[(5, "valid, inputs 0 and 1")])


@pytest.mark.parametrize("n", [0, 1, 5])
def test_wrong_and_malformed_proofs_return_false(chain, n):
    cases = {key[1]: res for key, res in chain.results.items()
             if isinstance(key, tuple) and key[0] == n
             and not key[1].startswith("valid")
             and key[1] not in ("short calldata", "wrong selector", "trailing bytes")}
    assert len(cases) >= 14
    accepted = [case for case, res in cases.items() if _returned(res)]
    assert not accepted


@pytest.mark.parametrize("n", [0, 1, 5])
def test_only_calldata_the_abi_decoder_refuses_reverts(chain, n):
    assert chain.results[(n, "short calldata")]["reverted"]
    assert chain.results[(n, "wrong selector")]["reverted"]
    assert _returned(chain.results[(n, "trailing bytes")])      # extra bytes are ignored


def test_cheap_rejections_do_not_reach_the_pairing(chain):
    # everything the contract checks itself costs far less than the pairing precompile
    # (45000 + 4 * 34000 gas); B outside G2 is refused by the precompile, which keeps the
    # gas passed to it
    for case in ("A off the curve (y + 1)", "A.y + q (same point mod q)", "B.y_re + q",
                 "input 0 + r (same mod r)", "last input = 2^256 - 1"):
        assert chain.results[(5, case)]["gasUsed"] < 181000, case
    assert chain.results[(5, "B on the twist, outside G2")]["gasUsed"] > CALL_GAS * 0.9


@pytest.mark.parametrize("n", [0, 1, 5])
def test_b_outside_g2_returns_false_with_a_tight_gas_limit(chain, n):
    assert _returned(chain.tight[(n, "valid")])
    assert not _returned(chain.tight[(n, "B outside G2")])


def test_gas(chain):
    lines = [f"solc {chain.out['solc']}, @ethereumjs/evm ({HARDFORK}); live set-up and runs "
             f"{chain.seconds:.1f} s"]
    for n in (0, 1, 5):
        res = chain.results[(n, "valid")]
        size = chain.out["contracts"][f"ours{n}"]["codeSize"]
        lines.append(f"ours, {n} public: execution {res['gasUsed']} gas, transaction "
                     f"{_tx_gas(res['data'], res['gasUsed'])} gas, code {size} bytes")
        # the pairing (181000) and per signal ecMul + ecAdd (6150), plus a few thousand
        assert res["gasUsed"] < 181000 + 6150 * n + 6000
    res = chain.results[(5, "valid, inputs 0 and 1")]
    lines.append(f"ours, 5 public, two of them 0 and 1: execution {res['gasUsed']} gas")
    for case in ("input 0 + r (same mod r)", "A off the curve (y + 1)", "B.y_re + q",
                 "A replaced by 2A", "B on the twist, outside G2"):
        lines.append(f"ours, 5 public, rejecting {case}: execution "
                     f"{chain.results[(5, case)]['gasUsed']} of {CALL_GAS} gas")
    for key in ("ours on snarkjs key", "snarkjs verifier"):
        res = chain.results[key]
        lines.append(f"{key} (5 public): execution {res['gasUsed']} gas, transaction "
                     f"{_tx_gas(res['data'], res['gasUsed'])} gas")
    print("\n" + "\n".join(lines))


def test_snarkjs_key_proof_and_calldata(chain):
    vk, proof, public, _, calldata_text = chain.snarkjs
    assert export_calldata(proof, public) == calldata_text
    assert _returned(chain.results["ours on snarkjs key"])
    assert _returned(chain.results["snarkjs verifier"])        # the same calldata works for both
    assert not _returned(chain.results["snarkjs verifier, wrong input"])
    # ours also checks A and C on the curve and every coordinate below q before any
    # precompile call (snarkjs' leaves them to the precompiles, which then take all the gas
    # passed), and still costs no more
    ours, theirs = chain.results["ours on snarkjs key"], chain.results["snarkjs verifier"]
    assert ours["gasUsed"] <= theirs["gasUsed"]
