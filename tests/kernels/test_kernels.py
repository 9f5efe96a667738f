"""The CUDA kernels without a GPU.

- field.cuh and curve.cuh compiled for the host (tests/kernels/harness.cpp) against Python
  integers and py_ecc on random inputs and every special case;
- the kernels and the gpu backend's orchestration, compiled for the host (the "cuda-host"
  backend), against the cpu backend bit for bit at sizes past the small ones of
  tests/test_backend_api.py (NTT stages outside the shared-memory block, MSM buckets that
  hold most points);
- the same orchestration over a stand-in device (an array type of its own with CuPy's API),
  so the branches that only a GPU run takes (device scalars, resident arrays, joins of host
  and device arrays) run here too;
- every .cu compiled for sm_90 by nvcc and by NVRTC (what CuPy uses at run time), when the
  CUDA toolkit is installed; bench_gpu.py end to end on the host build.
"""
import ctypes
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from py_ecc import optimized_bn128 as bn
from py_ecc.fields import optimized_bn128_FQ2 as PyFQ2

from hpc_zkfl.algebra.constants import P, R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fields import FQ, FR
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.backends import get_backend
from hpc_zkfl.backends.kernel_runtime import (HEADERS, SOURCES, host_compiler, kernel_dir,
                                              kernel_source)
from hpc_zkfl.backends.reference import from_py_ecc, to_py_ecc

HERE = Path(__file__).parent
ADD, SUB, MUL, SQR, NEG, INV, DBL = range(7)


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    if host_compiler() is None:
        pytest.skip("no host C++ compiler")
    lib = tmp_path_factory.mktemp("harness") / "harness.so"
    subprocess.run([host_compiler(), "-O1", "-std=c++17", "-shared", "-fPIC",
                    f"-I{kernel_dir()}", str(HERE / "harness.cpp"), "-o", str(lib)], check=True)
    return ctypes.CDLL(str(lib))


def _call(fn, op, out, a, b, *extra):
    fn(ctypes.c_int(op), ctypes.c_uint32(out.shape[0]), ctypes.c_void_p(out.ctypes.data),
       ctypes.c_void_p(a.ctypes.data), ctypes.c_void_p(b.ctypes.data), *extra)
    return out


def _field_values(rng, modulus, n):
    edges = [0, 1, 2, modulus - 1, modulus - 2, (1 << 255) % modulus, (1 << 192) - 1]
    return edges + [rng.randrange(modulus) for _ in range(n)]


@pytest.mark.parametrize("name,field,modulus", [("fq_op", FQ, P), ("fr_op", FR, R)])
def test_prime_field_ops_match_python_ints(harness, rng, name, field, modulus):
    xs = _field_values(rng, modulus, 300)
    ys = list(reversed(_field_values(rng, modulus, 300)))
    a, b = field.encode(xs), field.encode(ys)
    expected = {
        ADD: [(x + y) % modulus for x, y in zip(xs, ys)],
        SUB: [(x - y) % modulus for x, y in zip(xs, ys)],
        MUL: [x * y % modulus for x, y in zip(xs, ys)],
        SQR: [x * x % modulus for x in xs],
        NEG: [-x % modulus for x in xs],
        INV: [pow(x, -1, modulus) if x else 0 for x in xs],
        DBL: [2 * x % modulus for x in xs],
    }
    for op, want in expected.items():
        got = _call(getattr(harness, name), op, np.empty_like(a), a, b)
        assert field.decode(got) == want, f"op {op}"


def _fq2_encode(values):
    return FQ.encode([c for v in values for c in v.coeffs]).reshape(len(values), 2, 4)


def _fq2_decode(arr):
    flat = FQ.decode(arr.reshape(-1, 4))
    return [PyFQ2(flat[i:i + 2]) for i in range(0, len(flat), 2)]


