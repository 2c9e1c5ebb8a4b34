"""The 8x8 handwritten digits bundled with scikit-learn: a real dataset that needs no download."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ._format import Split, as_split

__all__ = ["load_digits", "stratified_split"]


def stratified_split(
    labels: np.ndarray, test_size: float | int, seed: int | None = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Indices ``(train, test)`` splitting ``labels`` so each class keeps its proportion.

    ``test_size`` is a fraction in (0, 1) or a number of samples; the test set gets
    ``ceil(fraction * n)`` samples (as in scikit-learn), each class its proportional share
    rounded down or up. Both index arrays are shuffled. The same ``seed`` gives the same split.
    """
    labels = np.asarray(labels)
    n = len(labels)
    if isinstance(test_size, (bool, np.bool_)) or not isinstance(
        test_size, (int, float, np.integer, np.floating)
    ):
        raise TypeError(f"test_size must be a fraction or a count, got {test_size!r}")
    if isinstance(test_size, (float, np.floating)):
        if not 0.0 < test_size < 1.0:
            raise ValueError(f"test_size as a fraction must be in (0, 1), got {test_size}")
        fraction = float(test_size)
    else:
        if not 0 < test_size < n:
            raise ValueError(f"test_size as a count must be in 1..{n - 1}, got {test_size}")
        fraction = int(test_size) / n
    # Largest-remainder allocation: the test set has ceil(fraction * n) samples in total and
    # each class gets its exact share rounded down or up.
    classes, counts = np.unique(labels, return_counts=True)
    if isinstance(test_size, (float, np.floating)):
        total = int(np.ceil(fraction * n - 1e-9))  # tolerance: 0.1 * 30 is 3.0000000000000004
    else:
        total = int(test_size)
    quotas = fraction * counts
    take = np.floor(quotas).astype(int)
    extra = np.argsort(-(quotas - take), kind="stable")[: total - take.sum()]
    take[extra] += 1
    rng = np.random.default_rng(seed)
    train_parts, test_parts = [], []
    for c, k in zip(classes, take, strict=True):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test_parts.append(idx[:k])
        train_parts.append(idx[k:])
    train = rng.permutation(np.concatenate(train_parts))
    test = rng.permutation(np.concatenate(test_parts))
    return train, test


def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as (1797, 8, 8) float64 images of integers 0..16 and int64 labels.

    Read straight from the data file scikit-learn ships (importing scikit-learn itself takes
    seconds); through scikit-learn's own loader where that file is not where it used to be.
    """
    try:
        spec = importlib.util.find_spec("sklearn")
    except (ImportError, ValueError):        # blocked in sys.modules
        spec = None
    if spec is None:
        raise ImportError('load_digits() needs scikit-learn: pip install "minigrad[examples]" '
                          "(or: pip install scikit-learn)")
    for folder in spec.submodule_search_locations or ():
        path = Path(folder) / "datasets" / "data" / "digits.csv.gz"
        if path.is_file():
            table = np.loadtxt(path, delimiter=",")
            return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(np.int64)
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    return np.asarray(bunch.images), np.asarray(bunch.target).astype(np.int64)


def load_digits(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    test_size: float | int = 0.2,
    seed: int | None = 0,
) -> tuple[Split, Split]:
    """Load scikit-learn's 1,797 8x8 digit images as ``(x_train, t_train), (x_test, t_test)``.

    Same conventions as :func:`load_mnist`, so examples can switch between them, but small and
    offline: the data ships inside scikit-learn.

    - ``normalize``: pixels as float32 in [0, 1] (the raw values are 0..16); otherwise uint8.
    - ``flatten``: images as (N, 64); otherwise (N, 1, 8, 8).
    - ``one_hot_label``: labels as float32 (N, 10); otherwise int64 class indices (N,).
    - ``test_size``/``seed``: a stratified split (each digit in the same proportion in both
      parts), deterministic for a given seed; the default holds out 20% (360 images).

    Raises ImportError with install instructions when scikit-learn is missing.
    """
    images, labels = _digits()
    x, t = as_split(images, labels, max_value=16.0, num_classes=10, normalize=normalize,
                    flatten=flatten, one_hot_label=one_hot_label)
    train, test = stratified_split(labels, test_size, seed)
    return (x[train], t[train]), (x[test], t[test])
