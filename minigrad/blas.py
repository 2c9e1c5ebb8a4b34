"""How many threads BLAS uses, for the examples and the benchmarks (`--threads N`).

numpy's matrix products run on a BLAS (OpenBLAS for numpy's wheels) that starts a thread
per core. The examples' matrices are small, and on a small machine with other work running
those threads wait for each other far longer than they save: one thread is the default
there. minigrad itself never changes the thread count; a script asks for it with
`limit_blas_threads`.

threadpoolctl (in the `examples` extra; scikit-learn depends on it too) is imported lazily,
only when a limit is asked for. Without it, the environment variables that BLAS libraries
read when they load are set instead: they hold for numpy loaded after the call and for child
processes, not for a numpy already loaded (a note on stderr then says so).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

#: Read by OpenBLAS, OpenMP runtimes (PyTorch's, scikit-learn's), MKL and BLIS when they load.
ENV_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS")


def thread_count(text: str) -> int:
    """argparse type of --threads: an integer ≥ 1."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {n}")
    return n


def add_threads_argument(parser: argparse.ArgumentParser, default: int = 1,
                         default_note: str = "") -> None:
    """Add `--threads N` (BLAS threads, default `default`) to an example's parser."""
    parser.add_argument(
        "--threads", type=thread_count, default=default, metavar="N",
        help=f"BLAS threads (default: {default}{default_note}; on small matrices and on a "
             "busy machine, more threads wait for each other longer than they save)")


def limit_blas_threads(n: int, quiet: bool = False) -> bool:
    """Limit BLAS and OpenMP thread pools to `n` threads, for this process and its children.

    With threadpoolctl the limit applies at once to every library already loaded; the
    environment variables (always set) cover libraries loaded later and child processes.
    Returns whether the limit holds in this process; without threadpoolctl and with numpy
    already loaded it does not, and unless `quiet` a note on stderr says how to fix it.
    """
    n = thread_count(str(n))
    for var in ENV_VARS:
        os.environ[var] = str(n)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if "numpy" not in sys.modules:
            return True
        if not quiet:
            print(f"note: threadpoolctl is not installed, so BLAS keeps its own thread count "
                  f"here (not {n}): pip install threadpoolctl, or set OPENBLAS_NUM_THREADS={n} "
                  "before starting", file=sys.stderr)
        return False
    threadpool_limits(limits=n)
    return True


def blas_threads() -> int | None:
    """The most threads any loaded BLAS may use (None when threadpoolctl cannot tell)."""
    try:
        import numpy  # noqa: F401  (loads the BLAS that threadpoolctl then finds)
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts: list[Any] = [info.get("num_threads") for info in threadpool_info()
                         if info.get("user_api") == "blas"]
    return max(int(c) for c in counts) if counts else None
