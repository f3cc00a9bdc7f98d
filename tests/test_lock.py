"""requirements.lock pins every package mmn-ddx needs, at the version installed from it.

Why: ``make`` installs with ``-c requirements.lock``, and a constraints file only constrains what it names: a
dependency missing from the lock (as ``ast_serialize``, which mypy 2.4 brought in, once was) installs at whatever
version is newest that day, so a fresh clone is no longer reproducible. Walked from the installed metadata of
``mmn-ddx[test,spark]``, so a package a developer added to their own virtualenv does not count.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
EXTRAS = ("test", "spark")


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version.strip()
    return pins


def needed(root: str = "mmn-ddx", extras: tuple[str, ...] = EXTRAS) -> set[str]:
    """Every distribution ``root`` with ``extras`` needs here, by the installed packages' own requirements."""
    seen: set[str] = set()
    todo = [(root, extras)]
    while todo:
        name, wanted = todo.pop()
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            environments = [{"extra": extra} for extra in wanted] or [{"extra": ""}]
            if requirement.marker and not any(requirement.marker.evaluate(env) for env in environments):
                continue
            key = canonicalize_name(requirement.name)
            if key not in seen:
                seen.add(key)
                todo.append((requirement.name, tuple(sorted(requirement.extras))))
    return seen


def test_every_needed_package_is_pinned_at_its_installed_version() -> None:
    pins, wanted = locked(), needed()
    missing = sorted(wanted - set(pins))
    assert not missing, f"requirements.lock does not pin {missing}: run 'make lock'"
    drifted = {name: (pins[name], metadata.version(name)) for name in wanted if metadata.version(name) != pins[name]}
    assert not drifted, f"installed versions differ from requirements.lock (lock, installed): {drifted}"


def test_the_walk_reaches_transitive_dependencies() -> None:
    """The check can fail: mypy's own requirement (two levels below mmn-ddx) is among the needed packages, and a
    lock without it would be reported."""
    assert "ast-serialize" in needed() and "mypy" in needed()
    assert "ast-serialize" not in needed("mmn-ddx", ())
