"""A loss of your own, written as an expression: the Huber loss.

    huber(r) = r²/2             where |r| <= delta
             = delta·(|r| − delta/2)   elsewhere,    r = y − t, mean over elements

It is written with minigrad's ops only, so backward() comes for free. The
script checks that gradient against finite differences with `gradcheck`,
runs a hypothesis property over random inputs (when hypothesis is
installed), and then trains a line on data with gross outliers: fitted
with mean squared error it is pulled towards them, with Huber it is not.

    python examples/custom_loss.py
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.append(str(Path(__file__).resolve().parents[1]))   # also run from a checkout

import minigrad as mg
from minigrad import nn, optim
from minigrad.blas import add_threads_argument, limit_blas_threads
from minigrad.gradcheck import gradcheck, gradgradcheck


def huber_loss(y: mg.Tensor, t: np.ndarray | float, delta: float = 1.0) -> mg.Tensor:
    """Mean Huber loss of predictions y against targets t: quadratic near 0, linear beyond delta."""
    r = y - t
    a = mg.abs(r)
    return mg.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta)).mean()


def mse_loss(y: mg.Tensor, t: np.ndarray | float) -> mg.Tensor:
    """Mean squared error, for comparison."""
    r = y - t
    return (r * r).mean()


def check_gradient(seed: int = 0) -> None:
    """gradcheck and gradgradcheck of huber_loss at random points off the kinks |r| = delta."""
    rng = np.random.default_rng(seed)
    y = rng.uniform(-3, 3, size=(5, 2))
    t = rng.uniform(-3, 3, size=(5, 2))
    keep = np.abs(np.abs(y - t) - 1.0) > 0.05        # finite differences must not straddle it
    t = np.where(keep, t, t + 0.2)
    inputs = [mg.Tensor(y, requires_grad=True), mg.Tensor(t, requires_grad=True)]
    assert gradcheck(huber_loss, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)
    assert gradgradcheck(huber_loss, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)
    print("gradcheck: the first and second derivatives of huber_loss match finite differences")


def check_property(max_examples: int = 30) -> bool:
    """Hypothesis: on any bounded inputs, the gradient checks out, and the loss is never above
    the squared error's r²/2 and its gradient never above delta/N in size (robustness)."""
    try:
        from hypothesis import given, settings
        from hypothesis import strategies as st

        from minigrad.testing import assert_gradcheck, grad_arrays
    except ImportError:
        print("hypothesis is not installed: property check skipped (pip install hypothesis)")
        return False

    @settings(max_examples=max_examples, deadline=None, database=None)
    @given(r=grad_arrays(st.sampled_from([(3,), (2, 4)]), min_value=-4, max_value=4,
                         avoid=(-1.0, 1.0), margin=0.01),
           delta=st.sampled_from([0.5, 1.0, 2.0]))
    def prop(r: np.ndarray, delta: float) -> None:
        if delta != 1.0:                 # the strategy keeps r away from ±1; move it to ±delta
            r = r * delta
        assert_gradcheck(lambda x: huber_loss(x, 0.0, delta), r, atol=1e-7, rtol=1e-5)
        x = mg.Tensor(r, requires_grad=True)
        loss = huber_loss(x, 0.0, delta)
        loss.backward()
        assert loss.item() <= 0.5 * np.mean(r * r) + 1e-12
        assert x.grad is not None and np.all(np.abs(x.grad.data) <= delta / r.size + 1e-12)

    prop()
    print(f"hypothesis: the property held on {max_examples} random examples")
    return True


def make_data(rng: np.random.Generator, n: int = 200) -> tuple[np.ndarray, np.ndarray]:
    """Points on y = 2x + 1 with a little noise, 10% of them thrown far off."""
    x = rng.uniform(-2, 2, size=(n, 1))
    y = 2 * x + 1 + 0.1 * rng.standard_normal((n, 1))
    outliers = rng.choice(n, n // 10, replace=False)
    y[outliers] += 20.0
    return x, y


def fit(loss_fn: Any, x: np.ndarray, y: np.ndarray, steps: int = 1000,
        lr: float = 0.1, compiled: bool = False) -> tuple[float, float]:
    """Fit y ≈ w·x + b by full-batch gradient descent on loss_fn; returns (w, b).
    With `compiled`, the loss is traced once and replayed (mg.compile)."""
    model = nn.Linear(1, 1, weight_init=0.0)
    opt = optim.SGD(model.parameters(), lr=lr)

    def objective(x: np.ndarray, y: np.ndarray) -> mg.Tensor:
        return loss_fn(model(x), y)  # type: ignore[no-any-return]

    step = mg.compile(objective) if compiled else objective
    for _ in range(steps):
        loss = step(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert model.b is not None                     # nn.Linear has a bias unless told otherwise
    return float(model.W.data[0, 0]), float(model.b.data[0])


def main(argv: list[str] | None = None) -> dict[str, tuple[float, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the random data and gradient-check points (default: 0)")
    parser.add_argument("--examples", type=int, default=30, metavar="N",
                        help="random examples for the hypothesis property (default: 30)")
    parser.add_argument("--compile", action="store_true",
                        help="trace each loss once and replay it (mg.compile; same results)")
    add_threads_argument(parser)
    args = parser.parse_args(argv)
    limit_blas_threads(args.threads)
    if args.examples < 1:
        parser.error("--examples must be at least 1")
    check_gradient(args.seed)
    check_property(args.examples)
    x, y = make_data(np.random.default_rng(args.seed))
    print("fitting y = w·x + b to 200 points of y = 2x + 1, 20 of them moved up by 20:")
    fits = {"mse": fit(mse_loss, x, y, compiled=args.compile),
            "huber": fit(huber_loss, x, y, compiled=args.compile)}
    for name, (w, b) in fits.items():
        print(f"  {name:5s}: w = {w:.3f}, b = {b:.3f}")
    return fits


if __name__ == "__main__":
    main()
