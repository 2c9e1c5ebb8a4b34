"""Layers as Modules: parameters registered by attribute, saved and loaded as .npz.

    import minigrad.nn as nn
    model = nn.Sequential(nn.Linear(784, 100, weight_init="he"), nn.ReLU(),
                          nn.Linear(100, 10, weight_init="he"))
    loss = F.softmax_cross_entropy(model(x), t)

`Linear` is the book's Affine layer: its weight `W` has shape (in, out) and
the layer computes x @ W + b. Every layer is an expression over minigrad's
ops, so backward comes from the graph.
"""

from __future__ import annotations

import errno
import operator
import os
import zipfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, overload

import numpy as np

from minigrad import conv, ops
from minigrad import functional as F
from minigrad._checks import check_bool, check_float, check_int, check_reduction, check_rng
from minigrad.engine import ArrayLike, Function, Tensor, as_array, as_tensor
from minigrad.files import open_atomic, path_error
from minigrad.versions import bump_version

__all__ = [
    "Parameter", "Module", "ModuleList", "ModuleDict", "Linear", "ReLU", "Sigmoid", "Tanh",
    "Sequential", "Dropout", "BatchNorm1d", "init_std", "CrossEntropyLoss", "MSELoss", "utils",
]


class Parameter(Tensor):
    """A Tensor that a Module learns: requires grad, and is registered when assigned to one.

    Like `Tensor`, it wraps an ndarray without copying it, so an array shared
    with other code (the book's `params` dict) stays shared.
    """

    def __init__(self, data: Any, requires_grad: bool = True, name: str | None = None) -> None:
        super().__init__(data, requires_grad=requires_grad, name=name)

    def __repr__(self) -> str:
        return "Parameter" + super().__repr__()[len("tensor"):]


