"""The engine's semantics: accumulation, freeing, higher order, dtypes, threads, memory."""

import gc
import sys
import threading
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad.gradcheck import gradcheck, gradgradcheck


def leaf(values, dtype=np.float64):
    return mg.tensor(np.asarray(values, dtype=dtype), requires_grad=True)


# ------------------------------------------------------------ the public surface

def test_readme_contract():
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    assert isinstance(x.grad, mg.Tensor)
    np.testing.assert_array_equal(x.grad.data, [[2.0, 4.0]])
    assert x.is_leaf and not loss.is_leaf
    assert x.shape == (1, 2) and x.ndim == 2 and x.size == 2 and x.dtype == np.float64
    assert len(x) == 1 and x.T.shape == (2, 1)
    assert loss.item() == 5.0 and isinstance(loss.item(), float)
    assert x.numpy() is x.data
    assert x.detach().requires_grad is False and x.detach().data is x.data


def test_tensor_shares_and_tensor_function_copies():
    a = np.zeros(3)
    shared, copied = mg.Tensor(a), mg.tensor(a)
    a[0] = 7.0
    assert shared.data[0] == 7.0 and copied.data[0] == 0.0


def test_repr_is_readable():
    x = mg.tensor([1.0, 2.0], requires_grad=True, name="x")
    assert repr(x) == "tensor([1., 2.], dtype=float64, requires_grad=True, name='x')"
    assert "op=mul" in repr(x * 2)
    assert "..." in repr(mg.tensor(np.arange(1000.0)))


def test_python_scalars_and_ndarrays_on_either_side():
    x = leaf([1.0, 2.0])
    a = np.array([3.0, 5.0])
    for y in (a + x, x + a, a * x, a - x, a / x, a ** x, 2.0 * x, 2.0 - x, 2.0 / x, 2.0 ** x,
              np.float64(2.0) * x):
        assert isinstance(y, mg.Tensor) and y.requires_grad
    (a * x + 2.0 / x).sum().backward()
    np.testing.assert_allclose(x.grad.data, a - 2.0 / x.data ** 2)
    m = np.ones((2, 2)) @ leaf([[1.0], [2.0]])
    assert isinstance(m, mg.Tensor) and m.shape == (2, 1)


def test_comparisons_give_boolean_tensors_without_grad():
    x = leaf([1.0, -2.0, 3.0])
    for result in (x > 0, x >= 0, x < 0, x <= 0, x == 1.0, x != 1.0, np.less(x, 0)):
        assert isinstance(result, mg.Tensor)
        assert result.dtype == bool and not result.requires_grad
    np.testing.assert_array_equal((x > 0).data, [True, False, True])
    np.testing.assert_array_equal(((x > 0) & (x < 2)).data, [True, False, False])


def test_requires_grad_on_integer_or_bool_data_is_a_type_error():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        mg.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError, match="bool"):
        mg.Tensor(np.array([True]), requires_grad=True)
    t = mg.tensor([1, 2])
    with pytest.raises(TypeError):
        t.requires_grad = True


def test_numpy_function_without_gradient_is_refused_while_recording():
    x = leaf([0.5, 0.25])
    with pytest.raises(TypeError, match="numpy.arctan has no gradient"):
        np.arctan(x)
    with mg.no_grad():
        assert isinstance(np.arctan(x), mg.Tensor)
    assert np.allclose(x, [0.5, 0.25])          # inspection functions see the data
    assert np.argmax(x) == 0


# ------------------------------------------------------------ gradients and the graph

def test_broadcast_gradients_are_summed_back():
    a = leaf(np.ones((2, 1, 3)))
    b = leaf(np.ones((4, 1)))
    g = np.random.default_rng(0).standard_normal((2, 4, 3))
    (a * b).backward(g)
    np.testing.assert_allclose(a.grad.data, g.sum(axis=1, keepdims=True))
    np.testing.assert_allclose(b.grad.data, g.sum(axis=(0, 2))[:, None])


