"""Hessian of a 100-parameter loss and Jacobian of a 100 -> 100 function.

minigrad's `hessian` / `jacobian` (each strategy) against PyTorch's
`torch.autograd.functional` (vectorize=False and True) and against finite
differences, in interleaved rounds; each figure is a median.
"""

from __future__ import annotations

import argparse

import numpy as np
from _harness import interleaved, machine, median, parse_args, status, table, torch_or_none

import minigrad as mg

N = 100            # parameters of the loss; inputs and outputs of the function
NARROW = 10        # inputs of the tall function (R^10 -> R^100)
SAMPLES = 200      # rows of the logistic-regression data
EPS = 1e-6


def problem(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"X": rng.standard_normal((SAMPLES, N)) / np.sqrt(N),
            "y": rng.choice([-1.0, 1.0], SAMPLES),
            "w": 0.1 * rng.standard_normal(N),
            "W1": rng.standard_normal((N, N)) / np.sqrt(N),
            "W2": rng.standard_normal((N, N)) / np.sqrt(N),
            "x": rng.standard_normal(N),
            "V1": rng.standard_normal((N, NARROW)) / np.sqrt(NARROW),
            "u": rng.standard_normal(NARROW)}


# The loss: L2-regularised logistic regression, log(1 + e^-m) averaged over samples.
# The function: a two-layer tanh network with a skip connection, R^100 -> R^100;
# the tall function: the same network on 10 inputs, R^10 -> R^100.

def minigrad_fns(p):
    X, y, W1, W2 = mg.Tensor(p["X"]), p["y"], mg.Tensor(p["W1"]), mg.Tensor(p["W2"])

    def loss(w):
        margins = y * (X @ w)
        return mg.log(1 + mg.exp(-margins)).mean() + 0.01 * (w * w).sum()

    def f(x):
        return W2 @ mg.tanh(W1 @ x) + mg.sin(x)

    V1 = mg.Tensor(p["V1"])

    def tall(u):
        return W2 @ mg.tanh(V1 @ u)

    return loss, f, tall


def torch_fns(torch, p):
    X, y = torch.from_numpy(p["X"]), torch.from_numpy(p["y"])
    W1, W2 = torch.from_numpy(p["W1"]), torch.from_numpy(p["W2"])

    def loss(w):
        margins = y * (X @ w)
        return torch.log(1 + torch.exp(-margins)).mean() + 0.01 * (w * w).sum()

    def f(x):
        return W2 @ torch.tanh(W1 @ x) + torch.sin(x)

    V1 = torch.from_numpy(p["V1"])

    def tall(u):
        return W2 @ torch.tanh(V1 @ u)

    return loss, f, tall


def numpy_fns(p):
    """The same two functions in plain numpy, and the loss's gradient by hand."""
    X, y, W1, W2 = p["X"], p["y"], p["W1"], p["W2"]

    def gradient(w):
        m = y * (X @ w)
        return X.T @ (-y / (1 + np.exp(m))) / SAMPLES + 0.02 * w

    def f(x):
        return W2 @ np.tanh(W1 @ x) + np.sin(x)

    def tall(u):
        return W2 @ np.tanh(p["V1"] @ u)

    return gradient, f, tall


def central_differences(fn, x):
    """Jacobian of fn at x by central differences: 2 evaluations per input element."""
    columns = []
    for k in range(x.size):
        step = np.zeros_like(x)
        step[k] = EPS
        columns.append((fn(x + step) - fn(x - step)) / (2 * EPS))
    return np.stack(columns, axis=-1)


