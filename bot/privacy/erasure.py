"""What Pintu holds about one resident, and erasing it (docs/privacy.md, "Residents' rights").

Plain synchronous functions over a Session, shared by the chat commands (`bot.privacy.rights`)
and the retention job (`bot.privacy.retention`). Everything is found through the contact's id
(conversations, consents, watches, handoffs) or a plain column, never by comparing a personal
column, so the encrypted columns and their lookup hashes stay the only way to a chat id.

Complaints are the one exception to erasure: a complaint LAKSA has not finished keeps what LAKSA
needs to finish it (category, description, place, photos) but loses its link to the chat; once
it is finished it is anonymised too (`anonymise_ticket`), by the retention job.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import (
    AgencyEvent,
    Campaign,
    Consent,
    Contact,
    Conversation,
    DeadLetter,
    HandoffNote,
    HandoffRequest,
    Message,
    Prediction,
    StatusWatch,
    Ticket,
    TicketEvent,
)
from ..outreach import consent

ERASED = "erased"  # a contact's status once anonymised
CLOSED_TICKET = frozenset({"selesai", "ditolak"})  # LAKSA's final states
# Ticket history steps (plain `ticket_events.status`, so the retention job can find them
# without reading an encrypted column): the reporter asked for erasure; the ticket is anonymised.
REPORTER_ERASED = "pelapor_dihapus"
ANONYMISED = "dianonimkan"
# What an anonymised complaint keeps: for the city's statistics, nothing about the person.
TICKET_KEEPS = ("category", "agency", "expected_response_days", "kecamatan", "kelurahan")
UPLOAD_KINDS = ("image", "document")
TOPIC_LABELS = {consent.CITY_NEWS: "info dan berita Pemkot Tangerang",
                consent.OWN_UPDATES: "kabar status dokumen dan laporan Anda"}


def anonymous_sender() -> str:
    """A sender id that names nobody: random, so that no two erased records share it."""
    return f"{ERASED}:{secrets.token_hex(8)}"


def topic_label(topic: str) -> str:
    kind, _, name = topic.partition(":")
    return f"pengumuman Kecamatan {name.title()}" if kind == "kecamatan" else \
        TOPIC_LABELS.get(topic, topic)


@dataclass(frozen=True)
class Holdings:
    """What Pintu holds about one contact (numbers and labels only: no message text)."""

    channel: str
    chat_id: str
    since: datetime
    messages: int
    uploads: int
    first_message_at: datetime | None
    topics: list[str]
    watches: list[str]
    tickets: list[tuple[str, str]]  # (number, status)
    handoffs: int

    @property
    def empty(self) -> bool:
        return not (self.messages or self.uploads or self.topics or self.watches
                    or self.tickets or self.handoffs)


@dataclass
class Erased:
    """What an erasure removed, for the resident's confirmation and the audit log."""

    messages: int = 0
    uploads: int = 0
    conversations: int = 0
    consents: int = 0
    watches: int = 0
    predictions: int = 0
    handoffs: int = 0
    handoff_notes: int = 0
    closed_tickets: int = 0
    kept_tickets: list[str] = field(default_factory=list)
    files: set[str] = field(default_factory=set)  # media references to delete after commit

    def counts(self) -> dict[str, int]:
        """The numbers alone (the audit entry's detail: no personal data)."""
        return {"messages": self.messages, "uploads": self.uploads,
                "conversations": self.conversations, "consents": self.consents,
                "watches": self.watches, "predictions": self.predictions,
                "handoffs": self.handoffs, "handoff_notes": self.handoff_notes,
                "closed_tickets": self.closed_tickets, "kept_tickets": len(self.kept_tickets),
                "files": len(self.files)}


def ticket_status(session: Session, ticket: Ticket) -> str:
    """The complaint's latest status: LAKSA's last status event for it, else our own."""
    latest = session.scalar(
        select(AgencyEvent.status).where(AgencyEvent.agency == "laksa",
                                         AgencyEvent.kind == "complaint",
                                         AgencyEvent.ref == ticket.number)
        .order_by(AgencyEvent.occurred_at.desc(), AgencyEvent.id.desc()).limit(1))
    return latest or ticket.status


