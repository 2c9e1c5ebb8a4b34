"""minigrad.optim: each update rule against its formula written out in numpy, in place."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim

STEPS = 4


def grads_sequence(shape=(3, 2), seed=0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for _ in range(STEPS)]


def reference(name: str, W: np.ndarray, grads: list[np.ndarray], **hp) -> np.ndarray:
    """The book's chapter-6 formulas, step by step, on a copy of W."""
    W = W.copy()
    lr = hp["lr"]
    v = np.zeros_like(W)
    h = np.zeros_like(W)
    m = np.zeros_like(W)
    wd = hp.get("weight_decay", 0.0)
    for t, g in enumerate(grads, start=1):
        g = g + wd * W
        if name == "sgd":
            W = W - lr * g
        elif name == "momentum":
            v = hp["momentum"] * v - lr * g
            W = W + v
        elif name == "nesterov":
            mu = hp["momentum"]
            W = W + mu * mu * v - (1 + mu) * lr * g
            v = mu * v - lr * g
        elif name == "adagrad":
            h = h + g * g
            W = W - lr * g / (np.sqrt(h) + 1e-7)
        elif name == "rmsprop":
            rho = hp["decay_rate"]
            h = rho * h + (1 - rho) * g * g
            W = W - lr * g / (np.sqrt(h) + 1e-7)
        elif name == "adam":
            b1, b2 = hp["beta1"], hp["beta2"]
            lr_t = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
            m = m + (1 - b1) * (g - m)
            v = v + (1 - b2) * (g * g - v)
            W = W - lr_t * m / (np.sqrt(v) + 1e-7)
    return W


CASES = [
    ("sgd", lambda ps: optim.SGD(ps, lr=0.1), {"lr": 0.1}),
    ("momentum", lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), {"lr": 0.1, "momentum": 0.9}),
    ("momentum", lambda ps: optim.Momentum(ps, lr=0.05), {"lr": 0.05, "momentum": 0.9}),
    ("nesterov", lambda ps: optim.SGD(ps, lr=0.1, momentum=0.8, nesterov=True),
     {"lr": 0.1, "momentum": 0.8}),
    ("nesterov", lambda ps: optim.Nesterov(ps), {"lr": 0.01, "momentum": 0.9}),
    ("adagrad", lambda ps: optim.AdaGrad(ps, lr=0.1), {"lr": 0.1}),
    ("rmsprop", lambda ps: optim.RMSprop(ps, lr=0.01, decay_rate=0.9),
     {"lr": 0.01, "decay_rate": 0.9}),
    ("adam", lambda ps: optim.Adam(ps, lr=0.01, beta1=0.8, beta2=0.99),
     {"lr": 0.01, "beta1": 0.8, "beta2": 0.99}),
    ("adam", lambda ps: optim.Adam(ps), {"lr": 0.001, "beta1": 0.9, "beta2": 0.999}),
    ("sgd", lambda ps: optim.SGD(ps, lr=0.1, weight_decay=0.01),
     {"lr": 0.1, "weight_decay": 0.01}),
    ("adam", lambda ps: optim.Adam(ps, lr=0.01, weight_decay=0.1),
     {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "weight_decay": 0.1}),
]
IDS = [f"{name}-{i}" for i, (name, _, _) in enumerate(CASES)]


@pytest.mark.parametrize("name, make, hp", CASES, ids=IDS)
def test_step_follows_the_formula_in_place(name, make, hp) -> None:
    W0 = np.random.default_rng(1).normal(size=(3, 2))
    p = nn.Parameter(W0.copy())
    array = p.data
    opt = make([p])
    grads = grads_sequence()
    for g in grads:
        p.grad = mg.Tensor(g.copy())
        opt.step()
    assert p.data is array                      # updated in place
    np.testing.assert_allclose(p.data, reference(name, W0, grads, **hp), rtol=1e-12,
                               atol=1e-15)
    assert not np.allclose(p.data, W0)


@pytest.mark.parametrize("name, make, hp", CASES, ids=IDS)
def test_book_update_on_dicts_matches_the_formula(name, make, hp) -> None:
    W0 = np.random.default_rng(2).normal(size=(3, 2))
    params = {"W": W0.copy(), "b": np.zeros(2)}
    array = params["W"]
    opt = make(None)                            # the book's form: no parameters, update() only
    grads = grads_sequence()
    for g in grads:
        opt.update(params, {"W": g, "b": None})
    assert params["W"] is array
    np.testing.assert_allclose(params["W"], reference(name, W0, grads, **hp), rtol=1e-12,
                               atol=1e-15)
    np.testing.assert_array_equal(params["b"], 0.0)          # no gradient, no update


