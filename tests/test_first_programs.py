"""First programs, as a reader of the book and as a PyTorch user write them.

Each test_pNN_... is a point that once went wrong without a word: a loss list that kept
every step's graph and could not be plotted, layers in a plain dict that were never
trained, `p -= lr * p.grad` that rebound p instead of updating the parameter, names
PyTorch users type first, and ops whose help showed (*args, **kwargs).
"""

from __future__ import annotations

import inspect
import operator
import tracemalloc
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import functional as F
from minigrad import nn, ops, optim
from minigrad.models import Loss, MultiLayerNet, TwoLayerNet

RELEASED = "the graph behind this loss was released"


def book_data(n: int = 300, features: int = 20, classes: int = 4, seed: int = 0
              ) -> tuple[np.ndarray, np.ndarray]:
    """A learnable problem: one-hot labels of a noisy linear rule."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, features))
    labels = np.argmax(x @ rng.standard_normal((features, classes)), axis=1)
    return x, np.eye(classes)[labels]


# ---------------------------------------------------------------- 1. the book's loss list

def book_loop(network: TwoLayerNet, x: np.ndarray, t: np.ndarray, iters: int,
              keep: list[object] | None, learning_rate: float = 0.1) -> list[object]:
    """Chapter 5's train_neuralnet.py loop, as printed, with its train_loss_list."""
    train_loss_list: list[object] = [] if keep is None else keep
    for _ in range(iters):
        batch_mask = np.random.choice(x.shape[0], 50)
        x_batch, t_batch = x[batch_mask], t[batch_mask]
        grad = network.gradient(x_batch, t_batch)
        for key in ("W1", "b1", "W2", "b2"):
            network.params[key] -= learning_rate * grad[key]
        loss = network.loss(x_batch, t_batch)
        train_loss_list.append(loss)
    return train_loss_list


def test_p01_the_book_loss_list_keeps_memory_flat() -> None:
    np.random.seed(0)
    x, t = book_data(features=100)
    network = TwoLayerNet(input_size=100, hidden_size=50, output_size=4)
    kept: list[object] = []
    book_loop(network, x, t, 20, kept)                 # warm up
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        book_loop(network, x, t, 200, kept)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    # one step's graph holds the batch and the hidden activations (about 100 KB here);
    # a loss in the list is a number and a freed node (under 1 KB)
    assert grown / 200 < 2_000, f"{grown / 200:.0f} bytes kept per step"
    assert all(isinstance(loss, Loss) for loss in kept)
    assert all(loss.op.arguments is None for loss in kept[:-1])   # graphs released
    assert kept[-1].op.arguments is not None                      # the last can still backward


def test_p01_the_book_loss_list_plots_and_smooths(tmp_path: Path) -> None:
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    np.random.seed(1)
    x, t = book_data()
    network = TwoLayerNet(input_size=20, hidden_size=10, output_size=4, weight_init_std=0.3)
    train_loss_list = book_loop(network, x, t, 60, None, learning_rate=1.0)
    values = np.asarray(train_loss_list)                   # what matplotlib does with it
    assert values.shape == (60,) and values.dtype == np.float64
    assert values[-10:].mean() < values[:10].mean()         # it trained
    assert str(train_loss_list[0]) == str(float(values[0]))  # printed as the book prints it
    assert f"{train_loss_list[-1]:.3f}" == f"{values[-1]:.3f}"
    # chapter 6's smooth_curve runs np.r_ over slices of the list
    window = 11
    s = np.r_[train_loss_list[window - 1:0:-1], train_loss_list, train_loss_list[-1:-window:-1]]
    assert s.shape == (60 + 2 * (window - 1),)
    plt.plot(np.arange(len(train_loss_list)), train_loss_list)
    plt.savefig(tmp_path / "loss.png")
    plt.close()
    assert (tmp_path / "loss.png").stat().st_size > 1000


