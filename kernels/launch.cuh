// One source, two targets.  ZK_KERNEL_1D(name, (uint32_t n, ...), statement) defines
//   - on the device: an extern "C" __global__ kernel running `statement` for its thread's
//     index i = blockIdx.x * blockDim.x + threadIdx.x when i < n;
//   - on the host: an extern "C" function running `statement` for i = 0 .. n-1.
// The backend loads the first with CuPy and the second (the same files built by the host C++
// compiler) through ctypes, so CI runs every kernel body and the whole orchestration without a
// GPU.  Kernels are launched over a 1-D grid; the first parameter is always the thread count.
#pragma once
#include "curve.cuh"

namespace zk {

// Atomics on both targets: the host build runs one thread at a time, so plain updates are
// exact there.  Each returns the old value.
ZK_HD uint32_t atomic_add(uint32_t *p, uint32_t v) {
#if defined(__CUDA_ARCH__)
  return atomicAdd(p, v);
#else
  const uint32_t old = *p;
  *p = old + v;
  return old;
#endif
}

ZK_HD uint32_t atomic_min(uint32_t *p, uint32_t v) {
#if defined(__CUDA_ARCH__)
  return atomicMin(p, v);
#else
  const uint32_t old = *p;
  *p = old < v ? old : v;
  return old;
#endif
}

}  // namespace zk

#if defined(__CUDACC__)
#define ZK_GLOBAL extern "C" __global__
#define ZK_KERNEL_1D(name, params, statement)                 \
  extern "C" __global__ void name params {                    \
    const uint32_t i = blockIdx.x * blockDim.x + threadIdx.x; \
    if (i < n) { statement; }                                 \
  }
#else
#define ZK_GLOBAL extern "C"
#define ZK_KERNEL_1D(name, params, statement)           \
  extern "C" void name params {                         \
    for (uint32_t i = 0; i < n; ++i) { statement; }     \
  }
#endif
