// Radix-2 NTT over Fr, decimation in time (Cooley and Tukey, 1965) on bit-reversed input:
//   ntt_bit_reverse          out[rev(i)] = in[i]
//   ntt_shared_stages        stages 0 .. k-1 of every block of 2^k contiguous elements in
//                            shared memory (one load and one store for k stages)
//   ntt_stage                one later stage in global memory, one butterfly per thread
// Stage s pairs a = (i >> s) << (s + 1) | (i mod 2^s) with b = a + 2^s and uses the twiddle
// w^((i mod 2^s) 2^(log_n - 1 - s)) from one table of w^0 .. w^(n/2 - 1).  The backend
// orchestrates coset shifts, the inverse and the 1/n scaling with fr_ops.cu.
#include "launch.cuh"

using zk::Fr;

namespace zk {

ZK_HD uint32_t bit_reverse(uint32_t x, uint32_t bits) {
#if defined(__CUDA_ARCH__)
  return __brev(x) >> (32 - bits);
#else
  uint32_t r = 0;
  for (uint32_t b = 0; b < bits; ++b) r |= ((x >> b) & 1u) << (bits - 1 - b);
  return r;
#endif
}

// Butterfly i (0 <= i < n/2) of stage s, on the array x (global or shared).
ZK_HD void ntt_butterfly(Fr *x, const Fr *twiddles, uint32_t i, uint32_t s, uint32_t log_n) {
  const uint32_t half = 1u << s, j = i & (half - 1);
  const uint32_t a = ((i >> s) << (s + 1)) | j, b = a + half;
  const Fr u = x[a], v = x[b] * twiddles[j << (log_n - 1 - s)];
  x[a] = u + v;
  x[b] = u - v;
}

}  // namespace zk

// n = 2^log_n elements; log_n >= 1.
ZK_KERNEL_1D(ntt_bit_reverse, (uint32_t n, Fr *out, const Fr *in, uint32_t log_n),
             out[zk::bit_reverse(i, log_n)] = in[i])

// n / 2 threads; one butterfly each.
ZK_KERNEL_1D(ntt_stage, (uint32_t n, Fr *x, const Fr *twiddles, uint32_t s, uint32_t log_n),
             zk::ntt_butterfly(x, twiddles, i, s, log_n))

// Blocks of 2^k elements (k <= log_n), 2^(k-1) threads a block, 2^k * 32 bytes of dynamic
// shared memory; n = the total number of threads (n / 2 of the transform).
#if defined(__CUDACC__)
extern "C" __global__ void ntt_shared_stages(uint32_t n, Fr *x, const Fr *twiddles, uint32_t k,
                                             uint32_t log_n) {
  extern __shared__ Fr block[];
  const uint32_t t = threadIdx.x, size = 1u << k, base = blockIdx.x << k;
  block[t] = x[base + t];
  block[t + size / 2] = x[base + t + size / 2];
  __syncthreads();
  for (uint32_t s = 0; s < k; ++s) {
    zk::ntt_butterfly(block, twiddles, t, s, log_n);
    __syncthreads();
  }
  x[base + t] = block[t];
  x[base + t + size / 2] = block[t + size / 2];
}
#else
extern "C" void ntt_shared_stages(uint32_t n, Fr *x, const Fr *twiddles, uint32_t k,
                                  uint32_t log_n) {
  // The host runs each block's threads one after the other between the barriers, which is
  // what the device's __syncthreads() guarantees.  Butterflies index within the block, so the
  // block's slice of x stands in for shared memory.
  const uint32_t threads = 1u << (k - 1), blocks = n / threads;
  for (uint32_t blk = 0; blk < blocks; ++blk)
    for (uint32_t s = 0; s < k; ++s)
      for (uint32_t t = 0; t < threads; ++t)
        zk::ntt_butterfly(x + ((uint64_t)blk << k), twiddles, t, s, log_n);
}
#endif
