"""The node statement: the circuit each federated node proves, and its integer reference.

Public inputs, in this order: round `t`, node id `i`, the dataset commitment `c_i` (with data
binding on), the global model `w_t` (flat, fixed point) and the update `u` (same layout).
Private: the batch (X, Y) and, with data binding, each sample's Merkle path.  The constraints:

1. every feature x in [lo, hi] of the declared grid; every label a valid class (one-hot
   booleans summing to one, or one boolean for binary data);
2. with data binding: every sample is a leaf of the Merkle tree with root c_i (the leaf is
   Poseidon of the sample's packed feature bits and its class, see `sample_leaf`);
3. u = F(w_t, X, Y) bit for bit: u = floor(-c * G / 2^s), G the model's exact summed loss
   gradient and c / 2^s' = learning_rate / batch_size (`StatementSpec.step_constant`);
4. ||u||^2 <= B^2.

t and i take part in no constraint, yet the proof binds them: the Groth16 QAP adds one row
per public input (`hpc_zkfl.groth16.r1cs_to_qap`), so a proof for (t, i) fails for any other.

The root must keep w_t inside the model's fixed-point range (the bounds that make every
truncation unique assume it); `update_ref` refuses a w_t outside it.
"""
import math
from collections import Counter

import numpy as np

from hpc_zkfl.algebra.constants import R
from hpc_zkfl.circuit import ConstraintSystem
from hpc_zkfl.circuit.fixedpoint import (FixedPointRangeError, check_range, floor_shift, in_range,
                                         norm_bound, truncate)

from . import linear, mlp
from .binding import bind_samples, binding_inputs
from .spec import StatementSpec

_MODEL_MODULES = {"logistic": linear, "ovr": linear, "mlp": mlp}

class NormBoundError(FixedPointRangeError):
    """The update's norm exceeds the statement's bound B: no proof can exist."""


# --- parameters and labels -----------------------------------------------------------------

def unflatten(spec: StatementSpec, flat) -> dict:
    """{name: array of its shape} from a flat vector in `param_shapes` order."""
    flat = np.asarray(flat)
    if flat.shape != (spec.n_params,):
        raise ValueError(f"expected {spec.n_params} parameters, got shape {flat.shape}")
    out, at = {}, 0
    for name, shape in spec.param_shapes():
        size = math.prod(shape)
        out[name] = flat[at:at + size].reshape(shape)
        at += size
    return out


def flatten(spec: StatementSpec, params: dict) -> np.ndarray:
    parts = []
    for name, shape in spec.param_shapes():
        arr = np.asarray(params[name])
        if arr.shape != shape:
            raise ValueError(f"parameter {name} has shape {arr.shape}, expected {shape}")
        parts.append(arr.reshape(-1))
    return np.concatenate(parts)


def one_hot(spec: StatementSpec, labels) -> np.ndarray:
    """Class indices -> (n, n_outputs) 0/1 ints (one column, the label itself, when binary)."""
    y = np.asarray(labels)
    if y.ndim != 1 or not np.issubdtype(y.dtype, np.integer):
        raise ValueError("labels must be a 1-d integer array of class indices")
    bad = (y < 0) | (y >= spec.n_classes)
    if bad.any():
        raise ValueError(f"label {int(y[bad][0])} is not a class of 0..{spec.n_classes - 1}")
    if spec.n_outputs == 1:
        return y.astype(np.int64)[:, None]
    return (y[:, None] == np.arange(spec.n_outputs)[None, :]).astype(np.int64)


def check_batch(spec: StatementSpec, X, labels):
    """(X as int64, one-hot Y) after checking shapes, the feature grid and the labels."""
    X = np.asarray(X)
    if X.shape != (spec.batch_size, spec.n_features) or not np.issubdtype(X.dtype, np.integer):
        raise ValueError(f"the batch must be an int array of shape ({spec.batch_size}, "
                         f"{spec.n_features}), got {X.dtype} {X.shape}")
    X = check_range(X, spec.features.lo, spec.features.hi, what="feature")
    Y = one_hot(spec, labels)
    if len(Y) != spec.batch_size:
        raise ValueError(f"expected {spec.batch_size} labels, got {len(Y)}")
    return X, Y


# --- the integer reference -----------------------------------------------------------------

def logits_ref(spec: StatementSpec, w, X) -> np.ndarray:
    """Fixed-point logits (f fractional bits) of the model w on the rows of X."""
    params = unflatten(spec, spec.fixed_point.check(w, what="model parameter"))
    return np.asarray(_MODEL_MODULES[spec.model].logits_ref(spec, params, np.asarray(X)))


