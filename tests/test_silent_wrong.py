"""Paths that once gave a wrong or dropped gradient, or a crash, without a word.

One test per case: test_pNN_... for the wrong or dropped gradients, test_crash_... for
the crashes and surprises. Expected values come from PyTorch's autograd (checked
against torch 2.13 on CPU) or, where PyTorch differs by design, from numpy.
"""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad import functional as F
from minigrad import nn, optim
from minigrad.gradcheck import gradcheck, gradgradcheck


def leaf(values, dtype=np.float64):
    return mg.tensor(np.array(values, dtype=dtype), requires_grad=True)


SAVED = "an input it saved was modified in place after the forward"


# ---------------------------------------------------------------- 1. version counters

def test_p01_version_counts_writes_through_minigrad():
    c = mg.tensor([1.0, 2.0, 3.0])
    assert c._version == 0
    c[0] = 5.0
    c[1:] = mg.tensor([6.0, 7.0])
    assert c._version == 2
    d = c.detach()                        # one array, one counter
    d[2] = 0.0
    assert c._version == d._version == 3


def test_p01_setitem_on_a_saved_constant_is_caught():
    w = leaf([1.0, 2.0])
    c = mg.tensor([3.0, 4.0])
    loss = (w * c).sum()
    c[0] = 10.0
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    message = str(info.value)
    assert message.startswith(f"mul: {SAVED} (version 0 → 1)")
    assert "clone" in message and "before" in message


def test_p01_optimizer_step_between_forward_and_backward_is_caught():
    w = nn.Parameter(np.array([1.0, 2.0]))
    opt = optim.SGD([w], lr=0.1)
    w.grad = mg.tensor([1.0, 1.0])
    loss = (w * w).sum()
    opt.step()
    with pytest.raises(RuntimeError, match=f"mul: {SAVED}"):
        loss.backward()


def test_p01_book_update_on_arrays_is_caught():
    W = np.array([1.0, 2.0])
    w = mg.Tensor(W, requires_grad=True)        # wraps the book's array
    loss = (w * w).sum()
    optim.SGD(lr=0.1).update({"W": W}, {"W": np.ones(2)})
    with pytest.raises(RuntimeError, match=SAVED):
        loss.backward()


def test_p01_load_state_dict_between_forward_and_backward_is_caught():
    layer = nn.Linear(2, 2)
    x = mg.tensor(np.ones((1, 2)), requires_grad=True)
    loss = layer(x).sum()
    layer.load_state_dict({k: v + 1 for k, v in layer.state_dict().items()})
    with pytest.raises(RuntimeError, match=SAVED):
        loss.backward()


def test_p01_data_assignment_is_caught():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    w.data = np.array([5.0, 6.0])
    with pytest.raises(RuntimeError, match=r"version 0 → 1"):
        loss.backward()


def test_p01_views_share_the_counter():
    base = np.arange(4.0)
    whole, part = mg.Tensor(base), mg.Tensor(base[2:])
    w = leaf([1.0, 1.0])
    loss = (w * part).sum()
    whole[3] = 0.0                              # writes the memory `part` sees
    assert part._version == 1
    with pytest.raises(RuntimeError, match=SAVED):
        loss.backward()


def test_p01_create_graph_pass_checks_too():
    w = leaf([1.0, 2.0])
    c = mg.tensor([3.0, 4.0])
    loss = (w * c).sum()
    c[1] = 0.0
    with pytest.raises(RuntimeError, match=SAVED):
        mg.grad(loss, w, create_graph=True)


def test_p01_writes_that_cannot_matter_are_not_errors():
    w = leaf([1.0, 2.0])
    c = mg.tensor([3.0, 4.0])
    total = (w + c).sum()                       # add saves nothing
    c[0] = 0.0
    total.backward()
    np.testing.assert_array_equal(w.grad.data, [1.0, 1.0])
    loss = (w * c).sum()                        # recorded after the write
    loss.backward()
    c[1] = 9.0                                  # after the backward
    np.testing.assert_array_equal(w.grad.data, [1.0, 5.0])
    other = mg.tensor([1.0, 1.0])
    loss = (w * c).sum()
    other[0] = 2.0                              # some other array
    loss.backward()


