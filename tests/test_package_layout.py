"""How the package is laid out: private modules stay in their own package, `import minigrad`
leaves datasets, downloads and viz until they are used, and renamed modules keep their old
names for a release."""

from __future__ import annotations

import ast
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import minigrad

PACKAGE = Path(minigrad.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    relative = Path(*name.split("."))
    return (PACKAGE.parent / relative.with_suffix(".py")).is_file() or (
        PACKAGE.parent / relative / "__init__.py").is_file()


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every minigrad module that `path` imports, by any spelling."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            found += [(node.lineno, f"{module}.{alias.name}") for alias in node.names
                      if _is_module(f"{module}.{alias.name}")]
    return [(line, module) for line, module in found
            if module.split(".")[0] == "minigrad" and _is_module(module)]


def _owner(module: str) -> str | None:
    """The package a private module belongs to (`a.b` for `a.b._c` or `a.b._c.d`), or None."""
    parts = module.split(".")
    for i, part in enumerate(parts):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def test_private_modules_are_imported_only_inside_their_own_package() -> None:
    """`minigrad.x._y` is for the modules of package `minigrad.x` (and its subpackages)."""
    offences = []
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 20
    for path in files:
        importer = _module_name(path)
        for line, module in _imported_modules(path):
            owner = _owner(module)
            if owner is not None and not (importer == owner or importer.startswith(owner + ".")):
                offences.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {module}, "
                                f"private to {owner}")
    assert not offences, "\n".join(offences)


def test_the_check_sees_every_spelling_of_an_import(tmp_path: Path) -> None:
    """The walk above resolves relative imports and `from package import module`."""
    datasets = PACKAGE / "datasets" / "__init__.py"
    imported = {module for _, module in _imported_modules(datasets)}
    assert {"minigrad.datasets.mnist", "minigrad.datasets.download"} <= imported
    assert _owner("minigrad.datasets._x") == "minigrad.datasets"
    assert _owner("minigrad._checks") == "minigrad" and _owner("minigrad.nn") is None


def _fresh(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, check=False)


def test_import_minigrad_leaves_datasets_downloads_and_viz_until_used() -> None:
    result = _fresh(
        "import sys\n"
        "before = set(sys.modules)\n"
        "import minigrad\n"
        "heavy = ['minigrad.datasets', 'minigrad.datasets.download', 'minigrad.viz',\n"
        "         'urllib.request', 'http.client', 'subprocess']\n"
        "print([m for m in heavy if m in sys.modules and m not in before])\n"
        "import minigrad as mg\n"
        "assert callable(mg.datasets.load_mnist)\n"
        "assert 'minigrad.datasets.download' in sys.modules\n"
        "assert mg.viz.to_dot is sys.modules['minigrad.viz'].to_dot\n"
        "print('ok')\n")
    assert result.returncode == 0, result.stderr
    loaded, ok = result.stdout.split("\n")[:2]
    assert loaded == "[]", f"import minigrad loaded {loaded}"
    assert ok == "ok"


def test_lazily_loaded_modules_import_every_way() -> None:
    result = _fresh(
        "import minigrad\n"
        "names = dir(minigrad)\n"
        "assert {'datasets', 'viz', 'nn', 'transforms'} <= set(names), names\n"
        "from minigrad import datasets, viz\n"
        "from minigrad.datasets import load_mnist\n"
        "import minigrad.viz\n"
        "assert minigrad.datasets is datasets and datasets.load_mnist is load_mnist\n"
        "assert minigrad.viz is viz\n"
        "from minigrad import *\n"
        "assert datasets is minigrad.datasets\n"
        "try:\n"
        "    minigrad.no_such_thing\n"
        "except AttributeError as e:\n"
        "    assert \"no attribute 'no_such_thing'\" in str(e), e\n"
        "else:\n"
        "    raise AssertionError('no AttributeError')\n"
        "print('ok')\n")
    assert result.returncode == 0 and result.stdout == "ok\n", result.stderr


def test_every_name_in_all_imports() -> None:
    for name in minigrad.__all__:
        assert getattr(minigrad, name) is not None, name


def test_the_old_func_module_still_works_for_a_release() -> None:
    sys.modules.pop("minigrad.func", None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from minigrad.func import hessian, jacobian
    from minigrad.transforms import hessian as hessian_now
    from minigrad.transforms import jacobian as jacobian_now
    assert jacobian is jacobian_now and hessian is hessian_now
    assert [w.category for w in caught] == [DeprecationWarning]
    assert "minigrad.transforms" in str(caught[0].message)


def test_names_the_engine_held_before_its_split_still_import() -> None:
    import minigrad as mg
    from minigrad import dispatch, engine, modes, ops, versions

    moved = {"register": dispatch.register, "UFUNCS": dispatch.UFUNCS, "no_grad": modes.no_grad,
             "enable_grad": modes.enable_grad, "is_grad_enabled": modes.is_grad_enabled,
             "set_grad_enabled": modes.set_grad_enabled, "detect_anomaly": modes.detect_anomaly,
             "AnomalyError": modes.AnomalyError, "tensor": mg.tensor,
             "bump_version": versions.bump_version, "Clone": ops.Clone}
    for name, value in moved.items():
        assert getattr(engine, name) is value, name
    with pytest.raises(AttributeError, match="no attribute 'no_such_name'"):
        engine.no_such_name  # noqa: B018


def test_the_engine_fits_on_a_few_screens_and_the_readme_stays_short() -> None:
    engine_lines = len((PACKAGE / "engine.py").read_text(encoding="utf-8").splitlines())
    assert engine_lines <= 500, f"minigrad/engine.py has {engine_lines} lines"
    readme = PACKAGE.parent / "README.md"
    if readme.is_file():                       # (an installed package has no README)
        readme_lines = len(readme.read_text(encoding="utf-8").splitlines())
        assert readme_lines <= 250, f"README.md has {readme_lines} lines"