def _rng_normal(rng: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal samples from rng (as check_rng gives it), or from numpy's global state
    (as the book's randn)."""
    samples: np.ndarray = np.random.randn(*shape) if rng is None else rng.standard_normal(shape)
    return samples


def init_std(weight_init: str | float, fan_in: int, layer: str = "Linear") -> float:
    """The standard deviation of a weight initialisation scheme.

    "std" is the book's 0.01, "xavier" (or "sigmoid") sqrt(1/fan_in), "he"
    (or "relu") sqrt(2/fan_in); a number is used as the std itself.
    """
    if isinstance(weight_init, str):
        key = weight_init.lower()
        if key == "std":
            return 0.01
        if key in ("xavier", "sigmoid"):
            return float(np.sqrt(1.0 / fan_in))
        if key in ("he", "relu"):
            return float(np.sqrt(2.0 / fan_in))
        raise ValueError(f"{layer}: unknown weight_init {weight_init!r}; use 'std', 'xavier', "
                         "'he' (aliases 'sigmoid', 'relu') or a number")
    std = check_float(weight_init, "weight_init (a number or 'std', 'xavier', 'he')", layer)
    if not std >= 0.0:
        raise ValueError(f"{layer}: weight_init std must be >= 0, got {weight_init!r}")
    return std


class Module:
    """Base class of layers and models.

    Assigning a `Parameter` or a `Module` to an attribute registers it, in
    order; `parameters()`, `state_dict()`, `train()`/`eval()` and
    `zero_grad()` then reach everything below. Subclasses write `forward`;
    calling the module calls it.

    Layers kept in a plain list, tuple or dict are not registered, so an
    optimizer would never train them and `save` would drop them. Assigning
    such a container that holds a Module or Parameter not otherwise
    registered therefore raises a TypeError pointing to `ModuleList` /
    `ModuleDict`: an error, not a warning, because the loss is silent (the
    model trains, just worse) and a warning printed while building a model
    is easily lost. Lists of layers that are registered elsewhere are fine,
    and an attribute whose name starts with "_" is never checked (a list
    kept unregistered on purpose).
    """

    training: bool
    _parameters: dict[str, Parameter]      # the registries, filled by __setattr__
    _buffers: dict[str, np.ndarray]
    _modules: dict[str, Module]

    def __init__(self) -> None:
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "training", True)

    # -- registration

    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call Module.__init__() (super().__init__())"
                               f" before assigning attribute {name!r}")
        if name in self._buffers and isinstance(value, np.ndarray):   # e.g. after +=
            self._buffers[name] = value
            object.__setattr__(self, name, value)
            return
        if name in self._parameters and isinstance(value, Tensor) and not isinstance(
                value, Parameter):
            raise TypeError(f"{type(self).__name__}: cannot assign a Tensor to parameter "
                            f"{name!r}; wrap it in Parameter(...) or update {name}.data "
                            "in place")
        if isinstance(value, (list, tuple, dict)) and not name.startswith("_"):
            self._refuse_unregistered(name, value)
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
            if value.name is None:          # shown in reprs, pictures and error messages
                value.name = name
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def _refuse_unregistered(self, name: str, value: list[Any] | tuple[Any, ...] | dict[Any, Any]
                             ) -> None:
        """Raise if `value` holds Modules or Parameters that this module does not register."""
        if not any(True for _ in _held_layers(value, "")):
            return
        known = {id(m) for m in self.modules()} | {id(p) for p in self.parameters()}
        _refuse_stray(self, name, value, known)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array: np.ndarray) -> None:
        """Keep a non-learned array (e.g. running statistics) in the state dict under `name`."""
        if not isinstance(array, np.ndarray):
            raise TypeError(f"{type(self).__name__}.register_buffer: {name!r} must be an "
                            f"ndarray, got {type(array).__name__}")
        object.__setattr__(self, name, array)
        self._buffers[name] = array

    # -- traversal

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every submodule, with dotted names ("" for this one).

        Layers that sit unregistered in a plain list or dict of some module (filled after
        it was assigned, as the book fills an OrderedDict) are a TypeError here, so that
        parameters(), state_dict(), save() and train() never miss them silently.
        """
        found: list[tuple[str, Module]] = []
        seen: set[int] = set()
        stack: list[tuple[str, Module]] = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            found.append((name, module))
            children = [(f"{name}.{k}" if name else k, m) for k, m in module._modules.items()]
            stack.extend(reversed(children))
        _refuse_strays(found, seen)
        return iter(found)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def children(self) -> Iterator[Module]:
        yield from self._modules.values()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Every parameter once, with a dotted name such as "layers.0.W"."""
        seen: set[int] = set()
        for name, module in self.named_modules(prefix):
            for key, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{name}.{key}" if name else key), p

    def parameters(self) -> list[Parameter]:
        """Every parameter once, in registration order."""
        return [p for _, p in self.named_parameters()]

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for name, module in self.named_modules(prefix):
            for key in module._buffers:
                yield (f"{name}.{key}" if name else key), module.__dict__[key]

    # -- modes and gradients

    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch norm on batch statistics); returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """Evaluation mode (no dropout, batch norm on running statistics); returns self."""
        return self.train(False)

    def to(self, dtype: Any) -> Module:
        """Convert parameters and floating-point buffers to `dtype`, e.g. np.float32."""
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}.to: parameters need a floating-point dtype, "
                            f"got {dtype}")
        for p in self.parameters():
            p.data = p.data.astype(dtype)
            p.grad = None
        for module in self.modules():
            for key in module._buffers:
                value = module.__dict__[key]
                if value.dtype.kind == "f":
                    setattr(module, key, value.astype(dtype))
        return self

    def zero_grad(self) -> None:
        """Forget accumulated gradients (set every parameter's .grad to None)."""
        for p in self.parameters():
            p.grad = None

    # -- calling

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # -- state

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, by dotted name."""
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, b.copy()) for name, b in self.named_buffers())
        return state

    def _state_targets(self) -> dict[str, tuple[Module, str, np.ndarray]]:
        targets: dict[str, tuple[Module, str, np.ndarray]] = {}
        seen: set[int] = set()
        for name, module in self.named_modules():
            for key, p in module._parameters.items():
                if id(p) not in seen:
                    seen.add(id(p))
                    targets[f"{name}.{key}" if name else key] = (module, key, p.data)
            for key in module._buffers:
                targets[f"{name}.{key}" if name else key] = (module, key, module.__dict__[key])
        return targets

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Copy values into the parameters and buffers, in place (shared arrays stay shared).

        Everything is checked before anything is written: unless
        `strict=False`, missing and unexpected keys are an error, and a
        shape mismatch always is; the error names the keys and shapes.
        """
        where = type(self).__name__ + ".load_state_dict"
        targets = self._state_targets()
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(f"{where}: " + " and ".join(parts) + f" (the model has keys "
                           f"{list(targets)})")
        mismatched = []
        values = {}
        for key, (_, _, array) in targets.items():
            if key not in state:
                continue
            value = state[key]
            value = np.asarray(as_array(value))
            if value.shape != array.shape:
                mismatched.append(f"{key}: checkpoint {value.shape}, model {array.shape}")
            values[key] = value
        if mismatched:
            raise ValueError(f"{where}: shape mismatch for " + "; ".join(mismatched))
        for key, value in values.items():
            np.copyto(targets[key][2], value, casting="unsafe")
            bump_version(targets[key][2])

    def torch_state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer under PyTorch's keys and layouts (Linear's
        weight transposed to (out, in)): `torch_model.load_state_dict({k: torch.tensor(v)
        ...})` accepts it."""
        from .torch_state import to_torch
        return to_torch(self)

    def load_torch_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> None:
        """Load a PyTorch `state_dict` (tensors or arrays), converting names and layouts;
        a missing or unexpected key, or a shape mismatch, is an error naming it."""
        from .torch_state import from_torch
        from_torch(self, state, strict)

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write `state_dict()` to `path` as .npz, atomically.

        The file is written to a temporary file in the same folder and
        renamed over `path` only when complete, so a crash or an error while
        saving leaves any previous file untouched; it gets the permissions of
        any new file (0o666 less the umask). `path` is used as given (no
        ".npz" is appended). Errors name `path`, never the temporary file.
        (The writing is `minigrad.files.open_atomic`.)
        """
        where = f"{type(self).__name__}.save"
        path = os.fspath(path)
        state = self.state_dict()
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, f"{where}: the path is a folder; give a file "
                                    f"name such as {os.path.join(path, 'model.npz')}", path)
        with open_atomic(path, where=where) as f:
            try:
                _write_npz(f, state)
            except OSError as e:
                raise path_error(e, path, where) from e

    def load(self, path: str | os.PathLike[str], strict: bool = True) -> Module:
        """Load parameters and buffers saved by `save` (checked as by `load_state_dict`).

        A file that is not such an archive (another format, a truncated
        download) is a ValueError saying so, naming `path`.
        """
        where = f"{type(self).__name__}.load"
        path = os.fspath(path)
        not_ours = f"{where}: {path} is not a minigrad weight file (a .npz archive written " \
                   "by Module.save)"
        try:
            with open(path, "rb") as f:
                head = f.read(4)
        except OSError as e:
            raise path_error(e, path, where) from e
        if head != b"PK\x03\x04":
            found = "an empty file" if not head else f"it starts with {head!r}"
            raise ValueError(f"{not_ours}: {found}, not a zip archive")
        try:
            with np.load(path, allow_pickle=False) as archive:
                state = {key: archive[key] for key in archive.files}
        except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as e:
            raise ValueError(f"{not_ours}: {e} (truncated or damaged?)") from e
        self.load_state_dict(state, strict=strict)
        return self

    # -- display

    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        lines = [f"  ({name}): " + repr(m).replace("\n", "\n  ")
                 for name, m in self._modules.items()]
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + ("\n" + "\n".join(lines) + "\n)" if lines else ")")


