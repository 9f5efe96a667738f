// The prover's constraint evaluations on the device, so that a proof needs no host pass over
// the constraint system (hpc_zkfl.groth16.r1cs_to_qap has the reduction this follows):
//
//   r1cs_evaluate    one thread per row of the QAP domain (n rows): rows k < m get
//                    a_k = <A_k, w>, b_k = <B_k, w>, c_k = <C_k, w> from the CSR matrices and
//                    check a_k b_k = c_k; rows m .. m + n_pub get a = w[k - m] (the extension
//                    that makes the public wires' polynomials independent), b = c = 0; the
//                    rest are 0.  first_bad (set to 0xffffffff by the caller) ends as the least
//                    failing k, or unchanged when every constraint holds.
//
// Matrices are CSR with uint32 row offsets and wire indices and Montgomery coefficients, the
// layout of hpc_zkfl.circuit.r1cs.SparseMatrix.  A thread sums its row's terms in order, so
// the result equals the cpu backend's bit for bit (field sums are exact in any order anyway).
#include "launch.cuh"

using zk::Fr;

namespace zk {

ZK_HD Fr sparse_row(const uint32_t *indptr, const uint32_t *wires, const Fr *coeffs,
                    const Fr *w, uint32_t k) {
  Fr acc = Fr::zero();
  for (uint32_t t = indptr[k]; t < indptr[k + 1]; ++t) acc = acc + coeffs[t] * w[wires[t]];
  return acc;
}

ZK_HD void r1cs_evaluate_one(uint32_t i, Fr *a, Fr *b, Fr *c, uint32_t *first_bad,
                             const Fr *w, uint32_t m, uint32_t n_pub,
                             const uint32_t *a_indptr, const uint32_t *a_wires, const Fr *a_coeffs,
                             const uint32_t *b_indptr, const uint32_t *b_wires, const Fr *b_coeffs,
                             const uint32_t *c_indptr, const uint32_t *c_wires, const Fr *c_coeffs) {
  if (i < m) {
    const Fr ai = sparse_row(a_indptr, a_wires, a_coeffs, w, i);
    const Fr bi = sparse_row(b_indptr, b_wires, b_coeffs, w, i);
    const Fr ci = sparse_row(c_indptr, c_wires, c_coeffs, w, i);
    a[i] = ai;
    b[i] = bi;
    c[i] = ci;
    if (ai * bi != ci) atomic_min(first_bad, i);
  } else {
    a[i] = i - m <= n_pub ? w[i - m] : Fr::zero();
    b[i] = Fr::zero();
    c[i] = Fr::zero();
  }
}

}  // namespace zk

// n_pub counts the public signals; wires 0 .. n_pub (the constant and the public signals)
// take the extension rows.
ZK_KERNEL_1D(r1cs_evaluate,
             (uint32_t n, Fr *a, Fr *b, Fr *c, uint32_t *first_bad, const Fr *w, uint32_t m,
              uint32_t n_pub,
              const uint32_t *a_indptr, const uint32_t *a_wires, const Fr *a_coeffs,
              const uint32_t *b_indptr, const uint32_t *b_wires, const Fr *b_coeffs,
              const uint32_t *c_indptr, const uint32_t *c_wires, const Fr *c_coeffs),
             zk::r1cs_evaluate_one(i, a, b, c, first_bad, w, m, n_pub, a_indptr, a_wires,
                                   a_coeffs, b_indptr, b_wires, b_coeffs, c_indptr, c_wires,
                                   c_coeffs))
