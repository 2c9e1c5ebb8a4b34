"""The book's gradient check: TwoLayerNet's backprop against its numerical gradient.

For the chapter-4 network (sigmoid) and the chapter-5 network (ReLU), on
three digit images: the mean absolute difference per parameter, printed as
the book does. Backprop here is one backward() over minigrad's graph.

    python examples/gradient_check.py [--activation sigmoid|relu|both]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[1]))   # also run from a checkout

from minigrad.blas import add_threads_argument, limit_blas_threads
from minigrad.datasets import load_digits
from minigrad.models import TwoLayerNet


def check(activation: str, x_batch: np.ndarray, t_batch: np.ndarray,
          seed: int) -> dict[str, float]:
    """Mean |backprop - numerical| for each parameter of a fresh TwoLayerNet."""
    network = TwoLayerNet(input_size=x_batch.shape[1], hidden_size=50, output_size=10,
                          activation=activation, rng=seed)
    grad_numerical = network.numerical_gradient(x_batch, t_batch)
    grad_backprop = network.gradient(x_batch, t_batch)
    return {key: float(np.average(np.abs(grad_backprop[key] - grad_numerical[key])))
            for key in grad_numerical}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="TwoLayerNet: backprop vs numerical gradient")
    parser.add_argument("--activation", choices=["sigmoid", "relu", "both"], default="both")
    parser.add_argument("--seed", type=int, default=0)
    add_threads_argument(parser)
    args = parser.parse_args(argv)
    limit_blas_threads(args.threads)
    (x_train, t_train), _ = load_digits(one_hot_label=True)
    x_batch, t_batch = x_train[:3], t_train[:3]
    activations = ["sigmoid", "relu"] if args.activation == "both" else [args.activation]
    for activation in activations:
        print(f"TwoLayerNet(64, 50, 10, activation={activation!r}):")
        for key, diff in check(activation, x_batch, t_batch, args.seed).items():
            print(f"{key}:{diff}")
        if activation == "relu":
            print("(ReLU has a kink at 0: where a hidden unit's input lies within the\n"
                  " finite-difference step of 0, the numerical gradient straddles it,\n"
                  " so W1 and b1 may differ by more than the smooth parameters do.)")


if __name__ == "__main__":
    main()
