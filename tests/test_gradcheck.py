"""The checker itself: the book's numerical tools, and gradcheck on known-bad gradients."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.gradcheck import (
    GradcheckError,
    gradcheck,
    gradgradcheck,
    gradient_descent,
    numerical_diff,
    numerical_gradient,
)
from minigrad.testing import (
    assert_gradcheck,
    assert_gradgradcheck,
    broadcastable_arrays,
    broadcastable_shapes,
    floats,
    grad_arrays,
    grad_tensors,
)


def function_2(x):
    return x[0] ** 2 + x[1] ** 2


# ------------------------------------------------------------ the book's tools

def test_numerical_diff():
    assert numerical_diff(lambda x: 0.01 * x ** 2 + 0.1 * x, 5.0) == pytest.approx(0.2, abs=1e-9)
    assert numerical_diff(lambda x: 0.01 * x ** 2 + 0.1 * x, 10.0) == pytest.approx(0.3,
                                                                                   abs=1e-9)


@pytest.mark.parametrize("point, expected", [((3.0, 4.0), (6.0, 8.0)), ((0.0, 2.0), (0.0, 4.0)),
                                             ((3.0, 0.0), (6.0, 0.0))])
def test_numerical_gradient_of_the_books_function(point, expected):
    np.testing.assert_allclose(numerical_gradient(function_2, np.array(point)), expected,
                               atol=1e-7)


def test_numerical_gradient_on_a_matrix_with_f_ignoring_its_argument():
    rng = np.random.default_rng(0)
    x, W = rng.standard_normal(2), rng.standard_normal((2, 3))
    t = np.array([0.0, 0.0, 1.0])

    def loss(_):                     # the book's style: reads W through the closure
        z = x @ W
        y = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
        return -np.sum(t * np.log(y + 1e-7))

    dW = numerical_gradient(lambda w: loss(w), W)
    assert dW.shape == (2, 3)
    z = x @ W
    y = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    np.testing.assert_allclose(dW, np.outer(x, y - t), atol=1e-6)
    W_before = W.copy()
    numerical_gradient(loss, W)
    np.testing.assert_array_equal(W, W_before)       # every element restored


def test_numerical_gradient_on_a_tensor_and_non_contiguous_arrays():
    t = mg.tensor([3.0, 4.0])
    np.testing.assert_allclose(numerical_gradient(lambda x: (x * x).sum(), t), [6.0, 8.0])
    a = np.arange(12.0).reshape(3, 4).T              # a transposed view
    np.testing.assert_allclose(numerical_gradient(lambda x: (x ** 2).sum(), a), 2 * a, rtol=1e-7)


def test_numerical_gradient_refuses_integer_arrays():
    with pytest.raises(TypeError, match="dtype int64"):
        numerical_gradient(function_2, np.array([3, 4]))


def test_gradient_descent_reaches_the_minimum():
    x = gradient_descent(function_2, np.array([-3.0, 4.0]), lr=0.1, step_num=100)
    np.testing.assert_allclose(x, [0.0, 0.0], atol=1e-8)
    x, history = gradient_descent(function_2, [-3.0, 4.0], lr=0.1, step_num=20,
                                  return_history=True)
    assert history.shape == (20, 2)
    np.testing.assert_array_equal(history[0], [-3.0, 4.0])
    assert np.all(np.diff(np.linalg.norm(history, axis=1)) < 0)
    # too large or too small a learning rate, as the book shows
    assert np.abs(gradient_descent(function_2, [-3.0, 4.0], lr=10.0)).max() > 1e6
    np.testing.assert_allclose(gradient_descent(function_2, [-3.0, 4.0], lr=1e-10),
                               [-3.0, 4.0], atol=1e-6)


# ------------------------------------------------------------ known-bad gradients

class WrongScale(mg.Function):
    """x * y with the gradient of x off by 10%."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return 1.1 * g * y, g * x


class WrongSecondInput(mg.Function):
    """x * y with the gradient of y wrong: only the second input is bad."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, g):
        x, y = ctx.saved_tensors
        return g * y, g * x + 0.01


class WrongOneElement(mg.Function):
    """sin(x) with the gradient wrong in element (1, 2) only."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        grad = g * np.cos(x)
        grad = np.array(grad)
        grad[1, 2] += 0.5
        return grad


