"""mg.compile and memory: a replay keeps its large arrays between calls and hands one out
again only when nothing refers to it; counting what it keeps, a compiled step peaks no
higher than an eager one. (At the real size threshold, so apart from test_compile.py,
whose tests also run with every array kept.)"""

from __future__ import annotations

import gc
import threading
import tracemalloc

import numpy as np

import minigrad as mg
from minigrad import buffers
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
        kept = fn.pool.nbytes if isinstance(fn, CompiledFunction) else 0
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
    assert compiled.pool.nbytes > 40e6               # im2col, the products, relu, pooling
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


def _convnet_peak(fn, net, calls):
    """The highest memory in use during any of `calls` (each (x, t, train)) when they run
    a second time (the first traces), traced from before the first, so that what a replay
    keeps between calls is counted."""
    peak = 0
    gc.collect()
    tracemalloc.start()
    try:
        for second in (False, True):
            for x, t, train in calls:
                gc.collect()
                tracemalloc.reset_peak()
                if train:
                    fn(x, t).backward()
                else:
                    with mg.no_grad():
                        fn(x, t)
                if second:
                    peak = max(peak, tracemalloc.get_traced_memory()[1])
                for p in net.parameters():
                    p.grad = None
    finally:
        tracemalloc.stop()
    return peak


def test_what_a_compiled_convnet_keeps_follows_the_last_call():
    """Two batch sizes in turn, an evaluation under no_grad between steps, and a step that
    held its graph while another ran: counting what the replay keeps, no call peaks higher
    than the same call eagerly, as the pool lets go of what the last call did not use."""
    big = RNG.random((100, 1, 28, 28)), RNG.integers(0, 10, 100)
    small = RNG.random((60, 1, 28, 28)), RNG.integers(0, 10, 60)
    net = SimpleConvNet(rng=0)
    compiled = mg.compile(net.loss)
    own = 64 * 1024              # what the compiled function's plans and code take
    for calls in ([(*big, True), (*small, True)], [(*big, True), (*big, False)],
                  [(*big, False)]):
        assert _convnet_peak(compiled, net, calls) <= _convnet_peak(net.loss, net, calls) + own
    held = [compiled(*big) for _ in range(3)]         # three graphs alive at once
    for loss in held:
        loss.backward()
    del held, loss
    for p in net.parameters():
        p.grad = None
    compiled(*big).backward()
    compiled(*big).backward()                          # what only the held calls took: gone
    assert _convnet_peak(compiled, net, [(*big, True)]) <= \
        _convnet_peak(net.loss, net, [(*big, True)]) + own


def test_a_pooled_array_is_handed_out_again_only_once_nothing_holds_it():
    pool = buffers.Pool()
    dtype = np.dtype(np.float64)
    a = pool.empty((600, 400), dtype)
    b = pool.empty((600, 400), dtype)
    assert b is not a
    view = a[::2]
    del a
    c = pool.empty((600, 400), dtype)                 # a is still held, through its view
    assert c is not view.base and c is not b
    del view, c
    assert pool.empty((600, 400), dtype).shape == (600, 400)
    kept = {id(x) for kinds in pool.arrays.values() for x in kinds}
    d = pool.empty((600, 400), dtype)
    assert id(d) in kept                               # a freed one, not a new one


def test_a_compiled_relu_lays_out_its_result_as_eager_does():
    """Reversed, broadcast and transposed inputs: the same strides as eager, so that a
    reduction after it sums in the same order (bit for bit)."""
    x = mg.tensor(RNG.standard_normal((700, 500)), requires_grad=True)
    cases = [lambda a: a[::-1], lambda a: a[:, ::-1], lambda a: a.T,
             lambda a: a[:, :1] * mg.ones((1, 500))]
    for case in cases:
        def fn(a, case=case):
            y = mg.relu(case(a))
            return y.sum(axis=1) + y.sum(axis=0).sum()
        compiled = mg.compile(fn)
        compiled(x)
        got, expected = compiled(x), fn(x)
        np.testing.assert_array_equal(got.data, expected.data)
        got.sum().backward()


def test_replays_in_threads_leave_no_pool_behind():
    W = mg.tensor(RNG.standard_normal((300, 400)), requires_grad=True)
    fn = mg.compile(lambda x: mg.relu(x @ W).sum())
    x = RNG.standard_normal((1000, 300))
    fn(x)

    def work():
        for _ in range(20):
            fn(x).backward()

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert buffers.state.pool is None
    seen = []
    threading.Thread(target=lambda: seen.append(buffers.state.pool)).start()
    assert seen == [None] or not seen
