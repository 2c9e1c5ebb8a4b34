"""The sequel's models on `nn`: `CBOW`, `Rnnlm`, `Seq2seq` (peeky or not) and `AttentionSeq2seq`.

*Deep Learning from Scratch 2* builds each from Time layers and writes every backward by
hand. Here each is an `nn.Module` whose forward is an expression over `nn.Embedding`,
`nn.LSTM` and `nn.Linear`; `loss.backward()` gives every gradient, and the weights move to
PyTorch with `torch_state_dict()`. The data: `minigrad.datasets.sequence`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import functional as F
from . import nn, ops
from ._checks import check_int, check_rng
from .engine import ArrayLike, Tensor, as_array
from .layers import UnigramSampler, _embedding_dot, _minus_log_sigmoid
from .modes import no_grad

__all__ = ["CBOW", "Rnnlm", "Seq2seq", "PeekySeq2seq", "AttentionSeq2seq", "exact_match"]

State = tuple[Tensor, Tensor]


def _ids(x: ArrayLike, where: str, ndim: int) -> np.ndarray:
    ids = np.asarray(as_array(x))
    if ids.ndim != ndim or not np.issubdtype(ids.dtype, np.integer):
        raise ValueError(f"{where}: expected integer word ids of {ndim} dimensions, got an "
                         f"array of shape {ids.shape} and dtype {ids.dtype}")
    return ids


def _small_normal(module: nn.Embedding, rng: np.random.Generator) -> nn.Embedding:
    """The sequel's word2vec start: vectors from N(0, 0.01²)."""
    module.weight.data[...] = 0.01 * rng.standard_normal(module.weight.shape)
    return module


