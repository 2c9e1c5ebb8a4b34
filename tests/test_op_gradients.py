"""Every differentiable op against central differences, first and second order.

Inputs are float64, bounded, away from kinks and poles, in shapes drawn from
mutually broadcastable families; gradcheck compares whole Jacobians (every
upstream direction) and gradgradcheck uses a random upstream gradient.
"""

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad.testing import (
    assert_gradcheck,
    assert_gradgradcheck,
    broadcastable_arrays,
    grad_arrays,
    programs,
)


def check_both_orders(fn, *arrays, second=True):
    assert_gradcheck(fn, *arrays)
    if second:
        assert_gradgradcheck(fn, *arrays)


# ------------------------------------------------------------ elementwise unary

UNARY = {
    # name: (function, strategy options, has a non-constant gradient)
    "neg": (lambda x: -x, {}, False),
    "exp": (mg.exp, {}, True),
    "log": (mg.log, {"min_value": 0.1, "max_value": 3.0}, True),
    "sqrt": (mg.sqrt, {"min_value": 0.1, "max_value": 3.0}, True),
    "sin": (mg.sin, {"min_value": -3.0, "max_value": 3.0}, True),
    "cos": (mg.cos, {"min_value": -3.0, "max_value": 3.0}, True),
    "tanh": (mg.tanh, {"min_value": -3.0, "max_value": 3.0}, True),
    "sigmoid": (mg.sigmoid, {"min_value": -6.0, "max_value": 6.0}, True),
    "relu": (mg.relu, {"avoid": (0.0,)}, False),
    "abs": (abs, {"avoid": (0.0,)}, False),
    "clip": (lambda x: mg.clip(x, -0.5, 0.5), {"avoid": (-0.5, 0.5)}, False),
    "clip_lo": (lambda x: x.clip(lo=0.25), {"avoid": (0.25,)}, False),
    "square": (lambda x: x ** 2, {}, True),
    "cube": (lambda x: x ** 3, {}, True),
    "rsqrt": (lambda x: x ** -0.5, {"min_value": 0.2, "max_value": 3.0}, True),
    "reciprocal": (lambda x: 1 / x, {"avoid": (0.0,), "margin": 0.3}, True),
    "rsub": (lambda x: 2.0 - x, {}, False),
    "exp_base": (lambda x: 2.0 ** x, {}, True),
    "numpy_ufunc": (lambda x: np.tanh(np.exp(x)), {}, True),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(data=st.data())
def test_unary(name, data):
    fn, options, second = UNARY[name]
    x = data.draw(grad_arrays(**options), label="x")
    check_both_orders(fn, x, second=second)


# ------------------------------------------------------------ elementwise binary

BINARY = {
    "add": (lambda a, b: a + b, {}, {}),
    "sub": (lambda a, b: a - b, {}, {}),
    "mul": (lambda a, b: a * b, {}, {}),
    "div": (lambda a, b: a / b, {}, {"avoid": (0.0,), "margin": 0.4}),
    "pow": (lambda a, b: a ** b, {"min_value": 0.3, "max_value": 2.0}, {}),
    "rpow_ndarray": (lambda a, b: np.asarray(a.data) ** b, {"min_value": 0.3}, {}),
    "ndarray_add": (lambda a, b: a.data + b, {}, {}),
    "ndarray_matmul_like_mul": (lambda a, b: np.multiply(a, b), {}, {}),
    "maximum": (mg.maximum, {}, {}),
    "minimum": (mg.minimum, {}, {}),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(data=st.data())
def test_binary_broadcasting(name, data):
    fn, options_a, options_b = BINARY[name]
    shape_a, shape_b = data.draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, max_dims=3, max_side=3).map(lambda s: s.input_shapes))
    a = data.draw(grad_arrays(shape_a, **options_a), label="a")
    b = data.draw(grad_arrays(shape_b, **options_b), label="b")
    if name in ("maximum", "minimum"):
        assume(np.all(np.abs(np.subtract(a, b)) > 0.05))     # away from the kink a == b
    if name.endswith("ndarray") or name.startswith("ndarray") or name == "rpow_ndarray":
        # the first operand is a plain array: only b is differentiated
        a_tensor = mg.Tensor(a)
        check_both_orders(lambda y: fn(a_tensor, y), b)
    else:
        check_both_orders(fn, a, b)


