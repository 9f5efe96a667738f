// Multi-scalar multiplication sum_i k_i P_i on G1 and G2: Pippenger's bucket method with
// signed digits (Bernstein, Doumen, Lange, Oosterwijk, "Faster batch forgery identification",
// INDOCRYPT 2012, section 4; the GPU structure follows the ZPrize 2022 MSM entries):
//
//   msm_digits           scalar i -> one signed c-bit digit per window: a bucket id
//                        (window, |d| - 1), or none for d = 0, and a value (i, sign of d);
//                        counts the bucket sizes with atomics
//   (the backend turns the counts into bucket offsets with a prefix sum)
//   msm_scatter          each value to its bucket's next free slot (a counting sort: no
//                        general sort, O(1) work per digit; order inside a bucket is free)
//   msm_chunks_affine    the points of each bucket in chunks of at most T, summed per chunk
//   msm_chunks_xyzz      the same on chunk sums, repeated until no bucket has two chunks, so
//                        a bucket holding most points (small scalars) costs log_T(n) rounds,
//                        not n additions on one thread
//   msm_gather           bucket sum = its single chunk, or infinity
//   msm_segment_sums     sum_b (b + 1) B_b over one segment of a window's buckets by the
//                        running-sum trick, plus lo * (sum of the segment) for its offset lo
//   (msm_chunks_xyzz and msm_gather again add up each window's segment sums, in a tree)
//   (the backend downloads the W window sums and runs Horner over them on the host, c
//   doublings between windows: a chain of ~250 dependent doublings, predicted ~10x slower
//   on one GPU thread than on a CPU core; kernels/NOTES.md)
//
// Digits lie in [-2^(c-1) + 1, 2^(c-1)], so a window has 2^(c-1) buckets and W = ceil(255 / c)
// windows cover every scalar below r < 2^254 with the final carry.
#include "launch.cuh"

namespace zk {

// c bits of the plain scalar s starting at bit `offset` (c <= 32; bits above 255 read as 0).
ZK_HD uint32_t scalar_window(const uint64_t *s, uint32_t offset, uint32_t c) {
  const uint32_t limb = offset >> 6, shift = offset & 63;
  if (limb >= 4) return 0;
  uint64_t bits = s[limb] >> shift;
  if (shift + c > 64 && limb + 1 < 4) bits |= s[limb + 1] << (64 - shift);
  return (uint32_t)(bits & ((1ull << c) - 1));
}

constexpr uint32_t NO_BUCKET = 0xffffffffu;

ZK_HD void msm_digits_one(uint32_t i, uint32_t n, uint32_t *keys, uint32_t *vals,
                          uint32_t *counts, const uint64_t *scalars, uint32_t c,
                          uint32_t windows) {
  const uint32_t half = 1u << (c - 1);
  uint32_t carry = 0;
  for (uint32_t w = 0; w < windows; ++w) {
    uint32_t d = scalar_window(scalars + 4 * (uint64_t)i, w * c, c) + carry;
    uint32_t neg = 0;
    carry = 0;
    if (d > half && w + 1 < windows) {  // d - 2^c, negative
      d = (1u << c) - d;
      neg = 1;
      carry = 1;
    }
    const uint64_t slot = (uint64_t)w * n + i;
    const uint32_t bucket = d == 0 ? NO_BUCKET : w * half + (d - 1);
    keys[slot] = bucket;
    vals[slot] = i | (neg << 31);
    if (bucket != NO_BUCKET) atomic_add(counts + bucket, 1);
  }
}

ZK_HD void msm_scatter_one(uint32_t slot, uint32_t *sorted, uint32_t *cursor, const uint32_t *keys,
                           const uint32_t *vals) {
  const uint32_t bucket = keys[slot];
  if (bucket != NO_BUCKET) sorted[atomic_add(cursor + bucket, 1)] = vals[slot];
}

// Largest b in [0, nb) with prefix[b] <= k, for 0 <= k < prefix[nb]: the segment holding k.
ZK_HD uint32_t segment_of(const uint32_t *prefix, uint32_t nb, uint32_t k) {
  uint32_t lo = 0, hi = nb;
  while (hi - lo > 1) {
    const uint32_t mid = lo + (hi - lo) / 2;
    if (prefix[mid] <= k) lo = mid; else hi = mid;
  }
  return lo;
}

// Chunk k of the partition: the items [begin, end) of its bucket's k-th run of at most T.
ZK_HD void chunk_range(uint32_t k, const uint32_t *chunk_prefix, uint32_t nb,
                       const uint32_t *starts, uint32_t T, uint32_t &begin, uint32_t &end) {
  const uint32_t b = segment_of(chunk_prefix, nb, k);
  begin = starts[b] + (k - chunk_prefix[b]) * T;
  end = begin + T < starts[b + 1] ? begin + T : starts[b + 1];
}

template <class F>
ZK_HD void chunk_affine_one(uint32_t k, Xyzz<F> *out, const uint32_t *chunk_prefix, uint32_t nb,
                            const uint32_t *starts, const uint32_t *vals,
                            const Affine<F> *points, uint32_t T) {
  uint32_t begin, end;
  chunk_range(k, chunk_prefix, nb, starts, T, begin, end);
  Xyzz<F> acc = Xyzz<F>::infinity();
  for (uint32_t j = begin; j < end; ++j) {
    const uint32_t v = vals[j];
    const Affine<F> p = points[v & 0x7fffffffu];
    acc = acc.add_affine((v >> 31) ? p.neg() : p);
  }
  out[k] = acc;
}

template <class F>
ZK_HD void chunk_xyzz_one(uint32_t k, Xyzz<F> *out, const uint32_t *chunk_prefix, uint32_t nb,
                          const uint32_t *starts, const Xyzz<F> *items, uint32_t T) {
  uint32_t begin, end;
  chunk_range(k, chunk_prefix, nb, starts, T, begin, end);
  Xyzz<F> acc = Xyzz<F>::infinity();
  for (uint32_t j = begin; j < end; ++j) acc = acc + items[j];
  out[k] = acc;
}

template <class F>
ZK_HD void segment_sum_one(uint32_t t, Xyzz<F> *out, const Xyzz<F> *buckets, uint32_t per_window,
                           uint32_t seg_len) {
  const uint32_t segments = per_window / seg_len, w = t / segments, lo = (t % segments) * seg_len;
  const Xyzz<F> *b = buckets + (uint64_t)w * per_window;
  Xyzz<F> running = Xyzz<F>::infinity(), total = Xyzz<F>::infinity();
  for (uint32_t j = lo + seg_len; j-- > lo;) {
    running = running + b[j];
    total = total + running;
  }
  out[t] = total + running.mul_u32(lo);
}

}  // namespace zk

