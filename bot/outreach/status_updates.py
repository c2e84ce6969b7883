"""Proactive status updates: an agency reports a change, the resident who waits on it is told.

An agency's signed status webhook (`bot/api/agency.py`, contract in
`integrations.agency.status_webhook`) reaches `StatusUpdates.handle`. Handling is idempotent, so
the webhook answers 200 only once everything is queued, and an agency that gets no answer simply
sends the same event again: the event is kept once by its id, a finished document's verification
code is the same for the same event, and each message is queued under a reference made from the
event and the watch, which the outbox queues only once (`Inbox.deliver(once_key=...)`).

Who is told: every contact with a `StatusWatch` on the record and an active consent to
`own_updates` (nobody who said STOP, nobody who blocked the bot). An event older than the last
one a watch saw changes nothing (agencies may deliver out of order). WhatsApp outside the 24-hour
window gets an approved template; inside it, and on Telegram, the full message (and for a
finished document, its verification code with a QR image of the public page).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from prometheus_client import Counter
from redis.asyncio import Redis
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from integrations.replies import Media, Option, Reply, Template

from .. import records
from ..db import aware, in_transaction
from ..media import MediaStore
from ..models import AgencyEvent, Contact, StatusWatch
from ..outbound import window_key
from . import consent, verification

log = logging.getLogger(__name__)

# Which records each agency reports on: (agency, kind) -> what residents call it.
KINDS = {
    ("laksa", "complaint"): "laporan",
    ("dukcapil", "birth_registration"): "akta kelahiran",
    ("dukcapil", "ktp"): "KTP-el",
}
STATUS_TEMPLATE = "pintu_status_update"
READY_TEMPLATE = "pintu_document_ready"

EVENTS = Counter("pintu_agency_events_total", "Agency status events", ["agency", "outcome"])
UPDATES = Counter("pintu_status_updates_total", "Status updates queued for residents",
                  ["channel", "form"])


@dataclass(frozen=True)
class FinishedDocument:
    """A document the agency finished: what its verification page may show."""

    label: str  # "Akta kelahiran AKL-123456"
    holder_initials: str
    office: str | None  # where to collect it; None for an electronic document


@dataclass(frozen=True)
class StatusEvent:
    agency: str
    event_id: str
    kind: str
    ref: str
    status: str
    status_label: str
    note: str | None
    occurred_at: datetime
    document: FinishedDocument | None = None


@dataclass(frozen=True)
class Handled:
    duplicate: bool
    notified: int  # residents whose update was queued
    skipped: int  # residents waiting on it without consent to updates


@dataclass(frozen=True)
class _Notice:
    watch_id: int
    channel: str
    chat_id: str
    label: str
    code: str | None


class Deliver(Protocol):
    """What `StatusUpdates` needs of the inbox: `Inbox.deliver`."""

    async def __call__(self, channel: str, chat_id: str, replies: list[Reply], *,
                       once_key: str | None = None) -> None: ...


def watch(session: Session, channel: str, chat_id: str, *, agency: str, kind: str, ref: str,
          label: str) -> bool:
    """Records that the resident waits on an agency record; whether they have already agreed to
    updates (when not, the receipt asks)."""
    if (agency, kind) not in KINDS:
        raise ValueError(f"unknown record kind {agency}/{kind}")
    contact = records.touch_contact(session, channel, chat_id, inbound=False)
    exists = session.scalar(select(StatusWatch.id).where(
        StatusWatch.contact_id == contact.id, StatusWatch.agency == agency,
        StatusWatch.kind == kind, StatusWatch.ref == ref))
    if exists is None:
        try:
            with session.begin_nested():
                session.add(StatusWatch(contact_id=contact.id, agency=agency, kind=kind,
                                        ref=ref, label=label[:80]))
        except IntegrityError:
            pass  # the same receipt handled twice at once
    return consent.may_send(session, contact.id, consent.OWN_UPDATES)


class StatusUpdates:
    """Turns agency status events into messages to the residents waiting on them."""

    def __init__(self, sessions: sessionmaker, redis: Redis, media: MediaStore,
                 deliver: Deliver, *, verification_keys: verification.Keys,
                 public_url: str) -> None:
        self._sessions = sessions
        self._redis = redis
        self._media = media
        self._deliver = deliver
        self._keys = verification_keys
        self._public_url = public_url

    async def handle(self, event: StatusEvent) -> Handled:
        """Records the event and queues the updates; safe to call again with the same event."""
        duplicate, notices, skipped = await asyncio.to_thread(
            in_transaction, self._sessions, self._record, event)
        for notice in notices:
            replies = await self._replies(event, notice)
            await self._deliver(notice.channel, notice.chat_id, replies,
                                once_key=f"agency:{event.agency}:{event.event_id}:"
                                         f"{notice.watch_id}")
        EVENTS.labels(event.agency, "duplicate" if duplicate else "new").inc()
        return Handled(duplicate, len(notices), skipped)

    def _record(self, session: Session,
                event: StatusEvent) -> tuple[bool, list[_Notice], int]:
        duplicate = session.scalar(select(AgencyEvent).where(
            AgencyEvent.agency == event.agency, AgencyEvent.event_id == event.event_id))
        row = duplicate or AgencyEvent(agency=event.agency, event_id=event.event_id,
                                       kind=event.kind, ref=event.ref, status=event.status,
                                       occurred_at=event.occurred_at)
        if duplicate is None:
            session.add(row)
        code = None
        if event.document is not None:
            code = verification.issue(
                session, self._keys, agency=event.agency, kind=event.kind, ref=event.ref,
                event_id=event.event_id, document_label=event.document.label,
                holder_initials=event.document.holder_initials, office=event.document.office,
                issued_at=event.occurred_at)
        watches = session.execute(
            select(StatusWatch, Contact).join(Contact, Contact.id == StatusWatch.contact_id)
            .where(StatusWatch.agency == event.agency, StatusWatch.kind == event.kind,
                   StatusWatch.ref == event.ref).order_by(StatusWatch.id)).all()
        notices: list[_Notice] = []
        skipped = 0
        for watched, contact in watches:
            if watched.last_event_at is not None and \
                    aware(watched.last_event_at) > event.occurred_at:
                continue  # an older event delivered late: the resident knows newer news
            watched.last_status, watched.last_event_at = event.status, event.occurred_at
            if not consent.may_send(session, contact.id, consent.OWN_UPDATES):
                skipped += 1
                continue
            notices.append(_Notice(watched.id, contact.channel, contact.external_id,
                                   watched.label, code))
        row.notified, row.skipped = len(notices), skipped
        return duplicate is not None, notices, skipped

    async def _replies(self, event: StatusEvent, notice: _Notice) -> list[Reply]:
        whatsapp_closed = notice.channel == "whatsapp" and not await self._redis.exists(
            window_key(notice.channel, notice.chat_id))
        form = "template" if whatsapp_closed else "message"
        UPDATES.labels(notice.channel, form).inc()
        if event.document is not None and notice.code is not None:
            return await self._finished(event, event.document, notice, whatsapp_closed)
        text = f"Kabar {notice.label}: {event.status_label}."
        if event.note:
            text += f"\nCatatan petugas: {event.note}"
        template = Template(STATUS_TEMPLATE, "id", (notice.label, event.status_label)) \
            if whatsapp_closed else None
        return [Reply(text=text, options=_MENU, template=template)]

    async def _finished(self, event: StatusEvent, document: FinishedDocument, notice: _Notice,
                        whatsapp_closed: bool) -> list[Reply]:
        code = notice.code
        assert code is not None
        url = verification.page_url(self._public_url, code)
        where = (f"Silakan ambil di {document.office}; tunjukkan kode ini, tanpa antre."
                 if document.office else "Dokumen elektronik ini sah dengan tanda tangan "
                 "elektronik.")
        if whatsapp_closed:
            return [Reply(text=f"{notice.label}: {event.status_label}. Kode {code}",
                          template=Template(READY_TEMPLATE, "id",
                                            (notice.label, where, code, url)))]
        png = verification.qr_png(url)
        ref = await asyncio.to_thread(self._media.put, png, "image/png")
        text = (f"Kabar {notice.label}: {event.status_label}.\n{where}\n"
                f"Kode verifikasi: {code}\nSiapa pun dapat memeriksa keasliannya di {url}")
        return [Reply(text=f"Kode verifikasi {notice.label}: {code}",
                      media=Media(kind="image", ref=ref, filename="kode-verifikasi.png")),
                Reply(text=text, options=_MENU)]


_MENU = (Option("Cek status", "/request_status"), Option("Menu utama", "/greet"))
