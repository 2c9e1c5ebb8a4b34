"""A custom loss written as an expression, its gradients by backward(), checked by gradcheck.

The README's custom loss, as a script:

    python examples/quickstart.py
"""

import argparse

import numpy as np

import minigrad as mg
from minigrad.blas import add_threads_argument, limit_blas_threads
from minigrad.gradcheck import gradcheck


def huber(pred: mg.Tensor, target: np.ndarray | float, delta: float = 1.0) -> mg.Tensor:
    r = pred - target
    return mg.where(abs(r) <= delta, 0.5 * r ** 2, delta * (abs(r) - 0.5 * delta)).mean()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0, help="seed of the random data (default: 0)")
    add_threads_argument(parser)
    args = parser.parse_args(argv)
    limit_blas_threads(args.threads)

    rng = np.random.default_rng(args.seed)
    x, y = rng.standard_normal((8, 3)), rng.standard_normal(8)
    w = mg.tensor(rng.standard_normal(3), requires_grad=True)

    loss = huber(x @ w, y)
    loss.backward()
    print("loss", loss.item())
    print("dloss/dw", w.grad)
    print("gradcheck", gradcheck(lambda w: huber(x @ w, y), [w]))


if __name__ == "__main__":
    main()
