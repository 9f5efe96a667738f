"""The node statement: the circuit each federated node proves, and its integer reference.

Public inputs, in this order: round `t`, node id `i`, the dataset commitment `c_i` (with data
binding on), the global model `w_t` (flat, fixed point) and the update `u` (same layout).
Private: the batch (X, Y) and, with data binding, each sample's Merkle path.  The constraints:

1. every feature x in [lo, hi] of the declared grid; every label a valid class (one-hot
   booleans summing to one, or one boolean for binary data);
2. with data binding: every sample is a leaf of the Merkle tree with root c_i (the leaf is
   Poseidon of the sample's packed feature bits and its class, see `sample_leaf`);
3. u = F(w_t, X, Y) bit for bit: u = floor(U / 2^s) for the exact update U = -c * G, G the
   model's exact summed loss gradient and c / 2^s' = learning_rate / batch_size
   (`StatementSpec.step_constant`; s per parameter, `update_shifts`);
4. ||u||^2 <= B^2.

Where the update is public (`StatementSpec.verifier_checks_update`, public mode) the public
input is the exact U, not u: the circuit proves U = -c G with linear checks only (one a
parameter, or one a column and pack of rows, `linear.exact_update_circuit`) and the verifier
derives u = floor(U / 2^s) itself.  A node sends u and its low bits
rho = U - 2^s u; the verifier checks 0 <= rho < 2^s, u's fixed-point range and ||u|| <= B on
the values it holds (`NodeStatement.check_update`) and forms U = 2^s u + rho for the
pairing.  Sound because U is a sum of products of range-checked values (well below r / 2),
so U = -c G holds over the integers, and (u, rho) with rho in [0, 2^s) is the one
decomposition of U, u = floor(-c G / 2^s) exactly as with the truncation in the circuit,
whose 2^s remainder range check and quotient range check per parameter are no longer needed.
Committed updates (two aggregators) keep u as the public input, with both range checks and
the norm bound in the circuit.

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
from hpc_zkfl.circuit.fixedpoint import (FixedPointRangeError, check_range, floor_shift,
                                         from_field, in_range, norm_bound, truncate)

from . import linear, mlp
from .binding import bind_samples, binding_inputs
from .spec import StatementSpec

_MODEL_MODULES = {"logistic": linear, "ovr": linear, "mlp": mlp}

# The low bits rho of an exact update travel as int64 (`NodeMessage.update_low`).
MAX_UPDATE_SHIFT = 62


class NormBoundError(FixedPointRangeError):
    """The update's norm exceeds the statement's bound B: no proof can exist."""


def update_shifts(spec: StatementSpec) -> np.ndarray:
    """s per parameter (flat layout): u = floor(U / 2^s) for the exact update U = -c G, G
    with the model's gradient fractional bits, c with `step_constant`'s."""
    g_bits = _MODEL_MODULES[spec.model].gradient_frac_bits(spec)
    _, c_bits = spec.step_constant()
    return np.concatenate([np.full(math.prod(shape), g_bits[name] + c_bits -
                                   spec.fixed_point.frac_bits, dtype=np.int64)
                           for name, shape in spec.param_shapes()])


def check_update_shift(spec: StatementSpec) -> None:
    """ValueError when the update is public and its low bits would not fit an int64."""
    if not spec.verifier_checks_update:
        return
    shift = int(update_shifts(spec).max())
    if shift > MAX_UPDATE_SHIFT:
        ratio = spec.learning_rate / spec.batch_size
        raise ValueError(f"learning_rate / batch_size = {ratio:g} puts the exact update "
                         f"{shift} bits below u, more than the "
                         f"{MAX_UPDATE_SHIFT} its low bits travel in; raise the learning rate")


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


def exact_update_ref(spec: StatementSpec, w, X, labels) -> tuple:
    """(u, rho): the update u of `update_ref` and the low bits rho = U - 2^s u in [0, 2^s) of
    the exact update U = -c G (int64 each; s from `update_shifts`)."""
    fmt = spec.fixed_point
    X, Y = check_batch(spec, X, labels)
    params = unflatten(spec, fmt.check(w, what="model parameter"))
    grads = _MODEL_MODULES[spec.model].gradient_ref(spec, params, X, Y)
    c, c_bits = spec.step_constant()
    parts, lows, widest = [], [], 0
    for name, _ in spec.param_shapes():
        G, g_bits = grads[name]
        shift = g_bits + c_bits - fmt.frac_bits
        widest = max(widest, shift)
        exact = -c * np.asarray(G, dtype=object).reshape(-1)
        step = floor_shift(exact, shift)
        parts.append(fmt.check(step, what=f"update of {name}"))
        lows.append(exact - (step << shift))
    u = np.concatenate(parts)
    norm_sq = int(np.sum(u.astype(object) ** 2))
    if norm_sq > spec.norm_bound_sq():
        raise NormBoundError(f"||u|| = {math.sqrt(norm_sq) / fmt.one:.6g} exceeds the bound "
                             f"B = {spec.norm_bound:.6g}")
    low = np.concatenate(lows)
    return u, (low.astype(np.int64) if widest <= MAX_UPDATE_SHIFT else low)


def update_ref(spec: StatementSpec, w, X, labels) -> np.ndarray:
    """u = F(w, X, Y): the fixed-point update the statement proves (int64, f fractional
    bits).  Raises FixedPointRangeError when some value leaves its range and NormBoundError
    when ||u|| > B: in both cases no proof exists."""
    return exact_update_ref(spec, w, X, labels)[0]


# --- the circuit ---------------------------------------------------------------------------

def _nested(flat_vars, shape):
    if len(shape) == 1:
        return list(flat_vars)
    cols = shape[1]
    return [list(flat_vars[r * cols:(r + 1) * cols]) for r in range(shape[0])]


def _shaped(spec, flat_vars) -> dict:
    """{name: nested lists of wires} of a flat parameter-layout vector of wires."""
    out, at = {}, 0
    for name, shape in spec.param_shapes():
        size = math.prod(shape)
        out[name] = _nested(flat_vars[at:at + size], shape)
        at += size
    return out


def _flat(nested):
    return [v for row in nested for v in row] if nested and isinstance(nested[0], list) else list(nested)


def build_circuit(spec: StatementSpec, cs: ConstraintSystem = None) -> ConstraintSystem:
    """The statement's constraint system (not compiled)."""
    cs = cs or ConstraintSystem()
    check_update_shift(spec)
    fmt, K, D, B = spec.fixed_point, spec.n_outputs, spec.n_features, spec.batch_size
    cs.public_input("round")
    cs.public_input("node")
    commitment = cs.public_input("commitment") if spec.data_binding else None
    w_vars = cs.public_inputs("w", spec.n_params)
    u_vars = cs.public_inputs("u_exact" if spec.verifier_checks_update else "u", spec.n_params)
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

    params = _shaped(spec, w_vars)
    module = _MODEL_MODULES[spec.model]
    # Committed u (two aggregators): u = floor(-c G / 2^shift) by its remainder, the quotient's
    # range check and the norm bound.  Public U (spec.verifier_checks_update): U = -c G, linear
    # constraints only; the verifier derives u and checks the rest (module docstring).
    exact = spec.verifier_checks_update
    bound_sq = spec.norm_bound_sq()         # ValueError for a bound beyond Fr, in either mode
    c, c_bits = spec.step_constant()
    if exact and hasattr(module, "exact_update_circuit"):
        module.exact_update_circuit(cs, spec, params, X, Y, _shaped(spec, u_vars), c)
        return cs
    grads = module.gradient_circuit(cs, spec, params, X, Y)
    with cs.scope("update"):
        at = 0
        for name, shape in spec.param_shapes():
            G, g_bits = grads[name]
            for j, g in enumerate(_flat(G)):
                if exact:
                    cs.assert_equal(u_vars[at + j], -c * g, label=f"{name}[{j}] exact")
                else:
                    truncate(cs, -c * g, g_bits + c_bits - fmt.frac_bits, fmt,
                             out=u_vars[at + j], label=f"{name}[{j}]")
            at += math.prod(shape)
    if not exact:
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
        if any(p.split(" ")[0] == "remainder" or p.endswith("quotient range") for p in parts):
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
        elif parts[0] == "update":
            roles["exact update"] += 1
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
        self._shifts = update_shifts(spec)

    @property
    def n_constraints(self) -> int:
        return self.r1cs.n_constraints

    @property
    def update_positions(self) -> list:
        """Where the update u sits in the public signals (the last n_params): the positions a
        private-mode proof commits to instead of showing (`hpc_zkfl.groth16.committed`)."""
        n = self.r1cs.n_public
        return list(range(n - self.spec.n_params, n))

    @property
    def update_shifts(self) -> np.ndarray:
        """s per parameter: u = floor(U / 2^s) for the exact update U (`update_shifts`)."""
        return self._shifts

    def check_update(self, u, low=None):
        """The verifier's part of the statement when `spec.verifier_checks_update`: None when
        u (int64, f fractional bits) lies in the fixed-point range, ||u|| <= B and its low
        bits `low` (int64) lie in [0, 2^s), else why not.  A proof for an update that fails
        this proves nothing: the circuit leaves these checks to whoever verifies it (the root
        does, before any pairing)."""
        fmt, n = self.spec.fixed_point, self.spec.n_params
        u = np.asarray(u)
        if u.shape != (n,):
            return f"an update of shape {u.shape}, expected ({n},)"
        if low is None or not isinstance(low, np.ndarray) or low.shape != (n,) or \
                low.dtype != np.int64:
            return f"no int64 low bits of shape ({n},) for the exact update"
        bad = np.flatnonzero((low < 0) | (np.right_shift(low, self._shifts) != 0))
        if bad.size:
            j = int(bad[0])
            return f"low bits of update entry {j} outside [0, 2^{int(self._shifts[j])})"
        values = [int(v) for v in u]
        bad = [j for j, v in enumerate(values) if not fmt.lo <= v <= fmt.hi]
        if bad:
            return f"update entry {bad[0]} lies outside the fixed-point range"
        if sum(v * v for v in values) > self.spec.norm_bound_sq():
            return f"||u|| exceeds the norm bound B = {self.spec.norm_bound:g}"
        return None

    def update_low(self, wit) -> np.ndarray:
        """rho = U - 2^s u (int64) read from a witness's public signals, for the node to send
        beside u; None when the public input is u itself (committed updates)."""
        if not self.spec.verifier_checks_update:
            return None
        exact = [from_field(v) for v in wit.public_signals[-self.spec.n_params:]]
        return np.array([v & ((1 << int(s)) - 1) for v, s in zip(exact, self._shifts)],
                        dtype=np.int64)

    def _exact(self, u, low) -> list:
        """U = 2^s u + low, entry by entry, as Python ints."""
        return [(int(v) << int(s)) + int(r)
                for v, s, r in zip(np.asarray(u), self._shifts, np.asarray(low))]

    def public_signals(self, round_index: int, node_id: int, w, u, commitment=None,
                       low=None) -> list:
        """The public signals as the verifier sees them (ints mod r, in wire order).  Where
        the update is public (`spec.verifier_checks_update`) `low` holds its low bits and the
        signals hold U = 2^s u + low (check them first with `check_update`)."""
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
        values.extend(int(v) for v in np.asarray(w))
        if self.spec.verifier_checks_update:
            if low is None or np.shape(low) != (self.spec.n_params,):
                raise ValueError(f"the exact update needs {self.spec.n_params} low bits")
            values.extend(self._exact(u, low))
        elif low is not None:
            raise ValueError("a committed update has no low bits")
        else:
            values.extend(int(v) for v in np.asarray(u))
        return [v % R for v in values]

    def witness(self, round_index: int, node_id: int, w, X, labels, binding=None):
        """(u, Witness): the reference update and the witness proving it.  `binding` (data
        binding only) is the node's `DatasetTree` and the batch's dataset indices.  Where the
        update is public the witness shows the exact U (`update_low` gives its low bits)."""
        u, low = exact_update_ref(self.spec, w, X, labels)
        X, Y = check_batch(self.spec, X, labels)
        public = {"round": round_index, "node": node_id, "w": [int(v) for v in w]}
        if self.spec.verifier_checks_update:
            public["u_exact"] = self._exact(u, low)
        else:
            public["u"] = [int(v) for v in u]
        private = {"x": [int(v) for v in X.reshape(-1)], "y": [int(v) for v in Y.reshape(-1)]}
        if self.spec.data_binding:
            commitment, extra = binding_inputs(self.spec, binding, X, labels)
            public["commitment"] = commitment
            private.update(extra)
        elif binding is not None:
            raise ValueError("data binding is off: no Merkle paths are needed")
        return u, self.solver.solve(public, private)


__all__ = ["MAX_UPDATE_SHIFT", "NodeStatement", "NormBoundError", "build_circuit", "check_batch",
           "check_update_shift", "constraint_breakdown", "exact_update_ref", "flatten", "logits_ref", "one_hot",
           "predict_ref", "unflatten", "update_ref", "update_shifts"]
