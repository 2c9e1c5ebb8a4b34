"""The examples and benchmarks run BLAS on one thread unless `--threads N` (or, for the
benchmarks, BENCH_THREADS=N) says otherwise: as a user runs them, in a subprocess, with none
of the thread variables set, asking threadpoolctl what the process's BLAS uses."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad.blas import ENV_VARS, limit_blas_threads

pytest.importorskip("threadpoolctl")

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
BENCHMARKS = ROOT / "benchmarks"

# Runs a script as `python SCRIPT ARGS...` would, numpy loaded first (as the scripts load it,
# before any thread setting of theirs), with `module.function` wrapped: once the script has
# called it, the wrapper prints the BLAS thread counts and ends the process, so no training or
# benchmark runs.
PROBE = """
import json, os, runpy, sys
import numpy
from importlib import import_module
target = import_module(sys.argv[1])
original = getattr(target, sys.argv[2])
def probe(*args, **kwargs):
    result = original(*args, **kwargs)
    from threadpoolctl import threadpool_info
    counts = sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"})
    print("BLAS threads:", json.dumps(counts), flush=True)
    os._exit(0)
setattr(target, sys.argv[2], probe)
sys.argv = sys.argv[3:]
runpy.run_path(sys.argv[0], run_name="__main__")
print("the script never applied its thread setting")
"""


def blas_threads_of(script: Path, *args: str, env: dict[str, str] | None = None
                    ) -> subprocess.Popen[str]:
    """Start `script` under the probe; `.communicate()` gives what it printed."""
    clean = {k: v for k, v in os.environ.items() if k not in (*ENV_VARS, "BENCH_THREADS")}
    clean["PYTHONPATH"] = os.pathsep.join(
        [str(script.parent), str(ROOT), os.environ.get("PYTHONPATH", "")])
    hook = (("_harness", "parse_args") if script.parent == BENCHMARKS
            else ("minigrad.blas", "limit_blas_threads"))
    return subprocess.Popen([sys.executable, "-c", PROBE, *hook, str(script), *args],
                            cwd=script.parent, env={**clean, **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def counts(process: subprocess.Popen[str]) -> list[int]:
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    line = [x for x in stdout.splitlines() if x.startswith("BLAS threads: ")]
    assert line, stdout + stderr
    return list(json.loads(line[0].split(": ", 1)[1]))


def test_examples_use_one_blas_thread_by_default_and_threads_changes_it() -> None:
    runs = {  # started together, read in turn
        ("train_two_layer_net.py",): [1],
        ("train_two_layer_net.py", "--threads", "2"): [2],
        ("train_convnet.py",): [1],
        ("train_convnet.py", "--threads", "2"): [2],
        ("quickstart.py",): [1],
    }
    processes = {run: blas_threads_of(EXAMPLES / run[0], *run[1:]) for run in runs}
    for run, process in processes.items():
        assert counts(process) == runs[run], run


def test_benchmarks_use_one_blas_thread_by_default_and_threads_or_bench_threads_change_it(
        ) -> None:
    gradcheck, run_all = BENCHMARKS / "bench_gradcheck.py", BENCHMARKS / "run_all.py"
    runs = [  # started together, read in turn: (what, process, expected thread counts)
        ("default", blas_threads_of(gradcheck), [1]),
        ("--threads 2", blas_threads_of(gradcheck, "--threads", "2"), [2]),
        ("BENCH_THREADS=2", blas_threads_of(gradcheck, env={"BENCH_THREADS": "2"}), [2]),
        ("the flag wins", blas_threads_of(gradcheck, "--threads", "1",
                                          env={"BENCH_THREADS": "2"}), [1]),
        ("run_all --threads 2", blas_threads_of(run_all, "--threads", "2"), [2]),
    ]
    for what, process, expected in runs:
        assert counts(process) == expected, what


def called_names(path: Path) -> set[str]:
    """Names of the functions called anywhere in `path` (its own and imported ones)."""
    return {node.func.id if isinstance(node.func, ast.Name) else
            node.func.attr if isinstance(node.func, ast.Attribute) else ""
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Call)}


@pytest.mark.parametrize("script", sorted(p.name for p in EXAMPLES.glob("*.py")
                                          if not p.name.startswith("_")))
def test_every_example_applies_its_threads_option(script: str) -> None:
    assert {"add_threads_argument", "limit_blas_threads"} <= called_names(
        EXAMPLES / script)


@pytest.mark.parametrize("script", sorted(p.name for p in BENCHMARKS.glob("*.py")
                                          if not p.name.startswith("_")))
def test_every_benchmark_parses_its_arguments_with_the_threads_option(script: str) -> None:
    source = (BENCHMARKS / script).read_text()
    assert "parser.parse_args(" not in source
    assert "parse_args" in called_names(BENCHMARKS / script)


def test_limit_without_threadpoolctl_sets_the_environment_and_says_so(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "threadpoolctl", None)     # import fails
    for var in ENV_VARS:
        monkeypatch.setenv(var, "1")
    assert limit_blas_threads(3) is False                       # numpy is loaded already
    assert all(os.environ[var] == "3" for var in ENV_VARS)      # for what starts later
    assert "threadpoolctl is not installed" in capsys.readouterr().err
    assert limit_blas_threads(1, quiet=True) is False
    assert capsys.readouterr().err == ""
