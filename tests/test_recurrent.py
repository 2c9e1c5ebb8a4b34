"""nn.RNN, nn.LSTM and nn.GRU: finite differences (first and second order) of the cells over
drawn shapes, PyTorch's outputs and gradients within 1e-10 in float64 with the same weights,
and a sequence of 1,000 steps without recursion."""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn
from minigrad.gradcheck import gradcheck, gradgradcheck
from minigrad.nn.recurrent import LSTMLayer

KINDS = ["RNN", "LSTM", "GRU"]


def leaf(rng: np.random.Generator, *shape: int) -> mg.Tensor:
    return mg.tensor(rng.standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize("kind", KINDS)
@given(seed=st.integers(0, 2**16), T=st.integers(1, 3), N=st.integers(1, 2),
       I=st.integers(1, 3), H=st.integers(1, 3))
def test_cells_first_and_second_order(kind: str, seed: int, T: int, N: int, I: int,
                                      H: int) -> None:
    layer = getattr(nn, kind)(I, H, rng=seed)
    G = layer.gates * H
    rng = np.random.default_rng(seed)
    inputs = [leaf(rng, T, N, I), leaf(rng, N, H), leaf(rng, N, H), leaf(rng, G, I),
              leaf(rng, G, H), leaf(rng, G), leaf(rng, G)]

    def run(x: Any, h: Any, c: Any, W_ih: Any, W_hh: Any, b_ih: Any, b_hh: Any) -> Any:
        state = (h, c) if kind == "LSTM" else h
        outputs = []
        for t in range(T):
            state = layer.cell(x[t], state, 0, (W_ih.T, W_hh.T, b_ih, b_hh))
            outputs.append(state[0] if kind == "LSTM" else state)
        return mg.stack(outputs + ([state[1]] if kind == "LSTM" else []))

    if kind != "LSTM":
        inputs[2] = mg.tensor(inputs[2].data)          # no cell state: a constant
    assert gradcheck(run, inputs, seed=seed)
    assert gradgradcheck(run, inputs, seed=seed)


def _pair(torch: Any, kind: str, **options: Any) -> tuple[Any, Any]:
    ours = getattr(nn, kind)(**options, rng=0)
    theirs = getattr(torch.nn, kind)(**options).double()
    with torch.no_grad():
        for name, p in ours.named_parameters():
            getattr(theirs, name).copy_(torch.from_numpy(p.data))
    return ours, theirs


@pytest.mark.parametrize("kind", KINDS)
@given(seed=st.integers(0, 2**16), T=st.integers(1, 4), N=st.integers(1, 3),
       layers=st.integers(1, 2), bias=st.booleans(), batch_first=st.booleans(),
       initial=st.booleans(), unbatched=st.booleans(), relu=st.booleans())
def test_outputs_and_every_gradient_match_torch(kind: str, seed: int, T: int, N: int,
                                                layers: int, bias: bool, batch_first: bool,
                                                initial: bool, unbatched: bool,
                                                relu: bool) -> None:
    torch = pytest.importorskip("torch")
    extra = {"nonlinearity": "relu"} if kind == "RNN" and relu else {}
    ours, theirs = _pair(torch, kind, input_size=3, hidden_size=4, num_layers=layers,
                         bias=bias, batch_first=batch_first, **extra)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    rng = np.random.default_rng(seed)
    shape = (T, 3) if unbatched else (N, T, 3) if batch_first else (T, N, 3)
    state_shape = (layers, 4) if unbatched else (layers, N, 4)
    arrays = [rng.standard_normal(shape)]
    if initial:
        arrays += [rng.standard_normal(state_shape) for _ in range(2 if kind == "LSTM" else 1)]
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]

    def call(module: Any, args: list[Any]) -> list[Any]:
        hx = None if len(args) == 1 else tuple(args[1:]) if kind == "LSTM" else args[1]
        output, final = module(args[0], hx)
        return [output, *final] if kind == "LSTM" else [output, final]

    out, expected = call(ours, xs), call(theirs, ts)
    total_ours, total_theirs = 0, 0
    for a, b in zip(out, expected):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)
        g = rng.standard_normal(a.shape)                   # a random upstream gradient
        total_ours = total_ours + (a * g).sum()
        total_theirs = total_theirs + (b * torch.tensor(g)).sum()
    total_ours.backward()
    total_theirs.backward()
    for a, b in zip(xs, ts):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        np.testing.assert_allclose(p.grad.data, q.grad.numpy(), rtol=1e-10, atol=1e-12,
                                   err_msg=name)