class WrongBroadcast(mg.Function):
    """x + b, reducing the broadcast gradient of b with a mean instead of a sum."""

    @staticmethod
    def forward(ctx, x, b):
        ctx.b_shape = b.shape
        return x + b

    @staticmethod
    def backward(ctx, g):
        axes = tuple(range(g.ndim - len(ctx.b_shape)))
        gb = g.mean(axis=axes) if axes else g       # right only when nothing broadcasts
        return g, gb


def inputs(*shapes, seed=0):
    rng = np.random.default_rng(seed)
    return [mg.tensor(rng.uniform(0.5, 1.5, s), requires_grad=True) for s in shapes]


@pytest.mark.parametrize("fast_mode", [False, True])
def test_wrong_gradient_fails_and_names_input_and_element(fast_mode):
    x, y = inputs((2, 3), (2, 3))
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongScale.apply, [x, y], fast_mode=fast_mode, seed=0)
    error = info.value
    assert error.input_index == 0
    assert "input 0 (shape (2, 3))" in str(error)
    assert len(error.element) == 2
    assert "analytical" in str(error) and "numerical" in str(error)
    assert abs(error.analytical / error.numerical - 1.1) < 1e-4
    assert not gradcheck(WrongScale.apply, [x, y], fast_mode=fast_mode, seed=0,
                         raise_exception=False)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_every_input_is_checked_not_only_the_first(fast_mode):
    x, y = inputs((3,), (3,))
    with pytest.raises(GradcheckError, match="input 1") as info:
        gradcheck(WrongSecondInput.apply, [x, y], fast_mode=fast_mode, seed=0)
    assert info.value.input_index == 1


@pytest.mark.parametrize("fast_mode", [False, True])
def test_a_single_wrong_element_is_found(fast_mode):
    (x,) = inputs((3, 4))
    x.name = "weights"
    with pytest.raises(GradcheckError) as info:
        gradcheck(WrongOneElement.apply, [x], fast_mode=fast_mode, seed=3)
    assert info.value.element == (1, 2)
    assert "input 0 'weights'" in str(info.value) and "element (1, 2)" in str(info.value)
    if not fast_mode:          # the bad entry shows in every row of the Jacobian
        assert len(info.value.output_element) == 2
        assert "12 of 144 compared values disagree" in str(info.value)


@pytest.mark.parametrize("fast_mode", [False, True])
def test_a_gradient_wrong_only_for_broadcast_shapes_is_found(fast_mode):
    x, b = inputs((3,), (3,))
    assert gradcheck(WrongBroadcast.apply, [x, b], fast_mode=fast_mode, seed=0)
    x, b = inputs((4, 3), (3,))
    with pytest.raises(GradcheckError, match="input 1 .shape .3,..") as info:
        gradcheck(WrongBroadcast.apply, [x, b], fast_mode=fast_mode, seed=0)
    assert info.value.input_index == 1 and len(info.value.element) == 1


class ConstantSecondDerivative(mg.Function):
    """x**3 whose backward uses a saved intermediate: right first, wrong second order."""

    @staticmethod
    def forward(ctx, x):
        ctx.slope = 3 * x ** 2           # a constant to higher-order derivatives
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        return g * ctx.slope


@pytest.mark.parametrize("fast_mode", [False, True])
def test_gradgradcheck_catches_a_wrong_second_derivative(fast_mode):
    (x,) = inputs((4,))
    assert gradcheck(ConstantSecondDerivative.apply, [x], fast_mode=fast_mode, seed=0)
    with pytest.raises(GradcheckError, match="input 0"):
        gradgradcheck(ConstantSecondDerivative.apply, [x], fast_mode=fast_mode, seed=0)


# ------------------------------------------------------------ the checker's contract

def test_outputs_of_any_shape_and_tuples():
    x, w = inputs((2, 3), (3,))
    assert gradcheck(lambda a, b: a * b, [x, w])
    assert gradcheck(lambda a, b: (a * b).sum(), [x, w])
    assert gradcheck(lambda a, b: (a.exp(), (a @ b).tanh()), [x, w])
    assert gradcheck(lambda a, b: (a.exp(), (a @ b).tanh()), [x, w], fast_mode=True, seed=0)


def test_float32_inputs_are_refused():
    x = mg.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="float32.*float64"):
        gradcheck(lambda t: t * 2, [x])


def test_inputs_are_not_mutated_and_grads_untouched():
    x, w = inputs((3, 2), (2,))
    before = x.data.copy(), w.data.copy()
    gradcheck(lambda a, b: (a * b).sin(), [x, w])
    gradcheck(lambda a, b: (a * b).sin(), [x, w], fast_mode=True, seed=0)
    gradgradcheck(lambda a, b: (a * b).sin(), [x, w])
    np.testing.assert_array_equal(x.data, before[0])
    np.testing.assert_array_equal(w.data, before[1])
    assert x.grad is None and w.grad is None


