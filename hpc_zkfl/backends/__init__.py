"""One registry, one API for the algebra backends.

A backend is an object exposing the same kernels (MSM, NTT, pairing check, field array ops)
on one kind of hardware:

- ``"cpu"``: numba kernels (:mod:`hpc_zkfl.backends.cpu`);
- ``"gpu"``: CuPy and the CUDA kernels (:mod:`hpc_zkfl.backends.gpu`), usable only where
  CuPy is installed and sees a CUDA device;
- ``"reference"``: the same API computed with py_ecc and Python integers; slow, for tests
  that check the fast backends against an independent implementation;
- ``"cuda-host"``: the CUDA kernels of the gpu backend compiled for the CPU by the host C++
  compiler, under the same orchestration; for checking them on machines without a GPU;
- ``"auto"``: the GPU backend when it is usable, the CPU backend otherwise (never the
  reference backend).

What a backend must implement, and the optional capabilities it may declare, is the
contract of :mod:`hpc_zkfl.backends.api` (:class:`Backend`, :func:`supports`).

Backend modules are imported only when a backend is first requested, so this registry
imports without numba kernels being compiled and without CuPy.
"""
from __future__ import annotations

import importlib
from typing import Any, Callable

from hpc_zkfl.names import CHECK_ONLY_BACKENDS

from .api import CAPABILITIES, Backend, contract_problems, supports

__all__ = [
    "AUTO",
    "Backend",
    "BackendUnavailableError",
    "CAPABILITIES",
    "as_backend",
    "available_backends",
    "backend_class",
    "contract_problems",
    "get_backend",
    "gpu_available",
    "gpu_status",
    "register_backend",
    "registered_backends",
    "resolve_backend",
    "run_backends",
    "supports",
]

AUTO = "auto"
# Order in which "auto" tries the registered backends.
_AUTO_PREFERENCE = ("gpu", "cpu")
# Backends "auto" never picks: the py_ecc reference and the host build of the CUDA kernels
# are for checking, not for running (the registry's list, hpc_zkfl/names.py).
_NEVER_AUTO = CHECK_ONLY_BACKENDS


class BackendUnavailableError(RuntimeError):
    """The requested backend cannot run on this machine (missing package or device)."""


_factories: dict[str, Callable[[], Any]] = {}
_instances: dict[str, Any] = {}
_classes: dict[str, str] = {}


def register_backend(name: str, factory: Callable[[], Any], cls: str | None = None) -> None:
    """Register ``factory`` (no arguments, returns a backend object) under ``name``.

    The factory raises :class:`BackendUnavailableError` when the backend cannot run here.
    ``cls`` ("module:Class") names the class of what it returns, so that the class can be
    checked against the contract where the backend cannot run (:func:`backend_class`).
    """
    if name == AUTO:
        raise ValueError(f"{AUTO!r} is reserved: it selects among the registered backends")
    if name in _factories:
        raise ValueError(f"backend {name!r} is already registered")
    _factories[name] = factory
    if cls is not None:
        _classes[name] = cls


def backend_class(name: str) -> type:
    """The class of the backend ``name``, imported but not instantiated (no device needed);
    LookupError when it was registered without one."""
    if name not in _classes:
        raise LookupError(f"backend {name!r} was registered without its class")
    module, _, qualname = _classes[name].partition(":")
    return getattr(importlib.import_module(module), qualname)


def registered_backends() -> list[str]:
    """Names of all registered backends, whether or not they can run here."""
    return list(_factories)


def run_backends() -> tuple[str, ...]:
    """The names a run configuration may ask for: "auto" and the backends it may pick.  The
    reference and cuda-host backends are tools for checking the others (a run on either
    would take hours), so a run config cannot name them."""
    return (AUTO, *(n for n in _factories if n not in _NEVER_AUTO))


def get_backend(name: str = AUTO) -> Any:
    """The backend called ``name`` (one instance per name and process).

    Raises ``ValueError`` for an unknown name and :class:`BackendUnavailableError` for a
    known backend that cannot run on this machine.
    """
    name = resolve_backend(name)
    if name not in _instances:
        _instances[name] = _factories[name]()
    return _instances[name]