def test_fq2_ops_match_py_ecc(harness, rng):
    def rand():
        return PyFQ2([rng.randrange(P), rng.randrange(P)])

    xs = [PyFQ2([0, 0]), PyFQ2([1, 0]), PyFQ2([0, 1]), PyFQ2([P - 1, P - 1])]
    xs += [rand() for _ in range(100)]
    ys = [rand() for _ in xs]
    a, b = _fq2_encode(xs), _fq2_encode(ys)
    expected = {
        ADD: [x + y for x, y in zip(xs, ys)],
        SUB: [x - y for x, y in zip(xs, ys)],
        MUL: [x * y for x, y in zip(xs, ys)],
        SQR: [x * x for x in xs],
        NEG: [-x for x in xs],
        INV: [x.inv() if x != PyFQ2([0, 0]) else x for x in xs],
        DBL: [x + x for x in xs],
    }
    for op, want in expected.items():
        got = _fq2_decode(_call(harness.fq2_op, op, np.empty_like(a), a, b))
        assert got == want, f"op {op}"


@pytest.mark.parametrize("group", [G1, G2], ids=["G1", "G2"])
def test_xyzz_point_ops_match_py_ecc(harness, rng, group):
    gen = to_py_ecc(group, group.generator)
    pts = [bn.multiply(gen, rng.randrange(1, R)) for _ in range(12)]
    inf = bn.Z1 if group is G1 else bn.Z2
    # (a, b) pairs covering every branch: generic, a == b, a == -b, infinity on either side.
    pairs = [(pts[i], pts[i + 1]) for i in range(0, 10, 2)]
    pairs += [(pts[0], pts[0]), (pts[1], bn.neg(pts[1])), (inf, pts[2]), (pts[3], inf), (inf, inf)]
    a = group.encode([from_py_ecc(group, p) for p, _ in pairs])
    b = group.encode([from_py_ecc(group, q) for _, q in pairs])
    fn = harness.g1_op if group is G1 else harness.g2_op
    k = 0xDEADBEEF
    expected = {
        0: [bn.add(p, q) for p, q in pairs],
        1: [bn.add(p, q) for p, q in pairs],
        2: [bn.double(p) for p, _ in pairs],
        3: [bn.double(p) for p, _ in pairs],
        4: [bn.multiply(p, k) for p, _ in pairs],
    }
    for op, want in expected.items():
        got = _call(fn, op, np.empty_like(a), a, b, ctypes.c_uint32(k))
        assert group.decode(got) == [from_py_ecc(group, w) for w in want], f"op {op}"


@pytest.fixture(scope="module")
def cuda_host():
    if host_compiler() is None:
        pytest.skip("no host C++ compiler")
    return get_backend("cuda-host")


def test_plain_conversion_kernels(cuda_host, rng):
    xs = _field_values(rng, R, 50)
    k = cuda_host.kernels
    plain = ints_to_limbs(xs)
    mont = k.empty(plain.shape)
    k.launch("fr_from_plain", len(xs), mont, plain)
    assert np.array_equal(mont, FR.encode(xs))
    back = k.empty(plain.shape)
    k.launch("fr_to_plain", len(xs), back, mont)
    assert np.array_equal(back, plain)


@pytest.mark.parametrize("log_n", [11, 13])
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("coset_shift", [None, True])
def test_ntt_with_global_stages_equals_cpu(cuda_host, log_n, inverse, coset_shift):
    values = FR.random(1 << log_n)
    cpu = get_backend("cpu")
    want = cpu.ntt(values, inverse=inverse, coset_shift=coset_shift)
    before = values.copy()
    assert np.array_equal(cuda_host.ntt(values, inverse=inverse, coset_shift=coset_shift), want)
    assert np.array_equal(values, before), "the input must not change"


def _points(group, n, rng):
    from hpc_zkfl.algebra.msm import random_points

    return random_points(group, n, seed=rng.randrange(1 << 30))[0]


@pytest.mark.parametrize("group", [G1, G2], ids=["G1", "G2"])
@pytest.mark.parametrize("kind", ["random", "ones", "small", "mixed"])
def test_msm_equals_cpu_on_skewed_scalars(cuda_host, rng, group, kind):
    """Buckets that hold most points (all scalars 1, or a few small values, as in witnesses)
    go through several levels of chunk sums; the result must not change."""
    n = 700 if group is G1 else 150
    scalars = {
        "random": lambda: [rng.randrange(R) for _ in range(n)],
        "ones": lambda: [1] * n,
        "small": lambda: [rng.randrange(4) for _ in range(n)],
        "mixed": lambda: [rng.choice([0, 1, R - 1, rng.randrange(R)]) for _ in range(n)],
    }[kind]()
    points = _points(group, n, rng)
    points[5] = 0                      # the point at infinity
    points[7] = points[6]              # a repeated point
    limbs = ints_to_limbs(scalars)
    cpu = get_backend("cpu")
    msm = "msm_g1" if group is G1 else "msm_g2"
    assert np.array_equal(getattr(cuda_host, msm)(points, limbs), getattr(cpu, msm)(points, limbs))