def _conv_input(layout, rng):
    """(x, W) for conv2d such that im2col of x is a view of x's memory."""
    if layout == "kernel-as-large-as-input":
        return rng.standard_normal((2, 3, 4, 4)), rng.standard_normal((5, 3, 4, 4))
    if layout == "1x1-kernel-one-channel":
        return rng.standard_normal((2, 1, 4, 4)), rng.standard_normal((3, 1, 1, 1))
    channels_last = rng.standard_normal((2, 4, 4, 3))          # (N, H, W, C) in memory
    return channels_last.transpose(0, 3, 1, 2), rng.standard_normal((5, 3, 1, 1))


CONV_LAYOUTS = ["kernel-as-large-as-input", "1x1-kernel-one-channel", "channels-last"]


@pytest.mark.parametrize("write", ["setitem", "data", "optimizer"])
@pytest.mark.parametrize("layout", CONV_LAYOUTS)
def test_p01_conv2d_input_written_through_an_im2col_view_is_caught(layout, write):
    x_values, w_values = _conv_input(layout, np.random.default_rng(0))
    assert np.shares_memory(F.im2col(x_values, *w_values.shape[2:]).data, x_values)
    x = nn.Parameter(x_values) if write == "optimizer" else mg.Tensor(x_values)
    W = leaf(w_values)
    out = F.conv2d(x, W)
    loss = (out * out).sum()
    if write == "setitem":
        x[...] = 100.0
    elif write == "data":
        x.data = np.full(x.shape, 100.0)
    else:
        x.grad = mg.tensor(np.ones(x.shape))
        optim.SGD([x], lr=10.0).step()
    with pytest.raises(RuntimeError, match=SAVED):
        loss.backward()


def _reference_gradient(build, x, w, seed):
    """d(sum(build(x, w) * seed))/dw by PyTorch where installed, else by central differences."""
    try:
        import torch
    except ImportError:
        def f(values):
            return float((build(mg.tensor(x), mg.tensor(values)).data * seed).sum())
        grad = np.zeros_like(w)
        for i in np.ndindex(w.shape):
            step = np.zeros_like(w)
            step[i] = 1e-6
            grad[i] = (f(w + step) - f(w - step)) / 2e-6
        return grad
    tw = torch.tensor(w, requires_grad=True)
    (build(torch.tensor(x), tw) * torch.tensor(seed)).sum().backward()
    return tw.grad.numpy()


def _linear(x, W):
    if isinstance(W, mg.Tensor):
        return F.linear(x, W)
    import torch
    return torch.nn.functional.linear(x, W.T)


# An op whose backward for W does not read W: stepping W between forward and backward
# changes nothing the backward needs (as in PyTorch, which gives the gradient).
UNREAD = {
    "matmul x @ W": lambda x, W: x @ W,
    "div W / 2": lambda x, W: W / 2,
    "mul x * W": lambda x, W: x * W,
    "linear": _linear,
}


@pytest.mark.parametrize("case", sorted(UNREAD))
def test_p01_writes_to_an_input_the_backward_does_not_read_are_not_errors(case):
    build = UNREAD[case]
    rng = np.random.default_rng(1)
    x, w, seed = (rng.standard_normal((3, 3)) for _ in range(3))
    expected = _reference_gradient(build, x, w, seed)
    W = nn.Parameter(w.copy())
    out = build(mg.tensor(x), W)
    W.grad = mg.tensor(np.ones(W.shape))
    optim.SGD([W], lr=0.5).step()                # bumps W's version
    W.grad = None
    out.backward(seed)
    np.testing.assert_allclose(W.grad.data, expected, rtol=1e-6, atol=1e-8)


# The same ops where the backward does read the array written: still an error.
READ = {
    "matmul x @ W": lambda x, W: x @ W,
    "div c / W": lambda x, W: x / W,
    "div W / c": lambda x, W: W / x,
    "mul x * W": lambda x, W: x * W,
    "linear": lambda x, W: F.linear(x, W),
}


@pytest.mark.parametrize("case", sorted(READ))
def test_p01_writes_to_an_input_the_backward_reads_are_caught(case):
    rng = np.random.default_rng(2)
    x = leaf(rng.standard_normal((3, 3)) + 3.0)           # x needs a gradient too
    W = nn.Parameter(rng.standard_normal((3, 3)) + 3.0)
    loss = READ[case](x, W).sum()
    W.grad = mg.tensor(np.ones(W.shape))
    optim.SGD([W], lr=0.5).step()
    with pytest.raises(RuntimeError, match=SAVED):
        loss.backward()



