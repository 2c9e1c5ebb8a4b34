"""Training utilities with PyTorch's names: `clip_grad_norm_`."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from minigrad.engine import Tensor, _make
from minigrad.versions import bump_version

__all__ = ["clip_grad_norm_"]


def clip_grad_norm_(parameters: Tensor | Iterable[Tensor], max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> Tensor:
    """Scale the parameters' `.grad` in place so that their norm, taken over all of them as
    one vector, is at most `max_norm`; returns that norm before scaling (a 0-d Tensor).

    As PyTorch's: the scale is max_norm / (norm + 1e-6), capped at 1; `norm_type` may be
    `inf` (the largest absolute value); parameters without a gradient are passed by."""
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    grads = [p.grad for p in parameters if p.grad is not None]
    norm_type = float(norm_type)
    if not grads:
        return _make(np.asarray(0.0), None, False)
    arrays = [g._data for g in grads]
    if norm_type == np.inf:
        total = max(float(np.max(np.abs(a))) if a.size else 0.0 for a in arrays)
    else:
        norms = [np.linalg.norm(a.reshape(-1), norm_type) for a in arrays]
        total = float(np.linalg.norm(np.array(norms, dtype=np.float64), norm_type))
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is {total}, "
            "so they cannot be clipped; pass error_if_nonfinite=False to scale them anyway")
    scale = min(float(max_norm) / (total + 1e-6), 1.0)
    for a in arrays:
        a *= np.asarray(scale, dtype=a.dtype)
        bump_version(a)
    return _make(np.asarray(total, dtype=arrays[0].dtype), None, False)
