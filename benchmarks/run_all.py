"""Run every benchmark and print its table: `python benchmarks/run_all.py [--quick]`.

BLAS (and PyTorch) get one thread; `--threads N` or BENCH_THREADS=N gives them more.
"""

from __future__ import annotations

import argparse
import time

import _harness  # first: thread settings before numpy loads
import bench_book_loop
import bench_conv
import bench_e2e
import bench_gradcheck
import bench_memory
import bench_overhead
import bench_scaling
import bench_step
import bench_transforms

BENCHMARKS = [bench_step, bench_overhead, bench_scaling, bench_memory, bench_gradcheck,
              bench_transforms, bench_e2e, bench_conv, bench_book_loop]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller sizes")
    quick = _harness.parse_args(parser).quick
    for module in BENCHMARKS:
        start = time.perf_counter()
        print("\n".join(module.main(quick)))
        print(f"\n({module.__name__}: {time.perf_counter() - start:.0f} s)\n", flush=True)


if __name__ == "__main__":
    main()
