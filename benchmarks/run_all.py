"""Run every benchmark, print its tables, and write them to benchmarks/README.md.

    python benchmarks/run_all.py [--quick] [--threads N] [--output PATH | --no-write]

BLAS (and PyTorch) get one thread; `--threads N` or BENCH_THREADS=N gives them more.
The file written names the machine the run was made on, and says when it was a quick run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import _harness  # first: thread settings before numpy loads
import bench_book_loop
import bench_compile
import bench_conv
import bench_e2e
import bench_gradcheck
import bench_memory
import bench_overhead
import bench_rnn
import bench_scaling
import bench_step
import bench_transforms

BENCHMARKS = [bench_step, bench_overhead, bench_scaling, bench_memory, bench_gradcheck,
              bench_transforms, bench_e2e, bench_conv, bench_book_loop, bench_rnn,
              bench_compile]
DEFAULT_OUTPUT = Path(__file__).resolve().parent / "README.md"


def described(module: ModuleType) -> tuple[str, list[str]]:
    """What a benchmark measures, from its docstring: the first paragraph, and the others,
    each on one line."""
    paragraphs = [" ".join(p.split()) for p in (module.__doc__ or "").strip().split("\n\n")]
    return paragraphs[0], [p for p in paragraphs[1:] if p]


def section(module: ModuleType, printed: list[str]) -> list[str]:
    """A benchmark's tables as printed, under a second-level heading, with its description."""
    heading, rest = (printed[0], printed[1:]) if printed and printed[0].startswith("#") \
        else (f"## {module.__name__}", printed)
    _, details = described(module)
    intro = f"`benchmarks/{module.__name__}.py`" + (": " + " ".join(details) if details else "")
    lines = ["## " + heading.lstrip("#").strip(), "", intro]
    for line in rest:              # each line of text a paragraph of its own, as printed
        if line and lines[-1] and not (line.startswith("|") and lines[-1].startswith("|")):
            lines.append("")
        lines.append(line)
    return lines


def document(sections: list[list[str]], quick: bool, threads: int) -> str:
    """benchmarks/README.md: what each benchmark measures, how to rerun, then the tables."""
    command = "python benchmarks/run_all.py" + (" --quick" if quick else "") + \
        (f" --threads {threads}" if threads != 1 else "")
    kind = ("a quick run (`--quick`: fewer rounds and smaller sizes, so the figures are "
            "rougher than a full run's)" if quick else "a full run")
    lines = [
        "# Benchmarks",
        "",
        f"These figures come from `{command}`, {kind}, on this machine: {_harness.machine()}.",
        "The file is written by that command; rerun it to measure your own machine:",
        "",
        "```bash",
        "python benchmarks/run_all.py [--quick] [--threads N]   # writes benchmarks/README.md",
        "python benchmarks/bench_step.py [--quick]              # one benchmark, printed only",
        "```",
        "",
        "`--no-write` only prints, `--output PATH` writes elsewhere. Every contender runs "
        "BLAS on one thread unless `--threads N` (or `BENCH_THREADS=N`) says otherwise. "
        "Contenders run in interleaved rounds, in a new random order each round, and each "
        "figure is a median, so a slow spell of a shared machine hits all of them alike; the "
        "ratios are steadier than the times. PyTorch (`pip install torch`) and scikit-learn "
        "are compared where they are installed, Fashion-MNIST where it is found. Each benchmark "
        "states the target it is measured against and whether this run met it.",
        "",
        "What each benchmark measures:",
        "",
    ]
    lines += [f"- `{m.__name__}.py`: {described(m)[0]}" for m in BENCHMARKS]
    for module, printed in zip(BENCHMARKS, sections):
        lines += ["", *section(module, printed)]
    return "\n".join(lines).rstrip() + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds, smaller sizes")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, metavar="PATH",
                       help=f"where to write the tables (default: {DEFAULT_OUTPUT.name} "
                            "beside this script)")
    where.add_argument("--no-write", action="store_true", help="only print the tables")
    args = _harness.parse_args(parser, argv)
    if not args.no_write and not args.output.parent.is_dir():
        parser.error(f"--output: no folder {args.output.parent}")
    sections = []
    for module in BENCHMARKS:
        start = time.perf_counter()
        printed = module.main(args.quick)
        sections.append(printed)
        print("\n".join(printed))
        print(f"\n({module.__name__}: {time.perf_counter() - start:.0f} s)\n", flush=True)
    if not args.no_write:
        text = document(sections, args.quick, args.threads)
        temporary = args.output.with_name(f".{args.output.name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(args.output)
        print(f"written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
