"""An exclusive lock beside an sqlite tracking store, for the steps that must not interleave between runs.

Concurrent ``train`` runs on one sqlite store hit two races (issue #15):

* the first use of a new store creates its tables (MLflow runs alembic migrations); two processes doing
  it at once crash;
* promotion reads the champion, scores it and moves the alias: a run that read the champion before
  another run moved the alias could replace a better champion with a worse model.

Both are done while holding ``<database>.lock`` beside the database file (e.g. ``mlruns.db.lock``). The
lock is ``flock(2)`` on that file: the kernel releases it when its holder exits, even by a crash, so a
leftover lock file never blocks anyone and needs no cleaning. A tracking server's store is not locked
here (the lock file would be on one machine only); see :mod:`training.fitting.registry` for the
re-checks that protect the promotion there.
"""

from __future__ import annotations

import fcntl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WAIT_SECONDS = 600.0
"""How long to wait for another run's promotion (seconds of model scoring) before giving up."""
_POLL_SECONDS = 0.05


class StoreLockTimeout(TimeoutError):
    """Another process held the store's lock for longer than :data:`WAIT_SECONDS`."""


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


@contextmanager
def locked(db: Path, wait: float = WAIT_SECONDS) -> Iterator[Path]:
    """Hold the exclusive lock of the sqlite store ``db`` (which need not exist yet); yields the lock path."""
    path = lock_path(db)
    path.parent.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + wait
    with path.open("a") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreLockTimeout(
                        f"{path}: another mmn-ddx run has held the tracking store's lock for over {wait:.0f} s; "
                        "if no run is active, the lock is held by a stuck process (the file itself may stay)"
                    ) from None
                time.sleep(_POLL_SECONDS)
        try:
            yield path
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
