"""What the sequel's four programs (word2vec, rnnlm, seq2seq_addition, attention_dates) share:
their common options, a progress bar, a plot file, and the loop that trains a model on
mini-batches with Adam and gradient clipping."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[1]))   # also run from a checkout

from train_two_layer_net import learning_rate
from train_two_layer_net import plot_file as plot_file  # (for attention_dates.py too)

from minigrad import nn, optim
from minigrad.datasets import minibatches


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser whose help is the program's docstring: its first paragraph above
    the options, the rest below."""
    return argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog="\n\n".join(doc.split("\n\n")[1:]))


def add_training_arguments(p: argparse.ArgumentParser, *, epochs: int, batch_size: int,
                           lr: float, plot: str) -> None:
    p.add_argument("--epochs", type=int, default=epochs, help=f"default: {epochs}")
    p.add_argument("--batch-size", type=int, default=batch_size,
                   help=f"default: {batch_size}")
    p.add_argument("--lr", type=learning_rate, default=lr,
                   help=f"Adam's learning rate (default: {lr})")
    p.add_argument("--seed", type=int, default=0, help="default: 0")
    p.add_argument("--plot", type=plot_file, default=plot,
                   help=f"PNG to write ('' for none; default: {plot})")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")


def check_positive(p: argparse.ArgumentParser, args: argparse.Namespace, *names: str) -> None:
    for name in names:
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")


class Progress:
    """A tqdm bar on a terminal (when tqdm is installed and not --no-progress), else none;
    `say` prints a line without breaking it."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.bar: Any = None
        if enabled:
            try:
                from tqdm import tqdm
            except ImportError:
                pass
            else:
                self.bar = tqdm(total=total, desc="training", unit="batch", leave=False,
                                file=sys.stderr, mininterval=0.5, disable=None)

    def update(self, loss: float) -> None:
        if self.bar is not None:
            self.bar.update()
            self.bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

    def say(self, line: str) -> None:
        if self.bar is not None:
            self.bar.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def fit(model: nn.Module, loss_of: Callable[[Any], Any], epoch: Callable[[], Iterable[Any]],
        per_epoch: int, args: argparse.Namespace, after_epoch: Callable[[int], str],
        max_grad: float | None = 5.0, every_loss: list[float] | None = None) -> list[float]:
    """Train with Adam for args.epochs epochs: `epoch()` gives the `per_epoch` batches of an
    epoch, `loss_of(batch)` a batch's loss, `after_epoch(epoch)` a line to print. Gradients
    are clipped to a norm of `max_grad`. Returns the mean batch loss of each epoch, and
    appends each batch's to `every_loss`."""
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    bar = Progress(args.epochs * per_epoch, enabled=not args.no_progress)
    history: list[float] = []
    began = time.perf_counter()
    for number in range(1, args.epochs + 1):
        losses = []
        for batch in epoch():
            loss = loss_of(batch)
            optimizer.zero_grad()
            loss.backward()
            if max_grad is not None:
                nn.utils.clip_grad_norm_(model.parameters(), max_grad)
            optimizer.step()
            losses.append(loss.item())
            bar.update(losses[-1])
            if every_loss is not None:
                every_loss.append(losses[-1])
        history.append(float(np.mean(losses)))
        bar.say(f"epoch {number:3d}  loss {history[-1]:.4f}  {after_epoch(number)}")
    bar.close()
    print(f"training time: {time.perf_counter() - began:.1f} s")
    return history


def pyplot() -> Any:
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(draw: Callable[[Any], Any], path: str) -> None:
    """Call draw(plt), which returns a figure, and write it to path (if path is not '')."""
    if not path:
        return
    try:
        plt = pyplot()
    except ImportError:
        print("matplotlib is not installed: no plot (pip install matplotlib)", file=sys.stderr)
        return
    fig = draw(plt)
    fig.tight_layout()
    tmp = f"{path}.tmp.png"
    fig.savefig(tmp, dpi=100)
    os.replace(tmp, path)
    plt.close(fig)
    print(f"plot written to {path}")


def train_seq2seq(model: Any, data: tuple[tuple[np.ndarray, np.ndarray], ...],
                  args: argparse.Namespace) -> tuple[list[float], list[float]]:
    """Train a seq2seq model on (x_train, t_train), printing the exact-match accuracy of its
    greedy answers to the held-back questions every epoch: (losses, accuracies)."""
    from minigrad.nlp import exact_match

    (x_train, t_train), (x_test, t_test) = data
    rng = np.random.default_rng(args.seed)
    accuracies: list[float] = []

    def evaluate(_: int) -> str:
        accuracies.append(exact_match(model, x_test, t_test))
        return f"test exact match {accuracies[-1]:.4f}"

    losses = fit(model, lambda batch: model(*batch),
                 lambda: minibatches(x_train, t_train, args.batch_size, rng=rng),
                 -(-len(x_train) // args.batch_size), args, evaluate)
    print(f"final test exact match: {accuracies[-1]:.4f}")
    return losses, accuracies


def exact_match_curves(losses: list[float], accuracies: list[float], what: str, title: str,
                       loss_scale: str = "linear") -> Callable[[Any], Any]:
    """A `save_figure` drawing: exact match on the held-back `what` and the mean training
    loss, per epoch, side by side."""
    def draw(plt: Any) -> Any:
        fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 4))
        epochs = np.arange(1, len(losses) + 1)
        ax_acc.plot(epochs, accuracies, marker="o")
        ax_acc.set(xlabel="epoch", ylabel=f"exact match on held-back {what}", ylim=(0, 1),
                   title=title)
        ax_loss.plot(epochs, losses, color="tab:red")
        ax_loss.set(xlabel="epoch", ylabel="mean training loss", yscale=loss_scale,
                    title="loss")
        return fig
    return draw


def show_answers(model: Any, x: np.ndarray, t: np.ndarray, id_to_char: dict[int, str],
                 reversed_input: bool, count: int = 8, mistakes: int = 4) -> None:
    """Print the first `count` questions with the model's answers and whether each is
    right, then up to `mistakes` of the questions it got wrong."""
    answers = np.concatenate([model.generate(x[i:i + 1000], int(t[0, 0]), t.shape[1] - 1)[0]
                              for i in range(0, len(x), 1000)])
    wrong = np.flatnonzero(np.any(answers != t[:, 1:], axis=1))
    first = list(range(min(count, len(x))))
    rows = first + [int(i) for i in wrong if i >= count][:mistakes]
    for k, row in enumerate(rows):
        if k == len(first):
            print("  and some it got wrong:")
        question = x[row, ::-1] if reversed_input else x[row]
        text = "".join(id_to_char[int(c)] for c in question).strip()
        said = "".join(id_to_char[int(c)] for c in answers[row]).strip()
        mark = "wrong, " + "".join(id_to_char[int(c)] for c in t[row, 1:]).strip() \
            if row in wrong else "ok"
        print(f"  {text:30s} → {said:12s} {mark}")
