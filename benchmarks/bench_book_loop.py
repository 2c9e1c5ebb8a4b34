"""The book's chapter-5 loop with and without its loss list: time per step and memory.

`train_neuralnet.py` computes `loss = network.loss(x_batch, t_batch)` after each update
and appends it to `train_loss_list`. 784-50-10 TwoLayerNet, batch 100, SGD lr 0.1,
MNIST-shaped data. Memory: each variant runs 10,000 steps in a process of its own,
and reports how much its peak RSS grew after a warm-up of 100 steps (target < 50 MB).
Speed: both variants in one process, in interleaved rounds of 100 steps each, the list
growing as in the book (target: with the list ≤ 1.05× without).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys

import numpy as np
from _harness import interleaved, machine, median, parse_args, status, table

from minigrad.models import TwoLayerNet

STEPS = 10_000
WARMUP = 100
ROUND = 100
GROWTH_TARGET_MB = 50.0
SPEED_TARGET = 1.05


def book_loop(seed: int = 0) -> tuple[TwoLayerNet, object]:
    """A network and `run(steps, keep)`: the book's loop, appending losses to `keep`."""
    rng = np.random.default_rng(seed)
    x_train = rng.random((10_000, 784))
    t_train = np.eye(10)[rng.integers(0, 10, 10_000)]
    network = TwoLayerNet(input_size=784, hidden_size=50, output_size=10, rng=seed)

    def run(steps: int, keep: list[object] | None) -> None:
        for _ in range(steps):
            batch_mask = np.random.choice(x_train.shape[0], 100)
            x_batch, t_batch = x_train[batch_mask], t_train[batch_mask]
            grad = network.gradient(x_batch, t_batch)
            for key in ("W1", "b1", "W2", "b2"):
                network.params[key] -= 0.1 * grad[key]
            loss = network.loss(x_batch, t_batch)
            if keep is not None:
                keep.append(loss)

    return network, run


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024     # KiB on Linux


def memory_worker(keep_list: bool, steps: int) -> dict[str, float]:
    """This process's peak RSS growth over `steps` steps of the loop, after a warm-up."""
    _, run = book_loop()
    train_loss_list: list[object] = []
    keep = train_loss_list if keep_list else None
    run(WARMUP, keep)
    before = _peak_rss_mb()
    run(steps, keep)
    if keep_list:
        assert np.asarray(train_loss_list).shape == (WARMUP + steps,)    # it plots
    return {"grown_mb": _peak_rss_mb() - before}


def memory(keep_list: bool, steps: int) -> float:
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
    result = subprocess.run([sys.executable, __file__, "--worker",
                             "with" if keep_list else "without", "--steps", str(steps)],
                            capture_output=True, text=True, env=env, check=True)
    return float(json.loads(result.stdout.splitlines()[-1])["grown_mb"])


def main(quick: bool = False) -> list[str]:
    steps = 1_000 if quick else STEPS
    growth = {"with the list": memory(True, steps), "without the list": memory(False, steps)}
    kept: list[object] = []
    _, with_list = book_loop(1)
    _, without_list = book_loop(2)
    times = interleaved({"with the list": lambda: with_list(ROUND, kept),
                         "without the list": lambda: without_list(ROUND, None)},
                        rounds=steps // ROUND, warmup=1)
    speed = {name: 1e6 * median(t) / ROUND for name, t in times.items()}
    rows = [[name, f"{speed[name]:.0f}", f"{growth[name]:.1f}"] for name in growth]
    ratio = speed["with the list"] / speed["without the list"]
    worst = growth["with the list"]
    return [f"## The book's loop and its loss list ({steps:,} steps)", "",
            table(["loop", "µs per step", "peak RSS growth, MB"], rows), "",
            f"Target: peak RSS growth < {GROWTH_TARGET_MB:.0f} MB with the list: "
            f"{worst:.1f} MB — {status(worst < GROWTH_TARGET_MB)}; time per step with / "
            f"without the list {ratio:.2f}× (target ≤ {SPEED_TARGET}) — "
            f"{status(ratio <= SPEED_TARGET)}",
            f"(speed: median of {steps // ROUND} interleaved rounds of {ROUND} steps; "
            f"{machine()})"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1,000 steps instead of 10,000")
    parser.add_argument("--steps", type=int, default=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--worker", choices=["with", "without"], help=argparse.SUPPRESS)
    args = parse_args(parser)
    if args.worker:
        print(json.dumps(memory_worker(args.worker == "with", args.steps)))
    else:
        print("\n".join(main(args.quick)))
