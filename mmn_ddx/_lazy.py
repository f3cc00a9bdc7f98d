"""Lazy public APIs: a package's names are imported on first use (PEP 562).

Why: ``import mmn_ddx.data`` is done by every layer, including the HTTP server, and must not pay for
pandera, pyarrow or MLflow that only some of its names need. The same idea as scientific-python's
``lazy_loader.attach``, kept here (a dozen lines) rather than adding a dependency for it; each package's
``TYPE_CHECKING`` block lists the same names for type checkers, and ``tests/test_layers.py`` checks that
every exported name resolves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public ``name`` lives in module ``exports[name]``."""
    namespace = import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(exports[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__
