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

The K rows share their products: W x for all k is one product per feature and pack of rows
(`hpc_zkfl.circuit.packing`), and with a public update (`exact_update_circuit`) so is
U = -c G.  That takes the 2 K B D products of a batch down to about 2 ceil(K / m) B D, m
rows a pack (5 for the digits statement).

Each model module offers the same four functions: `logits_ref` (prediction),
`gradient_ref` (the integer reference), `gradient_circuit` (the same in constraints) and
`gradient_frac_bits` (the fractional bits of each gradient, which fix the update's shift).
"""
import numpy as np

from hpc_zkfl.circuit.fixedpoint import (exact_matmul, floor_shift, sigmoid, sigmoid_out_frac_bits,
                                         sigmoid_ref)
from hpc_zkfl.circuit.packing import packed_affine_floor, packed_outer_equal


def logits_ref(spec, params, X) -> np.ndarray:
    """z = floor((W x + b 2^q) / 2^q) with f fractional bits, shape (n, K)."""
    q = spec.features.frac_bits
    acc = exact_matmul(X, params["W"].T) + (params["b"].astype(object) << q)
    return floor_shift(acc, q)


def gradient_frac_bits(spec) -> dict:
    """{name: fractional bits of its exact gradient} (a function of the statement alone)."""
    bits = sigmoid_out_frac_bits(spec.fixed_point) + spec.features.frac_bits
    return {"W": bits, "b": bits}


def gradient_ref(spec, params, X, Y) -> dict:
    """{name: (G, fractional bits of G)}: the batch's summed loss gradient, exactly."""
    fmt, q = spec.fixed_point, spec.features.frac_bits
    fp = sigmoid_out_frac_bits(fmt)
    bits = gradient_frac_bits(spec)
    z = logits_ref(spec, params, X)
    p = sigmoid_ref(z, fmt, what="logit")
    d = p - (np.asarray(Y, dtype=np.int64) << fp)
    return {"W": (exact_matmul(d.T, X), bits["W"]),
            "b": (d.astype(object).sum(axis=0) << q, bits["b"])}


def logit_digit_bits(fmt, n_in: int, in_frac: int, input_bound: int) -> int:
    """Bits that bound both sides of a packed logit (`packed_affine_floor`): |W x + b 2^q|
    from |W|, |b| <= 2^(T-1) (the root keeps the model in range) and the inputs' bound, and
    |z 2^q + remainder| < 2^(T + q) from the sigmoid's range check of z."""
    T = fmt.total_bits
    bound = n_in * (1 << (T - 1)) * input_bound + (1 << (T - 1 + in_frac))
    return max(T + in_frac, bound.bit_length())


def output_errors_circuit(cs, spec, W, b, inputs, y, in_frac: int, input_bound: int) -> list:
    """d_k = sigmoid(floor((W inputs + b 2^in_frac) / 2^in_frac)) - y_k 2^(f+e) for one sample
    whose `inputs` have in_frac fractional bits and magnitude at most input_bound (the sigmoid
    outputs' loss gradient).  The rows of W share products (`packed_affine_floor`)."""
    fmt = spec.fixed_point
    fp = sigmoid_out_frac_bits(fmt)
    with cs.scope("forward"):
        z = packed_affine_floor(cs, W, inputs, [bk * (1 << in_frac) for bk in b], in_frac,
                                logit_digit_bits(fmt, len(inputs), in_frac, input_bound), fmt,
                                label="logits")
    d = []
    for k, zk in enumerate(z):
        # The sigmoid range-checks z (through |z|): the bound packed_affine_floor needs.
        p = sigmoid(cs, zk, fmt, label=f"sigmoid {k}")
        d.append(p - y[k] * (1 << fp))
    return d


def _feature_bound(spec) -> int:
    return max(abs(spec.features.lo), abs(spec.features.hi))


def _output_errors(cs, spec, params, X, Y) -> list:
    d = []
    for i, (x, y) in enumerate(zip(X, Y)):
        with cs.scope(f"sample {i}"):
            d.append(output_errors_circuit(cs, spec, params["W"], params["b"], x, y,
                                           spec.features.frac_bits, _feature_bound(spec)))
    return d


def gradient_circuit(cs, spec, params, X, Y) -> dict:
    """The circuit of `gradient_ref`: params {name: nested lists of wires}, X (B, D) and Y
    (B, K) lists of wires already checked (features in range, labels valid)."""
    q = spec.features.frac_bits
    bits = gradient_frac_bits(spec)
    K, D = len(params["W"]), len(params["W"][0])
    d = _output_errors(cs, spec, params, X, Y)
    with cs.scope("gradient"):
        G_W = [[cs.sum([cs.mul(d[i][k], X[i][j]) for i in range(len(X))]) for j in range(D)]
               for k in range(K)]
        G_b = [cs.sum([d[i][k] for i in range(len(X))]) * (1 << q) for k in range(K)]
    return {"W": (G_W, bits["W"]), "b": (G_b, bits["b"])}


def update_digit_bits(spec) -> int:
    """Bits that bound both sides of U = -c G in `exact_update_circuit`: the verifier bounds
    |U| < 2^(T + s) (u in range, low bits below 2^s); |c G| <= c B 2^(f+e) max|x|, as
    |d| <= 2^(f+e) (the sigmoid's output lies in [0, 1])."""
    fmt, q = spec.fixed_point, spec.features.frac_bits
    c, c_bits = spec.step_constant()
    shift = gradient_frac_bits(spec)["W"] + c_bits - fmt.frac_bits
    bound = c * spec.batch_size * (1 << sigmoid_out_frac_bits(fmt)) * \
        max(_feature_bound(spec), 1 << q)
    return max(fmt.total_bits + shift, bound.bit_length())


def exact_update_circuit(cs, spec, params, X, Y, exact, c: int) -> None:
    """Public mode: assert exact[name] = -c G_name, exact the public wires of the exact update
    U; the K rows share products (`packed_outer_equal`, bounds in `update_digit_bits`)."""
    q = spec.features.frac_bits
    d = _output_errors(cs, spec, params, X, Y)
    targets = [list(row) + [bias] for row, bias in zip(exact["W"], exact["b"])]
    rights = [list(x) + [1 << q] for x in X]
    packed_outer_equal(cs, targets, d, rights, -c, update_digit_bits(spec), label="update")


__all__ = ["exact_update_circuit", "gradient_circuit", "gradient_frac_bits", "gradient_ref",
           "logit_digit_bits", "logits_ref", "output_errors_circuit", "update_digit_bits"]