def test_run_sums_over_several_chunk_levels(cuda_host, rng):
    """_sum_runs, which adds up both the buckets and each window's segment sums: runs longer
    than CHUNK^2 (three levels), of one item, and empty, against the cpu backend."""
    from hpc_zkfl.algebra.msm import combine_windows
    from hpc_zkfl.backends.gpu import CHUNK

    lengths = [CHUNK ** 2 + 3, 0, 1, CHUNK, CHUNK + 1, 2, 0]
    points = _points(G1, sum(lengths), rng)
    one = FQ.encode([1])[0]
    items = np.zeros((len(points), 4, 4), dtype=np.uint64)   # XYZZ of affine points
    items[:, 0], items[:, 1], items[:, 2], items[:, 3] = points[:, 0], points[:, 1], one, one
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(np.uint32)
    sums = cuda_host._sum_runs("g1", items, starts, len(lengths))
    cpu = get_backend("cpu")
    for b, (lo, hi) in enumerate(zip(starts[:-1], starts[1:])):
        got = np.zeros((1, 2, 4), dtype=np.uint64)
        combine_windows(np.ascontiguousarray(sums[b:b + 1]), 1, 1, 1, got)
        want = cpu.msm_g1(points[lo:hi], ints_to_limbs([1] * int(hi - lo)))
        assert np.array_equal(got[0], want), b


def test_msm_rejects_what_the_cpu_backend_rejects(cuda_host, rng):
    points = _points(G1, 3, rng)
    with pytest.raises(ValueError, match="not below the group order"):
        cuda_host.msm_g1(points, ints_to_limbs([1, R, 2]))
    with pytest.raises(ValueError, match="points but"):
        cuda_host.msm_g1(points, ints_to_limbs([1, 2]))


# ---- device compilers ------------------------------------------------------------------------
def _nvcc():
    cands = [shutil.which("nvcc")]
    for root in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if root:
            cands.append(os.path.join(root, "bin", "nvcc"))
    return next((c for c in cands if c and os.path.exists(c)), None)


def test_every_kernel_file_compiles_with_nvcc_for_sm90(tmp_path):
    nvcc = _nvcc()
    if nvcc is None:
        pytest.skip("nvcc not found (PATH, CUDA_HOME, /usr/local/cuda)")
    procs = {src: subprocess.Popen([nvcc, "-arch=sm_90", "-cubin", "-std=c++17", "-Werror",
                                    "all-warnings", str(kernel_dir() / src),
                                    "-o", str(tmp_path / (src + ".cubin"))],
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for src in SOURCES}
    failures = {}
    for src, proc in procs.items():
        out, _ = proc.communicate()
        if proc.returncode != 0:
            failures[src] = out[-3000:]
    assert not failures, failures
    assert all((tmp_path / (s + ".cubin")).stat().st_size > 0 for s in SOURCES)


def _nvrtc():
    """libnvrtc from the CUDA toolkit, or from NVIDIA's Python wheels (nvidia/*/lib)."""
    import site
    import sys

    dirs = [Path(root, sub) for root in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"),
                                         "/usr/local/cuda") if root for sub in ("lib64", "lib")]
    base = Path(sys.base_prefix, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}",
                "site-packages")                      # the interpreter a venv was made from
    for entry in [*sys.path, *site.getsitepackages(), str(base)]:
        dirs += sorted(Path(entry).glob("nvidia/*/lib"))
    for d in dirs:
        for lib in sorted(d.glob("libnvrtc.so*")):
            try:
                # NVRTC opens its builtins library by name; load it first from the same folder.
                for builtins in sorted(d.glob("libnvrtc-builtins.so*")):
                    ctypes.CDLL(str(builtins), mode=ctypes.RTLD_GLOBAL)
                return ctypes.CDLL(str(lib))
            except OSError:
                continue
    return None


