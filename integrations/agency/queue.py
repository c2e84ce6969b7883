"""Online queue: services, offices, free slots, bookings and cancellations."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any

from .base import ServiceClient
from .records import (
    StatusEvent,
    history,
    optional_str,
    parse,
    parse_date,
    parse_datetime,
    parse_time,
)


@dataclass(frozen=True)
class QueueService:
    code: str
    name: str
    agency: str
    queue_letter: str
    requirements: tuple[str, ...]
    offices: tuple[str, ...]


@dataclass(frozen=True)
class Office:
    code: str
    name: str
    kecamatan: str
    address: str | None
    hours: str
    services: tuple[str, ...]


@dataclass(frozen=True)
class TimeWindow:
    start: time | None
    end: time | None
    available: int


@dataclass(frozen=True)
class DaySlots:
    """One day at one office for one service; `closed_reason` says why a day is shut."""

    date: date | None
    open: bool
    closed_reason: str | None
    closed_label: str | None
    quota: int
    booked: int
    available: int
    windows: tuple[TimeWindow, ...]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> DaySlots:
        return cls(date=parse_date(d["date"]), open=bool(d["open"]),
                   closed_reason=optional_str(d.get("closed_reason")),
                   closed_label=optional_str(d.get("closed_label")), quota=int(d.get("quota", 0)),
                   booked=int(d.get("booked", 0)), available=int(d.get("available", 0)),
                   windows=tuple(TimeWindow(parse_time(w["start"]), parse_time(w["end"]),
                                            int(w["available"])) for w in d.get("windows") or ()))


@dataclass(frozen=True)
class Booking:
    booking_number: str
    service: str
    service_name: str
    office: str
    office_name: str
    date: date | None
    queue_number: str
    window_start: time | None
    window_end: time | None
    status: str  # aktif, dibatalkan, selesai, tidak_hadir, kedaluwarsa
    status_label: str
    requirements: tuple[str, ...]
    created_at: datetime | None
    updated_at: datetime | None
    created: bool
    history: tuple[StatusEvent, ...]

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Booking:
        return cls(booking_number=str(d["booking_number"]), service=str(d["service"]),
                   service_name=str(d.get("service_name") or d["service"]),
                   office=str(d["office"]), office_name=str(d.get("office_name") or d["office"]),
                   date=parse_date(d["date"]), queue_number=str(d["queue_number"]),
                   window_start=parse_time(d.get("window_start")),
                   window_end=parse_time(d.get("window_end")), status=str(d["status"]),
                   status_label=str(d.get("status_label") or d["status"]),
                   requirements=tuple(str(r) for r in d.get("requirements") or ()),
                   created_at=parse_datetime(d.get("created_at")),
                   updated_at=parse_datetime(d.get("updated_at")),
                   created=bool(d.get("created", False)), history=history(d.get("history")))


def _iso(day: date | str) -> str:
    return day.isoformat() if isinstance(day, date) else str(day)


class QueueClient(ServiceClient):
    """The queue API. Booking is idempotent (the same holder, service, office and day get the
    same booking back), so it is retried like a GET."""

    service = "queue"

    async def services(self) -> tuple[QueueService, ...]:
        data = await self.http.request("GET", "/queue/v1/services")
        return parse(lambda items: tuple(QueueService(
            code=str(s["code"]), name=str(s["name"]), agency=str(s["agency"]),
            queue_letter=str(s["queue_letter"]), requirements=tuple(s.get("requirements") or ()),
            offices=tuple(s.get("offices") or ())) for s in items), data, self.service)

    async def offices(self, service: str | None = None) -> tuple[Office, ...]:
        data = await self.http.request("GET", "/queue/v1/offices", params={"service": service})
        return parse(lambda items: tuple(Office(
            code=str(o["code"]), name=str(o["name"]), kecamatan=str(o["kecamatan"]),
            address=optional_str(o.get("address")), hours=str(o.get("hours") or ""),
            services=tuple(o.get("services") or ())) for o in items), data, self.service)

    async def slots(self, service: str, office: str,
                    day: date | str | None = None) -> tuple[DaySlots, ...]:
        """One day, or the next 14 days when `day` is None."""
        data = await self.http.request("GET", "/queue/v1/slots", params={
            "service": service, "office": office, "date": _iso(day) if day else None})
        return parse(lambda d: tuple(DaySlots.from_json(x) for x in d["days"]), data, self.service)

    async def book(self, *, service: str, office: str, day: date | str,
                   holder_ref: str) -> Booking:
        """Books a number. Raises AgencyRejected with code fully_booked, duplicate_booking,
        closed_sunday, closed_holiday, date_in_past ... and a message fit for the resident."""
        data = await self.http.request("POST", "/queue/v1/bookings", idempotent=True, json={
            "service": service, "office": office, "date": _iso(day), "holder_ref": holder_ref})
        return parse(Booking.from_json, data, self.service)

    async def booking(self, number: str) -> Booking:
        data = await self.http.request("GET", "/queue/v1/bookings/{number}",
                                       path_params={"number": number.strip().upper()})
        return parse(Booking.from_json, data, self.service)

    async def cancel(self, number: str) -> Booking:
        """Cancels; cancelling an already cancelled booking returns it unchanged."""
        data = await self.http.request("DELETE", "/queue/v1/bookings/{number}",
                                       path_params={"number": number.strip().upper()})
        return parse(Booking.from_json, data, self.service)
