"""The book's helpers (its `common/util.py`): smoothing a loss curve, shuffling a data set,
and the convolution's bookkeeping (`conv_output_size`, `im2col`, `col2im`); and the
sequel's: the count-based word vectors (`preprocess`, `create_co_matrix`, `ppmi`,
`cos_similarity`, `most_similar`), `clip_grads` and `eval_perplexity`.

`im2col` and `col2im` return ndarrays in the book's layouts and are minigrad's
convolution primitives (`minigrad.functional.im2col` / `col2im`) run outside
the graph.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from . import functional as F
from ._checks import check_int
from .engine import Tensor, as_array
from .modes import no_grad

__all__ = ["smooth_curve", "shuffle_dataset", "conv_output_size", "im2col", "col2im"]

WINDOW_LENGTH = 11       # the book's smoothing window: Kaiser, 11 points, beta 2
KAISER_BETA = 2.0


def _series(x: Any) -> np.ndarray:
    """x as a 1-D float64 array; the elements may be numbers, 0-d arrays or 0-d Tensors."""
    if isinstance(x, (np.ndarray, Tensor)):
        values = np.asarray(as_array(x), dtype=np.float64)
    else:
        if not isinstance(x, Iterable) or isinstance(x, (str, bytes)):
            raise TypeError(f"smooth_curve: x must be a sequence of numbers, got "
                            f"{type(x).__name__}")
        values = np.asarray([as_array(v) for v in x], dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"smooth_curve: x must be 1-D (a series of values), got shape "
                         f"{values.shape}")
    return values


def smooth_curve(x: Sequence[Any] | np.ndarray) -> np.ndarray:
    """The loss curve x smoothed as the book does, for plots: a weighted moving average.

    The weights are a Kaiser window of 11 points (beta 2), normalized to sum
    to 1. At the ends the series is extended by reflection (at the start
    without repeating the first value, at the end repeating the last, as the
    book's code does), so the result has x's length. x may be an ndarray or a
    list of numbers or of 0-d Tensors (such as losses).
    """
    values = _series(x)
    if values.size == 0:
        return values
    half = WINDOW_LENGTH // 2
    window = np.kaiser(WINDOW_LENGTH, KAISER_BETA)
    window /= window.sum()
    extended = np.pad(np.pad(values, (half, 0), mode="reflect" if values.size > 1 else "edge"),
                      (0, half), mode="symmetric")
    smoothed: np.ndarray = np.convolve(extended, window, mode="valid")
    return smoothed


def shuffle_dataset(x: Any, t: Any) -> tuple[np.ndarray, np.ndarray]:
    """x and t permuted along their first axis, by one permutation from numpy's global random
    state (so `np.random.seed` repeats it), as the book does. Returns new arrays."""
    x, t = np.asarray(as_array(x)), np.asarray(as_array(t))
    if x.ndim == 0 or t.ndim == 0 or len(x) != len(t):
        raise ValueError(f"shuffle_dataset: x of shape {x.shape} and t of shape {t.shape} must "
                         "have the same length along the first axis")
    permutation = np.random.permutation(len(x))
    return x[permutation], t[permutation]


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """(input_size + 2*pad - filter_size) // stride + 1: the output size of a convolution or
    pooling along one axis (floor, as im2col computes it; the book's divides exactly)."""
    where = "conv_output_size"
    size = check_int(input_size, "input_size", where)
    fs = check_int(filter_size, "filter_size", where)
    s = check_int(stride, "stride", where)
    p = check_int(pad, "pad", where, minimum=0)
    if fs > size + 2 * p:
        raise ValueError(f"{where}: filter_size {fs} is larger than the input size {size} "
                         f"padded by {p} on each side ({size + 2 * p})")
    return (size + 2 * p - fs) // s + 1


def im2col(input_data: Any, filter_h: int, filter_w: int, stride: int = 1,
           pad: int = 0) -> np.ndarray:
    """Every filter_h × filter_w window of input_data (N, C, H, W) as one row.

    Returns an ndarray (N*OH*OW, C*filter_h*filter_w), rows ordered (n, oh, ow)
    and columns (c, fh, fw), the padding filled with zeros: the book's layout.
    """
    x = as_array(input_data)
    with no_grad():
        col = F.im2col(x, filter_h, filter_w, stride, pad).data
    if not col.flags.writeable or np.may_share_memory(col, x):    # a view of x (1x1 windows)
        col = col.copy()
    return col


def col2im(col: Any, input_shape: Sequence[int], filter_h: int, filter_w: int, stride: int = 1,
           pad: int = 0) -> np.ndarray:
    """The rows of `col` (as im2col lays them out) added back into an image of `input_shape`.

    Where windows overlap their values add up, and what falls into the padding
    is dropped, as in the book: col2im is the adjoint of im2col (the backward
    of the convolution), not its inverse. Returns an ndarray of `input_shape`.
    """
    with no_grad():
        return F.col2im(as_array(col), tuple(input_shape), filter_h, filter_w, stride, pad).data


# ------------------------------------------------------------ the sequel's helpers

__all__ += ["preprocess", "create_co_matrix", "cos_similarity", "most_similar", "ppmi",
            "clip_grads", "eval_perplexity", "create_contexts_target"]


def preprocess(text: str) -> tuple[np.ndarray, dict[str, int], dict[int, str]]:
    """Lower-case words (a full stop is a word of its own) as ids, in order of first
    appearance: (corpus, word_to_id, id_to_word)."""
    words = text.lower().replace(".", " .").split()
    word_to_id: dict[str, int] = {}
    for word in words:
        word_to_id.setdefault(word, len(word_to_id))
    id_to_word = {i: w for w, i in word_to_id.items()}
    return np.array([word_to_id[w] for w in words]), word_to_id, id_to_word


def create_contexts_target(corpus: Any, window_size: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """word2vec's training pairs: for each word with `window_size` words on both sides,
    those 2·window_size words (in order, left then right) and the word: (contexts, target)."""
    corpus = np.asarray(corpus)
    w = check_int(window_size, "window_size", "create_contexts_target")
    if corpus.ndim != 1 or len(corpus) <= 2 * w:
        raise ValueError(f"create_contexts_target: a corpus of shape {corpus.shape} has no "
                         f"word with {w} words on both sides")
    target = corpus[w:len(corpus) - w]
    offsets = [k for k in range(-w, w + 1) if k != 0]
    contexts = np.stack([corpus[w + k:len(corpus) - w + k] for k in offsets], axis=1)
    return contexts, target


def create_co_matrix(corpus: Any, vocab_size: int, window_size: int = 1) -> np.ndarray:
    """Counts of each word id next to each other within `window_size` places (int32)."""
    corpus = np.asarray(corpus)
    vocab_size = check_int(vocab_size, "vocab_size", "create_co_matrix")
    matrix = np.zeros((vocab_size, vocab_size), dtype=np.int32)
    for offset in range(1, check_int(window_size, "window_size", "create_co_matrix") + 1):
        left, right = corpus[:-offset], corpus[offset:]
        np.add.at(matrix, (left, right), 1)
        np.add.at(matrix, (right, left), 1)
    return matrix


def cos_similarity(x: Any, y: Any, eps: float = 1e-8) -> float:
    """The cosine of the angle between two vectors (eps keeps a zero vector finite)."""
    x, y = np.asarray(as_array(x), float), np.asarray(as_array(y), float)
    return float((x / (np.sqrt((x ** 2).sum()) + eps)) @ (y / (np.sqrt((y ** 2).sum()) + eps)))


def most_similar(query: str, word_to_id: dict[str, int], id_to_word: dict[int, str],
                 word_matrix: Any, top: int = 5) -> list[tuple[str, float]]:
    """Print (and return) the `top` words whose vectors are closest in cosine to query's."""
    if query not in word_to_id:
        print(f"{query} is not found")
        return []
    vectors = np.asarray(as_array(word_matrix), float)
    print(f"\n[query] {query}")
    q = word_to_id[query]
    similarity = np.array([cos_similarity(v, vectors[q]) for v in vectors])
    found: list[tuple[str, float]] = []
    for i in (-similarity).argsort(kind="stable"):
        if i == q:
            continue
        found.append((id_to_word[int(i)], float(similarity[i])))
        print(f" {found[-1][0]}: {found[-1][1]}")
        if len(found) == top:
            break
    return found


def ppmi(C: Any, verbose: bool = False, eps: float = 1e-8) -> np.ndarray:
    """Positive pointwise mutual information of a co-occurrence matrix:
    max(0, log2(C_ij · N / (S_i · S_j))), N the total count and S the row sums (float32)."""
    C = np.asarray(C, dtype=np.float64)
    total, sums = C.sum(), C.sum(axis=0)
    if verbose:
        print(f"ppmi: {C.shape[0]} x {C.shape[1]} counts")
    pmi = np.log2(C * total / np.outer(sums, sums) + eps)
    positive: np.ndarray = np.maximum(pmi, 0).astype(np.float32)
    return positive


def clip_grads(grads: Sequence[np.ndarray], max_norm: float) -> None:
    """Scale the gradient arrays in place so that their joint L2 norm is at most max_norm."""
    total = np.sqrt(sum(float((np.asarray(as_array(g)) ** 2).sum()) for g in grads))
    rate = max_norm / (total + 1e-6)
    if rate < 1:
        for g in grads:
            as_array(g)[...] *= rate


def _takes(function: Any, name: str) -> bool:
    """Does `function` accept the keyword `name` (by name or through **kwargs)?"""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
               or p.kind is p.VAR_KEYWORD for p in parameters)


def eval_perplexity(model: Any, corpus: Any, batch_size: int = 10, time_size: int = 35
                    ) -> float:
    """exp of the mean loss of `model.forward(xs, ts)` over the corpus read as `batch_size`
    parallel streams of `time_size` steps. As in the sequel, a forward that takes
    `train_flg` is called with `train_flg=False` (dropout off); a model with `reset_state`
    has its state reset first."""
    corpus = np.asarray(corpus)
    jump = (len(corpus) - 1) // batch_size
    iterations = jump // time_size
    if iterations < 1:
        raise ValueError(f"eval_perplexity: a corpus of {len(corpus)} words is too short for "
                         f"batches of {batch_size} streams of {time_size} steps")
    if hasattr(model, "reset_state"):
        model.reset_state()
    options = {"train_flg": False} if _takes(model.forward, "train_flg") else {}
    starts = np.arange(batch_size) * jump
    total = 0.0
    for it in range(iterations):
        offsets = starts[:, None] + it * time_size + np.arange(time_size)
        total += float(model.forward(corpus[offsets], corpus[offsets + 1], **options))
    return float(np.exp(total / iterations))
