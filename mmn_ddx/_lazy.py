"""Lazy public APIs: a package's names are imported on first use (PEP 562), listed once.

Why: ``import mmn_ddx.data`` is done by every layer, including the HTTP server, and must not pay for
pandera, pyarrow or MLflow that only some of its names need. A package lists its public names once, as the
imports of its ``if TYPE_CHECKING:`` block, which type checkers and IDEs read as they are; at run time
:func:`lazy_exports` reads the same block from the package's source and imports each name from its module on
first use. This is scientific-python's ``lazy_loader.attach_stub`` (SPEC 1) without its separate ``.pyi`` per
package and its relative-imports-only rule (``mmn_ddx.serving`` re-exports ``RecordError`` of
``mmn_ddx.data``); ``tests/test_layers.py`` checks that every exported name resolves.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from importlib import import_module
from pathlib import Path
from typing import Any


def exported_names(init_file: str | Path) -> dict[str, tuple[str, str]]:
    """{public name: (the module it is imported from, its name there)} in the ``if TYPE_CHECKING:`` block of
    ``init_file``."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"), filename=str(init_file))
    blocks = [node for node in tree.body
              if isinstance(node, ast.If) and isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"]
    if len(blocks) != 1:
        raise ImportError(f"{init_file}: expected one top-level 'if TYPE_CHECKING:' block listing the public names")
    exports: dict[str, tuple[str, str]] = {}
    for statement in blocks[0].body:
        if not isinstance(statement, ast.ImportFrom) or statement.level or not statement.module:
            raise ImportError(f"{init_file}, line {statement.lineno}: the 'if TYPE_CHECKING:' block holds only "
                              "absolute 'from module import name' lines")
        exports.update({alias.asname or alias.name: (statement.module, alias.name) for alias in statement.names})
    return exports


def lazy_exports(package: str, init_file: str) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``, whose ``__init__`` is ``init_file``."""
    exports = exported_names(init_file)
    namespace = import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, original = exports[name]
        value = getattr(import_module(module), original)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *exports})

    return __getattr__, __dir__, sorted(exports)
