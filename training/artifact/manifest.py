"""Integrity of an exported bundle: a manifest of SHA-256 file digests, written at export, checked at load.

Why: the bundle's files decide what a clinician is shown. Editing the conformal threshold and the
temperature in ``bundle.json`` moved P(MMN) of the example patient from 1.000 to 0.340 and grew its
prediction set to all four diagnoses, and a ``model_card.md`` symlinked to ``/etc/passwd`` was served by
``GET /v1/model`` (issue #15). The manifest lists every file of the bundle directory with its digest;
:func:`read_verified` refuses a changed, added, removed or symlinked file (or sub-directory) by name,
and returns the verified bytes, so what is loaded is exactly what was checked (no second read).

The digest of the manifest itself (:func:`manifest_digest`) names the whole bundle in one value: it is
shown by ``GET /v1/model`` and in each prediction's audit block. A manifest protects against accidental
and casual changes; against someone who can rewrite the manifest too, compare that digest with the one
of the model you approved, or sign the model directory.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

MANIFEST_FILE = "manifest.json"
ALGORITHM = "sha256"


class BundleError(Exception):
    """The bundle cannot be found, read or trusted; the message says which file and why."""


class IntegrityError(BundleError, ValueError):
    """A bundle file differs from its manifest (or a path leaves the model); the message names the file."""


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_manifest(directory: Path) -> str:
    """List every file of ``directory`` with its SHA-256 in :data:`MANIFEST_FILE`; return the manifest digest."""
    files = {name: file_digest((directory / name).read_bytes()) for name in _entries(directory)}
    document = json.dumps({"algorithm": ALGORITHM, "files": dict(sorted(files.items()))}, indent=1).encode()
    (directory / MANIFEST_FILE).write_bytes(document)
    return file_digest(document)


def manifest_digest(manifest: bytes) -> str:
    """The one digest that names a bundle: SHA-256 of its manifest file."""
    return file_digest(manifest)


def read_verified(directory: Path) -> tuple[dict[str, bytes], str]:
    """Every file of the bundle directory as verified bytes, and the manifest digest.

    Raises :class:`IntegrityError` naming the first file that is missing from, added to, changed since
    or symlinked in the exported bundle (or a missing / unreadable manifest).
    """
    path = directory / MANIFEST_FILE
    if path.is_symlink() or not path.is_file():
        raise IntegrityError(f"{path}: missing; the bundle cannot be verified (re-export it with this version)")
    raw = path.read_bytes()
    try:
        document = json.loads(raw)
        expected = document["files"]
        if document.get("algorithm") != ALGORITHM or not isinstance(expected, dict):
            raise ValueError(f"algorithm {document.get('algorithm')!r}")
    except (ValueError, KeyError, TypeError) as exc:
        raise IntegrityError(f"{path}: not a valid manifest ({exc})") from None
    present = _entries(directory)
    if added := sorted(set(present) - set(expected)):
        raise IntegrityError(f"{directory / added[0]}: not in the bundle's manifest (added after export)")
    if missing := sorted(set(expected) - set(present)):
        raise IntegrityError(f"{directory / missing[0]}: listed in the bundle's manifest but missing")
    contents = {}
    for name, digest in expected.items():
        data = (directory / name).read_bytes()
        if file_digest(data) != digest:
            raise IntegrityError(f"{directory / name}: changed since export (SHA-256 differs from the manifest)")
        contents[name] = data
    return contents, manifest_digest(raw)


def _entries(directory: Path) -> list[str]:
    """Names of the regular files in ``directory`` except the manifest; a symlink or sub-directory is refused."""
    names = []
    with os.scandir(directory) as entries:
        for entry in entries:
            if entry.is_symlink():
                raise IntegrityError(f"{directory / entry.name}: a symbolic link; a bundle holds only regular files")
            if not entry.is_file(follow_symlinks=False):
                raise IntegrityError(f"{directory / entry.name}: not a regular file; a bundle holds only files")
            if entry.name != MANIFEST_FILE:
                names.append(entry.name)
    return sorted(names)
