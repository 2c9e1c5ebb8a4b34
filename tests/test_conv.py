"""Convolutional networks: im2col/col2im, conv2d, pooling, the layers and SimpleConvNet.

Gradients are checked against finite differences (first and second order)
over hypothesis-drawn shapes, strides, paddings and kernels, and values and
gradients against PyTorch where it is installed.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import functional as F
from minigrad import nn
from minigrad.models import SimpleConvNet
from minigrad.testing import assert_gradcheck, assert_gradgradcheck

# ------------------------------------------------------------ drawn cases


@st.composite
def conv_cases(draw, max_side: int = 5):
    """(x shape, W shape, stride, padding) for conv2d, every kernel fitting its padded input."""
    n = draw(st.integers(1, 2), label="N")
    c = draw(st.integers(1, 2), label="C")
    fn = draw(st.integers(1, 2), label="FN")
    h, w = draw(st.integers(1, max_side), label="H"), draw(st.integers(1, max_side), label="W")
    padding = (draw(st.integers(0, 2), label="pad h"), draw(st.integers(0, 2), label="pad w"))
    kh = draw(st.integers(1, min(h + 2 * padding[0], 4)), label="kh")
    kw = draw(st.integers(1, min(w + 2 * padding[1], 4)), label="kw")
    stride = (draw(st.integers(1, 3), label="stride h"), draw(st.integers(1, 3), label="stride w"))
    return (n, c, h, w), (fn, c, kh, kw), stride, padding


@st.composite
def pool_cases(draw):
    """(x shape, kernel, stride, padding) for pooling: padding at most half the kernel."""
    n, c = draw(st.integers(1, 2), label="N"), draw(st.integers(1, 2), label="C")
    h, w = draw(st.integers(1, 5), label="H"), draw(st.integers(1, 5), label="W")
    kh, kw = draw(st.integers(1, 3), label="kh"), draw(st.integers(1, 3), label="kw")
    padding = (draw(st.integers(0, kh // 2), label="pad h"),
               draw(st.integers(0, kw // 2), label="pad w"))
    if kh > h + 2 * padding[0] or kw > w + 2 * padding[1]:
        kh, kw, padding = min(kh, h), min(kw, w), (0, 0)
    stride = (draw(st.integers(1, 3), label="stride h"), draw(st.integers(1, 3), label="stride w"))
    return (n, c, h, w), (kh, kw), stride, padding


def distinct(shape, seed):
    """Values in [-2, 2], every two at least 0.1 apart (no ties: max-pool is smooth there)."""
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape))
    values = rng.permutation(size) * (4.0 / max(size, 1)) - 2.0 + 0.01 * rng.random(size)
    return values.reshape(shape)


def normal(shape, seed):
    return np.random.default_rng(seed).standard_normal(shape)


# The edge cases the issue names, checked on every run besides the drawn ones.
EDGES = [
    ((1, 1, 4, 4), (2, 1, 4, 4), (1, 1), (0, 0)),       # kernel = input size, batch 1
    ((2, 3, 5, 4), (2, 3, 2, 2), (3, 3), (0, 0)),       # stride > kernel, C > 1
    ((1, 2, 3, 3), (3, 2, 3, 3), (1, 2), (1, 2)),       # padding ≥ 1, pairs
    ((2, 1, 1, 1), (1, 1, 1, 1), (1, 1), (0, 0)),       # 1x1 everything
]


@settings(max_examples=15)
@given(case=conv_cases(), seed=st.integers(0, 2**16))
@example(case=EDGES[0], seed=0)
@example(case=EDGES[1], seed=1)
@example(case=EDGES[2], seed=2)
@example(case=EDGES[3], seed=3)
def test_conv2d_gradients_first_and_second_order(case, seed):
    x_shape, w_shape, stride, padding = case
    x, W, b = normal(x_shape, seed), normal(w_shape, seed + 1), normal(w_shape[:1], seed + 2)

    def fn(x, W, b):
        return F.conv2d(x, W, b, stride=stride, padding=padding)

    assert_gradcheck(fn, x, W, b)
    # random upstream gradient; fast mode (vᵀJu for random u, v) keeps it quick
    assert_gradgradcheck(fn, x, W, b, seed=seed, fast_mode=True)


@settings(max_examples=10)
@given(case=conv_cases(), seed=st.integers(0, 2**16))
def test_conv2d_without_bias_and_integer_arguments(case, seed):
    x_shape, w_shape, stride, padding = case
    assume(w_shape[3] <= x_shape[3] + 2 * padding[0])       # the kernel fits with padding[0]
    x, W = normal(x_shape, seed), normal(w_shape, seed + 1)
    assert_gradcheck(lambda x, W: F.conv2d(x, W, stride=stride[0], padding=padding[0]), x, W)


@given(case=pool_cases(), seed=st.integers(0, 2**16))
@example(case=((1, 1, 4, 4), (4, 4), (1, 1), (0, 0)), seed=0)      # kernel = input size
@example(case=((2, 3, 5, 5), (2, 2), (3, 3), (1, 1)), seed=1)      # stride > kernel, padding
@example(case=((1, 2, 5, 4), (3, 3), (1, 2), (1, 1)), seed=2)      # overlapping windows
def test_pooling_gradients_first_and_second_order(case, seed):
    x_shape, kernel, stride, padding = case
    x = distinct(x_shape, seed)
    for pool in (F.max_pool2d, F.avg_pool2d):
        def fn(x, pool=pool):
            return pool(x, kernel, stride, padding)

        assert_gradcheck(fn, x)
        assert_gradgradcheck(fn, x, seed=seed, fast_mode=True)


@given(case=conv_cases(), seed=st.integers(0, 2**16))
def test_im2col_and_col2im_gradients_and_adjointness(case, seed):
    x_shape, (_, _, kh, kw), stride, pad = case
    x = normal(x_shape, seed)
    col = F.im2col(x, kh, kw, stride, pad).data
    c = normal(col.shape, seed + 1)
    # <im2col(x), c> == <x, col2im(c)>: each is the other's adjoint
    back = F.col2im(c, x_shape, kh, kw, stride, pad).data
    assert np.sum(col * c) == pytest.approx(np.sum(x * back), rel=1e-10, abs=1e-10)
    assert_gradcheck(lambda x: F.im2col(x, kh, kw, stride, pad) ** 2, x)
    assert_gradgradcheck(lambda c: F.col2im(c, x_shape, kh, kw, stride, pad) ** 2, c,
                         seed=seed, fast_mode=True)


def test_im2col_layout_is_the_books():
    """Rows ordered (n, oh, ow), columns (c, kh, kw), zero padding: checked by loops."""
    x = normal((2, 3, 5, 4), 0)
    kh, kw, (sh, sw), (ph, pw) = 3, 2, (2, 1), (1, 0)
    col = F.im2col(x, kh, kw, (sh, sw), (ph, pw)).data
    xp = np.pad(x, [(0, 0), (0, 0), (ph, ph), (pw, pw)])
    oh, ow = (5 + 2 * ph - kh) // sh + 1, (4 + 2 * pw - kw) // sw + 1
    expected = [xp[n, :, i * sh:i * sh + kh, j * sw:j * sw + kw].ravel()
                for n in range(2) for i in range(oh) for j in range(ow)]
    np.testing.assert_array_equal(col, np.array(expected))
    # col2im adds overlapping windows: col2im(im2col(ones)) counts windows per pixel
    counts = F.col2im(F.im2col(np.ones((1, 1, 3, 3)), 2, 2), (1, 1, 3, 3), 2, 2).data
    np.testing.assert_array_equal(counts[0, 0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


# ------------------------------------------------------------ semantics

def test_max_pool_ties_give_the_gradient_to_the_first_maximum():
    x = mg.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    F.max_pool2d(x, 2).sum().backward()
    expected = np.zeros((4, 4))
    expected[::2, ::2] = 1.0                       # the top-left of each 2x2 window
    np.testing.assert_array_equal(x.grad.data[0, 0], expected)
    # overlapping windows: each window's gradient goes to its own first maximum
    x = mg.tensor([[[[1.0, 3.0, 3.0, 1.0]]]], requires_grad=True)
    F.max_pool2d(x, (1, 2), stride=1).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [[[[0.0, 2.0, 1.0, 0.0]]]])



def pool_gradient_by_loops(x, g, kernel, stride, padding):
    """max_pool2d's input gradient, one window at a time, by PyTorch's rule: the first
    maximum in row-major order, or the last NaN of a window holding NaN (padding never)."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    grad = np.zeros_like(x)
    n, c, oh, ow = g.shape
    for i, j, r, q in np.ndindex(n, c, oh, ow):
        best = None
        for a in range(kh):
            for b in range(kw):
                h, w = r * sh + a - ph, q * sw + b - pw
                if not (0 <= h < x.shape[2] and 0 <= w < x.shape[3]):
                    continue
                v = x[i, j, h, w]
                if best is None or np.isnan(v) or v > x[i, j, best[0], best[1]]:
                    best = (h, w)
        grad[i, j, best[0], best[1]] += g[i, j, r, q]
    return grad


