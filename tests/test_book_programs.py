"""The book's layered programs, written in its style and names, run on minigrad's layers with only
the imports changed: chapter 5's TwoLayerNet (gradient check and training loop), chapter 7's
SimpleConvNet (gradient check, training, load_params reassigning the layers' weights), and
chapter 7's train_convnet.py flow with Trainer, save_params / load_params and the accuracy plot.

Real data: scikit-learn's 8x8 digits (offline), and the MNIST test set (sliced into training and
test parts) where ../shared/data/mnist has it; those tests skip cleanly elsewhere.
"""

from __future__ import annotations

import functools
import os
import pickle
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from minigrad import models
from minigrad.datasets import load_digits, read_idx
from minigrad.gradcheck import numerical_gradient  # the book's imports, changed to minigrad
from minigrad.layers import *  # noqa: F403
from minigrad.layers import Affine, Convolution, Pooling, Relu, SoftmaxWithLoss
from minigrad.trainer import Trainer

MNIST_DIR = Path(os.environ.get("MINIGRAD_TEST_MNIST_DIR")
                 or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist")
MNIST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
needs_mnist = pytest.mark.skipif(not all((MNIST_DIR / f).is_file() for f in MNIST_FILES),
                                 reason=f"MNIST test set not found in {MNIST_DIR}")


@functools.cache
def _mnist_test_set() -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(MNIST_DIR / MNIST_FILES[0], ndim=3)
    labels = read_idx(MNIST_DIR / MNIST_FILES[1], ndim=1)
    return images.astype(np.float32) / 255.0, labels.astype(np.int64)


def load_data(source: str, flatten: bool = True, one_hot_label: bool = False,
              train: int = 2000, test: int = 1000):
    """(x_train, t_train), (x_test, t_test): the digits' own split, or the first `train` and
    last `test` images of the real MNIST test set."""
    if source == "digits":
        pytest.importorskip("sklearn")
        return load_digits(flatten=flatten, one_hot_label=one_hot_label)
    if not all((MNIST_DIR / f).is_file() for f in MNIST_FILES):
        pytest.skip(f"MNIST test set not found in {MNIST_DIR}")
    images, labels = _mnist_test_set()
    x = images.reshape(len(images), -1) if flatten else images.reshape(len(images), 1, 28, 28)
    t = np.eye(10, dtype=np.float32)[labels] if one_hot_label else labels
    return (x[:train], t[:train]), (x[-test:], t[-test:])


@pytest.fixture(autouse=True)
def one_blas_thread():
    """One BLAS thread for these trainings where threadpoolctl is installed (scikit-learn brings
    it): their matrices are small, and on a busy machine threads that wait for each other cost
    several times the work itself."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


sources = pytest.mark.parametrize("source", ["digits", pytest.param("mnist", marks=needs_mnist)])


# ------------------------------------------------------------ chapter 5: TwoLayerNet with layers

class TwoLayerNet:

    def __init__(self, input_size, hidden_size, output_size, weight_init_std=0.01):
        # the weights
        self.params = {}
        self.params['W1'] = weight_init_std * np.random.randn(input_size, hidden_size)
        self.params['b1'] = np.zeros(hidden_size)
        self.params['W2'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b2'] = np.zeros(output_size)

        # the layers
        self.layers = OrderedDict()
        self.layers['Affine1'] = Affine(self.params['W1'], self.params['b1'])
        self.layers['Relu1'] = Relu()
        self.layers['Affine2'] = Affine(self.params['W2'], self.params['b2'])

        self.lastLayer = SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)

        return x

    # x: input data, t: labels
    def loss(self, x, t):
        y = self.predict(x)
        return self.lastLayer.forward(y, t)

    def accuracy(self, x, t):
        y = self.predict(x)
        y = np.argmax(y, axis=1)
        if t.ndim != 1:
            t = np.argmax(t, axis=1)

        accuracy = np.sum(y == t) / float(x.shape[0])
        return accuracy

    def numerical_gradient(self, x, t):
        loss_W = lambda W: self.loss(x, t)

        grads = {}
        grads['W1'] = numerical_gradient(loss_W, self.params['W1'])
        grads['b1'] = numerical_gradient(loss_W, self.params['b1'])
        grads['W2'] = numerical_gradient(loss_W, self.params['W2'])
        grads['b2'] = numerical_gradient(loss_W, self.params['b2'])

        return grads

    def gradient(self, x, t):
        # forward
        self.loss(x, t)

        # backward
        dout = 1
        dout = self.lastLayer.backward(dout)

        layers = list(self.layers.values())
        layers.reverse()
        for layer in layers:
            dout = layer.backward(dout)

        # collect the gradients
        grads = {}
        grads['W1'], grads['b1'] = self.layers['Affine1'].dW, self.layers['Affine1'].db
        grads['W2'], grads['b2'] = self.layers['Affine2'].dW, self.layers['Affine2'].db

        return grads


@pytest.mark.parametrize("source, hidden", [("digits", 10),
                                            pytest.param("mnist", 3, marks=needs_mnist)])
def test_chapter5_gradient_check(source: str, hidden: int) -> None:
    """The book's gradient_check.py: the mean absolute difference per parameter is tiny."""
    np.random.seed(0)
    (x_train, t_train), _ = load_data(source, one_hot_label=True)
    network = TwoLayerNet(input_size=x_train.shape[1], hidden_size=hidden, output_size=10)

    x_batch = x_train[:3]
    t_batch = t_train[:3]

    grad_numerical = network.numerical_gradient(x_batch, t_batch)
    grad_backprop = network.gradient(x_batch, t_batch)

    for key in grad_numerical.keys():
        diff = np.average(np.abs(grad_backprop[key] - grad_numerical[key]))
        assert diff < 1e-7, (key, diff)
        assert np.abs(grad_backprop[key]).max() > 1e-4, key       # a gradient to compare


def test_chapter5_network_has_the_gradient_of_models_two_layer_net() -> None:
    np.random.seed(1)
    (x_train, t_train), _ = load_data("digits")
    network = TwoLayerNet(64, 20, 10, weight_init_std=0.3)
    model = models.TwoLayerNet(64, 20, 10, activation="relu")
    for key in network.params:
        model.params[key][...] = network.params[key]
    x, t = x_train[:50], t_train[:50]
    assert network.loss(x, t) == pytest.approx(float(np.asarray(model.loss(x, t).data)),
                                               rel=1e-12)
    expected = model.gradient(x, t)
    for key, grad in network.gradient(x, t).items():
        np.testing.assert_allclose(grad, expected[key], rtol=1e-9, atol=1e-12, err_msg=key)


@sources
def test_chapter5_training_loop(source: str) -> None:
    """The book's train_neuralnet.py (fewer iterations): accuracy rises, the losses plot."""
    np.random.seed(0)
    (x_train, t_train), (x_test, t_test) = load_data(source, one_hot_label=True, train=2000,
                                                     test=500)
    network = TwoLayerNet(input_size=x_train.shape[1], hidden_size=20, output_size=10)

    iters_num = 300
    train_size = x_train.shape[0]
    batch_size = 100
    learning_rate = 0.1

    train_loss_list = []
    train_acc_list = []
    test_acc_list = []

    iter_per_epoch = max(train_size // batch_size, 1)

    for i in range(iters_num):
        batch_mask = np.random.choice(train_size, batch_size)
        x_batch = x_train[batch_mask]
        t_batch = t_train[batch_mask]

        grad = network.gradient(x_batch, t_batch)

        for key in ('W1', 'b1', 'W2', 'b2'):
            network.params[key] -= learning_rate * grad[key]

        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)

        if i % iter_per_epoch == 0:
            train_acc = network.accuracy(x_train, t_train)
            test_acc = network.accuracy(x_test, t_test)
            train_acc_list.append(train_acc)
            test_acc_list.append(test_acc)

    assert all(type(loss) is float for loss in train_loss_list)
    assert np.mean(train_loss_list[-20:]) < 0.5 * np.mean(train_loss_list[:20])
    assert train_acc_list[0] < 0.3 and train_acc_list[-1] > 0.75
    assert test_acc_list[-1] > 0.7 and test_acc_list[-1] > test_acc_list[0] + 0.4


# ------------------------------------------------------------ chapter 7: SimpleConvNet with layers

class SimpleConvNet:
    """conv - relu - pool - affine - relu - affine - softmax"""

    def __init__(self, input_dim=(1, 28, 28),
                 conv_param={'filter_num': 30, 'filter_size': 5, 'pad': 0, 'stride': 1},  # noqa: B006
                 hidden_size=100, output_size=10, weight_init_std=0.01):
        filter_num = conv_param['filter_num']
        filter_size = conv_param['filter_size']
        filter_pad = conv_param['pad']
        filter_stride = conv_param['stride']
        input_size = input_dim[1]
        conv_output_size = (input_size - filter_size + 2 * filter_pad) / filter_stride + 1
        pool_output_size = int(filter_num * (conv_output_size / 2) * (conv_output_size / 2))

        # the weights
        self.params = {}
        self.params['W1'] = weight_init_std * \
            np.random.randn(filter_num, input_dim[0], filter_size, filter_size)
        self.params['b1'] = np.zeros(filter_num)
        self.params['W2'] = weight_init_std * np.random.randn(pool_output_size, hidden_size)
        self.params['b2'] = np.zeros(hidden_size)
        self.params['W3'] = weight_init_std * np.random.randn(hidden_size, output_size)
        self.params['b3'] = np.zeros(output_size)

        # the layers
        self.layers = OrderedDict()
        self.layers['Conv1'] = Convolution(self.params['W1'], self.params['b1'],
                                           conv_param['stride'], conv_param['pad'])
        self.layers['Relu1'] = Relu()
        self.layers['Pool1'] = Pooling(pool_h=2, pool_w=2, stride=2)
        self.layers['Affine1'] = Affine(self.params['W2'], self.params['b2'])
        self.layers['Relu2'] = Relu()
        self.layers['Affine2'] = Affine(self.params['W3'], self.params['b3'])

        self.last_layer = SoftmaxWithLoss()

    def predict(self, x):
        for layer in self.layers.values():
            x = layer.forward(x)

        return x

    def loss(self, x, t):
        y = self.predict(x)
        return self.last_layer.forward(y, t)

    def accuracy(self, x, t, batch_size=100):
        if t.ndim != 1:
            t = np.argmax(t, axis=1)

        acc = 0.0

        for i in range(int(x.shape[0] / batch_size)):
            tx = x[i * batch_size:(i + 1) * batch_size]
            tt = t[i * batch_size:(i + 1) * batch_size]
            y = self.predict(tx)
            y = np.argmax(y, axis=1)
            acc += np.sum(y == tt)

        return acc / x.shape[0]

    def numerical_gradient(self, x, t):
        loss_w = lambda w: self.loss(x, t)

        grads = {}
        for idx in (1, 2, 3):
            grads['W' + str(idx)] = numerical_gradient(loss_w, self.params['W' + str(idx)])
            grads['b' + str(idx)] = numerical_gradient(loss_w, self.params['b' + str(idx)])

        return grads

    def gradient(self, x, t):
        # forward
        self.loss(x, t)

        # backward
        dout = 1
        dout = self.last_layer.backward(dout)

        layers = list(self.layers.values())
        layers.reverse()
        for layer in layers:
            dout = layer.backward(dout)

        # collect the gradients
        grads = {}
        grads['W1'], grads['b1'] = self.layers['Conv1'].dW, self.layers['Conv1'].db
        grads['W2'], grads['b2'] = self.layers['Affine1'].dW, self.layers['Affine1'].db
        grads['W3'], grads['b3'] = self.layers['Affine2'].dW, self.layers['Affine2'].db

        return grads

    def save_params(self, file_name="params.npz"):
        np.savez(file_name, **self.params)

    def load_params(self, file_name="params.npz"):
        with np.load(file_name) as params:
            for key, val in params.items():
                self.params[key] = val

        for i, key in enumerate(['Conv1', 'Affine1', 'Affine2']):
            self.layers[key].W = self.params['W' + str(i + 1)]
            self.layers[key].b = self.params['b' + str(i + 1)]


def test_chapter7_gradient_check() -> None:
    """The book's chapter-7 gradient_check.py: one random 10x10 image, label given as (1, 1).

    With the book's step h = 1e-4, a few of the perturbations move a ReLU input or the
    winner of a pooling window across its kink (the weights are small, 0.01), so central
    differences are off there by up to ~1e-4 and the mean difference of W1 is ~1e-6. With
    h = 1e-6 no perturbation crosses a kink and the two gradients agree to ~1e-10.
    """
    np.random.seed(0)
    network = SimpleConvNet(input_dim=(1, 10, 10),
                            conv_param={'filter_num': 10, 'filter_size': 3, 'pad': 0,
                                        'stride': 1},
                            hidden_size=10, output_size=10, weight_init_std=0.01)

    X = np.random.rand(100).reshape((1, 1, 10, 10))
    T = np.array([1]).reshape((1, 1))

    grad_num = network.numerical_gradient(X, T)
    grad = network.gradient(X, T)

    for key, val in grad_num.items():
        diff = np.average(np.abs(grad[key] - val))
        assert diff < 1e-5, (key, diff)
        assert np.abs(grad[key]).max() > 1e-6, key

    loss_w = lambda w: network.loss(X, T)
    for key, val in grad.items():
        fine = numerical_gradient(loss_w, network.params[key], h=1e-6)
        diff = np.average(np.abs(val - fine))
        assert diff < 1e-9, (key, diff)


def test_chapter7_network_has_the_gradient_of_models_simple_conv_net() -> None:
    np.random.seed(2)
    (x_train, t_train), _ = load_data("digits", flatten=False)
    conv_param = {'filter_num': 4, 'filter_size': 3, 'pad': 1, 'stride': 1}
    network = SimpleConvNet((1, 8, 8), conv_param, hidden_size=12, weight_init_std=0.3)
    model = models.SimpleConvNet((1, 8, 8), conv_param, hidden_size=12)
    for key in network.params:
        model.params[key][...] = network.params[key]
    x, t = x_train[:20], t_train[:20]
    assert network.loss(x, t) == pytest.approx(float(np.asarray(model.loss(x, t).data)),
                                               rel=1e-12)
    expected = model.gradient(x, t)
    for key, grad in network.gradient(x, t).items():
        np.testing.assert_allclose(grad, expected[key], rtol=1e-9, atol=1e-12, err_msg=key)


def test_chapter7_network_trains_and_load_params_reassigns_the_layers(tmp_path: Path) -> None:
    np.random.seed(0)
    (x_train, t_train), (x_test, t_test) = load_data("digits", flatten=False)
    conv_param = {'filter_num': 8, 'filter_size': 3, 'pad': 1, 'stride': 1}
    network = SimpleConvNet(input_dim=(1, 8, 8), conv_param=conv_param, hidden_size=50)
    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=5, mini_batch_size=50,
                      optimizer='Adam', optimizer_param={'lr': 0.02}, verbose=False)
    trainer.train()
    assert len(trainer.train_acc_list) == len(trainer.test_acc_list) == 5
    # (the book's accuracy leaves out the last partial batch, 60 of the 360 test images,
    # and divides by 360: at most 0.83 here)
    accuracy = network.accuracy(x_test, t_test)
    assert trainer.test_acc_list[0] < 0.2 and accuracy > 0.7

    network.save_params(tmp_path / "params.npz")
    other = SimpleConvNet(input_dim=(1, 8, 8), conv_param=conv_param, hidden_size=50)
    assert other.accuracy(x_test, t_test) < 0.5
    other.load_params(tmp_path / "params.npz")            # new arrays, assigned to the layers
    assert other.layers['Conv1'].W is other.params['W1']
    assert other.accuracy(x_test, t_test) == accuracy
    np.testing.assert_array_equal(other.predict(x_test[:10]), network.predict(x_test[:10]))
    # and it trains on from there: the layers read the new arrays, updated in place
    before = other.loss(x_train[:100], t_train[:100])
    for _ in range(5):
        grads = other.gradient(x_train[:100], t_train[:100])
        for key in other.params:
            other.params[key] -= 0.01 * grads[key]
    assert other.loss(x_train[:100], t_train[:100]) < before


