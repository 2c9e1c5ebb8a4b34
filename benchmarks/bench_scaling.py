"""Scaling: time per node of forward + backward for chains and fan-in graphs of 10^3 … 10^6 nodes.

t(2N)/t(N) near 2 means linear time. Backward runs with a recursion limit of
100, so it is shown not to recurse.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time

from _harness import machine, parse_args, status, table

import minigrad as mg

TARGET_RATIO = 2.2


def chain(n: int) -> float:
    x = mg.tensor(1.0, requires_grad=True)
    start = time.perf_counter()
    y = x
    for _ in range(n):
        y = y * 1.0000001
    _backward_without_recursion(y)
    return time.perf_counter() - start


def fan_in(n: int) -> float:
    """A tree of additions over n leaves: every node has two inputs."""
    leaves = [mg.tensor(1.0, requires_grad=True) for _ in range(n)]
    start = time.perf_counter()
    level = leaves
    while len(level) > 1:
        level = [level[i] + level[i + 1] if i + 1 < len(level) else level[i]
                 for i in range(0, len(level), 2)]
    _backward_without_recursion(level[0])
    return time.perf_counter() - start


def _backward_without_recursion(y: mg.Tensor) -> None:
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(100)
    try:
        y.backward()
    finally:
        sys.setrecursionlimit(limit)


def main(quick: bool = False) -> list[str]:
    sizes = [10 ** 3, 2 * 10 ** 3, 10 ** 4, 2 * 10 ** 4, 10 ** 5, 2 * 10 ** 5]
    if not quick:
        sizes += [10 ** 6, 2 * 10 ** 6]
    rows = []
    worst = 0.0
    for name, fn in [("chain", chain), ("fan-in tree", fan_in)]:
        times = {}
        for n in sizes:
            gc.collect()
            times[n] = min(fn(n) for _ in range(3 if n <= 10 ** 5 else 1))
        for n in sizes:
            if 2 * n in times:
                ratio = times[2 * n] / times[n]
                if n >= 10 ** 4:               # tiny graphs are noise
                    worst = max(worst, ratio)
                rows.append([name, f"{n:,}", f"{times[n] / n * 1e6:.2f}",
                             f"{times[2 * n] / (2 * n) * 1e6:.2f}", f"{ratio:.2f}"])
    return ["## Scaling (forward + backward)", "",
            table(["graph", "N", "µs/node at N", "µs/node at 2N", "t(2N)/t(N)"], rows), "",
            f"Target t(2N)/t(N) ≤ {TARGET_RATIO} (N ≥ 10^4): worst {worst:.2f} — "
            f"{status(worst <= TARGET_RATIO)}; backward ran with a recursion limit of 100",
            f"({machine()})"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print("\n".join(main(parse_args(parser).quick)))