def test_ties_share_the_gradient_evenly():
    x = leaf([1.0, 3.0, 3.0, 3.0, 2.0])
    x.max().backward()
    np.testing.assert_allclose(x.grad.data, [0, 1 / 3, 1 / 3, 1 / 3, 0])
    y = leaf([[5.0, 5.0], [1.0, 2.0]])
    y.min(axis=1).sum().backward()
    np.testing.assert_allclose(y.grad.data, [[0.5, 0.5], [1.0, 0.0]])
    a, b = leaf([1.0, 2.0]), leaf([1.0, 0.0])
    mg.maximum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.data, [0.5, 1.0])
    np.testing.assert_allclose(b.grad.data, [0.5, 0.0])
    a.grad = b.grad = None
    mg.minimum(a, b).sum().backward()
    np.testing.assert_allclose(a.grad.data, [0.5, 0.0])
    np.testing.assert_allclose(b.grad.data, [0.5, 1.0])


def test_derivatives_at_kinks():
    x = leaf([-1.0, 0.0, 2.0])
    (x.relu().sum() + abs(x).sum()).backward()
    np.testing.assert_array_equal(x.grad.data, [-1.0, 0.0, 2.0])     # relu'(0) = abs'(0) = 0
    c = leaf([-1.0, -0.5, 0.0, 0.5, 1.0])
    c.clip(-0.5, 0.5).sum().backward()
    np.testing.assert_array_equal(c.grad.data, [0, 1, 1, 1, 0])      # bounds are inside


def test_power_with_tensor_exponent_differentiates_both():
    a, b = leaf([2.0, 3.0]), leaf([3.0, 0.5])
    (a ** b).sum().backward()
    np.testing.assert_allclose(a.grad.data, b.data * a.data ** (b.data - 1))
    np.testing.assert_allclose(b.grad.data, a.data ** b.data * np.log(a.data))
    z = leaf([0.0])
    e = leaf([2.0])
    (z ** e).sum().backward()
    assert z.grad.data[0] == 0.0 and e.grad.data[0] == 0.0             # finite at base 0


def test_backward_seeds_one_on_scalars_and_refuses_non_scalars():
    x = leaf([1.0, 2.0])
    y = x * 3
    with pytest.raises(RuntimeError, match=r"scalar output.*shape \(2,\)"):
        y.backward()
    y.backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad.data, [3.0, 30.0])
    with pytest.raises(ValueError, match=r"grad has shape \(3,\).*shape \(2,\)"):
        (x * 3).backward(np.ones(3))


def test_backward_on_a_leaf_and_on_something_without_grad():
    x = leaf(2.0)
    x.backward()
    assert x.grad.item() == 1.0
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor(1.0).backward()


def test_gradients_accumulate_into_leaves_until_reset():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [4.0, 8.0])
    x.grad = None
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.data, [5.0, 5.0])


def test_leaf_gradients_are_arrays_of_their_own():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    assert a.grad.data is not b.grad.data
    assert a.grad.data.flags.writeable
    a.grad.data[0] = 100.0
    assert b.grad.data[0] == 1.0
    v = np.array([1.0, 1.0])
    c = leaf([1.0, 1.0])
    c.backward(v)
    assert c.grad.data is not v


def test_non_leaf_gradients_only_with_retain_grad():
    x = leaf([1.0, 2.0])
    hidden = x * 2
    kept = x * 3
    kept.retain_grad()
    (hidden * kept).sum().backward()
    assert hidden.grad is None
    np.testing.assert_array_equal(kept.grad.data, hidden.data)


def test_shared_subexpressions():
    a = leaf(3.0)
    b = a + a
    c = b * b                      # c = 4 a^2
    c.backward()
    assert a.grad.item() == 24.0


