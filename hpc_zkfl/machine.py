"""What this machine is: CPU, memory, cores, GPU, host, package versions and source commit.

One place for the probes behind `hpc-zkfl info`, a results file's run metadata and the
benchmarks' machine line.  Importing it imports no numba, torch, CuPy or mpi4py (mpi4py
must not be imported outside hpc_zkfl.mpi); the probes that need them import them lazily.
"""
from __future__ import annotations

import contextlib
import importlib
import os
import platform
import socket
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

# The folder git is asked about: the source tree this package runs from.
_SOURCE = Path(__file__).resolve().parent
# (module, distribution) of the packages a run's results depend on.
_PACKAGES = (("hpc_zkfl", "hpc-zkfl"), ("numpy", "numpy"), ("numba", "numba"),
             ("h5py", "h5py"), ("torch", "torch"), ("mpi4py", "mpi4py"))


def cpu_model() -> str:
    """The CPU's model name (/proc/cpuinfo, else platform.processor()), or "unknown"."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            names = [line.split(":", 1)[1].strip() for line in f if line.startswith("model name")]
    except OSError:
        names = []
    return names[0] if names else (platform.processor() or "unknown")


def memory_total() -> int | None:
    """Bytes of physical memory on this host, or None when the system does not say."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return None


def memory_available() -> int:
    """Bytes of memory available to new processes: MemAvailable of /proc/meminfo, else
    MemTotal, else the physical memory (0 when the system says nothing)."""
    # No /proc (not Linux), or no usable line: the physical memory below.
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo", encoding="ascii") as f:
            info = dict(line.split(":", 1) for line in f if ":" in line)
        for key in ("MemAvailable", "MemTotal"):
            if key in info:
                return int(info[key].split()[0]) * 1024
    return memory_total() or 0


def cores_usable() -> int | None:
    """Cores this process may run on (its affinity mask, which batch schedulers narrow);
    all the host's cores where there is no mask; None when even that is unknown."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count()


def host_name() -> str:
    """This host's name, as MPI ranks report theirs."""
    return socket.gethostname()


def gpu_name() -> str | None:
    """The name of CUDA device 0 as CuPy sees it; None without CuPy, a driver or a device."""
    try:
        import cupy

        name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    except Exception:           # ImportError, CUDARuntimeError, a broken CUDA install
        return None
    return name.decode(errors="replace") if isinstance(name, bytes) else str(name)


def device_name(backend_name: str) -> str:
    """What a backend computes on: the GPU's name for "gpu", else the CPU's model (the
    "cuda-host" kernels run on the CPU)."""
    if backend_name == "gpu":
        return gpu_name() or "unknown GPU"
    return cpu_model()


def package_versions() -> dict:
    """Installed versions of the packages a run depends on (those not installed are left out).

    Read from the installed distributions' metadata, so nothing is imported: importing torch
    costs seconds, and mpi4py must not be imported outside hpc_zkfl.mpi.
    """
    out = {}
    for module, dist in _PACKAGES:
        try:
            out[module] = version(dist)
        except PackageNotFoundError:
            if module == "hpc_zkfl":            # a source tree that was never installed
                import hpc_zkfl
                out[module] = hpc_zkfl.__version__
    return out


def module_version(module: str) -> str:
    """A module's __version__ after importing it, or why it cannot be imported: a diagnosis
    for `hpc-zkfl info` (package_versions() is the cheap, import-free record)."""
    try:
        mod = importlib.import_module(module)
    except ImportError:
        return "not installed"
    except Exception as exc:  # installed but broken
        return f"installed, import failed ({type(exc).__name__}: {exc})"
    return str(getattr(mod, "__version__", "installed (version unknown)"))


def _git(*args: str) -> str | None:
    """The stripped output of a git command run in the source tree; None when it fails."""
    try:
        proc = subprocess.run(["git", *args], cwd=_SOURCE, capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout.strip() if proc.returncode == 0 else None


def git_commit() -> str:
    """The commit of the source tree the package runs from, "-dirty" when it has tracked
    changes; "unknown" outside a git checkout (an installed wheel) or without git."""
    commit = _git("rev-parse", "HEAD")
    if not commit:
        return "unknown"
    return commit + "-dirty" if _git("status", "--porcelain", "--untracked-files=no") else commit


def numba_threading() -> tuple[str, str]:
    """numba's configured threading layer and the one it loads for a parallel kernel (or
    why none loads).  Runs a tiny parallel kernel when none has run yet: the layer is
    chosen at the first one."""
    import numba

    configured = numba.config.THREADING_LAYER
    with contextlib.suppress(ValueError):       # no parallel kernel has run here yet
        return configured, numba.threading_layer()

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


def numba_cache_dir() -> str:
    """Where numba caches the compiled kernels of hpc_zkfl.algebra."""
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


def describe() -> str:
    """The one-line machine description that heads each benchmark table in BENCHMARKS.md:
    CPU, usable cores, Python, numpy, numba with its threading layer and threads, commit."""
    import numba
    import numpy

    layer = numba_threading()[1]
    commit = _git("rev-parse", "--short", "HEAD") or "unknown"
    return (f"{cpu_model()}, {cores_usable()} cores usable, Python {platform.python_version()}, "
            f"numpy {numpy.__version__}, numba {numba.__version__} ({layer} threading layer, "
            f"{numba.get_num_threads()} threads), commit {commit}")


__all__ = ["cores_usable", "cpu_model", "describe", "device_name", "git_commit", "gpu_name",
           "host_name", "memory_total", "module_version", "numba_cache_dir", "numba_threading",
           "package_versions"]