def test_p01_book_losses_still_backward_and_a_released_one_says_why() -> None:
    x, t = book_data(n=20)
    network = TwoLayerNet(input_size=20, hidden_size=10, output_size=4)
    loss = network.loss(x, t)
    network.zero_grad()
    loss.backward()                                        # as the README and examples do
    assert network.W1.grad is not None
    expected = network.gradient(x, t)
    np.testing.assert_allclose(network.W1.grad.data, expected["W1"])

    first = network.loss(x, t)
    second = network.loss(x, t)          # no update between: the first stays usable
    assert first.op.arguments is not None
    (first + second).backward(retain_graph=True)
    with mg.no_grad():
        network.W2 -= 0.1                # an update: a backward through them could only fail
    third = network.loss(x, t)           # so the network releases their graphs
    assert first.op.arguments is None and second.op.arguments is None
    with pytest.raises(RuntimeError, match=RELEASED):
        (third + first).backward()


def test_p01_multilayernet_losses_release_and_convert_too() -> None:
    x, t = book_data(n=40)
    network = MultiLayerNet(20, [10, 10], 4, weight_decay_lambda=0.1)
    optimizer = optim.Adam()
    losses = []
    for _ in range(5):
        grads = network.gradient(x, t)
        optimizer.update(network.params, grads)
        losses.append(network.loss(x, t))
    assert all(loss.op.arguments is None for loss in losses[:-1])
    assert np.asarray(losses).shape == (5,)


# ---------------------------------------------------------------- 4. layers in plain containers

class BookStyleNet(nn.Module):
    """The book's pattern: an OrderedDict assigned empty, then filled."""

    def __init__(self, container: str) -> None:
        super().__init__()
        if container == "OrderedDict":
            self.layers: object = OrderedDict()
            self.layers["Affine1"] = nn.Linear(4, 3)       # type: ignore[index]
            self.layers["Relu1"] = nn.ReLU()               # type: ignore[index]
        elif container == "dict":
            self.layers = {}
            self.layers["Affine1"] = nn.Linear(4, 3)       # type: ignore[index]
        else:
            self.layers = []
            self.layers.append(nn.Linear(4, 3))            # type: ignore[attr-defined]


@pytest.mark.parametrize("container, fix", [("OrderedDict", "nn.ModuleDict"),
                                            ("dict", "nn.ModuleDict"), ("list", "nn.ModuleList")])
def test_p04_layers_filled_into_a_plain_container_are_refused(
        container: str, fix: str, tmp_path: Path) -> None:
    net = BookStyleNet(container)
    for gather in (net.parameters, net.state_dict, net.train, net.zero_grad,
                   lambda: net.save(tmp_path / "net.npz"), lambda: optim.SGD(net)):
        with pytest.raises(TypeError, match=rf"attribute 'layers' is an? {container}.*{fix}"):
            gather()
    assert not list(tmp_path.iterdir())                    # no empty weight file


def test_p04_registered_layers_listed_elsewhere_are_fine_and_the_hint_names_both() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.blocks: list[nn.Module] = []
            self.first = nn.Linear(2, 2)
            self.blocks.append(self.first)                 # registered as "first" too
            self._scratch = [nn.Linear(2, 2)]              # unregistered on purpose

    assert len(Net().parameters()) == 2
    with pytest.raises(ValueError, match="nn.ModuleList.*nn.ModuleDict"):
        optim.SGD([])


# ---------------------------------------------------------------- 6. in-place operators

