"""One place that configures numba for the algebra kernels.

numba's on-disk cache is keyed on the source file of each kernel only, so a kernel
cached before an edit to a *called* function in another file would be reused stale.
We key the cache directory on a fingerprint of the source files of every package that holds
kernels instead:
any edit selects a fresh directory, and an unchanged tree loads machine code
without recompiling (also in a second process).
"""
import hashlib
import os
from pathlib import Path

import numba

_PACKAGE = Path(__file__).resolve().parents[1]
KERNEL_PACKAGES = ("algebra", "circuit", "groth16")


def _source_fingerprint() -> str:
    h = hashlib.sha256(numba.__version__.encode())
    for package in KERNEL_PACKAGES:
        for path in sorted((_PACKAGE / package).glob("*.py")):
            source = path.read_bytes()
            # Every algebra module feeds compiled code (kernels, overloads, frozen constants);
            # elsewhere only modules with kernels do, and editing pure-Python ones (builder,
            # file formats) must not recompile everything.
            if package == "algebra" or b"_jit import" in source:
                h.update(f"{package}/{path.name}".encode())
                h.update(source)
    return h.hexdigest()[:16]


def _configure_cache_dir() -> str:
    base = os.environ.get("NUMBA_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "hpc_zkfl", "numba"
    )
    path = os.path.join(base, _source_fingerprint())
    # Read by numba when each cached dispatcher is created, so this must run before the
    # kernels are decorated; every algebra module imports this one first.
    numba.config.CACHE_DIR = path
    return path


CACHE_DIR = _configure_cache_dir()


def jit(*args, **kwargs):
    """`numba.njit` with the on-disk cache on and the GIL released: `@jit` or
    `@jit(parallel=True)`."""
    kwargs.setdefault("cache", True)
    # Kernels release the GIL, so that a rank can prove several nodes at once from Python
    # threads (`hpc_zkfl.fl.node.step_nodes`).
    kwargs.setdefault("nogil", True)
    if args and callable(args[0]):
        return numba.njit(**kwargs)(args[0])
    return numba.njit(*args, **kwargs)


def inline(fn):
    """A scalar helper called from kernels.  LLVM inlines it into each caller; numba's own
    IR inlining (inline="always") is avoided because nested through the tower fields it
    multiplies compile time by ten or more."""
    return numba.njit(fn)


def inline_ir(fn):
    """For the innermost limb-level functions only (Montgomery add/sub/mul): inlined into
    the caller's numba IR, so array loops see straight-line code.  One level deep, this
    costs little compile time."""
    return numba.njit(inline="always")(fn)
