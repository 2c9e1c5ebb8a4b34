"""The arrays every loader returns, in the conventions of load_mnist's arguments."""

from __future__ import annotations

import numpy as np

Split = tuple[np.ndarray, np.ndarray]
"""One part of a dataset: images ``x`` and labels ``t``."""


def as_split(images: np.ndarray, labels: np.ndarray, *, max_value: float, num_classes: int,
             normalize: bool, flatten: bool, one_hot_label: bool) -> Split:
    """``(x, t)`` from (N, H, W) images with values 0..``max_value`` and (N,) integer labels.

    ``normalize``: x as float32 in [0, 1], else uint8. ``flatten``: x as (N, H*W), else
    (N, 1, H, W). ``one_hot_label``: t as float32 (N, ``num_classes``) one-hot rows, else
    int64 class indices (N,).
    """
    n, rows, cols = images.shape
    if normalize:
        x = images.astype(np.float32)
        x /= max_value
    else:
        x = images.astype(np.uint8, copy=False)
    x = x.reshape(n, rows * cols) if flatten else x.reshape(n, 1, rows, cols)
    t: np.ndarray = labels.astype(np.int64, copy=False)
    if one_hot_label:
        t = np.eye(num_classes, dtype=np.float32)[t]
    return x, t
