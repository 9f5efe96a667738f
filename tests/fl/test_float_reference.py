"""The float torch yardstick: autograd against closed forms and hand backprop, and float FedAvg."""
import numpy as np
import pytest
import torch

from hpc_zkfl.fl import (
    accuracy,
    batch_loss,
    fedavg,
    flatten_params,
    float_update,
    init_params,
    load_dataset,
    partition_dirichlet,
    partition_iid,
    predict,
    run_float_fedavg,
    sample_batch,
    unflatten_params,
)


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def targets(y, K):
    return y.reshape(-1, 1).astype(np.float64) if K == 1 else np.eye(K)[y]


def random_batch(np_rng, B, d, K):
    X = np_rng.integers(-64, 64, size=(B, d)) / 16.0     # on a q = 4 grid, like the datasets
    y = np_rng.integers(0, max(K, 2), size=B)
    return X, y


@pytest.fixture
def np_rng(rng):
    return np.random.default_rng(rng.randrange(2**32))


@pytest.mark.parametrize("model,K", [("logistic", 1), ("ovr", 1), ("ovr", 10)])
def test_linear_update_closed_form(model, K, np_rng):
    d, B, lr = 7, 13, 0.3
    params = init_params(model, d, 2 if K == 1 else K, seed=int(np_rng.integers(1000)))
    params["b"] = np_rng.normal(size=K)
    X, y = random_batch(np_rng, B, d, K)
    u = float_update(model, params, X, y, lr, dtype=torch.float64)
    r = sigmoid(X @ params["W"].T + params["b"]) - targets(y, K)     # (B, K)
    assert np.allclose(u["W"], -lr * r.T @ X / B, rtol=1e-12, atol=1e-14)
    assert np.allclose(u["b"], -lr * r.mean(axis=0), rtol=1e-12, atol=1e-14)
    # float32 (the default) agrees to its precision
    u32 = float_update(model, params, X, y, lr)
    assert u32["W"].dtype == np.float32
    assert np.allclose(u32["W"], u["W"], rtol=1e-4, atol=1e-6)


def mlp_backprop(p, X, y, lr):
    """Hand-written backprop in float64 with the ReLU mask pre >= 0."""
    B = len(X)
    pre = X @ p["W1"].T + p["b1"]
    mask = (pre >= 0).astype(np.float64)
    h = pre * mask
    z = h @ p["W2"].T + p["b2"]
    g_z = (sigmoid(z) - targets(y, z.shape[1])) / B
    g_pre = (g_z @ p["W2"]) * mask
    return {"W1": -lr * g_pre.T @ X, "b1": -lr * g_pre.sum(axis=0),
            "W2": -lr * g_z.T @ h, "b2": -lr * g_z.sum(axis=0)}


@pytest.mark.parametrize("K", [1, 4])
def test_mlp_update_hand_backprop(K, np_rng):
    d, H, B, lr = 6, 5, 11, 0.7
    params = init_params("mlp", d, 2 if K == 1 else K, hidden=H, seed=3)
    params["b1"] = np_rng.normal(size=H) * 0.3
    params["b2"] = np_rng.normal(size=K)
    # hidden unit 0 has pre-activation exactly 0 on every sample: the ReLU convention matters
    params["W1"][0] = 0.0
    params["b1"][0] = 0.0
    X, y = random_batch(np_rng, B, d, K)
    u = float_update("mlp", params, X, y, lr, dtype="float64")
    want = mlp_backprop(params, X, y, lr)
    assert list(u) == ["W1", "b1", "W2", "b2"]
    for k in want:
        assert np.allclose(u[k], want[k], rtol=1e-12, atol=1e-14), k
    assert np.abs(u["W1"][0]).max() > 0 and u["b1"][0] != 0     # derivative 1 at exactly 0


def test_torch_relu_convention_differs():
    """Why the float side does not call torch.relu: its derivative at 0 is 0, not 1."""
    x = torch.zeros(3, dtype=torch.float64, requires_grad=True)
    torch.relu(x).sum().backward()
    assert x.grad.tolist() == [0.0, 0.0, 0.0]


def test_loss_matches_closed_form(np_rng):
    params = init_params("ovr", 5, 3, seed=1)
    X, y = random_batch(np_rng, 9, 5, 3)
    z = X @ params["W"].T + params["b"]
    t = targets(y, 3)
    want = np.mean(np.sum(np.logaddexp(0, z) - t * z, axis=1))
    assert np.isclose(batch_loss("ovr", params, X, y, dtype="float64"), want, rtol=1e-12)


def test_predict_and_accuracy():
    params = {"W": np.zeros((1, 2)), "b": np.zeros(1)}
    X = np.array([[1.0, 2.0], [-3.0, 0.5]])
    assert predict("logistic", params, X).tolist() == [1, 1]            # z = 0 predicts 1
    params = {"W": np.array([[1.0, 0.0]]), "b": np.array([-0.5])}
    assert predict("logistic", params, X).tolist() == [1, 0]
    assert accuracy("logistic", params, X, np.array([1, 1])) == 0.5
    params = {"W": np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]]), "b": np.zeros(3)}
    assert predict("ovr", params, X).tolist() == [1, 2]
    params = {"W1": np.eye(2), "b1": np.zeros(2), "W2": np.array([[1.0, -1.0]]),
              "b2": np.zeros(1)}
    assert predict("mlp", params, X).tolist() == [0, 0]                  # h = relu(x)


