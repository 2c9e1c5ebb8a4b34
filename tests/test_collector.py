"""Recording a big graph pauses the cycle collector until backward (or until the graph is
gone), so that time per node does not grow with the graph; it is never left paused."""

from __future__ import annotations

import gc

import numpy as np

import minigrad as mg
from minigrad import engine


def chain(n: int) -> mg.Tensor:
    y = mg.tensor(np.ones(2), requires_grad=True)
    for _ in range(n):
        y = y * 1.0001
    return y.sum()


def test_a_big_graph_pauses_the_collector_until_backward() -> None:
    assert gc.isenabled()
    small = chain(engine._PAUSE_AFTER // 2)
    assert gc.isenabled()                          # a small graph leaves it alone
    small.backward()
    big = chain(engine._PAUSE_AFTER + 10)
    assert not gc.isenabled()
    big.backward()
    assert gc.isenabled()


def test_a_big_graph_dropped_without_backward_resumes_the_collector() -> None:
    big = chain(engine._PAUSE_AFTER + 10)
    assert not gc.isenabled()
    del big
    assert gc.isenabled()


def test_a_collector_the_user_turned_off_stays_off() -> None:
    gc.disable()
    try:
        big = chain(engine._PAUSE_AFTER + 10)
        big.backward()
        assert not gc.isenabled()
        del big
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_gradients_are_the_same_with_the_collector_paused() -> None:
    x = mg.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    y = x
    for _ in range(engine._PAUSE_AFTER + 10):
        y = mg.sin(y) * 0.5 + y * 0.5
    (g,) = mg.grad(y.sum(), x)
    with mg.no_grad():                             # the same by finite differences
        def f(v: np.ndarray) -> float:
            z = mg.tensor(v)
            for _ in range(engine._PAUSE_AFTER + 10):
                z = mg.sin(z) * 0.5 + z * 0.5
            return float(z.sum().item())
        eps = 1e-6
        numeric = [(f(x.data + eps * e) - f(x.data - eps * e)) / (2 * eps) for e in np.eye(5)]
    np.testing.assert_allclose(g.data, numeric, rtol=1e-5)
    assert gc.isenabled()