def test_parameters_without_gradients_are_skipped_and_state_is_per_parameter() -> None:
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.Momentum([a, b], lr=0.1)
    a.grad = mg.Tensor(np.ones(2))
    opt.step()
    np.testing.assert_allclose(a.data, 0.9)
    np.testing.assert_array_equal(b.data, 1.0)
    b.grad = mg.Tensor(np.ones(2))
    opt.step()                                  # b's velocity starts from zero
    np.testing.assert_allclose(b.data, 0.9)
    np.testing.assert_allclose(a.data, 0.9 - 0.1 - 0.09)


def test_update_shares_arrays_with_a_models_params_dict() -> None:
    layer = nn.Linear(2, 2, rng=0)
    book_params = {"W": layer.W.data}            # the book's params dict style
    opt = optim.SGD(layer, lr=0.5)               # a Module is accepted too
    loss = (layer(np.ones((1, 2))) ** 2).sum()
    loss.backward()
    expected = layer.W.data - 0.5 * layer.W.grad.data
    opt.step()
    np.testing.assert_allclose(book_params["W"], expected)


def test_step_runs_without_recording_and_zero_grad_clears() -> None:
    p = nn.Parameter(np.array([1.0, 2.0]))
    opt = optim.Adam([p], lr=0.1)
    (p * p).sum().backward()
    opt.step()
    assert p.is_leaf and p.requires_grad
    opt.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("make", [
    lambda ps: optim.SGD(ps, lr=0.1), lambda ps: optim.Momentum(ps, lr=0.05),
    lambda ps: optim.Nesterov(ps, lr=0.05), lambda ps: optim.AdaGrad(ps, lr=0.5),
    lambda ps: optim.RMSprop(ps, lr=0.05), lambda ps: optim.Adam(ps, lr=0.1)])
def test_optimizers_minimise_the_books_function(make) -> None:
    # f(x, y) = x²/20 + y², the book's chapter-6 example, from (-7, 2)
    p = nn.Parameter(np.array([-7.0, 2.0]))
    opt = make([p])
    for _ in range(300):
        opt.zero_grad()
        (p[0] ** 2 / 20 + p[1] ** 2).backward()
        opt.step()
    assert np.linalg.norm(p.data) < 0.5


def test_invalid_hyperparameters_are_errors() -> None:
    p = [nn.Parameter(np.zeros(1))]
    with pytest.raises(ValueError, match="lr"):
        optim.SGD(p, lr=-1)
    with pytest.raises(ValueError, match="nesterov=True needs momentum"):
        optim.SGD(p, lr=0.1, nesterov=True)
    with pytest.raises(ValueError, match="momentum"):
        optim.SGD(p, lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match="beta2"):
        optim.Adam(p, beta2=1.0)
    with pytest.raises(TypeError, match="parameter 0 is a ndarray"):
        optim.SGD([np.zeros(2)], lr=0.1)
    opt = optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match=r"gradient of shape \(2,\)"):
        opt.update({"W": np.zeros(1)}, {"W": np.zeros(2)})


def test_the_books_constructors_take_a_learning_rate_and_no_parameters():
    from minigrad import optim

    params = {"W": np.array([1.0, 2.0])}
    optim.SGD(0.5).update(params, {"W": np.array([1.0, 1.0])})
    np.testing.assert_allclose(params["W"], [0.5, 1.5])
    assert optim.Momentum(lr=0.01).lr == 0.01 and optim.Adam().lr == 0.001


def test_every_optimizer_updates_a_scalar_parameter():
    from minigrad import optim

    for make in (lambda p: optim.SGD([p], lr=0.1), lambda p: optim.SGD([p], 0.1, momentum=0.9),
                 lambda p: optim.AdaGrad([p]), lambda p: optim.RMSprop([p]),
                 lambda p: optim.Adam([p], lr=0.1)):
        p = mg.tensor(3.0, requires_grad=True)
        opt = make(p)
        for _ in range(3):
            opt.zero_grad()
            (p * p).backward()
            opt.step()
        assert p.shape == () and p.item() < 3.0
