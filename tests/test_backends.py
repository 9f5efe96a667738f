import subprocess
import sys
import types

import pytest

import hpc_zkfl.backends as backends
from hpc_zkfl.backends import BackendUnavailableError, get_backend


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the registry, so that a test can register or clear backends."""
    monkeypatch.setattr(backends, "_factories", dict(backends._factories))
    monkeypatch.setattr(backends, "_instances", {})
    return backends


def _fake_cupy(device_count):
    runtime = types.SimpleNamespace(
        getDeviceCount=lambda: device_count,
        getDeviceProperties=lambda i: {"name": b"Fake GPU"},
    )
    return types.SimpleNamespace(cuda=types.SimpleNamespace(runtime=runtime))


@pytest.fixture
def no_cupy(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # makes `import cupy` raise ImportError


def test_registry_imports_without_algebra_or_cupy():
    code = (
        "import sys, hpc_zkfl.backends as b; "
        "assert 'cpu' in b.registered_backends() and 'gpu' in b.registered_backends(); "
        "loaded = [m for m in ('hpc_zkfl.algebra', 'hpc_zkfl.backends.cpu', 'numba', 'cupy') "
        "if m in sys.modules]; "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_auto_picks_cpu_without_cupy(registry, no_cupy):
    assert get_backend("auto").name == "cpu"
    assert get_backend() is get_backend("cpu")


def test_cpu_is_always_available():
    assert "cpu" in backends.available_backends()
    assert get_backend("cpu") is get_backend("cpu")


def test_gpu_without_cupy_is_unavailable_with_a_clear_message(registry, no_cupy):
    assert not backends.gpu_available()
    with pytest.raises(BackendUnavailableError, match="gpu backend needs CuPy and a CUDA device"):
        get_backend("gpu")
    available = backends.available_backends()
    assert "gpu" not in available and {"cpu", "reference"} <= set(available)


def test_cuda_host_needs_a_compiler_and_is_never_auto(registry, monkeypatch):
    from hpc_zkfl.backends import kernel_runtime

    monkeypatch.setattr(kernel_runtime, "host_compiler", lambda: None)
    with pytest.raises(BackendUnavailableError, match="cuda-host backend needs a C.. compiler"):
        get_backend("cuda-host")
    monkeypatch.setattr(registry, "_factories", {"cuda-host": registry._factories["cuda-host"]})
    with pytest.raises(BackendUnavailableError, match="no backend can run here"):
        get_backend("auto")


def test_gpu_with_cupy_but_no_device_is_unavailable(registry, monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(0))
    assert backends.gpu_status() == (False, "CuPy sees no CUDA device")
    with pytest.raises(BackendUnavailableError, match="CuPy and a CUDA device: .*no CUDA device"):
        get_backend("gpu")
    assert get_backend("auto").name == "cpu"


def test_gpu_status_names_the_device(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(2))
    assert backends.gpu_status() == (True, "2 CUDA device(s), device 0: Fake GPU")


def test_unknown_name_lists_known_backends():
    with pytest.raises(ValueError, match="unknown backend 'tpu'.*'auto', 'cpu', 'gpu'"):
        get_backend("tpu")


def test_register_and_select_a_backend(registry):
    toy = types.SimpleNamespace(name="toy")
    registry.register_backend("toy", lambda: toy)
    assert get_backend("toy") is toy
    assert "toy" in registry.available_backends()


def test_register_rejects_duplicates_and_auto(registry):
    with pytest.raises(ValueError, match="already registered"):
        registry.register_backend("cpu", object)
    with pytest.raises(ValueError, match="reserved"):
        registry.register_backend("auto", object)


def test_auto_reports_why_nothing_runs(registry):
    def unavailable():
        raise BackendUnavailableError("missing")

    registry._factories.clear()
    registry.register_backend("a", unavailable)
    with pytest.raises(BackendUnavailableError, match="no backend can run here.*a: missing"):
        get_backend("auto")
