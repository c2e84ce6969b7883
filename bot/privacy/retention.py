"""Retention (UU 27/2022 PDP: personal data kept no longer than needed; docs/privacy.md).

`sweep` deletes or anonymises, in batches, what is older than the configured periods:
messages and their dead letters (RETENTION_MESSAGES_DAYS), emptied conversations, officers'
notes and the link of old handoffs to the resident; stored files (RETENTION_UPLOADS_DAYS)
that nothing kept still names; complaints closed for RETENTION_CLOSED_TICKETS_DAYS (at once
when the reporter asked for erasure); residents silent for the messages' period who have no
consent left (erased like "hapus data saya"); and the NLU predictions past
NLU_PREDICTION_RETENTION_DAYS (`bot.learning.predictions.purge`). The worker process runs it
every RETENTION_INTERVAL_S (`run_forever`); `python -m bot.privacy.retention [--dry-run]` runs
it once and prints the counts.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from pathlib import Path

from redis.asyncio import Redis
from sqlalchemy import delete, exists, or_, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql import Executable

from ..aio import in_thread, raise_if_cancelled
from ..db import aware, utcnow
from ..learning import predictions
from ..models import (
    AgencyEvent,
    AuditEntry,
    Consent,
    Contact,
    Conversation,
    DeadLetter,
    HandoffNote,
    HandoffRequest,
    Message,
    Ticket,
    TicketEvent,
)
from ..settings import Settings
from ..staff.audit import record as audit
from . import erasure

log = logging.getLogger(__name__)

LOCK_KEY = "pintu:retention:ran"  # one sweep per interval across every worker process


@dataclass(frozen=True)
class Policy:
    """How many days each kind of data is kept."""

    messages_days: int
    uploads_days: int
    closed_tickets_days: int
    predictions_days: int
    audit_days: int = 730

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        return cls(messages_days=settings.retention_messages_days,
                   uploads_days=settings.retention_uploads_days,
                   closed_tickets_days=settings.retention_closed_tickets_days,
                   predictions_days=settings.nlu_prediction_retention_days,
                   audit_days=settings.retention_audit_days)


@dataclass
class Swept:
    """How many of each were deleted or anonymised (or would be, in a dry run)."""

    messages: int = 0
    dead_letters: int = 0
    conversations: int = 0
    handoff_notes: int = 0
    handoffs: int = 0
    tickets: int = 0
    contacts: int = 0
    files: int = 0
    predictions: int = 0
    audit_entries: int = 0


def sweep(sessions: sessionmaker, media_root: Path, policy: Policy, *,
          now: datetime | None = None, dry_run: bool = False, batch: int = 500) -> Swept:
    """One retention pass; commits batch by batch (a dry run rolls everything back and deletes
    no file)."""
    now = now or utcnow()
    old = now - timedelta(days=policy.messages_days)
    done = Swept()
    files: set[str] = set()
    with sessions() as session:
        def step() -> None:
            session.flush() if dry_run else session.commit()

        _messages(session, old, batch, done, step)
        done.conversations = _count(session, delete(Conversation).where(
            Conversation.last_message_at < old,
            ~exists().where(Message.conversation_id == Conversation.id)))
        done.dead_letters += _count(session, delete(DeadLetter).where(
            DeadLetter.created_at < old))
        done.handoff_notes = _count(session, delete(HandoffNote).where(
            HandoffNote.created_at < old))
        step()
        _handoffs(session, old, batch, done, step)
        files |= _tickets(session, now - timedelta(days=policy.closed_tickets_days), done)
        step()
        files |= _dormant_contacts(session, old, batch, done, step)
        done.predictions = predictions.purge(
            session, older_than=timedelta(days=policy.predictions_days), now=now)
        done.audit_entries = _count(session, delete(AuditEntry).where(
            AuditEntry.at < now - timedelta(days=policy.audit_days)))
        step()
        files |= _expired_files(media_root, now - timedelta(days=policy.uploads_days))
        files -= erasure.refs_in_use(session, files,
                                     uploads_since=now - timedelta(days=policy.uploads_days))
        if dry_run:
            session.rollback()
            done.files = sum(1 for ref in files if (media_root / Path(ref).name).is_file())
            return done
        done.files = erasure.delete_files(media_root, files)
        if any(asdict(done).values()):
            audit(session, None, "retention_sweep", detail=asdict(done))
            session.commit()
    return done


def _messages(session: Session, old: datetime, batch: int, done: Swept,
              step: Callable[[], None]) -> None:
    # A conversation an officer still has open keeps its messages, however old.
    with_officer = select(Conversation.id).join(
        HandoffRequest, HandoffRequest.contact_id == Conversation.contact_id).where(
        HandoffRequest.status.in_(("waiting", "active")))
    while True:
        ids = list(session.scalars(select(Message.id).where(
            Message.created_at < old, Message.conversation_id.not_in(with_officer))
            .order_by(Message.id).limit(batch)))
        if not ids:
            return
        done.dead_letters += _count(session, delete(DeadLetter).where(
            DeadLetter.message_id.in_(ids)))
        done.messages += _count(session, delete(Message).where(Message.id.in_(ids)))
        step()


def _handoffs(session: Session, old: datetime, batch: int, done: Swept,
              step: Callable[[], None]) -> None:
    while True:
        rows = list(session.scalars(select(HandoffRequest).where(
            HandoffRequest.status == "closed", HandoffRequest.created_at < old,
            HandoffRequest.contact_id.is_not(None)).limit(batch)))
        if not rows:
            return
        for handoff in rows:
            erasure.detach_handoff(handoff)
        done.handoffs += len(rows)
        step()


def _tickets(session: Session, closed_before: datetime, done: Swept) -> set[str]:
    """Anonymises complaints closed before `closed_before`, or closed at all when their
    reporter asked for erasure; the photos they named."""
    closing = select(AgencyEvent).where(
        AgencyEvent.agency == "laksa", AgencyEvent.kind == "complaint",
        AgencyEvent.ref == Ticket.number, AgencyEvent.status.in_(erasure.CLOSED_TICKET))
    anonymised = select(TicketEvent.ticket_id).where(TicketEvent.status == erasure.ANONYMISED)
    photos: set[str] = set()
    for ticket in session.scalars(select(Ticket).where(
            Ticket.id.not_in(anonymised),
            or_(Ticket.status.in_(erasure.CLOSED_TICKET), closing.exists()))).all():
        if erasure.ticket_status(session, ticket) not in erasure.CLOSED_TICKET:
            continue  # reopened: LAKSA's latest word is not final
        closed_at = session.scalar(select(AgencyEvent.occurred_at).where(
            AgencyEvent.agency == "laksa", AgencyEvent.kind == "complaint",
            AgencyEvent.ref == ticket.number).order_by(AgencyEvent.occurred_at.desc())
            .limit(1)) or ticket.updated_at
        erased = any(e.status == erasure.REPORTER_ERASED for e in ticket.events)
        if erased or aware(closed_at) < closed_before:
            photos |= erasure.anonymise_ticket(session, ticket)
            done.tickets += 1
    return photos


def _dormant_contacts(session: Session, old: datetime, batch: int, done: Swept,
                      step: Callable[[], None]) -> set[str]:
    """Residents silent since `old` with no consent left and no conversation kept: erased as if
    they had asked (their open complaints stay, detached)."""
    photos: set[str] = set()
    seen: set[int] = set()
    while True:
        contacts = list(session.scalars(select(Contact).where(
            Contact.status != erasure.ERASED, Contact.last_seen_at < old,
            Contact.id.not_in(seen),
            ~exists().where(Consent.contact_id == Contact.id, Consent.withdrawn_at.is_(None)),
            ~exists().where(Conversation.contact_id == Contact.id))
            .order_by(Contact.id).limit(batch)))
        if not contacts:
            return photos
        for contact in contacts:
            seen.add(contact.id)
            photos |= erasure.erase_contact(
                session, contact, why="Data pelapor dihapus (masa simpan berakhir)",
                check_files=False).files
        done.contacts += len(contacts)
        step()


def _expired_files(root: Path, before: datetime) -> set[str]:
    """References of stored files written before `before`."""
    if not root.is_dir():
        return set()
    limit = before.timestamp()
    return {f"media/{path.name}" for path in root.iterdir()
            if path.is_file() and path.suffix != ".part" and path.stat().st_mtime < limit}


def _count(session: Session, statement: Executable) -> int:
    return int(getattr(session.execute(statement), "rowcount", 0) or 0)


async def run_forever(sessions: sessionmaker, redis: Redis, media_root: Path, policy: Policy,
                      *, interval_s: float,
                      catch_up: Callable[[], Awaitable[int]] | None = None,
                      poll_s: float = 60.0) -> None:
    """The worker's loop: a sweep every `interval_s` (once across all processes, by a Redis
    key), and each minute `catch_up` (`Rights.catch_up`: erasures and tracker resets left
    over)."""
    while True:
        # First a pause: a process that restarts in a loop must not sweep in a loop.
        await asyncio.sleep(min(poll_s, interval_s))
        raise_if_cancelled()
        try:
            if catch_up is not None:
                await catch_up()
            if await redis.set(LOCK_KEY, str(int(time.time())), nx=True,
                               ex=max(1, int(interval_s))):
                swept = await in_thread(sweep, sessions, media_root, policy)
                log.info("retention sweep: %s", asdict(swept))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("retention round failed")


def main(argv: list[str] | None = None) -> int:
    """`python -m bot.privacy.retention [--dry-run]`: one sweep, its counts as JSON."""
    from ..db import make_engine, make_sessionmaker
    from ..logs import configure
    from ..settings import get_settings

    parser = argparse.ArgumentParser(prog="python -m bot.privacy.retention",
                                     description="Delete or anonymise data past retention.")
    parser.add_argument("--dry-run", action="store_true",
                        help="count what would go; change nothing")
    args = parser.parse_args(argv)
    configure()
    settings = get_settings()
    engine = make_engine(settings.database_url)
    try:
        swept = sweep(make_sessionmaker(engine), settings.media_dir,
                      Policy.from_settings(settings), dry_run=args.dry_run)
    finally:
        engine.dispose()
    print(json.dumps({"dry_run": args.dry_run, **asdict(swept)}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
