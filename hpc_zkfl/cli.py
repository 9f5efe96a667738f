"""The ``hpc-zkfl`` console script.

Each subcommand is a function decorated with :func:`command`; it receives the parsed
arguments and returns the exit status. Any error ends the program with one line on stderr
and exit status 2.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path
from typing import Callable, NamedTuple

import hpc_zkfl
from hpc_zkfl.files import write_atomically
from hpc_zkfl.machine import (cores_usable, cpu_model, memory_total, module_version,
                              numba_cache_dir, numba_threading)

PROG = "hpc-zkfl"
EXIT_ERROR = 2


class UsageError(Exception):
    """A command line that cannot be run; reported as one line on stderr."""


class _Parser(argparse.ArgumentParser):
    """An argument parser that raises instead of printing usage and exiting."""

    def error(self, message: str):
        raise UsageError(message)


class _Command(NamedTuple):
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None] | None
    run: Callable[[argparse.Namespace], int]


_COMMANDS: dict[str, _Command] = {}


def command(name: str, help: str, add_arguments=None):
    """Register the decorated function as the subcommand ``name``.

    ``add_arguments(parser)`` adds the subcommand's own options; the function is called
    with the parsed ``argparse.Namespace`` and returns the exit status.
    """

    def register(run: Callable[[argparse.Namespace], int]):
        if name in _COMMANDS:
            raise ValueError(f"subcommand {name!r} is already registered")
        _COMMANDS[name] = _Command(help, add_arguments, run)
        return run

    return register


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog=PROG,
        description="Federated learning with a Groth16 (BN254) proof of every node's update.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {hpc_zkfl.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, cmd in _COMMANDS.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        if cmd.add_arguments is not None:
            cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return args._run(args)
    except UsageError as exc:
        _fail(f"{exc} (see '{PROG} --help')")
    except KeyboardInterrupt:
        _fail("interrupted")
    except Exception as exc:
        _fail(f"{type(exc).__name__}: {exc}")
    return EXIT_ERROR


def _fail(message: str) -> None:
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)


# ---------------------------------------------------------------------------------------
# hpc-zkfl info


def _info_lines() -> list[tuple[str, str]]:
    from hpc_zkfl.backends import gpu_status

    import numba

    configured_layer, actual_layer = numba_threading()
    gpu_ok, gpu_detail = gpu_status()
    memory = memory_total()
    lines = [
        ("hpc-zkfl", hpc_zkfl.__version__),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
    ]
    for module in ("numpy", "numba", "llvmlite", "py_ecc", "mpi4py", "h5py", "torch", "cupy"):
        lines.append((module, module_version(module)))
    lines += [
        ("cpu model", cpu_model()),
        ("cpu cores", f"{os.cpu_count()} (usable by this process: {cores_usable() or 'unknown'})"),
        ("memory", f"{memory / 2**30:.1f} GiB" if memory else "unknown"),
        ("numba threading layer", f"{actual_layer} (configured: {configured_layer})"),
        ("NUMBA_NUM_THREADS", f"{numba.config.NUMBA_NUM_THREADS}"),
        ("numba cache dir", numba_cache_dir()),
        ("gpu", gpu_detail if gpu_ok else f"none ({gpu_detail})"),
    ]
    return lines


# ---------------------------------------------------------------------------------------
# hpc-zkfl groth16 setup | prove | verify

EXIT_INVALID = 1


class _Invalid(Exception):
    """A well-formed input that fails: an invalid proof, a witness that does not satisfy."""


class _Malformed(Exception):
    """An input file that cannot be read or parsed (exit status 2)."""


def _read(path: str, what: str, parse):
    """parse(path) with any failure reported as an unreadable or malformed file."""
    try:
        return parse(path)
    except OSError as exc:
        raise _Malformed(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    except ValueError as exc:  # JSON, iden3 and point decoding errors are ValueErrors
        raise _Malformed(f"{what} {path} is malformed: {exc}") from None


def _groth16_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    p = actions.add_parser(
        "setup", help="make a proving key and a snarkjs verification key",
        description="Make a proving key and a snarkjs verification key.  With --ptau, tau, alpha "
                    "and beta come from a powers-of-tau ceremony's file, and this process makes "
                    "the first phase-2 contribution (or none, with --initial); a PROVING_KEY "
                    "ending in .zkey is written as a snarkjs .zkey, for `contribute` by other "
                    "parties.  Without --ptau the whole trapdoor is drawn here: a local "
                    "single-party setup, not for production.")
    p.add_argument("circuit", metavar="CIRCUIT.r1cs")
    p.add_argument("proving_key", metavar="PROVING_KEY")
    p.add_argument("verification_key", metavar="VERIFICATION_KEY.json")
    p.add_argument("--ptau", metavar="FILE.ptau",
                   help="phase 1 from this snarkjs powers-of-tau file (e.g. a Hermez / Perpetual "
                        "Powers of Tau ceremony's; prepared for phase 2 or not) of power >= "
                        "log2 of the circuit's domain")
    p.add_argument("--initial", action="store_true",
                   help="with --ptau and a .zkey: write the initial key (delta = 1, as `snarkjs "
                        "groth16 setup`), which anyone can forge under until a contribution")
    p.add_argument("--name", default="setup", help="the name recorded with the contribution")
    p = actions.add_parser(
        "contribute", help="add a phase-2 contribution to a .zkey (snarkjs zkey contribute)",
        description="Multiply the key's delta by a fresh secret from the OS CSPRNG, with a proof "
                    "of knowledge and the transcript hash, as `snarkjs zkey contribute`; the "
                    "secret is forgotten on exit.  The key is sound unless every contributor "
                    "kept its secret and they collude.")
    p.add_argument("old_key", metavar="IN.zkey")
    p.add_argument("new_key", metavar="OUT.zkey")
    p.add_argument("--name", default="", help="the contributor's name recorded in the key")
    p = actions.add_parser(
        "verify-key", help="check a .zkey against its circuit and powers of tau (snarkjs zkey "
                           "verify)",
        description="Exit 0 and list the contributions when the key is the circuit's initial "
                    "key from the powers of tau after exactly the contributions it records, each "
                    "with a valid proof of knowledge; exit 2 naming the first that fails.")
    p.add_argument("circuit", metavar="CIRCUIT.r1cs")
    p.add_argument("ptau", metavar="FILE.ptau")
    p.add_argument("key", metavar="KEY.zkey")
    p = actions.add_parser("prove", help="prove a witness; writes snarkjs proof.json and public.json",
                           description="Prove a witness with our proving key or a snarkjs "
                                       ".zkey (as `snarkjs groth16 prove`, whose proof is "
                                       "verified before it is written); a witness that does "
                                       "not satisfy the circuit gives no proof (exit 1).")
    p.add_argument("proving_key", metavar="PROVING_KEY|KEY.zkey")
    p.add_argument("witness", metavar="WITNESS.wtns")
    p.add_argument("proof", metavar="PROOF.json")
    p.add_argument("public", metavar="PUBLIC.json")
    p = actions.add_parser("verify", help="exit 0 and OK for a valid proof, 1 and the reason if not")
    p.add_argument("verification_key", metavar="VERIFICATION_KEY.json")
    p.add_argument("public", metavar="PUBLIC.json")
    p.add_argument("proof", metavar="PROOF.json")
    p = actions.add_parser("export-solidity",
                           help="write a Solidity verifier contract (verifyProof) for a key")
    p.add_argument("verification_key", metavar="VERIFICATION_KEY.json")
    p.add_argument("contract", metavar="VERIFIER.sol")
    p.add_argument("--contract-name", default="Groth16Verifier", metavar="NAME")
    p = actions.add_parser("export-calldata",
                           help="print verifyProof's arguments, as snarkjs' soliditycalldata")
    p.add_argument("public", metavar="PUBLIC.json")
    p.add_argument("proof", metavar="PROOF.json")
    p.add_argument("--abi", action="store_true",
                   help="print the encoded call instead (0x, selector and arguments)")


@command("groth16", help="Groth16 setup, prove and verify (snarkjs-compatible files)",
         add_arguments=_groth16_arguments)
def _groth16(args: argparse.Namespace) -> int:
    try:
        return {"setup": _g16_setup, "prove": _g16_prove, "verify": _g16_verify,
                "contribute": _g16_contribute, "verify-key": _g16_verify_key,
                "export-solidity": _g16_export_solidity,
                "export-calldata": _g16_export_calldata}[args.action](args)
    except _Invalid as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except _Malformed as exc:
        _fail(str(exc))
        return EXIT_ERROR


def _g16_setup(args) -> int:
    import time

    from hpc_zkfl.circuit.iden3 import load_r1cs
    from hpc_zkfl.groth16 import formats, setup
    from hpc_zkfl.groth16.zkey import write_zkey

    r1cs = _read(args.circuit, "circuit", load_r1cs)
    zkey_out = args.proving_key.endswith(".zkey")
    if args.ptau is None and (zkey_out or args.initial):
        raise UsageError("a .zkey key and --initial need --ptau (phase 1 from a ceremony)")
    if args.initial and not zkey_out:
        raise UsageError("--initial writes a .zkey, for others to contribute to: name the "
                         "key FILE.zkey")
    t0 = time.perf_counter()
    if args.ptau is None:
        print(f"{PROG}: warning: local single-party setup, not for production: this process "
              f"drew the whole trapdoor and could forge proofs had it kept it; pass --ptau FILE "
              f"to take tau, alpha and beta from a powers-of-tau ceremony", file=sys.stderr)
        pk, trapdoor = setup(r1cs), "local (not for production)"
        write_atomically(args.proving_key, formats.proving_file_to_bytes(pk, r1cs))
    else:
        key, ptau = _start_phase2(r1cs, args.ptau)
        if args.initial:
            print(f"{PROG}: warning: the initial key (delta = 1): anyone can forge proofs "
                  f"under it until at least one party has contributed", file=sys.stderr)
            trapdoor = f"phase 1 from {args.ptau} ({ptau.describe()}); no phase-2 contribution"
        else:
            key, chash = key.contribute(args.name)
            trapdoor = (f"phase 1 from {args.ptau} ({ptau.describe()}); phase 2: one "
                        f"contribution by this process, hash {chash.hex()[:32]}...; let other "
                        f"parties `contribute` too")
        pk = key.pk
        if zkey_out:
            write_zkey(args.proving_key, key, r1cs)
        else:
            write_atomically(args.proving_key, formats.proving_file_to_bytes(pk, r1cs))
    write_atomically(args.verification_key, formats.dumps(formats.vk_to_snarkjs(pk.vk)))
    print(f"setup: {r1cs.n_constraints} constraints, {r1cs.n_public} public signals, "
          f"{time.perf_counter() - t0:.2f} s; wrote {args.proving_key} and {args.verification_key}")
    print(f"trapdoor: {trapdoor}")
    return 0


def _start_phase2(r1cs, ptau_path):
    from hpc_zkfl.groth16 import PtauError, read_ptau
    from hpc_zkfl.groth16.ptau import start_phase2

    try:
        ptau = read_ptau(ptau_path)
        return start_phase2(r1cs, ptau), ptau
    except OSError as exc:
        raise _Malformed(f"cannot read powers of tau {ptau_path}: {exc.strerror or exc}") from None
    except PtauError as exc:
        raise _Malformed(str(exc)) from None


def _read_zkey(path, subgroup_check=True):
    from hpc_zkfl.groth16.zkey import read_zkey
    return _read(path, "key", lambda p: read_zkey(p, convert_h=False,
                                                  subgroup_check=subgroup_check))


def _g16_contribute(args) -> int:
    from hpc_zkfl.groth16.zkey import write_zkey

    z = _read_zkey(args.old_key)
    key, chash = z.phase2_key().contribute(args.name)
    write_zkey(args.new_key, key, z)
    print(f"contribution {len(key.transcript.contributions)}"
          f"{' (' + args.name + ')' if args.name else ''}: hash {chash.hex()}")
    print(f"circuit hash {key.transcript.circuit_hash.hex()}; wrote {args.new_key}")
    return 0


def _g16_verify_key(args) -> int:
    from hpc_zkfl.circuit.iden3 import load_r1cs
    from hpc_zkfl.groth16 import PtauError, read_ptau
    from hpc_zkfl.groth16.zkey import ZkeyError, verify_key

    r1cs = _read(args.circuit, "circuit", load_r1cs)
    ptau = _read(args.ptau, "powers of tau", read_ptau)
    z = _read_zkey(args.key)
    try:
        verify_key(z, r1cs, ptau)
    except (ZkeyError, PtauError) as exc:
        raise _Malformed(f"key does not verify: {exc}") from None
    print(f"circuit hash {z.transcript.circuit_hash.hex()}")
    for i, c in enumerate(z.transcript.contributions, start=1):
        kind = "beacon" if c.kind else "contribution"
        print(f"{kind} {i}{' (' + c.name + ')' if c.name else ''}: {c.contribution_hash().hex()}")
    if not z.transcript.contributions:
        print(f"{PROG}: warning: no contribution: delta = 1, anyone can forge proofs under this "
              f"key", file=sys.stderr)
    print("OK")
    return 0


def _g16_prove(args) -> int:
    from pathlib import Path

    from hpc_zkfl.algebra.fields import FR
    from hpc_zkfl.circuit.iden3 import load_wtns
    from hpc_zkfl.groth16 import UnsatisfiedWitnessError, formats, prove

    witness = _read(args.witness, "witness", load_wtns)
    if _is_zkey(args.proving_key):
        from hpc_zkfl.groth16.zkey import ZkeyProver
        try:
            # G2 subgroups unchecked at reading: each proof is verified before it is written
            z = _read_zkey(args.proving_key, subgroup_check=False)
            proof, public = ZkeyProver(z).prove(witness)
        except ValueError as exc:
            raise _Invalid(f"refused to prove: {exc}") from None
    else:
        # A key file we wrote ourselves: skip only the costly G2 subgroup test, as documented.
        pk, r1cs = _read(args.proving_key, "proving key",
                         lambda p: formats.proving_file_from_bytes(Path(p).read_bytes(),
                                                                   subgroup_check=False))
        if witness.shape[0] != r1cs.n_wires:
            raise _Malformed(f"witness {args.witness} has {witness.shape[0]} values; the circuit "
                             f"of {args.proving_key} has {r1cs.n_wires} wires")
        try:
            proof = prove(pk, r1cs, witness)
        except UnsatisfiedWitnessError as exc:
            raise _Invalid(f"refused to prove: {exc}") from None
        public = FR.decode(witness[1:1 + r1cs.n_public])
    write_atomically(args.proof, formats.dumps(formats.proof_to_snarkjs(proof)))
    write_atomically(args.public, formats.dumps(formats.public_to_snarkjs(public)))
    return 0


def _is_zkey(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"zkey"
    except OSError as exc:
        raise _Malformed(f"cannot read proving key {path}: {exc.strerror or exc}") from None


def _read_verification_key(path: str):
    from hpc_zkfl.groth16 import formats
    return _read(path, "verification key", lambda p: formats.vk_from_snarkjs(formats.load_json(p)))


def _read_public(path: str) -> list:
    from hpc_zkfl.groth16 import formats
    return _read(path, "public signals",
                 lambda p: formats.public_from_snarkjs(formats.load_json(p)))


def _g16_verify(args) -> int:
    from hpc_zkfl.algebra.serialization import NotOnCurveError, SubgroupError
    from hpc_zkfl.groth16 import formats, verify

    vk = _read_verification_key(args.verification_key)
    public = _read_public(args.public)
    obj = _read(args.proof, "proof", formats.load_json)
    try:
        proof = formats.proof_from_snarkjs(obj)
    except (NotOnCurveError, SubgroupError) as exc:
        raise _Invalid(f"invalid proof: {exc}") from None
    except ValueError as exc:
        raise _Malformed(f"proof {args.proof} is malformed: {exc}") from None
    if len(public) != vk.n_public:
        raise _Invalid(f"invalid proof: {len(public)} public signals, the key expects {vk.n_public}")
    if not verify(vk, public, proof):
        raise _Invalid("invalid proof: the pairing check fails for these public signals")
    print("OK")
    return 0


# ---------------------------------------------------------------------------------------
def _g16_export_solidity(args) -> int:
    from hpc_zkfl.groth16.solidity import export_solidity

    vk = _read_verification_key(args.verification_key)
    try:
        source = export_solidity(vk, contract_name=args.contract_name)
    except ValueError as exc:           # a contract name that is no Solidity identifier
        raise UsageError(str(exc)) from None
    write_atomically(args.contract, source)
    print(f"wrote {args.contract}: contract {args.contract_name}, verifyProof for "
          f"{vk.n_public} public signals")
    return 0


def _g16_export_calldata(args) -> int:
    from hpc_zkfl.groth16 import formats
    from hpc_zkfl.groth16.solidity import export_calldata, verify_proof_calldata

    public = _read_public(args.public)
    proof = _read(args.proof, "proof",
                  lambda p: formats.proof_from_snarkjs(formats.load_json(p)))
    print("0x" + verify_proof_calldata(proof, public).hex() if args.abi
          else export_calldata(proof, public))
    return 0


# hpc-zkfl r1cs info


def _r1cs_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    info = actions.add_parser("info", help="constraints, wires, public and private inputs")
    info.add_argument("circuit", metavar="CIRCUIT.r1cs", help="an iden3 .r1cs file (circom's output)")


@command("r1cs", help="inspect iden3 .r1cs constraint systems", add_arguments=_r1cs_arguments)
def _r1cs(args: argparse.Namespace) -> int:
    from hpc_zkfl.circuit.iden3 import load_r1cs

    r1cs = load_r1cs(args.circuit)
    terms = {name: len(getattr(r1cs, name).wires) for name in "ABC"}
    n_private_internal = r1cs.n_wires - 1 - r1cs.n_public
    lines = [
        ("file", args.circuit),
        ("field", "BN254 scalar field r (bn128)"),
        ("constraints", f"{r1cs.n_constraints}"),
        ("wires", f"{r1cs.n_wires} (the constant 1 included)"),
        ("public outputs", f"{r1cs.n_outputs}"),
        ("public inputs", f"{r1cs.n_public_inputs}"),
        ("private inputs", f"{r1cs.n_private_inputs}"),
        ("internal wires", f"{n_private_internal - r1cs.n_private_inputs}"),
        ("non-zero terms", f"A {terms['A']}, B {terms['B']}, C {terms['C']}"),
    ]
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0


# ---------------------------------------------------------------------------------------
# hpc-zkfl run / report


def _run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", metavar="CONFIG.toml", help="run configuration")
    parser.add_argument("--resume", action="store_true",
                        help="continue the run's results file from its last complete round")
    parser.add_argument("--output", metavar="RESULTS.h5",
                        help="results file (default: the config's run.output)")
    parser.add_argument("--skip-resource-check", action="store_true",
                        help="run even when the memory estimate exceeds this host's share per "
                             "rank (the Groth16 domain limit still applies)")


@command("run", help="run a federated configuration (under mpiexec/mpirun/srun for many ranks)",
         add_arguments=_run_arguments)
def _run(args: argparse.Namespace) -> int:
    from hpc_zkfl.config import ConfigError, load_config
    from hpc_zkfl.resources import check_resources

    try:
        cfg = load_config(args.config)          # every check before any MPI work
        check_resources(cfg, skip_memory=args.skip_resource_check)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None
    out = Path(args.output or cfg.run.output)
    if args.resume and not out.exists():
        raise UsageError(f"{out}: no results file to resume")
    if args.resume:
        from hpc_zkfl.config import parse_config, resume_conflicts
        from hpc_zkfl.io.results import ResultsFileError, check_resume_key, read_config_toml
        try:
            stored = parse_config(read_config_toml(out), str(out)).as_dict()
            check_resume_key(out, out.with_suffix(".pk"))
        except (ResultsFileError, ConfigError) as exc:
            raise UsageError(f"cannot resume: {exc}") from None
        conflicts = resume_conflicts(stored, cfg)
        if conflicts:
            raise UsageError(f"cannot resume {out}: the config differs from the run's in "
                             f"{', '.join(conflicts)}")
    if not args.resume and out.exists():
        raise UsageError(f"{out} exists; pass --resume to continue it, or choose another "
                         f"--output")
    from hpc_zkfl.mpi.runtime import run

    return run(cfg, resume=args.resume, output=out)


def _report_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("results", nargs="+", metavar="RESULTS.h5", help="results files")
    parser.add_argument("--out", metavar="DIR", default=None,
                        help="folder for the PNG plots (default: beside the first file)")


@command("report", help="summary table and PNG plots of one or more results files",
         add_arguments=_report_arguments)
def _report(args: argparse.Namespace) -> int:
    from hpc_zkfl.io.report import run_report
    from hpc_zkfl.io.results import ResultsFileError

    out = Path(args.out) if args.out else Path(args.results[0]).resolve().parent / "report"
    try:
        print(run_report([Path(p) for p in args.results], out))
    except ResultsFileError as exc:
        _fail(str(exc))
        return EXIT_ERROR
    return 0


def _export_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("results", help="a boosted-tree run's results file (.h5)")
    p.add_argument("output", help="the model file to write (.json)")
    p.add_argument("--round", type=int, default=None,
                   help="the trees after this round (default: the last complete one)")


@command("export", help="write a boosted-tree run's trees in XGBoost's JSON model format",
         add_arguments=_export_arguments)
def _export(args: argparse.Namespace) -> int:
    from hpc_zkfl.fl.boosting import load_ensemble
    from hpc_zkfl.io.results import ResultsFileError
    from hpc_zkfl.io.xgboost_json import save_xgboost_json

    try:
        ensemble = load_ensemble(args.results, args.round)
    except (ResultsFileError, ValueError) as exc:
        _fail(str(exc))
        return EXIT_ERROR
    save_xgboost_json(ensemble, args.output)
    print(f"{args.output}: {len(ensemble.trees)} trees, {ensemble.edges.n_features} features")
    return 0


@command("info", help="print versions, cores, numba threading and GPU visibility")
def _info(args: argparse.Namespace) -> int:
    lines = _info_lines()
    width = max(len(key) for key, _ in lines)
    for key, value in lines:
        print(f"{key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    # Run the canonical module's main, so that subcommands registered on
    # ``hpc_zkfl.cli`` by other modules are present under ``python -m hpc_zkfl.cli`` too.
    from hpc_zkfl.cli import main as _main

    sys.exit(_main())