SAVE_ONE = {        # name: (function, input shapes); each saves only what its backward reads
    "mul": (lambda a, b: a * b, [(3, 2), (2,)]),
    "div": (lambda a, b: a / (b * b + 1), [(3, 2), (2,)]),
    "matmul 2-D": (lambda a, b: a @ b, [(3, 2), (2, 4)]),
    "matmul 1-D": (lambda a, b: a @ b, [(3,), (3,)]),
    "matmul (k,) @ (..., k, m)": (lambda a, b: a @ b, [(3,), (2, 3, 4)]),
    "matmul (..., n, k) @ (k,)": (lambda a, b: a @ b, [(2, 4, 3), (3,)]),
    "matmul batched": (lambda a, b: a @ b, [(2, 1, 4, 3), (5, 3, 2)]),
    "linear": (lambda a, b: F.linear(a, b, mg.tensor([0.5, -1.0])), [(2, 4, 3), (3, 2)]),
    "linear 1-D x": (lambda a, b: F.linear(a, b), [(3,), (3, 2)]),
}


@pytest.mark.parametrize("needed", ["both", "first", "second"])
@pytest.mark.parametrize("case", sorted(SAVE_ONE))
def test_p01_ops_saving_one_input_keep_first_and_second_derivatives(case, needed):
    fn, shapes = SAVE_ONE[case]
    rng = np.random.default_rng(3)
    xs = [mg.tensor(rng.standard_normal(s), requires_grad=needed in ("both", which))
          for s, which in zip(shapes, ["first", "second"])]
    assert gradcheck(fn, xs, raise_exception=True)
    assert gradgradcheck(fn, xs, raise_exception=True)


# ---------------------------------------------------------------- 2 .. 12

def test_p02_soft_targets_whose_rows_do_not_sum_to_one():
    rng = np.random.default_rng(0)
    z = leaf(rng.standard_normal((3, 4)))
    t = np.array([[0.0, 0.0, 0.0, 0.0], [0.2, 0.3, 0.1, 0.1], [0.0, 0.0, 2.0, 0.0]])
    F.softmax_cross_entropy(z, t).backward()
    e = np.exp(z.data - z.data.max(axis=1, keepdims=True))
    p = e / e.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(z.grad.data, (p * t.sum(axis=1, keepdims=True) - t) / 3)
    tt = leaf(t + 0.05)
    gradcheck(F.softmax_cross_entropy, [leaf(z.data), tt])
    gradgradcheck(F.softmax_cross_entropy, [leaf(z.data), tt])


def test_p03_astype_to_int_or_bool_leaves_the_graph():
    x = leaf([1.5, -2.0])
    for dtype in (int, np.int32, bool):
        y = x.astype(dtype)
        assert not y.requires_grad and y.is_leaf
        assert y.dtype == np.dtype(dtype)
    assert x.astype(np.float32).requires_grad


def test_p04_setitem_of_a_graph_value_into_a_constant_is_refused():
    w = leaf([1.0, 2.0])
    buf = mg.tensor(np.zeros(3))
    with pytest.raises(TypeError, match="setitem") as info:
        buf[0] = (w * 2).sum()
    assert "stack" in str(info.value)
    np.testing.assert_array_equal(buf.data, 0.0)          # nothing written
    with mg.no_grad():
        buf[0] = (w * 2).sum()                            # outside recording: a value
    assert buf.data[0] == 6.0
    buf[1] = w.detach()[0]
    assert buf.data[1] == 1.0


