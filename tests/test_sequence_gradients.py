"""Gradients of the sequence layers over hypothesis-drawn shapes, against central
differences in float64 with random upstream gradients: the sequel's time layers (book
interface: backward() against finite differences of forward()), their recurrences to second
order, nn.Embedding, and attention with a mask."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import functional as F
from minigrad import layers, nn
from minigrad.gradcheck import gradcheck, gradgradcheck, numerical_gradient

dims = st.integers(1, 3)


def close(analytic: Any, numeric: Any) -> None:
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7)


@given(seed=st.integers(0, 2**16), N=dims, T=dims, D=dims, M=dims)
def test_time_affine_over_shapes(seed: int, N: int, T: int, D: int, M: int) -> None:
    rng = np.random.default_rng(seed)
    W, b, x = rng.standard_normal((D, M)), rng.standard_normal(M), rng.standard_normal((N, T, D))
    dout = rng.standard_normal((N, T, M))
    layer = layers.TimeAffine(W, b)

    def loss(_: Any = None) -> float:
        return float((layer.forward(x) * dout).sum())

    loss()
    dx = layer.backward(dout)
    for array, got in zip((x, W, b), (dx, *layer.grads)):
        close(got, numerical_gradient(loss, array))


@given(seed=st.integers(0, 2**16), V=st.integers(1, 5), D=dims, N=dims, T=st.integers(1, 4))
def test_time_embedding_over_shapes_with_repeated_ids(seed: int, V: int, D: int, N: int,
                                                      T: int) -> None:
    rng = np.random.default_rng(seed)
    W, ids = rng.standard_normal((V, D)), rng.integers(0, V, (N, T))   # ids repeat often
    dout = rng.standard_normal((N, T, D))
    layer = layers.TimeEmbedding(W)

    def loss(_: Any = None) -> float:
        return float((layer.forward(ids) * dout).sum())

    loss()
    layer.backward(dout)
    close(layer.grads[0], numerical_gradient(loss, W))


@given(seed=st.integers(0, 2**16), N=dims, T=dims, V=st.integers(2, 4),
       scale=st.floats(0.1, 3.0))
def test_time_softmax_with_loss_over_shapes_with_ignored_labels(seed: int, N: int, T: int,
                                                                V: int, scale: float) -> None:
    rng = np.random.default_rng(seed)
    xs, ts = rng.standard_normal((N, T, V)), rng.integers(-1, V, (N, T))
    ts.flat[0] = 0                               # at least one label is kept
    layer = layers.TimeSoftmaxWithLoss()

    def loss(_: Any = None) -> float:
        return scale * layer.forward(xs, ts)

    loss()
    close(layer.backward(scale), numerical_gradient(loss, xs))


@given(seed=st.integers(0, 2**16), N=dims, T=dims, D=dims, ratio=st.floats(0.0, 0.8))
def test_time_dropout_over_shapes(seed: int, N: int, T: int, D: int, ratio: float) -> None:
    rng = np.random.default_rng(seed)
    xs, dout = rng.standard_normal((N, T, D)), rng.standard_normal((N, T, D))
    layer = layers.TimeDropout(ratio)

    def loss(_: Any = None) -> float:
        np.random.seed(seed)                     # the same mask at every evaluation
        return float((layer.forward(xs) * dout).sum())

    loss()
    close(layer.backward(dout), numerical_gradient(loss, xs))


@given(seed=st.integers(0, 2**16), V=st.integers(1, 5), D=dims, N=dims,
       picks=st.integers(0, 3))
def test_embedding_dot_over_shapes(seed: int, V: int, D: int, N: int, picks: int) -> None:
    rng = np.random.default_rng(seed)
    W, h = rng.standard_normal((V, D)), rng.standard_normal((N, D))
    idx = rng.integers(0, V, (N,) if picks == 0 else (N, picks))
    dout = rng.standard_normal(idx.shape)
    layer = layers.EmbeddingDot(W)

    def loss(_: Any = None) -> float:
        return float((layer.forward(h, idx) * dout).sum())

    loss()
    dh = layer.backward(dout)
    close(dh, numerical_gradient(loss, h))
    close(layer.grads[0], numerical_gradient(loss, W))


@given(seed=st.integers(0, 2**16), D=dims, N=dims, sample_size=st.integers(1, 3),
       scale=st.floats(0.1, 3.0))
def test_negative_sampling_loss_over_shapes(seed: int, D: int, N: int, sample_size: int,
                                            scale: float) -> None:
    rng = np.random.default_rng(seed)
    corpus = rng.integers(0, 6, 40)
    corpus[:6] = np.arange(6)                    # every word occurs
    W, h = rng.standard_normal((6, D)), rng.standard_normal((N, D))
    target = rng.integers(0, 6, N)
    layer = layers.NegativeSamplingLoss(W, corpus, sample_size=sample_size)

    def loss(_: Any = None) -> float:
        np.random.seed(seed)                     # the same negatives at every evaluation
        return scale * layer.forward(h, target)

    loss()
    dh = layer.backward(scale)
    close(dh, numerical_gradient(loss, h))
    loss()
    layer.backward(scale)
    close(layer.grads[0], numerical_gradient(loss, W))


RECURRENT = {"TimeRNN": (layers.TimeRNN, 1), "TimeLSTM": (layers.TimeLSTM, 4),
             "TimeGRU": (layers.TimeGRU, 3)}


@pytest.mark.parametrize("kind", list(RECURRENT))
@given(seed=st.integers(0, 2**16), N=st.integers(1, 2), T=st.integers(1, 3),
       D=st.integers(1, 2), H=st.integers(1, 2))
def test_recurrent_time_layers_second_order(kind: str, seed: int, N: int, T: int, D: int,
                                            H: int) -> None:
    """The recurrence each time layer builds (its `run` over Tensors), to second order in
    the inputs, the weights and the initial state."""
    cls, gates = RECURRENT[kind]
    rng = np.random.default_rng(seed)
    inputs = [mg.tensor(0.5 * rng.standard_normal(shape), requires_grad=True) for shape in
              ((N, T, D), (D, gates * H), (H, gates * H), (gates * H,), (N, H))]
    layer = cls(*(np.zeros(t.shape) for t in inputs[1:4]))

    def recurrence(xs: mg.Tensor, Wx: mg.Tensor, Wh: mg.Tensor, b: mg.Tensor,
                   h0: mg.Tensor) -> mg.Tensor:
        layer.reset_state()
        return mg.stack(layer.run(F.time_steps(xs.swapaxes(0, 1)), h0, [Wx, Wh, b]), axis=1)

    assert gradcheck(recurrence, inputs, seed=seed)
    assert gradgradcheck(recurrence, inputs, seed=seed)


@given(seed=st.integers(0, 2**16), V=st.integers(1, 5), D=dims,
       shape=st.lists(st.integers(1, 3), min_size=0, max_size=2))
def test_nn_embedding_over_shapes_first_and_second_order(seed: int, V: int, D: int,
                                                         shape: list[int]) -> None:
    rng = np.random.default_rng(seed)
    ids = rng.integers(0, V, tuple(shape))
    layer = nn.Embedding(V, D)
    weight = mg.tensor(rng.standard_normal((V, D)), requires_grad=True)
    layer.weight.data[...] = weight.data

    def lookup(w: mg.Tensor) -> mg.Tensor:
        return F.embedding(ids, w) * w.sum()     # nonlinear in w, so second order means something

    assert gradcheck(lookup, [weight], seed=seed)
    assert gradgradcheck(lookup, [weight], seed=seed)
    upstream = rng.standard_normal((*ids.shape, D))
    (layer(ids) * upstream).sum().backward()
    expected = np.zeros((V, D))
    np.add.at(expected, ids, upstream)           # repeated ids add up
    np.testing.assert_allclose(layer.weight.grad.data, expected, rtol=1e-13, atol=1e-15)


@given(seed=st.integers(0, 2**16), L=st.integers(1, 3), S=st.integers(1, 3),
       E=st.integers(1, 3), batch=st.integers(1, 2), boolean=st.booleans())
def test_attention_with_a_mask_first_and_second_order(seed: int, L: int, S: int, E: int,
                                                      batch: int, boolean: bool) -> None:
    rng = np.random.default_rng(seed)
    q, k, v = (mg.tensor(rng.standard_normal((batch, n, E)), requires_grad=True)
               for n in (L, S, S))
    if boolean:
        mask: Any = rng.random((L, S)) < 0.7
        mask[:, 0] = True                        # every query may attend somewhere
    else:
        mask = rng.standard_normal((L, S))       # added to the scores

    def attend(q: mg.Tensor, k: mg.Tensor, v: mg.Tensor) -> mg.Tensor:
        return F.scaled_dot_product_attention(q, k, v, attn_mask=mask)

    assert gradcheck(attend, [q, k, v], seed=seed)
    assert gradgradcheck(attend, [q, k, v], seed=seed)
