"""Lazy public APIs (mmn_ddx/_lazy.py): the names a package's ``if TYPE_CHECKING:`` block imports are its API."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mmn_ddx._lazy import exported_names, lazy_exports


def write_package(root: Path, name: str, init: str) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text(init, encoding="utf-8")
    (package / "things.py").write_text("ANSWER = 42\nWORD = 'lazy'\n", encoding="utf-8")


INIT = """from typing import TYPE_CHECKING
from mmn_ddx._lazy import lazy_exports
__getattr__, __dir__, __all__ = lazy_exports(__name__, __file__)
if TYPE_CHECKING:
    from {name}.things import ANSWER, WORD as SAID
"""


def test_the_type_checking_block_is_the_api_imported_on_first_use(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    write_package(tmp_path, "lazy_demo", INIT.format(name="lazy_demo"))
    monkeypatch.syspath_prepend(str(tmp_path))
    import lazy_demo

    assert lazy_demo.__all__ == ["ANSWER", "SAID"]
    assert "lazy_demo.things" not in sys.modules
    assert (lazy_demo.ANSWER, lazy_demo.SAID) == (42, "lazy")
    assert "lazy_demo.things" in sys.modules
    assert {"ANSWER", "SAID"} <= set(dir(lazy_demo))
    with pytest.raises(AttributeError, match="has no attribute 'WORD'"):
        _ = lazy_demo.WORD
    monkeypatch.delitem(sys.modules, "lazy_demo")
    monkeypatch.delitem(sys.modules, "lazy_demo.things")


def test_the_project_packages_export_what_they_list() -> None:
    import mmn_ddx.data

    assert exported_names(mmn_ddx.data.__file__)["read_cohort"] == ("mmn_ddx.data.importer", "read_cohort")
    assert mmn_ddx.data.__all__ == sorted(exported_names(mmn_ddx.data.__file__))


@pytest.mark.parametrize(("body", "message"), [
    ("X = 1\n", "expected one top-level 'if TYPE_CHECKING:' block"),
    ("if TYPE_CHECKING:\n    from .things import ANSWER\n", "line 2: .* only absolute"),
    ("if TYPE_CHECKING:\n    import json\n", "line 2: .* only absolute"),
])
def test_a_malformed_api_block_is_refused_with_its_line(tmp_path: Path, body: str, message: str) -> None:
    init = tmp_path / "__init__.py"
    init.write_text(body, encoding="utf-8")
    with pytest.raises(ImportError, match=message):
        exported_names(init)
    with pytest.raises(ImportError, match=message):
        lazy_exports("mmn_ddx", str(init))
