"""minigrad.layers: each of the book's layers against finite differences (dx and the parameter
gradients, float64, a random upstream gradient), against minigrad's functional ops, PyTorch and
the book's formulas where they overlap, and the layer interface: parameters read from the very
arrays the user holds, fresh gradient arrays, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import functional as F
from minigrad.gradcheck import numerical_gradient
from minigrad.layers import (
    Affine,
    BatchNormalization,
    Convolution,
    Dropout,
    Pooling,
    Relu,
    Sigmoid,
    SoftmaxWithLoss,
)

seeds = st.integers(0, 2**32 - 1)
H = 1e-5        # central differences in float64: error ~H² plus rounding ~1e-16 / H


def numeric(f, array: np.ndarray) -> np.ndarray:
    """d f() / d array by central differences, `array` perturbed in place."""
    return numerical_gradient(lambda _: f(), array, h=H)


def close(actual: np.ndarray, expected: np.ndarray, what: str = "") -> None:
    assert actual.shape == expected.shape, what
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-8, err_msg=what)


def check_layer(forward, backward, x: np.ndarray, params: dict[str, np.ndarray],
                grads: dict[str, str], rng: np.random.Generator) -> np.ndarray:
    """Run forward(x) and backward(dout) with a random dout, and compare dx and each parameter
    gradient (attribute name in `grads`) with central differences of sum(forward(x) * dout)."""
    out = forward(x)
    assert isinstance(out, np.ndarray)
    dout = rng.normal(size=out.shape)
    dx = backward(dout)
    got = {name: getattr(backward.__self__, attr).copy() for name, attr in grads.items()}

    def f() -> float:
        return float(np.sum(forward(x) * dout))

    assert isinstance(dx, np.ndarray)
    close(dx, numeric(f, x), "dx")
    for name, array in params.items():
        close(got[name], numeric(f, array), name)
    return dx


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Normal values at least 0.05 from 0, so that ReLU's kink is never within H."""
    x = rng.normal(size=shape)
    return np.where(np.abs(x) < 0.05, np.copysign(0.05, x) + x, x)