def test_p06_the_pytorch_manual_update_trains_and_matches_torch() -> None:
    """`with no_grad(): p -= lr * p.grad` over model.parameters(), and loss.item()."""
    x, onehot = book_data(n=64, features=6, classes=3, seed=2)
    labels = onehot.argmax(axis=1)
    model = nn.Sequential(nn.Linear(6, 8, weight_init="xavier", rng=0), nn.Tanh(),
                          nn.Linear(8, 3, weight_init="xavier", rng=1))
    weights = [p.data.copy() for p in model.parameters()]
    arrays = [p.data for p in model.parameters()]
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(model(x), labels)
        model.zero_grad()
        loss.backward()
        with mg.no_grad():
            for p in model.parameters():
                p -= 0.5 * p.grad
        losses.append(loss.item())
    assert [p.data for p in model.parameters()] == arrays  # the same arrays, updated
    assert losses[-1] < 0.6 * losses[0]

    torch = pytest.importorskip("torch")
    W1, b1, W2, b2 = (torch.tensor(w, requires_grad=True) for w in weights)
    reference = []
    for _ in range(30):
        out = torch.tanh(torch.tensor(x) @ W1 + b1) @ W2 + b2
        loss_t = torch.nn.functional.cross_entropy(out, torch.tensor(labels))
        for p in (W1, b1, W2, b2):
            p.grad = None
        loss_t.backward()
        with torch.no_grad():
            for p in (W1, b1, W2, b2):
                p -= 0.5 * p.grad
        reference.append(loss_t.item())
    np.testing.assert_allclose(losses, reference, rtol=1e-10)


IN_PLACE = {"+=": operator.iadd, "-=": operator.isub, "*=": operator.imul,
            "/=": operator.itruediv, "**=": operator.ipow, "@=": operator.imatmul}


@pytest.mark.parametrize("symbol", list(IN_PLACE))
def test_p06_in_place_operators_write_into_the_array_and_count(symbol: str) -> None:
    p = mg.tensor(np.full((2, 2), 2.0), requires_grad=True)
    array, version = p.data, p._version
    other = np.array([[1.0, 0.5], [0.25, 2.0]])
    with mg.no_grad():
        q = IN_PLACE[symbol](p, other)                     # what `p op= other` runs
    assert q is p and p.data is array and p.requires_grad and p.is_leaf
    assert p._version == version + 1
    expected = {"+=": 2 + other, "-=": 2 - other, "*=": 2 * other, "/=": 2 / other,
                "**=": 2 ** other, "@=": np.full((2, 2), 2.0) @ other}[symbol]
    np.testing.assert_allclose(p.data, expected)


def test_p06_a_leaf_that_requires_grad_refuses_outside_no_grad() -> None:
    p = mg.tensor([1.0, 2.0], requires_grad=True)
    for change in (lambda: p.__isub__(1.0), lambda: p.__imul__(2.0), p.zero_):
        with pytest.raises(RuntimeError, match=r"leaf that requires grad.*no_grad"):
            change()
    np.testing.assert_array_equal(p.data, [1.0, 2.0])


def test_p06_an_update_between_forward_and_backward_is_caught() -> None:
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    with mg.no_grad():
        w -= 0.1
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


@given(seed=st.integers(0, 2**16))
def test_p06_in_place_on_a_graph_tensor_records_as_torch(seed: int) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    x0, b0, g0 = rng.standard_normal((3, 3, 2))
    x = mg.tensor(x0, requires_grad=True)
    b = mg.tensor(b0, requires_grad=True)
    y = x * 2.0
    held, same = y.data, y
    y += b
    y *= x
    y -= 1.0
    y /= 1.5 + b * b
    y **= 2
    y.backward(g0)
    assert y is same                                        # the tensor, not a new one
    np.testing.assert_array_equal(held, x0 * 2.0)           # saved values untouched
    xt = torch.tensor(x0, requires_grad=True)
    bt = torch.tensor(b0, requires_grad=True)
    yt = xt * 2.0
    yt += bt
    yt *= xt
    yt -= 1.0
    yt /= 1.5 + bt * bt
    yt **= 2
    yt.backward(torch.tensor(g0))
    np.testing.assert_allclose(y.data, yt.detach().numpy(), rtol=1e-12)
    assert x.grad is not None and b.grad is not None
    np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(b.grad.data, bt.grad.numpy(), rtol=1e-10)


