"""Shared by the benchmarks: interleaved timing, medians, tables, machine description."""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

# One BLAS thread unless told otherwise (--threads N, or BENCH_THREADS=N): on a small shared
# machine it makes runs repeatable, and every contender gets the same. Set here before numpy
# loads (when this module is imported first) and again through threadpoolctl below.
THREADS = int(os.environ.get("BENCH_THREADS", "1"))
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "BLIS_NUM_THREADS"):
    os.environ[_var] = str(THREADS)

import numpy as np  # noqa: E402  (after the thread settings)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))    # run from a checkout

from minigrad.blas import add_threads_argument, blas_threads, limit_blas_threads  # noqa: E402

limit_blas_threads(THREADS)      # also when numpy was imported before this module


def parse_args(parser: argparse.ArgumentParser,
               argv: list[str] | None = None) -> argparse.Namespace:
    """A benchmark's arguments, with --threads (default: $BENCH_THREADS, else 1) applied."""
    global THREADS
    add_threads_argument(parser, default=THREADS,
                         default_note=", or $BENCH_THREADS; PyTorch gets as many")
    args = parser.parse_args(argv)
    THREADS = args.threads
    limit_blas_threads(THREADS)
    return args


def interleaved(contenders: dict[str, Callable[[], object]], rounds: int,
                warmup: int = 3) -> dict[str, list[float]]:
    """Seconds per call of each contender, timed round by round in turn.

    Interleaving means a slow spell of a shared machine hits every contender
    alike, so ratios of medians stay meaningful; the order changes every round.
    """
    for _ in range(warmup):
        for fn in contenders.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in contenders}
    order = list(contenders)
    rng = np.random.default_rng(0)
    for _ in range(rounds):
        rng.shuffle(order)            # no contender always follows the same one
        for name in order:
            fn = contenders[name]
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return times


def in_own_process(module: str, factory: str, *args: str
                   ) -> tuple[Callable[[], None], Callable[[], None]]:
    """A contender run in a fresh Python process, as a user's program runs it: its memory
    and the allocator's state are its own, not shaped by the other contenders' or by the
    benchmarks run before. There `module.factory(*args)` builds the step; each call relays
    one step through a pipe and returns when it is done. Returns the call and a function
    that ends the process."""
    code = (f"import sys\nimport {module}\nstep = {module}.{factory}(*sys.argv[1:])\n"
            "for _ in sys.stdin:\n    step()\n    print(flush=True)\n")
    process = subprocess.Popen([sys.executable, "-c", code, *args], text=True,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               cwd=Path(__file__).resolve().parent,
                               env={**os.environ, "BENCH_THREADS": str(THREADS)})
    assert process.stdin is not None and process.stdout is not None
    stdin, stdout = process.stdin, process.stdout

    def call() -> None:
        stdin.write("\n")
        stdin.flush()
        if not stdout.readline():
            raise RuntimeError(f"{module}.{factory}{args}: the contender's process failed")

    def close() -> None:
        stdin.close()
        process.wait()

    return call, close


def median(values: list[float]) -> float:
    return float(np.median(values))


def table(headers: list[str], rows: list[list[object]]) -> str:
    """A Markdown table (it pastes into the README as it is)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in cells]
    return "\n".join([line, rule, *body])


def torch_or_none():
    """PyTorch when installed (`pip install torch==2.13.0`), else None."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(THREADS)
    return torch


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    threads = blas_threads() or os.environ.get("OPENBLAS_NUM_THREADS", "default")
    parts = [f"{cpu}, {os.cpu_count()} cores", f"Python {platform.python_version()}",
             f"numpy {np.__version__}", f"BLAS threads: {threads}"]
    torch = torch_or_none()
    if torch is not None:
        parts.append(f"torch {torch.__version__} ({torch.get_num_threads()} threads)")
    return "; ".join(parts)


def status(ok: bool) -> str:
    return "met" if ok else "not met"
