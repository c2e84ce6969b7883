"""Campaigns (docs/outreach.md, "Campaigns"): what happens to a broadcast and its recipients in
SQL. Plain synchronous functions over a Session; `campaign_runner` calls them from a thread.

The guarantee rests on one compare-and-set: a recipient moves `claimed -> sending` in a single
UPDATE that also re-checks consent and the campaign's state, committed before the HTTP call.
Only the one sender whose UPDATE changed the row may call the channel, so a job seen twice (a
lease that ran out, a worker restarted) is never sent twice; a recipient left in `sending` by a
killed worker becomes `unconfirmed`, never re-sent.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    cast,
    exists,
    func,
    insert,
    literal,
    select,
    update,
)
from sqlalchemy.orm import Session

from ..db import aware, utcnow
from ..models import Campaign, CampaignRecipient, Consent, Contact, WhatsAppTemplate
from .segments import Segment

STATE_LABELS = {"draft": "Draf", "scheduled": "Terjadwal", "sending": "Mengirim",
                "paused": "Dijeda", "cancelled": "Dibatalkan", "done": "Selesai"}
RECIPIENT_STATES = ("queued", "claimed", "sending", "sent", "delivered", "read", "failed",
                    "skipped", "unconfirmed")
OPEN = ("queued", "claimed", "sending")
# States a lost answer may have left a recipient in: a status naming its ref settles it as sent.
UNSETTLED = ("queued", "claimed", "sending", "unconfirmed")
_RANK = {"sending": 0, "sent": 1, "delivered": 2, "read": 3}
REF_PREFIX = "cr"

CR = CampaignRecipient


class CampaignStateError(Exception):
    """The campaign is not in a state that allows this; the text is Indonesian."""


@dataclass(frozen=True)
class Claimed:
    """A recipient handed to the outbox: who, and whether WhatsApp's window is open."""

    recipient_id: int
    ref: str
    external_id: str
    window_open: bool


def ref_of(recipient_id: int) -> str:
    return f"{REF_PREFIX}{recipient_id}"


def recipient_of(ref: str) -> int | None:
    tail = ref[len(REF_PREFIX):] if ref.startswith(REF_PREFIX) else ""
    return int(tail) if tail.isdigit() else None


def create(session: Session, *, title: str, text: str, segment: Segment, staff_id: int | None,
           buttons: list[dict[str, str]] | None = None, image_ref: str | None = None,
           template_id: int | None = None, template_params: list[str] | None = None) -> Campaign:
    campaign = Campaign(title=title.strip(), text=text, segment=segment.to_json(),
                        buttons=buttons or [], image_ref=image_ref, template_id=template_id,
                        template_params=template_params or [], created_by=staff_id,
                        state="draft")
    session.add(campaign)
    session.flush()
    return campaign


def _locked(session: Session, campaign_id: int) -> Campaign:
    campaign = session.get(Campaign, campaign_id, with_for_update=True)
    if campaign is None:
        raise LookupError(campaign_id)
    return campaign


def start(session: Session, campaign_id: int, at: datetime | None = None) -> Campaign:
    """Sends a draft now (its recipients queued at once) or schedules it for `at`."""
    campaign = _locked(session, campaign_id)
    if campaign.state != "draft":
        raise CampaignStateError("Kampanye ini sudah dijadwalkan atau dikirim.")
    if at is not None and at > utcnow():
        campaign.state, campaign.scheduled_at = "scheduled", at
        return campaign
    queue(session, campaign)
    return campaign


