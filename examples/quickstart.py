"""A custom loss written as an expression, its gradients by backward(), checked by gradcheck."""

import numpy as np

import minigrad as mg
from minigrad.gradcheck import gradcheck


def huber(pred: mg.Tensor, target: np.ndarray | float, delta: float = 1.0) -> mg.Tensor:
    r = pred - target
    return mg.where(abs(r) <= delta, 0.5 * r ** 2, delta * (abs(r) - 0.5 * delta)).mean()


rng = np.random.default_rng(0)
x, y = rng.standard_normal((8, 3)), rng.standard_normal(8)
w = mg.tensor(rng.standard_normal(3), requires_grad=True)

loss = huber(x @ w, y)
loss.backward()
print("loss", loss.item())
print("dloss/dw", w.grad)
print("gradcheck", gradcheck(lambda w: huber(x @ w, y), [w]))
