"""Per-op overhead: forward + backward of long chains and wide sums of tiny tensors.

Reports microseconds per op (forward and backward together) for minigrad and,
when installed, PyTorch on the same graphs; and what anomaly mode costs when off.
"""

from __future__ import annotations

import argparse
import timeit

import numpy as np
from _harness import interleaved, machine, median, parse_args, status, table, torch_or_none

import minigrad as mg
from minigrad import modes

TARGET_US = 3.0


# Each graph is written once, for any library whose tensors have * + .sin() .sum()
# .backward() and .grad; `leaf(shape, value)` makes a tensor that requires grad.

def chain(leaf, shape, n):
    def run():
        y = leaf(shape, 1.0)
        for _ in range(n):
            y = y * 1.0001
        y.sum().backward()
    return run


def chain_pair(leaf, shape, n):
    w = leaf(shape, 1.0001)

    def run():
        y = leaf(shape, 1.0)
        for _ in range(n // 2):
            y = (y * w).sin()
        y.sum().backward()
        w.grad = None
    return run


def wide(leaf, shape, n):
    xs = [leaf(shape, 1.0) for _ in range(n // 2)]

    def run():
        total = xs[0] * 1.0
        for x in xs[1:]:
            total = total + x
        total.sum().backward()
        for x in xs:
            x.grad = None
    return run


def minigrad_leaf(shape, value):
    return mg.tensor(np.full(shape, value), requires_grad=True)


def torch_leaf(torch):
    return lambda shape, value: torch.full(shape, value, dtype=torch.float64,
                                           requires_grad=True)


def main(quick: bool = False) -> list[str]:
    n = 1000 if quick else 4000
    rounds = 5 if quick else 15
    torch = torch_or_none()
    rows = []
    worst = 0.0
    for graph, make in [("chain y*c", chain), ("chain sin(y*w)", chain_pair), ("wide sum", wide)]:
        for shape in [(), (4, 4)]:
            contenders = {"minigrad": make(minigrad_leaf, shape, n)}
            if torch is not None:
                contenders["torch"] = make(torch_leaf(torch), shape, n)
            times = interleaved(contenders, rounds)
            us = {k: median(v) / n * 1e6 for k, v in times.items()}
            worst = max(worst, us["minigrad"])
            rows.append([graph, str(shape), f"{us['minigrad']:.2f}",
                         f"{us['torch']:.2f}" if "torch" in us else "-",
                         f"{us['torch'] / us['minigrad']:.2f}x" if "torch" in us else "-"])

    # anomaly mode: off is one integer test per op
    run = chain(minigrad_leaf, (4, 4), n)

    def with_anomaly():
        with mg.detect_anomaly():
            run()

    times = interleaved({"off": run, "on": with_anomaly}, rounds)
    off, on = (median(times[k]) / n * 1e6 for k in ("off", "on"))
    # What "off" costs: the engine tests one module attribute, twice in an op's forward
    # and once in its backward.
    check = min(timeit.repeat("if modes.anomaly_depth: pass\nif modes.anomaly_depth: pass\n"
                              "if modes.anomaly_depth: pass", globals={"modes": modes},
                              number=100_000, repeat=5)) / 100_000 * 1e9

    out = ["## Per-op overhead (forward + backward, µs per op)", "",
           table(["graph", "shape", "minigrad µs/op", "torch µs/op", "torch / minigrad"], rows),
           "",
           f"Target ≤ {TARGET_US} µs per op: worst {worst:.2f} µs — {status(worst <= TARGET_US)}",
           f"Anomaly mode on the 4x4 chain: off {off:.2f} µs/op, on {on:.2f} µs/op; when off, "
           f"its checks cost {check:.0f} ns per op ({check / 10 / off:.1f}% of an op)",
           f"({n} ops per graph, median of {rounds} interleaved rounds; {machine()})"]
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print("\n".join(main(parse_args(parser).quick)))