def distinct(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values 0.1 apart and none near 0: every window has a single maximum, also against the
    zero padding."""
    size = int(np.prod(shape))
    return ((rng.permutation(size) - size / 2 + 0.5) * 0.1).reshape(shape)


# ------------------------------------------------------------ gradient checks


@given(n=st.integers(1, 4), shape=st.lists(st.integers(1, 3), min_size=0, max_size=2),
       out=st.integers(1, 4), seed=seeds)
def test_affine_gradients(n: int, shape: list[int], out: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2, *shape))           # 2-D, 3-D or 4-D: flattened to (n, in)
    features = int(np.prod(x.shape[1:]))
    W, b = rng.normal(size=(features, out)), rng.normal(size=out)
    layer = Affine(W, b)
    dx = check_layer(layer.forward, layer.backward, x, {"W": W, "b": b},
                     {"W": "dW", "b": "db"}, rng)
    assert dx.shape == x.shape and layer.original_x_shape == x.shape
    # the book's formulas
    dout = rng.normal(size=(n, out))
    layer.forward(x)
    rows = x.reshape(n, -1)
    close(layer.backward(dout), (dout @ W.T).reshape(x.shape))
    close(layer.dW, rows.T @ dout)
    close(layer.db, dout.sum(axis=0))


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), seed=seeds)
def test_relu_and_sigmoid_gradients(shape: list[int], seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = away_from_zero(rng, tuple(shape))
    relu = Relu()
    dx = check_layer(relu.forward, relu.backward, x, {}, {}, rng)
    assert np.all(dx[x < 0] == 0)
    relu.forward(x)
    np.testing.assert_array_equal(relu.mask, x <= 0)
    sigmoid = Sigmoid()
    check_layer(sigmoid.forward, sigmoid.backward, x, {}, {}, rng)
    out = sigmoid.forward(x)
    assert sigmoid.out is out
    close(out, 1 / (1 + np.exp(-x)))


@given(n=st.integers(1, 5), classes=st.integers(2, 5), onehot=st.booleans(), seed=seeds)
def test_softmax_with_loss_gradient(n: int, classes: int, onehot: bool, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, classes)) * 2
    labels = rng.integers(0, classes, size=n)
    t = np.eye(classes)[labels] if onehot else labels
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, t)
    assert type(loss) is float and layer.loss == loss
    y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    close(layer.y, y)
    # the book's loss (its 1e-7 inside the log aside) and gradient (y - t) / N
    np.testing.assert_allclose(loss, -np.mean(np.log(y[np.arange(n), labels])), rtol=1e-12)
    close(layer.backward(), (y - np.eye(classes)[labels]) / n)
    dout = rng.normal()
    layer.forward(x, t)
    dx = layer.backward(dout)
    close(dx, numeric(lambda: layer.forward(x, t) * dout, x))


def test_softmax_with_loss_on_one_sample_and_float32() -> None:
    layer = SoftmaxWithLoss()
    x = np.array([1.0, 2.0, 0.5])
    loss = layer.forward(x, 1)                             # a 1-D score vector and a label
    y = np.exp(x) / np.exp(x).sum()
    np.testing.assert_allclose(loss, -np.log(y[1]))
    close(layer.backward(1), y - np.eye(3)[1])
    loss32 = layer.forward(x.astype(np.float32)[None], np.array([1]))
    assert type(loss32) is float and abs(loss32 - loss) < 1e-6
    assert layer.backward().dtype == np.float32


@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3),
       ratio=st.sampled_from([0.0, 0.2, 0.5, 0.9]), train=st.booleans(), seed=seeds)
def test_dropout_gradient_and_the_books_semantics(shape: list[int], ratio: float, train: bool,
                                                  seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=tuple(shape))
    layer = Dropout(ratio)

    def forward(x: np.ndarray) -> np.ndarray:
        np.random.seed(seed)                              # the same mask at every call
        return layer.forward(x, train_flg=train)

    out = forward(x)
    if train:
        np.random.seed(seed)
        expected_mask = np.random.rand(*x.shape) > ratio  # the book's mask, same global state
        np.testing.assert_array_equal(layer.mask, expected_mask)
        close(out, x * expected_mask)
    else:
        close(out, x * (1.0 - ratio))
    dx = check_layer(forward, layer.backward, x, {}, {}, rng)
    if train:
        assert np.all(dx[~expected_mask] == 0)


@given(n=st.integers(2, 5), shape=st.sampled_from([(3,), (1,), (2, 2, 2), (1, 3, 1)]),
       train=st.booleans(), seed=seeds)
def test_batch_normalization_gradients(n: int, shape: tuple[int, ...], train: bool,
                                       seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, *shape)) * 2 + 1
    d = int(np.prod(shape))
    gamma, beta = rng.normal(size=d), rng.normal(size=d)
    layer = BatchNormalization(gamma, beta, running_mean=rng.normal(size=d),
                               running_var=rng.uniform(0.5, 2, size=d))

    def forward(x: np.ndarray) -> np.ndarray:
        return layer.forward(x, train_flg=train)

    dx = check_layer(forward, layer.backward, x, {"gamma": gamma, "beta": beta},
                     {"gamma": "dgamma", "beta": "dbeta"}, rng)
    assert dx.shape == x.shape


def test_batch_normalization_is_the_books() -> None:
    """Normalized as (N, -1) with the book's epsilon; running averages momentum * running +
    (1 - momentum) * batch, from zeros; the gradient the book's backward computes."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 2, 3, 3)) * 3 + 2               # 4-D: 18 features
    gamma, beta = rng.normal(size=18), rng.normal(size=18)
    layer = BatchNormalization(gamma, beta, momentum=0.8)
    out = layer.forward(x)
    rows = x.reshape(6, -1)
    mu, var = rows.mean(axis=0), rows.var(axis=0)
    std = np.sqrt(var + 1e-6)
    xn = (rows - mu) / std
    close(out, (gamma * xn + beta).reshape(x.shape))
    close(layer.running_mean, 0.2 * mu)
    close(layer.running_var, 0.2 * var)
    dout = rng.normal(size=x.shape)
    dx = layer.backward(dout)
    # the book's backward, step by step
    d = dout.reshape(6, -1)
    dbeta, dgamma = d.sum(axis=0), (xn * d).sum(axis=0)
    dxn = gamma * d
    dxc = dxn / std
    dstd = -np.sum(dxn * (rows - mu) / (std * std), axis=0)
    dvar = 0.5 * dstd / std
    dxc += (2.0 / 6) * (rows - mu) * dvar
    expected = dxc - dxc.sum(axis=0) / 6
    close(dx, expected.reshape(x.shape))
    close(layer.dgamma, dgamma)
    close(layer.dbeta, dbeta)
    # test mode: the running averages, which it leaves alone
    before = layer.running_mean.copy(), layer.running_var.copy()
    out = layer.forward(x, train_flg=False)
    close(out, (gamma * (rows - before[0]) / np.sqrt(before[1] + 1e-6) + beta).reshape(x.shape))
    close(layer.running_mean, before[0])
    close(layer.running_var, before[1])


conv_cases = st.tuples(st.integers(1, 2), st.integers(1, 2), st.integers(1, 3),   # N, C, FN
                       st.integers(1, 3), st.integers(1, 3),                       # FH, FW
                       st.integers(1, 2), st.integers(0, 1),                       # stride, pad
                       st.integers(0, 2), st.integers(0, 2))                       # H, W extra


@given(case=conv_cases, seed=seeds)
def test_convolution_gradients(case: tuple[int, ...], seed: int) -> None:
    n, c, fn, fh, fw, stride, pad, dh, dw = case
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, c, fh + dh + 1, fw + dw))
    W, b = rng.normal(size=(fn, c, fh, fw)), rng.normal(size=fn)
    layer = Convolution(W, b, stride, pad)
    dx = check_layer(layer.forward, layer.backward, x, {"W": W, "b": b},
                     {"W": "dW", "b": "db"}, rng)
    assert dx.shape == x.shape


