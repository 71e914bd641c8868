"""Lazy package exports (PEP 562): a package names what it offers, a module is imported on first use.

So ``flaechen --help`` and ``load_config`` do not import pandas, GDAL, folium or psycopg just because a
subcommand's package is touched.

Examples
--------
>>> __getattr__, __dir__ = lazy_exports("json", {"dumps": "json"})
>>> __getattr__("dumps")([1])
'[1]'
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` for `package` that import `exports` (name → module) lazily."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(module), name)

    def __dir__() -> list[str]:
        return sorted(exports)

    return __getattr__, __dir__
