"""Recording a big graph makes the cycle collector's young collections rare until backward (or
until the graph is gone), so that time per node does not grow with the graph; the collector is
never switched off by recording, and never left relaxed."""

from __future__ import annotations

import gc

import numpy as np

import minigrad as mg
from minigrad import collector


def chain(n: int) -> mg.Tensor:
    y = mg.tensor(np.ones(2), requires_grad=True)
    for _ in range(n):
        y = y * 1.0001
    return y.sum()


def relaxed() -> bool:
    return gc.get_threshold()[0] == collector.RELAXED


def test_a_big_graph_relaxes_the_collector_until_backward() -> None:
    before = gc.get_threshold()
    small = chain(collector.RELAX_AFTER // 2)
    assert gc.get_threshold() == before            # a small graph leaves it alone
    small.backward()
    big = chain(collector.RELAX_AFTER + 10)
    assert relaxed() and gc.isenabled()
    big.backward()
    assert gc.get_threshold() == before and gc.isenabled()


def test_a_big_graph_dropped_without_backward_restores_the_collector() -> None:
    before = gc.get_threshold()
    big = chain(collector.RELAX_AFTER + 10)
    assert relaxed()
    del big
    assert gc.get_threshold() == before


def test_a_dropped_graph_held_by_a_reference_cycle_is_still_collected() -> None:
    """An aborted step whose exception (kept in a local) holds the graph in a cycle."""
    before = gc.get_threshold()
    for _ in range(3):
        def step() -> None:
            y = chain(collector.RELAX_AFTER + 10)
            try:
                raise ValueError("aborted")
            except ValueError as e:
                err = e                              # err -> traceback -> frame -> err, y
                assert err is not None and y is not None
        step()
        assert gc.isenabled()
    gc.collect()
    assert gc.get_threshold() == before and gc.isenabled()


def test_a_collector_the_user_turned_off_stays_off() -> None:
    gc.disable()
    try:
        big = chain(collector.RELAX_AFTER + 10)
        assert not relaxed()
        big.backward()
        assert not gc.isenabled()
        del big
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_gradients_are_the_same_with_the_collector_paused() -> None:
    x = mg.tensor(np.linspace(-1, 1, 5), requires_grad=True)
    y = x
    for _ in range(collector.RELAX_AFTER + 10):
        y = mg.sin(y) * 0.5 + y * 0.5
    (g,) = mg.grad(y.sum(), x)
    with mg.no_grad():                             # the same by finite differences
        def f(v: np.ndarray) -> float:
            z = mg.tensor(v)
            for _ in range(collector.RELAX_AFTER + 10):
                z = mg.sin(z) * 0.5 + z * 0.5
            return float(z.sum().item())
        eps = 1e-6
        numeric = [(f(x.data + eps * e) - f(x.data - eps * e)) / (2 * eps) for e in np.eye(5)]
    np.testing.assert_allclose(g.data, numeric, rtol=1e-5)
    assert gc.isenabled()