@pytest.mark.parametrize("kernel,stride,padding", [
    ((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 1), (1, 1)), ((2, 3), (1, 2), (1, 1)),
    ((3, 3), (2, 2), (0, 0)), ((2, 2), (3, 3), (1, 1)), ((4, 4), (1, 1), (2, 2))])
def test_max_pool_gives_the_gradient_of_a_window_holding_nan_to_its_nan(kernel, stride,
                                                                        padding):
    rng = np.random.default_rng(7)
    x = rng.integers(-2, 3, (2, 2, 6, 7)).astype(np.float64)          # ties too
    x[rng.random(x.shape) < 0.15] = np.nan              # windows with none, one or several
    x[0, 0, 0, 0] = x[1, 1, -1, -1] = np.nan            # at the corners, next to the padding
    y = F.max_pool2d(mg.tensor(x), kernel, stride, padding)
    g = normal(y.shape, 1)
    for layout in ("C", "channels-last"):
        data = x if layout == "C" else np.ascontiguousarray(x.transpose(0, 2, 3, 1)) \
            .transpose(0, 3, 1, 2)
        mx = mg.Tensor(data.copy(), requires_grad=True)
        y = F.max_pool2d(mx, kernel, stride, padding)
        y.backward(g)
        np.testing.assert_allclose(mx.grad.data,
                                   pool_gradient_by_loops(x, g, kernel, stride, padding),
                                   rtol=1e-12, atol=1e-12)     # (sums in another order)
    try:
        import torch
    except ImportError:
        return
    tx = torch.tensor(x, requires_grad=True)
    ty = torch.nn.functional.max_pool2d(tx, kernel, stride, padding)
    ty.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(y.data, ty.detach().numpy())
    np.testing.assert_allclose(mx.grad.data, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_max_pool_pads_with_minus_infinity():
    x = -np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(F.max_pool2d(x, 2, 1, 1).data, -np.ones((1, 1, 3, 3)))
    np.testing.assert_array_equal(F.avg_pool2d(x, 2, 1, 1).data[0, 0, 0, 0], -0.25)


def test_conv2d_is_cross_correlation_with_floor_output_size():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    W = np.array([[[[1.0, 0.0], [0.0, -1.0]]]])
    y = F.conv2d(x, W, np.array([0.5]), stride=3)        # floor((4 - 2) / 3) + 1 = 1
    assert y.shape == (1, 1, 1, 1)
    assert y.item() == x[0, 0, 0, 0] - x[0, 0, 1, 1] + 0.5


@pytest.mark.parametrize("fn", [
    lambda x, W, b: F.conv2d(x, W, b, stride=(2, 1), padding=1),
    lambda x, W, b: F.max_pool2d(F.conv2d(x, W, b), 2) * 1.5,
    lambda x, W, b: F.avg_pool2d(x, 2, 1, 1),
    lambda x, W, b: F.flatten(x),
])
def test_float32_is_kept_in_values_and_gradients(fn):
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((2, 3, 6, 5)), dtype=np.float32, requires_grad=True)
    W = mg.tensor(rng.standard_normal((4, 3, 3, 3)), dtype=np.float32, requires_grad=True)
    b = mg.tensor(rng.standard_normal(4), dtype=np.float32, requires_grad=True)
    y = fn(x, W, b)
    assert y.dtype == np.float32
    y.sum().backward()
    for t in (x, W, b):
        assert t.grad is None or t.grad.dtype == np.float32