def test_inputs_that_do_not_require_grad_are_constants():
    x = inputs((3,))[0]
    c = mg.tensor([1.0, 2.0, 3.0])
    assert gradcheck(lambda a, b: a * b, [x, c])
    with pytest.raises(ValueError, match="nothing to check"):
        gradcheck(lambda a: a * 2, [c])


class NotRepeatable(mg.Function):
    calls = 0

    @staticmethod
    def forward(ctx, x):
        return 2 * x

    @staticmethod
    def backward(ctx, g):
        NotRepeatable.calls += 1
        return g * 2 + (1e-6 if NotRepeatable.calls % 2 == 0 else 0.0)


def test_backward_must_be_repeatable():
    (x,) = inputs((3,))
    with pytest.raises(GradcheckError, match="not repeatable"):
        gradcheck(NotRepeatable.apply, [x], atol=1e-3)


def test_fast_mode_on_a_two_layer_net_sized_function():
    # how long it takes is benchmarks/bench_gradcheck.py's business (benchmarks/README.md)
    rng = np.random.default_rng(0)
    x = mg.Tensor(rng.random((20, 784)))
    labels = rng.integers(0, 10, 20)
    params = [mg.tensor(rng.standard_normal(s) * 0.1, requires_grad=True)
              for s in [(784, 50), (50,), (50, 10), (10,)]]

    def loss(W1, b1, W2, b2):
        return mg.softmax_cross_entropy(mg.linear(mg.linear(x, W1, b1).sigmoid(), W2, b2),
                                        labels)

    assert sum(p.size for p in params) == 39_760
    assert gradcheck(loss, params, fast_mode=True, seed=0)


# ------------------------------------------------------------ the hypothesis toolkit

@given(grad_arrays(avoid=(0.0, 1.0), margin=0.1, min_value=-3, max_value=3))
def test_grad_arrays_are_bounded_float64_and_avoid_kinks(x):
    assert x.dtype == np.float64 and np.all(np.isfinite(x))
    assert np.all((x >= -3) & (x <= 3))
    assert np.all(np.abs(x) >= 0.1) and np.all(np.abs(x - 1.0) >= 0.1)


@given(broadcastable_shapes(3))
def test_broadcastable_shapes_broadcast(shapes):
    assert len(shapes) == 3
    np.broadcast_shapes(*shapes)


@given(broadcastable_arrays(2, avoid=(0.0,)), grad_tensors((2,)))
def test_broadcastable_arrays_and_tensors(arrays, t):
    a, b = arrays
    assert (a + b).shape == np.broadcast_shapes(a.shape, b.shape)
    assert isinstance(t, mg.Tensor) and t.requires_grad and t.shape == (2,)
    assert_gradcheck(lambda x, y: x / y, a, b)


@given(floats(-1, 1, avoid=(0.0,), margin=0.5))
def test_floats_avoid(v):
    assert 0.5 <= abs(v) <= 1


def test_assert_gradcheck_fails_on_a_bad_function():
    with pytest.raises(GradcheckError):
        assert_gradcheck(WrongScale.apply, np.ones(3), np.ones(3))



@pytest.mark.parametrize("check", [assert_gradcheck, assert_gradgradcheck])
def test_assert_gradcheck_passes_integer_and_boolean_arrays_unchanged(check):
    from minigrad import functional as F

    rng = np.random.default_rng(0)
    logits, labels = rng.standard_normal((4, 3)), np.array([0, 2, 1, 2])
    check(F.softmax_cross_entropy, logits, labels)
    check(mg.softmax_cross_entropy, logits, labels.astype(np.int32))
    check(mg.softmax_cross_entropy, logits.tolist(), labels.tolist())      # lists too
    mask = np.array([True, False, True])
    check(lambda x, m: mg.where(m, x * x, 0.0).sum(), rng.standard_normal(3), mask)
    check(lambda x, k: (x ** k).sum(), np.float32([0.5, 1.5]), 3)          # float32: float64


@given(st.data())
def test_a_users_property_test_in_three_lines(data):
    def huber(r, delta=1.0):
        small = abs(r) <= delta
        return mg.where(small, 0.5 * r * r, delta * (abs(r) - 0.5 * delta)).mean()

    x = data.draw(grad_arrays(avoid=(-1.0, 0.0, 1.0)))
    assert_gradcheck(huber, x)
