"""Static checks, run with the tests (so CI runs them): ruff, and mypy --strict on the package,
on examples/ and on every python block of README.md and docs/*.md, the last as a user would
check a script of their own: each block a module on its own, from a folder outside the
project, finding minigrad as it is installed."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from doc_blocks import blocks

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "pyproject.toml"


def _run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=900)


def test_ruff_is_clean() -> None:
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_the_package_and_the_examples() -> None:
    result = _run("mypy", "--strict", "--config-file", str(CONFIG),
                  "--cache-dir", str(ROOT / ".mypy_cache"), "minigrad", "examples")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found" in result.stdout


def test_mypy_strict_on_the_doc_blocks_outside_the_project(tmp_path: Path) -> None:
    """Each python block of the README and docs/ type-checks as a module of its own."""
    folder = tmp_path / "doc_blocks"
    folder.mkdir()
    found = blocks()
    assert len(found) >= 20
    for block in found:
        (folder / f"{block.module}.py").write_text(block.code, encoding="utf-8")
    result = _run("mypy", "--strict", "--config-file", str(CONFIG),
                  "--cache-dir", str(ROOT / ".mypy_cache"), str(folder), cwd=tmp_path)
    report = result.stdout
    for block in found:                  # the Markdown page and its line, not the temp file
        report = re.sub(rf"\b{block.module}\.py:(\d+):", lambda m, b=block: (
            f"{b.page.relative_to(ROOT)}:{b.line + int(m.group(1)) - 1}:"), report)
    assert result.returncode == 0, report + result.stderr
    assert f"Success: no issues found in {len(found)} source files" in result.stdout


def test_mypy_sees_tensor_arithmetic_as_tensors(tmp_path: Path) -> None:
    """The types mypy infers for a user's script are the ones the code produces."""
    script = tmp_path / "user.py"
    script.write_text(
        "import numpy as np\nimport minigrad as mg\n"
        "t = mg.tensor([1.0, 2.0], requires_grad=True)\nx = np.ones((3, 2))\n"
        "reveal_type(t + 1)\nreveal_type(1 - t)\nreveal_type(x @ t)\nreveal_type(t.sum())\n"
        "reveal_type(mg.exp(t).T)\nreveal_type(mg.grad(t.sum(), t))\n"
        "import minigrad.functional as F\n"
        "reveal_type(mg.relu)\nreveal_type(F.sigmoid)\nreveal_type(mg.sum)\n")
    result = _run("mypy", "--strict", "--config-file", str(CONFIG),
                  "--cache-dir", str(ROOT / ".mypy_cache"), str(script), cwd=tmp_path)
    revealed = [r.replace("builtins.", "")        # as mypy versions spell it
                for r in re.findall(r'Revealed type is "(.*)"', result.stdout)]
    tensor = "minigrad.engine.Tensor"
    assert revealed[:6] == [tensor] * 5 + [f"tuple[{tensor}, ...]"], result.stdout
    # what an IDE shows for an op: its parameters, not (*args, **kwargs)
    relu, sigmoid, total = revealed[6:]
    assert relu.startswith("def (a: ") and relu.endswith(f") -> {tensor}"), relu
    assert sigmoid.startswith("def (a: ") and "*args" not in sigmoid, sigmoid
    assert total.startswith("def (a: ") and "axis: " in total and "keepdims: bool =" in total


@pytest.mark.parametrize("snippet", ["t.no_such_method()", "t + 'text'"])
def test_mypy_rejects_what_fails_at_runtime(tmp_path: Path, snippet: str) -> None:
    script = tmp_path / "user.py"
    script.write_text(f"import minigrad as mg\nt = mg.tensor([1.0])\n{snippet}\n")
    result = _run("mypy", "--strict", "--config-file", str(CONFIG),
                  "--cache-dir", str(ROOT / ".mypy_cache"), str(script), cwd=tmp_path)
    assert result.returncode == 1 and "user.py:3: error" in result.stdout, result.stdout
