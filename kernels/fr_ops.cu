// Element-wise Fr kernels for the prover: the QAP products on the coset, Montgomery
// conversion of scalars, and the power tables of the NTT (twiddles, coset shifts, 1/n).
// Arrays are (n, 4) uint64 Montgomery values unless a name says "plain".
#include "launch.cuh"

using zk::Fr;

ZK_KERNEL_1D(fr_mul, (uint32_t n, Fr *out, const Fr *a, const Fr *b), out[i] = a[i] * b[i])
ZK_KERNEL_1D(fr_add, (uint32_t n, Fr *out, const Fr *a, const Fr *b), out[i] = a[i] + b[i])
ZK_KERNEL_1D(fr_sub, (uint32_t n, Fr *out, const Fr *a, const Fr *b), out[i] = a[i] - b[i])
ZK_KERNEL_1D(fr_inverse, (uint32_t n, Fr *out, const Fr *a), out[i] = a[i].inverse())

// out = a * b - c: the numerator of h on the coset in one pass.
ZK_KERNEL_1D(fr_mul_sub, (uint32_t n, Fr *out, const Fr *a, const Fr *b, const Fr *c),
             out[i] = a[i] * b[i] - c[i])

ZK_KERNEL_1D(fr_to_plain, (uint32_t n, uint64_t *out, const Fr *a), a[i].to_plain(out + 4 * i))
ZK_KERNEL_1D(fr_from_plain, (uint32_t n, Fr *out, const uint64_t *a),
             out[i] = Fr::from_plain(a + 4 * i))

// out[i] = factor * base^i: twiddle and power tables.  Each thread raises base to
// its own index (at most 2 log2(n) products), so no chain of dependent products runs
// through the table.
ZK_KERNEL_1D(fr_powers, (uint32_t n, Fr *out, const Fr *base, const Fr *factor),
             out[i] = *factor * base->pow_u32(i))

// x[i] *= factor, in place (1/n of the inverse NTT; no powers to raise).
ZK_KERNEL_1D(fr_scale, (uint32_t n, Fr *x, const Fr *factor), x[i] = x[i] * *factor)

// x[i] *= lo[i mod 2^low] * hi[i >> low], in place: with lo[j] = base^j and
// hi[k] = factor * base^(2^low k), that is x[i] * factor * base^i (coset shifts) at two
// products per element instead of ~1.5 log2(n), from tables small enough to stay in cache.
ZK_KERNEL_1D(fr_scale_by_power_tables, (uint32_t n, Fr *x, const Fr *lo, const Fr *hi,
                                        uint32_t low),
             x[i] = x[i] * (lo[i & ((1u << low) - 1)] * hi[i >> low]))
