"""Memory of a training step (784-100-10 TwoLayerNet, batch 100), traced with tracemalloc.

Peak memory above the baseline (parameters and data) during one step,
minigrad against the book's hand-written numpy; and minigrad's memory after
backward() (the graph's saved arrays released, only the gradients left) and
after the gradients and the loss are dropped (back to the baseline).
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

import numpy as np
from _harness import machine, parse_args, status, table
from bench_step import IN, LR, OUT, book_step, setup

from minigrad.models import TwoLayerNet

TARGET = 1.3


def measure(fn) -> tuple[int, int]:
    """(peak, remaining) bytes allocated by fn above what was allocated before."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = fn()
        now, peak = tracemalloc.get_traced_memory()
        del result
        return peak - before, now - before
    finally:
        tracemalloc.stop()


def measure_minigrad(x: np.ndarray, t: np.ndarray, init: dict) -> dict[str, float]:
    """Peak and leftovers of minigrad's step, and memory after backward and after dropping."""
    net = TwoLayerNet(IN, 100, OUT)
    for k, v in init.items():
        getattr(net, k).data = v.copy()
    net.params.refresh()

    def step() -> None:
        loss = net.loss(x, t)
        loss.backward()
        for p in net.parameters():
            p.data -= LR * p.grad.data
        net.zero_grad()

    step()
    peak, left = measure(step)
    gc.collect()
    tracemalloc.start()          # one session: frees are seen only for traced allocations
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        loss = net.loss(x, t)
        loss.backward()
        with_grads = tracemalloc.get_traced_memory()[0] - baseline
        grads = sum(p.grad.data.nbytes for p in net.parameters())
        net.zero_grad()
        del loss
        dropped = tracemalloc.get_traced_memory()[0] - baseline - with_grads
    finally:
        tracemalloc.stop()
    return {"peak": peak, "left": left, "with_grads": with_grads, "grads": grads,
            "dropped": dropped}


def main(quick: bool = False) -> list[str]:
    rows, lines, worst = [], [], 0.0
    for dtype in (np.float64, np.float32):
        x, t, init = setup(dtype, 100)
        step = book_step(x, t, init)
        step()
        numpy_peak, _ = measure(step)
        m = measure_minigrad(x, t, init)
        ratio = m["peak"] / numpy_peak
        worst = max(worst, ratio)
        name = np.dtype(dtype).name
        rows.append([name, f"{numpy_peak / 1024:.0f}", f"{m['peak'] / 1024:.0f}",
                     f"{ratio:.2f}", f"{m['left'] / 1024:.1f}"])
        lines.append(f"{name}: after backward() with the loss alive, {m['with_grads'] / 1024:.0f}"
                     f" KiB above the baseline, of which the gradients are "
                     f"{m['grads'] / 1024:.0f} KiB; dropping gradients and loss returns "
                     f"{-m['dropped'] / 1024:.0f} KiB, leaving "
                     f"{(m['with_grads'] + m['dropped']) / 1024:.1f} KiB above the baseline")
    return ["## Memory of a training step (784-100-10, batch 100)", "",
            table(["dtype", "numpy peak KiB", "minigrad peak KiB", "ratio",
                   "minigrad left after step KiB"], rows), "", *lines, "",
            f"Target peak ≤ {TARGET}× numpy: worst {worst:.2f}× — {status(worst <= TARGET)}",
            f"({machine()})"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print("\n".join(main(parse_args(parser).quick)))