def _tickets_of(session: Session, contact_id: int) -> list[Ticket]:
    """The contact's complaints, found through the watch every filed complaint gets."""
    numbers = select(StatusWatch.ref).where(StatusWatch.contact_id == contact_id,
                                            StatusWatch.agency == "laksa",
                                            StatusWatch.kind == "complaint")
    return list(session.scalars(select(Ticket).where(Ticket.number.in_(numbers))
                                .order_by(Ticket.id)))


def _conversation_ids(contact_id: int) -> Any:
    return select(Conversation.id).where(Conversation.contact_id == contact_id)


def holdings(session: Session, contact: Contact, *, before: datetime | None = None) -> Holdings:
    """What Pintu holds about `contact`; messages stored from `before` on (the request being
    answered) are not counted."""
    messages = select(Message).where(Message.conversation_id.in_(_conversation_ids(contact.id)))
    if before is not None:
        messages = messages.where(Message.created_at < before)
    sub = messages.subquery()
    count, first = session.execute(select(func.count(), func.min(sub.c.created_at))).one()
    uploads = session.scalar(select(func.count()).select_from(sub).where(
        sub.c.direction == "in", sub.c.kind.in_(UPLOAD_KINDS))) or 0
    watches = session.scalars(select(StatusWatch.label).where(
        StatusWatch.contact_id == contact.id).order_by(StatusWatch.id))
    handoffs = session.scalar(select(func.count()).where(
        HandoffRequest.contact_id == contact.id)) or 0
    return Holdings(
        channel=contact.channel, chat_id=contact.external_id, since=contact.first_seen_at,
        messages=int(count or 0), uploads=int(uploads), first_message_at=first,
        topics=[topic_label(t) for t in consent.active_topics(session, contact.id)],
        watches=list(watches),
        tickets=[(t.number, ticket_status(session, t))
                 for t in _tickets_of(session, contact.id)],
        handoffs=int(handoffs))


def media_refs(content: dict[str, Any] | None) -> set[str]:
    """The stored files a message's content names."""
    attachment = (content or {}).get("attachment")
    ref = attachment.get("ref") if isinstance(attachment, dict) else None
    return {ref} if isinstance(ref, str) and ref.startswith("media/") else set()


def ticket_refs(ticket: Ticket) -> set[str]:
    return {r for r in (ticket.payload or {}).get("photo_refs") or [] if isinstance(r, str)}


def refs_in_use(session: Session, candidates: set[str], *,
                uploads_since: datetime | None = None) -> set[str]:
    """Which of `candidates` something kept still names: a complaint not yet anonymised, a
    campaign's image, or a stored upload (from `uploads_since` on, when given; files are
    stored once per content, so two residents who sent the same picture share it). Read in
    Python: the columns are encrypted."""
    if not candidates:
        return set()
    uploads = select(Message.content).where(Message.kind.in_(UPLOAD_KINDS))
    if uploads_since is not None:
        uploads = uploads.where(Message.created_at >= uploads_since)
    used: set[str] = set()
    anonymised = select(TicketEvent.ticket_id).where(TicketEvent.status == ANONYMISED)
    for ticket in session.scalars(select(Ticket).where(Ticket.id.not_in(anonymised))
                                  .execution_options(yield_per=500)):
        used |= ticket_refs(ticket) & candidates
    used |= set(session.scalars(select(Campaign.image_ref).where(
        Campaign.image_ref.in_(candidates))))
    for content in session.scalars(uploads.execution_options(yield_per=500)):
        used |= media_refs(content) & candidates
    return used


def anonymise_ticket(session: Session, ticket: Ticket) -> set[str]:
    """Keeps only what the city's statistics need (TICKET_KEEPS, number, status, history);
    returns the photos it named."""
    photos = ticket_refs(ticket)
    ticket.payload = {k: v for k, v in (ticket.payload or {}).items() if k in TICKET_KEEPS}
    ticket.sender_id = anonymous_sender()
    ticket.events.append(TicketEvent(status=ANONYMISED, note="Data pelapor dianonimkan"))
    return photos


