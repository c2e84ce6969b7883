"""Complaint tickets: numbered at once, stored, and forwarded to LAKSA now or, if it is down, later.

The outbox is the `tickets` table itself: a ticket whose status is `menunggu_diteruskan` is retried
by `forward_due` with exponential backoff until LAKSA accepts it (LAKSA is idempotent on our
ticket number, so a retry after a lost answer cannot create a second complaint).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from integrations.agency import AgencyError, AgencyNotFound, AgencyUnavailable, LaksaClient

from .db import utcnow
from .models import Ticket, TicketEvent

log = logging.getLogger(__name__)

RECEIVED = "diterima"
PENDING = "menunggu_diteruskan"
FORWARDED = "diteruskan"
STATUS_LABELS = {
    RECEIVED: "Diterima Pintu",
    PENDING: "Tersimpan, menunggu diteruskan ke LAKSA (sistem sedang gangguan)",
    FORWARDED: "Diteruskan ke dinas terkait",
    "diproses": "Sedang ditindaklanjuti dinas",
    "selesai": "Selesai ditangani",
    "ditolak": "Tidak dapat ditindaklanjuti",
}
MAX_BACKOFF = timedelta(minutes=30)


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status.replace("_", " ").capitalize())


def reporter_ref(sender_id: str) -> str:
    """An opaque reference for the agency: never the resident's phone or chat id."""
    return hashlib.sha256(f"pintu-reporter:{sender_id}".encode()).hexdigest()[:20]


def new_number() -> str:
    return f"LKS-{secrets.randbelow(900000) + 100000}"


@dataclass(frozen=True)
class Filed:
    ticket: Ticket
    forwarded: bool


def _backoff(attempts: int) -> timedelta:
    return min(MAX_BACKOFF, timedelta(seconds=15 * 2 ** max(0, attempts - 1)))


class TicketService:
    """Files complaints and answers their status; one instance per process."""

    def __init__(self, sessions: sessionmaker, laksa: LaksaClient) -> None:
        self._sessions = sessions
        self._laksa = laksa

    def _create(self, sender_id: str, data: dict[str, Any]) -> Ticket:
        for _ in range(10):
            with self._sessions() as session, session.begin():
                ticket = Ticket(
                    number=new_number(), kind="complaint", sender_id=sender_id,
                    category=data["category"], agency=data["agency"],
                    expected_response_days=int(data["expected_response_days"]),
                    payload=data, status=RECEIVED,
                )
                ticket.events.append(TicketEvent(status=RECEIVED, note=status_label(RECEIVED)))
                session.add(ticket)
                try:
                    session.flush()
                except IntegrityError:  # the random number was taken; draw another
                    session.rollback()
                    continue
                return ticket
        raise RuntimeError("could not allocate a ticket number")

    async def file_complaint(self, sender_id: str, data: dict[str, Any]) -> Filed:
        """Stores the complaint (the ticket number exists from here on), then tries LAKSA once."""
        ticket = self._create(sender_id, data)
        forwarded = await self._forward(ticket.id)
        with self._sessions() as session:
            return Filed(session.get_one(Ticket, ticket.id), forwarded)

    async def _forward(self, ticket_id: int) -> bool:
        with self._sessions() as session:
            ticket = session.get_one(Ticket, ticket_id)
            data = dict(ticket.payload)
            number, sender = ticket.number, ticket.sender_id
        try:
            receipt = await self._laksa.submit_complaint(
                external_ref=number,
                category=data["category"],
                description=data.get("description") or "",
                kecamatan=data.get("kecamatan"),
                kelurahan=data.get("kelurahan"),
                latitude=data.get("latitude"),
                longitude=data.get("longitude"),
                photo_refs=list(data.get("photo_refs") or []),
                reporter_ref=reporter_ref(sender),
            )
        except AgencyError as exc:
            self._postpone(ticket_id, exc)
            return False
        with self._sessions() as session, session.begin():
            ticket = session.get_one(Ticket, ticket_id)
            ticket.agency_ref = receipt.agency_ref
            ticket.agency = receipt.assigned_agency or ticket.agency
            ticket.expected_response_days = (receipt.expected_response_days
                                             or ticket.expected_response_days)
            ticket.status = FORWARDED
            ticket.next_attempt_at = None
            ticket.events.append(
                TicketEvent(status=FORWARDED, note=f"Diteruskan ke {ticket.agency}")
            )
        log.info("complaint %s forwarded to LAKSA", number)
        return True

    def _postpone(self, ticket_id: int, exc: AgencyError) -> None:
        with self._sessions() as session, session.begin():
            ticket = session.get_one(Ticket, ticket_id)
            ticket.submit_attempts += 1
            ticket.next_attempt_at = utcnow() + _backoff(ticket.submit_attempts)
            if ticket.status != PENDING:
                ticket.status = PENDING
                ticket.events.append(TicketEvent(status=PENDING, note=status_label(PENDING)))
            kind = "unavailable" if isinstance(exc, AgencyUnavailable) else type(exc).__name__
            log.warning("complaint %s not forwarded (%s), attempt %d, retry at %s",
                        ticket.number, kind, ticket.submit_attempts, ticket.next_attempt_at)

    async def forward_due(self, now: datetime | None = None, limit: int = 50) -> int:
        """Retries every pending complaint whose time has come; returns how many went through."""
        now = now or utcnow()
        with self._sessions() as session:
            due = session.scalars(
                select(Ticket.id).where(Ticket.status == PENDING, Ticket.next_attempt_at <= now)
                .order_by(Ticket.next_attempt_at).limit(limit)
            ).all()
        forwarded = 0
        for ticket_id in due:
            if await self._forward(ticket_id):
                forwarded += 1
            else:
                break  # LAKSA is still down: the rest waits for their own next attempt
        return forwarded

    async def status(self, number: str) -> dict[str, Any] | None:
        """Status and history of a ticket, refreshed from LAKSA when it has been forwarded."""
        with self._sessions() as session:
            ticket = session.scalar(select(Ticket).where(Ticket.number == number.upper()))
            if ticket is None:
                return None
            history = [{"at": e.at.isoformat(), "status": e.status, "note": e.note}
                       for e in ticket.events]
            result = {"ticket_id": ticket.number, "kind": ticket.kind, "status": ticket.status,
                      "agency": ticket.agency, "agency_ref": ticket.agency_ref}
        if result["agency_ref"]:
            try:
                remote = await self._laksa.complaint(result["agency_ref"])
                history += [{"at": _iso(h.at), "status": h.status, "note": h.note}
                            for h in remote.history]
                result["status"] = remote.status
            except (AgencyUnavailable, AgencyNotFound):
                pass  # our own record still answers the resident
        history.sort(key=lambda h: h["at"])
        result["status_label"] = status_label(result["status"])
        result["history"] = _dedupe(history)
        return result


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _dedupe(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen, out = set(), []
    for item in history:  # our own step and LAKSA's echo of it are one step for the resident
        key = item["note"].strip().rstrip(".").lower()
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out
