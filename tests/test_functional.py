"""minigrad.functional: the book's values, stability, gradients against finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.functional as F
from minigrad.testing import assert_gradcheck, assert_gradgradcheck, grad_arrays

FD = settings(deadline=None)

# (N, C) batches and single rows
matrices = st.sampled_from([(1, 3), (2, 4), (3, 2), (4,), (5,)])


def onehot(labels: np.ndarray, classes: int) -> np.ndarray:
    return np.eye(classes)[labels]


# ------------------------------------------------------------ values from the book

def test_step_function_values_and_no_gradient() -> None:
    x = mg.tensor([-1.0, 0.0, 2.0], requires_grad=True)
    y = F.step_function(x)
    assert y.tolist() == [0.0, 0.0, 1.0]
    assert not y.requires_grad
    assert F.step_function(np.array([-3, 5])).tolist() == [0, 1]


def test_sigmoid_relu_tanh_values() -> None:
    x = np.array([-1.0, 1.0, 2.0])
    np.testing.assert_allclose(F.sigmoid(x).data, 1 / (1 + np.exp(-x)))
    np.testing.assert_array_equal(F.relu(x).data, [0.0, 1.0, 2.0])
    np.testing.assert_allclose(F.tanh(x).data, np.tanh(x))


def test_softmax_values_sum_to_one() -> None:
    a = np.array([0.3, 2.9, 4.0])
    expected = np.exp(a) / np.exp(a).sum()
    np.testing.assert_allclose(F.softmax(a).data, expected)          # the book's example
    batch = np.random.default_rng(0).normal(size=(4, 5))
    np.testing.assert_allclose(F.softmax(batch).data.sum(axis=-1), 1.0)
    np.testing.assert_allclose(F.softmax(batch, axis=0).data.sum(axis=0), 1.0)
    np.testing.assert_allclose(F.log_softmax(batch).data, np.log(F.softmax(batch).data))


def test_cross_entropy_error_book_values() -> None:
    t = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0])
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    assert F.cross_entropy_error(y, t).item() == pytest.approx(0.510825457099338)
    y2 = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])
    assert F.cross_entropy_error(y2, t).item() == pytest.approx(2.302584092994546)
    # a label instead of a one-hot row, and a batch: the mean over rows
    assert F.cross_entropy_error(y, np.array(2)).item() == pytest.approx(0.510825457099338)
    batch = np.stack([y, y2])
    labels = np.array([2, 2])
    expected = (0.510825457099338 + 2.302584092994546) / 2
    assert F.cross_entropy_error(batch, labels).item() == pytest.approx(expected)
    assert F.cross_entropy_error(batch, onehot(labels, 10)).item() == pytest.approx(expected)
    # a zero probability gives log(1e-7), finite
    assert F.cross_entropy_error(np.array([1.0, 0.0]), np.array(1)).item() == pytest.approx(
        -np.log(1e-7))


def test_cross_entropy_error_rejects_bad_targets() -> None:
    with pytest.raises(ValueError, match=r"cross_entropy_error.*\(3,\).*\(2, 4\)"):
        F.cross_entropy_error(np.full((2, 4), 0.25), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="labels must be in"):
        F.cross_entropy_error(np.full((2, 4), 0.25), np.array([0, 4]))


def test_mean_squared_error_book_values_and_shape_check() -> None:
    t = np.array([0, 0, 1, 0, 0, 0, 0, 0, 0, 0], dtype=float)
    y = np.array([0.1, 0.05, 0.6, 0.0, 0.05, 0.1, 0.0, 0.1, 0.0, 0.0])
    assert F.mean_squared_error(y, t).item() == pytest.approx(0.0975)
    y2 = np.array([0.1, 0.05, 0.1, 0.0, 0.05, 0.1, 0.0, 0.6, 0.0, 0.0])
    assert F.mean_squared_error(y2, t).item() == pytest.approx(0.5975)
    with pytest.raises(ValueError, match=r"mean_squared_error.*\(3, 1\).*\(3,\)"):
        F.mean_squared_error(np.zeros((3, 1)), np.zeros(3))


def test_accuracy_labels_and_onehot() -> None:
    y = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    labels = np.array([1, 0, 0, 0])
    assert F.accuracy(y, labels) == 0.75
    assert F.accuracy(mg.Tensor(y), onehot(labels, 2)) == 0.75
    with pytest.raises(ValueError, match="accuracy"):
        F.accuracy(y, np.array([1, 0]))


# ------------------------------------------------------------ stability

@pytest.mark.parametrize("scale", [1e4, -1e4])
def test_huge_logits_give_finite_losses_and_gradients(scale: float) -> None:
    logits = np.array([[1.0, -1.0, 0.5], [-1.0, 1.0, 0.0]]) * scale
    labels = np.array([1, 1])
    for name, fn in [
        ("softmax_cross_entropy", lambda z: F.softmax_cross_entropy(z, labels)),
        ("log_softmax", lambda z: -F.log_softmax(z)[np.arange(2), labels].mean()),
        ("softmax+cross_entropy_error", lambda z: F.cross_entropy_error(F.softmax(z), labels)),
    ]:
        z = mg.Tensor(logits.copy(), requires_grad=True)
        loss = fn(z)
        loss.backward()
        assert np.isfinite(loss.item()), name
        assert np.all(np.isfinite(z.grad.data)), name
    p = F.softmax(logits).data
    assert np.all(np.isfinite(p)) and np.allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(F.log_softmax(logits).data.max(axis=1), 0.0, atol=1e-9)
    assert F.log_softmax(logits).data.min() == pytest.approx(-2 * abs(scale))
    # one row right by a huge margin (loss 0), the other wrong by 2|scale|: mean |scale|
    loss = F.softmax_cross_entropy(logits, labels).item()
    assert loss == pytest.approx(abs(scale), rel=1e-9)
    assert F.cross_entropy_error(F.softmax(logits), labels).item() == pytest.approx(
        -np.log(1e-7) / 2, rel=1e-6)


def test_softmax_cross_entropy_matches_composed_expression() -> None:
    rng = np.random.default_rng(1)
    z = rng.normal(size=(4, 3))
    t = np.array([0, 2, 1, 1])
    fused = F.softmax_cross_entropy(z, t).item()
    composed = -F.log_softmax(z)[np.arange(4), t].mean().item()
    assert fused == pytest.approx(composed, rel=1e-12)


# ------------------------------------------------------------ gradients vs finite differences

@FD
@given(x=grad_arrays(matrices, min_value=-3, max_value=3),
       axis=st.sampled_from([-1, 0]))
def test_softmax_gradients(x: np.ndarray, axis: int) -> None:
    assert_gradcheck(lambda v: F.softmax(v, axis=axis), x)
    assert_gradgradcheck(lambda v: F.softmax(v, axis=axis), x)


@FD
@given(x=grad_arrays(matrices, min_value=-3, max_value=3))
def test_log_softmax_gradients(x: np.ndarray) -> None:
    assert_gradcheck(F.log_softmax, x)
    assert_gradgradcheck(F.log_softmax, x)


@FD
@given(x=grad_arrays(st.sampled_from([(2, 3), (3,), (1, 4)]), min_value=0.05, max_value=1.0),
       data=st.data())
def test_cross_entropy_error_gradients(x: np.ndarray, data: st.DataObject) -> None:
    # probabilities kept away from 0, the pole of log
    classes = x.shape[-1]
    labels = data.draw(st.lists(st.integers(0, classes - 1), min_size=x.size // classes,
                                max_size=x.size // classes))
    labels = np.array(labels).reshape(x.shape[:-1])
    assert_gradcheck(lambda y: F.cross_entropy_error(y, labels), x)
    assert_gradgradcheck(lambda y: F.cross_entropy_error(y, labels), x)
    rows = onehot(labels, classes)
    assert_gradcheck(lambda y: F.cross_entropy_error(y, rows), x)


@FD
@given(pair=st.sampled_from([(2, 3), (4,), (1, 1)]).flatmap(
    lambda s: st.tuples(grad_arrays(s), grad_arrays(s))))
def test_mean_squared_error_gradients(pair: tuple[np.ndarray, np.ndarray]) -> None:
    y, t = pair
    assert_gradcheck(F.mean_squared_error, y, t)
    assert_gradgradcheck(F.mean_squared_error, y, t)


@FD
@given(logits=grad_arrays(st.sampled_from([(2, 3), (3, 4), (1, 2)]), min_value=-3,
                          max_value=3), data=st.data())
def test_softmax_cross_entropy_gradients(logits: np.ndarray, data: st.DataObject) -> None:
    n, c = logits.shape
    labels = np.array(data.draw(st.lists(st.integers(0, c - 1), min_size=n, max_size=n)))
    assert_gradcheck(lambda z: F.softmax_cross_entropy(z, labels), logits)
    assert_gradcheck(lambda z: F.softmax_cross_entropy(z, onehot(labels, c)), logits)
    assert_gradgradcheck(lambda z: F.softmax_cross_entropy(z, labels), logits)


@FD
@given(x=grad_arrays(st.sampled_from([(2, 3), (5,)]), avoid=(0.0,)),
       act=st.sampled_from(["sigmoid", "relu", "tanh"]))
def test_activation_gradients(x: np.ndarray, act: str) -> None:
    # relu is checked away from its kink at 0
    fn = getattr(F, act)
    assert_gradcheck(fn, x)
    if act != "relu":
        assert_gradgradcheck(fn, x)


@FD
@given(x=grad_arrays((3, 4)), p=st.sampled_from([0.2, 0.5]), seed=st.integers(0, 100))
def test_dropout_gradient_with_a_fixed_mask(x: np.ndarray, p: float, seed: int) -> None:
    def fn(v: mg.Tensor) -> mg.Tensor:          # the same mask at every evaluation
        return F.dropout(v, p, training=True, rng=np.random.default_rng(seed))

    assert_gradcheck(fn, x)


# ------------------------------------------------------------ dropout

def test_dropout_zeroes_about_p_and_scales_the_rest() -> None:
    x = np.ones((200, 100))
    y = F.dropout(x, 0.3, training=True, rng=np.random.default_rng(0)).data
    kept = y != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.7)
    assert abs(y.mean() - 1.0) < 0.02            # expectation preserved


def test_dropout_gradient_is_the_scaled_mask() -> None:
    x = mg.Tensor(np.random.default_rng(1).normal(size=(6, 5)), requires_grad=True)
    y = F.dropout(x, 0.5, training=True, rng=np.random.default_rng(2))
    y.sum().backward()
    mask = y.data != 0
    np.testing.assert_array_equal(x.grad.data, mask * 2.0)


def test_dropout_inactive_in_eval_and_at_p0_and_p1() -> None:
    x = mg.Tensor(np.arange(6.0).reshape(2, 3))
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0, training=True) is x
    assert np.all(F.dropout(x, 1.0, training=True).data == 0)
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(x, 1.5)


def test_dropout_follows_numpy_global_seed_without_rng() -> None:
    np.random.seed(3)
    a = F.dropout(np.ones(50), 0.5).data
    np.random.seed(3)
    b = F.dropout(np.ones(50), 0.5).data
    np.testing.assert_array_equal(a, b)
    assert 0 < np.count_nonzero(a) < 50


@pytest.mark.parametrize("x_shape, W_shape", [((2, 3, 0), (0, 6)), ((2, 3, 5), (5, 0)),
                                              ((0, 3, 5), (5, 6)), ((4, 2, 3, 5), (5, 6))])
def test_linear_folds_leading_axes_also_when_an_axis_is_empty(x_shape, W_shape) -> None:
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal(x_shape), requires_grad=True)
    W = mg.tensor(rng.standard_normal(W_shape), requires_grad=True)
    b = mg.tensor(rng.standard_normal(W_shape[1]), requires_grad=True)
    y = mg.ops.linear(x, W, b)
    assert np.allclose(y.data, x.data @ W.data + b.data)
    g = rng.standard_normal(y.shape)
    y.backward(g)
    assert np.allclose(x.grad.data, g @ W.data.T)
    assert np.allclose(W.grad.data, np.tensordot(x.data, g, axes=(range(len(x_shape) - 1),) * 2))
    assert np.allclose(b.grad.data, g.sum(axis=tuple(range(len(x_shape) - 1))))
