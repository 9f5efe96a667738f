// BN254 base field Fq, scalar field Fr and Fq2 = Fq[u]/(u^2 + 1): Montgomery arithmetic on
// four 64-bit limbs (little-endian), the same representation as hpc_zkfl.algebra (R = 2^256).
//
// Every function is __host__ __device__: on the device the 64-bit carry chains are PTX
// (mad.lo.cc / madc.hi / addc / subc), on the host the same results come from unsigned
// __int128, so this header compiled for the CPU is tested against Python integers in CI.
//
// Multiplication is CIOS (Koc, Acar, Kaliski, "Analyzing and comparing Montgomery
// multiplication algorithms", IEEE Micro 1996) without the two extra carry words, valid
// because both moduli leave the top bit of the top limb clear (the "no-carry" condition of
// gnark-crypto's field code generator).
#pragma once

#if defined(__CUDACC_RTC__)
// NVRTC ships no C library headers.
typedef unsigned int uint32_t;
typedef int int32_t;
typedef unsigned long long uint64_t;
typedef long long int64_t;
#else
#include <stdint.h>
#endif

#if defined(__CUDACC__)
#define ZK_HD __host__ __device__ __forceinline__
// Group operations are large; inlining every one into every kernel multiplies compile time
// and code size for no speed (their bodies dwarf a call).
#define ZK_HD_CALL __host__ __device__ __noinline__
#define ZK_UNROLL _Pragma("unroll")
#else
#define ZK_HD inline
#define ZK_HD_CALL inline
#define ZK_UNROLL
#endif

namespace zk {

// ---- 64-bit primitives ---------------------------------------------------------------------

// out = low(a * b + c + carry); carry = high(a * b + c + carry).  Never overflows 128 bits.
ZK_HD void mac(uint64_t a, uint64_t b, uint64_t c, uint64_t &carry, uint64_t &out) {
#if defined(__CUDA_ARCH__)
  uint64_t lo, hi;
  asm("{\n\t"
      "mad.lo.cc.u64 %0, %2, %3, %4;\n\t"
      "madc.hi.u64 %1, %2, %3, 0;\n\t"
      "add.cc.u64 %0, %0, %5;\n\t"
      "addc.u64 %1, %1, 0;\n\t"
      "}"
      : "=&l"(lo), "=&l"(hi)
      : "l"(a), "l"(b), "l"(c), "l"(carry));
  out = lo;
  carry = hi;
#else
  unsigned __int128 t = (unsigned __int128)a * b + c + carry;
  out = (uint64_t)t;
  carry = (uint64_t)(t >> 64);
#endif
}

// r = a + b over four limbs; the carry out is dropped (callers keep sums below 2^256).
ZK_HD void add4(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
#if defined(__CUDA_ARCH__)
  asm("{\n\t"
      "add.cc.u64 %0, %4, %8;\n\t"
      "addc.cc.u64 %1, %5, %9;\n\t"
      "addc.cc.u64 %2, %6, %10;\n\t"
      "addc.u64 %3, %7, %11;\n\t"
      "}"
      : "=&l"(r[0]), "=&l"(r[1]), "=&l"(r[2]), "=&l"(r[3])
      : "l"(a[0]), "l"(a[1]), "l"(a[2]), "l"(a[3]),
        "l"(b[0]), "l"(b[1]), "l"(b[2]), "l"(b[3]));
#else
  unsigned __int128 t = 0;
  for (int i = 0; i < 4; ++i) {
    t += (unsigned __int128)a[i] + b[i];
    r[i] = (uint64_t)t;
    t >>= 64;
  }
#endif
}

// r = a - b over four limbs; returns 1 when it borrowed (a < b).
ZK_HD uint64_t sub4(uint64_t r[4], const uint64_t a[4], const uint64_t b[4]) {
#if defined(__CUDA_ARCH__)
  uint64_t borrow;
  asm("{\n\t"
      "sub.cc.u64 %0, %5, %9;\n\t"
      "subc.cc.u64 %1, %6, %10;\n\t"
      "subc.cc.u64 %2, %7, %11;\n\t"
      "subc.cc.u64 %3, %8, %12;\n\t"
      "subc.u64 %4, 0, 0;\n\t"
      "}"
      : "=&l"(r[0]), "=&l"(r[1]), "=&l"(r[2]), "=&l"(r[3]), "=&l"(borrow)
      : "l"(a[0]), "l"(a[1]), "l"(a[2]), "l"(a[3]),
        "l"(b[0]), "l"(b[1]), "l"(b[2]), "l"(b[3]));
  return borrow & 1;
#else
  uint64_t borrow = 0;
  for (int i = 0; i < 4; ++i) {
    unsigned __int128 t = (unsigned __int128)a[i] - b[i] - borrow;
    r[i] = (uint64_t)t;
    borrow = (uint64_t)(t >> 64) & 1;
  }
  return borrow;
#endif
}

// ---- moduli --------------------------------------------------------------------------------
// P*: the modulus; INV: -P^-1 mod 2^64; R2*: 2^512 mod P (to Montgomery form); ONE*: 2^256
// mod P (1 in Montgomery form).  tests/kernels checks every constant against
// hpc_zkfl.algebra.constants.

struct FqParams {
  static constexpr uint64_t P0 = 0x3c208c16d87cfd47ull, P1 = 0x97816a916871ca8dull,
                            P2 = 0xb85045b68181585dull, P3 = 0x30644e72e131a029ull;
  static constexpr uint64_t INV = 0x87d20782e4866389ull;
  static constexpr uint64_t R20 = 0xf32cfc5b538afa89ull, R21 = 0xb5e71911d44501fbull,
                            R22 = 0x47ab1eff0a417ff6ull, R23 = 0x06d89f71cab8351full;
  static constexpr uint64_t ONE0 = 0xd35d438dc58f0d9dull, ONE1 = 0x0a78eb28f5c70b3dull,
                            ONE2 = 0x666ea36f7879462cull, ONE3 = 0x0e0a77c19a07df2full;
};

struct FrParams {
  static constexpr uint64_t P0 = 0x43e1f593f0000001ull, P1 = 0x2833e84879b97091ull,
                            P2 = 0xb85045b68181585dull, P3 = 0x30644e72e131a029ull;
  static constexpr uint64_t INV = 0xc2e1f593efffffffull;
  static constexpr uint64_t R20 = 0x1bb8e645ae216da7ull, R21 = 0x53fe3ab1e35c59e3ull,
                            R22 = 0x8c49833d53bb8085ull, R23 = 0x0216d0b17f4e44a5ull;
  static constexpr uint64_t ONE0 = 0xac96341c4ffffffbull, ONE1 = 0x36fc76959f60cd29ull,
                            ONE2 = 0x666ea36f7879462eull, ONE3 = 0x0e0a77c19a07df2full;
};

// ---- prime fields --------------------------------------------------------------------------

template <class P>
struct Fp {
  uint64_t v[4];  // Montgomery form, fully reduced (< P)

