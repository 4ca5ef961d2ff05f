"""Lazy public names for a package (PEP 562): a name loads its module on first use, and only then.

A package's ``__init__`` lists ``{public name: module}`` and assigns what ``lazy_names`` returns to its module-level
``__getattr__`` and ``__dir__``, so importing the package costs nothing and ``semsearch --help`` stays fast.
"""

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(package: str, where: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package`` that resolve each name in ``where`` from its module once."""

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # resolved once
        return value

    def __dir__() -> list[str]:
        return sorted({*where, *(n for n in vars(sys.modules[package]) if n.startswith("__"))})

    return __getattr__, __dir__