@pytest.mark.parametrize("src", SOURCES)
def test_every_kernel_file_compiles_with_nvrtc(src):
    """The run-time path: the source with its #line directive, headers from -I, no C library
    headers (NVRTC has none)."""
    nvrtc = _nvrtc()
    if nvrtc is None:
        pytest.skip("libnvrtc not found (CUDA_HOME, /usr/local/cuda, the nvidia-cuda-nvrtc wheel "
                    "of the dev extra)")
    prog = ctypes.c_void_p()
    code = kernel_source(src).encode()
    assert nvrtc.nvrtcCreateProgram(ctypes.byref(prog), code, src.encode(), 0, None, None) == 0
    opts = [b"--std=c++17", f"-I{kernel_dir()}".encode(), b"-arch=compute_90"]
    arr = (ctypes.c_char_p * len(opts))(*opts)
    rc = nvrtc.nvrtcCompileProgram(prog, len(opts), arr)
    size = ctypes.c_size_t()
    nvrtc.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    nvrtc.nvrtcGetProgramLog(prog, log)
    nvrtc.nvrtcDestroyProgram(ctypes.byref(prog))
    assert rc == 0, log.value.decode(errors="replace")


def test_kernel_sources_are_installed():
    names = {p.name for p in kernel_dir().iterdir()}
    assert set(SOURCES) | set(HEADERS) <= names


class _RecordingKernel:
    """Stands in for a CuPy RawKernel: records launches, reports a thread limit."""

    def __init__(self, limit):
        self.max_threads_per_block = limit
        self.calls = []

    def __call__(self, grid, block, args, shared_mem=0):
        self.calls.append((grid, block, shared_mem))


def test_device_launch_block_sizes():
    """Default launches use 256 threads a block or fewer when the kernel's registers allow
    fewer (the G2 MSM kernels); a kernel that needs its exact block size gets it or a clear
    error, never a silently smaller block."""
    from hpc_zkfl.backends.kernel_runtime import DeviceKernels, KernelBuildError

    dk = object.__new__(DeviceKernels)          # no CuPy here: only the launch arithmetic
    dk._functions = {"wide": _RecordingKernel(1024), "g2": _RecordingKernel(128),
                     "ntt": _RecordingKernel(512)}
    dk.launch("wide", 1000)
    dk.launch("g2", 1000)
    dk.launch("ntt", 2048, block=512, shared_mem=32 << 10)
    dk.launch("wide", 0)
    assert dk._functions["wide"].calls == [((4,), (256,), 0)]
    assert dk._functions["g2"].calls == [((8,), (128,), 0)]
    assert dk._functions["ntt"].calls == [((4,), (512,), 32 << 10)]
    with pytest.raises(KernelBuildError, match="needs blocks of 1024 threads"):
        dk.launch("ntt", 2048, block=1024)


# ---- proving through the kernels ---------------------------------------------------------------
def _kernel_backend(name):
    from hpc_zkfl.backends import BackendUnavailableError

    try:
        return get_backend(name)
    except BackendUnavailableError as exc:
        pytest.skip(str(exc))


KERNEL_BACKENDS = ["cuda-host", pytest.param("gpu", marks=pytest.mark.gpu)]


@pytest.fixture(scope="module")
def proving_system():
    """A constraint system whose domain (4096) needs NTT stages past the shared block."""
    import random

    from hpc_zkfl.groth16 import setup
    from hpc_zkfl.groth16.testing import random_circuit

    r1cs, w = random_circuit(2100, 2, 3, 4, rng=random.Random(11))
    return r1cs, w, setup(r1cs, rng=random.Random(12), backend="cpu")


