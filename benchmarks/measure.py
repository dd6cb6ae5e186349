"""Timing shared by the benchmark scripts."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(function: Callable[[], object], repeat: int,
          before: Callable[[], object] | None = None) -> float:
    """Median seconds of ``repeat`` calls; ``before`` runs ahead of each call, untimed."""
    samples = []
    for _ in range(repeat):
        if before is not None:
            before()
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)
