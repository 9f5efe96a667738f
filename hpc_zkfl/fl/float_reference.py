"""The float yardstick: the node statement's models, loss and SGD step in torch floating point.

The fixed-point node statement (hpc_zkfl.models) computes one SGD step in integers; this module
computes the same step in float (float32 by default) with torch autograd, so the two can be
compared and so a fixed-point FL run has a float FedAvg run to be measured against.

Models (K outputs; K = 1 for binary data, else K = n_classes; d features; H hidden units):

- ``"logistic"`` (binary only): {"W": (1, d), "b": (1,)};  z = W x + b
- ``"ovr"`` (one-vs-rest):      {"W": (K, d), "b": (K,)};  z = W x + b
- ``"mlp"``:                    {"W1": (H, d), "b1": (H,), "W2": (K, H), "b2": (K,)};
                                h = relu(W1 x + b1);  z = W2 h + b2

Loss, for every model: the mean over the batch of the sum over outputs k of the binary cross
entropy with logits between z_k and the one-hot target t_k (for K = 1, t = y in {0, 1}).  Its
gradient with respect to z is (sigmoid(z) - t) / B.  Prediction: argmax_k z_k (K > 1), z >= 0
(K = 1).

ReLU derivative: the fixed-point side takes the ReLU mask as [pre-activation >= 0], i.e.
derivative 1 at exactly 0.  torch.relu's backward gives 0 there, so the float side writes ReLU as
where(pre >= 0, pre, 0), whose autograd derivative is that same mask.  (The choice only matters
at exact zeros, which on the integer grid do happen.)

Parameters are dicts of numpy arrays; flattened (`flatten_params`) in the key order above.
FedAvg follows McMahan et al. 2017 with one local SGD step per round.
"""
import numpy as np
import torch
import torch.nn.functional as F

from hpc_zkfl.models.spec import MODEL_NAMES, n_outputs, param_shapes

from .aggregation import fedavg
from .data import Dataset, sample_batch

__all__ = [
    "MODELS",
    "accuracy",
    "batch_loss",
    "flatten_params",
    "float_update",
    "init_params",
    "n_outputs",
    "param_shapes",
    "predict",
    "run_float_fedavg",
    "unflatten_params",
]

MODELS = MODEL_NAMES


def _shapes(model: str, n_features: int, n_classes: int, hidden) -> dict:
    return dict(param_shapes(model, n_features, n_classes, hidden or 0))


def init_params(model: str, n_features: int, n_classes: int, hidden: int | None = None,
                seed: int = 0) -> dict:
    """Weights uniform in [-1/sqrt(fan_in), 1/sqrt(fan_in)] (torch.nn.Linear's default range),
    zero biases, as float64 arrays; deterministic from the seed."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x1417]))
    params = {}
    for name, shape in _shapes(model, n_features, n_classes, hidden).items():
        if len(shape) == 2:
            bound = 1.0 / np.sqrt(shape[1])
            params[name] = rng.uniform(-bound, bound, size=shape)
        else:
            params[name] = np.zeros(shape, dtype=np.float64)
    return params


def _keys(model: str, params) -> tuple:
    keys = tuple(name for name, _ in param_shapes(model, 1, 2 if model == "logistic" else 3, 1))
    if set(params) != set(keys):
        raise ValueError(f"{model} parameters are {list(keys)}, got {list(params)}")
    return keys


def flatten_params(model: str, params) -> np.ndarray:
    """One float64 vector, the arrays raveled in the model's key order."""
    return np.concatenate([np.asarray(params[k], dtype=np.float64).ravel()
                           for k in _keys(model, params)])


def unflatten_params(model: str, flat, like) -> dict:
    """The inverse of flatten_params, with the shapes of the parameter dict `like`."""
    flat = np.asarray(flat)
    out, at = {}, 0
    for k in _keys(model, like):
        shape = np.shape(like[k])
        size = int(np.prod(shape))
        out[k] = flat[at:at + size].reshape(shape)
        at += size
    if at != flat.size:
        raise ValueError(f"flat vector has {flat.size} entries, the parameters {at}")
    return out


def _dtype(dtype) -> torch.dtype:
    if isinstance(dtype, torch.dtype):
        return dtype
    if isinstance(dtype, str) and isinstance(getattr(torch, dtype, None), torch.dtype):
        return getattr(torch, dtype)
    raise ValueError(f"not a torch dtype: {dtype!r}")


def _relu(pre: torch.Tensor) -> torch.Tensor:
    # Derivative 1 at pre == 0 (mask pre >= 0), matching the fixed-point statement.
    return torch.where(pre >= 0, pre, torch.zeros_like(pre))


def _forward(model: str, p: dict, X: torch.Tensor) -> torch.Tensor:
    """Logits z, shape (B, K)."""
    if model == "mlp":
        h = _relu(X @ p["W1"].T + p["b1"])
        return h @ p["W2"].T + p["b2"]
    return X @ p["W"].T + p["b"]


def _tensors(model, params, X, dtype, requires_grad=False):
    keys = _keys(model, params)
    t = _dtype(dtype)
    p = {k: torch.tensor(np.asarray(params[k]), dtype=t, requires_grad=requires_grad)
         for k in keys}
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"X must be (batch, features), got shape {X.shape}")
    d = p["W1" if model == "mlp" else "W"].shape[1]
    if X.shape[1] != d:
        raise ValueError(f"X has {X.shape[1]} features, the parameters expect {d}")
    return keys, p, torch.tensor(X, dtype=t)


