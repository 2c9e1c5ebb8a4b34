"""The ```python blocks of README.md and docs/*.md, for tests/test_docs.py and test_static.py.

Each block is a program of its own: its own imports, nothing from the blocks before it.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"^```python\n(.*?)^```", flags=re.M | re.S)


@dataclass(frozen=True)
class Block:
    page: Path            # the Markdown file
    line: int             # the line of its first line of code
    code: str

    @property
    def name(self) -> str:
        """`docs/ops.md:57`, as a test id and in messages."""
        return f"{self.page.relative_to(ROOT)}:{self.line}"

    @property
    def module(self) -> str:
        """A module name of its own, for type checking the blocks side by side."""
        return f"{self.page.stem.lower().replace('-', '_')}_line{self.line}"

    def imported(self) -> set[str]:
        """Every module the block imports, and every name it imports from one."""
        names: set[str] = set()
        for node in ast.walk(ast.parse(self.code)):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                names.add(node.module)
                names.update(f"{node.module}.{alias.name}" for alias in node.names)
        return names

    def test_functions(self) -> list[str]:
        """The test functions it defines at top level (a block that is a pytest file)."""
        return [node.name for node in ast.parse(self.code).body
                if isinstance(node, ast.FunctionDef) and node.name.startswith("test")]


def blocks(pages: list[Path] = PAGES) -> list[Block]:
    found = []
    for page in pages:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start(1)) + 1
            found.append(Block(page, line, match.group(1)))
    return found
