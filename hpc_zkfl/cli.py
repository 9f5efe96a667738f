"""The ``hpc-zkfl`` console script.

Each subcommand is a function decorated with :func:`command`; it receives the parsed
arguments and returns the exit status. Any error ends the program with one line on stderr
and exit status 2.
"""
from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
from typing import Callable, NamedTuple

import hpc_zkfl

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


def _module_version(module: str) -> str:
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return "not installed"
    except Exception as exc:  # installed but broken
        return f"installed, import failed ({type(exc).__name__}: {exc})"
    return str(getattr(mod, "__version__", "installed (version unknown)"))


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else (platform.processor() or "unknown")


def _memory() -> str:
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return "unknown"
    return f"{total / 2**30:.1f} GiB"


def _numba_threading() -> tuple[str, str]:
    """The configured threading layer and the one numba loads for a parallel kernel."""
    import numba

    configured = numba.config.THREADING_LAYER

    @numba.njit(parallel=True, cache=False)
    def _probe(n):
        total = 0
        for i in numba.prange(n):
            total += i
        return total

    try:
        _probe(64)
        actual = numba.threading_layer()
    except Exception as exc:  # numba raises when the requested layer cannot be loaded
        actual = f"unavailable ({type(exc).__name__}: {exc})"
    return configured, actual


def _numba_cache_dir() -> str:
    import numba

    try:
        # Importing the algebra layer points numba's cache at the directory its kernels use.
        importlib.import_module("hpc_zkfl.algebra._jit")
    except Exception as exc:
        note = f" (hpc_zkfl.algebra not importable: {type(exc).__name__}: {exc})"
    else:
        note = ""
    cache_dir = numba.config.CACHE_DIR or "__pycache__ next to each source file"
    return cache_dir + note


def _info_lines() -> list[tuple[str, str]]:
    from hpc_zkfl.backends import gpu_status

    import numba

    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    configured_layer, actual_layer = _numba_threading()
    gpu_ok, gpu_detail = gpu_status()
    lines = [
        ("hpc-zkfl", hpc_zkfl.__version__),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("platform", platform.platform()),
    ]
    for module in ("numpy", "numba", "llvmlite", "py_ecc", "mpi4py", "h5py", "torch", "cupy"):
        lines.append((module, _module_version(module)))
    lines += [
        ("cpu model", cpu_model()),
        ("cpu cores", f"{os.cpu_count()} (usable by this process: {affinity or 'unknown'})"),
        ("memory", _memory()),
        ("numba threading layer", f"{actual_layer} (configured: {configured_layer})"),
        ("NUMBA_NUM_THREADS", f"{numba.config.NUMBA_NUM_THREADS}"),
        ("numba cache dir", _numba_cache_dir()),
        ("gpu", gpu_detail if gpu_ok else f"none ({gpu_detail})"),
    ]
    return lines


# ---------------------------------------------------------------------------------------
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
