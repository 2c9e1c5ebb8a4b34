"""mg.compile against eager minigrad and the book's numpy: steps, per-node overhead, tracing.

The TwoLayerNet step (784-50-10, batch 100, sigmoid, SGD) is timed as a ratio to the book's
hand-written numpy step, in float64 and float32, with JAX's jit where it is installed. The
SimpleConvNet step (batch 100, 1×28×28) is timed compiled over eager. The replay's cost per
node is measured on a chain of tiny ops, beside eager's, and the time to trace a 10⁴-node
graph is reported.

Floors stand beside the targets: the TwoLayerNet step's five matrix products alone (what no
rewrite of the rest can go below); the step in numpy with every rewrite it allows, buffers
reused and updates in place (what a compiler emitting numpy calls could at best produce);
and the chain's numpy calls written out by hand (one product forward, two backward and one
sum per node, on arrays of 3 numbers). A replay's overhead per node is its time beyond
those calls.
"""

from __future__ import annotations

import argparse
import time

import bench_step as S
import numpy as np
from _harness import in_own_process, interleaved, machine, median, parse_args, status, table

import minigrad as mg
from minigrad.models import SimpleConvNet

TARGET_STEP, TARGET_CONV, TARGET_NODE_US = 0.85, 0.85, 1.0


def compiled_ops_step(x, t, init):
    """bench_step's plain-ops loop, its loss function under mg.compile."""
    p = {k: mg.tensor(v, requires_grad=True) for k, v in init.items()}

    @mg.compile
    def loss_fn(X, T):
        h = (X @ p["W1"] + p["b1"]).sigmoid()
        return mg.softmax_cross_entropy(h @ p["W2"] + p["b2"], T)

    def step():
        loss_fn(x, t).backward()
        for q in p.values():                  # the same update as bench_step's loop
            q.data -= S.LR * q.grad.data
            q.grad = None
        return p
    return step