def test_p05_clip_with_tensor_bounds_gives_the_bounds_gradients():
    x = leaf([0.0, 1.0, 2.0, 3.0, 4.0])
    lo = leaf([1.0, 1.0, 1.0, 1.0, 5.0])
    hi = leaf([3.0, 3.0, 3.0, 3.0, 2.0])
    y = mg.clip(x, lo, hi)
    np.testing.assert_array_equal(y.data, np.clip(x.data, lo.data, hi.data))
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.data, [0, 1, 1, 1, 0])     # as torch.clamp
    np.testing.assert_array_equal(lo.grad.data, [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(hi.grad.data, [0, 0, 0, 0, 1])
    a, b = leaf([-1.0, 0.3, 2.0]), leaf([0.0])
    np.clip(a, b, 1.0).sum().backward()                             # numpy's spelling
    np.testing.assert_array_equal(b.grad.data, [1.0])
    rng = np.random.default_rng(1)
    gradcheck(lambda x, lo, hi: mg.clip(x, lo, hi),
              [leaf(rng.standard_normal((3, 4))), leaf(-0.5 + 0.01 * rng.random(4)),
               leaf([[0.5], [0.6], [0.7]])])


def test_p06_cross_entropy_error_gives_targets_their_gradient():
    y = leaf([[0.2, 0.8], [0.6, 0.4]])
    t = leaf([[0.0, 1.0], [0.5, 0.5]])
    F.cross_entropy_error(y, t).backward()
    assert t.grad is not None
    np.testing.assert_allclose(t.grad.data, -np.log(y.data + 1e-7) / 2)
    gradcheck(F.cross_entropy_error, [leaf(y.data), leaf(t.data)])


@pytest.mark.parametrize("convert", [
    lambda ts: np.sum(ts),
    lambda ts: np.array(ts),
    lambda ts: np.asarray(ts[0]),
    lambda ts: np.mean(ts, axis=0),
], ids=["np.sum(list)", "np.array(list)", "np.asarray", "np.mean(list)"])
def test_p07_numpy_conversion_of_tensors_needing_grad_is_refused(convert):
    ts = [leaf([1.0, 2.0]), leaf([3.0, 4.0])]
    with pytest.raises(TypeError, match="detach"):
        convert(ts)
    with mg.no_grad():
        assert isinstance(convert(ts), (np.ndarray, np.floating))
    assert isinstance(convert([t.detach() for t in ts]), (np.ndarray, np.floating))


class Affine(mg.Function):
    @staticmethod
    def forward(ctx, x, scale=2.0, bias=None):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * scale + (0.0 if bias is None else bias)

    @staticmethod
    def backward(ctx, g):
        return g * ctx.scale, None, g


def test_p08_tensors_passed_by_keyword_are_inputs():
    x, b = leaf([1.0, 2.0]), leaf([0.5, 0.5])
    Affine.apply(x, bias=b).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [2.0, 2.0])
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0])
    c = leaf([1.0, 1.0])
    Affine.apply(x=c, scale=3.0, bias=b).sum().backward()
    np.testing.assert_array_equal(c.grad.data, [3.0, 3.0])
    np.testing.assert_array_equal(b.grad.data, [2.0, 2.0])


def test_p09_create_graph_gives_each_leaf_its_own_grad():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    seed = mg.tensor([1.0, 1.0], requires_grad=True)
    (a + b).backward(seed, create_graph=True)
    assert a.grad is not b.grad
    assert a.grad is not seed and b.grad is not seed
    a.grad.data[0] = 7.0
    assert b.grad.data[0] == 1.0 and seed.data[0] == 1.0
    (g,) = mg.grad(b.grad.sum(), seed)                    # still differentiable in the seed
    np.testing.assert_array_equal(g.data, [1.0, 1.0])
    c = leaf([1.0])
    c.backward(seed[:1], create_graph=True)
    assert c.grad is not seed


def test_p10_power_exponent_gradient_at_a_nonpositive_base():
    a = leaf([-2.0, 0.0, 0.0, 0.0, 2.0])
    b = leaf([1.5, -1.0, 0.0, 2.0, 2.0])
    with np.errstate(all="ignore"):
        (a ** b).sum().backward()
    np.testing.assert_array_equal(b.grad.data[:4], [np.nan, -np.inf, 0.0, 0.0])  # as torch
    np.testing.assert_allclose(b.grad.data[4], 4 * np.log(2))
    e = leaf([2.0, -1.0])
    with np.errstate(all="ignore"):
        (np.array([-2.0, 0.0]) ** e).sum().backward()
    np.testing.assert_array_equal(e.grad.data, [np.nan, -np.inf])


def _zero_d(x):
    return x.data if x is not None else None


@pytest.mark.parametrize("build", [
    lambda x: x * 2,
    lambda x: (x * 2).sum(),
    lambda x: x.mean() * 3,
    lambda x: x.max() * 2,
    lambda x: mg.stack([x, x])[0] * 2,
    lambda x: x.reshape(1)[0] * 0.5,
], ids=["mul-scalar", "sum", "mean", "max", "item-of-stack", "item-of-reshape"])
def test_p11_zero_d_gradients_are_zero_d_arrays(build):
    x = leaf(3.0)
    build(x).backward()
    assert type(x.grad.data) is np.ndarray and x.grad.shape == ()
    (g,) = mg.grad(build(x), x)
    assert type(g.data) is np.ndarray and g.shape == ()
    y = x * 1
    y.retain_grad()
    build(y).backward()
    assert type(y.grad.data) is np.ndarray


