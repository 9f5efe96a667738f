"""Linear models: binary logistic regression and one-vs-rest multinomial classification.

Both are K sigmoid outputs z = W x + b (K = 1 for binary data) trained on the sum of the
outputs' binary cross-entropies, whose gradient with respect to z_k is sigma(z_k) - y_k; the
sigmoid is the piecewise-linear one of `hpc_zkfl.circuit.fixedpoint`.

Fixed-point bookkeeping (f = model fractional bits, q = feature fractional bits, e = 9 extra
bits of the sigmoid's output):

    acc = W x + b 2^q          f + q bits    exact
    z   = floor(acc / 2^q)     f bits        truncated once per logit
    p   = sigmoid(z)           f + e bits    exact
    d   = p - y 2^(f+e)        f + e bits
    G_W = sum_b d x^T          f + e + q     exact; truncated once, in the update step
    G_b = sum_b d 2^q          f + e + q

Each model module offers the same three functions: `logits_ref` (prediction),
`gradient_ref` (the integer reference) and `gradient_circuit` (the same in constraints).
"""
import numpy as np

from hpc_zkfl.circuit.fixedpoint import (exact_matmul, floor_shift, sigmoid, sigmoid_out_frac_bits,
                                         sigmoid_ref, truncate)


def logits_ref(spec, params, X) -> np.ndarray:
    """z = floor((W x + b 2^q) / 2^q) with f fractional bits, shape (n, K)."""
    q = spec.features.frac_bits
    acc = exact_matmul(X, params["W"].T) + (params["b"].astype(object) << q)
    return floor_shift(acc, q)


def gradient_ref(spec, params, X, Y) -> dict:
    """{name: (G, fractional bits of G)}: the batch's summed loss gradient, exactly."""
    fmt, q = spec.fixed_point, spec.features.frac_bits
    fp = sigmoid_out_frac_bits(fmt)
    z = logits_ref(spec, params, X)
    p = sigmoid_ref(z, fmt, what="logit")
    d = p - (np.asarray(Y, dtype=np.int64) << fp)
    return {"W": (exact_matmul(d.T, X), fp + q),
            "b": (d.astype(object).sum(axis=0) << q, fp + q)}


def output_errors_circuit(cs, spec, W, b, inputs, y, in_frac: int) -> list:
    """d_k = sigmoid(floor((W inputs + b 2^in_frac) / 2^in_frac)) - y_k 2^(f+e) for one sample
    whose `inputs` have in_frac fractional bits (the sigmoid outputs' loss gradient)."""
    fmt = spec.fixed_point
    fp = sigmoid_out_frac_bits(fmt)
    d = []
    for k in range(len(W)):
        with cs.scope("forward"):
            acc = cs.sum([cs.mul(W[k][j], v) for j, v in enumerate(inputs)]) + b[k] * (1 << in_frac)
            # The sigmoid range-checks z (through |z|), so the quotient needs no check.
            z = truncate(cs, acc, in_frac, fmt, check_output=False, label=f"logit {k}")
        p = sigmoid(cs, z, fmt, label=f"sigmoid {k}")
        d.append(p - y[k] * (1 << fp))
    return d


def gradient_circuit(cs, spec, params, X, Y) -> dict:
    """The circuit of `gradient_ref`: params {name: nested lists of wires}, X (B, D) and Y
    (B, K) lists of wires already checked (features in range, labels valid)."""
    q = spec.features.frac_bits
    fp = sigmoid_out_frac_bits(spec.fixed_point)
    W, b = params["W"], params["b"]
    K, D = len(W), len(W[0])
    d = []
    for i, (x, y) in enumerate(zip(X, Y)):
        with cs.scope(f"sample {i}"):
            d.append(output_errors_circuit(cs, spec, W, b, x, y, q))
    with cs.scope("gradient"):
        G_W = [[cs.sum([cs.mul(d[i][k], X[i][j]) for i in range(len(X))]) for j in range(D)]
               for k in range(K)]
        G_b = [cs.sum([d[i][k] for i in range(len(X))]) * (1 << q) for k in range(K)]
    return {"W": (G_W, fp + q), "b": (G_b, fp + q)}


__all__ = ["gradient_circuit", "gradient_ref", "logits_ref", "output_errors_circuit"]