def test_init_and_flatten():
    p = init_params("mlp", 64, 10, hidden=16, seed=5)
    assert {k: v.shape for k, v in p.items()} == {"W1": (16, 64), "b1": (16,), "W2": (10, 16),
                                                  "b2": (10,)}
    assert all(v.dtype == np.float64 for v in p.values())
    assert np.abs(p["W1"]).max() <= 1 / 8 and np.abs(p["W2"]).max() <= 1 / 4
    assert not p["b1"].any() and not p["b2"].any()
    q = init_params("mlp", 64, 10, hidden=16, seed=5)
    assert all(np.array_equal(p[k], q[k]) for k in p)
    assert not np.array_equal(p["W1"], init_params("mlp", 64, 10, hidden=16, seed=6)["W1"])
    assert init_params("ovr", 30, 2)["W"].shape == (1, 30)               # binary: one output
    flat = flatten_params("mlp", p)
    assert flat.shape == (16 * 64 + 16 + 10 * 16 + 10,)
    assert np.array_equal(flat[:64], p["W1"][0]) and np.array_equal(flat[-10:], p["b2"])
    back = unflatten_params("mlp", flat, p)
    assert all(np.array_equal(back[k], p[k]) for k in p)


def test_errors():
    p = init_params("ovr", 4, 3)
    X, y = np.zeros((2, 4)), np.array([0, 2])
    with pytest.raises(ValueError, match="unknown model"):
        init_params("svm", 4, 3)
    with pytest.raises(ValueError, match="binary"):
        init_params("logistic", 4, 3)
    with pytest.raises(ValueError, match="hidden"):
        init_params("mlp", 4, 3)
    with pytest.raises(ValueError, match="parameters are"):
        float_update("mlp", p, X, y, 0.1)
    with pytest.raises(ValueError, match="features"):
        float_update("ovr", p, np.zeros((2, 5)), y, 0.1)
    with pytest.raises(ValueError, match="labels"):
        float_update("ovr", p, X, np.array([0, 3]), 0.1)
    with pytest.raises(ValueError, match="shape"):
        float_update("ovr", p, X, np.array([0]), 0.1)
    with pytest.raises(ValueError, match="torch dtype"):
        float_update("ovr", p, X, y, 0.1, dtype="double precision")


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", seed=11)


def test_run_float_fedavg_matches_hand_loop(digits):
    """Two rounds by hand on an uneven partition: the weights are the node dataset sizes."""
    part = partition_dirichlet(digits.y_train, 4, 0.5, seed=2)
    p0 = init_params("ovr", 64, 10, seed=2)
    run = run_float_fedavg(digits, part, "ovr", p0, rounds=2, batch_size=8, lr=0.5, seed=9,
                           dtype="float64")
    params = {k: v.copy() for k, v in p0.items()}
    for t in (1, 2):
        ups = []
        for i, node in enumerate(part):
            rows = sample_batch(node, 8, 9, t, i)
            ups.append(float_update("ovr", params, digits.X_train_float[rows],
                                    digits.y_train[rows], 0.5, dtype="float64"))
        step = fedavg(ups, [len(node) for node in part])
        params = {k: params[k] + step[k] for k in params}
    for k in params:
        assert np.array_equal(run["params"][k], params[k])
    assert run["rounds"].tolist() == [0, 1, 2]
    assert run["test_accuracy"][-1] == accuracy("ovr", params, digits.X_test_float,
                                                digits.y_test, dtype="float64")


def test_float_fedavg_learns_digits(digits, rng):
    """10 IID nodes, one-vs-rest, batch 32, lr 0.5: over seeds 0..7 the accuracy after 30 rounds
    was 0.87..0.92, so 0.8 leaves a wide margin."""
    seed = rng.randrange(2**32)
    part = partition_iid(digits.n_train, 10, seed)
    p0 = init_params("ovr", 64, 10, seed=seed)
    run = run_float_fedavg(digits, part, "ovr", p0, rounds=30, batch_size=32, lr=0.5,
                           seed=seed, eval_every=7)
    assert run["rounds"].tolist() == [0, 7, 14, 21, 28, 30]
    assert run["test_accuracy"][0] < 0.3
    assert run["test_accuracy"][-1] > 0.8
    again = run_float_fedavg(digits, part, "ovr", p0, rounds=30, batch_size=32, lr=0.5,
                             seed=seed, eval_every=7)
    assert np.array_equal(again["test_accuracy"], run["test_accuracy"])


def test_float_fedavg_learns_breast_cancer(rng):
    """Binary logistic regression: over seeds 0..4 the accuracy after 30 rounds was 0.95..0.98."""
    seed = rng.randrange(2**32)
    ds = load_dataset("breast_cancer", seed)
    part = partition_iid(ds.n_train, 5, seed)
    run = run_float_fedavg(ds, part, "logistic", init_params("logistic", 30, 2, seed=seed),
                           rounds=30, batch_size=16, lr=0.1, seed=seed)
    assert run["test_accuracy"][-1] > 0.85
    with pytest.raises(ValueError, match="outputs"):
        run_float_fedavg(ds, part, "ovr", init_params("ovr", 30, 3), 1, 16, 0.1, seed)
