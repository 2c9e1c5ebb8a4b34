"""One training step of the book's SimpleConvNet, and the memory of one convolution.

The network is the book's chapter-7 SimpleConvNet on 1×28×28 images, batch
100: 30 5×5 filters → ReLU → 2×2 max-pool → Affine(4320, 100) → ReLU →
Affine(100, 10), softmax cross-entropy, SGD. Each contender does forward,
backward and the update. The reference is the book's design written out
here by hand from its formulas: im2col and col2im looping over the kernel's
positions, Convolution/Pooling/Relu/Affine layers with hand-written
backward, the gradient of every layer's input computed (as the book's
layers do). Contenders run in interleaved rounds; ratios are of medians.

The memory part traces (tracemalloc) the peak allocated during one
convolution forward and backward (x, W and b all needing gradients, the
output kept until backward ends, given the upstream gradient dout).
"""

from __future__ import annotations

import argparse
import gc
import tracemalloc

import numpy as np
from _harness import interleaved, machine, median, parse_args, status, table, torch_or_none

import minigrad as mg
from minigrad import functional as F
from minigrad import nn, optim
from minigrad.models import SimpleConvNet

TARGET_BOOK, TARGET_TORCH, TARGET_MEMORY = 1.2, 2.0, 1.5
BATCH, CHANNELS, SIZE, FILTERS, KERNEL, HIDDEN, OUT, LR = 100, 1, 28, 30, 5, 100, 10, 0.1


# ------------------------------------------------------------ the book's layers, by hand

def book_im2col(x: np.ndarray, fh: int, fw: int, stride: int = 1, pad: int = 0) -> np.ndarray:
    """(N, C, H, W) -> (N*OH*OW, C*fh*fw), filled one kernel position at a time."""
    n, c, h, w = x.shape
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    img = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)]) if pad else x
    col = np.empty((n, c, fh, fw, oh, ow), dtype=x.dtype)
    for i in range(fh):
        for j in range(fw):
            col[:, :, i, j] = img[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride]
    return col.transpose(0, 4, 5, 1, 2, 3).reshape(n * oh * ow, -1)


def book_col2im(col: np.ndarray, shape: tuple[int, ...], fh: int, fw: int, stride: int = 1,
                pad: int = 0) -> np.ndarray:
    """The adjoint of book_im2col: rows added back into the (padded) image, then cropped."""
    n, c, h, w = shape
    oh, ow = (h + 2 * pad - fh) // stride + 1, (w + 2 * pad - fw) // stride + 1
    cols = col.reshape(n, oh, ow, c, fh, fw).transpose(0, 3, 4, 5, 1, 2)
    img = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    for i in range(fh):
        for j in range(fw):
            img[:, :, i:i + stride * oh:stride, j:j + stride * ow:stride] += cols[:, :, i, j]
    return img[:, :, pad:pad + h, pad:pad + w]


class BookConvolution:
    def __init__(self, W: np.ndarray, b: np.ndarray, stride: int = 1, pad: int = 0) -> None:
        self.W, self.b, self.stride, self.pad = W, b, stride, pad

    def forward(self, x: np.ndarray) -> np.ndarray:
        fn, _, fh, fw = self.W.shape
        n, _, h, w = x.shape
        oh = (h + 2 * self.pad - fh) // self.stride + 1
        ow = (w + 2 * self.pad - fw) // self.stride + 1
        self.x = x
        self.col = book_im2col(x, fh, fw, self.stride, self.pad)
        self.col_W = self.W.reshape(fn, -1).T
        out = self.col @ self.col_W + self.b
        return out.reshape(n, oh, ow, fn).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        fn, c, fh, fw = self.W.shape
        dout = dout.transpose(0, 2, 3, 1).reshape(-1, fn)
        self.db = dout.sum(axis=0)
        self.dW = (self.col.T @ dout).T.reshape(fn, c, fh, fw)
        dcol = dout @ self.col_W.T
        return book_col2im(dcol, self.x.shape, fh, fw, self.stride, self.pad)


class BookPooling:
    def __init__(self, size: int, stride: int) -> None:
        self.size, self.stride = size, stride

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, c, h, w = x.shape
        oh, ow = (h - self.size) // self.stride + 1, (w - self.size) // self.stride + 1
        col = book_im2col(x, self.size, self.size, self.stride).reshape(-1, self.size ** 2)
        self.x, self.argmax = x, col.argmax(axis=1)
        out = col[np.arange(len(col)), self.argmax]
        return out.reshape(n, oh, ow, c).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout = dout.transpose(0, 2, 3, 1)
        dmax = np.zeros((dout.size, self.size ** 2), dtype=dout.dtype)
        dmax[np.arange(dout.size), self.argmax] = dout.reshape(-1)
        dcol = dmax.reshape(-1, dout.shape[3] * self.size ** 2)
        return book_col2im(dcol, self.x.shape, self.size, self.size, self.stride)


