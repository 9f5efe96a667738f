"""The gpu backend on a CUDA device: G1 and G2 MSM, NTT and Groth16 proving by size, every
result checked, with the cpu backend side by side where it finishes in reasonable time.

    python benchmarks/bench_gpu.py [--backend gpu] [--field 20] [--g1 16,18,20,22,24]
                                   [--g2 16,18,20,22]
                                   [--ntt 16,18,20,22,24] [--prove 16,18,20] [--cpu-max 20]
                                   [--repeat 5]

Field: the rate of Fq and Fr Montgomery products over 2^20 threads (chains of 256 dependent
products, kernels/probe.cu) and the latency of one product on one thread: the two figures the
MSM and NTT predictions of kernels/NOTES.md rest on.

Timings are best-of-`repeat` wall times with the device synchronized, after one warm-up call
(NVRTC compilation and twiddle tables excluded).  MSM: points resident on the device (the
prover's proving key stays there), the affine result downloaded; scalars on the device (as
the prover has them; the target is judged on this column) and, in a second column, uploaded
and range-checked from host memory in each call.  NTT: values uploaded and the result
downloaded (`ntt`), and the device pipeline alone (`ntt_device`).  Proving: `groth16.prove` on
a builder circuit (the multiplication chain of bench_groth16.py) with its real key; every
proof is verified.  "of which scalars" times the work before the MSMs alone
(`prover_scalars`: constraint evaluation and check, the quotient's seven NTTs, the
conversion to plain limbs).

MSM inputs: 2^16 random points [a_j] G (2^14 for G2) and as many random scalars k_j, tiled to
the size: the bucket work is that of random inputs, and the expected result is
[reps * sum_j k_j a_j] G.  Targets (issue: the GPU backend, on an H100): G1 MSM 2^20 <= 5 ms,
NTT 2^20 <= 1 ms, Groth16 2^20 constraints <= 50 ms.
`--backend cuda-host` runs the same script on the CPU build of the kernels (tiny sizes only),
to check the script itself without a GPU.
"""
import argparse
import random
import time

import numpy as np
from _common import fmt_time, machine, table

from hpc_zkfl.algebra.constants import P, R
from hpc_zkfl.algebra.curve import G1, G2
from hpc_zkfl.algebra.fields import FQ, FR
from hpc_zkfl.algebra.limbs import ints_to_limbs
from hpc_zkfl.algebra.msm import fixed_base_mul, random_points
from hpc_zkfl.backends import get_backend, gpu_status

TARGETS = {("G1", 20): 5e-3, ("NTT", 20): 1e-3, ("prove", 20): 50e-3}


def sync(be):
    if be.xp is not np:
        be.xp.cuda.Device().synchronize()


def best(be, fn, repeat):
    fn()
    sync(be)
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        sync(be)
        times.append(time.perf_counter() - t0)
    return min(times), out


def sizes(text):
    return [int(x) for x in text.split(",") if x.strip()]


def msm_rows(be, group, logs, base_log, repeat, cpu_max):
    cpu = get_backend("cpu")
    base_n = 1 << min(base_log, max(logs))
    pts, dlogs = random_points(group, base_n, seed=1)
    rnd = random.Random(2)
    ks = [rnd.randrange(R) for _ in range(base_n)]
    rows = []
    name = "msm_g1" if group is G1 else "msm_g2"
    for log_n in logs:
        n = 1 << log_n
        m = min(n, base_n)
        reps = n // m
        dot = sum(k * a for k, a in zip(ks[:m], dlogs[:m])) % R
        points = np.ascontiguousarray(np.tile(pts[:m], (reps,) + (1,) * (pts.ndim - 1)))
        scalars = np.ascontiguousarray(np.tile(ints_to_limbs(ks[:m]), (reps, 1)))
        want = fixed_base_mul(group, ints_to_limbs([dot * reps % R]))[0]
        dev_points = be.device_array(points)
        t_host, got = best(be, lambda: getattr(be, name)(dev_points, scalars), repeat)
        ok = np.array_equal(got, want)
        dev_scalars = be.kernels.to_device(scalars)
        t, got = best(be, lambda: getattr(be, name)(dev_points, dev_scalars), repeat)
        ok &= np.array_equal(got, want)
        cpu_t = ""
        if log_n <= cpu_max:
            t0 = time.perf_counter()
            getattr(cpu, name)(points, scalars)
            cpu_t = fmt_time(time.perf_counter() - t0)
        target = TARGETS.get((group.name, log_n))
        rows.append([group.name, f"2^{log_n}", fmt_time(t), fmt_time(t_host), cpu_t,
                     f"{fmt_time(target)}: {'met' if t <= target else 'MISSED'}" if target else "",
                     "ok" if ok else "WRONG"])
        print(rows[-1], flush=True)
    return rows


