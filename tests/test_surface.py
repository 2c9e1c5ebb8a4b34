"""Tensor's surface as a reader and a type checker see it matches the one that runs.

engine.py declares, in an `if TYPE_CHECKING:` block of class Tensor, every operator and method
that is attached to Tensor from the ops' declarations. These tests parse that block and compare
it with the runtime class in both directions.
"""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import minigrad as mg
from minigrad import engine

SOURCE = Path(engine.__file__).read_text()


def _tensor_class() -> ast.ClassDef:
    for node in ast.parse(SOURCE).body:
        if isinstance(node, ast.ClassDef) and node.name == "Tensor":
            return node
    raise AssertionError("engine.py has no class Tensor")


def _is_type_checking(test: ast.expr) -> bool:
    return isinstance(test, ast.Name) and test.id == "TYPE_CHECKING"


def _declared() -> dict[str, ast.FunctionDef]:
    """The functions declared under `if TYPE_CHECKING:` in class Tensor."""
    found: dict[str, ast.FunctionDef] = {}
    for node in _tensor_class().body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for item in node.body:
                if isinstance(item, ast.FunctionDef):
                    found[item.name] = item
    assert found, "class Tensor has no `if TYPE_CHECKING:` block of declarations"
    return found


def _written() -> set[str]:
    """Names the class body defines for real (outside the TYPE_CHECKING block)."""
    names: set[str] = set()
    for node in _tensor_class().body:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            continue
        body = node.body if isinstance(node, ast.If) else [node]   # `if not TYPE_CHECKING:`
        for item in body:
            if isinstance(item, ast.FunctionDef):
                names.add(item.name)
            elif isinstance(item, ast.Assign):
                names.update(t.id for t in item.targets if isinstance(t, ast.Name))
            elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                names.add(item.target.id)
    return names


def _attached() -> set[str]:
    """Attributes the running Tensor class has that its body does not write."""
    written = _written() | set(mg.Tensor.__slots__)
    return {name for name in vars(mg.Tensor)
            if name not in written and not (name.startswith("__") and name.endswith("__")
                                            and not callable(vars(mg.Tensor)[name]))}


def test_every_declared_operator_and_method_exists_at_runtime() -> None:
    missing = sorted(name for name in _declared() if name not in vars(mg.Tensor))
    assert not missing, f"declared for type checkers but not attached to Tensor: {missing}"


def test_every_attached_operator_and_method_is_declared() -> None:
    undeclared = sorted(_attached() - set(_declared()))
    assert not undeclared, (f"attached to Tensor but not declared in its TYPE_CHECKING "
                            f"block: {undeclared}")


def test_properties_are_declared_as_properties() -> None:
    for name, node in _declared().items():
        declared_property = any(isinstance(d, ast.Name) and d.id == "property"
                                for d in node.decorator_list)
        runtime_property = isinstance(vars(mg.Tensor)[name], property)
        assert declared_property == runtime_property, name


def test_declared_parameters_match_the_runtime_ones() -> None:
    """Where the runtime function has a signature of its own, the names agree (self aside)."""
    compared = 0
    for name, node in _declared().items():
        runtime = vars(mg.Tensor)[name]
        if isinstance(runtime, property):
            continue
        params = list(inspect.signature(runtime).parameters.values())
        assert not any(p.kind is p.VAR_KEYWORD for p in params), \
            f"Tensor.{name} shows (*args, **kwargs), not its parameters"
        declared = node.args
        names = [a.arg for a in declared.posonlyargs + declared.args][1:]
        if declared.vararg is not None:
            names.append("*" + declared.vararg.arg)
        runtime_names = [("*" if p.kind is p.VAR_POSITIONAL else "") + p.name
                         for p in params][1:]
        if name.startswith("__"):           # an operator: its operand is `other` by convention
            assert len(names) == len(runtime_names), f"Tensor.{name}: declared {names}, runs " \
                                                     f"{runtime_names}"
        else:
            assert names == runtime_names, f"Tensor.{name}: declared {names}, runs " \
                                           f"{runtime_names}"
        compared += 1
    assert compared >= 40
