"""Datasets for minigrad: MNIST, Fashion-MNIST, scikit-learn's 8x8 digits, and mini-batching.

Depends on numpy only; scikit-learn (for :func:`load_digits`) and tqdm (download progress bars)
are optional and imported when needed.

    from minigrad.datasets import load_mnist, minibatches
    (x_train, t_train), (x_test, t_test) = load_mnist(normalize=True, one_hot_label=True)
    for xb, tb in minibatches(x_train, t_train, 100, rng=0):
        ...
"""

from .batches import minibatches, random_batch
from .digits import load_digits
from .download import DownloadError, download
from .idx import IDXError, read_idx, write_idx
from .mnist import (
    FASHION_MNIST,
    MNIST,
    DataFile,
    DatasetNotFoundError,
    DatasetSpec,
    load_fashion_mnist,
    load_mnist,
    locate,
    search_dirs,
)

__all__ = [
    "read_idx",
    "write_idx",
    "load_mnist",
    "load_fashion_mnist",
    "load_digits",
    "minibatches",
    "random_batch",
    "download",
    "locate",
    "search_dirs",
    "DataFile",
    "DatasetSpec",
    "MNIST",
    "FASHION_MNIST",
    "IDXError",
    "DownloadError",
    "DatasetNotFoundError",
]