def test_graph_is_freed_after_backward():
    x = leaf([1.0, 2.0])
    loss = (x.exp() * x).sum()
    loss.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        loss.backward()
    y = leaf([1.0, 2.0])
    loss = (y.exp() * y).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(y.grad.data, 2 * (np.exp(y.data) * (1 + y.data)))


def test_saved_arrays_are_released_by_backward():
    x = leaf(np.ones(4))
    h = x.exp()
    saved = weakref.ref(h.data)
    loss = (h * x).sum()
    del h
    assert saved() is not None         # the graph keeps it for backward
    loss.backward()
    assert saved() is None             # backward released it, loss still alive


def test_memory_is_freed_without_the_garbage_collector():
    gc.disable()
    try:
        x = leaf(np.ones(100))
        h = (x * 2).exp()
        out = weakref.ref(h.data)
        loss = (h.sigmoid() * x).sum()
        del h
        assert out() is not None
        del loss
        assert out() is None           # no reference cycles: freed at once
    finally:
        gc.enable()


def test_deep_chain_backward_does_not_recurse():
    # A chain 10,000 nodes deep under a recursion limit 150 frames above the caller's depth:
    # a backward that recursed once per node (or once per several) would raise
    # RecursionError, as the recursive walk below does. (benchmarks/bench_scaling.py runs
    # chains of up to 2 million nodes under a limit of 100.)
    nodes = 10_000
    x = leaf(1.0)
    y = x
    for _ in range(nodes):
        y = y * 1.0
    here, frame = 0, sys._getframe()
    while frame is not None:
        here, frame = here + 1, frame.f_back

    def recursive_walk(n):
        return 0 if n == 0 else 1 + recursive_walk(n - 1)

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(here + 150)
    try:
        with pytest.raises(RecursionError):
            recursive_walk(nodes)
        y.backward()
    finally:
        sys.setrecursionlimit(limit)
    assert x.grad.item() == 1.0


def test_wide_fan_in_graph():
    x = leaf(np.arange(3.0))
    total = x * 0
    for i in range(2000):
        total = total + x * float(i)
    total.sum().backward()
    np.testing.assert_allclose(x.grad.data, np.full(3, sum(range(2000))))


# ------------------------------------------------------------ higher order

def test_grad_returns_tuple_and_leaves_dot_grad_alone():
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    gx, gw = mg.grad((x * w).sum(), [x, w])
    np.testing.assert_array_equal(gx.data, w.data)
    np.testing.assert_array_equal(gw.data, x.data)
    assert x.grad is None and w.grad is None


def test_grad_on_non_leaf_inputs_and_unused_inputs():
    x = leaf([1.0, 2.0])
    h = x * x
    unused = leaf(1.0)
    (gh,) = mg.grad((h * 3).sum(), h, retain_graph=True)
    np.testing.assert_array_equal(gh.data, [3.0, 3.0])
    with pytest.raises(RuntimeError, match="not used"):
        mg.grad((h * 3).sum(), [x, unused], retain_graph=True)
    gx, gu = mg.grad((h * 3).sum(), [x, unused], allow_unused=True)
    assert gu is None and np.allclose(gx.data, 6 * x.data)


def test_create_graph_gives_second_derivatives():
    x = leaf([0.5, -1.0, 2.0])
    (g,) = mg.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad
    (h,) = mg.grad(g.sum(), x)
    np.testing.assert_allclose(h.data, 6 * x.data)


def test_hessian_vector_product():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((4, 4))
    A = A + A.T
    x = leaf(rng.standard_normal(4))
    v = rng.standard_normal(4)
    f = 0.5 * (x @ (mg.Tensor(A) @ x)) + x.sin().sum()
    (g,) = mg.grad(f, x, create_graph=True)
    (hv,) = mg.grad(g, x, grad_outputs=v)
    expected = A @ v - np.sin(x.data) * v
    np.testing.assert_allclose(hv.data, expected, rtol=1e-10)


