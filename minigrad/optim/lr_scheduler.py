"""Learning-rate schedules with PyTorch's names and semantics.

A scheduler sets `optimizer.lr` from the learning rate the optimizer had when the
scheduler was made (`base_lrs[0]`) and a count of `step()` calls, `last_epoch`:

    scheduler = StepLR(optimizer, step_size=30, gamma=0.1)
    for epoch in range(100):
        train(...)                # optimizer.step() inside
        scheduler.step()          # once per epoch, after the optimizer's steps

As in PyTorch, making a scheduler counts as its first step (`last_epoch` 0, the base rate),
and each rate is computed from `last_epoch` in closed form.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from minigrad._checks import check_float, check_int

from . import Optimizer

__all__ = ["LRScheduler", "StepLR", "ExponentialLR", "CosineAnnealingLR", "LambdaLR"]


class LRScheduler:
    """Base class: subclasses say the rate at `last_epoch` in `rate()`."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        name = type(self).__name__
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{name}: expected a minigrad optimizer, got "
                            f"{type(optimizer).__name__}")
        self.optimizer = optimizer
        self.last_epoch = check_int(last_epoch, "last_epoch", name, minimum=-1)
        if self.last_epoch == -1:
            optimizer.initial_lr = optimizer.lr         # what a resumed schedule starts from
        elif not hasattr(optimizer, "initial_lr"):
            raise KeyError(f"{name}: last_epoch={last_epoch} resumes a schedule, but the "
                           "optimizer has no initial_lr (set optimizer.initial_lr first)")
        self.base_lrs = [float(optimizer.initial_lr)]
        self.step()

    def rate(self) -> float:
        raise NotImplementedError

    def step(self) -> None:
        """Count one step (an epoch, usually) and set the optimizer's learning rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.rate()
        self._last_lr = [self.optimizer.lr]

    def get_last_lr(self) -> list[float]:
        """The learning rate the last step set (a list, one entry per group, as PyTorch's)."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        """What resumes the schedule (everything but the optimizer and functions)."""
        return {k: v for k, v in self.__dict__.items()
                if k != "optimizer" and not callable(v)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.optimizer.lr})"


class StepLR(LRScheduler):
    """The base rate times gamma for every `step_size` steps done."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = check_int(step_size, "step_size", "StepLR")
        self.gamma = check_float(gamma, "gamma", "StepLR")
        super().__init__(optimizer, last_epoch)

    def rate(self) -> float:
        return self.base_lrs[0] * self.gamma ** (self.last_epoch // self.step_size)


class ExponentialLR(LRScheduler):
    """The base rate times gamma at every step."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = check_float(gamma, "gamma", "ExponentialLR")
        super().__init__(optimizer, last_epoch)

    def rate(self) -> float:
        return self.base_lrs[0] * self.gamma ** self.last_epoch


class CosineAnnealingLR(LRScheduler):
    """From the base rate down to `eta_min` along half a cosine over `T_max` steps (and
    back up over the next T_max, as PyTorch's, if stepped further)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = check_int(T_max, "T_max", "CosineAnnealingLR")
        self.eta_min = check_float(eta_min, "eta_min", "CosineAnnealingLR")
        super().__init__(optimizer, last_epoch)

    def rate(self) -> float:
        cosine = math.cos(math.pi * self.last_epoch / self.T_max)
        return self.eta_min + (self.base_lrs[0] - self.eta_min) * (1 + cosine) / 2


class LambdaLR(LRScheduler):
    """The base rate times `lr_lambda(last_epoch)`."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float],
                 last_epoch: int = -1) -> None:
        if not callable(lr_lambda):
            raise TypeError(f"LambdaLR: lr_lambda must be a function of the step count, got "
                            f"{type(lr_lambda).__name__}")
        self.lr_lambda = lr_lambda
        super().__init__(optimizer, last_epoch)

    def rate(self) -> float:
        return self.base_lrs[0] * float(self.lr_lambda(self.last_epoch))