def test_second_order_through_conv2d_matches_a_closed_form():
    """d/dW of |dL/dx|² for L = sum(conv2d(x, W) * v) is linear in W: compare with the graph."""
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((1, 2, 4, 4)), requires_grad=True)
    W = mg.tensor(rng.standard_normal((3, 2, 2, 2)), requires_grad=True)
    v = rng.standard_normal((1, 3, 3, 3))
    (gx,) = mg.grad((F.conv2d(x, W) * v).sum(), x, create_graph=True)
    penalty = (gx * gx).sum()
    (gW,) = mg.grad(penalty, W)
    # gx = col2im(v_rows @ Wmat): penalty is a quadratic form in W, so gW = 2 * A W with
    # A found column by column; check against finite differences of the penalty instead.
    eps = 1e-6
    numeric = np.zeros(W.shape)
    for index in np.ndindex(W.shape):
        Wp, Wm = W.data.copy(), W.data.copy()
        Wp[index] += eps
        Wm[index] -= eps
        values = []
        for Wk in (Wp, Wm):
            xk = mg.tensor(x.data, requires_grad=True)
            (g,) = mg.grad((F.conv2d(xk, Wk) * v).sum(), xk)
            values.append(float((g.data ** 2).sum()))
        numeric[index] = (values[0] - values[1]) / (2 * eps)
    np.testing.assert_allclose(gW.data, numeric, rtol=1e-6, atol=1e-6)


