"""An op declared once, as docs/ops.md's "Adding an op" shows, is a function, a Tensor method
and what numpy calls; registering a name twice is refused with nothing changed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad import dispatch
from minigrad.dispatch import register
from minigrad.engine import Function, Tensor
from minigrad.gradcheck import gradcheck, gradgradcheck


@pytest.fixture
def restored() -> Iterator[None]:
    """Tensor's attributes and numpy's dispatch tables as they were before the test."""
    attributes = dict(vars(Tensor))
    ufuncs, functions = dict(dispatch.UFUNCS), dict(dispatch.FUNCTIONS)
    yield
    for name in set(vars(Tensor)) - set(attributes):
        delattr(Tensor, name)
    dispatch.UFUNCS.clear()
    dispatch.UFUNCS.update(ufuncs)
    dispatch.FUNCTIONS.clear()
    dispatch.FUNCTIONS.update(functions)


def test_a_toy_op_is_a_function_a_method_and_numpy_dispatch(restored: None) -> None:
    assert not hasattr(Tensor, "expm1") and np.expm1 not in dispatch.UFUNCS

    class Expm1(Function, method="expm1", numpy=np.expm1):
        """exp(a) - 1, exact for small a."""

        @staticmethod
        def forward(ctx: Function, a: np.ndarray) -> np.ndarray:
            out = np.expm1(a)
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx: Function, g: Any) -> Any:
            (out,) = ctx.saved_tensors
            return g * (out + 1)

    expm1 = Expm1.apply
    x = mg.tensor([-1.5, 1e-9, 0.5, 2.0], requires_grad=True)
    for y in (expm1(x), x.expm1(), np.expm1(x)):
        assert isinstance(y, Tensor) and y.op is not None and y.op.op_name == "expm1"
        np.testing.assert_allclose(y.data, np.expm1(x.data), rtol=1e-15)
        (g,) = mg.grad(y.sum(), x)
        np.testing.assert_allclose(g.data, np.exp(x.data), rtol=1e-15)
    assert gradcheck(expm1, [x]) and gradgradcheck(expm1, [x])
    assert expm1.__name__ == "expm1" and "exact for small a" in (expm1.__doc__ or "")


def test_a_registered_function_and_its_reflected_operator(restored: None) -> None:
    @register(method=("toy_sub2", "__toy__"), reflected="__rtoy_sub2__", numpy=np.fmax)
    def toy_sub2(a: Tensor, b: Tensor) -> Tensor:
        return a - 2 * b

    x, y = mg.tensor([5.0]), mg.tensor([1.0])
    assert x.toy_sub2(y).item() == 3.0 and x.__toy__(y).item() == 3.0
    assert x.__rtoy_sub2__(y).item() == -9.0
    assert np.fmax(x, y).item() == 3.0                # dispatched to toy_sub2


def test_a_name_taken_already_is_refused_and_nothing_changes(restored: None) -> None:
    before = dict(vars(Tensor))
    with pytest.raises(ValueError, match=r"Tensor\.exp is defined already"):
        class Exp2(Function, method=("exp2", "exp")):
            pass
    with pytest.raises(ValueError, match=r"numpy\.exp is answered already"):
        register(method="exp_again", numpy=np.exp)(lambda a: a)
    with pytest.raises(ValueError, match=r"Tensor\.twice is defined already"):
        register(method=("twice", "twice"))(lambda a: a)
    assert dict(vars(Tensor)) == before
    assert dispatch.UFUNCS[np.exp] is mg.ops.Exp.apply


def test_functional_and_ops_check_targets_alike() -> None:
    """One validator: the same targets are accepted and refused by both losses."""
    logits = mg.tensor(np.array([[0.5, -1.0, 2.0], [0.0, 0.3, -0.2]]), requires_grad=True)
    onehot = np.eye(3, dtype=np.int64)[[2, 0]]
    probs = mg.functional.softmax(logits)
    for loss in (lambda t: mg.softmax_cross_entropy(logits, t),
                 lambda t: mg.functional.cross_entropy_error(probs, t)):
        by_labels, by_rows = loss(np.array([2, 0])), loss(onehot)   # integer rows too
        np.testing.assert_allclose(by_rows.data, by_labels.data, rtol=1e-6)
        with pytest.raises(ValueError, match=r"labels must be in \[0, 3\), got values from -1"):
            loss(np.array([-1, 0]))
        with pytest.raises(ValueError, match=r"targets of shape \(2, 2\) and dtype float64 do "
                                             r"not fit \w+ of shape \(2, 3\)"):
            loss(np.ones((2, 2)))