def test_gradient_penalty_through_backward_create_graph():
    w = leaf([1.0, 2.0])
    x = leaf([3.0, -1.0])
    y = (w * x).tanh().sum()
    y.backward(create_graph=True)
    penalty = (x.grad * x.grad).sum()          # depends on w through the recorded backward
    x.grad = None
    w.grad = None
    penalty.backward()
    t = np.tanh(w.data * x.data)
    d = 1 - t ** 2
    expected = 2 * d * w.data * (d + w.data * x.data * (-2 * t * d))
    np.testing.assert_allclose(w.grad.data, expected, rtol=1e-10)


def test_third_order():
    x = leaf(0.7)
    (g1,) = mg.grad(x.sin(), x, create_graph=True)
    (g2,) = mg.grad(g1, x, create_graph=True)
    (g3,) = mg.grad(g2, x)
    assert np.isclose(g3.item(), -np.cos(0.7))


# ------------------------------------------------------------ dtypes

FLOAT32_OPS = {
    "add": lambda x: x + 1.5, "sub": lambda x: 1.5 - x, "mul": lambda x: x * 2.5,
    "div": lambda x: x / 3.0, "rdiv": lambda x: 3.0 / x, "pow": lambda x: x ** 2.0,
    "tensor_pow": lambda x: x ** x, "rpow": lambda x: 2.0 ** x, "neg": lambda x: -x,
    "exp": mg.exp, "log": mg.log, "sqrt": mg.sqrt, "sin": mg.sin, "cos": mg.cos,
    "tanh": mg.tanh, "sigmoid": mg.sigmoid, "relu": mg.relu, "abs": abs,
    "clip": lambda x: x.clip(0.2, 0.8), "maximum": lambda x: mg.maximum(x, 0.5),
    "minimum": lambda x: mg.minimum(x, x * 2), "where": lambda x: mg.where(x > 0.5, x, 0.0),
    "sum": lambda x: x.sum(axis=0), "mean": lambda x: x.mean(axis=1, keepdims=True),
    "max": lambda x: x.max(axis=0), "min": lambda x: x.min(),
    "reshape": lambda x: x.reshape(-1), "transpose": lambda x: x.T,
    "broadcast_to": lambda x: x.broadcast_to((2, 2, 3)), "getitem": lambda x: x[[0, 0, 1]],
    "concatenate": lambda x: mg.concatenate([x, x], axis=1), "stack": lambda x: mg.stack([x, x]),
    "matmul": lambda x: x @ x.T, "linear": lambda x: mg.linear(x, x.T, x[0, :2]),
    "softmax_cross_entropy": lambda x: mg.softmax_cross_entropy(x, np.array([0, 2])),
    "float64_ndarray": lambda x: (x * np.float32(2.0)) + np.ones(3, np.float32),
}


@pytest.mark.parametrize("name", sorted(FLOAT32_OPS))
def test_float32_stays_float32_forward_and_backward(name):
    x = leaf(np.array([[0.1, 0.7, 0.3], [0.9, 0.4, 0.6]]), dtype=np.float32)
    y = FLOAT32_OPS[name](x)
    assert y.dtype == np.float32, f"{name} forward gave {y.dtype}"
    (g,) = mg.grad(y, x, grad_outputs=np.ones(y.shape, np.float32), create_graph=True)
    assert g.dtype == np.float32, f"{name} backward gave {g.dtype}"
    if g.requires_grad:                        # the gradient is not constant
        (gg,) = mg.grad(g.sum(), x, allow_unused=True)
        assert gg is None or gg.dtype == np.float32


def test_numpy_promotion_rules():
    x = leaf(np.ones(2), dtype=np.float32)
    y = x * np.ones(2)                         # float64 array: numpy promotes
    assert y.dtype == np.float64
    y.sum().backward()
    assert x.grad.dtype == np.float32          # the gradient takes the leaf's dtype
    assert (mg.tensor([1, 2]) * 2).dtype == np.int64
    assert (mg.tensor([1, 2]) / 2).dtype == np.float64


# ------------------------------------------------------------ grad mode

