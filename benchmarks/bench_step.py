"""One SGD step of a 784-H-10 TwoLayerNet (batch 100, sigmoid, softmax cross-entropy).

Each contender does forward, backward and the parameter update. They run in
interleaved rounds and report the median time as a ratio to the book's
hand-written numpy backprop, so drift of a shared machine cancels.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _harness import interleaved, machine, median, parse_args, status, table, torch_or_none

import minigrad as mg
from minigrad import functional as F
from minigrad import nn, optim
from minigrad.gradcheck import numerical_gradient
from minigrad.models import TwoLayerNet

TARGET = 1.15
BATCH, IN, OUT, LR = 100, 784, 10, 0.1


def setup(dtype, hidden, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, IN)).astype(dtype)
    t = rng.integers(0, OUT, BATCH)
    init = {"W1": 0.01 * rng.standard_normal((IN, hidden)), "b1": np.zeros(hidden),
            "W2": 0.01 * rng.standard_normal((hidden, OUT)), "b2": np.zeros(OUT)}
    return x, t, {k: v.astype(dtype) for k, v in init.items()}


def book_step(x, t, init):
    """The book's chapter-4 TwoLayerNet.gradient, as it is written there, and the SGD update.

    Its softmax transposes and exponentiates twice, its sigmoid_grad
    recomputes the sigmoid, and t is one-hot, as in the book's training script.
    """
    p = {k: v.copy() for k, v in init.items()}
    onehot = np.eye(OUT, dtype=x.dtype)[t]

    def sigmoid(a):
        return 1 / (1 + np.exp(-a))

    def sigmoid_grad(a):
        return (1.0 - sigmoid(a)) * sigmoid(a)

    def softmax(a):
        a = a.T
        a = a - np.max(a, axis=0)
        return (np.exp(a) / np.sum(np.exp(a), axis=0)).T

    def step():
        a1 = np.dot(x, p["W1"]) + p["b1"]
        z1 = sigmoid(a1)
        a2 = np.dot(z1, p["W2"]) + p["b2"]
        y = softmax(a2)
        dy = (y - onehot) / x.shape[0]
        grads = {"W2": np.dot(z1.T, dy), "b2": np.sum(dy, axis=0)}
        da1 = np.dot(dy, p["W2"].T)
        dz1 = sigmoid_grad(a1) * da1
        grads["W1"] = np.dot(x.T, dz1)
        grads["b1"] = np.sum(dz1, axis=0)
        for k in p:
            p[k] -= LR * grads[k]
        return p
    return step


def numpy_step(x, t, init):
    """The same gradient written by hand with care: each exponential once, no transposes."""
    p = {k: v.copy() for k, v in init.items()}
    onehot = np.eye(OUT, dtype=x.dtype)[t]

    def step():
        a1 = x @ p["W1"] + p["b1"]
        z1 = 1 / (1 + np.exp(-a1))
        a2 = z1 @ p["W2"] + p["b2"]
        e = np.exp(a2 - a2.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
        dy = (y - onehot) / BATCH
        grads = {"W2": z1.T @ dy, "b2": dy.sum(axis=0)}
        da1 = (1 - z1) * z1 * (dy @ p["W2"].T)
        grads["W1"] = x.T @ da1
        grads["b1"] = da1.sum(axis=0)
        for k in p:
            p[k] -= LR * grads[k]
        return p
    return step


def numpy_buffers_step(x, t, init):
    """The same gradient with every rewrite numpy allows: each array allocated once and
    written in place, bias gradients as products with ones, the update without a temporary,
    and in float64 the weight gradient of W1 computed transposed (BLAS is faster so). What a
    compiler emitting numpy calls could at best produce, with no cost of its own."""
    p = {k: v.copy() for k, v in init.items()}
    n, hidden, dtype = x.shape[0], p["W1"].shape[1], x.dtype
    a1, a2 = np.empty((n, hidden), dtype), np.empty((n, OUT), dtype)
    da1, s1 = np.empty((n, hidden), dtype), np.empty((n, hidden), dtype)
    ones_n, ones_out = np.ones(n, dtype), np.ones(OUT, dtype)
    transposed = dtype == np.float64
    gW1 = np.empty((hidden, IN) if transposed else (IN, hidden), dtype)
    gW2, rows, lr = np.empty_like(p["W2"]), np.arange(n), dtype.type(LR)

    def step():
        np.matmul(x, p["W1"], out=a1)
        np.add(a1, p["b1"], out=a1)
        np.negative(a1, out=a1)                   # z1 = 1 / (1 + exp(-a1)), in a1
        np.exp(a1, out=a1)
        np.add(a1, 1, out=a1)
        np.reciprocal(a1, out=a1)
        np.matmul(a1, p["W2"], out=a2)
        np.add(a2, p["b2"], out=a2)
        np.subtract(a2, a2.max(axis=1, keepdims=True), out=a2)
        np.exp(a2, out=a2)
        scale = np.reciprocal(a2 @ ones_out)
        scale *= 1 / n
        np.multiply(a2, scale[:, None], out=a2)
        a2[rows, t] -= 1 / n                      # dy = (softmax - onehot) / n, in a2
        np.matmul(a1.T, a2, out=gW2)
        gb2 = ones_n @ a2
        np.matmul(a2, p["W2"].T, out=da1)
        np.subtract(1, a1, out=s1)
        np.multiply(s1, a1, out=s1)
        np.multiply(da1, s1, out=da1)
        grads = {"W1": np.matmul(da1.T, x, out=gW1).T if transposed else
                 np.matmul(x.T, da1, out=gW1),
                 "b1": ones_n @ da1, "W2": gW2, "b2": gb2}
        for k, g in grads.items():
            np.multiply(g, lr, out=g)
            np.subtract(p[k], g, out=p[k])
        return p
    return step


def minigrad_ops_step(x, t, init):
    """The same network written with plain tensor operations, loss.backward()."""
    p = {k: mg.tensor(v, requires_grad=True) for k, v in init.items()}
    X = mg.Tensor(x)

    def step():
        h = (X @ p["W1"] + p["b1"]).sigmoid()
        loss = mg.softmax_cross_entropy(h @ p["W2"] + p["b2"], t)
        loss.backward()
        for q in p.values():
            q.data -= LR * q.grad.data
            q.grad = None
        return p
    return step


def _net(x, init):
    net = TwoLayerNet(IN, init["W1"].shape[1], OUT)
    for k, v in init.items():
        getattr(net, k).data = v.copy()
    net.params.refresh()
    return net


def two_layer_net_step(x, t, init):
    """The book's training loop: grads = net.gradient(x, t); params[k] -= lr * grads[k]."""
    net = _net(x, init)

    def step():
        grads = net.gradient(x, t)
        for k in ("W1", "b1", "W2", "b2"):
            net.params[k] -= LR * grads[k]
    return step


