"""The book's Trainer (its `common/trainer.py`): the mini-batch training loop of chapters 6-7.

    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=20,
                      mini_batch_size=100, optimizer="Adam", optimizer_param={"lr": 0.001},
                      evaluate_sample_num_per_epoch=1000)
    trainer.train()
    plt.plot(np.arange(20), trainer.train_acc_list)

The network is any object with the book's interface: a `params` dict of
arrays, `gradient(x, t)` returning a dict of gradients by the same keys,
`loss(x, t)` and `accuracy(x, t)` — minigrad's models, or the book's networks
written with `minigrad.layers`.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, Protocol, TextIO

import numpy as np

from . import optim
from ._checks import check_bool, check_int, check_str
from .engine import as_array
from .modes import no_grad

__all__ = ["Trainer", "OPTIMIZERS"]

# The names Trainer accepts for `optimizer` (any case), as in the book.
OPTIMIZERS: dict[str, type[optim.Optimizer]] = {
    "sgd": optim.SGD, "momentum": optim.Momentum, "nesterov": optim.Nesterov,
    "adagrad": optim.AdaGrad, "rmsprop": optim.RMSprop, "adam": optim.Adam,
}


class Network(Protocol):
    """What Trainer needs of a network: the book's interface."""

    @property
    def params(self) -> Mapping[str, np.ndarray]: ...
    def gradient(self, x: Any, t: Any) -> Mapping[str, Any]: ...
    def loss(self, x: Any, t: Any) -> Any: ...
    def accuracy(self, x: Any, t: Any) -> float: ...


def make_optimizer(optimizer: str | optim.Optimizer,
                   optimizer_param: Mapping[str, Any] | None = None) -> optim.Optimizer:
    """The optimizer named (case-insensitive, see OPTIMIZERS) made with `optimizer_param`
    (default {"lr": 0.01}) and no parameters, to be used as `update(params, grads)`."""
    if isinstance(optimizer, optim.Optimizer):
        if optimizer_param is not None:
            raise ValueError("Trainer: optimizer_param is for an optimizer given by name; this "
                             f"one is made already ({optimizer!r})")
        return optimizer
    name = check_str(optimizer, "optimizer", "Trainer")
    names = ", ".join(repr(n) for n in OPTIMIZERS)
    cls = OPTIMIZERS.get(name.lower())
    if cls is None:
        raise ValueError(f"Trainer: unknown optimizer {optimizer!r}; use one of {names} "
                         "(in any case, e.g. 'SGD' or 'Adam')")
    param = {"lr": 0.01} if optimizer_param is None else optimizer_param
    if not isinstance(param, Mapping):
        raise TypeError(f"Trainer: optimizer_param must be a dict such as {{'lr': 0.01}}, got "
                        f"{type(param).__name__}")
    try:
        return cls(**param)
    except TypeError as error:
        raise TypeError(f"Trainer: optimizer_param {dict(param)} does not fit {cls.__name__}: "
                        f"{error}") from None


# ------------------------------------------------------------ progress bars

class _Bar:
    """No bar: lines are printed as they come."""

    def update(self) -> None:
        pass

    def write(self, line: str) -> None:
        print(line, flush=True)

    def close(self) -> None:
        pass


class _TqdmBar(_Bar):
    def __init__(self, bar: Any) -> None:
        self.bar = bar

    def update(self) -> None:
        self.bar.update(1)

    def write(self, line: str) -> None:
        self.bar.write(line)          # clears the bar, prints the line, draws the bar again
        sys.stdout.flush()

    def close(self) -> None:
        self.bar.close()


class _TextBar(_Bar):
    """A small bar of its own on `file` (stderr), for when tqdm is not installed."""

    WIDTH = 30

    def __init__(self, total: int, file: TextIO) -> None:
        self.total, self.file = max(total, 1), file
        self.done = 0
        self.shown = -1               # the percentage last drawn
        self.draw()

    def draw(self) -> None:
        percent = 100 * self.done // self.total
        if percent == self.shown:
            return
        self.shown = percent
        filled = self.WIDTH * self.done // self.total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        self.file.write(f"\rtraining [{bar}] {self.done}/{self.total} iterations ({percent}%)")
        self.file.flush()

    def update(self) -> None:
        self.done += 1
        self.draw()

    def write(self, line: str) -> None:
        self.file.write("\r\x1b[K")   # clear the bar's line, print, draw the bar again
        self.file.flush()
        print(line, flush=True)
        self.shown = -1
        self.draw()

    def close(self) -> None:
        self.file.write("\n")
        self.file.flush()


def _progress_bar(total: int) -> _Bar:
    """tqdm's bar on stderr when tqdm is installed (none when stderr is not a terminal),
    else a text bar of our own, also only on a terminal."""
    try:
        from tqdm import tqdm
    except ImportError:
        stderr = sys.stderr
        if stderr is not None and stderr.isatty():
            return _TextBar(total, stderr)
        return _Bar()
    return _TqdmBar(tqdm(total=total, desc="training", unit="it", disable=None,
                         file=sys.stderr, dynamic_ncols=True))


# ------------------------------------------------------------ the trainer

