"""minigrad.trainer: the book's Trainer — it trains, keeps one accuracy per epoch, draws batches
with np.random.choice, maps optimizer names to minigrad.optim, prints one line per epoch and
shows a progress bar on a terminal (tqdm's, or its own without tqdm)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import optim
from minigrad.models import TwoLayerNet
from minigrad.trainer import Trainer

ROOT = Path(__file__).resolve().parents[1]


class Recorder:
    """A network with the book's interface that learns nothing and records what it is given."""

    def __init__(self) -> None:
        self.params = {"W": np.zeros(2)}
        self.batches: list[np.ndarray] = []
        self.evaluated: list[int] = []

    def gradient(self, x, t):
        self.batches.append(np.array(x))
        return {"W": np.ones(2)}

    def loss(self, x, t):
        return mg.tensor(1.5)                       # a 0-d tensor, as minigrad's models return

    def accuracy(self, x, t):
        self.evaluated.append(len(x))
        return 0.25


def data(n: int, features: int = 2) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n * features, dtype=np.float64).reshape(n, features), np.zeros(n, int)


def test_trainer_trains_a_two_layer_net_on_digits() -> None:
    pytest.importorskip("sklearn")
    (x_train, t_train), (x_test, t_test) = mg.datasets.load_digits()
    np.random.seed(0)
    network = TwoLayerNet(64, 30, 10, activation="relu")
    trainer = Trainer(network, x_train, t_train, x_test, t_test, epochs=5, mini_batch_size=100,
                      optimizer="Adam", optimizer_param={"lr": 0.01}, verbose=False)
    trainer.train()
    assert trainer.iter_per_epoch == len(x_train) / 100
    assert trainer.current_iter == trainer.max_iter == int(5 * len(x_train) / 100)
    assert len(trainer.train_loss_list) == trainer.max_iter
    assert all(type(loss) is float for loss in trainer.train_loss_list)
    assert len(trainer.train_acc_list) == len(trainer.test_acc_list) == 5 == trainer.current_epoch
    assert trainer.test_acc_list[0] < 0.5 and trainer.test_acc_list[-1] > 0.85
    assert np.mean(trainer.train_loss_list[-10:]) < 0.3 * np.mean(trainer.train_loss_list[:10])
    assert network.accuracy(x_test, t_test) > 0.85


@given(train_size=st.integers(1, 300), batch_size=st.integers(1, 150), epochs=st.integers(1, 6),
       samples=st.none() | st.integers(1, 400))
def test_one_accuracy_per_epoch_for_any_sizes(train_size: int, batch_size: int, epochs: int,
                                              samples: int | None) -> None:
    network = Recorder()
    x, t = data(train_size)
    x_test, t_test = data(7)
    trainer = Trainer(network, x, t, x_test, t_test, epochs=epochs, mini_batch_size=batch_size,
                      evaluate_sample_num_per_epoch=samples, verbose=False)
    trainer.train()
    max_iter = int(epochs * max(train_size / batch_size, 1))
    assert trainer.max_iter == trainer.current_iter == max_iter
    assert trainer.train_loss_list == [1.5] * max_iter
    assert trainer.train_acc_list == trainer.test_acc_list == [0.25] * epochs
    assert trainer.current_epoch == epochs
    per_epoch = [min(samples or train_size, train_size), min(samples or 7, 7)]
    assert network.evaluated == per_epoch * epochs + [7]            # and the final test set
    assert all(batch.shape == (batch_size, 2) for batch in network.batches)


def test_batches_are_drawn_with_np_random_choice_and_params_updated_in_place() -> None:
    network = Recorder()
    W = network.params["W"]
    x, t = data(30, features=1)
    np.random.seed(5)
    trainer = Trainer(network, x, t, x, t, epochs=2, mini_batch_size=4, optimizer="sgd",
                      optimizer_param={"lr": 0.5}, verbose=False)
    trainer.train()
    np.random.seed(5)
    expected = [np.random.choice(30, 4) for _ in range(trainer.max_iter)]
    drawn = [batch[:, 0].astype(int) for batch in network.batches]
    assert len(drawn) == 15
    for got, want in zip(drawn, expected, strict=True):
        np.testing.assert_array_equal(got, want)
    assert network.params["W"] is W
    np.testing.assert_allclose(W, -0.5 * 15)                        # 15 SGD steps of lr 0.5


@pytest.mark.parametrize("name, cls", [
    ("SGD", optim.SGD), ("sgd", optim.SGD), ("Momentum", optim.Momentum),
    ("NESTEROV", optim.Nesterov), ("AdaGrad", optim.AdaGrad), ("adagrad", optim.AdaGrad),
    ("RMSprop", optim.RMSprop), ("rmsprop", optim.RMSprop), ("Adam", optim.Adam),
    ("adam", optim.Adam)])
def test_optimizer_names_in_any_case(name: str, cls: type) -> None:
    x, t = data(10)
    trainer = Trainer(Recorder(), x, t, x, t, optimizer=name, optimizer_param={"lr": 0.2},
                      verbose=False)
    assert type(trainer.optimizer) is cls and trainer.optimizer.lr == 0.2
    assert trainer.optimizer.params == []                           # used as update(params, ...)
    assert Trainer(Recorder(), x, t, x, t, optimizer=name).optimizer.lr == 0.01   # the default


