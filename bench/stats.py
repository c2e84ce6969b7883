"""Summaries of latency samples and rates, in the units the reports use (milliseconds, per s)."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks (numpy's
    default); NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def latency_ms(seconds: Sequence[float]) -> dict[str, float | int | None]:
    """p50, p95, p99, mean and max of durations given in seconds, in milliseconds."""
    if not seconds:
        return {"count": 0, "p50": None, "p95": None, "p99": None, "mean": None, "max": None}
    ms = [s * 1000 for s in seconds]
    return {
        "count": len(ms),
        "p50": round(percentile(ms, 50), 1),
        "p95": round(percentile(ms, 95), 1),
        "p99": round(percentile(ms, 99), 1),
        "mean": round(sum(ms) / len(ms), 1),
        "max": round(max(ms), 1),
    }


def rate(count: int, start: float, end: float) -> float | None:
    """Events per second over [start, end]; None when the span is empty."""
    span = end - start
    if count < 2 or span <= 0:
        return None
    # n events spread over a span make n - 1 intervals.
    return round((count - 1) / span, 2)


def ratio(a: float | int | None, b: float | int | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(float(a) / float(b), 3)