def test_p12_create_graph_under_no_grad_records_as_torch():
    x = leaf([1.0, 2.0])
    y1, y2 = (x ** 3).sum(), (x ** 3).sum()
    with mg.no_grad():
        y1.backward(create_graph=True)
        assert x.grad.requires_grad
        y2.backward(create_graph=True)           # accumulation is recorded too
        assert x.grad.requires_grad
        assert not (x.grad * 2).requires_grad    # the block itself still does not record
    np.testing.assert_array_equal(x.grad.data, [6.0, 24.0])
    (h,) = mg.grad(x.grad.sum(), x)
    np.testing.assert_array_equal(h.data, [12.0, 24.0])


# ---------------------------------------------------------------- crashes and surprises

def test_crash_grad_past_a_freed_node_off_the_path():
    a, w = leaf([3.0, 4.0]), leaf([1.0, 2.0])
    h = a * 2
    h.sum().backward()                           # frees h's node
    y = (h * w).sum()
    (g,) = mg.grad(y, w)
    np.testing.assert_array_equal(g.data, [6.0, 8.0])
    with pytest.raises(RuntimeError, match="freed"):
        mg.grad(y, a)                             # through the freed node: still an error
    u = leaf([1.0])
    k = u * 3
    (k * w).sum().backward()                      # frees k's and the mul's nodes
    y = (k * w).sum() + (w * w).sum()
    (g,) = mg.grad(y, w)
    np.testing.assert_array_equal(g.data, [3.0 + 2.0, 3.0 + 4.0])


def test_crash_float16_softmax_cross_entropy_is_computed_in_float32():
    z = leaf([[0.0, 0.0], [-30.0, -30.0]], np.float16)
    with np.errstate(divide="raise", invalid="raise"):     # no log(0), no 0/0
        loss = F.softmax_cross_entropy(z, np.array([0, 1]))
        loss.backward()
    assert loss.dtype == np.float16 and z.grad.dtype == np.float16
    np.testing.assert_allclose(float(loss.item()), np.log(2), rtol=1e-3)
    np.testing.assert_allclose(z.grad.data, [[-0.25, 0.25], [0.25, -0.25]])


def test_crash_expand_dims_with_a_numpy_integer_axis():
    x = leaf([1.0, 2.0])
    assert mg.expand_dims(x, np.int64(0)).shape == (1, 2)
    assert np.expand_dims(x, np.int64(-1)).shape == (2, 1)


def test_crash_linear_with_1d_x_and_a_row_bias():
    x, W, b = leaf([1.0, 2.0]), leaf(np.ones((2, 3))), leaf(np.ones((1, 3)))
    y = F.linear(x, W, b)
    expected = x.data @ W.data + b.data
    assert y.shape == expected.shape
    np.testing.assert_array_equal(y.data, expected)
    y.sum().backward()
    np.testing.assert_array_equal(b.grad.data, [[1.0, 1.0, 1.0]])


def test_crash_concatenate_with_axis_none_flattens_as_numpy():
    a, b = leaf(np.ones((2, 2))), leaf([1.0, 2.0, 3.0])
    y = np.concatenate([a, b], axis=None)
    np.testing.assert_array_equal(y.data, np.concatenate([a.data, b.data], axis=None))
    (y * np.arange(7.0)).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [[0, 1], [2, 3]])
    np.testing.assert_array_equal(b.grad.data, [4, 5, 6])