def _refuse_strays(modules: list[tuple[str, Module]], module_ids: set[int]) -> None:
    """Raise if a plain list, tuple or dict attribute of one of `modules` holds layers that
    none of them registers."""
    known: set[int] | None = None
    for _, module in modules:
        for name, value in module.__dict__.items():
            if isinstance(value, (list, tuple, dict)) and not name.startswith("_"):
                if known is None:
                    known = module_ids | {id(p) for _, m in modules
                                          for p in m._parameters.values()}
                _refuse_stray(module, name, value, known)


def _refuse_stray(owner: Module, name: str, value: list[Any] | tuple[Any, ...] | dict[Any, Any],
                  known: set[int]) -> None:
    """The TypeError for layers in `owner.name` (a plain container) that are not in `known`."""
    stray = [(where, item) for where, item in _held_layers(value, "") if id(item) not in known]
    if not stray:
        return
    shown = ", ".join(f"{type(item).__name__} at {name}{where}" for where, item in stray[:3])
    if len(stray) > 3:
        shown += f" and {len(stray) - 3} more"
    kind = type(value).__name__
    if any(isinstance(item, Module) for _, item in stray):
        fix = ("use nn.ModuleDict({...})" if isinstance(value, dict)
               else "use nn.ModuleList([...])")
    else:
        fix = "assign each Parameter to an attribute of its own"
    article = "an" if kind[0] in "AEIOU" else "a"
    raise TypeError(f"{type(owner).__name__}: attribute {name!r} is {article} {kind} holding "
                    f"{shown}, "
                    "which a plain container does not register: parameters(), state_dict(), "
                    f"save() and optimizers would not see them. To register them, {fix}; to "
                    f"keep an unregistered {kind} on purpose, name the attribute '_{name}'")