def _targets(y, n_batch: int, K: int, dtype) -> torch.Tensor:
    y = np.asarray(y)
    if y.shape != (n_batch,):
        raise ValueError(f"y must have shape ({n_batch},), got {y.shape}")
    if y.size and (y.min() < 0 or y.max() >= max(K, 2)):
        raise ValueError(f"labels must lie in 0..{max(K, 2) - 1}")
    y = torch.as_tensor(y.astype(np.int64))
    if K == 1:
        return y.to(dtype).reshape(-1, 1)
    return F.one_hot(y, K).to(dtype)


def batch_loss(model: str, params, X, y, dtype="float32") -> float:
    """The batch loss (mean over samples of the summed per-output BCE with logits)."""
    _, p, Xt = _tensors(model, params, X, dtype)
    with torch.no_grad():
        z = _forward(model, p, Xt)
        t = _targets(y, len(Xt), z.shape[1], z.dtype)
        return float(F.binary_cross_entropy_with_logits(z, t, reduction="sum") / len(Xt))


def float_update(model: str, params, X, y, lr: float, dtype="float32") -> dict:
    """One SGD step on the batch: u = -lr * grad loss(params; X, y), by torch autograd.

    X are float features (the dataset's X / 2^q), y integer labels.  Computed in `dtype`
    (a torch dtype or its name); returned as numpy arrays of that precision, keyed like params.
    """
    keys, p, Xt = _tensors(model, params, X, dtype, requires_grad=True)
    if len(Xt) == 0:
        raise ValueError("empty batch")
    z = _forward(model, p, Xt)
    t = _targets(y, len(Xt), z.shape[1], z.dtype)
    value = F.binary_cross_entropy_with_logits(z, t, reduction="sum") / len(Xt)
    grads = torch.autograd.grad(value, [p[k] for k in keys])
    return {k: (-lr * g).detach().numpy() for k, g in zip(keys, grads)}


def predict(model: str, params, X, dtype="float32") -> np.ndarray:
    """Predicted labels (int64): argmax_k z_k, or z >= 0 for a single output."""
    _, p, Xt = _tensors(model, params, X, dtype)
    with torch.no_grad():
        z = _forward(model, p, Xt)
    if z.shape[1] == 1:
        return (z[:, 0] >= 0).numpy().astype(np.int64)
    return z.argmax(dim=1).numpy().astype(np.int64)


def accuracy(model: str, params, X, y, dtype="float32") -> float:
    """Fraction of rows whose predicted label equals y."""
    y = np.asarray(y)
    if len(y) == 0:
        raise ValueError("no samples to score")
    return float(np.mean(predict(model, params, X, dtype) == y))


def run_float_fedavg(dataset: Dataset, partition, model: str, params0, rounds: int,
                     batch_size: int, lr: float, seed: int, eval_every: int = 1,
                     dtype="float32") -> dict:
    """Float FedAvg with one local SGD step per node per round.

    Rounds are numbered t = 1 .. rounds (as the node statement's public round number).  In round
    t node i takes the batch sample_batch(partition[i], batch_size, seed, t, i) of the training
    set, computes float_update, and the server adds fedavg of the updates weighted by
    len(partition[i]).  The server's parameters stay in float64; each step is computed in dtype.

    Returns {"rounds": int64 array of round numbers evaluated (0 = before training, then every
    eval_every rounds and always the last), "test_accuracy": float64 array, "params": the final
    parameters (float64 arrays)}.
    """
    if rounds < 0 or batch_size < 1 or eval_every < 1:
        raise ValueError(f"need rounds >= 0, batch_size >= 1, eval_every >= 1; got {rounds}, "
                         f"{batch_size}, {eval_every}")
    partition = [np.asarray(part, dtype=np.int64) for part in partition]
    if not partition:
        raise ValueError("the partition has no nodes")
    keys = _keys(model, params0)
    K = np.shape(params0["b2" if model == "mlp" else "b"])[0]
    if K != n_outputs(dataset.n_classes):
        raise ValueError(f"the parameters have {K} outputs; {dataset.name} needs "
                         f"{n_outputs(dataset.n_classes)}")
    X_train, X_test = dataset.X_train_float, dataset.X_test_float
    params = {k: np.array(params0[k], dtype=np.float64) for k in keys}
    weights = [len(part) for part in partition]

    evaluated = [0]
    acc = [accuracy(model, params, X_test, dataset.y_test, dtype)]
    for t in range(1, rounds + 1):
        updates = []
        for i, part in enumerate(partition):
            rows = sample_batch(part, batch_size, seed, t, i)
            updates.append(float_update(model, params, X_train[rows], dataset.y_train[rows],
                                        lr, dtype))
        step = fedavg(updates, weights)
        for k in keys:
            params[k] += step[k]
        if t % eval_every == 0 or t == rounds:
            evaluated.append(t)
            acc.append(accuracy(model, params, X_test, dataset.y_test, dtype))
    return {"rounds": np.asarray(evaluated, dtype=np.int64),
            "test_accuracy": np.asarray(acc, dtype=np.float64),
            "params": params}
