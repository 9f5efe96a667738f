"""The "gpu" backend: the CUDA kernels of ``kernels/`` launched by CuPy, under the contract
of :mod:`hpc_zkfl.backends.api` (array conventions, optional capabilities).

:class:`KernelBackend` holds the orchestration (MSM, NTT, element-wise Fr) over an executor
from :mod:`hpc_zkfl.backends.kernel_runtime`.  :class:`GpuBackend` runs it on the device;
:class:`CudaHostBackend` ("cuda-host") runs the same kernels compiled for the CPU, so the
test suite checks kernels and orchestration bit for bit against the cpu backend on machines
without a GPU.  Neither is ever picked by "auto" on a machine without a device.

Pairing checks stay on the CPU: a verification needs a handful of pairings, which the numba
kernels do in milliseconds, and the root rank that verifies owns no GPU work.
"""
from __future__ import annotations

import weakref
from collections import OrderedDict

import numpy as np

from hpc_zkfl.algebra import ntt as _cpu_ntt
from hpc_zkfl.algebra import pairing as _pairing
from hpc_zkfl.algebra.constants import R, fr_root_of_unity
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fields import FR
from hpc_zkfl.algebra.msm import (check_msm_inputs, check_point_shape, check_scalars,
                                  combine_windows)

from .kernel_runtime import DeviceKernels, HostKernels

# Shared-memory NTT blocks hold 2^SHARED_LOG elements (32 KiB of Fr).
SHARED_LOG = 10
# A bucket's points are summed in chunks of at most this many, level by level.
CHUNK = 16
# Segments of a window's buckets summed by one thread in the bucket reduction.
SEGMENT = 16
MAX_WINDOW = 16
# r1cs_evaluate's "every constraint holds" (kernels/r1cs.cu).
NO_ROW = 0xFFFFFFFF
# Device tables (NTT twiddles, coset power tables) kept, least recently used dropped first.
_TABLE_CACHE = 16
# Coset scalings read base^i as lo[i mod 2^POWER_SPLIT] * hi[i >> POWER_SPLIT].
POWER_SPLIT = 10
# Point arrays at least this long stay resident on the device while the host array lives
# (proving-key queries), so a node's proofs after the first upload nothing but scalars.
RESIDENT_MIN = 1024


def window_bits(n: int) -> int:
    """Pippenger's window for n points: about log2(n) - 3 bits (2^(c-1) buckets a window
    leave a few points per bucket), between 4 and MAX_WINDOW."""
    return max(4, min(MAX_WINDOW, n.bit_length() - 3))


