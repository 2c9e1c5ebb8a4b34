"""minigrad.models: TwoLayerNet against the book's hand-written backprop, MultiLayerNet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.models import MultiLayerNet, TwoLayerNet

# ------------------------------------------------------------ the book's backprop, in numpy


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softmax(a):
    a = a - a.max(axis=1, keepdims=True)
    e = np.exp(a)
    return e / e.sum(axis=1, keepdims=True)


def _onehot(t, classes):
    return np.eye(classes)[t] if t.ndim == 1 else t


def chapter4_gradient(params, x, t):
    """Chapter 4's TwoLayerNet.gradient: sigmoid hidden layer, softmax output."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    n = x.shape[0]
    a1 = x @ W1 + b1
    z1 = _sigmoid(a1)
    y = _softmax(z1 @ W2 + b2)
    dy = (y - _onehot(t, y.shape[1])) / n
    da1 = dy @ W2.T
    dz1 = (1.0 - _sigmoid(a1)) * _sigmoid(a1) * da1
    return {"W1": x.T @ dz1, "b1": dz1.sum(axis=0), "W2": z1.T @ dy, "b2": dy.sum(axis=0)}


class Affine:
    def __init__(self, W, b):
        self.W, self.b = W, b

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dout):
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return dout @ self.W.T


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dout = dout.copy()
        dout[self.mask] = 0
        return dout


class SoftmaxWithLoss:
    def forward(self, x, t):
        self.t = _onehot(t, x.shape[1])
        self.y = _softmax(x)
        n = x.shape[0]
        return -np.sum(self.t * np.log(self.y + 1e-7)) / n

    def backward(self):
        return (self.y - self.t) / self.y.shape[0]


def chapter5_gradient(params, x, t):
    """Chapter 5's TwoLayerNet: Affine → Relu → Affine → SoftmaxWithLoss, backward by layers."""
    layers = [Affine(params["W1"], params["b1"]), Relu(), Affine(params["W2"], params["b2"])]
    last = SoftmaxWithLoss()
    h = x
    for layer in layers:
        h = layer.forward(h)
    loss = last.forward(h, t)
    dout = last.backward()
    for layer in reversed(layers):
        dout = layer.backward(dout)
    grads = {"W1": layers[0].dW, "b1": layers[0].db, "W2": layers[2].dW, "b2": layers[2].db}
    return grads, loss


def random_problem(seed, n=8, sizes=(6, 5, 4)):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, sizes[0]))
    t = rng.integers(0, sizes[2], size=n)
    return x, t


# ------------------------------------------------------------ TwoLayerNet gradients

@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("targets", ["labels", "onehot"])
def test_sigmoid_gradient_equals_chapter4_backprop(seed: int, targets: str) -> None:
    x, t = random_problem(seed)
    if targets == "onehot":
        t = np.eye(4)[t]
    net = TwoLayerNet(6, 5, 4, weight_init_std=0.5, rng=seed)
    got = net.gradient(x, t)
    expected = chapter4_gradient(net.params, x, t)
    assert set(got) == {"W1", "b1", "W2", "b2"}
    for key in expected:
        assert got[key].shape == expected[key].shape
        np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-10, err_msg=key)
        assert np.abs(expected[key]).max() > 1e-4           # a meaningful comparison


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("targets", ["labels", "onehot"])
def test_relu_gradient_equals_chapter5_layers(seed: int, targets: str) -> None:
    x, t = random_problem(seed)
    if targets == "onehot":
        t = np.eye(4)[t]
    net = TwoLayerNet(6, 5, 4, weight_init_std=0.5, activation="relu", rng=seed)
    got = net.gradient(x, t)
    expected, book_loss = chapter5_gradient(net.params, x, t)
    for key in expected:
        np.testing.assert_allclose(got[key], expected[key], rtol=0, atol=1e-10, err_msg=key)
    # the fused loss is exact; the book's has 1e-7 inside the log
    hidden = np.maximum(x @ net.params["W1"] + net.params["b1"], 0)
    y = _softmax(hidden @ net.params["W2"] + net.params["b2"])
    exact = -np.mean(np.log(np.sum(y * _onehot(np.asarray(t), 4), axis=1)))
    assert net.loss(x, t).item() == pytest.approx(exact, rel=1e-12)
    assert net.loss(x, t).item() == pytest.approx(book_loss, abs=1e-4)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_numerical_gradient_agrees_with_backprop(activation: str) -> None:
    x, t = random_problem(4, n=4, sizes=(5, 4, 3))
    net = TwoLayerNet(5, 4, 3, weight_init_std=0.3, activation=activation, rng=4)
    if activation == "relu":       # keep hidden inputs away from the kink at 0
        a1 = x @ net.params["W1"]
        assert np.abs(a1).min() > 1e-2
    numerical = net.numerical_gradient(x, t)
    backprop = net.gradient(x, t)
    for key in backprop:
        np.testing.assert_allclose(numerical[key], backprop[key], rtol=0, atol=1e-6,
                                   err_msg=key)
    # numerical_gradient restores every parameter it perturbs
    np.testing.assert_array_equal(net.gradient(x, t)["W1"], backprop["W1"])