  ZK_HD static Fp zero() { return Fp{{0, 0, 0, 0}}; }
  ZK_HD static Fp one() { return Fp{{P::ONE0, P::ONE1, P::ONE2, P::ONE3}}; }
  ZK_HD static Fp modulus() { return Fp{{P::P0, P::P1, P::P2, P::P3}}; }
  ZK_HD static Fp r_squared() { return Fp{{P::R20, P::R21, P::R22, P::R23}}; }

  ZK_HD bool is_zero() const { return (v[0] | v[1] | v[2] | v[3]) == 0; }
  ZK_HD bool operator==(const Fp &o) const {
    return ((v[0] ^ o.v[0]) | (v[1] ^ o.v[1]) | (v[2] ^ o.v[2]) | (v[3] ^ o.v[3])) == 0;
  }
  ZK_HD bool operator!=(const Fp &o) const { return !(*this == o); }

  ZK_HD Fp operator+(const Fp &o) const {
    // Both < P < 2^254, so the sum fits in four limbs; subtract P once if it is >= P.
    const Fp p = modulus();
    Fp s, t;
    add4(s.v, v, o.v);
    return sub4(t.v, s.v, p.v) ? s : t;
  }

  ZK_HD Fp operator-(const Fp &o) const {
    const Fp p = modulus();
    Fp d, t;
    if (sub4(d.v, v, o.v)) {
      add4(t.v, d.v, p.v);
      return t;
    }
    return d;
  }

  ZK_HD Fp operator-() const {
    if (is_zero()) return *this;
    Fp r;
    const Fp p = modulus();
    sub4(r.v, p.v, v);
    return r;
  }

  ZK_HD Fp dbl() const { return *this + *this; }

