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
from _harness import machine, status, table
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


def main(quick: bool = False) -> list[str]:
    rows, worst = [], 0.0
    lines = []
    for dtype in (np.float64, np.float32):
        x, t, init = setup(dtype, 100)
        step = book_step(x, t, init)
        step()
        numpy_peak, _ = measure(step)

        net = TwoLayerNet(IN, 100, OUT)
        for k, v in init.items():
            getattr(net, k).data = v.copy()
        net.params.refresh()

        def minigrad_step():
            loss = net.loss(x, t)
            loss.backward()
            for p in net.parameters():
                p.data -= LR * p.grad.data
            net.zero_grad()

        minigrad_step()
        minigrad_peak, minigrad_left = measure(minigrad_step)

        state = {}

        def after_backward():
            state["loss"] = net.loss(x, t)
            state["loss"].backward()

        _, with_grads = measure(after_backward)
        grads_bytes = sum(p.grad.data.nbytes for p in net.parameters())

        def drop():
            net.zero_grad()
            del state["loss"]

        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        drop()
        dropped = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()

        ratio = minigrad_peak / numpy_peak
        worst = max(worst, ratio)
        name = np.dtype(dtype).name
        rows.append([name, f"{numpy_peak / 1024:.0f}", f"{minigrad_peak / 1024:.0f}",
                     f"{ratio:.2f}", f"{minigrad_left / 1024:.1f}"])
        lines.append(f"{name}: after backward() with the loss alive, {with_grads / 1024:.0f} KiB "
                     f"above the baseline, of which the gradients are {grads_bytes / 1024:.0f} "
                     f"KiB; dropping gradients and loss returns {-dropped / 1024:.0f} KiB, "
                     f"leaving {(with_grads + dropped) / 1024:.1f} KiB")
    return ["## Memory of a training step (784-100-10, batch 100)", "",
            table(["dtype", "numpy peak KiB", "minigrad peak KiB", "ratio",
                   "minigrad left after step KiB"], rows), "", *lines, "",
            f"Target peak ≤ {TARGET}× numpy: worst {worst:.2f}× — {status(worst <= TARGET)}",
            f"({machine()})"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print("\n".join(main(parser.parse_args().quick)))