// counts: n_buckets zeros on entry.
ZK_KERNEL_1D(msm_digits, (uint32_t n, uint32_t *keys, uint32_t *vals, uint32_t *counts,
                          const uint64_t *scalars, uint32_t c, uint32_t windows),
             zk::msm_digits_one(i, n, keys, vals, counts, scalars, c, windows))

// n = windows * points; cursor: each bucket's first slot on entry (consumed).
ZK_KERNEL_1D(msm_scatter, (uint32_t n, uint32_t *sorted, uint32_t *cursor, const uint32_t *keys,
                           const uint32_t *vals),
             zk::msm_scatter_one(i, sorted, cursor, keys, vals))

#define ZK_MSM_KERNELS(G, F)                                                                   \
  ZK_KERNEL_1D(msm_chunks_affine_##G,                                                          \
               (uint32_t n, zk::Xyzz<F> *out, const uint32_t *chunk_prefix, uint32_t nb,        \
                const uint32_t *starts, const uint32_t *vals, const zk::Affine<F> *points,      \
                uint32_t T),                                                                   \
               zk::chunk_affine_one<F>(i, out, chunk_prefix, nb, starts, vals, points, T))      \
  ZK_KERNEL_1D(msm_chunks_xyzz_##G,                                                            \
               (uint32_t n, zk::Xyzz<F> *out, const uint32_t *chunk_prefix, uint32_t nb,        \
                const uint32_t *starts, const zk::Xyzz<F> *items, uint32_t T),                  \
               zk::chunk_xyzz_one<F>(i, out, chunk_prefix, nb, starts, items, T))               \
  ZK_KERNEL_1D(msm_gather_##G,                                                                 \
               (uint32_t n, zk::Xyzz<F> *buckets, const uint32_t *starts,                       \
                const zk::Xyzz<F> *items),                                                     \
               buckets[i] = starts[i + 1] > starts[i] ? items[starts[i]]                        \
                                                      : zk::Xyzz<F>::infinity())               \
  ZK_KERNEL_1D(msm_segment_sums_##G,                                                           \
               (uint32_t n, zk::Xyzz<F> *out, const zk::Xyzz<F> *buckets, uint32_t per_window,  \
                uint32_t seg_len),                                                             \
               zk::segment_sum_one<F>(i, out, buckets, per_window, seg_len))

ZK_MSM_KERNELS(g1, zk::Fq)
ZK_MSM_KERNELS(g2, zk::Fq2)