  // Montgomery product a * b / 2^256 mod P.
  ZK_HD Fp operator*(const Fp &o) const {
    const uint64_t q[4] = {P::P0, P::P1, P::P2, P::P3};
    uint64_t t[4] = {0, 0, 0, 0};
    ZK_UNROLL
    for (int i = 0; i < 4; ++i) {
      uint64_t A = 0, C = 0, low;
      mac(v[0], o.v[i], t[0], A, t[0]);      // (A, t0) = t0 + a0 * b_i
      const uint64_t m = t[0] * P::INV;
      mac(m, q[0], t[0], C, low);            // low word is 0 by the choice of m
      ZK_UNROLL
      for (int j = 1; j < 4; ++j) {
        mac(v[j], o.v[i], t[j], A, t[j]);    // (A, tj) = tj + aj * b_i + A
        mac(m, q[j], t[j], C, t[j - 1]);     // (C, t(j-1)) = tj + m * qj + C
      }
      t[3] = C + A;
    }
    Fp r{{t[0], t[1], t[2], t[3]}}, s;
    const Fp p = modulus();
    return sub4(s.v, r.v, p.v) ? r : s;
  }

  ZK_HD Fp sqr() const { return *this * *this; }

  // this^e for e given as four plain limbs (square-and-multiply from the top bit).
  ZK_HD Fp pow(const uint64_t e[4]) const {
    Fp acc = one();
    for (int i = 3; i >= 0; --i) {
      for (int b = 63; b >= 0; --b) {
        acc = acc.sqr();
        if ((e[i] >> b) & 1) acc = acc * *this;
      }
    }
    return acc;
  }

  ZK_HD Fp pow_u32(uint32_t e) const {
    Fp acc = one(), base = *this;
    while (e) {
      if (e & 1) acc = acc * base;
      base = base.sqr();
      e >>= 1;
    }
    return acc;
  }

  // 1 / this by Fermat (P - 2 as the exponent); the inverse of 0 is 0.
  ZK_HD Fp inverse() const {
    const uint64_t e[4] = {P::P0 - 2, P::P1, P::P2, P::P3};  // P0 > 2: no borrow
    return pow(e);
  }

  // Plain integer (four limbs, < P) to Montgomery form and back.
  ZK_HD static Fp from_plain(const uint64_t x[4]) {
    Fp a{{x[0], x[1], x[2], x[3]}};
    return a * r_squared();
  }
  ZK_HD void to_plain(uint64_t out[4]) const {
    const Fp one_plain{{1, 0, 0, 0}};
    Fp r = *this * one_plain;
    for (int i = 0; i < 4; ++i) out[i] = r.v[i];
  }
};

typedef Fp<FqParams> Fq;
typedef Fp<FrParams> Fr;

// ---- Fq2 = Fq[u] / (u^2 + 1) ----------------------------------------------------------------

struct Fq2 {
  Fq c0, c1;  // c0 + c1 u

  ZK_HD static Fq2 zero() { return Fq2{Fq::zero(), Fq::zero()}; }
  ZK_HD static Fq2 one() { return Fq2{Fq::one(), Fq::zero()}; }
  ZK_HD bool is_zero() const { return c0.is_zero() && c1.is_zero(); }
  ZK_HD bool operator==(const Fq2 &o) const { return c0 == o.c0 && c1 == o.c1; }
  ZK_HD bool operator!=(const Fq2 &o) const { return !(*this == o); }
  ZK_HD Fq2 operator+(const Fq2 &o) const { return Fq2{c0 + o.c0, c1 + o.c1}; }
  ZK_HD Fq2 operator-(const Fq2 &o) const { return Fq2{c0 - o.c0, c1 - o.c1}; }
  ZK_HD Fq2 operator-() const { return Fq2{-c0, -c1}; }
  ZK_HD Fq2 dbl() const { return Fq2{c0.dbl(), c1.dbl()}; }

  // Karatsuba: three Fq products.
  ZK_HD Fq2 operator*(const Fq2 &o) const {
    const Fq v0 = c0 * o.c0, v1 = c1 * o.c1;
    const Fq mid = (c0 + c1) * (o.c0 + o.c1);
    return Fq2{v0 - v1, mid - v0 - v1};
  }

  // (a + bu)^2 = (a + b)(a - b) + 2ab u: two Fq products.
  ZK_HD Fq2 sqr() const {
    const Fq ab = c0 * c1;
    return Fq2{(c0 + c1) * (c0 - c1), ab.dbl()};
  }

  // 1 / (a + bu) = (a - bu) / (a^2 + b^2); the inverse of 0 is 0.
  ZK_HD Fq2 inverse() const {
    const Fq t = (c0.sqr() + c1.sqr()).inverse();
    return Fq2{c0 * t, -(c1 * t)};
  }
};

}  // namespace zk
