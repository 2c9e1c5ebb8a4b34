"""Real data: the genuine MNIST test set (../shared/data/mnist) and Debian's Fashion-MNIST.

Skipped cleanly where the files are absent. Nothing is copied into the project: the MNIST test
files are read in place (or symlinked from a temporary folder).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from minigrad.datasets import (
    FASHION_MNIST,
    DatasetNotFoundError,
    load_fashion_mnist,
    load_mnist,
    read_idx,
    write_idx,
)

MNIST_DIR = Path(
    os.environ.get("MINIGRAD_TEST_MNIST_DIR")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "mnist"
)
TEST_FILES = ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FIRST_LABELS = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]

needs_mnist = pytest.mark.skipif(
    not all((MNIST_DIR / f).is_file() for f in TEST_FILES),
    reason=f"MNIST test set not found in {MNIST_DIR}",
)
FASHION_DIR = Path(FASHION_MNIST.system_dirs[0])
needs_fashion = pytest.mark.skipif(
    not all((FASHION_DIR / f.name).is_file() for f in FASHION_MNIST.files().values()),
    reason=f"Debian's dataset-fashion-mnist not installed in {FASHION_DIR}",
)


@needs_mnist
def test_read_idx_on_the_real_test_set() -> None:
    images = read_idx(MNIST_DIR / "t10k-images-idx3-ubyte.gz", ndim=3)
    labels = read_idx(MNIST_DIR / "t10k-labels-idx1-ubyte.gz", ndim=1)
    assert images.shape == (10000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (10000,) and labels.dtype == np.uint8
    assert images.min() == 0 and images.max() == 255
    assert np.bincount(labels, minlength=10).tolist() == TEST_COUNTS
    assert labels[:10].tolist() == FIRST_LABELS


@needs_mnist
def test_load_mnist_on_the_real_test_set(tmp_path: Path) -> None:
    # The real test files (symlinked, not copied) next to tiny made-up training files.
    for name in TEST_FILES:
        (tmp_path / name).symlink_to(MNIST_DIR / name)
    rng = np.random.default_rng(0)
    write_idx(tmp_path / "train-images-idx3-ubyte.gz", rng.integers(0, 256, (5, 28, 28), np.uint8))
    write_idx(tmp_path / "train-labels-idx1-ubyte.gz", np.arange(5, dtype=np.uint8))

    (x_train, _), (x_test, t_test) = load_mnist(root=tmp_path, download=False)
    assert x_train.shape == (5, 784)
    assert x_test.shape == (10000, 784) and x_test.dtype == np.float32
    assert x_test.min() == 0.0 and x_test.max() == 1.0
    assert 0.1 < x_test.mean() < 0.15  # MNIST's mean intensity is about 0.13
    assert t_test.dtype == np.int64
    assert np.bincount(t_test, minlength=10).tolist() == TEST_COUNTS
    assert t_test[:10].tolist() == FIRST_LABELS

    _, (x4, t1h) = load_mnist(False, False, True, root=tmp_path, download=False)
    assert x4.shape == (10000, 1, 28, 28) and x4.dtype == np.uint8
    assert t1h.shape == (10000, 10) and t1h.sum(axis=0).tolist() == TEST_COUNTS
    np.testing.assert_array_equal(x4.reshape(10000, -1) / np.float32(255), x_test)


@needs_mnist
def test_real_folder_without_training_files_says_so() -> None:
    with pytest.raises(DatasetNotFoundError) as e:
        load_mnist(root=MNIST_DIR, download=False)
    msg = str(e.value)
    assert "the training files are missing" in msg
    assert "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz" in msg
    assert str(Path(os.path.abspath(MNIST_DIR))) in msg


@needs_fashion
def test_full_fashion_mnist_from_debian(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Empty env and cache folders, no downloads: the files can only come from Debian's folder.
    monkeypatch.setenv("MINIGRAD_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (x_train, t_train), (x_test, t_test) = load_fashion_mnist(normalize=False, download=False)
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.uint8 and x_train.max() == 255
    assert np.bincount(t_train, minlength=10).tolist() == [6000] * 10
    assert np.bincount(t_test, minlength=10).tolist() == [1000] * 10
    assert not (tmp_path / "data").exists() and not (tmp_path / "cache").exists()
