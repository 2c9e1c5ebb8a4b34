"""mg.compile: a traced function replays with eager's values and gradients, retraces when
a call differs, and refuses what a replay could not follow."""

from __future__ import annotations

import functools
import gc
import sys
import tracemalloc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings

import minigrad as mg
from minigrad import buffers, nn
from minigrad.models import MultiLayerNetExtend, SimpleConvNet, TwoLayerNet
from minigrad.testing import programs

RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True, params=["written out", "looped", "every array kept"])
def replay_kind(request, monkeypatch):
    """Every test runs three times: plans replayed by their written-out code, by the loop
    that plans longer than WRITE_OUT_LIMIT nodes use, and with every array the ops take
    from minigrad.buffers kept between calls (not only the large ones)."""
    if request.param == "looped":
        monkeypatch.setattr(sys.modules["minigrad.compile"], "WRITE_OUT_LIMIT", -1)
    if request.param == "every array kept":
        monkeypatch.setattr(buffers, "POOLED_BYTES", 0)
    return request.param


def _grads(params):
    out = [None if p.grad is None else p.grad.data.copy() for p in params]
    for p in params:
        p.grad = None
    return out


def _steps(net, params, loss_fn, x, t, n=3, lr=0.1):
    """n SGD steps; the losses and gradients of each."""
    record = []
    for _ in range(n):
        loss = loss_fn(x, t)
        loss.backward()
        grads = _grads(params)
        record.append((float(loss.detach()), grads))
        with mg.no_grad():
            for p, g in zip(params, grads):
                p -= lr * g
    return record


def _same(a, b, exact=True):
    for (la, ga), (lb, gb) in zip(a, b):
        assert la == lb if exact else np.isclose(la, lb, rtol=1e-12, atol=0)
        for x, y in zip(ga, gb):
            if exact:
                assert np.array_equal(x, y)
            else:
                np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_two_layer_net_replays_bitwise_as_eager(dtype):
    x = RNG.random((20, 30)).astype(dtype)
    t = RNG.integers(0, 5, 20)
    runs = []
    for compiled in (False, True):
        net = TwoLayerNet(30, 8, 5, rng=1)
        for p in net.parameters():
            p.data = p.data.astype(dtype)
        loss_fn = mg.compile(net.loss) if compiled else net.loss
        runs.append(_steps(net, list(net.parameters()), loss_fn, x, t, n=4))
        if compiled:
            assert loss_fn.traces == 1
    _same(*runs)


def test_multilayer_net_with_batchnorm_and_dropout_train_and_eval():
    x = RNG.random((16, 12))
    t = RNG.integers(0, 4, 16)
    runs, stats = [], []
    for compiled in (False, True):
        np.random.seed(5)
        net = MultiLayerNetExtend(12, [10, 10], 4, use_dropout=True, dropout_ration=0.3,
                                  use_batchnorm=True, rng=2)
        params = list(net.parameters())
        loss_fn = mg.compile(net.loss) if compiled else net.loss
        run = _steps(net, params, functools.partial(loss_fn, train_flg=True), x, t, n=3)
        with mg.no_grad():                       # eval: running statistics, no dropout
            run.append((float(loss_fn(x, t, train_flg=False).detach()), []))
        runs.append(run)
        stats.append([b.copy() for _, b in net.named_buffers()])
        if compiled:
            assert loss_fn.traces == 2           # train and eval
    _same(*runs)
    for a, b in zip(*stats):
        assert np.array_equal(a, b)              # the running statistics moved alike


def test_dropout_draws_a_fresh_mask_at_every_replay():
    x = mg.Tensor(np.ones((50, 40)))
    step = mg.compile(lambda x: mg.functional.dropout(x, 0.5))
    masks = [step(x).data.copy() for _ in range(3)]
    assert not np.array_equal(masks[1], masks[2])
    assert step.traces == 1


