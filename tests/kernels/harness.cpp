// Host entry points into field.cuh and curve.cuh for tests/kernels/test_kernels.py: each runs
// one operation over arrays, so Python can compare it with Python integers and py_ecc.
#include "curve.cuh"

using namespace zk;

enum Op { ADD = 0, SUB = 1, MUL = 2, SQR = 3, NEG = 4, INV = 5, DBL = 6 };

template <class F>
static F field_op(int op, const F &a, const F &b) {
  switch (op) {
    case ADD: return a + b;
    case SUB: return a - b;
    case MUL: return a * b;
    case SQR: return a.sqr();
    case NEG: return -a;
    case INV: return a.inverse();
    default: return a.dbl();
  }
}

extern "C" void fq_op(int op, uint32_t n, Fq *out, const Fq *a, const Fq *b) {
  for (uint32_t i = 0; i < n; ++i) out[i] = field_op(op, a[i], b[i]);
}
extern "C" void fr_op(int op, uint32_t n, Fr *out, const Fr *a, const Fr *b) {
  for (uint32_t i = 0; i < n; ++i) out[i] = field_op(op, a[i], b[i]);
}
extern "C" void fq2_op(int op, uint32_t n, Fq2 *out, const Fq2 *a, const Fq2 *b) {
  for (uint32_t i = 0; i < n; ++i) out[i] = field_op(op, a[i], b[i]);
}

// Curve: out = a + b by one of the XYZZ routes, as an affine point.
//   0: mixed addition (XYZZ a) + (affine b); 1: full addition; 2: doubling of a (b unused);
//   3: doubling through double_affine; 4: a * k for the small k
template <class F>
static Affine<F> curve_op(int op, const Affine<F> &a, const Affine<F> &b, uint32_t k) {
  const Xyzz<F> xa = Xyzz<F>::from_affine(a), xb = Xyzz<F>::from_affine(b);
  switch (op) {
    case 0: return xa.add_affine(b).to_affine();
    case 1: return (xa + xb).to_affine();
    case 2: return xa.dbl().to_affine();
    case 3: return a.is_infinity() ? a : Xyzz<F>::double_affine(a).to_affine();
    default: return xa.mul_u32(k).to_affine();
  }
}

extern "C" void g1_op(int op, uint32_t n, G1Affine *out, const G1Affine *a, const G1Affine *b,
                      uint32_t k) {
  for (uint32_t i = 0; i < n; ++i) out[i] = curve_op(op, a[i], b[i], k);
}
extern "C" void g2_op(int op, uint32_t n, G2Affine *out, const G2Affine *a, const G2Affine *b,
                      uint32_t k) {
  for (uint32_t i = 0; i < n; ++i) out[i] = curve_op(op, a[i], b[i], k);
}