def _held_layers(value: Any, where: str, depth: int = 0) -> Iterator[tuple[str, Any]]:
    """The Modules and Parameters inside nested lists, tuples and dicts, with their index paths."""
    if isinstance(value, (Module, Parameter)):
        yield where, value
    elif depth < 4 and isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _held_layers(item, f"{where}[{i}]", depth + 1)
    elif depth < 4 and isinstance(value, dict):
        for key, item in value.items():
            yield from _held_layers(item, f"{where}[{key!r}]", depth + 1)


def _write_npz(f: Any, state: dict[str, np.ndarray]) -> None:
    """The .npz writer used by Module.save (a seam for tests that simulate a failing write)."""
    for key, value in state.items():
        if not isinstance(value, np.ndarray) or value.dtype.hasobject:
            raise ValueError(f"Module.save: state entry {key!r} is not a numeric array "
                             f"(got {type(value).__name__}"
                             + (f" of dtype {value.dtype}" if hasattr(value, "dtype") else "")
                             + "); .npz files are written without pickles")
    arrays: dict[str, Any] = state      # (typed loosely: numpy's stub reserves a keyword)
    np.savez(f, **arrays)


class _Weighted(Module):
    """A layer with a weight `W` and an optional bias `b` (PyTorch's names as aliases)."""

    W: Parameter
    b: Parameter | None
    torch_names = {"W": ("weight", False), "b": ("bias", False)}

    @property
    def weight(self) -> Parameter:
        return self.W

    @property
    def bias(self) -> Parameter | None:
        return self.b


class Linear(_Weighted):
    """The book's Affine layer: x @ W + b, with W of shape (in_features, out_features).

    `weight_init` is "std" (the book's N(0, 0.01²)), "xavier" (std
    sqrt(1/in), for sigmoid and tanh), "he" (std sqrt(2/in), for ReLU) or a
    number used as the std. Biases start at zero. `rng` is a numpy Generator
    or seed; without one, numpy's global state is used as in the book.
    """

    torch_names = {"W": ("weight", True), "b": ("bias", False)}    # W is (in, out)

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *,
                 weight_init: str | float = "std",
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.in_features = check_int(in_features, "in_features", "Linear")
        self.out_features = check_int(out_features, "out_features", "Linear")
        bias = check_bool(bias, "bias", "Linear")
        rng = check_rng(rng, "rng", "Linear")
        std = init_std(weight_init, self.in_features)
        self.W = Parameter(std * _rng_normal(rng, (self.in_features, self.out_features)))
        self.b = Parameter(np.zeros(self.out_features)) if bias else None

    def forward(self, x: Any) -> Tensor:
        shape = x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)
        if shape[-1:] != (self.in_features,):
            raise ValueError(f"Linear({self.in_features}, {self.out_features}): input of shape "
                             f"{tuple(shape)} does not end in {self.in_features} features")
        return ops.linear(x, self.W, self.b)

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, bias={self.b is not None}"


class ReLU(Module):
    """max(x, 0), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.relu(x)


class Sigmoid(Module):
    """1 / (1 + exp(-x)), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.sigmoid(x)


class Tanh(Module):
    """tanh(x), elementwise."""

    def forward(self, x: Any) -> Tensor:
        return ops.tanh(x)


