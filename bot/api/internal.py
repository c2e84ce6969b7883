"""`/internal/v1`: what the action server asks of the gateway (tickets, handoffs, consent, the
identity-check alarm).

Only for the action server: a bearer token from settings, compared in constant time.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from .. import records
from ..app import Services
from ..db import in_transaction
from ..handoff import split_sender
from ..outreach import consent, status_updates, topics
from ..privacy import identity_alarm
from .deps import services

log = logging.getLogger(__name__)


def require_internal_token(
    s: Annotated[Services, Depends(services)],
    authorization: Annotated[str, Header()] = "",
) -> None:
    expected = f"Bearer {s.settings.internal_api_token}"
    if not hmac.compare_digest(authorization.encode(), expected.encode()):
        log.warning("internal API call refused: bad token")
        raise HTTPException(status_code=401, detail="unauthorized")


router = APIRouter(prefix="/internal/v1", dependencies=[Depends(require_internal_token)],
                   include_in_schema=False)


class ComplaintIn(BaseModel):
    sender_id: str = Field(min_length=1, max_length=128)
    category: str = Field(min_length=1, max_length=40)
    agency: str = Field(min_length=1, max_length=120)
    expected_response_days: int = Field(ge=1, le=60)
    description: str = Field(min_length=1, max_length=2000)
    kecamatan: str | None = None
    kelurahan: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    photo_refs: list[str] = Field(default_factory=list, max_length=10)


@router.post("/complaints")
async def file_complaint(body: ComplaintIn,
                         s: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    data = body.model_dump(exclude={"sender_id"})
    filed = await s.tickets.file_complaint(body.sender_id, data)
    updates = await _watch(s, body.sender_id, "laksa", "complaint", filed.ticket.number,
                           f"laporan {filed.ticket.number}")
    return {
        "ticket_id": filed.ticket.number,
        "status": filed.ticket.status,
        "agency": filed.ticket.agency,
        "expected_response_days": filed.ticket.expected_response_days,
        "forwarded": filed.forwarded,
        "updates": updates,
    }


async def _watch(s: Services, sender: str, agency: str, kind: str, ref: str,
                 label: str) -> bool:
    """The resident waits on the record; whether they already agreed to updates in chat."""
    channel, chat_id = split_sender(sender)
    if not chat_id:  # not a channel's sender id: nobody to tell
        return False
    return await asyncio.to_thread(in_transaction, s.sessions, lambda session: (
        status_updates.watch(session, channel, chat_id, agency=agency, kind=kind, ref=ref,
                             label=label)))


class WatchIn(BaseModel):
    sender_id: str = Field(min_length=3, max_length=128, pattern=r"^[a-z]+:.+$")
    agency: str = Field(pattern="^(laksa|dukcapil)$")
    kind: str = Field(pattern="^(complaint|birth_registration|ktp)$")
    ref: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    label: str = Field(min_length=2, max_length=80)


@router.post("/watches")
async def watch_record(body: WatchIn,
                       s: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    """The resident will be told when the agency reports a change of the record (given their
    consent to updates: `updates` says whether they have it, so the receipt can ask)."""
    if (body.agency, body.kind) not in status_updates.KINDS:
        raise HTTPException(status_code=422, detail="unknown record kind")
    return {"updates": await _watch(s, body.sender_id, body.agency, body.kind, body.ref,
                                    body.label)}


@router.get("/tickets/{number}")
async def ticket_status(number: str, s: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    result = await s.tickets.status(number)
    if result is None:
        raise HTTPException(status_code=404, detail="ticket not found")
    return result


class HandoffIn(BaseModel):
    sender_id: str = Field(min_length=1, max_length=128)
    reason: str = Field(min_length=1, max_length=40)
    urgent: bool = False
    note: str | None = Field(default=None, max_length=500)  # e.g. where an emergency happens
    service: str | None = Field(default=None, max_length=40)  # what the resident was asking


@router.post("/handoffs")
async def request_handoff(body: HandoffIn,
                          s: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    """Queues the resident's conversation for an officer; from now on the bot is silent for
    them until the officer closes it (or they cancel while waiting)."""
    handoff_id, status = await s.handoffs.open(body.sender_id, body.reason, urgent=body.urgent,
                                               note=body.note, service=body.service)
    return {"id": handoff_id, "status": status}


class SenderIn(BaseModel):
    sender_id: str = Field(min_length=3, max_length=128, pattern=r"^[a-z]+:.+$")


@router.post("/consent/stop")
async def stop_broadcasts(body: SenderIn,
                          s: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    """The `unsubscribe` intent: every consent of the resident withdrawn at once (as "STOP").
    Returns the confirmation to say, so that the words are the same both ways."""
    channel, chat_id = split_sender(body.sender_id)

    def work(session: Session) -> int:
        contact = records.touch_contact(session, channel, chat_id, inbound=False)
        return consent.withdraw_all(session, contact.id, by="intent")
    withdrawn = await asyncio.to_thread(in_transaction, s.sessions, work)
    return {"withdrawn": withdrawn, "message": consent.STOPPED}


class TopicsIn(SenderIn):
    kecamatan: str | None = Field(default=None, max_length=60)  # as the resident named it


@router.post("/consent/topics")
async def consent_topics(body: TopicsIn,
                         s: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    """The `subscribe` intent: the topics to offer as buttons, each with the exact words its
    consent is stored with (the action shows them), whether it is on, and the kecamatan (the
    one named, else the one of the resident's outreach link)."""
    channel, chat_id = split_sender(body.sender_id)
    return await asyncio.to_thread(in_transaction, s.sessions, topics.offer, channel, chat_id,
                                   body.kecamatan)


class IdentityAlarmIn(BaseModel):
    """Counts only: the action server never sends who failed or which NIK (any other field is
    refused)."""

    model_config = ConfigDict(extra="forbid")

    failures: int = Field(ge=1, le=10_000_000)
    window_s: int = Field(ge=1, le=86_400)
    threshold: int = Field(ge=1, le=10_000_000)


@router.post("/identity-alarms")
async def identity_burst_alarm(body: IdentityAlarmIn,
                               s: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    """A burst of failed identity checks across all chats (possible enumeration), raised once
    per window by the action server: an audit entry admins see, and the alarm on /metrics."""
    log.warning("identity check alarm: %d failed checks in %d s (threshold %d)",
                body.failures, body.window_s, body.threshold)
    await identity_alarm.remember(s.store.redis, body.window_s)
    await asyncio.to_thread(in_transaction, s.sessions, identity_alarm.record, body.failures,
                            body.window_s, body.threshold)
    return {"recorded": True}