@given(broadcastable_arrays(3, max_dims=3, max_side=3), st.data())
def test_where_broadcasts(arrays, data):
    a, b, c = arrays
    cond = data.draw(hnp.arrays(bool, np.shape(c)))
    check_both_orders(lambda x, y: mg.where(cond, x * y, y * y), a, b)


# ------------------------------------------------------------ reductions

axes_and_keepdims = st.tuples(st.one_of(st.none(), st.integers(-3, 2), st.lists(
    st.integers(-3, 2), min_size=1, max_size=3, unique=True)), st.booleans())


def _valid_axis(axis, ndim):
    if axis is None:
        return True
    axes = [axis] if isinstance(axis, int) else axis
    return all(-ndim <= a < ndim for a in axes) and len({a % ndim for a in axes}) == len(axes)


@pytest.mark.parametrize("reduction", ["sum", "mean", "max", "min"])
@given(data=st.data(), ak=axes_and_keepdims)
def test_reductions(reduction, data, ak):
    axis, keepdims = ak
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    assume(_valid_axis(axis, len(shape)))
    unique = reduction in ("max", "min")           # ties are a kink: tested separately
    x = data.draw(hnp.arrays(np.float64, shape, unique=unique,
                             elements=st.floats(-2, 2, allow_nan=False)))
    if unique:
        assume(len(x.ravel()) < 2 or np.min(np.diff(np.sort(x.ravel()))) > 1e-3)
    fn = lambda t: getattr(t, reduction)(axis=axis, keepdims=keepdims) * 1.5  # noqa: E731
    check_both_orders(fn, x, second=False)
    check_both_orders(lambda t: fn(t * t), x)


# ------------------------------------------------------------ shapes and indexing

@given(grad_arrays(min_dims=1, max_dims=4, max_side=3), st.data())
def test_shape_ops(x, data):
    perm = tuple(data.draw(st.permutations(range(x.ndim))))
    check_both_orders(lambda t: (t * t).transpose(perm), x)
    check_both_orders(lambda t: (t * t).T, x)
    check_both_orders(lambda t: (t * t).reshape(-1).reshape(x.shape[::-1]), x)
    check_both_orders(lambda t: mg.expand_dims(t * t, 0).squeeze(0).flatten(), x)
    check_both_orders(lambda t: mg.swapaxes(t * t, 0, -1), x)
    check_both_orders(lambda t: mg.broadcast_to(t * t, (2,) + x.shape), x)
    check_both_orders(lambda t: np.broadcast_to(t * t, (2,) + x.shape), x)


@given(grad_arrays(min_dims=1, max_dims=3, max_side=4), st.data())
def test_getitem(x, data):
    n = x.shape[0]
    start = data.draw(st.integers(-n, n - 1))
    step = data.draw(st.sampled_from([1, 2, -1]))
    index = data.draw(st.lists(st.integers(-n, n - 1), min_size=1, max_size=6))  # repeats
    mask = data.draw(hnp.arrays(bool, x.shape))
    check_both_orders(lambda t: (t * t)[start::step], x)
    check_both_orders(lambda t: (t * t)[np.array(index)], x)
    check_both_orders(lambda t: (t * t)[index, ...], x)
    check_both_orders(lambda t: (t * t)[mask], x)
    check_both_orders(lambda t: (t * t)[mg.Tensor(mask)], x)
    check_both_orders(lambda t: (t * t)[..., None, -1], x)