def test_bad_optimizers_and_data_are_clear_errors() -> None:
    x, t = data(10)
    with pytest.raises(ValueError, match="Trainer: unknown optimizer 'AdamW'; use one of 'sgd', "
                                         "'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam'"):
        Trainer(Recorder(), x, t, x, t, optimizer="AdamW")
    with pytest.raises(TypeError, match=r"Trainer: optimizer_param \{'lr': 0.1, 'beta': 0.9\} "
                                        "does not fit Adam"):
        Trainer(Recorder(), x, t, x, t, optimizer="adam", optimizer_param={"lr": 0.1,
                                                                           "beta": 0.9})
    with pytest.raises(TypeError, match="Trainer: optimizer must be a string"):
        Trainer(Recorder(), x, t, x, t, optimizer=optim.Adam)       # type: ignore[arg-type]
    made = optim.Momentum(lr=0.3)
    assert Trainer(Recorder(), x, t, x, t, optimizer=made).optimizer is made
    with pytest.raises(ValueError, match=r"Trainer: x_train of shape \(10, 2\) and t_train of "
                                         r"shape \(9,\) must have the same length"):
        Trainer(Recorder(), x, t[:9], x, t)
    with pytest.raises(TypeError, match="Trainer: the network has no 'params'"):
        Trainer(object(), x, t, x, t)                               # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Trainer: mini_batch_size must be at least 1"):
        Trainer(Recorder(), x, t, x, t, mini_batch_size=0)


def test_verbose_prints_one_line_per_epoch_and_the_final_accuracy(
        capsys: pytest.CaptureFixture[str]) -> None:
    x, t = data(40)
    Trainer(Recorder(), x, t, x, t, epochs=3, mini_batch_size=4, verbose=True).train()
    captured = capsys.readouterr()
    assert captured.out.splitlines() == [
        "epoch 1/3: train acc 0.2500, test acc 0.2500",
        "epoch 2/3: train acc 0.2500, test acc 0.2500",
        "epoch 3/3: train acc 0.2500, test acc 0.2500",
        "final test accuracy: 0.2500"]                              # 30 steps, no line for each
    assert captured.err == ""                                       # not a terminal: no bar
    Trainer(Recorder(), x, t, x, t, epochs=3, mini_batch_size=4, verbose=False).train()
    assert capsys.readouterr() == ("", "")


SCRIPT = """
import sys
{block}
import numpy as np
from minigrad.trainer import Trainer

class Net:
    params = {{"W": np.zeros(1)}}
    def gradient(self, x, t): return {{"W": np.zeros(1)}}
    def loss(self, x, t): return 0.5
    def accuracy(self, x, t): return 1.0

x, t = np.zeros((50, 1)), np.zeros(50, dtype=int)
Trainer(Net(), x, t, x, t, epochs=3, mini_batch_size=10).train()
"""


def run_on_a_terminal(block: str) -> tuple[str, str]:
    """Run SCRIPT with its stderr on a pseudo-terminal; its stdout and what the terminal got."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))   # 24 x 100
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH",
                                                                                  "")]))
    process = subprocess.Popen([sys.executable, "-c", SCRIPT.format(block=block)],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave,
                               env=env)
    os.close(slave)
    terminal = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:                                             # the child closed it
            break
        if not chunk:
            break
        terminal += chunk
    os.close(master)
    stdout = process.stdout.read().decode() if process.stdout else ""
    assert process.wait(timeout=120) == 0, terminal.decode(errors="replace")
    return stdout, terminal.decode(errors="replace")


EXPECTED_LINES = ["epoch 1/3: train acc 1.0000, test acc 1.0000",
                  "epoch 2/3: train acc 1.0000, test acc 1.0000",
                  "epoch 3/3: train acc 1.0000, test acc 1.0000",
                  "final test accuracy: 1.0000"]


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_tqdm_bar_on_a_terminal() -> None:
    pytest.importorskip("tqdm")
    stdout, terminal = run_on_a_terminal("")
    assert stdout.splitlines() == EXPECTED_LINES
    assert "training: 100%" in terminal and "15/15" in terminal, terminal


@pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")
def test_text_bar_on_a_terminal_without_tqdm() -> None:
    stdout, terminal = run_on_a_terminal("sys.modules['tqdm'] = None   # as if not installed")
    assert stdout.splitlines() == EXPECTED_LINES
    assert "training [" + "#" * 30 + "] 15/15 iterations (100%)" in terminal, terminal
    assert "tqdm" not in terminal


def test_text_bar_draws_on_the_file_it_is_given() -> None:
    import io

    from minigrad.trainer import _TextBar

    out = io.StringIO()
    bar = _TextBar(4, out)
    for _ in range(4):
        bar.update()
    bar.close()
    text = out.getvalue()
    assert text.startswith("\rtraining [" + "-" * 30 + "] 0/4 iterations (0%)")
    assert text.endswith("\rtraining [" + "#" * 30 + "] 4/4 iterations (100%)\n")
    assert text.count("\r") == 5