class BookRelu:
    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dout = dout.copy()
        dout[self.mask] = 0
        return dout


class BookAffine:
    def __init__(self, W: np.ndarray, b: np.ndarray) -> None:
        self.W, self.b = W, b

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        self.x = x.reshape(x.shape[0], -1)
        return self.x @ self.W + self.b

    def backward(self, dout: np.ndarray) -> np.ndarray:
        self.dW = self.x.T @ dout
        self.db = dout.sum(axis=0)
        return (dout @ self.W.T).reshape(self.shape)


def book_step(x: np.ndarray, t: np.ndarray, init: dict[str, np.ndarray]):
    """SimpleConvNet.gradient as the book builds it (layer by layer), then SGD."""
    p = {k: v.copy() for k, v in init.items()}
    conv, pool = BookConvolution(p["W1"], p["b1"]), BookPooling(2, 2)
    affine1, affine2 = BookAffine(p["W2"], p["b2"]), BookAffine(p["W3"], p["b3"])
    layers = [conv, BookRelu(), pool, affine1, BookRelu(), affine2]

    def step() -> None:
        h = x
        for layer in layers:
            h = layer.forward(h)
        e = np.exp(h - h.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
        y[np.arange(BATCH), t] -= 1
        d = y / BATCH
        for layer in reversed(layers):
            d = layer.backward(d)
        grads = {"W1": conv.dW, "b1": conv.db, "W2": affine1.dW, "b2": affine1.db,
                 "W3": affine2.dW, "b3": affine2.db}
        for k in p:
            p[k] -= LR * grads[k]
    return step


# ------------------------------------------------------------ the contenders

def setup(dtype, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((BATCH, CHANNELS, SIZE, SIZE)).astype(dtype)
    t = rng.integers(0, OUT, BATCH)
    pooled = FILTERS * ((SIZE - KERNEL + 1) // 2) ** 2
    init = {"W1": 0.01 * rng.standard_normal((FILTERS, CHANNELS, KERNEL, KERNEL)),
            "b1": np.zeros(FILTERS),
            "W2": 0.01 * rng.standard_normal((pooled, HIDDEN)), "b2": np.zeros(HIDDEN),
            "W3": 0.01 * rng.standard_normal((HIDDEN, OUT)), "b3": np.zeros(OUT)}
    return x, t, {k: v.astype(dtype) for k, v in init.items()}


def _net(init: dict[str, np.ndarray]) -> SimpleConvNet:
    net = SimpleConvNet((CHANNELS, SIZE, SIZE), {"filter_num": FILTERS, "filter_size": KERNEL},
                        HIDDEN, OUT)
    for k, v in init.items():
        getattr(net, k).data = v.copy()
    net.params.refresh()
    return net


def simple_conv_net_step(x, t, init):
    """The book's loop: grads = net.gradient(x, t); params[k] -= lr * grads[k]."""
    net = _net(init)

    def step() -> None:
        grads = net.gradient(x, t)
        for k, g in grads.items():
            net.params[k] -= LR * g
    return step


def nn_optim_step(x, t, init):
    """The same network from nn layers, zero_grad/backward/step with optim.SGD."""
    model = nn.Sequential(nn.Conv2d(CHANNELS, FILTERS, KERNEL), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(init["W2"].shape[0], HIDDEN), nn.ReLU(),
                          nn.Linear(HIDDEN, OUT))
    for layer, (W, b) in zip((model[0], model[4], model[6]),
                             (("W1", "b1"), ("W2", "b2"), ("W3", "b3"))):
        layer.W.data, layer.b.data = init[W].copy(), init[b].copy()
    opt = optim.SGD(model.parameters(), lr=LR)

    def step() -> None:
        opt.zero_grad()
        F.softmax_cross_entropy(model(x), t).backward()
        opt.step()
    return step


def torch_step(torch, x, t, init):
    """PyTorch eager: the same network and update (PyTorch's Linear weight is W.T)."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in init.items()}
    X, T = torch.from_numpy(x), torch.from_numpy(t)
    opt = torch.optim.SGD(list(p.values()), lr=LR)
    tf = torch.nn.functional

    def step() -> None:
        opt.zero_grad()
        h = tf.max_pool2d(torch.relu(tf.conv2d(X, p["W1"], p["b1"])), 2)
        h = torch.relu(h.flatten(1) @ p["W2"] + p["b2"])
        tf.cross_entropy(h @ p["W3"] + p["b3"], T).backward()
        opt.step()
    return step


# ------------------------------------------------------------ memory of one convolution

def peak_bytes(fn) -> int:
    """Peak bytes allocated while fn runs, above what was allocated before."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        fn()
        return tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def conv_memory(x: np.ndarray, init: dict[str, np.ndarray]) -> tuple[int, int]:
    """(book, minigrad) peak bytes of one convolution's forward and backward."""
    W, b = init["W1"], init["b1"]
    rng = np.random.default_rng(1)
    n, oh = x.shape[0], x.shape[2] - W.shape[2] + 1
    dout = rng.standard_normal((n, W.shape[0], oh, oh)).astype(x.dtype)

    def book() -> None:
        layer = BookConvolution(W, b)
        out = layer.forward(x)              # the output lives on through backward in both
        layer.backward(dout)
        del out

    def graph() -> None:
        xs, Ws, bs = (mg.Tensor(a, requires_grad=True) for a in (x, W, b))
        out = F.conv2d(xs, Ws, bs)
        out.backward(dout)                  # (backward copies dout, as it always does)

    book(), graph()                   # warm up
    return peak_bytes(book), peak_bytes(graph)


def main(quick: bool = False, peers: bool = True) -> list[str]:
    rounds = 10 if quick else 40
    torch = torch_or_none() if peers else None
    rows, worst_book, worst_torch = [], 0.0, 0.0
    for dtype in (np.float64, np.float32):
        x, t, init = setup(dtype)
        contenders = {"book's layers, by hand": book_step(x, t, init),
                      "minigrad: SimpleConvNet.gradient": simple_conv_net_step(x, t, init),
                      "minigrad: nn + optim.SGD": nn_optim_step(x, t, init)}
        if torch is not None:
            contenders["PyTorch eager"] = torch_step(torch, x, t, init)
        times = interleaved(contenders, rounds, warmup=2)
        base = median(times["book's layers, by hand"])
        torch_time = median(times["PyTorch eager"]) if torch is not None else None
        for name, ts in times.items():
            ratio = median(ts) / base
            vs_torch = f"{median(ts) / torch_time:.2f}" if torch_time else "–"
            if name.startswith("minigrad"):
                worst_book = max(worst_book, ratio)
                if torch_time:
                    worst_torch = max(worst_torch, median(ts) / torch_time)
            rows.append([np.dtype(dtype).name, name, f"{median(ts) * 1e3:.2f}", f"{ratio:.2f}",
                         vs_torch])
    memory_rows, worst_memory = [], 0.0
    for dtype in (np.float64, np.float32):
        x, _, init = setup(dtype)
        book, graph = conv_memory(x, init)
        worst_memory = max(worst_memory, graph / book)
        memory_rows.append([np.dtype(dtype).name, f"{book / 2**20:.1f}", f"{graph / 2**20:.1f}",
                            f"{graph / book:.2f}"])
    lines = ["## Convolutional network: SimpleConvNet training step, batch 100, 1×28×28", "",
             table(["dtype", "contender", "ms per step", "× book", "× PyTorch"], rows), "",
             f"Target ≤ {TARGET_BOOK}× the book's hand-written layers: worst minigrad "
             f"{worst_book:.2f}× — {status(worst_book <= TARGET_BOOK)}"]
    if torch is not None:
        lines.append(f"Target ≤ {TARGET_TORCH}× PyTorch eager: worst minigrad "
                     f"{worst_torch:.2f}× — {status(worst_torch <= TARGET_TORCH)}")
    lines += ["", "Peak memory of one conv2d forward + backward (x, W, b need gradients), "
              "tracemalloc:", "",
              table(["dtype", "book's layer, MiB", "minigrad, MiB", "ratio"], memory_rows), "",
              f"Target ≤ {TARGET_MEMORY}× the hand-written layer: worst {worst_memory:.2f}× — "
              f"{status(worst_memory <= TARGET_MEMORY)}",
              f"(median of {rounds} interleaved rounds; {machine()})"]
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds")
    parser.add_argument("--without-peers", action="store_true", help="no PyTorch")
    args = parse_args(parser)
    print("\n".join(main(args.quick, peers=not args.without_peers)))