class Trainer:
    """Train `network` by mini-batches, as the book's Trainer does.

    Each step draws `mini_batch_size` samples with `np.random.choice` (with
    replacement, from numpy's global state), computes `network.gradient`,
    updates `network.params` in place with the optimizer (a name, in any case:
    'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', made with
    `optimizer_param`, default {'lr': 0.01}) and appends the batch's loss (a
    float) to `train_loss_list`. An epoch is train_size / mini_batch_size
    steps (at least 1); at the first step of each epoch the accuracy on the
    training and test sets (their first `evaluate_sample_num_per_epoch`
    samples, if given) goes to `train_acc_list` and `test_acc_list`, one entry
    per epoch. `verbose` shows a progress bar (tqdm's when installed) and
    prints one line per epoch and the final test accuracy.
    """

    def __init__(self, network: Network, x_train: Any, t_train: Any, x_test: Any, t_test: Any,
                 epochs: int = 20, mini_batch_size: int = 100,
                 optimizer: str | optim.Optimizer = "SGD",
                 optimizer_param: Mapping[str, Any] | None = None,
                 evaluate_sample_num_per_epoch: int | None = None,
                 verbose: bool = True) -> None:
        where = "Trainer"
        for name in ("params", "gradient", "loss", "accuracy"):
            if not hasattr(network, name):
                raise TypeError(f"{where}: the network has no {name!r}; it needs the book's "
                                "interface: params, gradient(x, t), loss(x, t), accuracy(x, t)")
        self.network = network
        self.verbose = check_bool(verbose, "verbose", where)
        self.x_train, self.t_train = np.asarray(as_array(x_train)), np.asarray(as_array(t_train))
        self.x_test, self.t_test = np.asarray(as_array(x_test)), np.asarray(as_array(t_test))
        for part, x, t in (("train", self.x_train, self.t_train),
                           ("test", self.x_test, self.t_test)):
            if np.ndim(x) == 0 or np.ndim(t) == 0 or len(x) != len(t):
                raise ValueError(f"{where}: x_{part} of shape {np.shape(x)} and t_{part} of "
                                 f"shape {np.shape(t)} must have the same length")
        self.train_size = len(self.x_train)
        if self.train_size == 0:
            raise ValueError(f"{where}: x_train is empty")
        self.epochs = check_int(epochs, "epochs", where)
        self.batch_size = check_int(mini_batch_size, "mini_batch_size", where)
        self.evaluate_sample_num_per_epoch = None if evaluate_sample_num_per_epoch is None \
            else check_int(evaluate_sample_num_per_epoch, "evaluate_sample_num_per_epoch", where)
        self.optimizer = make_optimizer(optimizer, optimizer_param)
        self.iter_per_epoch = max(self.train_size / self.batch_size, 1)
        self.max_iter = int(self.epochs * self.iter_per_epoch)
        self.current_iter = 0
        self.current_epoch = 0
        self.train_loss_list: list[float] = []
        self.train_acc_list: list[float] = []
        self.test_acc_list: list[float] = []
        self._bar: _Bar = _Bar()

    def train_step(self) -> None:
        """One mini-batch update; at the first step of an epoch, the accuracies."""
        batch_mask = np.random.choice(self.train_size, self.batch_size)
        x_batch, t_batch = self.x_train[batch_mask], self.t_train[batch_mask]
        grads = self.network.gradient(x_batch, t_batch)
        self.optimizer.update(self.network.params, grads)
        with no_grad():
            loss = self.network.loss(x_batch, t_batch)
        self.train_loss_list.append(float(np.asarray(as_array(loss)).item()))
        # Epoch k begins at step floor(k * iter_per_epoch): `epochs` of them, all before max_iter.
        if self.current_epoch < self.epochs and \
                self.current_iter >= int(self.current_epoch * self.iter_per_epoch):
            self.current_epoch += 1
            self._evaluate()
        self.current_iter += 1

    def _evaluate(self) -> None:
        x_train, t_train, x_test, t_test = self.x_train, self.t_train, self.x_test, self.t_test
        n = self.evaluate_sample_num_per_epoch
        if n is not None:
            x_train, t_train, x_test, t_test = x_train[:n], t_train[:n], x_test[:n], t_test[:n]
        with no_grad():
            train_acc = float(self.network.accuracy(x_train, t_train))
            test_acc = float(self.network.accuracy(x_test, t_test))
        self.train_acc_list.append(train_acc)
        self.test_acc_list.append(test_acc)
        if self.verbose:
            self._bar.write(f"epoch {self.current_epoch}/{self.epochs}: train acc {train_acc:.4f}"
                            f", test acc {test_acc:.4f}")

    def train(self) -> None:
        """Run max_iter = int(epochs * iter_per_epoch) steps, then print the test accuracy."""
        self._bar = _progress_bar(self.max_iter) if self.verbose else _Bar()
        try:
            for _ in range(self.max_iter):
                self.train_step()
                self._bar.update()
        finally:
            self._bar.close()
            self._bar = _Bar()
        with no_grad():
            test_acc = float(self.network.accuracy(self.x_test, self.t_test))
        if self.verbose:
            print(f"final test accuracy: {test_acc:.4f}", flush=True)
