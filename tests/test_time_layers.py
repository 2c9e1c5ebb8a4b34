"""The sequel's time layers (TimeRNN, TimeLSTM, TimeGRU, TimeAffine, TimeEmbedding): forwards
against the formulas written out in numpy, every gradient (inputs, parameters and the initial
state's `dh`) against central differences, and truncated BPTT with `stateful=True`."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigrad import layers
from minigrad.gradcheck import numerical_gradient
from minigrad.layers import TimeAffine, TimeEmbedding, TimeGRU, TimeLSTM, TimeRNN


def sigmoid(a: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a))


def reference(kind: str, xs: np.ndarray, Wx: np.ndarray, Wh: np.ndarray, b: np.ndarray,
              h: np.ndarray) -> np.ndarray:
    """The recurrences as the sequel states them, one step at a time in numpy."""
    H, c, hs = h.shape[1], np.zeros_like(h), []
    for t in range(xs.shape[1]):
        x = xs[:, t]
        if kind == "TimeRNN":
            h = np.tanh(h @ Wh + x @ Wx + b)
        elif kind == "TimeLSTM":
            a = x @ Wx + h @ Wh + b
            f, g, i, o = (a[:, k * H:(k + 1) * H] for k in range(4))
            c = sigmoid(f) * c + np.tanh(g) * sigmoid(i)
            h = sigmoid(o) * np.tanh(c)
        else:
            z = sigmoid(x @ Wx[:, :H] + h @ Wh[:, :H] + b[:H])
            r = sigmoid(x @ Wx[:, H:2 * H] + h @ Wh[:, H:2 * H] + b[H:2 * H])
            candidate = np.tanh(x @ Wx[:, 2 * H:] + (r * h) @ Wh[:, 2 * H:] + b[2 * H:])
            h = (1 - z) * h + z * candidate
        hs.append(h)
    return np.stack(hs, axis=1)


LAYERS = {"TimeRNN": (TimeRNN, 1), "TimeLSTM": (TimeLSTM, 4), "TimeGRU": (TimeGRU, 3)}


@pytest.mark.parametrize("kind", list(LAYERS))
@given(seed=st.integers(0, 2**16), N=st.integers(1, 3), T=st.integers(1, 4),
       D=st.integers(1, 3), H=st.integers(1, 3))
def test_recurrent_time_layers_forward_and_every_gradient(kind: str, seed: int, N: int, T: int,
                                                          D: int, H: int) -> None:
    cls, gates = LAYERS[kind]
    rng = np.random.default_rng(seed)
    Wx, Wh = rng.standard_normal((D, gates * H)), rng.standard_normal((H, gates * H))
    b, xs = rng.standard_normal(gates * H), rng.standard_normal((N, T, D))
    h0, dhs = rng.standard_normal((N, H)), rng.standard_normal((N, T, H))
    layer = cls(Wx, Wh, b, stateful=True)

    def loss(_: Any = None) -> float:
        layer.set_state(h0.copy())
        return float((layer.forward(xs) * dhs).sum())

    layer.set_state(h0.copy())
    hs = layer.forward(xs)
    np.testing.assert_allclose(hs, reference(kind, xs, Wx, Wh, b, h0), rtol=1e-12, atol=1e-13)
    np.testing.assert_array_equal(layer.h, hs[:, -1])
    grads_before = list(layer.grads)
    dxs = layer.backward(dhs)
    assert all(a is b for a, b in zip(layer.grads, grads_before))   # written in place
    analytic = [dxs, *layer.grads, layer.dh]
    for array, got in zip((xs, Wx, Wh, b, h0), analytic):
        np.testing.assert_allclose(got, numerical_gradient(loss, array), rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_stateful_carries_the_state_cut_from_the_graph(kind: str) -> None:
    cls, gates = LAYERS[kind]
    rng = np.random.default_rng(0)
    Wx, Wh, b = rng.standard_normal((2, 3 * gates)), rng.standard_normal((3, 3 * gates)), \
        rng.standard_normal(3 * gates)
    xs = rng.standard_normal((2, 6, 2))
    whole = cls(Wx, Wh, b).forward(xs)
    carried = cls(Wx, Wh, b, stateful=True)
    halves = np.concatenate([carried.forward(xs[:, :3]), carried.forward(xs[:, 3:])], axis=1)
    np.testing.assert_allclose(halves, whole, rtol=1e-13)
    carried.backward(np.ones((2, 3, 3)))
    assert carried.dh is not None and carried.dh.any()     # of the carried state, not beyond
    fresh = cls(Wx, Wh, b)                                  # not stateful: zeros every time
    np.testing.assert_array_equal(fresh.forward(xs[:, 3:]), fresh.forward(xs[:, 3:]))
    carried.reset_state()
    np.testing.assert_allclose(carried.forward(xs[:, :3]), whole[:, :3], rtol=1e-13)


def test_time_affine_and_embedding() -> None:
    rng = np.random.default_rng(1)
    W, b, x = rng.standard_normal((3, 4)), rng.standard_normal(4), rng.standard_normal((2, 5, 3))
    affine = TimeAffine(W, b)
    out = affine.forward(x)
    np.testing.assert_allclose(out, x @ W + b, rtol=1e-13)
    dout = rng.standard_normal(out.shape)
    dx = affine.backward(dout)
    np.testing.assert_allclose(dx, dout @ W.T, rtol=1e-12)
    np.testing.assert_allclose(affine.grads[0], x.reshape(-1, 3).T @ dout.reshape(-1, 4),
                               rtol=1e-12)
    np.testing.assert_allclose(affine.grads[1], dout.sum(axis=(0, 1)), rtol=1e-12)
    with pytest.raises(ValueError, match=r"TimeAffine: x of shape \(2, 5, 2\) does not fit"):
        affine.forward(x[..., :2])

    table = rng.standard_normal((6, 3))
    embed = TimeEmbedding(table)
    ids = np.array([[0, 5, 5], [2, 0, 5]])
    np.testing.assert_array_equal(embed.forward(ids), table[ids])
    dout = rng.standard_normal((2, 3, 3))
    assert embed.backward(dout) is None
    expected = np.zeros_like(table)
    np.add.at(expected, ids, dout)
    np.testing.assert_allclose(embed.grads[0], expected, rtol=1e-13)


def test_shapes_that_do_not_fit_are_named() -> None:
    layer = TimeLSTM(np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(8))
    with pytest.raises(ValueError, match=r"TimeLSTM: xs of shape \(4, 5, 2\), Wx \(3, 8\)"):
        layer.forward(np.zeros((4, 5, 2)))
    with pytest.raises(RuntimeError, match="TimeLSTM.backward: no forward has run yet"):
        TimeLSTM(np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(8)).backward(np.zeros((1, 1, 2)))


def test_time_softmax_with_loss_averages_over_the_labels_kept() -> None:
    from minigrad.layers import TimeSoftmaxWithLoss
    rng = np.random.default_rng(2)
    xs, ts = rng.standard_normal((2, 3, 4)), np.array([[1, -1, 3], [0, 2, -1]])
    layer = TimeSoftmaxWithLoss()
    loss = layer.forward(xs, ts)
    p = np.exp(xs) / np.exp(xs).sum(axis=2, keepdims=True)
    kept = ts != -1
    expected = -np.log(p[kept, ts[kept]]).mean()
    assert abs(loss - expected) < 1e-12
    dxs = layer.backward()
    onehot = np.zeros_like(p)
    onehot[kept, ts[kept]] = 1
    np.testing.assert_allclose(dxs, (p - onehot) * kept[..., None] / kept.sum(), rtol=1e-10,
                               atol=1e-15)
    assert abs(layer.forward(xs, np.eye(4)[np.abs(ts)]) - layer.forward(xs, np.abs(ts))) == 0
    with pytest.raises(ValueError, match=r"TimeSoftmaxWithLoss: xs of shape \(2, 3, 4\) and "
                                         r"ts of shape \(3, 2\)"):
        layer.forward(xs, ts.T)


def test_time_dropout_scales_what_it_keeps() -> None:
    from minigrad.layers import TimeDropout
    np.random.seed(0)
    layer, xs = TimeDropout(0.25), np.ones((4, 50, 6))
    out = layer.forward(xs)
    assert set(np.unique(out)) == {0.0, 1 / 0.75} and 0.2 < (out == 0).mean() < 0.3
    dout = np.random.default_rng(0).standard_normal(xs.shape)
    np.testing.assert_array_equal(layer.backward(dout), dout * out)
    layer.train_flg = False
    np.testing.assert_array_equal(layer.forward(xs), xs)


def test_the_sequels_count_based_helpers() -> None:
    from minigrad.util import cos_similarity, create_co_matrix, most_similar, ppmi, preprocess
    corpus, word_to_id, id_to_word = preprocess("You say goodbye and I say hello.")
    np.testing.assert_array_equal(corpus, [0, 1, 2, 3, 4, 1, 5, 6])
    assert id_to_word[word_to_id["hello"]] == "hello" and len(word_to_id) == 7
    C = create_co_matrix(corpus, len(word_to_id))
    assert C.dtype == np.int32
    np.testing.assert_array_equal(C[word_to_id["say"]], [1, 0, 1, 0, 1, 1, 0])
    assert (C == C.T).all() and C.sum() == 2 * (len(corpus) - 1)
    assert abs(cos_similarity(C[0], C[4]) - 1 / np.sqrt(2)) < 1e-7
    found = most_similar("you", word_to_id, id_to_word, C, top=2)
    assert [w for w, _ in found] == ["goodbye", "i"]
    wide = create_co_matrix(corpus, 7, window_size=2)
    assert wide[0, 2] == 1 and wide.sum() == 2 * (7 + 6)
    M = ppmi(C)
    total, S = C.sum(), C.sum(axis=0)
    for i in range(7):
        for j in range(7):
            expected = max(0.0, np.log2(C[i, j] * total / (S[i] * S[j]) + 1e-8))
            assert abs(M[i, j] - expected) < 1e-5


def test_clip_grads_and_eval_perplexity() -> None:
    from minigrad.util import clip_grads, eval_perplexity
    grads = [np.full(3, 3.0), np.full((2, 2), 4.0)]
    norm = np.sqrt(27 + 64)
    clip_grads(grads, 1.0)
    assert abs(np.sqrt(sum((g ** 2).sum() for g in grads)) - 1.0) < 1e-5
    small = [np.array([0.1, 0.2])]
    clip_grads(small, 1.0)
    np.testing.assert_array_equal(small[0], [0.1, 0.2])
    assert norm > 1

    class Uniform:                   # a model that predicts every one of V words alike
        def __init__(self, V: int) -> None:
            self.V, self.seen, self.resets = V, [], 0

        def reset_state(self) -> None:
            self.resets += 1

        def forward(self, xs: np.ndarray, ts: np.ndarray) -> float:
            assert xs.shape == ts.shape == (3, 5) and (ts[:, :-1] == xs[:, 1:]).all()
            self.seen.append(xs)
            return float(np.log(self.V))

    corpus = np.arange(100) % 17
    model = Uniform(17)
    assert abs(eval_perplexity(model, corpus, batch_size=3, time_size=5) - 17) < 1e-9
    assert model.resets == 1 and len(model.seen) == (99 // 3) // 5
    with pytest.raises(ValueError, match="too short"):
        eval_perplexity(model, corpus[:10], batch_size=3, time_size=5)

    class WithDropout:               # the sequel's BetterRnnlm: forward(xs, ts, train_flg)
        def __init__(self) -> None:   # (and no reset_state here)
            self.flags: list[bool] = []

        def forward(self, xs: np.ndarray, ts: np.ndarray, train_flg: bool = True) -> float:
            self.flags.append(train_flg)
            return 1.0

    dropout = WithDropout()
    assert abs(eval_perplexity(dropout, corpus, batch_size=3, time_size=5) - np.e) < 1e-12
    assert dropout.flags and not any(dropout.flags)     # scored with dropout off

    class TimeLayersModel:           # a model built of minigrad's time layers, dropout on
        def __init__(self) -> None:
            rng = np.random.default_rng(0)
            self.embed = layers.TimeEmbedding(0.1 * rng.standard_normal((17, 4)))
            self.drop = layers.TimeDropout(0.5)
            self.affine = layers.TimeAffine(0.1 * rng.standard_normal((4, 17)), np.zeros(17))
            self.loss = layers.TimeSoftmaxWithLoss()

        def forward(self, xs: np.ndarray, ts: np.ndarray, train_flg: bool = True) -> float:
            self.drop.train_flg = train_flg
            return float(self.loss.forward(self.affine.forward(
                self.drop.forward(self.embed.forward(xs))), ts))

    net = TimeLayersModel()
    first = eval_perplexity(net, corpus, batch_size=3, time_size=5)
    assert first == eval_perplexity(net, corpus, batch_size=3, time_size=5)   # no masks drawn


def test_embedding_dot_and_negative_sampling_loss() -> None:
    from minigrad.layers import EmbeddingDot, NegativeSamplingLoss, UnigramSampler
    rng = np.random.default_rng(5)
    W, h = rng.standard_normal((7, 3)), rng.standard_normal((4, 3))
    idx = np.array([0, 3, 3, 6])
    dot = EmbeddingDot(W)
    np.testing.assert_allclose(dot.forward(h, idx), (W[idx] * h).sum(axis=1), rtol=1e-13)
    dout = rng.standard_normal(4)
    np.testing.assert_allclose(dot.backward(dout), W[idx] * dout[:, None], rtol=1e-13)
    expected = np.zeros_like(W)
    np.add.at(expected, idx, h * dout[:, None])
    np.testing.assert_allclose(dot.grads[0], expected, rtol=1e-13)

    corpus = np.array([0, 1, 2, 3, 4, 5, 6, 1, 1, 2, 0, 1])
    sampler = UnigramSampler(corpus, 0.75, 3)
    counts = np.bincount(corpus) ** 0.75
    np.testing.assert_allclose(sampler.word_p, counts / counts.sum())
    np.random.seed(1)
    negatives = sampler.get_negative_sample(np.repeat(idx, 50))
    assert negatives.shape == (200, 3)
    assert not (negatives == np.repeat(idx, 50)[:, None]).any()
    assert all(len(set(row)) == 3 for row in negatives)

    layer = NegativeSamplingLoss(W, corpus, sample_size=3)

    def loss(_: Any = None) -> float:
        np.random.seed(2)
        return layer.forward(h, idx)

    np.random.seed(2)
    drawn = sampler.get_negative_sample(idx)
    score = (W[idx] * h).sum(axis=1)
    scores = (W[drawn] * h[:, None]).sum(axis=2)
    expected_loss = -np.log(1 / (1 + np.exp(-score))).mean() - \
        np.log(1 / (1 + np.exp(scores))).mean(axis=0).sum()
    assert abs(loss() - expected_loss) < 1e-12
    dh = layer.backward()
    np.testing.assert_allclose(dh, numerical_gradient(loss, h), rtol=1e-6, atol=1e-9)
    loss()
    layer.backward()
    dW = layer.grads[0].copy()
    np.testing.assert_allclose(dW, numerical_gradient(loss, W), rtol=1e-6, atol=1e-9)
    with pytest.raises(ValueError, match="sample_size 7 needs more than 7 words"):
        UnigramSampler(corpus, 0.75, 7)