def test_no_grad_and_enable_grad_as_context_managers_and_decorators():
    x = leaf([1.0])
    with mg.no_grad():
        assert not (x * 2).requires_grad
        with mg.enable_grad():
            assert (x * 2).requires_grad
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()

    @mg.no_grad()
    def predict(t):
        return t * 2

    assert not predict(x).requires_grad and mg.is_grad_enabled()


def test_no_grad_is_thread_local():
    x = leaf([1.0])
    inside, results = threading.Event(), {}

    def worker():
        with mg.no_grad():
            inside.set()
            release.wait(5)
            results["worker"] = (x * 2).requires_grad

    release = threading.Event()
    thread = threading.Thread(target=worker)
    thread.start()
    inside.wait(5)
    results["main"] = (x * 2).requires_grad     # the other thread is inside no_grad
    release.set()
    thread.join()
    assert results == {"main": True, "worker": False}


# ------------------------------------------------------------ custom functions

class Cube(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * g


class ScaledSum(mg.Function):
    """Takes a non-tensor argument and returns fewer gradients than arguments."""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.scale = scale
        ctx.shape = x.shape
        return (x * scale).sum()

    @staticmethod
    def backward(ctx, g):
        return np.broadcast_to(g * ctx.scale, ctx.shape)


def test_user_defined_function_first_and_second_order():
    x = leaf([0.5, -1.5, 2.0])
    y = Cube.apply(x)
    assert isinstance(y, mg.Tensor) and type(y.op).__name__ == "Cube"
    assert gradcheck(Cube.apply, [x]) and gradgradcheck(Cube.apply, [x])
    assert gradcheck(lambda t: ScaledSum.apply(t, 2.5), [x])
    assert gradgradcheck(lambda t: ScaledSum.apply(t * t, 2.5), [x])
    assert ScaledSum.apply(x, 2.0).item() == 2.0


def test_function_backward_with_a_wrong_shape_names_the_op():
    class Bad(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return np.ones(7)

    with pytest.raises(ValueError, match=r"the backward of bad returned a gradient of shape \(7,\) "
                                         r"for an input of shape \(2,\)"):
        Bad.apply(leaf([1.0, 2.0])).sum().backward()


# ------------------------------------------------------------ error messages

@pytest.mark.parametrize("make, error, message", [
    (lambda: leaf(np.ones((3, 4))) @ leaf(np.ones((5, 2))), ValueError,
     r"matmul: shapes \(3, 4\) and \(5, 2\) are not aligned"),
    (lambda: leaf(np.ones(3)) + np.ones(4), ValueError, r"add: .*\(3,\).*\(4,\)"),
    (lambda: leaf(np.ones(3)) * leaf(np.ones((2, 2))), ValueError, r"mul: .*\(3,\).*\(2, ?2\)"),
    (lambda: leaf(np.ones((2, 3))).reshape(4), ValueError,
     r"reshape: cannot reshape a tensor of shape \(2, 3\)"),
    (lambda: leaf(np.ones((2, 3))).sum(axis=2), np.exceptions.AxisError,
     "sum: axis 2 is out of bounds"),
    (lambda: leaf(np.ones(3))[5], IndexError, r"getitem: .*shape \(3,\)"),
    (lambda: mg.concatenate([leaf(np.ones((2, 3))), leaf(np.ones((2, 4)))]), ValueError,
     r"concatenate: shapes \(2, 3\), \(2, 4\)"),
    (lambda: mg.linear(leaf(np.ones((2, 3))), leaf(np.ones((4, 5)))), ValueError,
     r"linear: shapes x \(2, 3\), W \(4, 5\)"),
    (lambda: mg.softmax_cross_entropy(leaf(np.ones((2, 3))), np.array([0, 3])), ValueError,
     r"softmax_cross_entropy: labels must be in \[0, 3\)"),
    (lambda: leaf(np.ones(2)).item(), ValueError, r"item: .*shape \(2,\)"),
])
def test_errors_name_the_op_and_shapes(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_grad_with_respect_to_a_non_leaf_leaves_the_graph_below_it():
    x = leaf([1.0, 2.0])
    z = x.exp()
    (g1,) = mg.grad((z * 2).sum(), z)       # runs only the nodes above z
    (g2,) = mg.grad((z * 3).sum(), z)
    np.testing.assert_array_equal(g1.data, [2.0, 2.0])
    np.testing.assert_array_equal(g2.data, [3.0, 3.0])
    z.sum().backward()                      # z's own node is still there
    np.testing.assert_allclose(x.grad.data, np.exp(x.data))


# ------------------------------------------------------------ edges found in review

def test_second_derivative_treats_a_detached_operand_as_a_constant():
    x = leaf([1.0, 2.0])
    (g,) = mg.grad((x * x.detach()).sum(), x, create_graph=True)
    np.testing.assert_array_equal(g.data, x.data)
    assert not g.requires_grad                       # d/dx of a constant slope
    (g,) = mg.grad((x ** x.detach()).sum(), x, create_graph=True)
    (h,) = mg.grad(g.sum(), x)
    expected = x.data * (x.data - 1) * x.data ** (x.data - 2)    # d²/dx² x^c, c fixed
    np.testing.assert_allclose(h.data, expected)


def test_power_with_exponent_zero_at_base_zero_has_zero_gradient():
    x = leaf([0.0, 1.0])
    (g,) = mg.grad((x ** 0).sum(), x)
    np.testing.assert_array_equal(g.data, [0.0, 0.0])
    (g1,) = mg.grad((x ** 2).sum(), x, create_graph=True)
    (g2,) = mg.grad(g1.sum(), x, create_graph=True)
    (g3,) = mg.grad(g2.sum(), x)
    assert np.all(np.isfinite(g3.data)) and np.all(g3.data == 0)


def test_index_with_a_nested_tuple_accumulates_repeats():
    a = leaf(np.arange(12.0).reshape(3, 4))
    a[(0, 0), :].sum().backward()
    np.testing.assert_array_equal(a.grad.data[0], [2.0, 2.0, 2.0, 2.0])


def test_softmax_cross_entropy_differentiates_probability_targets():
    z = leaf([[1.0, 2.0, 0.5]])
    t = leaf([[0.2, 0.5, 0.3]])
    assert gradcheck(lambda logits, target: mg.softmax_cross_entropy(logits, target), [z, t])


def test_numpy_reshape_dot_where_clip_follow_numpy_or_refuse():
    t = mg.tensor(np.arange(6.0), requires_grad=True)
    with pytest.raises(TypeError, match="order='C'"):
        np.reshape(t, (3, 2), order="F")
    with pytest.raises(TypeError, match="more than 2 dimensions"):
        np.dot(leaf(np.ones((2, 3, 4))), leaf(np.ones((2, 4, 5))))
    assert np.dot(leaf(np.ones((2, 3))), leaf(np.ones(3))).shape == (2,)
    (rows,) = np.where(mg.tensor([0.0, 1.0, 2.0]) > 0.5)
    np.testing.assert_array_equal(rows, [1, 2])
    np.testing.assert_array_equal(np.clip(t, a_min=1.0, a_max=3.0).data, np.clip(t.data, 1, 3))
    with pytest.raises(TypeError, match="numpy.sum on tensors"):
        np.sum(t, dtype=np.float32)


def test_changing_an_index_or_mask_after_forward_does_not_change_backward():
    a = leaf(np.arange(6.0).reshape(3, 2))
    idx = np.array([0, 1])
    y = a[idx]
    idx[:] = 2
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.data, [[1, 1], [1, 1], [0, 0]])
    b = leaf([1.0, 2.0])
    mask = np.array([True, False])
    z = mg.where(mask, b, 0.0)
    mask[:] = False
    z.sum().backward()
    np.testing.assert_array_equal(b.grad.data, [1.0, 0.0])


def test_clip_with_one_bound_under_create_graph():
    x = leaf([1.0, 2.0])
    for clipped in (mg.clip(x, hi=1.5), mg.clip(x, lo=1.5)):
        (g,) = mg.grad(clipped.sum(), x, create_graph=True)
        assert g.shape == (2,)


def test_linear_bias_of_shape_1_by_out():
    x, W, b = leaf(np.ones((3, 2))), leaf(np.ones((2, 4))), leaf(np.ones((1, 4)))
    mg.linear(x, W, b).sum().backward()
    np.testing.assert_array_equal(b.grad.data, np.full((1, 4), 3.0))


def test_grad_of_the_same_input_twice():
    x = leaf([1.0, 2.0])
    a, b = mg.grad((x * x).sum(), [x, x])
    np.testing.assert_array_equal(a.data, [2.0, 4.0])
    np.testing.assert_array_equal(b.data, [2.0, 4.0])


def test_set_grad_enabled_called_as_a_function_switches_at_once():
    try:
        mg.set_grad_enabled(False)
        assert not mg.is_grad_enabled() and not (leaf([1.0]) * 2).requires_grad
    finally:
        mg.set_grad_enabled(True)
    assert mg.is_grad_enabled()

    @mg.set_grad_enabled(False)
    def inference():
        return mg.is_grad_enabled()

    assert mg.is_grad_enabled() and not inference() and mg.is_grad_enabled()


def test_retained_gradients_are_writable_arrays_of_their_own():
    x = leaf([1.0, 2.0])
    y = x + 1
    y.retain_grad()
    s = y * 1.0
    s.retain_grad()
    s.sum().backward()
    assert y.grad.data is not x.grad.data
    assert s.grad.data.flags.writeable and y.grad.data.flags.writeable


def test_softmax_cross_entropy_backward_keeps_its_softmax_only_while_the_graph_is_kept():
    # Without retain_graph, the backward writes the gradient over the kept softmax; with
    # it, a second backward (and a direct grad) must still see the softmax.
    rng = np.random.default_rng(3)
    logits = leaf(rng.standard_normal((5, 4)))
    labels = np.array([0, 3, 1, 1, 2])
    p = np.exp(logits.data - logits.data.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    expected = (p - np.eye(4)[labels]) / 5
    loss = mg.softmax_cross_entropy(logits * 1.0, labels)
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(logits.grad.data, expected, rtol=1e-12, atol=1e-15)
    loss.backward(retain_graph=True)
    np.testing.assert_allclose(logits.grad.data, 2 * expected, rtol=1e-12, atol=1e-15)
    got, = mg.grad(loss, [logits], retain_graph=True)
    np.testing.assert_allclose(got.data, expected, rtol=1e-12, atol=1e-15)
    loss.backward()
    np.testing.assert_allclose(logits.grad.data, 3 * expected, rtol=1e-12, atol=1e-15)
    with pytest.raises(RuntimeError, match="freed"):
        loss.backward()
    assert mg.modes.grad_mode.retaining        # restored once each pass ends


def test_a_recorded_backward_keeps_the_softmax_it_saved_through_a_later_backward():
    # mg.grad(..., create_graph=True) records a Softmax node over the kept softmax; a
    # later backward without retain_graph must not write the gradient over it.
    rng = np.random.default_rng(0)
    X, labels, v = rng.standard_normal((4, 3)), np.array([0, 2, 1, 1]), rng.standard_normal((4, 3))

    def hessian_vector(interleave: bool) -> np.ndarray:
        x = leaf(X)
        loss = mg.softmax_cross_entropy(x, labels)
        g, = mg.grad(loss, [x], create_graph=True)
        if interleave:
            loss.backward()
        hv, = mg.grad((g * mg.tensor(v)).sum(), [x])
        return hv.data

    np.testing.assert_array_equal(hessian_vector(True), hessian_vector(False))
