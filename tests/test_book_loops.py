"""The book's chapter 4-6 programs, written as the book writes them, with minigrad's imports.

Their data is the real MNIST test set (`../shared/data/mnist`), laid out as the book's
`load_mnist` expects: four IDX files in a folder, here its first 8,000 images as the
training set and the last 2,000 as the test set. The tests skip where it is absent.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# the book's imports, changed to minigrad's
from minigrad.datasets import load_mnist, read_idx, write_idx
from minigrad.functional import cross_entropy_error, softmax
from minigrad.gradcheck import gradient_descent, numerical_gradient
from minigrad.models import MultiLayerNet, TwoLayerNet
from minigrad.optim import SGD, AdaGrad, Adam, Momentum
from minigrad.util import smooth_curve

MNIST_DIR = Path(os.environ.get("MINIGRAD_TEST_MNIST_DIR")
                 or Path(__file__).resolve().parents[2] / "shared" / "data" / "mnist")
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")


@pytest.fixture(scope="module")
def mnist_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding MNIST's four files, made from the real test set (8,000 / 2,000)."""
    if not all((MNIST_DIR / name).is_file() for name in TEST_FILES):
        pytest.skip(f"MNIST test set not found in {MNIST_DIR}")
    images = read_idx(MNIST_DIR / TEST_FILES[0])
    labels = read_idx(MNIST_DIR / TEST_FILES[1])
    root = tmp_path_factory.mktemp("mnist")
    for prefix, part in (("train", slice(0, 8000)), ("t10k", slice(8000, None))):
        write_idx(root / f"{prefix}-images-idx3-ubyte", images[part])     # uncompressed
        write_idx(root / f"{prefix}-labels-idx1-ubyte", labels[part])
    return root


# ---------------------------------------------------------------- chapter 4

def function_2(x: np.ndarray) -> float:
    return float(x[0] ** 2 + x[1] ** 2)


class simpleNet:                                   # the book's name
    def __init__(self) -> None:
        self.W = np.random.randn(2, 3)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.dot(x, self.W)

    def loss(self, x: np.ndarray, t: np.ndarray) -> object:
        z = self.predict(x)
        y = softmax(z)
        loss = cross_entropy_error(y, t)
        return loss


def test_chapter_4_numerical_gradients_gradient_descent_and_simple_net() -> None:
    np.testing.assert_allclose(numerical_gradient(function_2, np.array([3.0, 4.0])),
                               [6.0, 8.0], atol=1e-6)
    init_x = np.array([-3.0, 4.0])
    x = gradient_descent(function_2, init_x=init_x, lr=0.1, step_num=100)
    assert np.abs(x).max() < 1e-8
    np.random.seed(0)
    net = simpleNet()
    x, t = np.array([0.6, 0.9]), np.array([0, 0, 1])
    f = lambda w: net.loss(x, t)
    dW = numerical_gradient(f, net.W)
    # the graph gives the same gradient in one backward pass
    import minigrad as mg

    W = mg.tensor(net.W, requires_grad=True)
    cross_entropy_error(softmax(mg.tensor(x) @ W), t).backward()
    assert W.grad is not None
    np.testing.assert_allclose(dW, W.grad.data, rtol=1e-6, atol=1e-9)


# ---------------------------------------------------------------- chapter 5