@given(st.data())
def test_concatenate_and_stack(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, max_side=3))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    other = list(shape)
    other[axis] = data.draw(st.integers(1, 3))
    a = data.draw(grad_arrays(shape))
    b = data.draw(grad_arrays(tuple(other)))
    c = data.draw(grad_arrays(shape))
    check_both_orders(lambda x, y, z: mg.concatenate([x * y.sum(), y, z * z], axis=axis), a, b, c)
    stack_axis = data.draw(st.integers(-len(shape) - 1, len(shape)))
    check_both_orders(lambda x, z: mg.stack([x, z * x, z], axis=stack_axis), a, c)


# ------------------------------------------------------------ matmul and fused ops

@st.composite
def matmul_operands(draw):
    kind = draw(st.sampled_from(["1d1d", "1d2d", "2d1d", "2d2d", "nd", "1dnd", "nd1d"]))
    n, k, m = (draw(st.integers(1, 3)) for _ in range(3))
    batch_a, batch_b = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=2, max_dims=2, max_side=3)).input_shapes
    shapes = {
        "1d1d": ((k,), (k,)), "1d2d": ((k,), (k, m)), "2d1d": ((n, k), (k,)),
        "2d2d": ((n, k), (k, m)), "nd": (batch_a + (n, k), batch_b + (k, m)),
        "1dnd": ((k,), batch_b + (k, m)), "nd1d": (batch_a + (n, k), (k,)),
    }[kind]
    return draw(grad_arrays(shapes[0])), draw(grad_arrays(shapes[1]))


@given(matmul_operands())
def test_matmul(operands):
    a, b = operands
    check_both_orders(lambda x, y: x @ y, a, b)
    check_both_orders(lambda x, y: np.matmul(x, y * y), a, b)


@given(st.data())
def test_linear(data):
    batch = data.draw(hnp.array_shapes(min_dims=0, max_dims=2, max_side=3))
    n_in, n_out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    x = data.draw(grad_arrays(batch + (n_in,)))
    W = data.draw(grad_arrays((n_in, n_out)))
    b = data.draw(grad_arrays((n_out,)))
    check_both_orders(lambda x_, W_, b_: mg.linear(x_, W_, b_), x, W, b)
    check_both_orders(lambda x_, W_: mg.linear(x_ * x_, W_), x, W)
    expected = x @ W + b
    np.testing.assert_allclose(mg.linear(mg.Tensor(x), mg.Tensor(W), mg.Tensor(b)).data,
                               expected, rtol=1e-12, atol=1e-12)


@given(st.data())
def test_softmax_cross_entropy(data):
    n, c = data.draw(st.integers(1, 4)), data.draw(st.integers(2, 4))
    batched = data.draw(st.booleans())
    shape = (n, c) if batched else (c,)
    logits = data.draw(grad_arrays(shape, min_value=-3, max_value=3))
    labels = np.asarray(data.draw(hnp.arrays(np.int64, shape[:-1], elements=st.integers(
        0, c - 1))))
    probs = data.draw(hnp.arrays(np.float64, shape, elements=st.floats(0.01, 1)))
    probs = probs / probs.sum(axis=-1, keepdims=True)
    check_both_orders(lambda z: mg.softmax_cross_entropy(z, labels), logits)
    check_both_orders(lambda z: mg.softmax_cross_entropy(z * z, probs), logits)
    # the value is the mean of -log softmax
    z = logits.reshape(-1, c)
    log_p = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
    expected = -log_p[np.arange(len(z)), labels.reshape(-1)].mean()
    np.testing.assert_allclose(mg.softmax_cross_entropy(mg.Tensor(logits), labels).item(),
                               expected, rtol=1e-12)


# ------------------------------------------------------------ random programs

@given(programs())
def test_random_programs_first_and_second_order(program_and_inputs):
    program, arrays = program_and_inputs
    assert_gradcheck(program, *arrays)
    assert_gradgradcheck(program, *arrays)


@given(programs(max_inputs=2, max_steps=8))
def test_random_programs_fast_mode(program_and_inputs):
    program, arrays = program_and_inputs
    assert_gradcheck(program, *arrays, fast_mode=True, seed=1)
    assert_gradgradcheck(program, *arrays, fast_mode=True, seed=2)