def jax_step(x, t, init):
    """JAX: the same loss, jax.grad under jax.jit, and the SGD update inside the jit."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        return None
    if x.dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    p = {k: jnp.asarray(v) for k, v in init.items()}
    X, T = jnp.asarray(x), jnp.asarray(t)

    def loss(p):
        h = jax.nn.sigmoid(X @ p["W1"] + p["b1"])
        logits = h @ p["W2"] + p["b2"]
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(X.shape[0]), T])

    @jax.jit
    def update(p):
        g = jax.grad(loss)(p)
        return {k: p[k] - S.LR * g[k] for k in p}

    state = [p]

    def step():
        state[0] = update(state[0])
        jax.block_until_ready(state[0])
    return step


def conv_step(kind):
    """A SimpleConvNet SGD step, "eager" or "compiled"."""
    wrap = mg.compile if kind == "compiled" else (lambda f: f)
    rng = np.random.default_rng(0)
    x = rng.random((100, 1, 28, 28))
    t = rng.integers(0, 10, 100)
    net = SimpleConvNet(rng=0)
    loss_fn = wrap(net.loss)
    params = list(net.parameters())

    def step():
        loss_fn(x, t).backward()
        with mg.no_grad():
            for q in params:
                q -= S.LR * q.grad
                q.grad = None
    return step


def conv_ratio(rounds):
    """Compiled over eager, each in a fresh process of its own: in one process, what the
    allocator kept from earlier work (the other contender's arrays, earlier benchmarks)
    would decide whether the eager step finds its memory paged in already."""
    eager, end_eager = in_own_process("bench_compile", "conv_step", "eager")
    compiled, end_compiled = in_own_process("bench_compile", "conv_step", "compiled")
    try:
        times = interleaved({"eager": eager, "compiled": compiled}, rounds, warmup=1)
    finally:
        end_eager()
        end_compiled()
    return median(times["compiled"]) / median(times["eager"])


def products_only(x, t, init):
    """Only the step's matrix products, on arrays of the right shapes: its floor."""
    W1, W2 = init["W1"], init["W2"]
    h = x @ W1
    dy = np.ones((x.shape[0], W2.shape[1]), x.dtype)

    def step():
        z = x @ W1
        z @ W2
        h.T @ dy
        da = dy @ W2.T
        x.T @ da
    return step


def chain_by_hand(n):
    """chain(n)'s forward and backward written out with numpy: the calls a replay cannot
    avoid, one product forward, two products backward and the sum into w's gradient."""
    w = np.ones(3)

    def step(x):
        ys = [x]
        for _ in range(n):
            ys.append(ys[-1] * w)
        g, gw = np.ones(3), np.zeros(3)
        for y in reversed(ys[:-1]):
            gw += g * y
            g = g * w
        return g, gw
    return step


def chain(n):
    w = mg.tensor(np.ones(3), requires_grad=True)

    def fn(x):
        y = x
        for _ in range(n):
            y = y * w
        return y.sum()
    return fn


def main(quick: bool = False) -> list[str]:
    rounds = 30 if quick else 150
    rows = []
    for dtype in (np.float64, np.float32):
        x, t, init = S.setup(dtype, 50)
        contenders = {"numpy backprop (the book's code)": S.book_step(x, t, init),
                      "minigrad eager: plain ops": S.minigrad_ops_step(x, t, init),
                      "numpy backprop (tuned by hand)": S.numpy_step(x, t, init),
                      "numpy, buffers and in place (floor)": S.numpy_buffers_step(x, t, init),
                      "the matrix products alone (floor)": products_only(x, t, init),
                      "minigrad compiled: plain ops": compiled_ops_step(x, t, init)}
        jax = jax_step(x, t, init)
        if jax is not None:
            contenders["JAX jit"] = jax
        times = interleaved(contenders, rounds)
        base = median(times["numpy backprop (the book's code)"])
        for name, ts in times.items():
            rows.append([np.dtype(dtype).name, name, f"{median(ts) * 1e6:.0f}",
                         f"{median(ts) / base:.2f}"])
    conv = conv_ratio(3 if quick else 15)
    n = 200
    fn = chain(n)
    step = mg.compile(fn)
    x = np.ones(3)
    by_hand = chain_by_hand(n)
    per_node = interleaved({"eager": lambda: fn(x).backward(), "compiled":
                            lambda: step(x).backward(), "numpy": lambda: by_hand(x)},
                           20 if quick else 100)
    eager_us, replay_us, numpy_us = (median(per_node[k]) / n * 1e6
                                     for k in ("eager", "compiled", "numpy"))
    big = mg.compile(chain(10_000))
    start = time.perf_counter()
    big(x)
    trace_s = time.perf_counter() - start
    start = time.perf_counter()
    big(x)
    replay_s = time.perf_counter() - start
    compiled = [float(r[3]) for r in rows if r[1] == "minigrad compiled: plain ops"]
    worst = max(compiled)
    lines = ["## mg.compile: TwoLayerNet step (784-50-10, batch 100, SGD)", "",
             table(["dtype", "contender", "µs per step", "× book"], rows), "",
             f"Target ≤ {TARGET_STEP}× the book's step: worst compiled {worst:.2f}× — "
             f"{status(worst <= TARGET_STEP)}",
             f"SimpleConvNet step, compiled / eager, each in a process of its own: {conv:.2f} "
             f"(target ≤ {TARGET_CONV}: {status(conv <= TARGET_CONV)})",
             f"Tiny-op chain (y = y * w, {n} nodes, forward and backward): "
             f"eager {eager_us:.2f} µs per node, replay {replay_us:.2f} µs per node; its "
             f"numpy calls alone, by hand: {numpy_us:.2f} µs per node. Replay overhead "
             f"{replay_us - numpy_us:.2f} µs per node (target ≤ {TARGET_NODE_US}: "
             f"{status(replay_us - numpy_us <= TARGET_NODE_US)})",
             f"Tracing a 10⁴-node chain: {trace_s * 1e3:.0f} ms (a replay of it: "
             f"{replay_s * 1e3:.0f} ms)",
             f"(median of {rounds} interleaved rounds; {machine()})"]
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    args = parse_args(parser)
    print("\n".join(main(args.quick)))