def predict_ref(spec: StatementSpec, w, X) -> np.ndarray:
    """Class predictions: argmax of the logits (first on ties), or logit >= 0 when binary."""
    z = logits_ref(spec, w, X)
    if spec.n_outputs == 1:
        return (z[:, 0] >= 0).astype(np.int64)
    return np.argmax(z.astype(np.float64) if z.dtype == object else z, axis=1)


def update_ref(spec: StatementSpec, w, X, labels) -> np.ndarray:
    """u = F(w, X, Y): the fixed-point update the statement proves (int64, f fractional
    bits).  Raises FixedPointRangeError when some value leaves its range and NormBoundError
    when ||u|| > B: in both cases no proof exists."""
    fmt = spec.fixed_point
    X, Y = check_batch(spec, X, labels)
    params = unflatten(spec, fmt.check(w, what="model parameter"))
    grads = _MODEL_MODULES[spec.model].gradient_ref(spec, params, X, Y)
    c, c_bits = spec.step_constant()
    parts = []
    for name, _ in spec.param_shapes():
        G, g_bits = grads[name]
        step = floor_shift(-c * np.asarray(G, dtype=object), g_bits + c_bits - fmt.frac_bits)
        parts.append(fmt.check(step, what=f"update of {name}").reshape(-1))
    u = np.concatenate(parts)
    norm_sq = int(np.sum(u.astype(object) ** 2))
    if norm_sq > spec.norm_bound_sq():
        raise NormBoundError(f"||u|| = {math.sqrt(norm_sq) / fmt.one:.6g} exceeds the bound "
                             f"B = {spec.norm_bound:.6g}")
    return u


# --- the circuit ---------------------------------------------------------------------------

def _nested(flat_vars, shape):
    if len(shape) == 1:
        return list(flat_vars)
    cols = shape[1]
    return [list(flat_vars[r * cols:(r + 1) * cols]) for r in range(shape[0])]


def _flat(nested):
    return [v for row in nested for v in row] if nested and isinstance(nested[0], list) else list(nested)


def build_circuit(spec: StatementSpec, cs: ConstraintSystem = None) -> ConstraintSystem:
    """The statement's constraint system (not compiled)."""
    cs = cs or ConstraintSystem()
    fmt, K, D, B = spec.fixed_point, spec.n_outputs, spec.n_features, spec.batch_size
    cs.public_input("round")
    cs.public_input("node")
    commitment = cs.public_input("commitment") if spec.data_binding else None
    w_vars = cs.public_inputs("w", spec.n_params)
    u_vars = cs.public_inputs("u", spec.n_params)
    x_vars = cs.private_inputs("x", B * D)
    y_vars = cs.private_inputs("y", B * K)
    X = [x_vars[b * D:(b + 1) * D] for b in range(B)]
    Y = [y_vars[b * K:(b + 1) * K] for b in range(B)]

    feature_bits = []
    with cs.scope("inputs"):
        for b in range(B):
            with cs.scope(f"sample {b}"):
                feature_bits.append([in_range(cs, X[b][j], spec.features.lo, spec.features.hi,
                                              label=f"feature {j}") for j in range(D)])
                for k in range(K):
                    cs.assert_boolean(Y[b][k], label=f"label {k} is 0 or 1")
                if K > 1:
                    cs.assert_equal(cs.sum(Y[b]), 1, label="one class")
    if spec.data_binding:
        with cs.scope("binding"):
            bind_samples(cs, spec, feature_bits, Y, commitment)

    params, at = {}, 0
    for name, shape in spec.param_shapes():
        size = math.prod(shape)
        params[name] = _nested(w_vars[at:at + size], shape)
        at += size
    grads = _MODEL_MODULES[spec.model].gradient_circuit(cs, spec, params, X, Y)

    # u = floor(-c G / 2^shift) by its remainder.  The quotient's range check and the norm
    # bound stay in the circuit unless the verifier checks them on the public u itself
    # (spec.verifier_checks_update, `NodeStatement.check_update`): with |u| < 2^(T-1) known
    # to the verifier, x - u 2^shift in [0, 2^shift) still has the one solution
    # u = floor(x / 2^shift): x is a sum of products of range-checked values, a few dozen
    # bits, so nothing wraps around r.
    in_circuit = not spec.verifier_checks_update
    bound_sq = spec.norm_bound_sq()         # ValueError for a bound beyond Fr, in either mode
    c, c_bits = spec.step_constant()
    with cs.scope("update"):
        at = 0
        for name, shape in spec.param_shapes():
            G, g_bits = grads[name]
            for j, g in enumerate(_flat(G)):
                truncate(cs, -c * g, g_bits + c_bits - fmt.frac_bits, fmt, out=u_vars[at + j],
                         check_output=in_circuit, label=f"{name}[{j}]")
            at += math.prod(shape)
    if in_circuit:
        norm_bound(cs, u_vars, bound_sq)
    return cs