def test_chapter_5_train_neuralnet_with_its_loss_list_and_plot(
        mnist_root: Path, tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True,
                                                      root=mnist_root, download=False)
    np.random.seed(0)
    network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10)

    iters_num = 480                                 # the book's 10,000, cut to 6 epochs
    train_size = x_train.shape[0]
    batch_size = 100
    learning_rate = 0.1
    train_loss_list = []
    train_acc_list = []
    test_acc_list = []
    iter_per_epoch = max(train_size / batch_size, 1)

    for i in range(iters_num):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        grad = network.gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]
        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)
        if i % iter_per_epoch == 0:
            train_acc = network.accuracy(x_train, t_train)
            test_acc = network.accuracy(x_test, t_test)
            train_acc_list.append(train_acc)
            test_acc_list.append(test_acc)
            print("train acc, test acc | " + str(train_acc) + ", " + str(test_acc))

    markers = {"train": "o", "test": "s"}
    x = np.arange(len(train_acc_list))
    plt.plot(x, train_acc_list, label="train acc", marker=markers["train"])
    plt.plot(x, test_acc_list, label="test acc", linestyle="--", marker=markers["test"])
    plt.xlabel("epochs")
    plt.ylabel("accuracy")
    plt.ylim(0, 1.0)
    plt.legend(loc="lower right")
    plt.savefig(tmp_path / "accuracy.png")
    plt.clf()
    plt.plot(np.arange(len(train_loss_list)), train_loss_list)    # the loss list plots too
    plt.savefig(tmp_path / "loss.png")
    plt.close("all")

    assert len(train_acc_list) == len(test_acc_list) == 6
    assert test_acc_list[-1] > 0.6 and test_acc_list[-1] > test_acc_list[0] + 0.3
    losses = np.asarray(train_loss_list)
    assert losses.shape == (iters_num,) and losses[-50:].mean() < 0.6 * losses[:50].mean()
    assert all((tmp_path / name).stat().st_size > 1000 for name in ("accuracy.png", "loss.png"))


def test_chapter_5_gradient_check_on_mnist(mnist_root: Path) -> None:
    (x_train, t_train), _ = load_mnist(normalize=True, one_hot_label=True, root=mnist_root,
                                       download=False)
    np.random.seed(1)
    network = TwoLayerNet(input_size=784, hidden_size=5, output_size=10)
    x_batch = x_train[:3].astype(np.float64)
    t_batch = t_train[:3]
    grad_numerical = network.numerical_gradient(x_batch, t_batch)
    grad_backprop = network.gradient(x_batch, t_batch)
    for key in grad_numerical.keys():
        diff = np.average(np.abs(grad_backprop[key] - grad_numerical[key]))
        print(key + ":" + str(diff))
        assert diff < 1e-7, key


# ---------------------------------------------------------------- chapter 6

def test_chapter_6_optimizer_comparison_with_smooth_curve(
        mnist_root: Path, tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, root=mnist_root,
                                                      download=False)
    train_size = x_train.shape[0]
    batch_size = 128
    max_iterations = 60                             # the book's 2,000, cut

    optimizers = {}
    optimizers["SGD"] = SGD()
    optimizers["Momentum"] = Momentum()
    optimizers["AdaGrad"] = AdaGrad()
    optimizers["Adam"] = Adam()

    np.random.seed(0)
    networks = {}
    train_loss = {}
    for key in optimizers.keys():
        networks[key] = MultiLayerNet(
            input_size=784, hidden_size_list=[100, 100, 100, 100], output_size=10)
        train_loss[key] = []

    for i in range(max_iterations):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]
        for key in optimizers.keys():
            grads = networks[key].gradient(x_batch, t_batch)
            optimizers[key].update(networks[key].params, grads)
            loss = networks[key].loss(x_batch, t_batch)
            train_loss[key].append(loss)
        if i % 50 == 0:
            print("===========" + "iteration:" + str(i) + "===========")
            for key in optimizers.keys():
                loss = networks[key].loss(x_batch, t_batch)
                print(key + ":" + str(loss))

    markers = {"SGD": "o", "Momentum": "x", "AdaGrad": "s", "Adam": "D"}
    x = np.arange(max_iterations)
    for key in optimizers.keys():
        plt.plot(x, smooth_curve(train_loss[key]), marker=markers[key], markevery=100,
                 label=key)
    plt.xlabel("iterations")
    plt.ylabel("loss")
    plt.ylim(0, 1)
    plt.legend()
    plt.savefig(tmp_path / "optimizers.png")
    plt.close("all")

    assert (tmp_path / "optimizers.png").stat().st_size > 1000
    final = {key: float(np.mean(np.asarray(train_loss[key])[-20:])) for key in optimizers}
    assert max(final["AdaGrad"], final["Adam"]) < final["SGD"]     # the book's figure 6-9
    assert all(networks[key].accuracy(x_test, t_test) > 0.5 for key in ("AdaGrad", "Adam"))