# ------------------------------------------------------------ chapter 7: train_convnet.py


@sources
def test_train_convnet_flow_with_trainer_save_load_and_plot(source: str, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]
                                                            ) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    monkeypatch.chdir(tmp_path)
    np.random.seed(0)
    if source == "digits":
        (x_train, t_train), (x_test, t_test) = load_data("digits", flatten=False)
        input_dim, conv_param, max_epochs = (1, 8, 8), {'filter_num': 16, 'filter_size': 3,
                                                        'pad': 1, 'stride': 1}, 8
    else:
        (x_train, t_train), (x_test, t_test) = load_data("mnist", flatten=False, train=2000,
                                                         test=500)
        input_dim, conv_param, max_epochs = (1, 28, 28), {'filter_num': 8, 'filter_size': 5,
                                                          'pad': 0, 'stride': 1}, 3

    network = models.SimpleConvNet(input_dim=input_dim, conv_param=conv_param,
                                   hidden_size=100, output_size=10, weight_init_std=0.01)
    trainer = Trainer(network, x_train, t_train, x_test, t_test,
                      epochs=max_epochs, mini_batch_size=100,
                      optimizer='Adam', optimizer_param={'lr': 0.001},
                      evaluate_sample_num_per_epoch=1000, verbose=True)
    trainer.train()

    # save the parameters
    network.save_params("params.pkl")

    printed = capsys.readouterr().out
    assert printed.count("\nepoch ") + printed.startswith("epoch ") == max_epochs
    final = float(printed.rsplit("final test accuracy: ", 1)[1])
    assert final > 0.6 and trainer.test_acc_list[-1] > trainer.test_acc_list[0] + 0.3
    assert (tmp_path / "params.pkl").read_bytes()[:4] == b"PK\x03\x04"   # .npz, under that name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.pkl"]

    restored = models.SimpleConvNet(input_dim=input_dim, conv_param=conv_param,
                                    hidden_size=100, output_size=10, weight_init_std=0.01)
    restored.load_params("params.pkl")
    assert restored.accuracy(x_test, t_test) == network.accuracy(x_test, t_test)
    assert round(restored.accuracy(x_test, t_test), 4) == round(final, 4)

    # draw the graph
    markers = {'train': 'o', 'test': 's'}
    x = np.arange(max_epochs)
    plt.plot(x, trainer.train_acc_list, marker=markers['train'], label='train', markevery=2)
    plt.plot(x, trainer.test_acc_list, marker=markers['test'], label='test', markevery=2)
    plt.xlabel("epochs")
    plt.ylabel("accuracy")
    plt.ylim(0, 1.0)
    plt.legend(loc='lower right')
    plt.savefig(tmp_path / "accuracy.png")
    plt.close("all")
    data = (tmp_path / "accuracy.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_chapter6_dropout_program_runs_as_written() -> None:
    """The book's overfit_dropout.py: MultiLayerNetExtend under its name, with `dropout_ration`
    (the book's spelling); the masks are drawn in training and not at evaluation."""
    from minigrad.models import MultiLayerNetExtend
    np.random.seed(0)
    (x_train, t_train), (x_test, t_test) = load_data("digits")
    x_train, t_train = x_train[:300], t_train[:300]
    use_dropout = True
    dropout_ratio = 0.2
    network = MultiLayerNetExtend(input_size=64, hidden_size_list=[50, 50], output_size=10,
                                  use_dropout=use_dropout, dropout_ration=dropout_ratio)
    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=8, mini_batch_size=50,
                      optimizer='sgd', optimizer_param={'lr': 0.1}, verbose=False)
    trainer.train()
    train_acc_list, test_acc_list = trainer.train_acc_list, trainer.test_acc_list
    assert len(train_acc_list) == len(test_acc_list) == 8
    assert test_acc_list[-1] > test_acc_list[0] + 0.2
    assert network.hidden[0].dropout is not None and network.hidden[0].dropout.p == 0.2
    first = network.predict(x_test[:5], train_flg=False).data
    np.testing.assert_array_equal(network.predict(x_test[:5], train_flg=False).data, first)
    assert not np.array_equal(network.predict(x_test[:5], train_flg=True).data, first)
    with pytest.raises(TypeError, match="dropout_ratio"):
        MultiLayerNetExtend(64, [5], 10, dropout_ratio=0.2)   # type: ignore[call-arg]


