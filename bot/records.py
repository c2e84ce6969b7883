"""What the channels write to SQL: contacts, conversations, messages, receipts, dead letters.

Plain synchronous functions over a Session; the async worker runs them in a thread.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from .db import aware, utcnow
from .models import Contact, Conversation, DeadLetter, Message
from .outreach import campaigns, consent

log = logging.getLogger(__name__)

CONVERSATION_IDLE = timedelta(hours=24)
# A receipt never moves a message backwards (WhatsApp may deliver "sent" after "read").
_STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "failed": 4, "dead": 4}


def touch_contact(session: Session, channel: str, external_id: str, *, inbound: bool,
                  language: str | None = None) -> Contact:
    """The contact for a channel id, created on first sight; `inbound` opens the service window."""
    now = utcnow()
    contact = session.scalar(
        select(Contact).where(Contact.by_channel_id(channel, external_id)))
    if contact is None:
        contact = Contact(channel=channel, external_id=external_id, first_seen_at=now,
                          last_seen_at=now, language=(language or "id")[:8])
        try:
            with session.begin_nested():  # another thread or process may create it meanwhile
                session.add(contact)
        except IntegrityError:
            contact = session.scalars(select(Contact).where(
                Contact.by_channel_id(channel, external_id))).one()
    contact.last_seen_at = now
    if inbound:
        contact.last_inbound_at = now
        if contact.status == "stopped":
            contact.status = "active"  # writing to us again undoes "blocked"
    return contact


def current_conversation(session: Session, contact: Contact) -> Conversation:
    """The contact's open conversation, or a new one after a day of silence."""
    now = utcnow()
    conversation = session.scalar(
        select(Conversation).where(Conversation.contact_id == contact.id,
                                   Conversation.status != "closed")
        .order_by(Conversation.id.desc()).limit(1))
    if conversation is None or now - aware(conversation.last_message_at) > CONVERSATION_IDLE:
        if conversation is not None:
            conversation.status = "closed"
        conversation = Conversation(contact_id=contact.id, started_at=now, last_message_at=now)
        session.add(conversation)
        session.flush()
    conversation.last_message_at = now
    return conversation


def record_inbound(session: Session, *, channel: str, chat_id: str, kind: str,
                   content: dict[str, Any], channel_message_id: str | None,
                   language: str | None = None) -> tuple[int, int]:
    """Stores a resident's message once; returns (conversation id, message id)."""
    if channel_message_id is not None:
        known = session.scalar(select(Message).where(
            Message.channel == channel, Message.channel_message_id == channel_message_id))
        if known is not None:  # handled before a crash, now taken again
            return known.conversation_id, known.id
    contact = touch_contact(session, channel, chat_id, inbound=True, language=language)
    conversation = current_conversation(session, contact)
    message = Message(conversation_id=conversation.id, direction="in", channel=channel,
                      channel_message_id=channel_message_id, kind=kind, content=content,
                      status="received")
    session.add(message)
    session.flush()
    return conversation.id, message.id


def record_outbound(session: Session, *, channel: str, chat_id: str, kind: str,
                    content: dict[str, Any], ref: str | None = None,
                    staff_id: int | None = None) -> int:
    """Stores a message Pintu queued for sending (status "queued"); returns its id.

    `ref` is the queued job's id: the sender may already have recorded the outcome under it
    (see `set_status_by_ref`), so a repeated call with the same ref returns the existing row."""
    if ref is not None:
        known = session.scalar(select(Message.id).where(Message.ref == ref))
        if known is not None:
            return known
    contact = touch_contact(session, channel, chat_id, inbound=False)
    conversation = current_conversation(session, contact)
    message = Message(conversation_id=conversation.id, direction="out", channel=channel,
                      kind=kind, content=content, status="queued", ref=ref,
                      staff_id=staff_id)
    session.add(message)
    session.flush()
    return message.id


def record_replies(session: Session, *, conversation_id: int, channel: str,
                   replies: Sequence[tuple[str, dict[str, Any], str | None]],
                   processed_id: int | None = None, status: str = "queued") -> None:
    """The replies to a resident's message, in the conversation that message was stored in:
    (kind, content, ref) each, with `status`; and the message itself marked processed. Plain
    inserts, no lookups: this runs for every answer."""
    now = utcnow()
    if replies:
        session.execute(insert(Message), [
            {"conversation_id": conversation_id, "direction": "out", "channel": channel,
             "kind": kind, "content": content, "status": status, "ref": ref,
             "created_at": now, "updated_at": now}
            for kind, content, ref in replies])
        session.execute(update(Conversation).where(Conversation.id == conversation_id)
                        .values(last_message_at=now))
    if processed_id is not None:
        set_status(session, processed_id, "processed")