def test_simple_conv_net_replays_as_eager():
    x = RNG.random((4, 1, 10, 10))
    t = RNG.integers(0, 3, 4)
    runs = []
    for compiled in (False, True):
        net = SimpleConvNet((1, 10, 10), {"filter_num": 3, "filter_size": 3, "pad": 0,
                                          "stride": 1}, hidden_size=6, output_size=3, rng=3)
        loss_fn = mg.compile(net.loss) if compiled else net.loss
        runs.append(_steps(net, list(net.parameters()), loss_fn, x, t, n=3))
    _same(*runs)


class Cube(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * x ** 2 * g


def test_a_custom_function_and_a_custom_loss_with_integer_labels():
    W = mg.tensor(RNG.standard_normal((6, 4)), requires_grad=True)

    def loss_fn(x, labels):
        scores = Cube.apply(x @ W)
        picked = scores[mg.arange(len(labels)), labels]
        return (mg.log(1 + mg.exp(-picked)) + 0.1 * (scores ** 2).mean(axis=1)).mean()

    step = mg.compile(loss_fn)
    for _ in range(3):
        x, labels = RNG.standard_normal((5, 6)), RNG.integers(0, 4, 5)
        loss = step(x, labels)
        loss.backward()
        got = _grads([W])[0]
        eager = loss_fn(x, labels)
        eager.backward()
        assert float(loss.detach()) == float(eager.detach())
        np.testing.assert_allclose(got, _grads([W])[0], rtol=1e-12)
    assert step.traces == 1


@settings(deadline=None)
@given(programs())
def test_replayed_programs_equal_eager(case):
    program, arrays = case
    def run(fn):
        inputs = [mg.tensor(a, requires_grad=True) for a in arrays]
        out = fn(*inputs)
        outs = out if isinstance(out, tuple) else (out,)
        rng = np.random.default_rng(1)
        total = mg.sum(mg.stack([(o * rng.standard_normal(o.shape)).sum() for o in outs]))
        total.backward()
        return [o.data.copy() for o in outs], [t.grad for t in inputs]
    eager = run(program)
    step = mg.compile(program)
    run(step)                                    # traces
    replayed = run(step)
    for a, b in zip(eager[0], replayed[0]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-300)
    for a, b in zip(eager[1], replayed[1]):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-14)


def test_create_graph_through_a_compiled_node_gives_second_derivatives():
    w = mg.tensor(RNG.standard_normal(5), requires_grad=True)
    fn = mg.compile(lambda x: (mg.sin(x * w) * w).sum())
    x = RNG.standard_normal(5)
    fn(x)
    out = fn(x)
    g, = mg.grad(out, w, create_graph=True)
    h, = mg.grad(g.sum(), w)
    w2 = mg.tensor(w.data, requires_grad=True)
    ge, = mg.grad((mg.sin(x * w2) * w2).sum(), w2, create_graph=True)
    he, = mg.grad(ge.sum(), w2)
    np.testing.assert_allclose(g.data, ge.data, rtol=1e-12)
    np.testing.assert_allclose(h.data, he.data, rtol=1e-12)


# ---------------------------------------------------------------- guards

def test_a_call_of_another_kind_traces_again_from_a_bounded_cache():
    W = mg.tensor(RNG.standard_normal((3, 2)), requires_grad=True)
    step = mg.compile(lambda x: (x @ W).sum(), cache_size=2)
    step(np.ones((4, 3)))
    step(np.ones((4, 3)))
    assert step.traces == 1
    step(np.ones((5, 3)))                          # shape
    step(np.ones((5, 3), np.float32))              # dtype
    assert step.traces == 3
    x = mg.tensor(np.ones((5, 3)), requires_grad=True)
    step(x).backward()                              # requires_grad
    assert step.traces == 4 and x.grad is not None
    assert len(step._plans) == 2
    with mg.no_grad():                              # grad mode
        out = step(np.ones((4, 3)))
    assert not out.requires_grad and step.traces == 5