# ------------------------------------------------------------ against PyTorch

def _torch_case(torch, x, W, b, dtype):
    return [torch.tensor(a.astype(dtype), requires_grad=True) for a in (x, W, b)]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), ((1, 2), (2, 0)), (3, 2)])
def test_conv2d_matches_pytorch(dtype, stride, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    x, W, b = (rng.standard_normal(s) for s in ((3, 4, 9, 7), (5, 4, 3, 2), (5,)))
    mx, mW, mb = (mg.tensor(a.astype(dtype), requires_grad=True) for a in (x, W, b))
    tx, tW, tb = _torch_case(torch, x, W, b, dtype)
    y = F.conv2d(mx, mW, mb, stride=stride, padding=padding)
    ty = torch.nn.functional.conv2d(tx, tW, tb, stride=stride, padding=padding)
    g = rng.standard_normal(ty.shape).astype(dtype)
    y.backward(g)
    ty.backward(torch.from_numpy(g))
    tol = {"rtol": 1e-5, "atol": 1e-5} if dtype == np.float32 else {"rtol": 1e-12, "atol": 1e-12}
    assert y.dtype == dtype and y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.data, ty.detach().numpy(), **tol)
    for m, t in ((mx, tx), (mW, tW), (mb, tb)):
        assert m.grad.dtype == dtype
        np.testing.assert_allclose(m.grad.data, t.grad.numpy(), **tol)


@pytest.mark.parametrize("kernel,stride,padding", [
    (2, None, 0), (3, 1, 1), ((2, 3), (1, 2), (1, 1)), (3, 2, 0), (2, 3, 1)])
