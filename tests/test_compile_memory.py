"""mg.compile and memory: a replay keeps its large arrays between calls and hands one out
again only when nothing refers to it; counting what it keeps, a compiled step peaks no
higher than an eager one. (At the real size threshold, so apart from test_compile.py,
whose tests also run with every array kept.)"""

from __future__ import annotations

import gc
import tracemalloc

import numpy as np

import minigrad as mg
from minigrad.compile import CompiledFunction
from minigrad.models import SimpleConvNet, TwoLayerNet

RNG = np.random.default_rng(0)


def _grads(params):
    out = [None if p.grad is None else p.grad.data.copy() for p in params]
    for p in params:
        p.grad = None
    return out


def test_a_compiled_step_peaks_no_higher_than_an_eager_one():
    x, t = RNG.random((100, 784)), RNG.integers(0, 10, 100)
    net = TwoLayerNet(784, 50, 10, rng=0)
    compiled = mg.compile(net.loss)
    assert _peaks(net, compiled, x, t) <= _peaks(net, net.loss, x, t)


def _peaks(net, fn, x, t):
    """The peak of fn's second step, counting the arrays its replay keeps between calls."""
    peaks = []
    for _ in range(2):
        gc.collect()
        kept = sum(plan.pool.nbytes for plan, _ in fn._plans.values()) \
            if isinstance(fn, CompiledFunction) else 0
        tracemalloc.start()
        try:
            fn(x, t).backward()
            peaks.append(kept + tracemalloc.get_traced_memory()[1])
        finally:
            tracemalloc.stop()
        for p in net.parameters():
            p.grad = None
    return peaks[1]


def test_a_compiled_convnet_step_keeps_its_large_arrays_and_peaks_no_higher_than_eager():
    """SimpleConvNet at batch 100 makes arrays of 11-14 MB: a replay keeps them between
    calls (no new pages), gives eager's values bit for bit, and, counting what it keeps,
    peaks no higher than an eager step."""
    x, t = RNG.random((100, 1, 28, 28)), RNG.integers(0, 10, 100)
    net = SimpleConvNet(rng=0)
    compiled = mg.compile(net.loss)
    eager_run, compiled_run = [], []
    for fn, record in ((net.loss, eager_run), (compiled, compiled_run)):
        for _ in range(3):
            loss = fn(x, t)
            loss.backward()
            record.append((float(loss.detach()), _grads(list(net.parameters()))))
    for (le, ge), (lc, gc_) in zip(eager_run, compiled_run):
        assert le == lc
        for a, b in zip(ge, gc_):
            np.testing.assert_array_equal(a, b)
    plan = next(iter(compiled._plans.values()))[0]
    assert plan.pool.nbytes > 40e6                   # im2col, the products, relu, pooling
    assert _peaks(net, compiled, x, t) <= _peaks(net, net.loss, x, t)


def test_a_replay_never_writes_over_arrays_that_are_still_held():
    """Results, gradients and retained graphs of earlier calls keep their values: a kept
    array is handed out again only once nothing refers to it."""
    W = mg.tensor(RNG.standard_normal((300, 400)), requires_grad=True)
    fn = mg.compile(lambda x: mg.relu(x @ W))               # 1000 x 400: 3.2 MB
    xs = [RNG.standard_normal((1000, 300)) for _ in range(4)]
    fn(mg.tensor(xs[0], requires_grad=True))
    held = []
    for x in xs[1:]:
        leaf = mg.tensor(x, requires_grad=True)
        out = fn(leaf)
        out.sum().backward(retain_graph=True)
        held.append((out, out.data.copy(), leaf, leaf.grad.data.copy()))
        W.grad = None
    for out, values, leaf, grad in held:                     # all three still as they were
        np.testing.assert_array_equal(out.data, values)
        np.testing.assert_array_equal(leaf.grad.data, grad)
        leaf.grad = None
        out.sum().backward()                                 # the retained graph: the same
        np.testing.assert_array_equal(leaf.grad.data, grad)
        np.testing.assert_array_equal(out.data, np.maximum(leaf.data @ W.data, 0))
