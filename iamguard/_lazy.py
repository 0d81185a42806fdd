"""Lazy re-exports for the package ``__init__`` modules (PEP 562 ``__getattr__``).

A curated ``__init__`` names its public objects without importing every module behind them:
``import iamguard.sts`` stays cheap for code that needs one class, and no ``__init__`` can start an
import cycle between the stages. Type checkers and IDEs see the names through ``TYPE_CHECKING``
imports beside each table.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, table: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: ``table`` maps an exported name to its module."""

    def __getattr__(name: str) -> Any:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # the next access is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