def constraint_breakdown(descriptions) -> dict:
    """Constraint counts by role, from the descriptions the builder records; also the count of
    constraints that are bit decompositions (range checks), wherever they occur."""
    roles = Counter()
    range_checks = 0
    for d in descriptions:
        parts = d.split("/")
        if any(p.startswith("bit ") and p.endswith("is boolean") for p in parts) or \
                parts[-1] == "bits sum to x":
            range_checks += 1
        if "remainder" in parts or any(p.endswith("quotient range") for p in parts):
            roles["truncation"] += 1
        elif parts[0] == "inputs":
            roles["input validity"] += 1
        elif parts[0] == "binding":
            roles["data binding"] += 1
        elif any(p.startswith("sigmoid") for p in parts):
            roles["sigmoid"] += 1
        elif any(p.startswith("relu") for p in parts):
            roles["relu"] += 1
        elif parts[0] == "norm bound":
            roles["norm bound"] += 1
        else:
            roles["products"] += 1
    out = dict(roles)
    out["range checks (bit decompositions)"] = range_checks
    return out


class NodeStatement:
    """A compiled node statement: its R1CS, witness solver, reference and public signals."""

    def __init__(self, spec: StatementSpec):
        self.spec = spec
        cs = build_circuit(spec)
        self.r1cs, self.solver = cs.compile()
        self.breakdown = constraint_breakdown(cs.descriptions)

    @property
    def n_constraints(self) -> int:
        return self.r1cs.n_constraints

    @property
    def update_positions(self) -> list:
        """Where the update u sits in the public signals (the last n_params): the positions a
        private-mode proof commits to instead of showing (`hpc_zkfl.groth16.committed`)."""
        n = self.r1cs.n_public
        return list(range(n - self.spec.n_params, n))

    def check_update(self, u):
        """The verifier's part of the statement when `spec.verifier_checks_update`: None when
        u (int64, f fractional bits) lies in the fixed-point range and ||u|| <= B, else why
        not.  A proof for an update that fails this proves nothing: the circuit then leaves
        these two checks to whoever verifies it (the root does, before any pairing)."""
        fmt = self.spec.fixed_point
        u = np.asarray(u)
        if u.shape != (self.spec.n_params,):
            return f"an update of shape {u.shape}, expected ({self.spec.n_params},)"
        values = [int(v) for v in u]
        bad = [j for j, v in enumerate(values) if not fmt.lo <= v <= fmt.hi]
        if bad:
            return f"update entry {bad[0]} lies outside the fixed-point range"
        if sum(v * v for v in values) > self.spec.norm_bound_sq():
            return f"||u|| exceeds the norm bound B = {self.spec.norm_bound:g}"
        return None

    def public_signals(self, round_index: int, node_id: int, w, u, commitment=None) -> list:
        """The public signals as the verifier sees them (ints mod r, in wire order)."""
        values = [round_index, node_id]
        if self.spec.data_binding:
            if commitment is None:
                raise ValueError("data binding is on: the dataset commitment is a public input")
            values.append(commitment)
        elif commitment is not None:
            raise ValueError("data binding is off: there is no commitment to bind")
        for name, vec in (("w", w), ("u", u)):
            vec = np.asarray(vec)
            if vec.shape != (self.spec.n_params,):
                raise ValueError(f"{name} must have {self.spec.n_params} entries, got {vec.shape}")
            values.extend(int(v) for v in vec)
        return [v % R for v in values]

    def witness(self, round_index: int, node_id: int, w, X, labels, binding=None):
        """(u, Witness): the reference update and the witness proving it.  `binding` (data
        binding only) is the node's `DatasetTree` and the batch's dataset indices."""
        u = update_ref(self.spec, w, X, labels)
        X, Y = check_batch(self.spec, X, labels)
        public = {"round": round_index, "node": node_id, "w": [int(v) for v in w],
                  "u": [int(v) for v in u]}
        private = {"x": [int(v) for v in X.reshape(-1)], "y": [int(v) for v in Y.reshape(-1)]}
        if self.spec.data_binding:
            commitment, extra = binding_inputs(self.spec, binding, X, labels)
            public["commitment"] = commitment
            private.update(extra)
        elif binding is not None:
            raise ValueError("data binding is off: no Merkle paths are needed")
        return u, self.solver.solve(public, private)


__all__ = ["NodeStatement", "NormBoundError", "build_circuit", "check_batch", "constraint_breakdown",
           "flatten", "logits_ref", "one_hot", "predict_ref", "unflatten", "update_ref"]
