"""Names a package gives from its modules when first asked for (PEP 562).

A package that re-exports many modules imports them all when it is imported; a chapter that
needs one name pays for the rest (torchvision, and torch._dynamo with it, about 1.3 s of a
kernel's start on a 2-core machine). With :func:`lazy_names`, ``from alexnet_lib.bench import
SMALL_LAYER`` imports the convolution benchmark alone.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(package: str, where: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__``: ``where`` maps each name to the module
    (relative to ``package``) that defines it; a name is imported when first asked for, then
    kept in the package. Usage, in a package's ``__init__.py``::

        __getattr__, __dir__ = lazy_names(__name__, {"bench_conv": "conv", ...})
    """

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{where[name]}", package), name)
        vars(sys.modules[package])[name] = value  # asked once
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(where))

    return __getattr__, __dir__