@pytest.mark.parametrize("name", KERNEL_BACKENDS)
def test_groth16_proof_equals_cpu_bit_for_bit(proving_system, name):
    import random

    from hpc_zkfl.groth16 import prove, verify
    from hpc_zkfl.groth16.r1cs_to_qap import compute_h
    from hpc_zkfl.groth16.testing import public_signals

    be = _kernel_backend(name)
    r1cs, w, pk = proving_system
    assert np.array_equal(compute_h(r1cs, w, be), compute_h(r1cs, w, "cpu"))
    want = prove(pk, r1cs, w, backend="cpu", rng=random.Random(3))
    for _ in range(2):                 # the second proof reuses the resident proving key
        got = prove(pk, r1cs, w, backend=be, rng=random.Random(3))
        for field in ("a", "b", "c"):
            assert np.array_equal(getattr(got, field), getattr(want, field)), field
    assert verify(pk.vk, public_signals(r1cs, w), got)


@pytest.mark.gpu
def test_gpu_keeps_long_point_arrays_resident(rng):
    import gc

    from hpc_zkfl.backends.gpu import RESIDENT_MIN

    be = _kernel_backend("gpu")
    points = _points(G1, RESIDENT_MIN, rng)
    scalars = ints_to_limbs([rng.randrange(R) for _ in range(RESIDENT_MIN)])
    first = be.device_array(points)
    assert be.device_array(points) is first and not points.flags.writeable
    assert np.array_equal(be.msm_g1(points, scalars), get_backend("cpu").msm_g1(points, scalars))
    key = (id(points), np.dtype(np.uint64).str)
    assert key in be._resident
    del points
    gc.collect()
    assert key not in be._resident, "the device copy must go with the host array"


