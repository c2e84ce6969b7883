"""Helpers for tests that run the sandbox in-process: a settable clock and an app on a file."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from .app import create_app
from .clock import WIB
from .settings import SandboxSettings

# A Tuesday morning; 25 December 2026 (a holiday) is within the two-week booking window.
TUESDAY_MORNING = datetime(2026, 12, 15, 9, 0, tzinfo=WIB)


class SettableClock:
    """A clock tests move by assigning `now`."""

    def __init__(self, now: datetime = TUESDAY_MORNING) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def sandbox_app(directory: Path, clock: SettableClock, *, allow_faults: bool = True) -> FastAPI:
    """An app on a SQLite file in `directory`, seeded on first use with the default seed."""
    settings = SandboxSettings(database_url=f"sqlite:///{directory / 'sandbox.db'}",
                               allow_faults=allow_faults)
    return create_app(settings, clock=clock)
