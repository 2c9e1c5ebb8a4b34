"""Random numbers: the one place that turns an `rng` argument into a numpy Generator."""

from __future__ import annotations

import numpy as np

Seed = int | np.integer | np.random.Generator | None


def as_generator(rng: Seed) -> np.random.Generator | None:
    """An int seeds a new Generator; a Generator is used as it is; None stays None, for the
    caller's default (numpy's global state where the book uses it, else a fresh Generator)."""
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {rng!r}")