class CrossEntropyLoss(Module):
    """PyTorch's CrossEntropyLoss: `loss_fn(logits, labels)` is F.cross_entropy."""

    def __init__(self, reduction: str = "mean", ignore_index: int = -100) -> None:
        super().__init__()
        self.reduction = check_reduction(reduction, "CrossEntropyLoss")
        self.ignore_index = check_int(ignore_index, "ignore_index", "CrossEntropyLoss", None)

    def forward(self, input: ArrayLike, target: ArrayLike) -> Tensor:
        return F.cross_entropy(input, target, self.reduction, self.ignore_index)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class MSELoss(Module):
    """PyTorch's MSELoss: `loss_fn(y, t)` is the mean of (y - t)² (see F.mse_loss)."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = check_reduction(reduction, "MSELoss")

    def forward(self, input: ArrayLike, target: ArrayLike) -> Tensor:
        return F.mse_loss(input, target, self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class Sequential(Module):
    """Modules applied one after the other; registered as "0", "1", ..."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for module in modules:
            self.append(module)

    def append(self, module: Module) -> Sequential:
        if not isinstance(module, Module):
            raise TypeError(f"Sequential: expected a Module, got {type(module).__name__}")
        setattr(self, str(len(self._modules)), module)
        return self

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def forward(self, x: Any) -> Any:
        for module in self._modules.values():
            x = module(x)
        return x


class ModuleList(Module):
    """A list of Modules, registered as "0", "1", ... (state dict keys such as "layers.0.W").

    Indexing (negative indices and slices too), iteration, `len`, `append`,
    `extend`, `insert`, `pop`, `del` and `+=` work as on a list; the
    submodules are renumbered so that their names always follow the order.
    It has no `forward`: the owning module decides how to call them.
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    @staticmethod
    def _checked(module: Any, where: str) -> Module:
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList.{where}: expected a Module, got {type(module).__name__}")
        return module

    def _renumber(self, modules: list[Module]) -> None:
        self._modules.clear()
        self._modules.update((str(i), m) for i, m in enumerate(modules))

    def _index(self, index: Any) -> int:
        i = operator.index(index)
        n = len(self._modules)
        if not -n <= i < n:
            raise IndexError(f"ModuleList index {i} out of range (length {n})")
        return i + n if i < 0 else i

    @overload
    def __getitem__(self, index: int) -> Module: ...
    @overload
    def __getitem__(self, index: slice) -> ModuleList: ...

    def __getitem__(self, index: int | slice) -> Module | ModuleList:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            return ModuleList(modules[index])
        return modules[self._index(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        self._modules[str(self._index(index))] = self._checked(module, "__setitem__")

    def __delitem__(self, index: int | slice) -> None:
        modules = list(self._modules.values())
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[self._index(index)]
        self._renumber(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(list(self._modules.values()))

    def __iadd__(self, modules: Iterable[Module]) -> ModuleList:
        return self.extend(modules)

    def __add__(self, other: Iterable[Module]) -> ModuleList:
        return ModuleList([*self, *other])

    def append(self, module: Module) -> ModuleList:
        """Add `module` at the end; returns self."""
        self._modules[str(len(self._modules))] = self._checked(module, "append")
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Append each of `modules`; returns self."""
        if isinstance(modules, Module) and not isinstance(modules, ModuleList):
            raise TypeError("ModuleList.extend: expected an iterable of Modules, got a "
                            f"{type(modules).__name__} (use append for one module)")
        for module in list(modules):
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert `module` before position `index`, as list.insert does."""
        modules = list(self._modules.values())
        modules.insert(operator.index(index), self._checked(module, "insert"))
        self._renumber(modules)

    def pop(self, index: int = -1) -> Module:
        """Remove and return the module at `index` (the last by default)."""
        module = self[index]
        del self[index]
        return module


class ModuleDict(Module):
    """A dict of Modules by name, registered under their keys (state dict keys "heads.cls.W").

    Works like a dict that keeps insertion order: `d[key]`, `d[key] = m`,
    `del d[key]`, `in`, `len`, iteration over keys, `keys()`, `values()`,
    `items()`, `update()`, `pop()` and `clear()`. Keys are non-empty
    strings without "." (which would make state dict names ambiguous).
    """

    def __init__(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
                 ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        try:
            return self._modules[key]
        except KeyError:
            raise KeyError(f"ModuleDict has no module {key!r} (it has {list(self._modules)})"
                           ) from None

    def __setitem__(self, key: str, module: Module) -> None:
        if not isinstance(key, str) or not key or "." in key:
            raise KeyError(f"ModuleDict: keys must be non-empty strings without '.', got {key!r}")
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict[{key!r}]: expected a Module, got "
                            f"{type(module).__name__}")
        self._modules[key] = module

    def __delitem__(self, key: str) -> None:
        self.pop(key)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def keys(self) -> list[str]:
        return list(self._modules.keys())

    def values(self) -> list[Module]:
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        return list(self._modules.items())

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace modules from a mapping or from (key, module) pairs."""
        pairs = modules.items() if isinstance(modules, (Mapping, ModuleDict)) else modules
        for pair in pairs:
            if not isinstance(pair, (tuple, list)) or len(pair) != 2:
                raise TypeError("ModuleDict.update: expected a mapping or (key, module) pairs, "
                                f"got an element {pair!r}")
            self[pair[0]] = pair[1]

    def pop(self, key: str) -> Module:
        """Remove and return the module under `key`."""
        module = self[key]
        del self._modules[key]
        return module

    def clear(self) -> None:
        self._modules.clear()


