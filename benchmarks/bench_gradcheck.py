"""Gradient check of a TwoLayerNet-sized function (784-50-10, 39,760 parameters).

Full mode against fast mode.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _harness import machine, parse_args, status, table

import minigrad as mg
from minigrad.gradcheck import gradcheck

TARGET_FAST_S = 1.0


def two_layer_loss(batch: int = 10, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = mg.Tensor(rng.random((batch, 784)))
    t = rng.integers(0, 10, batch)
    params = [mg.tensor(rng.standard_normal(s) * 0.1, requires_grad=True)
              for s in [(784, 50), (50,), (50, 10), (10,)]]

    def loss(W1, b1, W2, b2):
        return mg.softmax_cross_entropy(mg.linear(mg.linear(x, W1, b1).sigmoid(), W2, b2), t)

    return loss, params


def main(quick: bool = False) -> list[str]:
    loss, params = two_layer_loss()
    n = sum(p.size for p in params)
    fast = []
    for seed in range(5):
        start = time.perf_counter()
        assert gradcheck(loss, params, fast_mode=True, seed=seed)
        fast.append(time.perf_counter() - start)
    fast_s = float(np.median(fast))
    if quick:   # full mode on the two small parameters only, extrapolated per element
        small = [mg.Tensor(p.data) if p.size > 500 else p for p in params]
        start = time.perf_counter()
        assert gradcheck(loss, small)
        elapsed = time.perf_counter() - start
        checked = sum(p.size for p in small if p.requires_grad)
        full_s, how = elapsed / checked * n, f"extrapolated from {checked} elements"
    else:
        start = time.perf_counter()
        assert gradcheck(loss, params)
        full_s, how = time.perf_counter() - start, "measured"
    rows = [["full (whole Jacobian)", f"{full_s:.1f}", how],
            ["fast (vᵀJu per input)", f"{fast_s:.3f}", "median of 5 seeds"]]
    return ["## Gradient check of the TwoLayerNet loss", "",
            table(["mode", "seconds", ""], rows), "",
            f"{n:,} parameters, batch of 10; fast mode {full_s / fast_s:,.0f}x faster. "
            f"Target fast < {TARGET_FAST_S} s: {status(fast_s < TARGET_FAST_S)}",
            f"({machine()})"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print("\n".join(main(parse_args(parser).quick)))
