"""The benchmarks' contenders do the same work: each one's parameters after a few SGD
steps are the book's (in a subprocess: the benchmarks set their BLAS threads on import)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_training_step_contenders_train_the_same_parameters(dtype: str) -> None:
    code = f"""
import numpy as np
import bench_step as S, bench_compile as C
x, t, init = S.setup(np.{dtype}, 50)
book = S.book_step(x, t, init)
others = {{"tuned": S.numpy_step(x, t, init), "buffers": S.numpy_buffers_step(x, t, init),
          "ops": S.minigrad_ops_step(x, t, init), "compiled": C.compiled_ops_step(x, t, init)}}
tolerance = 1e-12 if x.dtype == np.float64 else 2e-5
for _ in range(4):
    expected = book()
    for name, step in others.items():
        got = step()
        for k, v in expected.items():
            w = np.asarray(getattr(got[k], "data", got[k]))
            assert w.dtype == v.dtype, (name, k, w.dtype)
            assert np.allclose(w, v, rtol=tolerance, atol=tolerance * np.abs(v).max()), \\
                (name, k, np.abs(w - v).max())
print("agree")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=BENCHMARKS, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "agree", result.stderr


def test_a_contender_in_its_own_process_runs_its_steps_and_ends() -> None:
    """bench_compile's convnet contender in a fresh process: each call runs one step there,
    and closing ends the process."""
    code = """
import _harness
call, close = _harness.in_own_process("bench_compile", "conv_step", "compiled")
for _ in range(3):
    call()
close()
print("ran")
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=BENCHMARKS, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ran", result.stderr