def test_p06_a_running_total_joins_the_graph() -> None:
    a = mg.tensor(3.0, requires_grad=True)
    total = mg.zeros(())
    for k in range(1, 4):
        total += k * a * a
    total.backward()
    assert a.grad is not None and a.grad.item() == pytest.approx(2 * 3.0 * 6)


def test_p06_in_place_errors_name_the_operator_shapes_and_dtypes() -> None:
    counts = mg.tensor([1, 2])
    with pytest.raises(TypeError, match=r"\+=: .*int64"):
        counts += 0.5
    t = mg.zeros(3)
    with pytest.raises(ValueError, match=r"\+=: .*\(3,\).*\(2, 3\)"):
        t += np.ones((2, 3))
    y = mg.tensor([1.0, 2.0], requires_grad=True) * 1.0
    with pytest.raises(ValueError, match=r"\*=: the result has shape \(2, 2\)"):
        y *= mg.ones((2, 1))


def test_p06_zero_and_setitem_under_no_grad() -> None:
    p = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (p * p).sum().backward()
    assert p.grad is not None
    p.grad.zero_()
    np.testing.assert_array_equal(p.grad.data, 0.0)
    with mg.no_grad():
        p[0] = 10.0
        p.zero_()
    np.testing.assert_array_equal(p.data, 0.0)
    with pytest.raises(RuntimeError, match="no_grad"):
        p[0] = 1.0


def test_p06_in_place_on_a_float32_parameter_keeps_its_dtype() -> None:
    p = mg.tensor(np.ones(3, np.float32), requires_grad=True)
    with mg.no_grad():
        p -= np.full(3, 0.5)                                   # float64 operand
    assert p.dtype == np.float32
    y = p * 1
    y += mg.tensor(np.ones(3), requires_grad=True)            # recorded, cast back
    assert y.dtype == np.float32


# ---------------------------------------------------------------- 7. names PyTorch users type

def test_p07_cross_entropy_and_mse_agree_with_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    cases = [((5, 3), (5,), -100), ((5, 3), (5,), 1), ((4, 3, 2, 2), (4, 2, 2), 0),
             ((3,), (), -100)]
    for shape, label_shape, ignore in cases:
        for reduction in ("mean", "sum", "none"):
            logits = rng.standard_normal(shape)
            labels = rng.integers(0, shape[1] if len(shape) > 1 else shape[0], label_shape)
            if ignore >= 0:
                labels.flat[0] = ignore
            g = rng.standard_normal(label_shape if reduction == "none" else ())
            x = mg.tensor(logits, requires_grad=True)
            loss = nn.CrossEntropyLoss(reduction, ignore)(x, labels)
            loss.backward(g)
            xt = torch.tensor(logits, requires_grad=True)
            loss_t = torch.nn.CrossEntropyLoss(reduction=reduction, ignore_index=ignore)(
                xt, torch.tensor(labels))
            loss_t.backward(torch.tensor(g))
            np.testing.assert_allclose(loss.data, loss_t.detach().numpy(), rtol=1e-10)
            assert x.grad is not None
            np.testing.assert_allclose(x.grad.data, xt.grad.numpy(), rtol=1e-10, atol=1e-14)
    probabilities = rng.dirichlet(np.ones(3), 5)
    logits = rng.standard_normal((5, 3))
    np.testing.assert_allclose(
        F.cross_entropy(logits, probabilities).data,
        torch.nn.functional.cross_entropy(torch.tensor(logits), torch.tensor(probabilities)))
    y, t = rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    for reduction in ("mean", "sum", "none"):
        np.testing.assert_allclose(
            nn.MSELoss(reduction)(y, t).data,
            torch.nn.MSELoss(reduction=reduction)(torch.tensor(y), torch.tensor(t)).numpy())