def test_gradient_returns_fresh_arrays_and_leaves_grad_alone() -> None:
    x, t = random_problem(4)
    net = TwoLayerNet(6, 5, 4, rng=4)
    g1 = net.gradient(x, t)
    g2 = net.gradient(x, t)
    assert all(p.grad is None for p in net.parameters())
    for key in g1:
        np.testing.assert_array_equal(g1[key], g2[key])        # not accumulated
        assert g1[key] is not g2[key]
    with mg.no_grad():                                         # works inside no_grad too
        g3 = net.gradient(x, t)
    np.testing.assert_array_equal(g3["W2"], g1["W2"])


def test_inputs_may_be_tensors() -> None:
    x, t = random_problem(5)
    net = TwoLayerNet(6, 5, 4, rng=5)
    g_arrays = net.gradient(x, t)
    g_tensors = net.gradient(mg.Tensor(x), mg.Tensor(t))
    for key in g_arrays:
        np.testing.assert_array_equal(g_arrays[key], g_tensors[key])
    assert net.accuracy(mg.Tensor(x), mg.Tensor(t)) == net.accuracy(x, t)


# ------------------------------------------------------------ TwoLayerNet interface

def test_params_dict_shares_memory_with_the_model() -> None:
    x, t = random_problem(6)
    net = TwoLayerNet(6, 5, 4, rng=6)
    assert list(net.params) == ["W1", "b1", "W2", "b2"]
    assert all(p.data is net.params[k]
               for p, k in zip(net.parameters(), net.params, strict=True))
    before = net.predict(x).data.copy()
    net.params["b2"] += 1.0                                 # the book's in-place update
    np.testing.assert_allclose(net.predict(x).data, before + 1.0)
    net.params["W2"] = np.zeros((5, 4))                     # assigning rebinds the Parameter
    np.testing.assert_allclose(net.predict(x).data, np.ones((8, 4)) + net.params["b2"] - 1.0)
    assert net.W2.data is net.params["W2"]
    with pytest.raises(ValueError, match=r"params\['W2'\].*\(3, 3\)"):
        net.params["W2"] = np.zeros((3, 3))
    with pytest.raises(KeyError, match="W3"):
        net.params["W3"] = np.zeros(1)


def test_weight_initialisation_like_the_book() -> None:
    np.random.seed(7)
    net = TwoLayerNet(784, 50, 10)
    np.random.seed(7)
    np.testing.assert_array_equal(net.params["W1"], 0.01 * np.random.randn(784, 50))
    np.testing.assert_array_equal(net.params["W2"], 0.01 * np.random.randn(50, 10))
    assert np.all(net.params["b1"] == 0) and net.params["b2"].shape == (10,)
    with pytest.raises(ValueError, match="activation"):
        TwoLayerNet(2, 2, 2, activation="swish")


def test_accuracy_with_labels_and_onehot() -> None:
    x, t = random_problem(8, n=20)
    net = TwoLayerNet(6, 5, 4, weight_init_std=1.0, rng=8)
    predicted = np.argmax(net.predict(x).data, axis=1)
    expected = float(np.mean(predicted == t))
    assert net.accuracy(x, t) == expected
    assert net.accuracy(x, np.eye(4)[t]) == expected
    assert 0.0 < expected < 1.0


def test_the_books_training_loop_learns_digits() -> None:
    datasets = pytest.importorskip("minigrad.datasets")
    pytest.importorskip("sklearn")
    (x_train, t_train), (x_test, t_test) = datasets.load_digits()
    np.random.seed(0)
    net = TwoLayerNet(64, 30, 10, activation="relu", weight_init_std=0.1)
    for _ in range(300):
        mask = np.random.choice(len(x_train), 50)
        grad = net.gradient(x_train[mask], t_train[mask])
        for key in ("W1", "b1", "W2", "b2"):
            net.params[key] -= 0.1 * grad[key]
    assert net.accuracy(x_test, t_test) > 0.85


def test_optimizers_and_save_load_work_on_the_model(tmp_path: Path) -> None:
    x, t = random_problem(9, n=30)
    net = TwoLayerNet(6, 8, 4, weight_init_std=0.5, rng=9)
    opt = optim.Adam(net.parameters(), lr=0.05)
    first = net.loss(x, t).item()
    for _ in range(50):
        loss = net.loss(x, t)
        net.zero_grad()
        loss.backward()
        opt.step()
    assert net.loss(x, t).item() < 0.5 * first
    path = tmp_path / "net.npz"
    net.save(path)
    other = TwoLayerNet(6, 8, 4, rng=10)
    other.load(path)
    for key in net.params:
        np.testing.assert_array_equal(other.params[key], net.params[key])
        assert other.params[key] is getattr(other, key).data     # still shared
    np.testing.assert_array_equal(other.predict(x).data, net.predict(x).data)