def _status_values(status: str, channel_message_id: str | None,
                   error: str | None) -> dict[str, Any]:
    values: dict[str, Any] = {"status": status, "updated_at": utcnow()}
    if channel_message_id:
        values["channel_message_id"] = channel_message_id
    if error:
        values["error"] = error[:500]
    return values


def _update_status(session: Session, where: Any, status: str, channel_message_id: str | None,
                   error: str | None) -> int:
    """Sets a status; a channel message id another row already holds (a channel that reused
    one) is left off rather than failing the write, which would hold up the resident's queue."""
    statement = update(Message).where(where)
    if channel_message_id:
        try:
            with session.begin_nested():
                result = session.execute(statement.values(
                    **_status_values(status, channel_message_id, error)))
            return int(getattr(result, "rowcount", 0))
        except IntegrityError:
            log.warning("channel message id already recorded on another message; status %s "
                        "kept without it", status)
    result = session.execute(statement.values(**_status_values(status, None, error)))
    return int(getattr(result, "rowcount", 0))


def set_status(session: Session, message_id: int, status: str, *,
               channel_message_id: str | None = None, error: str | None = None) -> None:
    _update_status(session, Message.id == message_id, status, channel_message_id, error)


def set_status_by_ref(session: Session, ref: str, status: str, *,
                      channel_message_id: str | None = None, error: str | None = None) -> bool:
    """Records a queued message's outcome; False when its row is not written yet."""
    return bool(_update_status(session, Message.ref == ref, status, channel_message_id, error))


def set_media_ref(session: Session, message_id: int, ref: str) -> None:
    """A resident's file is stored: its message row learns the reference (staff can open it)."""
    message = session.get(Message, message_id)
    if message is not None:
        content = dict(message.content or {})
        content["attachment"] = {**(content.get("attachment") or {}), "ref": ref}
        message.content = content


def apply_outcomes(session: Session, outcomes: dict[str, dict[str, Any]]) -> None:
    """Outcomes the sender recorded before the rows were written (see `Outbox._outcome`); a row
    a receipt already moved past "queued" keeps its status."""
    for ref, outcome in outcomes.items():
        _update_status(session, (Message.ref == ref) & (Message.status == "queued"),
                       outcome["status"], outcome.get("channel_message_id"),
                       outcome.get("error"))


def apply_receipt(session: Session, channel: str, channel_message_id: str, status: str,
                  error: str | None = None, callback_data: str | None = None) -> bool:
    """Moves a sent message (or a campaign's recipient) forward on a channel receipt; False
    when the message is unknown. `callback_data` is what the message carried back (WhatsApp's
    `biz_opaque_callback_data`: a campaign recipient's ref)."""
    message = session.scalar(select(Message).where(
        Message.channel == channel, Message.channel_message_id == channel_message_id))
    if message is None:
        return campaigns.apply_receipt(session, channel, channel_message_id, status, error,
                                       callback_data=callback_data)
    if _STATUS_RANK.get(status, 0) > _STATUS_RANK.get(message.status, 0):
        message.status = status
        if error:
            message.error = error[:500]
    return True


def dead_letter(session: Session, *, channel: str, chat_id: str, message_id: int | None,
                request: dict[str, Any], reason: str, attempts: int,
                ref: str | None = None) -> bool:
    """Records an outgoing message given up on, and marks the message dead; False when the
    message row (found by `message_id` or `ref`) is not written yet."""
    if message_id is None and ref is not None:
        message_id = session.scalar(select(Message.id).where(Message.ref == ref))
    session.add(DeadLetter(channel=channel, chat_id=chat_id, message_id=message_id,
                           request=request, reason=reason[:500], attempts=attempts))
    if message_id is not None:
        set_status(session, message_id, "dead", error=reason)
        return True
    return ref is None


def mark_stopped(session: Session, channel: str, chat_id: str) -> None:
    """The resident blocked the bot: nothing more unasked, and their consents are withdrawn (a
    block is a clear no; writing again undoes the block, and "MULAI" gives consent back)."""
    contact = touch_contact(session, channel, chat_id, inbound=False)
    contact.status = "stopped"
    consent.withdraw_all(session, contact.id, by="blocked")
