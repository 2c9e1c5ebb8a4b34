"""Weights to and from PyTorch's `state_dict`, with numpy only.

Each layer whose names or layouts differ from PyTorch's declares them in
`torch_names`: minigrad's name -> (PyTorch's name, transposed?). `Linear`'s W
is (in, out) and PyTorch's weight (out, in); `BatchNorm1d`'s gamma and beta
are PyTorch's weight and bias; `Conv2d`, `Embedding`, `LayerNorm` and the
recurrent layers already share PyTorch's names and layouts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from . import Module

# kept by PyTorch, meaningless here (minigrad's BatchNorm1d always uses `momentum`)
_IGNORED = ("num_batches_tracked",)


def _as_numpy(value: Any) -> np.ndarray:
    """A torch tensor (without importing torch), a minigrad Tensor or an array, as ndarray."""
    if hasattr(value, "detach") and hasattr(value, "cpu"):
        value = value.detach().cpu().numpy()
    return np.asarray(getattr(value, "_data", value))


def _pairs(model: Module) -> dict[str, tuple[str, np.ndarray, bool]]:
    """PyTorch's key -> (minigrad's key, the model's array, transposed?)."""
    pairs: dict[str, tuple[str, np.ndarray, bool]] = {}
    for key, (module, name, array) in model._state_targets().items():
        prefix = key[: len(key) - len(name)]
        torch_name, transposed = getattr(module, "torch_names", {}).get(name, (name, False))
        pairs[prefix + torch_name] = (key, array, transposed)
    return pairs


def to_torch(model: Module) -> dict[str, np.ndarray]:
    """Copies of the model's parameters and buffers under PyTorch's keys and layouts."""
    return {key: np.array(array.T if transposed else array)
            for key, (_, array, transposed) in _pairs(model).items()}


def from_torch(model: Module, state: Mapping[str, Any], strict: bool = True) -> None:
    """Load PyTorch's keys and layouts; everything is checked before anything is written."""
    where = type(model).__name__ + ".load_torch_state_dict"
    pairs = _pairs(model)
    unexpected = [k for k in state if k not in pairs and k.rsplit(".", 1)[-1] not in _IGNORED]
    missing = [k for k in pairs if k not in state]
    if strict and (missing or unexpected):
        parts = ([f"missing keys {missing}"] if missing else []) + \
            ([f"unexpected keys {unexpected}"] if unexpected else [])
        raise KeyError(f"{where}: " + " and ".join(parts) + f" (the model has PyTorch keys "
                       f"{list(pairs)})")
    converted, mismatched = {}, []
    for key, (ours, array, transposed) in pairs.items():
        if key not in state:
            continue
        value = _as_numpy(state[key])
        expected = array.T.shape if transposed else array.shape
        if value.shape != expected:
            mismatched.append(f"{key}: checkpoint {value.shape}, model {expected}"
                              + (f" (minigrad's {ours} is {array.shape}, transposed)"
                                 if transposed else ""))
        converted[ours] = value.T if transposed else value
    if mismatched:
        raise ValueError(f"{where}: shape mismatch for " + "; ".join(mismatched))
    model.load_state_dict(converted, strict=False)
