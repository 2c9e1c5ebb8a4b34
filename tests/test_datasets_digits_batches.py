"""load_digits (scikit-learn's embedded 8x8 digits) and the mini-batch iterators."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad.datasets import load_digits, minibatches, random_batch
from minigrad.datasets.digits import stratified_split

# ---------------------------------------------------------------- load_digits


@pytest.fixture(scope="module")
def sk():
    return pytest.importorskip("sklearn.datasets")


def test_digits_defaults(sk) -> None:
    (x_train, t_train), (x_test, t_test) = load_digits()
    assert x_train.shape == (1437, 64) and x_test.shape == (360, 64)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert t_train.dtype == np.int64 and t_train.shape == (1437,)
    assert set(np.unique(t_test)) == set(range(10))
    # the split is a partition of the 1797 images (compare sorted rows with the source)
    ref = sk.load_digits()
    both = np.concatenate([x_train, x_test]) * 16
    key = lambda a: np.lexsort(np.round(a).astype(int).T)  # noqa: E731
    np.testing.assert_array_equal(
        np.round(both[key(both)]), ref.data[key(ref.data)].astype(np.float32)
    )


def test_digits_is_stratified(sk) -> None:
    (_, t_train), (_, t_test) = load_digits()
    full = np.bincount(sk.load_digits().target, minlength=10)
    test_counts = np.bincount(t_test, minlength=10)
    assert test_counts.sum() == 360
    assert np.all(np.abs(test_counts - 0.2 * full) < 1)
    np.testing.assert_array_equal(np.bincount(t_train, minlength=10) + test_counts, full)


def test_digits_raw_unflattened_one_hot(sk) -> None:
    (x_train, t_train), _ = load_digits(normalize=False, flatten=False, one_hot_label=True)
    assert x_train.shape == (1437, 1, 8, 8) and x_train.dtype == np.uint8
    assert x_train.max() == 16
    assert t_train.shape == (1437, 10) and t_train.dtype == np.float32
    np.testing.assert_array_equal(t_train.sum(axis=1), 1)


def test_digits_deterministic_per_seed(sk) -> None:
    a = load_digits(seed=3)
    b = load_digits(seed=3)
    c = load_digits(seed=4)
    np.testing.assert_array_equal(a[0][0], b[0][0])
    np.testing.assert_array_equal(a[1][1], b[1][1])
    assert not np.array_equal(a[0][1], c[0][1])


def test_digits_test_size_as_count(sk) -> None:
    (x_train, _), (x_test, _) = load_digits(test_size=500)
    assert len(x_test) == 500 and len(x_train) == 1297


@pytest.mark.parametrize(
    ("bad", "err"),
    [(0.0, ValueError), (1.5, ValueError), (0, ValueError), (1797, ValueError), ("a", TypeError)],
)
def test_split_rejects_bad_test_size(bad, err) -> None:
    with pytest.raises(err, match="test_size"):
        stratified_split(np.arange(1797) % 10, bad)


def test_split_is_a_partition() -> None:
    labels = np.repeat(np.arange(3), [10, 20, 31])
    train, test = stratified_split(labels, 0.25, seed=1)
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(61))
    # ceil(0.25 * 61) = 16 test samples; exact shares 2.5, 5, 7.75 -> 2+1, 5, 7+1
    assert np.bincount(labels[test]).tolist() == [3, 5, 8]
    _, test = stratified_split(np.arange(30) % 3, 0.1)
    assert len(test) == 3


# ---------------------------------------------------------------- minibatches


@settings(max_examples=50, deadline=None)
@given(n=st.integers(0, 50), bs=st.integers(1, 60), shuffle=st.booleans(), drop=st.booleans())
def test_each_sample_once_per_epoch(n: int, bs: int, shuffle: bool, drop: bool) -> None:
    x = np.arange(n * 2).reshape(n, 2)
    t = np.arange(n)
    batches = list(minibatches(x, t, bs, shuffle=shuffle, rng=7, drop_last=drop))
    seen = np.concatenate([tb for _, tb in batches]) if batches else np.array([], int)
    for xb, tb in batches:
        np.testing.assert_array_equal(xb[:, 0], tb * 2)  # rows stay paired
    expected = n - n % bs if drop else n
    assert len(seen) == expected
    assert len(np.unique(seen)) == expected
    assert all(len(tb) == bs for _, tb in batches[:-1])
    if drop:
        assert all(len(tb) == bs for _, tb in batches)
    if not shuffle:
        np.testing.assert_array_equal(seen, np.arange(expected))


def test_shuffle_order_depends_on_rng() -> None:
    t = np.arange(100)
    order = lambda rng: np.concatenate([tb for _, tb in minibatches(t, t, 10, rng=rng)])  # noqa: E731
    np.testing.assert_array_equal(order(1), order(1))
    np.testing.assert_array_equal(order(np.random.default_rng(1)), order(1))
    assert not np.array_equal(order(1), order(2))
    assert not np.array_equal(order(1), t)


def test_generator_advances_between_epochs() -> None:
    t = np.arange(50)
    g = np.random.default_rng(0)
    e1 = np.concatenate([tb for _, tb in minibatches(t, t, 50, rng=g)])
    e2 = np.concatenate([tb for _, tb in minibatches(t, t, 50, rng=g)])
    assert not np.array_equal(e1, e2)


def test_drop_last_counts() -> None:
    t = np.arange(10)
    assert [len(b) for _, b in minibatches(t, t, 4, shuffle=False)] == [4, 4, 2]
    assert [len(b) for _, b in minibatches(t, t, 4, shuffle=False, drop_last=True)] == [4, 4]


def test_errors_are_raised_at_call_time() -> None:
    x = np.zeros((10, 3))
    with pytest.raises(ValueError, match="x has 10, t has 9"):
        minibatches(x, np.zeros(9), 2)
    with pytest.raises(ValueError, match="batch_size must be at least 1, got 0"):
        minibatches(x, np.zeros(10), 0)
    with pytest.raises(TypeError, match="batch_size must be an integer, got float 2.5"):
        minibatches(x, np.zeros(10), 2.5)
    with pytest.raises(TypeError, match="rng must be a numpy Generator, an integer seed or None"):
        minibatches(x, np.zeros(10), 2, rng="seed")


def test_random_batch_the_books_way() -> None:
    x = np.arange(20).reshape(10, 2)
    t = np.arange(10)
    xb, tb = random_batch(x, t, 32, rng=0)  # with replacement: may exceed n
    assert xb.shape == (32, 2) and tb.shape == (32,)
    np.testing.assert_array_equal(xb[:, 0], tb * 2)
    np.testing.assert_array_equal(random_batch(x, t, 5, rng=3)[1], random_batch(x, t, 5, rng=3)[1])
    with pytest.raises(ValueError, match="empty dataset"):
        random_batch(x[:0], t[:0], 1)


def test_digits_without_sklearn_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r'pip install "minigrad\[examples\]"'):
        load_digits()
