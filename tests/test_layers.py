"""The layer rule, checked on the source: data -> features -> training -> serving -> cli, imports only downwards.

Also: serving sees only the exported artifact of training (``mmn_ddx.training.artifact``) and never the model
library itself, and the artifact does not depend on how it was fitted or evaluated. Imports inside functions
count too (a lazy import is still a dependency). Read with :mod:`ast`, so nothing is imported.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("data", "features", "training", "serving", "cli")
"""Lowest first; ``cli`` is ``mmn_ddx/cli``, the edge that composes every layer."""
FOLDERS = {"data": ROOT / "data", "features": ROOT / "features", "training": ROOT / "training",
           "serving": ROOT / "serving", "cli": ROOT / "mmn_ddx" / "cli"}
FORBIDDEN = {
    "serving": ("mmn_ddx.training.fitting", "mmn_ddx.training.evaluation", "xgboost"),
    "training.artifact": ("mmn_ddx.training.fitting", "mmn_ddx.training.evaluation"),
}


def module_imports(path: Path) -> list[tuple[int, str]]:
    """Every imported module name (absolute) with its line, including imports inside functions."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "mmn_ddx" or len(parts) < 2:
        return None
    return parts[1] if parts[1] in LAYERS else None


def sources() -> list[tuple[str, Path]]:
    return [(layer, path) for layer, folder in FOLDERS.items() for path in sorted(folder.rglob("*.py"))]


@pytest.mark.parametrize(
    ("layer", "path"), sources(), ids=lambda v: str(v.relative_to(ROOT)) if isinstance(v, Path) else v
)
def test_imports_only_go_downwards(layer: str, path: Path) -> None:
    rank = LAYERS.index(layer)
    upward = [f"line {line}: {name}" for line, name in module_imports(path)
              if (target := layer_of(name)) is not None and LAYERS.index(target) > rank]
    assert not upward, f"{path.relative_to(ROOT)} ({layer}) imports a higher layer: {upward}"


@pytest.mark.parametrize(("scope", "banned"), FORBIDDEN.items())
def test_forbidden_imports(scope: str, banned: tuple[str, ...]) -> None:
    folder = ROOT.joinpath(*scope.split("."))
    offending = [f"{path.relative_to(ROOT)}:{line}: {name}" for path in sorted(folder.rglob("*.py"))
                 for line, name in module_imports(path)
                 if any(name == b or name.startswith(b + ".") for b in banned)]
    assert not offending, f"{scope} must not import {banned}: {offending}"


def test_no_source_imports_the_old_top_level_packages() -> None:
    """``import data`` etc. would only work from the source tree, never from an installed wheel."""
    old = ("data", "features", "training", "serving")
    offending = [f"{path.relative_to(ROOT)}:{line}: {name}" for _, path in sources()
                 for line, name in module_imports(path) if name.split(".")[0] in old]
    assert not offending, offending


def test_the_checker_sees_an_upward_import(tmp_path: Path) -> None:
    """The rule can fail: a features module importing serving is caught."""
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from mmn_ddx.serving.predictor import Predictor\n", encoding="utf-8")
    assert [layer_of(name) for _, name in module_imports(bad)] == ["serving"]


PUBLIC_PACKAGES = ("mmn_ddx.data", "mmn_ddx.features", "mmn_ddx.features.criteria", "mmn_ddx.training",
                   "mmn_ddx.training.artifact", "mmn_ddx.training.fitting", "mmn_ddx.training.evaluation",
                   "mmn_ddx.serving", "mmn_ddx.serving.http")


@pytest.mark.parametrize("package", PUBLIC_PACKAGES)
def test_every_public_name_resolves_and_none_is_shadowed_by_a_submodule(package: str) -> None:
    """A lazily exported name equal to a submodule's name would become that module once the submodule is
    imported anywhere (the import system binds it on the package), so the API would change with import order."""
    import importlib
    import pkgutil

    module = importlib.import_module(package)
    submodules = {info.name for info in pkgutil.iter_modules(module.__path__)}
    assert not set(module.__all__) & submodules
    for name in module.__all__:
        assert getattr(module, name) is not None, name


def test_every_source_package_is_installed() -> None:
    """pyproject.toml lists the installed packages explicitly (the folders are mapped into ``mmn_ddx``): a new
    sub-package missing there would work from the source tree and be absent from a wheel."""
    import tomllib

    setuptools = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    mapping = setuptools["package-dir"]
    listed = set(setuptools["packages"])
    for package, folder in mapping.items():
        for init in sorted((ROOT / folder).rglob("__init__.py")):
            relative = init.parent.relative_to(ROOT / folder).parts
            assert ".".join((package, *relative)) in listed, f"{init.parent} is not in [tool.setuptools] packages"
