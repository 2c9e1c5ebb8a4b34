"""Gradients as in the book's chapter 4, by finite differences and by backward().

1. numerical_gradient of f(x0, x1) = x0² + x1² at (3, 4), (0, 2) and (3, 0);
2. gradient descent on f from (-3, 4);
3. the book's simpleNet (one 2x3 weight matrix, softmax, cross-entropy):
   dL/dW by numerical_gradient and by one backward() over the graph, side by side.

    python examples/gradient_basics.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[1]))   # also run from a checkout

import minigrad as mg
import minigrad.functional as F
from minigrad.blas import add_threads_argument, limit_blas_threads
from minigrad.gradcheck import gradient_descent, numerical_gradient


def function_2(x: np.ndarray) -> float:
    """The book's f(x0, x1) = x0² + x1²."""
    return float(np.sum(x ** 2))


class SimpleNet:
    """The book's simpleNet: scores x @ W, loss cross_entropy_error(softmax(scores), t)."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.W = mg.Tensor(rng.standard_normal((2, 3)), requires_grad=True)

    def predict(self, x: np.ndarray) -> mg.Tensor:
        return mg.matmul(x, self.W)

    def loss(self, x: np.ndarray, t: np.ndarray) -> mg.Tensor:
        return F.cross_entropy_error(F.softmax(self.predict(x)), t)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_threads_argument(parser)
    limit_blas_threads(parser.parse_args(argv).threads)
    np.set_printoptions(precision=6, suppress=True)
    print("1. numerical gradient of x0² + x1²")
    for point in ([3.0, 4.0], [0.0, 2.0], [3.0, 0.0]):
        x = np.array(point)
        g_num = numerical_gradient(function_2, x)
        xt = mg.tensor(point, requires_grad=True)
        (xt ** 2).sum().backward()
        assert xt.grad is not None
        print(f"   at {tuple(point)}: numerical {g_num}, backward {xt.grad.data}")

    print("2. gradient descent from (-3, 4), lr=0.1, 100 steps")
    x = gradient_descent(function_2, init_x=np.array([-3.0, 4.0]), lr=0.1, step_num=100)
    print(f"   reached ({x[0]:.3e}, {x[1]:.3e})  (the minimum is at (0, 0))")

    print("3. simpleNet: dL/dW")
    net = SimpleNet(np.random.default_rng(0))
    x = np.array([0.6, 0.9])
    t = np.array([0, 0, 1])
    loss = net.loss(x, t)
    print(f"   scores {net.predict(x).data}, argmax {int(np.argmax(net.predict(x).data))}, "
          f"loss {loss.item():.6f}")
    with mg.no_grad():
        dW_numerical = numerical_gradient(lambda W: net.loss(x, t), net.W)
    loss.backward()
    assert net.W.grad is not None
    dW_backward = net.W.grad.data
    print("   numerical:              backward:")
    for row_n, row_b in zip(dW_numerical, dW_backward, strict=True):
        print(f"   {np.array2string(row_n):24s} {np.array2string(row_b)}")
    print(f"   max |difference| = {np.max(np.abs(dW_numerical - dW_backward)):.2e}")


if __name__ == "__main__":
    main()
