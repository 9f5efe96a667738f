"""A multilayer perceptron with one hidden ReLU layer and one-vs-rest sigmoid outputs.

h = relu(W1 x + b1), z = W2 h + b2, loss = sum_k BCE(sigmoid(z_k), y_k); backpropagation with
the ReLU derivative taken as 1 at exactly 0 (the mask is pre-activation >= 0).

Fixed-point bookkeeping (f model, q feature, e = 9 sigmoid fractional bits):

    a1 = W1 x + b1 2^q            f + q        h_pre = floor(a1 / 2^q)       f
    h  = relu(h_pre)              f
    a2 = W2 h + b2 2^f            2f           z = floor(a2 / 2^f)           f
    d2 = sigmoid(z) - y 2^(f+e)   f + e
    t  = floor(W2^T d2 / 2^(f+e)) f            (range-checked: it feeds products)
    d1 = t * mask                 f
    G_W2 = sum_b d2 h^T  2f + e,  G_b2 = sum_b d2 2^f   2f + e
    G_W1 = sum_b d1 x^T  f + q,   G_b1 = sum_b d1 2^q   f + q

Every dot product is summed exactly and truncated once.
"""
import numpy as np

from hpc_zkfl.circuit.fixedpoint import (exact_matmul, floor_shift, relu, relu_ref,
                                         sigmoid_out_frac_bits, sigmoid_ref, truncate, truncate_ref)

from .linear import output_errors_circuit


def _hidden_ref(spec, params, X):
    q = spec.features.frac_bits
    a1 = exact_matmul(X, params["W1"].T) + (params["b1"].astype(object) << q)
    return relu_ref(floor_shift(a1, q), spec.fixed_point, what="hidden pre-activation")


def _logits_from_hidden(spec, params, h):
    f = spec.fixed_point.frac_bits
    a2 = exact_matmul(h, params["W2"].T) + (params["b2"].astype(object) << f)
    return floor_shift(a2, f)


def logits_ref(spec, params, X) -> np.ndarray:
    h, _ = _hidden_ref(spec, params, X)
    return _logits_from_hidden(spec, params, h)


def gradient_frac_bits(spec) -> dict:
    """{name: fractional bits of its exact gradient} (a function of the statement alone)."""
    q, f = spec.features.frac_bits, spec.fixed_point.frac_bits
    fp = sigmoid_out_frac_bits(spec.fixed_point)
    return {"W1": f + q, "b1": f + q, "W2": fp + f, "b2": fp + f}


def gradient_ref(spec, params, X, Y) -> dict:
    fmt, q, f = spec.fixed_point, spec.features.frac_bits, spec.fixed_point.frac_bits
    bits = gradient_frac_bits(spec)
    fp = sigmoid_out_frac_bits(fmt)
    h, mask = _hidden_ref(spec, params, X)
    p = sigmoid_ref(_logits_from_hidden(spec, params, h), fmt, what="logit")
    d2 = p - (np.asarray(Y, dtype=np.int64) << fp)
    t = truncate_ref(exact_matmul(d2, params["W2"]), fp, fmt, what="backpropagated error")
    d1 = t * mask
    return {"W1": (exact_matmul(d1.T, X), bits["W1"]),
            "b1": (d1.astype(object).sum(axis=0) << q, bits["b1"]),
            "W2": (exact_matmul(d2.T, h), bits["W2"]),
            "b2": (d2.astype(object).sum(axis=0) << f, bits["b2"])}


def gradient_circuit(cs, spec, params, X, Y) -> dict:
    fmt, q, f = spec.fixed_point, spec.features.frac_bits, spec.fixed_point.frac_bits
    fp = sigmoid_out_frac_bits(fmt)
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    H, D, K = len(W1), len(W1[0]), len(W2)
    hs, d1s, d2s = [], [], []
    for i, (x, y) in enumerate(zip(X, Y)):
        with cs.scope(f"sample {i}"):
            h, mask = [], []
            with cs.scope("forward"):
                for j in range(H):
                    a1 = cs.sum([cs.mul(W1[j][m], x[m]) for m in range(D)]) + b1[j] * (1 << q)
                    # relu range-checks its input, so the quotient needs no check of its own.
                    pre = truncate(cs, a1, q, fmt, check_output=False, label=f"hidden {j}")
                    hj, mj = relu(cs, pre, fmt, label=f"relu {j}")
                    h.append(hj)
                    mask.append(mj)
            # relu outputs lie in [0, 2^(T-1)): the bound of the output layer's inputs
            d2 = output_errors_circuit(cs, spec, W2, b2, h, y, f, 1 << (fmt.total_bits - 1))
            with cs.scope("backward"):
                d1 = []
                for j in range(H):
                    back = cs.sum([cs.mul(W2[k][j], d2[k]) for k in range(K)])
                    t = truncate(cs, back, fp, fmt, label=f"error {j}")
                    d1.append(cs.mul(mask[j], t, label=f"relu' {j}"))
            hs.append(h)
            d1s.append(d1)
            d2s.append(d2)
    B = len(X)
    with cs.scope("gradient"):
        G_W1 = [[cs.sum([cs.mul(d1s[i][j], X[i][m]) for i in range(B)]) for m in range(D)]
                for j in range(H)]
        G_b1 = [cs.sum([d1s[i][j] for i in range(B)]) * (1 << q) for j in range(H)]
        G_W2 = [[cs.sum([cs.mul(d2s[i][k], hs[i][j]) for i in range(B)]) for j in range(H)]
                for k in range(K)]
        G_b2 = [cs.sum([d2s[i][k] for i in range(B)]) * (1 << f) for k in range(K)]
    bits = gradient_frac_bits(spec)
    return {"W1": (G_W1, bits["W1"]), "b1": (G_b1, bits["b1"]), "W2": (G_W2, bits["W2"]),
            "b2": (G_b2, bits["b2"])}


__all__ = ["gradient_circuit", "gradient_frac_bits", "gradient_ref", "logits_ref"]