class CBOW(nn.Module):
    """word2vec's continuous bag of words: the mean of the context words' vectors scores the
    target word (label 1) and `sample_size` words drawn from the corpus's unigram
    distribution to the power `power` (label 0); the loss is their binary cross-entropy."""

    def __init__(self, vocab_size: int, hidden_size: int, corpus: ArrayLike,
                 sample_size: int = 5, power: float = 0.75, *,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        generator = check_rng(rng, "rng", "CBOW")
        V, H = check_int(vocab_size, "vocab_size", "CBOW"), check_int(hidden_size,
                                                                        "hidden_size", "CBOW")
        self.in_embed = _small_normal(nn.Embedding(V, H), generator)
        self.out_embed = _small_normal(nn.Embedding(V, H), generator)
        self.sampler = UnigramSampler(np.asarray(as_array(corpus)), power, sample_size)

    def forward(self, contexts: ArrayLike, target: ArrayLike) -> Tensor:
        """contexts (N, 2·window) and target (N,) word ids → the mean loss (0-d)."""
        contexts, target = _ids(contexts, "CBOW", 2), _ids(target, "CBOW", 1)
        h = self.in_embed(contexts).mean(axis=1)                                # (N, H)
        negatives = self.sampler.get_negative_sample(target)
        W = self.out_embed.weight
        positive = _minus_log_sigmoid(_embedding_dot(h, W, target)).mean()
        negative = _minus_log_sigmoid(-_embedding_dot(h, W, negatives)).mean(axis=0).sum()
        return positive + negative

    @property
    def word_vecs(self) -> np.ndarray:
        """The learned word vectors (vocab_size, hidden_size): the input embedding."""
        return self.in_embed.weight.data


class Rnnlm(nn.Module):
    """An LSTM language model: embedding → LSTM → a linear layer scoring the next word."""

    def __init__(self, vocab_size: int = 10000, wordvec_size: int = 100,
                 hidden_size: int = 100, *, rng: np.random.Generator | int | None = None
                 ) -> None:
        super().__init__()
        generator = check_rng(rng, "rng", "Rnnlm")
        self.embed = nn.Embedding(vocab_size, wordvec_size, rng=generator)
        self.lstm = nn.LSTM(wordvec_size, hidden_size, batch_first=True, rng=generator)
        self.linear = nn.Linear(hidden_size, vocab_size, rng=generator)

    def forward(self, xs: ArrayLike, state: State | None = None) -> tuple[Tensor, State]:
        """xs (N, T) word ids, and the LSTM state (h, c) to start from (zeros if None) →
        logits (N, T, vocab_size) of each next word, and the state after the last step.
        Pass the state back detached to carry it into the next batch (truncated BPTT)."""
        hs, state = self.lstm(self.embed(_ids(xs, "Rnnlm", 2)), state)
        return self.linear(hs), state


def _lengthwise(h: Tensor, steps: int) -> Tensor:
    """h (N, H) repeated along a time axis: (N, steps, H)."""
    return ops.broadcast_to(h.reshape(h.shape[0], 1, h.shape[1]),
                            (h.shape[0], steps, h.shape[1]))


class Seq2seq(nn.Module):
    """An LSTM encoder reads the question; its last hidden state starts an LSTM decoder that
    writes the answer. `peeky=True` also gives that state to every decoder step, both as
    input and beside the output (the sequel's PeekySeq2seq)."""

    peeky = False
    attention = False

    def __init__(self, vocab_size: int, wordvec_size: int = 16, hidden_size: int = 128, *,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        generator = check_rng(rng, "rng", type(self).__name__)
        V, E, H = vocab_size, wordvec_size, hidden_size
        beside = H if self.peeky or self.attention else 0       # what the output sits beside
        self.encoder_embed = nn.Embedding(V, E, rng=generator)
        self.encoder = nn.LSTM(E, H, batch_first=True, rng=generator)
        self.decoder_embed = nn.Embedding(V, E, rng=generator)
        self.decoder = nn.LSTM(E + (H if self.peeky else 0), H, batch_first=True, rng=generator)
        self.linear = nn.Linear(H + beside, V, rng=generator)

    def encode(self, xs: ArrayLike) -> tuple[Tensor, Tensor]:
        """All the encoder's hidden states (N, T, H) and its last one (N, H)."""
        hs, (h, _) = self.encoder(self.encoder_embed(_ids(xs, type(self).__name__, 2)))
        return hs, h[0]

    def decode(self, hs: Tensor, h: Tensor, ts: ArrayLike, state: State | None = None
               ) -> tuple[Tensor, State, Tensor | None]:
        """Logits (N, T, V) for the answer characters after `ts` (N, T), the decoder's state
        after them, and attention weights (None here)."""
        x = self.decoder_embed(ts)
        if self.peeky:
            x = ops.concatenate([x, _lengthwise(h, x.shape[1])], axis=2)
        if state is None:
            state = (h.reshape(1, *h.shape), Tensor(np.zeros((1, *h.shape), h.dtype)))
        out, state = self.decoder(x, state)
        if self.peeky:
            out = ops.concatenate([out, _lengthwise(h, out.shape[1])], axis=2)
        return self.linear(out), state, None

    def forward(self, xs: ArrayLike, ts: ArrayLike) -> Tensor:
        """The mean cross-entropy of each answer character after the first (teacher forcing:
        the decoder reads ts[:, :-1] and is scored on ts[:, 1:])."""
        ts = _ids(ts, type(self).__name__, 2)
        hs, h = self.encode(xs)
        logits, _, _ = self.decode(hs, h, ts[:, :-1])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ts[:, 1:].reshape(-1))

    def generate(self, xs: ArrayLike, start_id: int, length: int
                 ) -> tuple[np.ndarray, np.ndarray | None]:
        """Greedy answers (N, length) to the questions xs, each begun with `start_id`, and
        for attention models the weights (N, length, T) each step gave the question."""
        with no_grad():
            hs, h = self.encode(xs)
            word = np.full((hs.shape[0], 1), start_id, dtype=np.int64)
            state, answer, weights = None, [], []
            for _ in range(length):
                logits, state, attention = self.decode(hs, h, word, state)
                word = np.argmax(logits.data, axis=-1)
                answer.append(word[:, 0])
                if attention is not None:
                    weights.append(attention.data[:, 0])
        return np.stack(answer, axis=1), np.stack(weights, axis=1) if weights else None


class PeekySeq2seq(Seq2seq):
    """Seq2seq whose decoder sees the encoder's last state at every step."""

    peeky = True


class AttentionSeq2seq(Seq2seq):
    """Seq2seq with dot-product attention: each decoder output weighs all encoder states by
    softmax(output · state) and is scored beside their weighted sum (the sequel's form)."""

    attention = True

    def decode(self, hs: Tensor, h: Tensor, ts: ArrayLike, state: State | None = None
               ) -> tuple[Tensor, State, Tensor | None]:
        if state is None:
            state = (h.reshape(1, *h.shape), Tensor(np.zeros((1, *h.shape), h.dtype)))
        out, state = self.decoder(self.decoder_embed(ts), state)             # (N, T', H)
        weights = F.softmax(out @ hs.swapaxes(1, 2), axis=-1)               # (N, T', T)
        context = weights @ hs                                              # (N, T', H)
        return self.linear(ops.concatenate([context, out], axis=2)), state, weights


def exact_match(model: Seq2seq, x: Any, t: Any, batch_size: int = 1000) -> float:
    """The share of questions x whose generated answer equals t[:, 1:] in every character."""
    right = 0
    for i in range(0, len(x), batch_size):
        answer, _ = model.generate(x[i:i + batch_size], int(t[0, 0]), t.shape[1] - 1)
        right += int(np.all(answer == t[i:i + batch_size, 1:], axis=1).sum())
    return right / len(x)