def anonymise_contact(contact: Contact) -> None:
    """The contact row stays (campaign and outreach counts refer to it) but names nobody."""
    contact.external_id = f"{ERASED}-{secrets.token_hex(12)}"
    contact.status = ERASED
    contact.last_inbound_at = None


def erase_contact(session: Session, contact: Contact, *,
                  why: str = "Data pelapor dihapus atas permintaannya",
                  check_files: bool = True) -> Erased:
    """Erases what Pintu holds about `contact` in this transaction (see the module docstring);
    the files to delete once it commits are in `Erased.files`. `why` goes into the history of
    the contact's complaints; without `check_files` the caller checks `Erased.files` against
    `refs_in_use` itself (once for many contacts)."""
    done = Erased()
    conversations = _conversation_ids(contact.id)
    rows = session.execute(select(Message.id, Message.direction, Message.kind, Message.content)
                           .where(Message.conversation_id.in_(conversations))).all()
    message_ids = [r.id for r in rows]
    done.messages = len(rows)
    done.uploads = sum(1 for r in rows if r.direction == "in" and r.kind in UPLOAD_KINDS)
    for r in rows:
        done.files |= media_refs(r.content)
    for chunk in _chunks(message_ids, 1000):
        done.predictions += _deleted(session, delete(Prediction).where(
            Prediction.message_id.in_(chunk)))
        session.execute(delete(DeadLetter).where(DeadLetter.message_id.in_(chunk)))
        session.execute(delete(Message).where(Message.id.in_(chunk)))
    done.conversations = _deleted(session, delete(Conversation).where(
        Conversation.contact_id == contact.id))
    done.consents = consent.withdraw_all(session, contact.id, by="erased")
    session.execute(delete(Consent).where(Consent.contact_id == contact.id))
    tickets = _tickets_of(session, contact.id)
    done.watches = _deleted(session, delete(StatusWatch).where(
        StatusWatch.contact_id == contact.id))
    _erase_handoffs(session, contact.id, done)
    kept: set[str] = set()
    for ticket in tickets:
        ticket.events.append(TicketEvent(status=REPORTER_ERASED, note=why))
        if ticket_status(session, ticket) in CLOSED_TICKET:
            done.files |= anonymise_ticket(session, ticket)
            done.closed_tickets += 1
        else:  # LAKSA still needs the complaint itself, not who sent it
            ticket.sender_id = anonymous_sender()
            done.kept_tickets.append(ticket.number)
            kept |= ticket_refs(ticket)
    anonymise_contact(contact)
    session.flush()
    done.files -= kept
    if check_files:
        done.files -= refs_in_use(session, done.files)
    return done


def _erase_handoffs(session: Session, contact_id: int, done: Erased) -> None:
    """Closes an open handoff and detaches every handoff from the resident; the rows stay
    (response times and ratings are the helpdesk's statistics)."""
    handoffs = list(session.scalars(select(HandoffRequest).where(
        HandoffRequest.contact_id == contact_id)))
    if not handoffs:
        return
    done.handoff_notes = _deleted(session, delete(HandoffNote).where(
        HandoffNote.handoff_id.in_([h.id for h in handoffs])))
    now = utcnow()
    for handoff in handoffs:
        if handoff.status != "closed":
            handoff.status, handoff.resolution, handoff.closed_at = "closed", "cancelled", now
        detach_handoff(handoff)
    done.handoffs = len(handoffs)


def detach_handoff(handoff: HandoffRequest) -> None:
    handoff.sender_id = anonymous_sender()
    handoff.note = None
    handoff.contact_id = None


def delete_files(root: Path, refs: Iterable[str]) -> int:
    """Deletes stored files by reference; how many were there."""
    gone = 0
    for ref in refs:
        name = Path(ref).name
        if ref != f"media/{name}":
            continue
        try:
            (root / name).unlink()
            gone += 1
        except FileNotFoundError:
            pass
    return gone


def _deleted(session: Session, statement: Any) -> int:
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


def _chunks(items: list[int], size: int) -> Iterable[list[int]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]
