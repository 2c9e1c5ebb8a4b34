"""Train an LSTM language model (the sequel's chapter 6 Rnnlm) on a generated corpus.

The corpus comes from a small grammar (minigrad.datasets.sequence.grammar_corpus). Its own
per-word perplexity is known exactly (about 2.64): no model can do better on average, and
predicting each word from word frequencies alone gives about 17. The model reads the
training text as `--batch-size` parallel streams, `--time-size` words at a time, carrying
its LSTM state from one piece to the next but cutting the graph there (truncated
backpropagation through time), and prints the held-out text's perplexity every epoch.

    python examples/rnnlm.py              # held-out perplexity below 2.75, in seconds
    python examples/rnnlm.py --sentences 2000 --epochs 3

Writes a PNG (--plot) of the training and test perplexity per epoch beside the grammar's
own and the word-frequency model's, and prints sentences the model writes.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
from _sequel import add_training_arguments, check_positive, fit, parser, save_figure

import minigrad as mg
from minigrad import functional as F
from minigrad import util
from minigrad.blas import add_threads_argument, limit_blas_threads
from minigrad.datasets.sequence import grammar_corpus, grammar_perplexity
from minigrad.nlp import Rnnlm


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = parser(__doc__)
    p.add_argument("--sentences", type=int, default=10000,
                   help="training sentences; a tenth as many are held back (default: 10000)")
    p.add_argument("--wordvec", type=int, default=100, help="default: 100")
    p.add_argument("--hidden", type=int, default=100, help="default: 100")
    p.add_argument("--time-size", type=int, default=35,
                   help="words per piece of truncated backpropagation (default: 35)")
    add_training_arguments(p, epochs=4, batch_size=20, lr=0.01, plot="rnnlm.png")
    add_threads_argument(p)
    args = p.parse_args(argv)
    check_positive(p, args, "sentences", "wordvec", "hidden", "time_size", "epochs",
                   "batch_size")
    return args


def streams(corpus: np.ndarray, batch_size: int, time_size: int, what: str
            ) -> list[tuple[np.ndarray, np.ndarray]]:
    """The corpus cut into batch_size streams, then into pieces of time_size words:
    (inputs, next words) pairs of shape (batch_size, time_size), in reading order."""
    length = (len(corpus) - 1) // (batch_size * time_size) * time_size
    if length == 0:
        raise SystemExit(f"the {what} of {len(corpus)} words is too short for {batch_size} "
                         f"streams of {time_size} words: give more --sentences")
    xs = corpus[:batch_size * length].reshape(batch_size, length)
    ts = corpus[1:batch_size * length + 1].reshape(batch_size, length)
    return [(xs[:, i:i + time_size], ts[:, i:i + time_size])
            for i in range(0, length, time_size)]


def perplexity(model: Rnnlm, pieces: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """exp of the mean cross-entropy over the pieces, read in order with the state carried."""
    state, total = None, 0.0
    with mg.no_grad():
        for xs, ts in pieces:
            logits, state = model(xs, state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ts.reshape(-1)).item()
    return float(np.exp(total / len(pieces)))


def write(model: Rnnlm, word_to_id: dict[str, int], id_to_word: dict[int, str], words: int,
          rng: np.random.Generator) -> str:
    """`words` words sampled from the model, word after word, starting from "the"."""
    word, state, text = word_to_id["the"], None, ["the"]
    with mg.no_grad():
        for _ in range(words - 1):
            logits, state = model(np.array([[word]]), state)
            p = np.exp(logits.data[0, 0] - logits.data[0, 0].max())
            word = int(rng.choice(len(p), p=p / p.sum()))
            text.append(id_to_word[word])
    return " ".join(text)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    args = parse_args(argv)
    limit_blas_threads(args.threads)
    train_text = grammar_corpus(args.sentences, args.seed)
    test_text = grammar_corpus(max(args.sentences // 10, 1), args.seed + 1)
    corpus, word_to_id, id_to_word = util.preprocess(train_text + " " + test_text)
    train_words = len(train_text.split())
    train, test = corpus[:train_words], corpus[train_words:]
    V = len(word_to_id)
    model = Rnnlm(V, args.wordvec, args.hidden, rng=args.seed)
    pieces = streams(train, args.batch_size, args.time_size, "training text")
    test_pieces = streams(test, min(args.batch_size, 10), args.time_size, "held-out text")
    counts = np.bincount(train, minlength=V) + 1.0
    unigram = float(np.exp(-np.mean(np.log(counts / counts.sum())[test])))
    floor = grammar_perplexity()
    print(f"{len(train)} training and {len(test)} test words, vocabulary {V}; "
          f"Rnnlm(wordvec {args.wordvec}, hidden {args.hidden}), {len(pieces)} pieces of "
          f"{args.batch_size}x{args.time_size} words per epoch, Adam lr={args.lr}")
    print(f"perplexity of the grammar itself: {floor:.3f}; of word frequencies: {unigram:.3f}")

    carried: dict[str, Any] = {"state": None}

    def epoch() -> list[tuple[np.ndarray, np.ndarray]]:
        carried["state"] = None                            # each epoch reads from the start
        return pieces

    def loss_of(piece: tuple[np.ndarray, np.ndarray]) -> mg.Tensor:
        xs, ts = piece
        logits, (h, c) = model(xs, carried["state"])
        carried["state"] = (h.detach(), c.detach())        # carried on, but not backpropagated
        return F.cross_entropy(logits.reshape(-1, V), ts.reshape(-1))

    test_ppl: list[float] = []

    def evaluate(_: int) -> str:
        test_ppl.append(perplexity(model, test_pieces))
        return f"test perplexity {test_ppl[-1]:.3f}"

    every_loss: list[float] = []
    history = fit(model, loss_of, epoch, len(pieces), args, evaluate, every_loss=every_loss)
    print(f"final test perplexity: {test_ppl[-1]:.4f}")
    rng = np.random.default_rng(args.seed)
    print("the model writes:", write(model, word_to_id, id_to_word, 30, rng))

    def draw(plt: Any) -> Any:
        fig, ax = plt.subplots(figsize=(6.5, 4.2))
        ax.plot(np.arange(1, len(every_loss) + 1) / len(pieces), np.exp(every_loss),
                linewidth=0.8, label="training batches")
        ax.plot(np.arange(1, len(history) + 1), test_ppl, marker="s", linestyle="--",
                label="held-out text, after each epoch")
        ax.axhline(floor, color="k", linewidth=0.8, label=f"the grammar itself ({floor:.2f})")
        ax.axhline(unigram, color="tab:gray", linestyle=":",
                   label=f"word frequencies ({unigram:.2f})")
        ax.set(xlabel="epoch", ylabel="perplexity", yscale="log", xlim=(0, len(history)),
               title="LSTM language model on the grammar's text")
        ax.legend(fontsize=8)
        return fig

    save_figure(draw, args.plot)
    return {"history": history, "test_perplexity": test_ppl, "floor": floor,
            "unigram": unigram}


if __name__ == "__main__":
    main()