def test_a_torch_state_dict_loads_as_it_is() -> None:
    torch = pytest.importorskip("torch")
    theirs = torch.nn.LSTM(3, 5, num_layers=2).double()
    ours = nn.LSTM(3, 5, num_layers=2)
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    (out, (h, c)), (t_out, (t_h, t_c)) = ours(x), theirs(torch.tensor(x))
    for a, b in ((out, t_out), (h, t_h), (c, t_c)):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", KINDS)
def test_a_thousand_steps_run_without_recursion(kind: str) -> None:
    layer = getattr(nn, kind)(2, 3, rng=0)
    x = mg.tensor(np.random.default_rng(0).standard_normal((1000, 1, 2)), requires_grad=True)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(200)               # far fewer frames than steps
    try:
        output, _ = layer(x)
        output[-1].sum().backward()
    finally:
        sys.setrecursionlimit(limit)
    assert output.shape == (1000, 1, 3)
    assert x.grad is not None and np.isfinite(x.grad.data).all() and x.grad.data[-1].any()
    for p in layer.parameters():
        assert p.grad is not None and p.grad.data.any()


def test_parameters_are_shaped_initialised_and_named_as_torch() -> None:
    lstm = nn.LSTM(3, 5, num_layers=2, bias=True, rng=0)
    shapes = {n: p.shape for n, p in lstm.named_parameters()}
    assert shapes == {"weight_ih_l0": (20, 3), "weight_hh_l0": (20, 5), "bias_ih_l0": (20,),
                      "bias_hh_l0": (20,), "weight_ih_l1": (20, 5), "weight_hh_l1": (20, 5),
                      "bias_ih_l1": (20,), "bias_hh_l1": (20,)}
    bound = 1 / np.sqrt(5)
    values = np.concatenate([p.data.ravel() for p in lstm.parameters()])
    assert np.abs(values).max() <= bound and values.std() > bound / 3
    assert [n for n, _ in nn.GRU(2, 4, bias=False).named_parameters()] == \
        ["weight_ih_l0", "weight_hh_l0"]
    assert nn.GRU(2, 4).weight_hh_l0.shape == (12, 4)
    assert repr(nn.RNN(2, 4, num_layers=2, batch_first=True)) == \
        "RNN(2, 4, num_layers=2, batch_first=True)"


def test_bad_input_is_named() -> None:
    with pytest.raises(ValueError, match=r"LSTM\(3, 4\): input of shape \(5, 2, 2\)"):
        nn.LSTM(3, 4)(np.zeros((5, 2, 2)))
    with pytest.raises(ValueError, match=r"GRU: initial state of shape \(1, 3, 4\), "
                                         r"expected \(1, 2, 4\)"):
        nn.GRU(3, 4)(np.zeros((5, 2, 3)), np.zeros((1, 3, 4)))
    with pytest.raises(TypeError, match=r"LSTM: the initial state must be a tuple"):
        nn.LSTM(3, 4)(np.zeros((5, 2, 3)), np.zeros((1, 2, 4)))
    for kind in KINDS:                   # an empty sequence: no state to return
        with pytest.raises(ValueError, match=rf"{kind}\(3, 4\): input of shape \(0, 2, 3\) "
                                             r"has no time steps"):
            getattr(nn, kind)(3, 4)(np.zeros((0, 2, 3)))
        with pytest.raises(ValueError, match=r"input of shape \(2, 0, 3\) has no time steps"):
            getattr(nn, kind)(3, 4, batch_first=True)(np.zeros((2, 0, 3)))
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")