class TwiceWithFloat(mg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return 2.0                                # a Python float, not an array


def test_crash_custom_backward_returning_a_python_float():
    x = leaf(3.0)
    TwiceWithFloat.apply(x).backward()
    assert type(x.grad.data) is np.ndarray and x.grad.data == 2.0
    v = leaf([1.0, 2.0])                          # a number is a 0-d gradient: wrong shape
    with pytest.raises(ValueError, match=r"the backward of twice_with_float returned a gradient of "
                                         r"shape \(\) for an input of shape \(2,\)"):
        TwiceWithFloat.apply(v).sum().backward()


def test_crash_linear_promotes_dtypes_as_numpy():
    x = mg.tensor(np.ones((2, 2), np.float32))
    W = mg.tensor(np.ones((2, 3), np.float32), requires_grad=True)
    b = mg.tensor(np.ones(3), requires_grad=True)
    y = F.linear(x, W, b)
    assert y.dtype == (x.data @ W.data + b.data).dtype == np.float64
    y.sum().backward()
    assert W.grad.dtype == np.float32 and b.grad.dtype == np.float64


@pytest.mark.parametrize("op", [mg.relu, mg.abs], ids=["relu", "abs"])
def test_crash_relu_and_abs_gradients_are_differentiable_again(op):
    x = leaf([-1.0, 0.0, 2.0])
    (g,) = mg.grad(op(x).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = mg.grad(g.sum(), x)                  # zeros, as PyTorch
    np.testing.assert_array_equal(h.data, [0.0, 0.0, 0.0])


def test_crash_nan_gradients_of_maximum_and_relu_match_torch():
    a, b = leaf([np.nan, 1.0, 2.0]), leaf([1.0, np.nan, 2.0])
    mg.maximum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, 1.0, 0.5])
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0, 0.5])
    a, b = leaf([np.nan, 1.0, 2.0]), leaf([1.0, np.nan, 2.0])
    mg.minimum(a, b).sum().backward()
    np.testing.assert_array_equal(a.grad.data, [1.0, 1.0, 0.5])
    np.testing.assert_array_equal(b.grad.data, [1.0, 1.0, 0.5])
    x = leaf([np.nan, 1.0, 0.0])
    mg.relu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [1.0, 1.0, 0.0])


def test_p01_book_params_dict_update_is_caught():
    from minigrad.models import TwoLayerNet

    net = TwoLayerNet(3, 4, 2)
    x, t = mg.tensor(np.ones((2, 3))), np.array([0, 1])
    loss = F.softmax_cross_entropy(net.predict(x), t)
    net.params["W2"] -= 0.1                      # the book's in-place update (of a weight
    with pytest.raises(RuntimeError, match=SAVED):    # the backward reads: W1 it does not,
        loss.backward()                               # x being a constant)


def test_p01_augmented_data_assignment_is_caught():
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    w.data -= 0.1                                # assigns the same array back
    with pytest.raises(RuntimeError, match=SAVED):
        loss.backward()


def test_p01_the_docs_show_the_error_as_raised():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "semantics.md").read_text()
    block = page.split("RuntimeError: ", 1)[1].split("```", 1)[0]
    documented = " ".join(block.split())
    w = leaf([1.0, 2.0])
    loss = (w * w).sum()
    w.data = np.array([0.0, 0.0])
    with pytest.raises(RuntimeError) as info:
        loss.backward()
    assert str(info.value) == documented


EDGE_CASES = {        # name: (minigrad function, torch function, inputs)
    "maximum-nan": (mg.maximum, "maximum", ([np.nan, 1.0, 2.0, 3.0], [1.0, np.nan, 2.0, 0.0])),
    "minimum-nan": (mg.minimum, "minimum", ([np.nan, 1.0, 2.0, 3.0], [1.0, np.nan, 2.0, 0.0])),
    "relu-nan": (mg.relu, "relu", ([np.nan, -1.0, 0.0, 2.0],)),
    "clip-tensor-bounds": (mg.clip, "clamp", ([0.0, 1.0, 2.0, 3.0, 4.0, 1.0],
                                              [1.0, 1.0, 1.0, 1.0, 5.0, 1.0],
                                              [3.0, 3.0, 3.0, 3.0, 2.0, 1.0])),
    "pow-base-le-0": (lambda a, b: a ** b, "pow", ([-2.0, 0.0, 0.0, 0.0, 2.0],
                                                   [1.5, -1.0, 0.0, 2.0, 2.0])),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_crash_edge_gradients_agree_with_torch(case):
    torch = pytest.importorskip("torch")
    ours, theirs, values = EDGE_CASES[case]
    xs = [leaf(v) for v in values]
    ts = [torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in values]
    seed = np.linspace(0.5, 1.5, len(values[0]))
    with np.errstate(all="ignore"):
        ours(*xs).backward(seed)
    getattr(torch, theirs)(*ts).backward(torch.tensor(seed))
    for x, t in zip(xs, ts):
        np.testing.assert_array_equal(x.grad.data, t.grad.numpy())
