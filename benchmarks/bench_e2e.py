"""End to end: a 784-100-10 network on Fashion-MNIST to 0.87 test accuracy.

Wall time of minigrad (TwoLayerNet, sigmoid, Adam), scikit-learn's
MLPClassifier (same architecture, logistic activation, Adam) and PyTorch (same
network and optimizer), each in float32 with batches of 100, checking test
accuracy after every epoch. Needs Debian's dataset-fashion-mnist.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from _harness import machine, parse_args, table, torch_or_none

import minigrad as mg
from minigrad import functional as F
from minigrad import nn, optim
from minigrad.datasets import DatasetNotFoundError, load_fashion_mnist
from minigrad.models import TwoLayerNet

MARK, BATCH, LR, MAX_EPOCHS = 0.87, 100, 0.003, 30


def batches(n: int, rng: np.random.Generator):
    order = rng.permutation(n)
    for start in range(0, n, BATCH):
        yield order[start:start + BATCH]


def run_minigrad(data, model: str) -> tuple[float, int, float]:
    (x, t), (xt, tt) = data
    rng = np.random.default_rng(0)
    if model == "TwoLayerNet":           # the book's network and initialisation (std 0.01)
        net = TwoLayerNet(784, 100, 10, rng=0).to(np.float32)
    else:                                # Xavier initialisation, as the others use
        net = nn.Sequential(nn.Linear(784, 100, weight_init="xavier", rng=0), nn.Sigmoid(),
                            nn.Linear(100, 10, weight_init="xavier", rng=1)).to(np.float32)
    opt = optim.Adam(net.parameters(), lr=LR)
    start = time.perf_counter()
    epoch = 0
    while epoch < MAX_EPOCHS:
        epoch += 1
        for idx in batches(len(x), rng):
            opt.zero_grad()
            F.softmax_cross_entropy(net(x[idx]), t[idx]).backward()
            opt.step()
        with mg.no_grad():
            acc = F.accuracy(net(xt), tt)
        if acc >= MARK:
            break
    return time.perf_counter() - start, epoch, acc


def run_sklearn(data) -> tuple[float, int, float] | None:
    try:
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None
    (x, t), (xt, tt) = data
    rng = np.random.default_rng(0)
    model = MLPClassifier(hidden_layer_sizes=(100,), activation="logistic", solver="adam",
                          learning_rate_init=LR, batch_size=BATCH, random_state=0)
    classes = np.arange(10)
    start = time.perf_counter()
    epoch = 0
    while epoch < MAX_EPOCHS:
        epoch += 1
        order = rng.permutation(len(x))
        model.partial_fit(x[order], t[order], classes=classes)   # one pass, batches of 100
        acc = model.score(xt, tt)
        if acc >= MARK:
            break
    return time.perf_counter() - start, epoch, acc


def run_torch(torch, data) -> tuple[float, int, float]:
    (x, t), (xt, tt) = data
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    X, T = torch.from_numpy(x), torch.from_numpy(t.astype(np.int64))
    XT, TT = torch.from_numpy(xt), torch.from_numpy(tt.astype(np.int64))
    net = torch.nn.Sequential(torch.nn.Linear(784, 100), torch.nn.Sigmoid(),
                              torch.nn.Linear(100, 10))
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    loss_fn = torch.nn.CrossEntropyLoss()
    start = time.perf_counter()
    epoch = 0
    while epoch < MAX_EPOCHS:
        epoch += 1
        for idx in batches(len(x), rng):
            i = torch.from_numpy(idx)
            opt.zero_grad()
            loss_fn(net(X[i]), T[i]).backward()
            opt.step()
        with torch.no_grad():
            acc = (net(XT).argmax(1) == TT).float().mean().item()
        if acc >= MARK:
            break
    return time.perf_counter() - start, epoch, acc


def main(quick: bool = False) -> list[str]:
    try:
        data = load_fashion_mnist(download=False)
    except DatasetNotFoundError:
        return ["## End to end: Fashion-MNIST to 0.87", "",
                "skipped: Fashion-MNIST is not installed (apt-get install dataset-fashion-mnist)"]
    results = {"minigrad: TwoLayerNet (book's init) + Adam": run_minigrad(data, "TwoLayerNet"),
               "minigrad: nn.Sequential (Xavier init) + Adam": run_minigrad(data, "nn")}
    sk = run_sklearn(data)
    if sk is not None:
        results["scikit-learn MLPClassifier"] = sk
    torch = torch_or_none()
    if torch is not None:
        results["PyTorch eager"] = run_torch(torch, data)
    rows = [[name, f"{s:.1f}", epochs, f"{s / epochs:.2f}", f"{acc:.4f}",
             "yes" if acc >= MARK else "no"] for name, (s, epochs, acc) in results.items()]
    return ["## End to end: Fashion-MNIST, 784-100-10 to 0.87 test accuracy", "",
            table(["contender", "seconds", "epochs", "s/epoch", "test accuracy", "reached"],
                  rows), "",
            f"(float32, batches of {BATCH}, Adam lr {LR}, sigmoid; test accuracy after every "
            f"epoch, counted in the time; {machine()})"]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print("\n".join(main(parse_args(parser).quick)))