def ntt_rows(be, logs, repeat, cpu_max):
    cpu = get_backend("cpu")
    rows = []
    for log_n in logs:
        values = FR.random(1 << min(log_n, 12))
        values = np.ascontiguousarray(np.tile(values, ((1 << log_n) // values.shape[0], 1)))
        t_host, out = best(be, lambda: be.ntt(values, coset_shift=True), repeat)
        dev = be.kernels.to_device(values)
        t_dev, _ = best(be, lambda: be.ntt_device(dev.copy(), log_n), repeat)
        back = be.ntt(out, inverse=True, coset_shift=True)
        ok = np.array_equal(back, values)
        cpu_t = ""
        if log_n <= cpu_max:
            t0 = time.perf_counter()
            ok &= np.array_equal(cpu.ntt(values, coset_shift=True), out)
            cpu_t = fmt_time(time.perf_counter() - t0)
        target = TARGETS.get(("NTT", log_n))
        rows.append([f"2^{log_n}", fmt_time(t_dev), fmt_time(t_host), cpu_t,
                     f"{fmt_time(target)}: {'met' if t_dev <= target else 'MISSED'}" if target else "",
                     "ok" if ok else "WRONG"])
        print(rows[-1], flush=True)
    return rows


def prove_rows(be, logs, repeat, cpu_max):
    from bench_groth16 import builder_circuit, n_constraints_for

    from hpc_zkfl.groth16 import prove, setup, verify
    from hpc_zkfl.groth16.r1cs_to_qap import COSET_SHIFT, coset_vanishing_inverse, domain_size
    from hpc_zkfl.groth16.testing import public_signals

    rows = []
    for log_n in logs:
        t0 = time.perf_counter()
        r1cs, w = builder_circuit(n_constraints_for(log_n))
        pk = setup(r1cs, backend="cpu")
        prep = time.perf_counter() - t0
        t, proof = best(be, lambda: prove(pk, r1cs, w, backend=be), repeat)
        ok = verify(pk.vk, public_signals(r1cs, w), proof)
        # The part before the MSMs: constraint evaluation and check, quotient, plain scalars.
        n = domain_size(r1cs)
        t_scalars, _ = best(be, lambda: be.prover_scalars(r1cs, w, n, COSET_SHIFT,
                                                          coset_vanishing_inverse(n)), repeat)
        cpu_t = ""
        if log_n <= cpu_max:
            t1 = time.perf_counter()
            prove(pk, r1cs, w, backend="cpu")
            cpu_t = fmt_time(time.perf_counter() - t1)
        target = TARGETS.get(("prove", log_n))
        rows.append([f"2^{log_n}", r1cs.n_constraints, fmt_time(t), fmt_time(t_scalars), cpu_t,
                     f"{fmt_time(target)}: {'met' if t <= target else 'MISSED'}" if target else "",
                     f"{prep:.0f} s", "verifies" if ok else "DOES NOT VERIFY"])
        print(rows[-1], flush=True)
    return rows


def field_rows(be, log_threads, repeat, iters=256, latency_iters=2048):
    """The rate of Montgomery products over 2^log_threads threads (chains of `iters` dependent
    products each) and one thread's latency a product; results checked against Python ints."""
    rows = []
    for name, field, modulus in (("Fq", FQ, P), ("Fr", FR, R)):
        kernel = f"{name.lower()}_mul_chain"
        k = be.kernels
        n = 1 << log_threads
        x0, y = field.random(n), field.random(n)
        x_dev, y_dev = k.to_device(x0), k.to_device(y)

        def run(count, steps):
            x = x_dev[:count].copy()      # the chain works in place; a copy on the device
            k.launch(kernel, count, x, y_dev, np.uint32(steps))
            return x

        t_rate, out = best(be, lambda: run(n, iters), repeat)
        t_one, one = best(be, lambda: run(1, latency_iters), repeat)
        got = field.decode(np.concatenate([k.to_host(out)[:3], k.to_host(one)]))
        xs, ys = field.decode(x0[:3]), field.decode(y[:3])
        want = [a * pow(b, iters, modulus) % modulus for a, b in zip(xs, ys)]
        want.append(xs[0] * pow(ys[0], latency_iters, modulus) % modulus)
        rows.append([name, f"2^{log_threads} x {iters}", f"{n * iters / t_rate / 1e9:.3g} G/s",
                     fmt_time(t_one / latency_iters), "ok" if got == want else "WRONG"])
        print(rows[-1], flush=True)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--backend", default="gpu")
    ap.add_argument("--field", type=sizes, default=sizes("20"),
                    help="log2 of the threads timing the field product ('' to skip)")
    ap.add_argument("--g1", type=sizes, default=sizes("16,18,20,22,24"))
    ap.add_argument("--g2", type=sizes, default=sizes("16,18,20,22"))
    ap.add_argument("--ntt", type=sizes, default=sizes("16,18,20,22,24"))
    ap.add_argument("--prove", type=sizes, default=sizes("16,18,20"))
    ap.add_argument("--cpu-max", type=int, default=20, help="largest size also run on the cpu backend")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    be = get_backend(args.backend)
    print(machine())
    print(f"backend {be.name}; {gpu_status()[1]}\n", flush=True)
    if args.field:
        print(table(["field", "threads x chain", "products", "latency a product", "result"],
                    [row for log_t in args.field for row in field_rows(be, log_t, args.repeat)]))
    if args.g1 or args.g2:
        rows = msm_rows(be, G1, args.g1, 16, args.repeat, args.cpu_max) if args.g1 else []
        rows += msm_rows(be, G2, args.g2, 14, args.repeat, args.cpu_max) if args.g2 else []
        print(table(["group", "points", f"{args.backend} (scalars on device)",
                     f"{args.backend} (scalars from host)", "cpu backend", "target", "result"],
                    rows))
    if args.ntt:
        print(table(["size", f"{args.backend} (device data)", f"{args.backend} (from and to host)",
                     "cpu backend", "target", "result"],
                    ntt_rows(be, args.ntt, args.repeat, args.cpu_max)))
    if args.prove:
        print(table(["domain", "constraints", f"prove ({args.backend})", "of which scalars",
                     "prove (cpu)", "target",
                     "circuit + setup (cpu)", "proof"],
                    prove_rows(be, args.prove, args.repeat, args.cpu_max)))


if __name__ == "__main__":
    main()
