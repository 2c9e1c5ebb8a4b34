"""Deprecated: the old name of `minigrad.transforms` (vjp, jvp, jacobian, hessian, hvp).

`minigrad.func` was renamed `minigrad.transforms`, to say what it holds: function
transforms, not the functional nn API (that is `minigrad.functional`). This alias works, with
a DeprecationWarning, for one release and is then removed; import from `minigrad.transforms`
(or use `mg.jacobian` and the others from `minigrad` itself).
"""

from __future__ import annotations

import warnings
from typing import Any

from . import transforms
from .transforms import hessian as hessian
from .transforms import hvp as hvp
from .transforms import jacobian as jacobian
from .transforms import jvp as jvp
from .transforms import vjp as vjp

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp"]

warnings.warn("minigrad.func is renamed minigrad.transforms; import from there (the old name "
              "goes in the next release)", DeprecationWarning, stacklevel=2)


def __getattr__(name: str) -> Any:
    """Anything else the module held, from its new home."""
    return getattr(transforms, name)