class Dropout(Module):
    """Inverted dropout in training mode (see `functional.dropout`); identity in eval mode."""

    def __init__(self, p: float = 0.5, rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        p = check_float(p, "p", "Dropout")
        generator = check_rng(rng, "rng", "Dropout")
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p must be in [0, 1], got {p}")
        self.p = float(p)
        self.rng: np.random.Generator | np.random.RandomState | None = generator

    def forward(self, x: Any) -> Tensor:
        return F.dropout(x, self.p, self.training, self.rng)

    def extra_repr(self) -> str:
        return f"p={self.p}"


class BatchNorm1d(Module):
    """Batch normalization over the batch axis of (N, features) inputs.

    Training mode normalizes with the batch's mean and (biased) variance and
    updates the running statistics as PyTorch does:
    running = (1 - momentum) * running + momentum * batch statistic, the
    variance there being unbiased. Eval mode normalizes with the running
    statistics. Then y = gamma * x_hat + beta (gamma, beta learned).
    """

    running_mean: np.ndarray       # buffers, registered in __init__
    running_var: np.ndarray
    torch_names = {"gamma": ("weight", False), "beta": ("bias", False)}

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1,
                 affine: bool = True) -> None:
        super().__init__()
        num_features = check_int(num_features, "num_features", "BatchNorm1d")
        eps = check_float(eps, "eps", "BatchNorm1d")
        momentum = check_float(momentum, "momentum", "BatchNorm1d")
        affine = check_bool(affine, "affine", "BatchNorm1d")
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f"BatchNorm1d: momentum must be in [0, 1], got {momentum}")
        self.num_features = int(num_features)
        self.eps, self.momentum = float(eps), float(momentum)
        self.gamma = Parameter(np.ones(num_features)) if affine else None
        self.beta = Parameter(np.zeros(num_features)) if affine else None
        self.register_buffer("running_mean", np.zeros(num_features))
        self.register_buffer("running_var", np.ones(num_features))

    def forward(self, x: ArrayLike) -> Tensor:
        shape = tuple(np.shape(x))
        if len(shape) != 2 or shape[1] != self.num_features:
            raise ValueError(f"BatchNorm1d({self.num_features}): expected input of shape "
                             f"(N, {self.num_features}), got {shape}")
        x = as_tensor(x)
        if self.training:
            n = shape[0]
            if n < 2:
                raise ValueError(f"BatchNorm1d({self.num_features}): training mode needs more "
                                 f"than one sample per batch, got input of shape {shape}")
            mean = ops.mean(x, axis=0)
            centered = x - mean
            var = ops.mean(centered * centered, axis=0)
            x_hat = centered / ops.sqrt(var + self.eps)
            m = self.momentum
            RunningAverage.apply(self.running_mean, mean, m, 1.0)
            RunningAverage.apply(self.running_var, var, m, n / (n - 1))
        else:
            x_hat = (x - self.running_mean) / np.sqrt(self.running_var + self.eps)
        if self.gamma is not None and self.beta is not None:
            return x_hat * self.gamma + self.beta
        return x_hat

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


class RunningAverage(Function):
    """running = (1 - m) * running + m * scale * value, written into `running`: an op, so
    that mg.compile's replay updates batch-norm statistics at every call too."""

    @staticmethod
    def forward(ctx: Function, running: np.ndarray, value: np.ndarray, m: float,
                scale: float) -> np.ndarray:
        running *= 1.0 - m
        running += (m * scale) * value
        return np.empty(0, running.dtype)

    @staticmethod
    def backward(ctx: Function, g: Any) -> None:
        return None


# ------------------------------------------------------------ convolutional layers