def queue(session: Session, campaign: Campaign) -> int:
    """Freezes the segment: one INSERT ... SELECT of every resident in it (the unique key keeps
    anyone from being added twice); the campaign starts sending. Returns how many."""
    started = time.monotonic()
    segment = Segment.parse(campaign.segment)
    # In the order residents first wrote (the chat ids are encrypted: no order of their own).
    members = select(literal(campaign.id), Contact.id, Contact.channel, literal("queued"))\
        .where(*segment.conditions()).order_by(Contact.id)
    session.execute(insert(CR).from_select(
        ["campaign_id", "contact_id", "channel", "state"], members))
    # Counted, not the INSERT's rowcount: psycopg reports -1 for INSERT ... SELECT here.
    campaign.recipients = int(session.scalar(select(func.count()).where(
        CR.campaign_id == campaign.id)) or 0)
    campaign.state, campaign.queued_at = "sending", utcnow()
    campaign.queue_seconds = round(time.monotonic() - started, 3)
    return campaign.recipients


def queue_due(session: Session) -> list[int]:
    """Queues every scheduled campaign whose time has come (each once, across processes)."""
    due = session.scalars(select(Campaign).where(
        Campaign.state == "scheduled", Campaign.scheduled_at <= utcnow())
        .with_for_update(skip_locked=True)).all()
    for campaign in due:
        queue(session, campaign)
    return [c.id for c in due]


def pause(session: Session, campaign_id: int) -> None:
    campaign = _locked(session, campaign_id)
    if campaign.state != "sending":
        raise CampaignStateError("Hanya kampanye yang sedang dikirim yang bisa dijeda.")
    campaign.state = "paused"


def resume(session: Session, campaign_id: int) -> None:
    campaign = _locked(session, campaign_id)
    if campaign.state != "paused":
        raise CampaignStateError("Hanya kampanye yang dijeda yang bisa dilanjutkan.")
    campaign.state = "sending"


def cancel(session: Session, campaign_id: int) -> int:
    """Stops a campaign for good; recipients not yet sent are skipped. Returns how many."""
    campaign = _locked(session, campaign_id)
    if campaign.state in ("cancelled", "done"):
        raise CampaignStateError("Kampanye ini sudah selesai atau dibatalkan.")
    campaign.state, campaign.finished_at = "cancelled", utcnow()
    result = session.execute(update(CR).where(CR.campaign_id == campaign_id,
                                              CR.state == "queued")
                             .values(state="skipped", error="dibatalkan"))
    return int(getattr(result, "rowcount", 0) or 0)


def progress(session: Session, campaign_id: int) -> dict[str, int]:
    """Recipients per state (every state named, 0 included)."""
    rows = session.execute(select(CR.state, func.count()).where(CR.campaign_id == campaign_id)
                           .group_by(CR.state)).all()
    found = {str(state): int(n) for state, n in rows}
    return {state: found.get(state, 0) for state in RECIPIENT_STATES}


def sending(session: Session) -> list[Campaign]:
    return list(session.scalars(select(Campaign).where(Campaign.state == "sending")
                                .order_by(Campaign.id)))


def template(session: Session, template_id: int | None) -> WhatsAppTemplate | None:
    return session.get(WhatsAppTemplate, template_id) if template_id else None


def outstanding(session: Session, campaign_id: int, channel: str) -> int:
    """Recipients handed to the outbox and not yet sent or settled."""
    return int(session.scalar(select(func.count()).where(
        CR.campaign_id == campaign_id, CR.channel == channel, CR.state == "claimed")) or 0)


def claim(session: Session, campaign_id: int, channel: str, limit: int) -> list[Claimed]:
    """Takes up to `limit` queued recipients of one channel (skipping rows another process is
    taking: FOR UPDATE SKIP LOCKED) and records their outbox ref before they are queued."""
    now = utcnow()
    ids = select(CR.id).where(CR.campaign_id == campaign_id, CR.channel == channel,
                              CR.state == "queued").order_by(CR.id).limit(limit)\
        .with_for_update(skip_locked=True).scalar_subquery()
    taken = session.scalars(update(CR).where(CR.id.in_(ids)).values(
        state="claimed", claimed_at=now, ref=literal(REF_PREFIX).concat(cast(CR.id, String)))
        .returning(CR.id)).all()
    if not taken:
        return []
    window = now - timedelta(hours=24)
    rows = session.execute(select(CR.id, Contact.external_id, Contact.last_inbound_at)
                           .join(Contact, Contact.id == CR.contact_id)
                           .where(CR.id.in_(taken)).order_by(CR.id)).all()
    return [Claimed(rid, ref_of(rid), external_id,
                    last is not None and aware(last) > window)
            for rid, external_id, last in rows]