def as_backend(backend) -> Any:
    """A backend object from a name (see :func:`get_backend`) or a backend object."""
    return get_backend(backend) if isinstance(backend, str) else backend


def resolve_backend(name: str = AUTO) -> str:
    """The registered name ``name`` stands for: for "auto", the backend it picks on this
    machine ("gpu" where CuPy sees a device, else "cpu"), found by loading it as
    :func:`get_backend` does (once a process), so the answer is what a run uses; any other
    registered name as is.  ValueError for an unknown name."""
    if name == AUTO:
        return _auto()
    if name not in _factories:
        known = ", ".join(repr(n) for n in [AUTO, *_factories])
        raise ValueError(f"unknown backend {name!r}; known backends: {known}")
    return name


def available_backends() -> list[str]:
    """Names of the registered backends that can run on this machine."""
    names = []
    for name in _factories:
        try:
            get_backend(name)
        except BackendUnavailableError:
            continue
        names.append(name)
    return names


def _auto() -> str:
    """The name of the first backend in "auto"'s order that loads here."""
    order = [n for n in _AUTO_PREFERENCE if n in _factories]
    order += [n for n in _factories if n not in order and n not in _NEVER_AUTO]
    reasons = []
    for name in order:
        try:
            get_backend(name)
            return name
        except BackendUnavailableError as exc:
            reasons.append(f"{name}: {exc}")
    raise BackendUnavailableError("no backend can run here (" + "; ".join(reasons) + ")")


def gpu_status() -> tuple[bool, str]:
    """Whether CuPy imports and sees a CUDA device, and a one-line description of either."""
    try:
        import cupy
    except ImportError:
        return False, "CuPy is not installed"
    except Exception as exc:  # a broken CUDA install can fail in many ways at import
        return False, f"CuPy failed to import ({type(exc).__name__}: {exc})"
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # cupy raises CUDARuntimeError without a driver or device
        return False, f"CuPy cannot reach a CUDA device ({type(exc).__name__}: {exc})"
    if count < 1:
        return False, "CuPy sees no CUDA device"
    name = cupy.cuda.runtime.getDeviceProperties(0)["name"]
    if isinstance(name, bytes):
        name = name.decode(errors="replace")
    return True, f"{count} CUDA device(s), device 0: {name}"


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    return gpu_status()[0]


def _cpu_backend() -> Any:
    from hpc_zkfl.backends.cpu import CpuBackend

    return CpuBackend()


def _gpu_backend() -> Any:
    ok, detail = gpu_status()
    if not ok:
        raise BackendUnavailableError(f"gpu backend needs CuPy and a CUDA device: {detail}")
    try:
        module = importlib.import_module("hpc_zkfl.backends.gpu")
    except ModuleNotFoundError as exc:
        if exc.name != "hpc_zkfl.backends.gpu":
            raise
        raise BackendUnavailableError(
            f"this version of hpc-zkfl has no gpu backend ({detail} is present); use 'cpu'"
        ) from None
    return module.GpuBackend()


def _cuda_host_backend() -> Any:
    from hpc_zkfl.backends.kernel_runtime import host_compiler

    if host_compiler() is None:
        raise BackendUnavailableError("cuda-host backend needs a C++ compiler (c++, g++ or $CXX)")
    from hpc_zkfl.backends.gpu import CudaHostBackend

    return CudaHostBackend()


def _reference_backend() -> Any:
    from hpc_zkfl.backends.reference import ReferenceBackend

    return ReferenceBackend()


# The one list of backend names (config.BACKENDS reads it through run_backends).
register_backend("cpu", _cpu_backend, "hpc_zkfl.backends.cpu:CpuBackend")
register_backend("gpu", _gpu_backend, "hpc_zkfl.backends.gpu:GpuBackend")
register_backend("reference", _reference_backend, "hpc_zkfl.backends.reference:ReferenceBackend")
register_backend("cuda-host", _cuda_host_backend, "hpc_zkfl.backends.gpu:CudaHostBackend")