def test_the_rnn_benchmarks_hand_written_step_agrees_with_the_graph() -> None:
    """bench_rnn.py's reference (an LSTM backward by hand), the sequel's Time layers, nn.LSTM
    eager and compiled, and PyTorch where installed, give the same losses step after step,
    at a small size: they do the same work (in a subprocess: the benchmarks set their BLAS
    threads on import)."""
    import subprocess
    from pathlib import Path
    benchmarks = Path(__file__).resolve().parents[1] / "benchmarks"
    code = """
import bench_rnn as B
B.N, B.T, B.E, B.H, B.V = 3, 4, 5, 6, 7
ids, targets, init = B.setup()
hand = B.numpy_step(ids, targets, init)
steps = {"time layers": B.minigrad_time_layers_step(ids, targets, init),
         "nn": B.minigrad_nn_step(ids, targets, init),
         "compiled": B.minigrad_compiled_step(ids, targets, init)}
torch = B.torch_or_none()
if torch is not None:
    steps["torch"] = B.torch_step(torch, ids, targets, init)
for _ in range(4):
    b = hand()
    for name, step in steps.items():
        a = float(step())
        assert abs(a - b) < 1e-12 * abs(b), (name, a, b)
print("agree")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=benchmarks, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "agree", result.stderr


def test_the_steps_of_an_input_that_requires_grad_cost_t_log_t_not_t_squared(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from minigrad import ops
    from minigrad.functional import time_steps
    filled: list[int] = []
    forward = ops.ScatterAdd.forward

    def counting(ctx: Any, g: Any, index: Any, shape: tuple[int, ...]) -> Any:
        out = forward(ctx, g, index, shape)
        filled.append(out.size)
        return out

    monkeypatch.setattr(ops.ScatterAdd, "forward", staticmethod(counting))
    T = 1024
    x = mg.tensor(np.random.default_rng(0).standard_normal((T, 2)), requires_grad=True)
    steps = time_steps(x)
    assert len(steps) == T
    for t in (0, 1, 517, T - 1):
        np.testing.assert_array_equal(steps[t].data, x.data[t])
    weights = np.arange(T, dtype=float)
    mg.stack([s.sum() * w for s, w in zip(steps, weights)]).sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.repeat(weights[:, None], 2, axis=1))
    assert sum(filled) <= 2 * T * 2 * np.log2(T)      # T log T, where T²/2 would be 10⁶


@settings(max_examples=8)          # each example differentiates twice by finite differences
@given(seed=st.integers(0, 2**16), T=st.integers(2, 4), N=st.integers(1, 2),
       layers=st.integers(1, 2), bias=st.booleans())
def test_a_whole_lstm_layer_first_and_second_order(seed: int, T: int, N: int, layers: int,
                                                   bias: bool) -> None:
    """nn.LSTM's layer is one node over the whole sequence (LSTMLayer): its backward, and
    the backward of that backward, against finite differences, through every input."""
    lstm = nn.LSTM(2, 3, num_layers=layers, bias=bias, rng=seed)
    rng = np.random.default_rng(seed)
    inputs = [leaf(rng, T, N, 2), leaf(rng, layers, N, 3), leaf(rng, layers, N, 3)]

    def run(x: Any, h: Any, c: Any) -> Any:
        output, (h_n, c_n) = lstm(x, (h, c))
        return mg.concatenate([output.reshape(-1), h_n.reshape(-1), c_n.reshape(-1)])

    assert gradcheck(run, inputs, seed=seed)
    assert gradgradcheck(run, inputs, seed=seed)
    # the node itself, through every input: projected inputs, W_hh, b_hh, h0, c0
    node_inputs = [leaf(rng, T, N, 12), leaf(rng, 3, 12), leaf(rng, 12), leaf(rng, N, 3),
                   leaf(rng, N, 3)]
    if not bias:
        node_inputs[2] = None

    def node(xa: Any, W_hh: Any, *rest: Any) -> Any:
        b_hh, h0, c0 = rest if bias else (None, *rest)
        return LSTMLayer.apply(xa, W_hh, b_hh, h0, c0)

    given_inputs = [t for t in node_inputs if t is not None]
    assert gradcheck(node, given_inputs, seed=seed)
    assert gradgradcheck(node, given_inputs, seed=seed)


def test_an_lstm_computes_in_the_widest_dtype_of_its_input_weights_and_state() -> None:
    model = nn.LSTM(3, 4, rng=0)
    for p in model.parameters():
        p.data = p.data.astype(np.float32)
    x = np.random.default_rng(0).standard_normal((5, 2, 3))          # float64 input
    state = np.zeros((1, 2, 4), np.float32)
    assert model(x)[0].dtype == np.float64
    assert model(x, (state, state))[0].dtype == np.float64
    h0 = mg.tensor(np.random.default_rng(1).standard_normal((1, 2, 4)), requires_grad=True)
    out, _ = model(x.astype(np.float32), (h0, state))                 # float64 state only
    out.sum().backward()
    assert out.dtype == np.float64 and h0.grad.dtype == np.float64
