import subprocess
import sys
import types

import pytest

import hpc_zkfl.backends as backends
from hpc_zkfl.backends import (CAPABILITIES, Backend, BackendUnavailableError, backend_class,
                               contract_problems, get_backend, registered_backends,
                               resolve_backend, supports)
from hpc_zkfl.backends.api import protocol_methods


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the registry, so that a test can register or clear backends."""
    monkeypatch.setattr(backends, "_factories", dict(backends._factories))
    monkeypatch.setattr(backends, "_instances", {})
    monkeypatch.setattr(backends, "_classes", dict(backends._classes))
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


# ---- the contract (hpc_zkfl/backends/api.py) ----------------------------------------------
# Public methods a backend class may have beyond the contract: the kernel backends' own, for
# tests/kernels and benchmarks/bench_gpu.py; the Groth16 code never calls them.
_OWN_METHODS = {"gpu": {"device_array", "ntt_device"}, "cuda-host": {"device_array", "ntt_device"}}


@pytest.mark.parametrize("name", registered_backends())
def test_every_registered_backend_class_meets_the_contract(name):
    """The class, not an instance: the gpu backend's is checked on machines without a GPU."""
    cls = backend_class(name)
    assert contract_problems(cls) == []
    assert cls.name == name
    contract = set(protocol_methods(Backend))
    contract.update(m for c in cls.capabilities for m in protocol_methods(CAPABILITIES[c]))
    public = {m for m in dir(cls) if not m.startswith("_") and callable(getattr(cls, m))}
    assert public - contract == _OWN_METHODS.get(name, set()), "a method outside the contract"


def test_every_capability_is_declared_by_some_backend():
    declared = set().union(*(backend_class(n).capabilities for n in registered_backends()))
    assert declared == set(CAPABILITIES)


class _Conforming:
    name = "ok"
    capabilities = frozenset({"join"})

    def msm_g1(self, points, scalars): ...
    def msm_g2(self, points, scalars): ...
    def ntt(self, values, inverse=False, coset_shift=None, extra=1): ...
    def pairing_check(self, g1_points, g2_points): ...
    def fr_mul(self, a, b): ...
    def fr_add(self, a, b): ...
    def fr_sub(self, a, b): ...
    def fr_inverse(self, a): ...
    def join(self, parts): ...


def test_contract_problems_name_each_violation():
    assert contract_problems(_Conforming) == []

    class Broken(_Conforming):
        capabilities = frozenset({"join", "qap_quotient", "teleport"})
        fr_inverse = None

        def ntt(self, values, inverse=True, coset_shift=None): ...
        def msm_g2(self, points, scalars, window): ...
        def prover_scalars(self, r1cs, witness, n, coset_shift, z_inv): ...

    problems = "\n".join(contract_problems(Broken))
    assert "unknown capability 'teleport'" in problems
    assert "no method fr_inverse\n" in problems + "\n"
    assert "ntt: parameter inverse=True where the contract has inverse=False" in problems
    assert "msm_g2: extra parameters without defaults: window" in problems
    assert "no method qap_quotient (capability 'qap_quotient')" in problems
    assert "implements prover_scalars (capability 'prover_scalars') without declaring" in problems
    assert contract_problems(object) == ["no str attribute 'name'",
                                         "no frozenset attribute 'capabilities'",
                                         *(f"no method {m}" for m in protocol_methods(Backend))]


def test_supports_reads_the_declaration_and_refuses_unknown_names():
    cpu = get_backend("cpu")
    assert supports(cpu, "fixed_base") and not supports(cpu, "join")
    with pytest.raises(ValueError, match="unknown capability 'joins'"):
        supports(cpu, "joins")


def test_backend_class_needs_a_registered_class(registry):
    registry.register_backend("toy", object)
    with pytest.raises(LookupError, match="without its class"):
        backend_class("toy")


# ---- resolve_backend ----------------------------------------------------------------------
def test_resolve_auto_is_cpu_without_cupy(registry, no_cupy):
    assert resolve_backend("auto") == resolve_backend() == "cpu"


def test_resolve_auto_is_gpu_where_cupy_sees_a_device(registry, monkeypatch):
    import hpc_zkfl.backends.gpu as gpu

    class StubGpu:                     # the real one would compile the kernels with NVRTC
        name = "gpu"

    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(1))
    monkeypatch.setattr(gpu, "GpuBackend", StubGpu)
    assert resolve_backend("auto") == "gpu"
    assert isinstance(get_backend("auto"), StubGpu)


def test_resolve_passes_concrete_names_and_refuses_unknown_ones(registry, no_cupy):
    for name in registered_backends():
        assert resolve_backend(name) == name
    assert "gpu" not in registry._instances, "resolving a name loads nothing"
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        resolve_backend("tpu")