def test_pooling_matches_pytorch_ties_included(kernel, stride, padding):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    x = rng.integers(-2, 3, (2, 3, 7, 6)).astype(np.float64)      # many ties, negatives
    g_seed = rng.integers(2**16)
    for ours, theirs in ((F.max_pool2d, torch.nn.functional.max_pool2d),
                         (F.avg_pool2d, torch.nn.functional.avg_pool2d)):
        mx = mg.tensor(x, requires_grad=True)
        tx = torch.tensor(x, requires_grad=True)
        y = ours(mx, kernel, stride, padding)
        ty = theirs(tx, kernel, stride, padding)
        g = normal(ty.shape, g_seed)
        y.backward(g)
        ty.backward(torch.from_numpy(g))
        np.testing.assert_allclose(y.data, ty.detach().numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(mx.grad.data, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_double_backward_through_conv_and_pooling_matches_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    x, W, b = (rng.standard_normal(s) for s in ((2, 2, 6, 6), (3, 2, 3, 3), (3,)))

    def ours():
        mx, mW, mb = (mg.tensor(a, requires_grad=True) for a in (x, W, b))
        y = F.avg_pool2d(F.max_pool2d(F.conv2d(mx, mW, mb, padding=1), 2, 1), 2)
        (gx,) = mg.grad((y ** 2).sum(), mx, create_graph=True)
        (gW,) = mg.grad((gx ** 2).sum(), mW)
        return gx.data, gW.data

    def theirs():
        tx, tW, tb = _torch_case(torch, x, W, b, np.float64)
        tf = torch.nn.functional
        y = tf.avg_pool2d(tf.max_pool2d(tf.conv2d(tx, tW, tb, padding=1), 2, 1), 2)
        (gx,) = torch.autograd.grad((y ** 2).sum(), tx, create_graph=True)
        (gW,) = torch.autograd.grad((gx ** 2).sum(), tW)
        return gx.detach().numpy(), gW.numpy()

    for a, t in zip(ours(), theirs()):
        np.testing.assert_allclose(a, t, rtol=1e-10, atol=1e-10)


# ------------------------------------------------------------ errors

@pytest.mark.parametrize("call,words", [
    (lambda: F.conv2d(np.zeros((1, 3, 5, 5)), np.zeros((2, 2, 3, 3))),
     ["(1, 3, 5, 5)", "(2, 2, 3, 3)", "channels"]),
    (lambda: F.conv2d(np.zeros((1, 1, 2, 2)), np.zeros((2, 1, 3, 3))),
     ["(1, 1, 2, 2)", "(2, 1, 3, 3)", "larger"]),
    (lambda: F.conv2d(np.zeros((3, 5, 5)), np.zeros((2, 3, 3, 3))), ["(3, 5, 5)", "4-D"]),
    (lambda: F.conv2d(np.zeros((1, 1, 5, 5)), np.zeros((2, 1, 3, 3)), np.zeros(3)),
     ["bias", "(3,)", "(2, 1, 3, 3)"]),
    (lambda: F.max_pool2d(np.zeros((1, 1, 4, 4)), 2, padding=2), ["padding", "half"]),
    (lambda: F.max_pool2d(np.zeros((1, 1, 2, 2)), 3), ["(1, 1, 2, 2)", "kernel"]),
    (lambda: F.col2im(np.zeros((4, 8)), (1, 1, 4, 4), 3, 3), ["(4, 8)", "(1, 1, 4, 4)"]),
])
def test_shape_errors_name_the_shapes(call, words):
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert word in str(info.value)


def test_bad_sizes_are_rejected():
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match="stride must be at least 1"):
        F.conv2d(x, np.zeros((1, 1, 2, 2)), stride=0)
    with pytest.raises(TypeError, match="kernel_size must be an int or a pair"):
        F.max_pool2d(x, (2, 2, 2))
    with pytest.raises(TypeError, match="padding must be an int or a pair"):
        F.avg_pool2d(x, 2, padding=0.5)


# ------------------------------------------------------------ layers

def test_layers_compose_into_a_network_and_save(tmp_path: Path):
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1, rng=0), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 2, (2, 2), stride=(1, 1), rng=1), nn.AvgPool2d(2, 1),
                          nn.Flatten(), nn.Linear(2 * 2 * 2, 3, rng=2))
    assert model[0].W.shape == (4, 1, 3, 3) and model[0].b.shape == (4,)
    assert model[0].weight is model[0].W
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8))
    y = model(x)
    assert y.shape == (5, 3)
    F.softmax_cross_entropy(y, np.array([0, 1, 2, 0, 1])).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in model.parameters())
    model.save(tmp_path / "m.npz")
    other = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(4, 2, 2), nn.AvgPool2d(2, 1), nn.Flatten(),
                          nn.Linear(8, 3)).load(tmp_path / "m.npz")
    np.testing.assert_array_equal(other(x).data, y.data)
    assert "kernel_size=(3, 3)" in repr(model)


