"""A circuit breaker: after repeated failures, stop calling an agency for a while.

closed -> (failure_threshold consecutive failures) -> open -> (reset_timeout) -> half_open: one
trial call; success closes, failure opens again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

log = logging.getLogger("integrations.agency")

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"


class CircuitBreaker:
    """Counts consecutive failures of one service; not thread-safe (one event loop)."""

    def __init__(self, failure_threshold: int = 5, reset_timeout: float = 30.0, *,
                 clock: Callable[[], float] = time.monotonic, name: str = "agency") -> None:
        if failure_threshold < 1 or reset_timeout < 0:
            raise ValueError("failure_threshold must be >= 1 and reset_timeout >= 0")
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self.name = name
        self._clock = clock
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._trial_running = False

    @property
    def state(self) -> str:
        if self._state == OPEN and self._clock() - self._opened_at >= self.reset_timeout:
            return HALF_OPEN
        return self._state

    @property
    def retry_in(self) -> float:
        """Seconds until a trial call will be let through (0 unless open)."""
        if self._state != OPEN:
            return 0.0
        return max(0.0, self.reset_timeout - (self._clock() - self._opened_at))

    def allow(self) -> bool:
        """Whether a call may go out now; in half-open, only one trial at a time."""
        state = self.state
        if state == CLOSED:
            return True
        if state == OPEN or self._trial_running:
            return False
        if self._state == OPEN:
            log.info("%s circuit half-open: sending one trial request", self.name)
        self._state, self._trial_running = HALF_OPEN, True
        return True

    def record_success(self) -> None:
        if self._state != CLOSED:
            log.info("%s circuit closed again", self.name)
        self._state, self._failures, self._trial_running = CLOSED, 0, False

    def record_failure(self) -> None:
        self._failures += 1
        if self._state == HALF_OPEN or self._failures >= self.failure_threshold:
            if self._state != OPEN:
                log.warning("%s circuit open after %d failures; calls refused for %.0f s",
                            self.name, self._failures, self.reset_timeout)
            self._state, self._opened_at = OPEN, self._clock()
        self._trial_running = False

    def release(self) -> None:
        """Neither success nor failure (429, cancellation): free the half-open trial slot."""
        self._trial_running = False