# ------------------------------------------------------------ MultiLayerNet

def test_multilayernet_params_and_initialisation() -> None:
    net = MultiLayerNet(20, [30, 40], 5, weight_init_std="relu", use_batchnorm=True, rng=0)
    assert list(net.params) == ["W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2",
                                "W3", "b3"]
    assert net.params["W2"].shape == (30, 40)
    assert net.params["W1"].std() == pytest.approx(np.sqrt(2 / 20), rel=0.15)
    assert net.params["W2"].std() == pytest.approx(np.sqrt(2 / 30), rel=0.1)
    xavier = MultiLayerNet(100, [200], 5, activation="sigmoid", weight_init_std="xavier", rng=0)
    assert xavier.params["W1"].std() == pytest.approx(0.1, rel=0.05)
    fixed = MultiLayerNet(100, [200], 5, weight_init_std=0.05, rng=0)
    assert fixed.params["W1"].std() == pytest.approx(0.05, rel=0.05)
    with pytest.raises(ValueError, match="weight_init"):
        MultiLayerNet(2, [2], 2, weight_init_std="zeros")
    assert len(net.parameters()) == 10


@pytest.mark.parametrize("use_batchnorm", [False, True])
def test_multilayernet_gradient_matches_numerical(use_batchnorm: bool) -> None:
    rng = np.random.default_rng(11)
    x = rng.normal(size=(6, 4))
    t = rng.integers(0, 3, size=6)
    net = MultiLayerNet(4, [5, 4], 3, activation="sigmoid", weight_init_std=0.8,
                        weight_decay_lambda=0.1, use_batchnorm=use_batchnorm, rng=11)
    backprop = net.gradient(x, t)
    numerical = net.numerical_gradient(x, t)
    assert set(backprop) == set(net.params)
    for key in backprop:
        np.testing.assert_allclose(backprop[key], numerical[key], rtol=0, atol=1e-6,
                                   err_msg=key)


def test_multilayernet_loss_includes_weight_decay() -> None:
    rng = np.random.default_rng(12)
    x = rng.normal(size=(5, 3))
    t = rng.integers(0, 2, size=5)
    plain = MultiLayerNet(3, [4], 2, rng=12)
    decayed = MultiLayerNet(3, [4], 2, weight_decay_lambda=0.3, rng=12)
    penalty = 0.5 * 0.3 * sum(np.sum(decayed.params[k] ** 2) for k in ("W1", "W2"))
    assert decayed.loss(x, t).item() == pytest.approx(plain.loss(x, t).item() + penalty)
    g_plain, g_decayed = plain.gradient(x, t), decayed.gradient(x, t)
    np.testing.assert_allclose(g_decayed["W1"], g_plain["W1"] + 0.3 * decayed.params["W1"])
    np.testing.assert_allclose(g_decayed["b1"], g_plain["b1"])


def test_multilayernet_dropout_only_when_training() -> None:
    x = np.random.default_rng(13).normal(size=(4, 10))
    net = MultiLayerNet(10, [50], 3, use_dropout=True, dropout_ratio=0.5, rng=13)
    assert net.training
    a, b = net.predict(x).data, net.predict(x).data
    assert not np.allclose(a, b)                              # fresh masks
    c, d = net.predict(x, train_flg=False).data, net.predict(x, train_flg=False).data
    np.testing.assert_array_equal(c, d)
    assert net.training                                       # train_flg is per call
    net.eval()
    np.testing.assert_array_equal(net.predict(x).data, c)


def test_multilayernet_batchnorm_accuracy_uses_running_statistics() -> None:
    rng = np.random.default_rng(14)
    x = rng.normal(2.0, 3.0, size=(50, 6))
    t = rng.integers(0, 3, size=50)
    net = MultiLayerNet(6, [8], 3, use_batchnorm=True, rng=14)
    net.gradient(x, t)                                        # a training-mode pass
    bn = net.layer1.batchnorm
    assert not np.allclose(bn.running_mean, 0)
    mean_before = bn.running_mean.copy()
    net.accuracy(x[:1], t[:1])                                # one sample: only in eval mode
    np.testing.assert_array_equal(bn.running_mean, mean_before)


def test_multilayernet_trains_on_digits() -> None:
    datasets = pytest.importorskip("minigrad.datasets")
    pytest.importorskip("sklearn")
    (x_train, t_train), (x_test, t_test) = datasets.load_digits()
    np.random.seed(0)
    net = MultiLayerNet(64, [50, 50], 10, use_batchnorm=True, weight_decay_lambda=1e-4, rng=0)
    opt = optim.Adam(net.parameters(), lr=0.01)
    for _ in range(300):
        mask = np.random.choice(len(x_train), 64)
        opt.update(net.params, net.gradient(x_train[mask], t_train[mask]))
    assert net.accuracy(x_test, t_test) > 0.9