def contenders(p, torch):
    loss, f, tall = minigrad_fns(p)
    gradient, f_np, tall_np = numpy_fns(p)
    w, x, u = p["w"], p["x"], p["u"]
    hess = {
        "minigrad hessian (default: reverse over reverse)": lambda: mg.hessian(loss, w),
        "minigrad hessian (forward over reverse)":
            lambda: mg.hessian(loss, w, outer_jacobian_strategy="forward-mode"),
        "finite differences of the numpy gradient": lambda: central_differences(gradient, w),
    }
    jac = {
        "minigrad jacobian (reverse: a row per output)":
            lambda: mg.jacobian(f, x, strategy="reverse-mode"),
        "minigrad jacobian (forward: a column per input)":
            lambda: mg.jacobian(f, x, strategy="forward-mode"),
        "minigrad jacobian (default: auto)": lambda: mg.jacobian(f, x),
        "finite differences of the numpy function": lambda: central_differences(f_np, x),
    }
    narrow = {
        "minigrad jacobian (reverse: a row per output)":
            lambda: mg.jacobian(tall, u, strategy="reverse-mode"),
        "minigrad jacobian (forward: a column per input)":
            lambda: mg.jacobian(tall, u, strategy="forward-mode"),
        "minigrad jacobian (default: auto)": lambda: mg.jacobian(tall, u),
        "finite differences of the numpy function": lambda: central_differences(tall_np, u),
    }
    if torch is not None:
        tloss, tf, ttall = torch_fns(torch, p)
        tw, tx, tu = torch.from_numpy(w), torch.from_numpy(x), torch.from_numpy(u)
        functional = torch.autograd.functional
        for vectorize in (False, True):
            hess[f"PyTorch hessian, vectorize={vectorize}"] = (
                lambda v=vectorize: functional.hessian(tloss, tw, vectorize=v))
            jac[f"PyTorch jacobian, vectorize={vectorize}"] = (
                lambda v=vectorize: functional.jacobian(tf, tx, vectorize=v))
            narrow[f"PyTorch jacobian, vectorize={vectorize}"] = (
                lambda v=vectorize: functional.jacobian(ttall, tu, vectorize=v))
    return hess, jac, narrow


def check_agreement(p, torch) -> float:
    """Largest difference between minigrad's and PyTorch's (or numpy's) results."""
    loss, f, tall = minigrad_fns(p)
    gradient, f_np, tall_np = numpy_fns(p)
    worst = max(np.abs(mg.hessian(loss, p["w"]).data - central_differences(gradient, p["w"])).max(),
                np.abs(mg.jacobian(f, p["x"]).data - central_differences(f_np, p["x"])).max(),
                np.abs(mg.jacobian(tall, p["u"]).data - central_differences(tall_np, p["u"])).max())
    if torch is not None:
        tloss, tf, _ = torch_fns(torch, p)
        H = torch.autograd.functional.hessian(tloss, torch.from_numpy(p["w"])).numpy()
        J = torch.autograd.functional.jacobian(tf, torch.from_numpy(p["x"])).numpy()
        worst = max(worst, np.abs(mg.hessian(loss, p["w"]).data - H).max(),
                    np.abs(mg.jacobian(f, p["x"]).data - J).max())
    return float(worst)


def main(quick: bool = False) -> list[str]:
    rounds = 5 if quick else 30
    torch = torch_or_none()
    p = problem()
    agreement = check_agreement(p, torch)
    lines = ["## Hessian and Jacobian", ""]
    verdicts = []
    titles = (f"hessian of a {N}-parameter loss ({SAMPLES} samples)",
              f"jacobian of a {N} -> {N} function", f"jacobian of a {NARROW} -> {N} function")
    for title, group in zip(titles, contenders(p, torch)):
        times = interleaved(group, rounds, warmup=1)
        rows = []
        ours = next(median(ts) for name, ts in times.items() if "(default" in name)
        torch_slow = next((median(ts) for name, ts in times.items()
                           if name.endswith("vectorize=False")), None)
        for name, ts in times.items():
            rows.append([name, f"{median(ts) * 1e3:.2f}", f"{median(ts) / ours:.2f}"])
        lines += [f"### {title}", "",
                  table(["contender", "ms", "× minigrad default"], rows), ""]
        if torch_slow is not None:
            verdicts.append(f"{title}: minigrad {ours * 1e3:.2f} ms vs PyTorch "
                            f"vectorize=False {torch_slow * 1e3:.2f} ms — "
                            f"{status(ours < torch_slow)}")
    lines += ["Target: faster than PyTorch's non-vectorized version."]
    lines += verdicts or ["(PyTorch not installed: no comparison)"]
    lines += [f"Largest difference from PyTorch / finite differences: {agreement:.1e}",
              f"(median of {rounds} interleaved rounds; {machine()})"]
    return lines


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    print("\n".join(main(parse_args(parser).quick)))
