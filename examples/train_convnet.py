"""Train the book's SimpleConvNet (chapter 7) on the graph: conv → ReLU → pool → Affine × 2.

Each iteration draws a mini-batch, computes the loss, backpropagates
through the graph (convolution and pooling included) and updates the
parameters with a minigrad.optim optimizer. Once per epoch it prints the
accuracy on the training and test sets.

    python examples/train_convnet.py                          # 8x8 digits, offline, seconds
    python examples/train_convnet.py --dataset mnist \\
        --data-root ../shared/data/mnist --split-test 8000    # only the 10k test set there
    python examples/train_convnet.py --dataset fashion-mnist  # Debian's dataset-fashion-mnist

Writes a PNG of accuracy and loss per epoch (--plot) and a picture of the
first layer's filters before and after training (--filters-plot), as the
book shows them; shows a progress bar on a terminal when tqdm is installed.
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
from minigrad.models import SimpleConvNet

OPTIMIZERS = {"sgd": optim.SGD, "momentum": optim.Momentum, "adagrad": optim.AdaGrad,
              "rmsprop": optim.RMSprop, "adam": optim.Adam}

# Defaults that depend on the dataset (each reaches its target accuracy; see docs/convnets.md).
DATASET_DEFAULTS: dict[str, dict[str, Any]] = {
    "digits": {"filter_size": 3, "pad": 1, "epochs": 20, "batch_size": 50, "lr": 0.01},
    "mnist": {"filter_size": 5, "pad": 0, "epochs": 12, "batch_size": 100, "lr": 0.001},
    "fashion-mnist": {"filter_size": 5, "pad": 0, "epochs": 10, "batch_size": 100,
                      "lr": 0.001},
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter,
                                epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    p.add_argument("--dataset", choices=sorted(DATASET_DEFAULTS), default="digits",
                   help="default: digits, which needs no files and no network (it ships "
                        "with scikit-learn)")
    p.add_argument("--data-root", default=None,
                   help="folder holding the MNIST/Fashion-MNIST IDX files (else the default "
                        "search path of minigrad.datasets)")
    p.add_argument("--download", action="store_true",
                   help="download missing files into --data-root")
    p.add_argument("--split-test", type=int, default=None, metavar="N",
                   help="use only the official test set: train on its first N images and test "
                        "on the rest (for a folder holding only the t10k files)")
    p.add_argument("--epochs", type=int, default=None, help="default: per dataset")
    p.add_argument("--batch-size", type=int, default=None, help="default: per dataset")
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), default="adam",
                   help="default: adam (as the book trains SimpleConvNet)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: per dataset)")
    p.add_argument("--filters", type=int, default=30, help="filters of the convolution "
                   "(default: the book's 30)")
    p.add_argument("--filter-size", type=int, default=None,
                   help="default: 5 (the book's), 3 on the 8x8 digits")
    p.add_argument("--pad", type=int, default=None, help="default: 0, 1 on the digits")
    p.add_argument("--hidden", type=int, default=100, help="hidden units (default: 100)")
    p.add_argument("--weight-init-std", type=float, default=0.01,
                   help="std of the initial weights (default: the book's 0.01)")
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                   help="default: float32 (twice as fast, as accurate here)")
    p.add_argument("--seed", type=int, default=0, help="default: 0")
    p.add_argument("--train-eval", type=int, default=10000, metavar="N",
                   help="measure training accuracy on a fixed random N training images "
                        "(0: all of them; default: 10000)")
    p.add_argument("--plot", default="convnet.png",
                   help="PNG of accuracy and loss per epoch ('' for none; default: convnet.png)")
    p.add_argument("--filters-plot", default="convnet_filters.png",
                   help="PNG of the first layer's filters before and after training ('' for "
                        "none; default: convnet_filters.png)")
    p.add_argument("--save", default=None, metavar="PATH",
                   help="save the trained parameters to this .npz file (save_params)")
    p.add_argument("--no-progress", action="store_true", help="no tqdm progress bar")
    p.add_argument("--compile", action="store_true",
                   help="trace the loss once and replay it (mg.compile; same results)")
    add_threads_argument(p)
    args = p.parse_args(argv)
    for key, value in DATASET_DEFAULTS[args.dataset].items():
        if getattr(args, key) is None:
            setattr(args, key, value)
    for key in ("epochs", "batch_size", "filters", "filter_size", "hidden"):
        if getattr(args, key) < 1:
            p.error(f"--{key.replace('_', '-')} must be at least 1")
    if args.pad < 0:
        p.error("--pad must be at least 0")
    return args


def _test_files(spec: datasets.DatasetSpec, root: str | None) -> tuple[Path, Path]:
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
    """(x_train, t_train), (x_test, t_test): images (N, 1, H, W) float32 in [0, 1], labels."""
    if args.dataset == "digits":
        if args.split_test is not None:
            raise SystemExit("--split-test applies to mnist and fashion-mnist only")
        return datasets.load_digits(flatten=False)
    spec = datasets.MNIST if args.dataset == "mnist" else datasets.FASHION_MNIST
    if args.split_test is not None:
        try:
            images_path, labels_path = _test_files(spec, args.data_root)
        except datasets.DatasetNotFoundError as e:
            raise SystemExit(str(e)) from None
        x = datasets.read_idx(images_path, ndim=3)[:, None].astype(np.float32) / 255.0
        t = datasets.read_idx(labels_path, ndim=1).astype(np.int64)
        n = args.split_test
        if not 0 < n < len(x):
            raise SystemExit(f"--split-test must be between 1 and {len(x) - 1}, got {n}")
        return (x[:n], t[:n]), (x[n:], t[n:])
    load = datasets.load_mnist if args.dataset == "mnist" else datasets.load_fashion_mnist
    try:
        return load(flatten=False, root=args.data_root,
                    download=args.download or args.data_root is None)
    except datasets.DatasetNotFoundError as e:
        raise SystemExit(f"{e}\nIf the folder holds only the test files (t10k-*), add "
                         "--split-test 8000 to train on part of the test set.") from None


def progress(total: int, enabled: bool) -> Any:
    """A tqdm bar over the iterations on a terminal when tqdm is installed, else a range."""
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


def _pyplot() -> Any:
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(history: dict[str, list[float]], path: str, title: str) -> None:
    """Accuracy (train and test) and mean training loss per epoch, side by side."""
    plt = _pyplot()
    epochs = np.arange(1, len(history["train_acc"]) + 1)
    fig, (ax_acc, ax_loss) = plt.subplots(1, 2, figsize=(10, 4))
    ax_acc.plot(epochs, history["train_acc"], marker="o", markersize=3, label="train")
    ax_acc.plot(epochs, history["test_acc"], marker="s", markersize=3, linestyle="--",
                label="test")
    low = min(history["train_acc"] + history["test_acc"])
    ax_acc.set(xlabel="epoch", ylabel="accuracy", ylim=(min(0.8, low - 0.02), 1.0),
               title="accuracy")
    ax_acc.legend(loc="lower right")
    ax_loss.plot(epochs, history["loss"], color="tab:red")
    ax_loss.set(xlabel="epoch", ylabel="mean training loss", title="loss")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_filters(before: np.ndarray, after: np.ndarray, path: str) -> None:
    """The first layer's filters (first input channel), before and after training.

    Each filter is scaled to its own range, dark for low weights and light
    for high ones, as the book pictures them.
    """
    plt = _pyplot()
    count = before.shape[0]
    cols = min(count, 10)
    rows = -(-count // cols)
    fig = plt.figure(figsize=(cols * 0.9, 2 * rows * 0.9 + 0.9))
    figures = fig.subfigures(2, 1)
    for sub, weights, title in zip(figures, (before, after), ("before training",
                                                             "after training")):
        sub.suptitle(title)
        axes = np.atleast_1d(sub.subplots(rows, cols)).ravel()
        for ax in axes:
            ax.axis("off")
        for ax, w in zip(axes, weights[:, 0]):
            ax.imshow(w, cmap="gray", interpolation="nearest")
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    args = parse_args(argv)
    limit_blas_threads(args.threads)
    np.random.seed(args.seed)
    dtype = np.dtype(args.dtype)
    (x_train, t_train), (x_test, t_test) = load_data(args)
    x_train, x_test = x_train.astype(dtype, copy=False), x_test.astype(dtype, copy=False)
    train_size = x_train.shape[0]
    conv_param = {"filter_num": args.filters, "filter_size": args.filter_size,
                  "pad": args.pad, "stride": 1}
    try:
        network = SimpleConvNet(input_dim=x_train.shape[1:], conv_param=conv_param,
                                hidden_size=args.hidden, output_size=10,
                                weight_init_std=args.weight_init_std).to(dtype)
    except ValueError as e:
        raise SystemExit(str(e)) from None
    optimizer = OPTIMIZERS[args.optimizer](network.parameters(), lr=args.lr)
    iter_per_epoch = max(train_size // args.batch_size, 1)
    iters = args.epochs * iter_per_epoch
    print(f"{args.dataset}: {train_size} training, {x_test.shape[0]} test images of "
          f"{'x'.join(map(str, x_train.shape[1:]))}; SimpleConvNet({args.filters} "
          f"{args.filter_size}x{args.filter_size} filters, pad {args.pad}, hidden "
          f"{args.hidden}), {args.optimizer} lr={args.lr}, {args.epochs} epochs of "
          f"{iter_per_epoch} batches of {args.batch_size}, {dtype.name}", flush=True)

    if 0 < args.train_eval < train_size:
        subset = np.random.default_rng(args.seed).choice(train_size, args.train_eval,
                                                         replace=False)
        x_eval, t_eval = x_train[subset], t_train[subset]
    else:
        x_eval, t_eval = x_train, t_train

    filters_before = network.params["W1"].copy()
    loss_fn = mg.compile(network.loss) if args.compile else network.loss
    history: dict[str, list[float]] = {"train_acc": [], "test_acc": [], "loss": []}
    losses: list[float] = []
    start, cpu_start = time.perf_counter(), time.process_time()
    bar = progress(iters, enabled=not args.no_progress)
    for i in bar:
        batch_mask = np.random.choice(train_size, args.batch_size)
        x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]

        loss = loss_fn(x_batch, t_batch)             # forward, recorded on the graph
        network.zero_grad()
        loss.backward()                              # through pooling and convolution
        optimizer.step()
        losses.append(float(loss.data))

        if (i + 1) % iter_per_epoch == 0:
            train_acc = network.accuracy(x_eval, t_eval, batch_size=500)
            test_acc = network.accuracy(x_test, t_test, batch_size=500)
            history["train_acc"].append(train_acc)
            history["test_acc"].append(test_acc)
            history["loss"].append(float(np.mean(losses)))
            say(f"epoch {len(history['loss']):3d}  loss {history['loss'][-1]:.4f}  "
                f"train acc {train_acc:.4f}  test acc {test_acc:.4f}", bar)
            losses = []
    if hasattr(bar, "close"):
        bar.close()
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    print(f"final train accuracy: {history['train_acc'][-1]:.4f}")
    print(f"final test accuracy: {history['test_acc'][-1]:.4f}")
    print(f"training time: {elapsed:.1f} s ({cpu:.1f} s of CPU time)")
    def draw_curves(p: str) -> None:
        plot(history, p, f"SimpleConvNet on {args.dataset} ({args.optimizer})")

    def draw_filters(p: str) -> None:
        plot_filters(filters_before, network.params["W1"], p)

    for path, draw in ((args.plot, draw_curves), (args.filters_plot, draw_filters)):
        if not path:
            continue
        try:
            draw(path)
        except ImportError:
            print("matplotlib is not installed: no plot (pip install matplotlib)",
                  file=sys.stderr)
            break
        print(f"plot written to {path}")
    if args.save:
        network.save_params(args.save)
        print(f"parameters saved to {args.save}")
    return history


if __name__ == "__main__":
    main()