# ------------------------------------------------------------ save_params / load_params


def book_networks():
    return [models.TwoLayerNet(6, 5, 3, rng=0),
            models.MultiLayerNet(6, [5, 4], 3, use_batchnorm=True, rng=0),
            models.SimpleConvNet((1, 6, 6), {'filter_num': 2, 'filter_size': 3}, 4, 3, rng=0)]


@pytest.mark.parametrize("index", range(3))
def test_every_book_network_saves_and_loads_its_params(index: int, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    net, other = book_networks()[index], book_networks()[index]
    for key in net.params:
        net.params[key] += np.random.default_rng(1).normal(size=net.params[key].shape)
    net.save_params()                                       # the book's default name
    assert [p.name for p in tmp_path.iterdir()] == ["params.pkl"]
    arrays = {key: other.params[key] for key in other.params}
    other.load_params()
    for key in net.params:
        np.testing.assert_array_equal(other.params[key], net.params[key])
        assert other.params[key] is arrays[key]             # in place: the book's dict holds it
    net.save_params(tmp_path / "weights.bin")               # any name, used exactly
    assert (tmp_path / "weights.bin").is_file()


def test_load_params_refuses_a_pickle_and_checks_shapes(tmp_path: Path) -> None:
    path = tmp_path / "params.pkl"
    with open(path, "wb") as f:
        pickle.dump({"W1": np.zeros((6, 5))}, f)           # the book's own format
    net = models.TwoLayerNet(6, 5, 3, rng=0)
    with pytest.raises(ValueError, match="params.pkl is not a minigrad weight file"):
        net.load_params(path)
    models.TwoLayerNet(6, 7, 3, rng=0).save_params(path)
    with pytest.raises(ValueError, match=r"shape mismatch for W1: checkpoint \(6, 7\), "
                                         r"model \(6, 5\)"):
        net.load_params(path)
