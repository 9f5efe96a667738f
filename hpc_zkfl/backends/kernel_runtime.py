"""Loading and launching the CUDA kernels of ``kernels/`` (the package ``hpc_zkfl.kernels``).

Two executors run the same sources and expose the same interface (``xp``, ``launch``,
``to_device``, ``to_host``, ``empty``):

- :class:`DeviceKernels`: CuPy compiles each ``.cu`` with NVRTC into a RawModule (a ``#line``
  directive keeps compiler messages pointing at the file) and launches its kernels on the
  current device; ``xp`` is CuPy.
- :class:`HostKernels`: the host C++ compiler builds the same files into a shared library
  (kernels/launch.cuh turns every kernel into a loop over its thread indices) called through
  ctypes; ``xp`` is NumPy.  It runs every kernel body and the whole orchestration of
  :mod:`hpc_zkfl.backends.gpu` on machines without a GPU, which is how CI checks them.
"""
from __future__ import annotations

import ctypes
import hashlib
import os
import shutil
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import numpy as np

SOURCES = ("fr_ops.cu", "ntt.cu", "msm.cu", "r1cs.cu", "probe.cu")
HEADERS = ("field.cuh", "curve.cuh", "launch.cuh")
DEFAULT_BLOCK = 256


class KernelBuildError(RuntimeError):
    """The kernels did not compile; the message holds the compiler's output."""


def kernel_dir() -> Path:
    """The folder holding the CUDA sources: the installed package hpc_zkfl.kernels, or
    kernels/ of the source tree when the project runs uninstalled (PYTHONPATH)."""
    try:
        return Path(str(resources.files("hpc_zkfl.kernels")))
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "kernels"


def kernel_source(name: str) -> str:
    """One source file, prefixed with a #line directive naming it."""
    path = kernel_dir() / name
    return f'#line 1 "{path}"\n' + path.read_text()


def sources_digest() -> str:
    """A hash of every kernel source: the key of compiled-kernel caches."""
    h = hashlib.sha256()
    for name in HEADERS + SOURCES:
        h.update(name.encode() + b"\0" + (kernel_dir() / name).read_bytes())
    return h.hexdigest()[:16]


def _as_arg(value):
    """A launch argument for ctypes: arrays by address, typed NumPy scalars by value."""
    if isinstance(value, np.ndarray):
        if not value.flags.c_contiguous:
            raise ValueError("kernel arrays must be C-contiguous")
        return ctypes.c_void_p(value.ctypes.data)
    if isinstance(value, np.uint32):
        return ctypes.c_uint32(int(value))
    if isinstance(value, np.uint64):
        return ctypes.c_uint64(int(value))
    raise TypeError(f"kernel arguments are arrays, np.uint32 or np.uint64, got {type(value).__name__}")


def host_compiler() -> str | None:
    """The host C++ compiler ($CXX, else c++, g++ or clang++ on PATH), or None."""
    for cand in (os.environ.get("CXX"), "c++", "g++", "clang++"):
        if cand and shutil.which(cand):
            return shutil.which(cand)
    return None


def _cache_dir() -> Path:
    root = os.environ.get("HPC_ZKFL_KERNEL_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "hpc_zkfl", "kernels")
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def build_host_library(compiler: str | None = None) -> Path:
    """Compile the kernels for the host into a shared library (cached by source hash)."""
    compiler = compiler or host_compiler()
    if compiler is None:
        raise KernelBuildError("no C++ compiler found (set CXX)")
    target = _cache_dir() / f"zk_host_{sources_digest()}.so"
    if target.exists():
        return target
    # Build beside the target and rename: ranks that build at once never load a partial file.
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    cmd = [compiler, "-O2", "-std=c++17", "-shared", "-fPIC", "-x", "c++",
           *[str(kernel_dir() / s) for s in SOURCES], "-o", tmp]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        os.unlink(tmp)
        raise KernelBuildError(f"host build of the kernels failed ({' '.join(cmd)}):\n"
                               f"{proc.stderr[-4000:]}")
    os.replace(tmp, target)
    return target


class HostKernels:
    """The kernels compiled for the CPU, one loop iteration per device thread."""

    name = "host"
    xp = np

    def __init__(self):
        self._lib = ctypes.CDLL(str(build_host_library()))

    def launch(self, name, threads, *args, block=None, shared_mem=0):
        if threads == 0:
            return
        fn = getattr(self._lib, name)
        fn.restype = None
        fn(ctypes.c_uint32(threads), *map(_as_arg, args))

    def empty(self, shape, dtype=np.uint64):
        return np.empty(shape, dtype=dtype)

    def to_device(self, arr, dtype=np.uint64):
        return np.ascontiguousarray(arr, dtype=dtype)

    def to_host(self, arr):
        return np.asarray(arr)


def _max_threads_per_block(fn) -> int:
    """The most threads a launch of this kernel may have (its registers decide it); a property
    of CuPy's RawKernel, a method in some versions."""
    value = getattr(fn, "max_threads_per_block", None)
    if callable(value):
        value = value()
    return int(value) if value else DEFAULT_BLOCK


class DeviceMemory:
    """Allocation and transfers through ``self.xp``, an array module with CuPy's API."""

    def empty(self, shape, dtype=np.uint64):
        return self.xp.empty(shape, dtype=dtype)

    def to_device(self, arr, dtype=np.uint64):
        return self.xp.ascontiguousarray(self.xp.asarray(arr, dtype=dtype))

    def to_host(self, arr):
        return self.xp.asnumpy(arr)


class DeviceKernels(DeviceMemory):
    """The kernels compiled by NVRTC and launched by CuPy on the current CUDA device."""

    name = "cuda"

    def __init__(self):
        import cupy

        self.xp = cupy
        options = ("--std=c++17", f"-I{kernel_dir()}")
        self._modules = {}
        self._functions = {}
        # CuPy's on-disk cache is keyed by the source text and options, not by the headers
        # it includes: the digest of every kernel file in the text keeps a header edit from
        # loading a stale binary (the #line after it keeps the line numbers).
        digest = f"// hpc_zkfl kernels {sources_digest()}\n"
        try:
            for src in SOURCES:
                module = cupy.RawModule(code=digest + kernel_source(src), options=options)
                module.compile()
                self._modules[src] = module
        except cupy.cuda.compiler.CompileException as exc:
            raise KernelBuildError(f"NVRTC failed on {src}:\n{exc}") from None

    def _function(self, name):
        fn = self._functions.get(name)
        if fn is None:
            for module in self._modules.values():
                try:
                    fn = module.get_function(name)
                    break
                except Exception:  # cupy raises CUDADriverError for a missing symbol
                    continue
            else:
                raise KeyError(f"no kernel named {name!r}")
            self._functions[name] = fn
        return fn

    def launch(self, name, threads, *args, block=None, shared_mem=0):
        """One thread per index below `threads`.  A kernel that needs its exact block size
        (the shared-memory NTT) passes `block`; the others get DEFAULT_BLOCK, lowered to what
        the kernel's registers allow (the G2 MSM kernels use 255 a thread: 256 fit a block)."""
        if threads == 0:
            return
        fn = self._function(name)
        limit = _max_threads_per_block(fn)
        if block is None:
            block = min(DEFAULT_BLOCK, limit)
        elif block > limit:
            raise KernelBuildError(f"{name} needs blocks of {block} threads; this device "
                                   f"allows {limit} for it")
        grid = ((threads + block - 1) // block,)
        fn(grid, (block,), (np.uint32(threads), *args), shared_mem=shared_mem)
