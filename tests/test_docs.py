"""Every ```python block of README.md and docs/*.md runs on its own, as a reader would run it.

Each block is saved to a file in a fresh folder and run there by a new Python process, with
only the project on PYTHONPATH (so it works from a checkout), matplotlib's Agg backend and one
BLAS thread; a block that is a pytest file has its test functions called. Blocks that need
scikit-learn, matplotlib, PyTorch, hypothesis or Graphviz's `dot` are skipped where that is
missing. The blocks run two at a time, before the first test looks at its result.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from doc_blocks import PAGES, ROOT, Block, blocks

BLOCKS = blocks()

# What a block needs, by what it imports: (names it may import, what to check, the install)
NEEDS = [
    (("sklearn", "minigrad.datasets.load_digits"), "sklearn", 'pip install -e ".[examples]"'),
    (("matplotlib",), "matplotlib", 'pip install -e ".[examples]"'),
    (("torch",), "torch", "pip install torch"),
    (("hypothesis", "minigrad.testing"), "hypothesis", 'pip install -e ".[dev]"'),
    (("minigrad.viz.render",), "dot", "apt-get install graphviz"),
]

# Run before a block (not part of it): hypothesis as the test suite runs it (conftest.py).
HYPOTHESIS_PROFILE = """\
from hypothesis import HealthCheck, settings
settings.register_profile("docs", max_examples=25, derandomize=True, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("docs")
"""

RUNNER = """\
import runpy
import sys
{prelude}
scope = runpy.run_path({path!r}, run_name="__main__")
for name in {tests!r}:           # a block that is a pytest file: run its tests
    scope[name]()
"""


def missing(block: Block) -> str | None:
    """Why the block cannot run here, or None."""
    imported = block.imported()
    for names, what, install in NEEDS:
        if not any(n == i or i.startswith(n + ".") for n in names for i in imported):
            continue
        present = shutil.which(what) if what == "dot" else importlib.util.find_spec(what)
        if present is None:
            return f"{block.name} needs {what} ({install})"
    return None


def prepare(block: Block, folder: Path) -> tuple[Path, dict[str, str]]:
    """The block's script and its runner in `folder`, and the runner's environment.

    (This parses the block, so it runs in the main thread: CPython 3.11's parser is not
    safe to call from several threads at once.)"""
    folder.mkdir(parents=True)
    script = folder / "block.py"
    script.write_text(block.code, encoding="utf-8")
    prelude = HYPOTHESIS_PROFILE if "hypothesis" in {i.split(".")[0] for i in
                                                     block.imported()} else ""
    runner = folder / "run_block.py"
    runner.write_text(RUNNER.format(prelude=prelude, path=str(script),
                                    tests=block.test_functions()), encoding="utf-8")
    env = dict(os.environ, MPLBACKEND="Agg", TMPDIR=str(folder), PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(p for p in [str(ROOT), os.environ.get("PYTHONPATH")]
                                          if p))
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                "BLIS_NUM_THREADS"):
        env[var] = "1"
    return runner, env


def run(runner: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(runner)], cwd=runner.parent, env=env,
                          capture_output=True, text=True, timeout=900)


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory
            ) -> dict[str, subprocess.CompletedProcess[str]]:
    """Every block that can run here, run (two processes at a time)."""
    base = tmp_path_factory.mktemp("doc_blocks")
    runnable = [b for b in BLOCKS if missing(b) is None]
    prepared = [prepare(b, base / f"block{i:02d}") for i, b in enumerate(runnable)]
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        done = pool.map(lambda job: run(*job), prepared)
        return {b.name: r for b, r in zip(runnable, done)}


def test_the_pages_have_python_blocks() -> None:
    counts = {page.name: sum(b.page == page for b in BLOCKS) for page in PAGES}
    assert counts["README.md"] >= 5, counts
    assert len(BLOCKS) >= 20, counts


@pytest.mark.parametrize("block", BLOCKS, ids=[b.name for b in BLOCKS])
def test_block_runs_on_its_own(block: Block,
                               results: dict[str, subprocess.CompletedProcess[str]]) -> None:
    reason = missing(block)
    if reason is not None:
        pytest.skip(reason)
    result = results[block.name]
    assert result.returncode == 0, (f"{block.name} failed when run on its own:\n"
                                    f"{result.stdout}\n{result.stderr}")


def test_a_block_that_is_a_test_file_has_its_tests_run() -> None:
    readme = [b for b in BLOCKS if b.page.name == "README.md" and b.test_functions()]
    assert readme and "test_huber_gradient" in readme[0].test_functions()
    assert "from hypothesis import given" in readme[0].code


def test_the_readme_is_short() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 250, f"README.md has {lines} lines; the rest belongs in docs/"


def _anchors(page: Path) -> set[str]:
    """The anchors GitHub makes of a page's headings."""
    anchors = set()
    for heading in re.findall(r"^#+ (.*)$", page.read_text(encoding="utf-8"), flags=re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_relative_links_lead_somewhere(page: Path) -> None:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.M | re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target):
            continue                                 # https:, mailto:
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        missing_anchor = bool(anchor) and resolved.suffix == ".md" and resolved.exists() \
            and anchor not in _anchors(resolved)
        if not resolved.exists() or missing_anchor:
            broken.append(target)
    assert not broken, f"{page.name}: links to nothing: {broken}"
