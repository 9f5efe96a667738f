// Kernels that time the field arithmetic itself (benchmarks/bench_gpu.py), no part of
// proving: x[i] <- x[i] * y[i]^iters as a chain of dependent Montgomery products, so that one
// thread measures a product's latency and many threads the chip's rate of products, the
// figure every MSM and NTT prediction in kernels/NOTES.md rests on.
#include "launch.cuh"

namespace zk {

template <class F>
ZK_HD void mul_chain(F *x, const F &y, uint32_t iters) {
  F a = *x;
  for (uint32_t k = 0; k < iters; ++k) a = a * y;
  *x = a;
}

}  // namespace zk

ZK_KERNEL_1D(fq_mul_chain, (uint32_t n, zk::Fq *x, const zk::Fq *y, uint32_t iters),
             zk::mul_chain(x + i, y[i], iters))
ZK_KERNEL_1D(fr_mul_chain, (uint32_t n, zk::Fr *x, const zk::Fr *y, uint32_t iters),
             zk::mul_chain(x + i, y[i], iters))