class KernelBackend:
    """The backend API (:class:`hpc_zkfl.backends.api.Backend`) over an executor of the CUDA
    kernels, with the capabilities that keep a proof's work on the device.  ``device_array``
    and ``ntt_device`` are this class's own, for its tests and benchmarks."""

    name = "kernels"
    capabilities = frozenset({"join", "prover_scalars", "qap_quotient"})

    def __init__(self, executor):
        self.kernels = executor
        self.xp = executor.xp
        self._tables: OrderedDict = OrderedDict()
        self._resident: dict = {}

    # ---- resident arrays ---------------------------------------------------------------
    def device_array(self, arr, dtype=np.uint64):
        """arr on the device as `dtype`.  A long host array is uploaded once and kept while it
        lives (keyed by identity and made read-only, so it cannot change behind its copy)."""
        if self.xp is np or isinstance(arr, self.xp.ndarray) or not isinstance(arr, np.ndarray):
            return self.kernels.to_device(arr, dtype)
        key = (id(arr), np.dtype(dtype).str)
        hit = self._resident.get(key)
        if hit is not None and hit[0]() is arr:
            return hit[1]
        dev = self.kernels.to_device(arr, dtype)
        if arr.shape[0] >= RESIDENT_MIN:
            owner = arr                 # a view's parent could change it too: freeze the chain
            while isinstance(owner, np.ndarray):
                owner.setflags(write=False)
                owner = owner.base
            self._resident[key] = (weakref.ref(arr, lambda _, k=key: self._resident.pop(k, None)),
                                   dev)
        return dev

    def join(self, parts):
        """The concatenation of host or device uint64 arrays, on the device: the prover's MSM
        bases (a resident query with a few constant points around it) and scalars."""
        return self.xp.concatenate([self.device_array(p) for p in parts])

    # ---- element-wise Fr ---------------------------------------------------------------
    def _binary(self, kernel, a, b):
        a = np.ascontiguousarray(a, dtype=np.uint64)
        b = np.ascontiguousarray(b, dtype=np.uint64)
        if a.shape != b.shape or a.ndim != 2 or a.shape[1] != 4:
            raise ValueError(f"expected two (n, 4) uint64 arrays of one shape, got {a.shape} and {b.shape}")
        k = self.kernels
        da, db = k.to_device(a), k.to_device(b)
        out = k.empty(a.shape)
        k.launch(kernel, a.shape[0], out, da, db)
        return k.to_host(out)

    def fr_mul(self, a, b):
        return self._binary("fr_mul", a, b)

    def fr_add(self, a, b):
        return self._binary("fr_add", a, b)

    def fr_sub(self, a, b):
        return self._binary("fr_sub", a, b)

    def fr_inverse(self, a):
        a = np.ascontiguousarray(a, dtype=np.uint64)
        if a.ndim != 2 or a.shape[1] != 4:
            raise ValueError(f"expected an (n, 4) uint64 array, got {a.shape}")
        k = self.kernels
        out = k.empty(a.shape)
        k.launch("fr_inverse", a.shape[0], out, k.to_device(a))
        return k.to_host(out)

    # ---- NTT -----------------------------------------------------------------------------
    def _scalar(self, value: int):
        return self.kernels.to_device(FR.encode([value % R]))

    def _cached_table(self, key, build):
        """The device table cached under key, built by build() on a miss (least recently used
        tables dropped past _TABLE_CACHE)."""
        table = self._tables.get(key)
        if table is None:
            table = self._tables[key] = build()
            while len(self._tables) > _TABLE_CACHE:
                self._tables.popitem(last=False)
        else:
            self._tables.move_to_end(key)
        return table

    def _powers(self, base: int, factor: int, count: int):
        """factor * base^i for i < count, on the device."""
        out = self.kernels.empty((count, 4))
        self.kernels.launch("fr_powers", count, out, self._scalar(base), self._scalar(factor))
        return out

    def _twiddle_table(self, log_n: int, inverse: bool):
        """omega^0 .. omega^(n/2 - 1) (omega^-1 for the inverse) on the device, cached."""
        omega = fr_root_of_unity(log_n)
        base = pow(omega, -1, R) if inverse else omega
        return self._cached_table(("twiddles", log_n, inverse),
                                  lambda: self._powers(base, 1, 1 << (log_n - 1)))

    def _scale_by_powers(self, x, log_n: int, base: int, factor: int):
        """x[i] *= factor * base^i in place, for the 2^log_n rows of x: two products a row from
        two small cached tables, rather than raising base to i (~1.5 log2 n products a row)."""
        low = min(log_n, POWER_SPLIT)
        lo, hi = self._cached_table(
            ("powers", base, factor, log_n),
            lambda: (self._powers(base, 1, 1 << low),
                     self._powers(pow(base, 1 << low, R), factor, 1 << (log_n - low))))
        self.kernels.launch("fr_scale_by_power_tables", 1 << log_n, x, lo, hi, np.uint32(low))

    def ntt_device(self, x, log_n: int, inverse: bool = False, shift: int | None = None):
        """The NTT of the device array x ((2^log_n, 4) Montgomery Fr) as a new device array;
        x is left scaled by the coset powers when a forward shift is given."""
        k = self.kernels
        n = 1 << log_n
        if not inverse and shift is not None:
            self._scale_by_powers(x, log_n, shift, 1)
        if log_n == 0:
            y = x.copy()
        else:
            y = k.empty((n, 4))
            k.launch("ntt_bit_reverse", n, y, x, np.uint32(log_n))
            tw = self._twiddle_table(log_n, inverse)
            s0 = min(log_n, SHARED_LOG)
            k.launch("ntt_shared_stages", n // 2, y, tw, np.uint32(s0), np.uint32(log_n),
                     block=1 << (s0 - 1), shared_mem=32 << s0)
            for s in range(s0, log_n):
                k.launch("ntt_stage", n // 2, y, tw, np.uint32(s), np.uint32(log_n))
        if inverse and shift is None:
            k.launch("fr_scale", n, y, self._scalar(pow(n, -1, R)))
        elif inverse:
            self._scale_by_powers(y, log_n, pow(shift, -1, R), pow(n, -1, R))
        return y

    def ntt(self, values, inverse=False, coset_shift=None):
        log_n = _cpu_ntt._check_values(values)
        shift = _cpu_ntt._shift_value(coset_shift)
        _cpu_ntt._check_reduced(values)
        x = self.kernels.to_device(values)
        if x is values:
            x = x.copy()  # the forward coset scaling works in place
        return self.kernels.to_host(self.ntt_device(x, log_n, bool(inverse), shift))

    def qap_quotient(self, a, b, c, coset_shift: int, z_inv: int):
        """(a b - c) / Z on the coset, back to coefficients: h of the Groth16 prover (n, 4),
        from the constraint evaluations a, b, c ((n, 4) Montgomery each), in one upload of the
        inputs and one download of h."""
        k = self.kernels
        return k.to_host(self._quotient_device(*(k.to_device(v) for v in (a, b, c)),
                                               coset_shift, z_inv))

    def _quotient_device(self, a, b, c, coset_shift: int, z_inv: int):
        n = a.shape[0]
        log_n = n.bit_length() - 1
        on_coset = []
        for v in (a, b, c):
            coeffs = self.ntt_device(v, log_n, inverse=True)
            on_coset.append(self.ntt_device(coeffs, log_n, shift=coset_shift))
        num = self.kernels.empty((n, 4))
        self.kernels.launch("fr_mul_sub", n, num, *on_coset)
        self.kernels.launch("fr_scale", n, num, self._scalar(z_inv))
        return self.ntt_device(num, log_n, inverse=True, shift=coset_shift)

    # ---- the prover's scalars --------------------------------------------------------------
    def _csr_on_device(self, mat, n_wires: int):
        """A constraint matrix with uint32 offsets and wires (resident like the proving key)."""
        if len(mat.wires) >= 1 << 32 or n_wires >= 1 << 32:
            raise ValueError(f"constraint matrix with {len(mat.wires)} terms over {n_wires} wires: "
                             "the kernels index both with uint32")
        return (self.device_array(mat.indptr, np.uint32), self.device_array(mat.wires, np.uint32),
                self.device_array(mat.coeffs))

    def prover_scalars(self, r1cs, witness, n: int, coset_shift: int, z_inv: int):
        """The Groth16 prover's work before its MSMs, on the device: (first unsatisfied
        constraint or None, w, h) with w the witness and h the quotient's n - 1 coefficients,
        both as plain limbs left on the device for the MSMs (None when a constraint fails).
        `witness` is an (n_wires, 4) Montgomery array whose shape the caller checked."""
        k = self.kernels
        w = k.to_device(witness)
        a, b, c = (k.empty((n, 4)) for _ in range(3))
        first_bad = self.xp.full(1, NO_ROW, dtype=np.uint32)
        k.launch("r1cs_evaluate", n, a, b, c, first_bad, w, np.uint32(r1cs.n_constraints),
                 np.uint32(r1cs.n_public),
                 *(arr for mat in (r1cs.A, r1cs.B, r1cs.C)
                   for arr in self._csr_on_device(mat, r1cs.n_wires)))
        bad = int(first_bad[0])
        if bad != NO_ROW:
            return bad, None, None
        h = self._quotient_device(a, b, c, coset_shift, z_inv)[:n - 1]
        plain = []
        for v in (w, h):
            out = k.empty(v.shape)
            k.launch("fr_to_plain", v.shape[0], out, v)
            plain.append(out)
        return None, plain[0], plain[1]

    # ---- MSM -----------------------------------------------------------------------------
    def msm_g1(self, points, scalars):
        return self._msm(G1, "g1", points, scalars)

    def msm_g2(self, points, scalars):
        return self._msm(G2, "g2", points, scalars)

    def _msm(self, group, tag, points, scalars):
        if self.xp is not np and isinstance(points, self.xp.ndarray):   # already on the device
            check_point_shape(group, points)
            dev_points = self.xp.ascontiguousarray(points)
            if isinstance(scalars, self.xp.ndarray):
                # Device scalars come from the kernels (prover_scalars), canonical by
                # construction; only their shape is checked.
                if scalars.dtype != np.uint64 or scalars.shape != (points.shape[0], 4):
                    raise ValueError(f"{group.name} MSM: device scalars must be uint64 of shape "
                                     f"({points.shape[0]}, 4), got {scalars.dtype} {scalars.shape}")
            else:
                scalars = check_scalars(group, scalars, points.shape[0])
        else:
            points, scalars = check_msm_inputs(group, points, scalars)
            dev_points = self.device_array(points)
        affine_shape = (2,) + group.coord_shape
        n = scalars.shape[0]
        if n == 0:
            return np.zeros(affine_shape, dtype=np.uint64)
        k, xp = self.kernels, self.xp
        xyzz_shape = (4,) + group.coord_shape
        c = window_bits(n)
        windows = -(-255 // c)
        if windows * n >= 1 << 32:        # digit slots and bucket offsets are uint32
            raise ValueError(f"{group.name} MSM: {n} points is more than one kernel MSM takes "
                             f"({((1 << 32) - 1) // windows}); split it")
        per_window = 1 << (c - 1)
        n_buckets = windows * per_window

        # Counting sort of the (bucket, point) pairs: sizes, offsets, scatter.
        keys = k.empty(windows * n, np.uint32)
        vals = k.empty(windows * n, np.uint32)
        counts = xp.zeros(n_buckets, dtype=np.uint32)
        k.launch("msm_digits", n, keys, vals, counts, k.to_device(scalars), np.uint32(c),
                 np.uint32(windows))
        starts = xp.zeros(n_buckets + 1, dtype=np.uint32)
        xp.cumsum(counts, dtype=np.uint32, out=starts[1:])
        sorted_vals = k.empty(int(starts[-1]), np.uint32)
        k.launch("msm_scatter", windows * n, sorted_vals, starts[:-1].copy(), keys, vals)
        del keys, vals, counts

        # Sum each bucket in chunks of at most CHUNK, then the chunk sums the same way, until
        # every bucket is one item: a bucket holding most of the points (many equal small
        # scalars) takes log_CHUNK(n) launches instead of n additions on one thread.
        prefix = self._chunk_prefix(starts)
        items = k.empty((int(prefix[-1]),) + xyzz_shape)
        k.launch(f"msm_chunks_affine_{tag}", items.shape[0], items, prefix, np.uint32(n_buckets),
                 starts, sorted_vals, dev_points, np.uint32(CHUNK))
        buckets = self._sum_runs(tag, items, prefix, n_buckets)

        seg_len = min(per_window, SEGMENT)
        segments = per_window // seg_len
        seg_sums = k.empty((windows * segments,) + xyzz_shape)
        k.launch(f"msm_segment_sums_{tag}", windows * segments, seg_sums, buckets,
                 np.uint32(per_window), np.uint32(seg_len))
        # A window's segment sums are added up in the same tree, and the windows combined on
        # the host (combine_windows: the doublings between windows are one serial chain).
        window_starts = (xp.arange(windows + 1, dtype=np.int64) * segments).astype(np.uint32)
        window_sums = k.to_host(self._sum_runs(tag, seg_sums, window_starts, windows))
        out = np.zeros((1,) + affine_shape, dtype=np.uint64)
        combine_windows(window_sums, c, windows, 1, out)
        return out[0]

    def _sum_runs(self, tag, items, starts, runs: int):
        """XYZZ sums of the runs items[starts[b]:starts[b + 1]] for b < runs (infinity for an
        empty run), chunks of at most CHUNK a launch, level after level."""
        k = self.kernels
        while int((starts[1:] - starts[:-1]).max()) > 1:
            nxt = self._chunk_prefix(starts)
            summed = k.empty((int(nxt[-1]),) + items.shape[1:])
            k.launch(f"msm_chunks_xyzz_{tag}", summed.shape[0], summed, nxt, np.uint32(runs),
                     starts, items, np.uint32(CHUNK))
            items, starts = summed, nxt
        out = k.empty((runs,) + items.shape[1:])
        k.launch(f"msm_gather_{tag}", runs, out, starts, items)
        return out

    def _chunk_prefix(self, starts):
        """Where each bucket's chunks start, from where its items start (uint32, nb + 1)."""
        xp = self.xp
        counts = (starts[1:] - starts[:-1]).astype(np.int64)
        prefix = xp.zeros(counts.shape[0] + 1, dtype=np.int64)
        xp.cumsum((counts + CHUNK - 1) // CHUNK, dtype=np.int64, out=prefix[1:])
        return prefix.astype(np.uint32)

    # ---- pairing -------------------------------------------------------------------------
    def pairing_check(self, g1_points, g2_points):
        return _pairing.pairing_check_arrays(g1_points, g2_points)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} name={self.name!r}>"


class GpuBackend(KernelBackend):
    """The kernels on the current CUDA device (CuPy)."""

    name = "gpu"

    def __init__(self):
        super().__init__(DeviceKernels())


class CudaHostBackend(KernelBackend):
    """The same kernels compiled for the CPU: for checking them where there is no GPU."""

    name = "cuda-host"

    def __init__(self):
        super().__init__(HostKernels())
