"""The one timing helper of the speed scripts (run as ``python benchmarks/<script>.py``, which puts this
folder on the import path)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any


def best_of(runs: int, fn: Callable[[], Any]) -> float:
    """Seconds of the fastest of ``runs`` calls of ``fn``: the least disturbed by other work."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)