@pytest.mark.parametrize("name", KERNEL_BACKENDS)
def test_prover_scalars_equal_cpu_and_name_the_first_failing_constraint(proving_system, name):
    """The prover's pre-MSM work on the device: the constraint evaluations, the check, the
    quotient and the conversion to plain limbs equal the cpu path's; a bad witness is refused
    with the least failing constraint, as r1cs.unsatisfied names it."""
    from hpc_zkfl.groth16 import UnsatisfiedWitnessError, prove
    from hpc_zkfl.groth16.r1cs_to_qap import (COSET_SHIFT, compute_h, coset_vanishing_inverse,
                                              domain_size, to_plain)

    be = _kernel_backend(name)
    r1cs, w, pk = proving_system
    n = domain_size(r1cs)
    args = (n, COSET_SHIFT, coset_vanishing_inverse(n))
    bad, w_plain, h_plain = be.prover_scalars(r1cs, w, *args)
    assert bad is None
    assert np.array_equal(be.kernels.to_host(w_plain), to_plain(w))
    assert np.array_equal(be.kernels.to_host(h_plain), to_plain(compute_h(r1cs, w, "cpu")))

    for wires in ([r1cs.n_wires - 1], [1, r1cs.n_wires // 2], list(range(5, r1cs.n_wires, 97))):
        tampered = w.copy()
        tampered[wires] = FR.add(tampered[wires], FR.encode([1] * len(wires)))
        want = r1cs.unsatisfied(tampered)
        assert want is not None
        assert be.prover_scalars(r1cs, tampered, *args) == (want, None, None)
        with pytest.raises(UnsatisfiedWitnessError) as err:
            prove(pk, r1cs, tampered, backend=be)
        assert err.value.constraint == want


def test_prover_scalars_refuse_matrices_past_uint32(cuda_host, proving_system):
    r1cs = proving_system[0]
    with pytest.raises(ValueError, match="uint32"):
        cuda_host._csr_on_device(r1cs.A, 1 << 32)


def test_bench_gpu_script_runs_on_cuda_host(tmp_path):
    """benchmarks/bench_gpu.py, which a device session runs with little time to spare, works
    end to end on the host build of the kernels and checks its own results."""
    import sys

    root = Path(__file__).resolve().parents[2]
    proc = subprocess.run(
        [sys.executable, "bench_gpu.py", "--backend", "cuda-host", "--field", "5", "--g1", "7",
         "--g2", "5", "--ntt", "6,11", "--prove", "8", "--cpu-max", "11", "--repeat", "1"],
        cwd=root / "benchmarks", capture_output=True, text=True, timeout=600,
        env={**os.environ, "PYTHONPATH": str(root)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    assert out.count("| ok |") == 6 and "| verifies |" in out, out[-3000:]
    assert "WRONG" not in out and "DOES NOT VERIFY" not in out


# ---- the device-only Python paths, on a stand-in device ---------------------------------------
class _DeviceArray(np.ndarray):
    """Stands for a CuPy array: a distinct array type, so every `isinstance(x, xp.ndarray)`
    branch of the gpu backend takes its device side."""


class _StandInCupy:
    """The part of CuPy's API the gpu backend uses, over host memory."""

    ndarray = _DeviceArray

    @staticmethod
    def _dev(a):
        return np.asarray(a).view(_DeviceArray)

    def asarray(self, a, dtype=None):
        return self._dev(np.asarray(a, dtype=dtype))

    def ascontiguousarray(self, a, dtype=None):
        return self._dev(np.ascontiguousarray(a, dtype=dtype))

    def concatenate(self, parts):
        assert all(isinstance(p, _DeviceArray) for p in parts), "host array joined on the device"
        return self._dev(np.concatenate(parts))

    def zeros(self, *a, **kw):
        return self._dev(np.zeros(*a, **kw))

    def full(self, *a, **kw):
        return self._dev(np.full(*a, **kw))

    def arange(self, *a, **kw):
        return self._dev(np.arange(*a, **kw))

    def empty(self, *a, **kw):
        return self._dev(np.empty(*a, **kw))

    def cumsum(self, *a, **kw):
        return np.cumsum(*a, **kw)

    @staticmethod
    def asnumpy(a):
        return np.array(a).view(np.ndarray)


@pytest.fixture(scope="module")
def stand_in_device():
    """The gpu backend's orchestration over the host build of the kernels with a stand-in
    device: what only a GPU run would otherwise reach (device scalars, resident arrays,
    joins of host and device arrays) runs here."""
    from hpc_zkfl.backends.gpu import KernelBackend
    from hpc_zkfl.backends.kernel_runtime import DeviceMemory, HostKernels

    class StandInKernels(DeviceMemory, HostKernels):
        xp = _StandInCupy()

        def launch(self, name, threads, *args, **kw):
            assert all(isinstance(a, _DeviceArray) or not isinstance(a, np.ndarray)
                       for a in args), f"{name}: a host array passed to a kernel"
            super().launch(name, threads, *args, **kw)

    return KernelBackend(StandInKernels())


def test_stand_in_device_proof_equals_cpu(stand_in_device, proving_system):
    import random

    from hpc_zkfl.groth16 import prove

    r1cs, w, pk = proving_system
    want = prove(pk, r1cs, w, backend="cpu", rng=random.Random(5))
    for _ in range(2):
        got = prove(pk, r1cs, w, backend=stand_in_device, rng=random.Random(5))
        for field in ("a", "b", "c"):
            out = getattr(got, field)
            assert type(out) is np.ndarray and np.array_equal(out, getattr(want, field)), field
    # The proving key's queries and the constraint matrices stayed resident, read-only.
    resident = stand_in_device._resident
    for arr, dtype in ((pk.a_query, np.uint64), (pk.b_g2_query, np.uint64),
                       (pk.h_query, np.uint64), (r1cs.A.wires, np.uint32),
                       (r1cs.C.coeffs, np.uint64)):
        assert (id(arr), np.dtype(dtype).str) in resident and not arr.flags.writeable


def test_stand_in_device_msm_takes_device_scalars(stand_in_device, rng):
    points = _points(G1, 300, rng)
    scalars = ints_to_limbs([rng.randrange(R) for _ in range(300)])
    want = get_backend("cpu").msm_g1(points, scalars)
    dev_points = stand_in_device.device_array(points)
    dev_scalars = stand_in_device.kernels.to_device(scalars)
    assert np.array_equal(stand_in_device.msm_g1(dev_points, dev_scalars), want)
    assert np.array_equal(stand_in_device.msm_g1(dev_points, scalars), want)
    assert np.array_equal(stand_in_device.msm_g1(points, scalars), want)
    with pytest.raises(ValueError, match="device scalars must be uint64 of shape"):
        stand_in_device.msm_g1(dev_points, dev_scalars[:-1])
    with pytest.raises(ValueError, match="not below the group order"):
        stand_in_device.msm_g1(dev_points, ints_to_limbs([R] * 300))
