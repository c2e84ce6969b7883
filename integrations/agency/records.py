"""Shared pieces of the result types: a status-history step and tolerant field parsers.

Results are frozen dataclasses, not pydantic models: this package runs beside pydantic 1.10
(Rasa) and pydantic 2 (gateway) alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, TypeVar

from .errors import AgencyError

T = TypeVar("T")


def parse_datetime(value: Any) -> datetime | None:
    """ISO 8601 with offset; Python 3.10's fromisoformat does not take a "Z"."""
    if value in (None, ""):
        return None
    text = str(value)
    return datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)


def parse_date(value: Any) -> date | None:
    return None if value in (None, "") else date.fromisoformat(str(value)[:10])


def parse_time(value: Any) -> time | None:
    return None if value in (None, "") else time.fromisoformat(str(value))


def optional_str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class StatusEvent:
    """One step of a case's history, oldest first."""

    status: str
    status_label: str
    at: datetime | None
    note: str
    photo_refs: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> StatusEvent:
        return cls(status=str(data["status"]), status_label=str(data.get("status_label") or
                                                                data["status"]),
                   at=parse_datetime(data.get("at")), note=str(data.get("note") or ""),
                   photo_refs=tuple(str(p) for p in data.get("photo_refs") or ()))


def history(items: Iterable[dict[str, Any]] | None) -> tuple[StatusEvent, ...]:
    return tuple(StatusEvent.from_json(item) for item in items or ())


def parse(build: Callable[[Any], T], data: Any, service: str) -> T:
    """`build(data)`, turning a malformed answer into an AgencyError instead of a KeyError."""
    try:
        return build(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise AgencyError(f"{service}: unexpected response shape ({type(exc).__name__})",
                          service=service) from None