def test_p07_loss_errors_are_clear() -> None:
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.CrossEntropyLoss("avg")
    with pytest.raises(ValueError, match=r"mse_loss: input has shape \(4, 1\) but target"):
        F.mse_loss(np.zeros((4, 1)), np.zeros(4))
    with pytest.raises(IndexError, match="cross_entropy: target 3 is out of bounds for 3"):
        F.cross_entropy(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"cross_entropy: .*expected target of shape \(2,\)"):
        F.cross_entropy(np.zeros((2, 3)), np.array([[0], [1]]))


def test_p07_argmax_argmin_and_the_creation_functions() -> None:
    scores = mg.tensor([[0.1, 0.9, 0.3], [0.8, 0.2, 0.5]], requires_grad=True)
    assert scores.argmax(axis=1).tolist() == [1, 0]
    assert scores.argmin(axis=1).tolist() == [0, 1]
    assert mg.argmax(scores).item() == 1 and not scores.argmax().requires_grad
    assert mg.zeros(2, 3).shape == mg.zeros((2, 3)).shape == (2, 3)
    assert mg.ones(4, dtype=np.float32).dtype == np.float32
    assert mg.zeros(2, requires_grad=True).requires_grad
    like = mg.zeros_like(scores)
    assert like.shape == (2, 3) and like.dtype == np.float64 and not like.requires_grad
    assert mg.ones_like(np.zeros(3, np.float32)).dtype == np.float32
    assert mg.arange(5).tolist() == [0, 1, 2, 3, 4]
    assert mg.arange(1.0, 2.0, 0.5).tolist() == [1.0, 1.5]
    assert mg.full((2,), 7.0).tolist() == [7.0, 7.0]
    np.random.seed(3)
    drawn = mg.randn(2, 3)
    np.random.seed(3)
    np.testing.assert_array_equal(drawn.data, np.random.randn(2, 3))   # the book's randn
    assert mg.randn(3, rng=1).tolist() == mg.randn((3,), rng=1).tolist()
    draws = mg.rand(100, rng=0).data
    assert draws.min() >= 0.0 and draws.max() < 1.0
    with pytest.raises(TypeError, match=r"zeros: the shape must be non-negative ints"):
        mg.zeros(2.5)


# ---------------------------------------------------------------- 8. help() shows parameters

def _public_ops() -> dict[str, object]:
    found = {}
    for module in (mg, ops, F):
        for name in dir(module):
            value = getattr(module, name)
            if not name.startswith("_") and inspect.isfunction(value) and \
                    getattr(value, "__module__", "").startswith("minigrad"):
                found[f"{module.__name__}.{name}"] = value
    return found


def test_p08_every_public_op_shows_its_parameters_and_a_docstring() -> None:
    functions = _public_ops()
    assert {"minigrad.relu", "minigrad.functional.sigmoid", "minigrad.sum", "minigrad.ops.mul",
            "minigrad.maximum", "minigrad.functional.cross_entropy"} <= set(functions)
    for name, function in functions.items():
        parameters = inspect.signature(function).parameters.values()   # type: ignore[arg-type]
        assert not any(p.kind is p.VAR_KEYWORD for p in parameters), name
        assert (function.__doc__ or "").strip(), f"{name} has no docstring"
    assert list(inspect.signature(mg.sum).parameters) == ["a", "axis", "keepdims"]
    assert "sum over `axis`" in (mg.sum.__doc__ or "")
    assert list(inspect.signature(mg.tensor([1.0]).sum).parameters) == ["axis", "keepdims"]


def test_p08_a_users_function_shows_its_forward_parameters() -> None:
    class Scale(mg.Function):
        """a * factor."""

        @staticmethod
        def forward(ctx: mg.Function, a: np.ndarray, factor: float = 2.0) -> np.ndarray:
            ctx.factor = factor
            return a * factor

        @staticmethod
        def backward(ctx: mg.Function, g: np.ndarray) -> np.ndarray:
            return g * ctx.factor

    assert str(inspect.signature(Scale.apply)) == "(a, factor=2.0) -> 'Tensor'"
    assert Scale.apply.__doc__ == "a * factor."
