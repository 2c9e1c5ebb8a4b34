"""Train the book's TwoLayerNet with mini-batch gradient descent, on the graph.

The book's training loop (chapters 4-5): draw a random mini-batch with
np.random.choice, compute the loss, backpropagate, update the parameters,
and once per epoch print the accuracy on the training and test sets. Here
the gradient comes from one backward() over minigrad's graph and the update
from a minigrad.optim optimizer (plain SGD is the book's
`params[key] -= lr * grad[key]`).

    python examples/train_two_layer_net.py                      # 8x8 digits, offline
    python examples/train_two_layer_net.py --dataset fashion-mnist --hidden 100
    python examples/train_two_layer_net.py --dataset mnist \\
        --data-root ../shared/data/mnist --split-test 8000      # only the 10k test set there

Writes a PNG of accuracy and loss per epoch (--plot, needs matplotlib) and
shows a progress bar when tqdm is installed.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[1]))   # also run from a checkout

import minigrad as mg
from minigrad import datasets, optim
from minigrad.blas import add_threads_argument, limit_blas_threads
from minigrad.models import TwoLayerNet

OPTIMIZERS = {
    "sgd": optim.SGD, "momentum": optim.Momentum, "nesterov": optim.Nesterov,
    "adagrad": optim.AdaGrad, "rmsprop": optim.RMSprop, "adam": optim.Adam,
}

# Defaults that depend on the dataset (each reaches its target accuracy; see docs/nn.md).
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"hidden": 50, "iters": 1000, "optimizer": "adam", "lr": 0.01},
    "mnist": {"hidden": 50, "iters": 3000, "optimizer": "adam", "lr": 0.01},
    "fashion-mnist": {"hidden": 100, "iters": 6000, "optimizer": "adam", "lr": 0.003},
}
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.1, "nesterov": 0.1, "adagrad": 0.1, "rmsprop": 0.01,
              "adam": 0.01}
# Learning rate and iterations of an optimizer on a dataset where those above fall short. The
# book's plain SGD at its MNIST lr of 0.1 stays near 0.77 on the 8x8 digits (1,437 images, so
# few steps per epoch); at lr 2.0 for 1,500 iterations it reaches 0.958-0.967 over seeds 0-9.
TUNED: dict[tuple[str, str], dict[str, Any]] = {
    ("digits", "sgd"): {"lr": 2.0, "iters": 1500},
}


def learning_rate(text: str) -> float:
    """argparse type of --lr: a finite number > 0."""
    try:
        lr = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 < lr < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text}")
    return lr


def output_file(text: str) -> str:
    """argparse type of --plot and --save: a file name in a folder that exists ('' for none)."""
    if not text:
        return text
    path = Path(text).expanduser()
    if path.is_dir():
        raise argparse.ArgumentTypeError(f"{text} is a folder; give a file name in it")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: the folder {folder} does not "
                                         "exist")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: the folder {folder} is not "
                                         "writable")
    return str(path)


def plot_file(text: str) -> str:
    """argparse type of --plot: as output_file, and a picture format matplotlib can write."""
    text = output_file(text)
    suffix = Path(text).suffix.lower().lstrip(".")
    if text and suffix:
        try:
            from matplotlib.backend_bases import FigureCanvasBase
        except ImportError:             # no plot is drawn then (a note says so)
            return text
        formats = FigureCanvasBase.get_supported_filetypes()
        if suffix not in formats:
            raise argparse.ArgumentTypeError(
                f"cannot write a .{suffix} picture ({text}); use one of "
                + ", ".join(f".{f}" for f in sorted(formats)))
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", choices=sorted(DATASET_DEFAULTS), default="digits",
                   help="default: digits, which needs no files and no network (it ships "
                        "with scikit-learn)")
    p.add_argument("--data-root", default=None,
                   help="folder holding the MNIST/Fashion-MNIST IDX files (else the default "
                        "search path of minigrad.datasets)")
    p.add_argument("--download", action="store_true",
                   help="download missing files into --data-root (without --data-root, "
                        "downloads into the cache are always allowed)")
    p.add_argument("--split-test", type=int, default=None, metavar="N",
                   help="use only the official test set: train on its first N images and test "
                        "on the rest (for a folder holding only the t10k files)")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default=None,
                   help="default: adam")
    p.add_argument("--lr", type=learning_rate, default=None,
                   help="learning rate, > 0 (default: adam 0.01, or 0.003 on fashion-mnist; "
                        "sgd 2.0 on digits, else 0.1 as in the book; 0.1 for "
                        "momentum/nesterov/adagrad, 0.01 for rmsprop)")
    p.add_argument("--hidden", type=int, default=None, help="hidden units (default: per dataset)")
    p.add_argument("--activation", choices=["sigmoid", "relu", "tanh"], default="sigmoid",
                   help="sigmoid (default) is chapter 4's network, relu chapter 5's")
    p.add_argument("--weight-init-std", type=float, default=0.01,
                   help="std of the initial weights (default: the book's 0.01)")
    p.add_argument("--iters", type=int, default=None,
                   help="iterations (default: per dataset; 1500 for sgd on digits)")
    p.add_argument("--batch-size", type=int, default=100, help="default: 100")
    p.add_argument("--seed", type=int, default=0,
                   help="seeds numpy's global random state (default: 0)")
    p.add_argument("--train-eval", type=int, default=10000, metavar="N",
                   help="measure training accuracy on a fixed random N training images "
                        "(0: all of them; default: 10000, as evaluating 60,000 each epoch costs "
                        "more than training)")
    p.add_argument("--plot", type=plot_file, default="two_layer_net.png",
                   help="PNG of accuracy and loss per epoch ('' for none; default: "
                        "two_layer_net.png)")
    p.add_argument("--save", type=output_file, default=None, metavar="PATH",
                   help="save the trained model's parameters to this .npz file")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    p.add_argument("--compile", action="store_true",
                   help="trace the loss once and replay it (mg.compile; same results)")
    add_threads_argument(p)
    args = p.parse_args(argv)
    defaults = DATASET_DEFAULTS[args.dataset]
    if args.optimizer is None:
        args.optimizer = defaults["optimizer"]
    tuned = TUNED.get((args.dataset, args.optimizer), {})
    if args.lr is None:
        args.lr = tuned.get("lr", defaults["lr"] if args.optimizer == defaults["optimizer"]
                            else DEFAULT_LR[args.optimizer])
    if args.iters is None:
        args.iters = tuned.get("iters", defaults["iters"])
    if args.hidden is None:
        args.hidden = defaults["hidden"]
    for key in ("iters", "batch_size", "hidden"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be at least 1")
    return args


def _test_files(spec: datasets.DatasetSpec, root: str | None) -> tuple[Path, Path]:
    """The test images and labels of `spec`, in `root` or the default search path."""
    for folder in datasets.search_dirs(spec, root):
        found = []
        for f in (spec.test_images, spec.test_labels):
            found += [folder / n for n in f.local_names if (folder / n).is_file()][:1]
        if len(found) == 2:
            return found[0], found[1]
    where = ", ".join(str(d) for d in datasets.search_dirs(spec, root))
    raise datasets.DatasetNotFoundError(
        f"{spec.title} test files ({spec.test_images.name}, {spec.test_labels.name}) not found "
        f"in: {where}")


def load_data(args: argparse.Namespace) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """(x_train, t_train), (x_test, t_test): images as float32 in [0, 1], integer labels."""
    if args.dataset == "digits":
        if args.split_test is not None:
            raise SystemExit("--split-test applies to mnist and fashion-mnist only")
        return datasets.load_digits()
    spec = datasets.MNIST if args.dataset == "mnist" else datasets.FASHION_MNIST
    if args.split_test is not None:
        try:
            images_path, labels_path = _test_files(spec, args.data_root)
        except datasets.DatasetNotFoundError as e:
            raise SystemExit(str(e)) from None
        x = datasets.read_idx(images_path, ndim=3).reshape(-1, 784).astype(np.float32) / 255.0
        t = datasets.read_idx(labels_path, ndim=1).astype(np.int64)
        n = args.split_test
        if not 0 < n < len(x):
            raise SystemExit(f"--split-test must be between 1 and {len(x) - 1}, got {n}")
        return (x[:n], t[:n]), (x[n:], t[n:])
    load = datasets.load_mnist if args.dataset == "mnist" else datasets.load_fashion_mnist
    download = args.download or args.data_root is None
    try:
        return load(root=args.data_root, download=download)
    except datasets.DatasetNotFoundError as e:
        raise SystemExit(f"{e}\nIf the folder holds only the test files (t10k-*), add "
                         "--split-test 8000 to train on part of the test set.") from None


def progress(total: int, enabled: bool) -> Any:
    """A tqdm bar over the iterations when tqdm is installed and wanted, else a plain range."""
    if enabled:
        try:
            from tqdm import tqdm
        except ImportError:
            pass
        else:
            return tqdm(range(total), desc="training", unit="it", leave=False,
                        file=sys.stderr, mininterval=0.5, disable=None)  # off when not a terminal
    return range(total)


def say(line: str, bar: Any) -> None:
    """Print a line without breaking the progress bar."""
    if hasattr(bar, "write"):
        bar.write(line, file=sys.stdout)
    else:
        print(line, flush=True)


def accuracy(network: TwoLayerNet, x: np.ndarray, t: np.ndarray, chunk: int = 10000) -> float:
    """network.accuracy over chunks of the data (bounded memory for 60,000 images)."""
    correct = 0.0
    for start in range(0, len(x), chunk):
        part = slice(start, start + chunk)
        correct += network.accuracy(x[part], t[part]) * len(x[part])
    return correct / len(x)


def plot(history: dict[str, list[float]], path: str, title: str) -> None:
    """Accuracy (train and test) and mean training loss per epoch, side by side."""
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history["train_acc"]) + 1)
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 4))
    ax_acc.plot(epochs, history["train_acc"], marker="o", markersize=3, label="train")
    ax_acc.plot(epochs, history["test_acc"], marker="s", markersize=3, linestyle="--",
                label="test")
    ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(0, 1.0), title="accuracy")
    ax_acc.legend(loc="lower right")
    ax_loss.plot(epochs, history["loss"], color="tab:red")
    ax_loss.set(xlabel="epoch", ylabel="mean training loss", title="loss")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    args = parse_args(argv)
    limit_blas_threads(args.threads)
    np.random.seed(args.seed)
    (x_train, t_train), (x_test, t_test) = load_data(args)
    train_size = x_train.shape[0]
    network = TwoLayerNet(input_size=x_train.shape[1], hidden_size=args.hidden, output_size=10,
                          weight_init_std=args.weight_init_std, activation=args.activation)
    optimizer = OPTIMIZERS[args.optimizer](network.parameters(), lr=args.lr)
    iter_per_epoch = max(train_size // args.batch_size, 1)
    print(f"{args.dataset}: {train_size} training, {x_test.shape[0]} test images; "
          f"TwoLayerNet({x_train.shape[1]}, {args.hidden}, 10, {args.activation}), "
          f"{args.optimizer} lr={args.lr}, {args.iters} iterations of batch {args.batch_size} "
          f"({iter_per_epoch} per epoch)", flush=True)

    if 0 < args.train_eval < train_size:
        subset = np.random.default_rng(args.seed).choice(train_size, args.train_eval,
                                                         replace=False)
        x_eval, t_eval = x_train[subset], t_train[subset]
    else:
        x_eval, t_eval = x_train, t_train

    loss_fn = mg.compile(network.loss) if args.compile else network.loss
    history: dict[str, list[float]] = {"train_acc": [], "test_acc": [], "loss": []}
    losses: list[float] = []
    start = time.perf_counter()
    bar = progress(args.iters, enabled=not args.no_progress)
    for i in bar:
        batch_mask = np.random.choice(train_size, args.batch_size)
        x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]

        loss = loss_fn(x_batch, t_batch)             # forward, recorded on the graph
        network.zero_grad()
        loss.backward()                              # the gradient of every parameter
        optimizer.step()                             # e.g. W -= lr * W.grad, in place
        losses.append(float(loss.data))

        last = i + 1 == args.iters
        if (i + 1) % iter_per_epoch == 0 or (last and losses):
            train_acc = accuracy(network, x_eval, t_eval)
            test_acc = accuracy(network, x_test, t_test)
            history["train_acc"].append(train_acc)
            history["test_acc"].append(test_acc)
            history["loss"].append(float(np.mean(losses)))
            epoch = len(history["train_acc"])
            say(f"epoch {epoch:3d}  loss {history['loss'][-1]:.4f}  "
                f"train acc {train_acc:.4f}  test acc {test_acc:.4f}", bar)
            losses = []
    if hasattr(bar, "close"):
        bar.close()
    elapsed = time.perf_counter() - start
    print(f"final train accuracy: {history['train_acc'][-1]:.4f}")
    print(f"final test accuracy: {history['test_acc'][-1]:.4f}")
    print(f"training time: {elapsed:.1f} s")
    if args.plot:
        try:
            plot(history, args.plot, f"TwoLayerNet on {args.dataset} ({args.optimizer})")
        except ImportError:
            print("matplotlib is not installed: no plot (pip install matplotlib)",
                  file=sys.stderr)
        else:
            print(f"plot written to {args.plot}")
    if args.save:
        network.save(args.save)
        print(f"parameters saved to {args.save}")
    return history


if __name__ == "__main__":
    main()
