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


def alternately(ours: Callable[[], object], ours_reset: Callable[[], object],
                baseline: Callable[[], object], baseline_reset: Callable[[], object],
                repeat: int) -> tuple[float, float]:
    """(ours, baseline) median seconds of ``repeat`` calls each, timed in turn so a busy moment
    of the machine falls on both; each side's reset runs untimed before each of its calls and
    once after the last."""
    ours_samples, baseline_samples = [], []
    for _ in range(repeat):
        ours_samples.append(timed(ours, 1, before=ours_reset))
        baseline_samples.append(timed(baseline, 1, before=baseline_reset))
    ours_reset()
    baseline_reset()
    return statistics.median(ours_samples), statistics.median(baseline_samples)