def begin_send(session: Session, recipient_id: int, topic: str) -> bool:
    """`claimed -> sending` if the campaign is still sending and the resident still consents
    and is not stopped; True means this caller, and only it, may now call the channel.

    False: the recipient is settled instead (back to queued while paused, skipped when
    cancelled or without consent) or was already taken (a repeated job: nothing to do)."""
    now = utcnow()
    result = session.execute(update(CR).where(
        CR.id == recipient_id, CR.state == "claimed",
        exists().where(and_(Campaign.id == CR.campaign_id, Campaign.state == "sending")),
        exists().where(and_(Contact.id == CR.contact_id, Contact.status != "stopped")),
        exists().where(and_(Consent.contact_id == CR.contact_id, Consent.topic == topic,
                            Consent.withdrawn_at.is_(None))),
    ).values(state="sending", claimed_at=now))
    if int(getattr(result, "rowcount", 0) or 0) == 1:
        return True
    row = session.execute(select(CR.state, Campaign.state).join(Campaign)
                          .where(CR.id == recipient_id)).first()
    if row is None or row[0] != "claimed":
        return False
    campaign_state = row[1]
    values: dict[str, Any]
    if campaign_state == "paused":
        values = {"state": "queued"}
    elif campaign_state == "cancelled":
        values = {"state": "skipped", "error": "dibatalkan"}
    else:
        values = {"state": "skipped", "error": "persetujuan ditarik"}
    session.execute(update(CR).where(CR.id == recipient_id, CR.state == "claimed")
                    .values(**values))
    return False


def unclaim(session: Session, recipient_ids: list[int]) -> None:
    """Claimed recipients whose jobs may not have reached Redis go back to the queue (a job
    that did arrive finds them re-claimed or queued, and the compare-and-set sorts it out)."""
    session.execute(update(CR).where(CR.id.in_(recipient_ids), CR.state == "claimed")
                    .values(state="queued"))


def release(session: Session, recipient_id: int) -> None:
    """The channel answered with an error (nothing was sent): the retry may send again."""
    session.execute(update(CR).where(CR.id == recipient_id, CR.state == "sending")
                    .values(state="claimed"))


def record_outcome(session: Session, recipient_id: int, status: str, *,
                   channel_message_id: str | None = None, error: str | None = None) -> None:
    """The outbox's word on one send: "sent" (with the channel's message id) or "dead"."""
    if status == "sent":
        values: dict[str, Any] = {"state": "sent", "sent_at": utcnow(),
                                  "channel_message_id": channel_message_id}
    else:
        values = {"state": "failed", "error": (error or status)[:200]}
    session.execute(update(CR).where(CR.id == recipient_id, CR.state.in_(("claimed", "sending")))
                    .values(**values))


def skip(session: Session, recipient_ids: list[int], reason: str) -> None:
    if recipient_ids:
        session.execute(update(CR).where(CR.id.in_(recipient_ids), CR.state == "claimed")
                        .values(state="skipped", error=reason[:200]))


def skip_channel(session: Session, campaign_id: int, channel: str, reason: str) -> int:
    result = session.execute(update(CR).where(CR.campaign_id == campaign_id,
                                              CR.channel == channel, CR.state == "queued")
                             .values(state="skipped", error=reason[:200]))
    return int(getattr(result, "rowcount", 0) or 0)