def test_a_replaced_or_changed_parameter_is_seen():
    model = TwoLayerNet(3, 4, 2, rng=0)
    step = mg.compile(lambda x: model.predict(x).sum())
    x = RNG.standard_normal((4, 3))
    step(x)
    with mg.no_grad():
        model.W2 += 1.0                             # in place
    assert float(step(x).detach()) == float(model.predict(x).sum().detach())
    model.W2.data = np.full((4, 2), 3.0)           # a new array
    assert float(step(x).detach()) == float(model.predict(x).sum().detach())
    model.W2 = nn.Parameter(np.ones((4, 2)))        # a new Parameter
    loss = step(x)
    loss.backward()
    assert model.W2.grad is not None
    assert float(loss.detach()) == float(model.predict(x).sum().detach())
    assert step.traces == 2


def test_a_write_between_forward_and_backward_still_raises():
    W = mg.tensor(RNG.standard_normal((3, 2)), requires_grad=True)
    step = mg.compile(lambda x: (x @ W).sigmoid().sum())
    step(np.ones((4, 3)))
    loss = step(np.ones((4, 3)))
    with mg.no_grad():
        W -= 0.1
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


def test_train_and_eval_are_honoured():
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5))
    step = mg.compile(model)
    x = np.ones((30, 4))
    step(x)
    model.eval()
    with mg.no_grad():
        np.testing.assert_array_equal(step(x).data, model(x).data)
    assert step.traces == 2


# ---------------------------------------------------------------- refusals

@pytest.mark.parametrize("leave", ["if", "item", "float", "bool", "data"])
def test_values_leaving_the_graph_while_tracing_are_refused(leave):
    def fn(x):
        y = (x * 2).sum()
        if leave == "if":
            if y > 0:                      # the line the error names
                return y
        elif leave == "item":
            return y * y.item()
        elif leave == "float":
            return y * float(y)
        elif leave == "bool":
            return y if bool(y) else -y
        return y * mg.Tensor(y.data)
    step = mg.compile(fn)
    with pytest.raises(mg.TraceError, match=r"test_compile\.py:\d+ \(in fn\)"):
        step(np.ones(3))


def test_random_numbers_drawn_with_numpy_are_refused():
    step = mg.compile(lambda x: x * np.random.rand(3))
    with pytest.raises(mg.TraceError, match="random numbers"):
        step(mg.tensor(np.ones(3), requires_grad=True))


def test_in_place_writes_to_captured_tensors_are_refused():
    params = {"W": mg.tensor(np.ones(3), requires_grad=True)}

    def fn(x):
        with mg.no_grad():
            params["W"] += 1                # the replay would not do it again
        return (x * params["W"]).sum()
    with pytest.raises(mg.TraceError, match="in-place write"):
        mg.compile(fn)(np.ones(3))


def test_boolean_masks_are_refused():
    step = mg.compile(lambda x: x[x > 0].sum())
    with pytest.raises(mg.TraceError, match="boolean mask"):
        step(mg.tensor(np.array([1.0, -1.0, 2.0]), requires_grad=True))


# ---------------------------------------------------------------- memory

def test_nothing_accumulates_and_dropping_the_function_frees_its_trace():
    W = mg.tensor(RNG.standard_normal((50, 20)), requires_grad=True)
    step = mg.compile(lambda x: (x @ W).sigmoid().sum())
    x = RNG.standard_normal((64, 50))
    for _ in range(20):
        step(x).backward()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(1000):
            step(x).backward()
            W.grad = None
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 10_000                        # (one call's arrays are 40 KB)
    plan = weakref.ref(next(iter(step._plans.values()))[0])
    del step
    gc.collect()
    assert plan() is None


def test_random_numbers_drawn_before_a_dropout_are_refused_too():
    def fn(x):
        noise = np.random.rand(3)               # baked in: refused
        return mg.functional.dropout(x * noise, 0.5)
    with pytest.raises(mg.TraceError, match="random numbers"):
        mg.compile(fn)(mg.tensor(np.ones(3), requires_grad=True))