__all__ += ["Conv2d", "MaxPool2d", "AvgPool2d", "Flatten"]


class Conv2d(_Weighted):
    """2-D convolution of (N, C, H, W) images, the book's Convolution layer (see F.conv2d).

    `W` has shape (out_channels, in_channels, kh, kw) as in the book and
    PyTorch; `b` (out_channels,). `weight_init` as for `Linear`, with fan-in
    in_channels * kh * kw; biases start at zero.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] = 1, padding: int | tuple[int, int] = 0,
                 bias: bool = True, *, weight_init: str | float = "std",
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.in_channels = check_int(in_channels, "in_channels", "Conv2d")
        self.out_channels = check_int(out_channels, "out_channels", "Conv2d")
        rng = check_rng(rng, "rng", "Conv2d")
        self.kernel_size = conv.pair(kernel_size, "kernel_size", "Conv2d", 1)
        self.stride = conv.pair(stride, "stride", "Conv2d", 1)
        self.padding = conv.pair(padding, "padding", "Conv2d", 0)
        kh, kw = self.kernel_size
        std = init_std(weight_init, self.in_channels * kh * kw, "Conv2d")
        self.W = Parameter(std * _rng_normal(rng, (self.out_channels, self.in_channels, kh, kw)))
        self.b = Parameter(np.zeros(self.out_channels)) if bias else None

    def forward(self, x: Any) -> Tensor:
        return F.conv2d(x, self.W, self.b, self.stride, self.padding)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, bias={self.b is not None}")


class MaxPool2d(Module):
    """The maximum of each window (see F.max_pool2d); stride defaults to kernel_size."""

    def __init__(self, kernel_size: int | tuple[int, int],
                 stride: int | tuple[int, int] | None = None,
                 padding: int | tuple[int, int] = 0) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x: Any) -> Tensor:
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding)

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool2d(MaxPool2d):
    """The mean of each window, zero padding included (see F.avg_pool2d)."""

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding)


class Flatten(Module):
    """Merge axes start_dim..end_dim (by default all but the batch axis), see F.flatten."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = int(start_dim), int(end_dim)

    def forward(self, x: Any) -> Tensor:
        return F.flatten(x, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


__all__ += ["Embedding", "LayerNorm"]


class Embedding(Module):
    """A table of `num_embeddings` learned vectors of `embedding_dim`, looked up by integer
    index, as PyTorch's (weight from N(0, 1)); an index used twice adds both gradients."""

    def __init__(self, num_embeddings: int, embedding_dim: int, *,
                 rng: np.random.Generator | int | None = None) -> None:
        super().__init__()
        self.num_embeddings = check_int(num_embeddings, "num_embeddings", "Embedding")
        self.embedding_dim = check_int(embedding_dim, "embedding_dim", "Embedding")
        generator = check_rng(rng, "rng", "Embedding")
        self.weight = Parameter(_rng_normal(generator, (self.num_embeddings,
                                                        self.embedding_dim)))

    def forward(self, input: ArrayLike) -> Tensor:
        return F.embedding(input, self.weight)

    def extra_repr(self) -> str:
        return f"{self.num_embeddings}, {self.embedding_dim}"


class LayerNorm(Module):
    """Normalisation over each sample's last axes (`normalized_shape`), then a learned
    scale `weight` (ones) and shift `bias` (zeros), as PyTorch's."""

    def __init__(self, normalized_shape: int | tuple[int, ...], eps: float = 1e-5,
                 elementwise_affine: bool = True, bias: bool = True) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else \
            tuple(normalized_shape)
        self.normalized_shape = tuple(check_int(n, "normalized_shape", "LayerNorm")
                                      for n in shape)
        self.eps = check_float(eps, "eps", "LayerNorm")
        affine = check_bool(elementwise_affine, "elementwise_affine", "LayerNorm")
        self.weight = Parameter(np.ones(self.normalized_shape)) if affine else None
        self.bias = Parameter(np.zeros(self.normalized_shape)) if affine and \
            check_bool(bias, "bias", "LayerNorm") else None

    def forward(self, x: ArrayLike) -> Tensor:
        return F.layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


from . import utils  # noqa: E402  (nn.utils: it builds on the engine only)
from .recurrent import GRU, LSTM, RNN  # noqa: E402  (each step an expression over ops)

__all__ += ["RNN", "LSTM", "GRU"]