pool_cases = st.tuples(st.integers(1, 2), st.integers(1, 2),                      # N, C
                       st.integers(1, 3), st.integers(1, 3),                      # pool h, w
                       st.integers(1, 3), st.integers(0, 1),                      # stride, pad
                       st.integers(0, 3), st.integers(0, 3))                      # H, W extra


@given(case=pool_cases, seed=seeds)
def test_pooling_gradient(case: tuple[int, ...], seed: int) -> None:
    n, c, ph, pw, stride, pad, dh, dw = case
    rng = np.random.default_rng(seed)
    x = distinct(rng, (n, c, ph + dh, pw + dw))
    layer = Pooling(ph, pw, stride, pad)
    out = layer.forward(x)
    close(out, book_pooling(x, ph, pw, stride, pad))
    dx = check_layer(layer.forward, layer.backward, x, {}, {}, rng)
    assert dx.shape == x.shape


def book_pooling(x: np.ndarray, ph: int, pw: int, stride: int, pad: int) -> np.ndarray:
    """Max over each window of x padded with zeros, one window at a time."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh, ow = (h + 2 * pad - ph) // stride + 1, (w + 2 * pad - pw) // stride + 1
    out = np.empty((n, c, oh, ow))
    for i in range(oh):
        for j in range(ow):
            window = xp[:, :, i * stride:i * stride + ph, j * stride:j * stride + pw]
            out[:, :, i, j] = window.max(axis=(2, 3))
    return out


def test_pooling_zero_padding_and_first_maximum_as_the_book() -> None:
    x = -np.ones((1, 1, 2, 2))
    layer = Pooling(2, 2, stride=2, pad=1)                  # every window holds padding
    np.testing.assert_array_equal(layer.forward(x), np.zeros((1, 1, 2, 2)))
    x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])              # a tie: the first maximum wins
    layer = Pooling(2, 2)
    assert layer.forward(x).item() == 3.0
    np.testing.assert_array_equal(layer.backward(np.array([[[[5.0]]]])),
                                  [[[[0.0, 5.0], [0.0, 0.0]]]])


# ------------------------------------------------------------ against F, PyTorch, models


def test_convolution_and_pooling_match_pytorch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 2, 7, 6))
    W, b = rng.normal(size=(4, 2, 3, 2)), rng.normal(size=4)
    conv, pool = Convolution(W, b, stride=2, pad=1), Pooling(2, 2, stride=1)
    h = conv.forward(x)
    out = pool.forward(h)
    dout = rng.normal(size=out.shape)
    dx = conv.backward(pool.backward(dout))

    xt = torch.tensor(x, requires_grad=True)
    Wt, bt = torch.tensor(W, requires_grad=True), torch.tensor(b, requires_grad=True)
    ht = torch.nn.functional.conv2d(xt, Wt, bt, stride=2, padding=1)
    outt = torch.nn.functional.max_pool2d(ht, 2, stride=1)
    outt.backward(torch.tensor(dout))
    close(h, ht.detach().numpy())
    close(out, outt.detach().numpy())
    close(dx, xt.grad.numpy())
    close(conv.dW, Wt.grad.numpy())
    close(conv.db, bt.grad.numpy())


def test_layers_give_what_functional_gives() -> None:
    rng = np.random.default_rng(2)
    x = rng.normal(size=(2, 3, 6, 6))
    W, b = rng.normal(size=(4, 3, 3, 3)), rng.normal(size=4)
    close(Convolution(W, b, 1, 1).forward(x), F.conv2d(x, W, b, 1, 1).data)
    close(Pooling(3, 3, stride=3).forward(x), F.max_pool2d(x, 3, 3).data)
    close(Relu().forward(x), F.relu(x).data)
    close(Sigmoid().forward(x), F.sigmoid(x).data)
    rows = x.reshape(2, -1)
    W2, b2 = rng.normal(size=(108, 5)), rng.normal(size=5)
    close(Affine(W2, b2).forward(x), F.linear(rows, W2, b2).data)
    t = np.array([1, 4])
    scores = rows @ W2
    assert SoftmaxWithLoss().forward(scores, t) == pytest.approx(
        F.softmax_cross_entropy(scores, t).item(), rel=1e-12)


def test_layers_give_the_gradient_of_models_two_layer_net() -> None:
    rng = np.random.default_rng(3)
    x, t = rng.normal(size=(7, 6)), rng.integers(0, 4, size=7)
    net = mg.models.TwoLayerNet(6, 5, 4, weight_init_std=0.5, activation="relu", rng=3)
    p = net.params
    layers = [Affine(p["W1"], p["b1"]), Relu(), Affine(p["W2"], p["b2"])]
    last = SoftmaxWithLoss()
    h = x
    for layer in layers:
        h = layer.forward(h)
    loss = last.forward(h, t)
    assert loss == pytest.approx(float(np.asarray(net.loss(x, t).data)), rel=1e-12)
    dout = last.backward(1)
    for layer in reversed(layers):
        dout = layer.backward(dout)
    expected = net.gradient(x, t)
    for key, got in (("W1", layers[0].dW), ("b1", layers[0].db), ("W2", layers[2].dW),
                     ("b2", layers[2].db)):
        np.testing.assert_allclose(got, expected[key], rtol=1e-10, atol=1e-12, err_msg=key)


# ------------------------------------------------------------ the layer interface


def test_parameters_are_the_users_arrays_read_at_every_forward() -> None:
    rng = np.random.default_rng(4)
    params = {"W": rng.normal(size=(3, 2)), "b": np.zeros(2)}
    layer = Affine(params["W"], params["b"])
    x = rng.normal(size=(4, 3))
    before = layer.forward(x)
    layer.backward(np.ones((4, 2)))
    params["W"] -= 0.1 * layer.dW                           # the book's in-place update
    assert layer.W is params["W"]
    close(layer.forward(x), x @ params["W"])
    assert not np.allclose(layer.forward(x), before)
    layer.W = np.zeros((3, 2))                              # the book's load_params reassigns
    np.testing.assert_array_equal(layer.forward(x), np.zeros((4, 2)))
    conv = Convolution(rng.normal(size=(2, 1, 2, 2)), np.zeros(2))
    images = rng.normal(size=(1, 1, 3, 3))
    conv.W[...] = 0.0                                       # in place: no copy was taken
    np.testing.assert_array_equal(conv.forward(images), np.zeros((1, 2, 2, 2)))


def test_gradients_are_fresh_arrays() -> None:
    rng = np.random.default_rng(5)
    W, b = rng.normal(size=(3, 3)), rng.normal(size=3)
    layer = Affine(W, b)
    x, dout = rng.normal(size=(3, 3)), rng.normal(size=(3, 3))
    layer.forward(x)
    dx = layer.backward(dout)
    arrays = [dx, layer.dW, layer.db]
    for i, a in enumerate(arrays):
        assert type(a) is np.ndarray and a.flags.writeable
        for other in [*arrays[:i], x, W, b, dout]:
            assert not np.may_share_memory(a, other)
    first = layer.dW
    layer.backward(dout)                                    # again: the same values, new arrays
    assert layer.dW is not first
    np.testing.assert_array_equal(layer.dW, first)
    bn = BatchNormalization(np.ones(3), np.zeros(3))
    bn.forward(x)
    bn.backward(dout)
    assert not np.may_share_memory(bn.dgamma, bn.dbeta)


def test_layers_chain_as_in_the_book() -> None:
    """Each layer's input is the plain array the previous returned; backward goes layer by
    layer and gives the gradient of the whole chain."""
    rng = np.random.default_rng(6)
    x = rng.normal(size=(2, 1, 5, 5))
    W1, b1 = rng.normal(size=(2, 1, 3, 3)), rng.normal(size=2)
    W2, b2 = rng.normal(size=(8, 3)), rng.normal(size=3)
    chain = [Convolution(W1, b1, pad=1), Sigmoid(), Pooling(2, 2), Affine(W2, b2)]

    def forward(x: np.ndarray) -> np.ndarray:
        for layer in chain:
            x = layer.forward(x)
        return x

    def backward(dout: np.ndarray) -> np.ndarray:
        for layer in reversed(chain):
            dout = layer.backward(dout)
        return dout

    out = forward(x)
    dout = rng.normal(size=out.shape)
    dx = backward(dout)

    def f() -> float:
        return float(np.sum(forward(x) * dout))

    got = {"x": dx, "W1": chain[0].dW.copy(), "b1": chain[0].db.copy(),
           "W2": chain[3].dW.copy(), "b2": chain[3].db.copy()}
    for name, array in (("x", x), ("W1", W1), ("b1", b1), ("W2", W2), ("b2", b2)):
        close(got[name], numeric(f, array), name)


def test_backward_before_forward_or_after_no_grad_is_an_error_naming_the_layer() -> None:
    layers = [(Affine(np.ones((2, 2)), np.zeros(2)), ()), (Relu(), ()), (Sigmoid(), ()),
              (SoftmaxWithLoss(), (np.array([0]),)), (Dropout(0.5), ()),
              (BatchNormalization(np.ones(2), np.zeros(2)), ()),
              (Convolution(np.ones((1, 1, 1, 1)), np.zeros(1)), ()), (Pooling(1, 1), ())]
    for layer, extra in layers:
        name = type(layer).__name__
        with pytest.raises(RuntimeError, match=f"{name}.backward: no forward has run yet"):
            layer.backward(np.ones(1))
        x = np.ones((1, 1, 1, 2)) if name in ("Convolution", "Pooling") else np.ones((1, 2))
        with mg.no_grad():
            out = layer.forward(x, *extra)
        with pytest.raises(RuntimeError, match=f"{name}.backward: the last forward ran under "
                                               r"no_grad\(\)"):
            layer.backward(np.ones(np.shape(out)))
        layer.forward(x, *extra)                            # recorded again: backward works
        layer.backward(np.ones(np.shape(layer.forward(x, *extra))))


def test_no_grad_forward_gives_the_same_output() -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(2, 1, 4, 4))
    conv = Convolution(rng.normal(size=(3, 1, 3, 3)), rng.normal(size=3), pad=1)
    recorded = conv.forward(x)
    with mg.no_grad():
        np.testing.assert_array_equal(conv.forward(x), recorded)


def test_bad_dout_and_bad_inputs_are_errors_naming_the_layer_and_the_shapes() -> None:
    layer = Affine(np.ones((3, 2)), np.zeros(2))
    layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"Affine.backward: dout of shape \(4, 3\) does not fit "
                                         r"the output of the last forward, of shape \(4, 2\)"):
        layer.backward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=r"Affine: input of shape \(4, 5\) does not fit W of "
                                         r"shape \(3, 2\) and b of shape \(2,\)"):
        layer.forward(np.ones((4, 5)))
    with pytest.raises(RuntimeError, match="Affine.backward: the last forward failed"):
        layer.backward(np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"Convolution.forward: conv2d: input of shape "
                                         r"\(1, 2, 5, 5\) and weight of shape \(1, 3, 3, 3\)"):
        Convolution(np.ones((1, 3, 3, 3)), np.zeros(1)).forward(np.ones((1, 2, 5, 5)))
    with pytest.raises(ValueError, match=r"Pooling.forward: max_pool2d: kernel \(3, 3\) is "
                                         r"larger than the input of shape \(1, 1, 2, 2\)"):
        Pooling(3, 3).forward(np.ones((1, 1, 2, 2)))
    with pytest.raises(ValueError, match=r"SoftmaxWithLoss.forward: softmax_cross_entropy: "
                                         r"targets of shape \(3,\)"):
        SoftmaxWithLoss().forward(np.ones((2, 4)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"BatchNormalization: gamma of shape \(3,\) does not "
                                         r"fit input of shape \(2, 2, 2\)"):
        BatchNormalization(np.ones(3), np.zeros(3)).forward(np.ones((2, 2, 2)))
    with pytest.raises(TypeError, match="Affine: W has dtype int64; parameters must be "
                                        "floating point"):
        Affine(np.ones((2, 2), dtype=np.int64), np.zeros(2)).forward(np.ones((1, 2)))
    with pytest.raises(TypeError, match="Affine: b must be an ndarray"):
        Affine(np.ones((2, 2)), [0.0, 0.0]).forward(np.ones((1, 2)))   # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"Dropout: dropout_ratio must be in \[0, 1\]"):
        Dropout(1.5)
    with pytest.raises(TypeError, match="Pooling: stride must be an integer"):
        Pooling(2, 2, stride=1.5)                                       # type: ignore[arg-type]


def test_integer_inputs_are_converted_and_get_a_gradient() -> None:
    layer = Affine(np.ones((3, 2)), np.zeros(2))
    out = layer.forward(np.arange(6, dtype=np.uint8).reshape(2, 3))
    np.testing.assert_array_equal(out, [[3.0, 3.0], [12.0, 12.0]])
    dx = layer.backward(np.ones((2, 2)))
    assert dx.dtype.kind == "f"
    np.testing.assert_array_equal(dx, np.full((2, 3), 2.0))


def test_backward_after_an_optimizer_changed_the_weights_says_so() -> None:
    params = {"W": np.ones((2, 2)), "b": np.zeros(2)}
    layer = Affine(params["W"], params["b"])
    layer.forward(np.ones((1, 2)))
    layer.backward(np.ones((1, 2)))
    mg.optim.SGD(lr=0.1).update(params, {"W": layer.dW, "b": layer.db})
    with pytest.raises(RuntimeError, match="Affine.backward: linear: an input it saved was "
                                           "modified in place"):
        layer.backward(np.ones((1, 2)))