def nn_optim_step(x, t, init):
    """A PyTorch-style loop: nn.Sequential, optim.SGD, zero_grad/backward/step."""
    model = nn.Sequential(nn.Linear(IN, init["W1"].shape[1]), nn.Sigmoid(),
                          nn.Linear(init["W1"].shape[1], OUT))
    for layer, (W, b) in zip((model[0], model[2]), (("W1", "b1"), ("W2", "b2"))):
        layer.weight.data, layer.bias.data = init[W].copy(), init[b].copy()
    opt = optim.SGD(model.parameters(), lr=LR)

    def step():
        opt.zero_grad()
        F.softmax_cross_entropy(model(x), t).backward()
        opt.step()
    return step


def torch_step(torch, x, t, init):
    """PyTorch eager: the same network, loss.backward(), torch.optim.SGD."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
    X, T = torch.from_numpy(x), torch.from_numpy(t)
    opt = torch.optim.SGD(list(p.values()), lr=LR)

    def step():
        opt.zero_grad()
        h = torch.sigmoid(X @ p["W1"] + p["b1"])
        torch.nn.functional.cross_entropy(h @ p["W2"] + p["b2"], T).backward()
        opt.step()
    return step


def numerical_seconds(x, t, init, elements=40):
    """Seconds for a step by numerical gradient: timed on a slice, extrapolated."""
    net = _net(x, init)
    total = sum(v.size for v in init.values())
    W1 = net.params["W1"].reshape(-1)[:elements]            # a view into the weights
    with mg.no_grad():
        start = time.perf_counter()
        numerical_gradient(lambda _: net.loss(x, t), W1)
        elapsed = time.perf_counter() - start
    return elapsed / elements * total


def main(quick: bool = False, peers: bool = True) -> list[str]:
    rounds = 30 if quick else 200
    torch = torch_or_none() if peers else None
    rows, worst = [], 0.0
    for dtype in (np.float64, np.float32):
        for hidden in (50, 100):
            x, t, init = setup(dtype, hidden)
            contenders = {"numpy backprop (the book's code)": book_step(x, t, init)}
            if peers:
                contenders["numpy backprop (tuned by hand)"] = numpy_step(x, t, init)
                contenders["numpy, buffers and in place (floor)"] = \
                    numpy_buffers_step(x, t, init)
            contenders |= {
                "minigrad: plain ops": minigrad_ops_step(x, t, init),
                "minigrad: TwoLayerNet.gradient": two_layer_net_step(x, t, init),
                "minigrad: nn + optim.SGD": nn_optim_step(x, t, init),
            }
            if torch is not None:
                contenders["PyTorch eager"] = torch_step(torch, x, t, init)
            times = interleaved(contenders, rounds)
            base = median(times["numpy backprop (the book's code)"])
            for name, ts in times.items():
                ratio = median(ts) / base
                if name.startswith("minigrad"):
                    worst = max(worst, ratio)
                rows.append([np.dtype(dtype).name, hidden, name, f"{median(ts) * 1e6:.0f}",
                             f"{ratio:.2f}"])
            if peers and dtype is np.float64 and hidden == 50:
                seconds = numerical_seconds(x, t, init, 20 if quick else 60)
                rows.append(["float64", hidden, "numerical gradient (extrapolated)",
                             f"{seconds * 1e6:.0f}", f"{seconds / base:,.0f}"])
    return ["## Training step: 784-H-10 TwoLayerNet, batch 100, SGD", "",
            table(["dtype", "H", "contender", "µs per step", "× book"], rows), "",
            f"Target ≤ {TARGET}× the book's hand-written numpy backprop: worst minigrad "
            f"{worst:.2f}× — {status(worst <= TARGET)}",
            f"(median of {rounds} interleaved rounds; {machine()})"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--without-peers", action="store_true",
                        help="only the book's code and minigrad in the rounds")
    args = parse_args(parser)
    print("\n".join(main(args.quick, peers=not args.without_peers)))
