"""Draw the graph behind a two-layer network's loss (the picture in the README).

    python examples/show_graph.py                 # writes docs/two_layer_net_graph.svg
    python examples/show_graph.py graph.png       # any .svg or .png path
    python examples/show_graph.py --dot           # print the DOT text instead (no Graphviz needed)
"""

import argparse
from pathlib import Path

import numpy as np

import minigrad as mg
from minigrad.models import TwoLayerNet
from minigrad.viz import render, to_dot

DEFAULT = Path(__file__).resolve().parent.parent / "docs" / "two_layer_net_graph.svg"


def two_layer_net_loss() -> mg.Tensor:
    """The loss of the book's TwoLayerNet (784 -> 50 -> 10) on a batch of 100 images."""
    net = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, rng=0)  # W1 b1 W2 b2
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.random((100, 784)), name="x")
    t = mg.tensor(rng.integers(0, 10, size=100), name="t")
    loss = net.loss(x, t)
    loss.name = "loss"
    return loss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT,
                        help=f"where to write the picture, .svg or .png (default: {DEFAULT.name} "
                             "in docs/)")
    parser.add_argument("--dot", action="store_true",
                        help="print the Graphviz DOT text instead of drawing a picture")
    args = parser.parse_args()

    loss = two_layer_net_loss()
    if args.dot:
        print(to_dot(loss), end="")
    else:
        print("wrote", render(loss, args.path))


if __name__ == "__main__":
    main()