def test_flatten_axes():
    x = np.zeros((2, 3, 4, 5))
    assert F.flatten(x).shape == (2, 60)
    assert F.flatten(x, 0).shape == (120,)
    assert F.flatten(x, 1, 2).shape == (2, 12, 5)
    assert nn.Flatten(2)(x).shape == (2, 3, 20)
    with pytest.raises(ValueError, match="start_dim"):
        F.flatten(x, 2, 1)


# ------------------------------------------------------------ SimpleConvNet

def small_net(seed=0):
    return SimpleConvNet(input_dim=(2, 6, 5), conv_param={"filter_num": 3, "filter_size": 3,
                                                          "pad": 1, "stride": 1},
                         hidden_size=4, output_size=3, weight_init_std=0.5, rng=seed)


def test_simple_conv_net_gradient_matches_numerical_gradient():
    net = small_net()
    rng = np.random.default_rng(1)
    x, t = rng.standard_normal((3, 2, 6, 5)), np.array([0, 2, 1])
    analytical = net.gradient(x, t)
    numerical = net.numerical_gradient(x, t)
    assert set(analytical) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    for key, value in analytical.items():
        assert value.shape == net.params[key].shape
        np.testing.assert_allclose(value, numerical[key], rtol=1e-5, atol=1e-7, err_msg=key)
        assert np.abs(value).max() > 0, key


def test_simple_conv_net_has_the_books_shapes_and_interface(tmp_path: Path):
    net = SimpleConvNet(rng=0)
    shapes = {k: v.shape for k, v in net.params.items()}
    assert shapes == {"W1": (30, 1, 5, 5), "b1": (30,), "W2": (4320, 100), "b2": (100,),
                      "W3": (100, 10), "b3": (10,)}
    net = small_net()
    rng = np.random.default_rng(2)
    x, t = rng.standard_normal((7, 2, 6, 5)), rng.integers(0, 3, 7)
    with mg.no_grad():
        predicted = np.argmax(net.predict(x).data, axis=1)
    expected = float(np.mean(predicted == t))
    assert net.accuracy(x, t, batch_size=3) == pytest.approx(expected)
    assert net.accuracy(x, np.eye(3)[t], batch_size=100) == pytest.approx(expected)
    net.params["W1"] -= 0.1 * net.gradient(x, t)["W1"]          # the book's update
    assert net.params["W1"] is net.W1.data
    net.save_params(tmp_path / "params.npz")
    other = small_net(seed=5)
    other.load_params(tmp_path / "params.npz")
    for key in net.params:
        np.testing.assert_array_equal(other.params[key], net.params[key])
    with pytest.raises(ValueError, match=r"\(7, 1, 6, 5\)"):
        net.predict(np.zeros((7, 1, 6, 5)))
    with pytest.raises(ValueError, match="conv_param"):
        SimpleConvNet(input_dim=(1, 4, 4), conv_param={"filter_size": 5})


def test_simple_conv_net_learns_a_small_problem():
    """Bright top half against bright bottom half: a few Adam steps separate them."""
    rng = np.random.default_rng(0)
    x = rng.random((40, 1, 6, 6)) * 0.2
    t = rng.integers(0, 2, 40)
    x[t == 0, :, :3] += 1.0
    x[t == 1, :, 3:] += 1.0
    net = SimpleConvNet((1, 6, 6), {"filter_num": 4, "filter_size": 3, "pad": 0, "stride": 1},
                        hidden_size=8, output_size=2, weight_init_std=0.1, rng=0)
    opt = mg.optim.Adam(net.parameters(), lr=0.05)
    for _ in range(30):
        net.zero_grad()
        net.loss(x, t).backward()
        opt.step()
    assert net.accuracy(x, t) == 1.0
