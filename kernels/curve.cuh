// BN254 G1 (over Fq) and G2 (over Fq2) point arithmetic, y^2 = x^3 + b with a = 0; one
// template serves both groups, as hpc_zkfl.algebra.curve does for the CPU.
//
// Affine points are (x, y) in Montgomery form with all-zero coordinates for the point at
// infinity (the layout of the backend arrays, (n, 2, 4) and (n, 2, 2, 4) uint64).
// Accumulators are XYZZ coordinates (x = X / ZZ, y = Y / ZZZ, ZZ^3 = ZZZ^2; ZZ = 0 is
// infinity), whose mixed addition costs 8M + 2S and needs no inversion: the formulas
// add-2008-s, madd-2008-s, dbl-2008-s-1 and mdbl-2008-s-1 of the Explicit-Formulas Database
// (Bernstein and Lange, hyperelliptic.org/EFD/g1p/auto-shortw-xyzz.html).
#pragma once
#include "field.cuh"

namespace zk {

template <class F>
struct Affine {
  F x, y;
  ZK_HD bool is_infinity() const { return x.is_zero() && y.is_zero(); }
  ZK_HD Affine neg() const { return is_infinity() ? *this : Affine{x, -y}; }
};

template <class F>
struct Xyzz {
  F X, Y, ZZ, ZZZ;

  ZK_HD static Xyzz infinity() { return Xyzz{F::zero(), F::one(), F::zero(), F::zero()}; }
  ZK_HD static Xyzz from_affine(const Affine<F> &p) {
    return p.is_infinity() ? infinity() : Xyzz{p.x, p.y, F::one(), F::one()};
  }
  ZK_HD bool is_infinity() const { return ZZ.is_zero(); }
  ZK_HD Xyzz neg() const { return Xyzz{X, -Y, ZZ, ZZZ}; }

  // 2 * this (dbl-2008-s-1 with a = 0).
  ZK_HD_CALL Xyzz dbl() const {
    if (is_infinity()) return *this;
    const F U = Y.dbl(), V = U.sqr(), W = U * V, S = X * V;
    const F X2 = X.sqr(), M = X2.dbl() + X2;
    const F X3 = M.sqr() - S.dbl();
    return Xyzz{X3, M * (S - X3) - W * Y, V * ZZ, W * ZZZ};
  }

  // this + q for an affine q (madd-2008-s), every special case included.
  ZK_HD_CALL Xyzz add_affine(const Affine<F> &q) const {
    if (q.is_infinity()) return *this;
    if (is_infinity()) return from_affine(q);
    const F U2 = q.x * ZZ, S2 = q.y * ZZZ;
    const F P = U2 - X, R = S2 - Y;
    if (P.is_zero()) {
      if (R.is_zero()) return double_affine(q);  // same point
      return infinity();                          // q = -this
    }
    const F PP = P.sqr(), PPP = P * PP, Q = X * PP;
    const F X3 = R.sqr() - PPP - Q.dbl();
    return Xyzz{X3, R * (Q - X3) - Y * PPP, ZZ * PP, ZZZ * PPP};
  }

  // this + q (add-2008-s), every special case included.
  ZK_HD_CALL Xyzz operator+(const Xyzz &q) const {
    if (q.is_infinity()) return *this;
    if (is_infinity()) return q;
    const F U1 = X * q.ZZ, U2 = q.X * ZZ, S1 = Y * q.ZZZ, S2 = q.Y * ZZZ;
    const F P = U2 - U1, R = S2 - S1;
    if (P.is_zero()) {
      if (R.is_zero()) return dbl();
      return infinity();
    }
    const F PP = P.sqr(), PPP = P * PP, Q = U1 * PP;
    const F X3 = R.sqr() - PPP - Q.dbl();
    return Xyzz{X3, R * (Q - X3) - S1 * PPP, ZZ * q.ZZ * PP, ZZZ * q.ZZZ * PPP};
  }

  // 2 * q for an affine q (mdbl-2008-s-1 with a = 0).
  ZK_HD_CALL static Xyzz double_affine(const Affine<F> &q) {
    const F U = q.y.dbl(), V = U.sqr(), W = U * V, S = q.x * V;
    const F X2 = q.x.sqr(), M = X2.dbl() + X2;
    const F X3 = M.sqr() - S.dbl();
    return Xyzz{X3, M * (S - X3) - W * q.y, V, W};
  }

  // k * this for a small unsigned k (double-and-add from the top bit).
  ZK_HD_CALL Xyzz mul_u32(uint32_t k) const {
    Xyzz acc = infinity();
    for (int b = 31; b >= 0; --b) {
      acc = acc.dbl();
      if ((k >> b) & 1) acc = acc + *this;
    }
    return acc;
  }

  // The affine point, by one inversion: 1/ZZ = ZZZ / (ZZ ZZZ), 1/ZZZ = ZZ / (ZZ ZZZ).
  ZK_HD_CALL Affine<F> to_affine() const {
    if (is_infinity()) return Affine<F>{F::zero(), F::zero()};
    const F inv = (ZZ * ZZZ).inverse();
    return Affine<F>{X * (inv * ZZZ), Y * (inv * ZZ)};
  }
};

typedef Affine<Fq> G1Affine;
typedef Affine<Fq2> G2Affine;
typedef Xyzz<Fq> G1Xyzz;
typedef Xyzz<Fq2> G2Xyzz;

}  // namespace zk
