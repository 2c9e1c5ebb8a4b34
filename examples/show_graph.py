"""Draw the graph behind a two-layer network's loss (the picture in the README).

    python examples/show_graph.py                 # writes two_layer_net_graph.svg here
    python examples/show_graph.py graph.png       # any .svg or .png path
    python examples/show_graph.py docs/two_layer_net_graph.svg    # the README's picture
    python examples/show_graph.py --dot           # print the DOT text instead (no Graphviz needed)
"""

import argparse
import os
import sys
from pathlib import Path

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[1]))   # also run from a checkout

import minigrad as mg
from minigrad.blas import add_threads_argument, limit_blas_threads
from minigrad.models import TwoLayerNet
from minigrad.viz import render, to_dot

DEFAULT = "two_layer_net_graph.svg"


def two_layer_net_loss() -> mg.Tensor:
    """The loss of the book's TwoLayerNet (784 -> 50 -> 10) on a batch of 100 images."""
    net = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, rng=0)  # W1 b1 W2 b2
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.random((100, 784)), name="x")
    t = mg.tensor(rng.integers(0, 10, size=100), name="t")
    loss = net.loss(x, t)
    loss.name = "loss"
    return loss


def picture_path(text: str) -> Path:
    """argparse type of the path: an .svg or .png file name in a folder that exists."""
    path = Path(text).expanduser()
    if path.suffix.lower() not in (".svg", ".png"):
        raise argparse.ArgumentTypeError(f"{text}: give a path ending in .svg or .png")
    folder = path.absolute().parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text}: the folder {folder} does not "
                                         "exist")
    if not os.access(folder, os.W_OK):
        raise argparse.ArgumentTypeError(f"cannot write {text}: the folder {folder} is not "
                                         "writable")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("path", nargs="?", type=picture_path, default=DEFAULT,
                        help=f"where to write the picture, .svg or .png (default: {DEFAULT} in "
                             "the current folder)")
    parser.add_argument("--dot", action="store_true",
                        help="print the Graphviz DOT text instead of drawing a picture")
    add_threads_argument(parser)
    args = parser.parse_args(argv)
    limit_blas_threads(args.threads)

    loss = two_layer_net_loss()
    if args.dot:
        print(to_dot(loss), end="")
    else:
        print("wrote", render(loss, args.path))


if __name__ == "__main__":
    main()