def test_labels_and_conditions_are_read_anew_at_every_replay():
    """nn.CrossEntropyLoss's labels and mg.where's condition come from the call's arrays."""
    model = nn.Linear(4, 3)
    criterion = nn.CrossEntropyLoss()

    def huber(pred, target):
        r = mg.abs(pred - target)
        return mg.where(r <= 1.0, 0.5 * r * r, r - 0.5).mean()

    ce = mg.compile(lambda x, t: criterion(model(x), t))
    hu = mg.compile(lambda x, y: huber(model(x), y))
    for _ in range(4):
        x, t = RNG.standard_normal((6, 4)), RNG.integers(0, 3, 6)
        y = 3 * RNG.standard_normal((6, 3))
        for compiled, eager in ((ce(x, t), criterion(model(x), t)),
                                (hu(x, y), huber(model(x), y))):
            assert float(compiled.detach()) == float(eager.detach())
    assert ce.traces == hu.traces == 1


def test_a_numpy_view_of_a_traced_value_is_refused():
    def view_fn(x):
        y = x * 2
        return mg.ops.add(y, mg.engine.as_array(y)[::-1])
    with pytest.raises(mg.TraceError, match="computed with numpy"):
        mg.compile(view_fn)(mg.tensor(np.ones(3), requires_grad=True))


# ---------------------------------------------------------------- found by a second reading

def test_a_dropped_compiled_function_frees_its_plans_without_the_cycle_collector():
    W = mg.tensor(RNG.standard_normal((50, 50)), requires_grad=True)
    step = mg.compile(lambda x: (x @ W).tanh().sum(), cache_size=1)
    collecting = gc.isenabled()
    gc.disable()
    try:
        plans = []
        for n in range(1, 6):                    # each batch size traces; one plan is kept
            step(np.ones((n, 50))).backward()
            plans.append(weakref.ref(next(iter(step._plans.values()))[0]))
        assert sum(p() is not None for p in plans) == 1
        del step
        assert all(p() is None for p in plans)
    finally:
        if collecting:
            gc.enable()


def test_one_array_passed_for_two_arguments_is_a_call_of_another_kind():
    fn = mg.compile(lambda a, b: a - b)
    x, y = np.ones(3), np.full(3, 5.0)
    fn(x, x)
    np.testing.assert_array_equal(fn(x, y).data, x - y)
    np.testing.assert_array_equal(fn(x, x).data, np.zeros(3))
    assert fn.traces == 2


def test_a_parameter_read_detached_and_directly_still_gets_its_gradient():
    W = mg.tensor(RNG.standard_normal(3), requires_grad=True)
    fn = mg.compile(lambda x: (x * W.detach() + x * W * W).sum())
    x = RNG.standard_normal(3)
    fn(x)
    fn(x).backward()
    np.testing.assert_allclose(W.grad.data, 2 * x * W.data, rtol=1e-15)


def test_a_backward_returning_gradients_for_inputs_it_lacks_is_an_error_in_a_replay_too():
    class Bad(mg.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, g

    fn = mg.compile(lambda x: Bad.apply(x).sum())
    x = mg.tensor(np.ones(3), requires_grad=True)
    fn(x)
    with pytest.raises(ValueError, match="backward of bad returned 2 gradients for 1 inputs"):
        fn(x).backward()


def test_keyword_names_reach_a_replayed_forward_as_given():
    class Count(mg.Function):
        @staticmethod
        def forward(ctx, x, **options):
            ctx.n = len(options) + sum(map(len, options))
            return x * ctx.n

        @staticmethod
        def backward(ctx, g):
            return g * ctx.n

    options = {"\ufb01": 1.0, "H": 2.0, "\u210c": 3.0, "class": 4.0, "a-b": 5.0}
    fn = mg.compile(lambda x: Count.apply(x, **options))
    x = mg.tensor(np.ones(3), requires_grad=True)
    expected = Count.apply(x, **options).data
    fn(x)
    np.testing.assert_array_equal(fn(x).data, expected)
