import os
import re
import shutil
import socket
import subprocess
import sys
import types
from importlib.metadata import version
from pathlib import Path

import pytest

from hpc_zkfl import machine
from hpc_zkfl.backends import gpu_available

ROOT = Path(__file__).resolve().parents[1]


def test_cpu_memory_cores_host():
    assert machine.cpu_model().strip()
    assert machine.memory_total() > 2**20
    assert 1 <= machine.cores_usable() <= os.cpu_count()
    assert machine.host_name() == socket.gethostname() != ""


def test_device_name_is_the_cpu_for_cpu_backends():
    for backend in ("cpu", "cuda-host", "reference"):
        assert machine.device_name(backend) == machine.cpu_model()


def test_gpu_name_without_a_device_is_none():
    if gpu_available():
        assert machine.gpu_name().strip()
    else:
        assert machine.gpu_name() is None
        assert machine.device_name("gpu") == "unknown GPU"


def _fake_cupy(monkeypatch, get_properties):
    cupy = types.ModuleType("cupy")
    cupy.cuda = types.SimpleNamespace(
        runtime=types.SimpleNamespace(getDeviceProperties=get_properties))
    monkeypatch.setitem(sys.modules, "cupy", cupy)


def test_gpu_name_never_raises(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)          # import cupy raises ImportError
    assert machine.gpu_name() is None

    def no_driver(device):
        raise RuntimeError("cudaErrorInsufficientDriver")

    _fake_cupy(monkeypatch, no_driver)
    assert machine.gpu_name() is None
    _fake_cupy(monkeypatch, lambda device: {"name": b"Fake H100"})
    assert machine.gpu_name() == "Fake H100"
    assert machine.device_name("gpu") == "Fake H100"


def test_package_versions_from_metadata():
    versions = machine.package_versions()
    assert versions["numpy"] == version("numpy")
    assert "hpc_zkfl" in versions
    from hpc_zkfl.io.results import package_versions     # still importable from there
    assert package_versions is machine.package_versions


def test_probing_imports_nothing_heavy():
    """Importing the module and reading versions, commit and host imports no numba, torch,
    CuPy or mpi4py (mpi4py must stay inside hpc_zkfl.mpi)."""
    code = ("import sys; from hpc_zkfl import machine; machine.package_versions(); "
            "machine.git_commit(); machine.host_name(); machine.cpu_model(); "
            "print(sorted(m for m in ('numba', 'torch', 'cupy', 'mpi4py') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"


def _in_git_checkout() -> bool:
    return shutil.which("git") is not None and subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True).returncode == 0


@pytest.mark.skipif(not _in_git_checkout(), reason="not run from a git checkout")
def test_git_commit_in_this_checkout():
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?", machine.git_commit())


def test_git_commit_outside_git_is_unknown(monkeypatch, tmp_path):
    monkeypatch.setattr(machine, "_SOURCE", tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    assert machine.git_commit() == "unknown"
    monkeypatch.setenv("PATH", "")                          # no git at all
    assert machine.git_commit() == "unknown"


def test_module_version():
    import numpy

    assert machine.module_version("numpy") == numpy.__version__
    assert machine.module_version("no_such_module_hpc_zkfl") == "not installed"


def test_numba_probes_and_describe():
    configured, actual = machine.numba_threading()
    assert any(name in actual for name in ("tbb", "omp", "workqueue")), actual
    assert machine.numba_cache_dir()
    line = machine.describe()
    assert line.startswith(f"{machine.cpu_model()}, {machine.cores_usable()} cores usable, ")
    assert f"({actual} threading layer, " in line
    assert re.search(r", commit ([0-9a-f]{4,40}|unknown)$", line), line