def apply_receipt(session: Session, channel: str, channel_message_id: str, status: str,
                  error: str | None = None, *, callback_data: str | None = None) -> bool:
    """Moves a recipient forward on a WhatsApp status (never backwards); False if unknown.

    A status naming the recipient's ref (`callback_data`) settles a send whose answer was lost
    (a worker killed mid-call, a read timeout): it did go out, so it is never sent again."""
    recipient = session.scalar(select(CR).where(CR.channel == channel,
                                                CR.channel_message_id == channel_message_id))
    if recipient is None and callback_data is not None:
        recipient_id = recipient_of(callback_data)
        recipient = session.get(CR, recipient_id) if recipient_id is not None else None
        if recipient is None or recipient.channel != channel:
            return False
        if recipient.state in UNSETTLED:
            recipient.state, recipient.channel_message_id = "sent", channel_message_id
            recipient.sent_at = recipient.sent_at or utcnow()
    if recipient is None:
        return False
    if status == "failed":
        recipient.state, recipient.error = "failed", (error or "failed")[:200]
    elif _RANK.get(status, -1) > _RANK.get(recipient.state, 99):
        recipient.state = status
    return True


def reconcile(session: Session, *, unconfirmed_after_s: float, requeue_after_s: float,
              whatsapp_resend_after_s: float = 0.0) -> None:
    """Recipients a dead worker left behind: `sending` for too long becomes `unconfirmed` (the
    call may have gone out: it is never repeated); `claimed` for much longer (its job lost with
    Redis) goes back to `queued`, which is safe since nothing was called for it."""
    now = utcnow()
    # Only campaigns that may still have such rows: the index on (campaign_id, state) applies,
    # however many finished campaigns the table holds.
    live = select(Campaign.id).where(
        (Campaign.state.in_(("sending", "paused"))) |
        ((Campaign.state == "cancelled") & (Campaign.finished_at > now - timedelta(days=1))))
    session.execute(update(CR).where(
        CR.campaign_id.in_(live), CR.state == "sending",
        CR.claimed_at < now - timedelta(seconds=unconfirmed_after_s))
        .values(state="unconfirmed", error="pekerja berhenti saat mengirim"))
    session.execute(update(CR).where(
        CR.campaign_id.in_(live), CR.state == "claimed",
        CR.claimed_at < now - timedelta(seconds=requeue_after_s))
        .values(state="queued"))
    if whatsapp_resend_after_s > 0:
        # WhatsApp reports every message it accepted with a status webhook carrying the ref
        # (`apply_receipt`), within seconds: an unconfirmed send with none after this long was
        # never accepted, and is sent again (the only resend; Telegram has no such report, so
        # its unconfirmed sends stay unconfirmed for an admin to decide).
        session.execute(update(CR).where(
            CR.campaign_id.in_(live), CR.channel == "whatsapp", CR.state == "unconfirmed",
            CR.claimed_at < now - timedelta(seconds=whatsapp_resend_after_s))
            .values(state="queued", error=None))


def finish(session: Session, *, whatsapp_resend: bool = False) -> list[int]:
    """Marks done every sending campaign with nobody left to send to (nor, with
    `whatsapp_resend`, a WhatsApp send still waiting to be confirmed or sent again)."""
    waiting: ColumnElement[bool] = CR.state.in_(OPEN)
    if whatsapp_resend:
        waiting = waiting | ((CR.channel == "whatsapp") & (CR.state == "unconfirmed"))
    done = session.scalars(select(Campaign).where(
        Campaign.state == "sending",
        ~exists().where(and_(CR.campaign_id == Campaign.id, waiting)))).all()
    for campaign in done:
        campaign.state, campaign.finished_at = "done", utcnow()
    return [c.id for c in done]


def uncertain(session: Session, recipient_id: int, reason: str) -> None:
    """The call went out and its answer was lost (a read timeout): it may have been sent, so it
    is not retried; WhatsApp's status webhook or `reconcile` settles it."""
    session.execute(update(CR).where(CR.id == recipient_id, CR.state == "sending")
                    .values(state="unconfirmed", error=reason[:200]))
