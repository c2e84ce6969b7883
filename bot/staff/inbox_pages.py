"""The staff inbox: one page (`/staff/inbox`) and the JSON API and live events its script uses.

The page lists the waiting queue (waiting time, channel, service, last messages; overdue and
flagged chats highlighted), the officer's own chats, and for supervisors everyone else's; the
bot's live conversations can be taken over. Opening a chat shows its transcript masked; the reply
box knows WhatsApp's 24-hour window. Changes arrive as server-sent events (`/staff/api/events`),
so nothing needs a reload. Every state-changing call carries the session's CSRF token
(`X-CSRF-Token`), checked by `verify_csrf`; refusals come back as JSON `detail` in Indonesian.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sse_starlette.sse import EventSourceResponse

from integrations.replies import Media, Reply

from ..api.deps import services
from ..api.errors import Text
from ..app import Services
from ..handoff import RESOLUTIONS, HandoffError
from ..learning import predictions
from ..media import MediaRefused
from ..models import CannedReply, StaffUser
from . import audit, auth
from .auth import SignedIn
from .web import (
    COOKIE,
    RowId,
    StaffError,
    client_ip,
    current_staff,
    render,
    require_role,
    run_db,
    verify_csrf,
)

log = logging.getLogger(__name__)
router = APIRouter()
KEEPALIVE_S = 15


T = TypeVar("T")
OK = {"status": "ok"}


async def attempt(call: Awaitable[T]) -> T:
    """Runs a handoff action; its refusal becomes a 409 with the Indonesian reason."""
    try:
        return await call
    except HandoffError as exc:
        raise StaffError(409, str(exc)) from exc


@router.get("/staff/inbox")
async def inbox_page(request: Request,
                     staff: Annotated[SignedIn, Depends(current_staff)]) -> Response:
    return render(request, "inbox.html", staff, resolutions=RESOLUTIONS)


@router.get("/staff/api/queue")
async def queue(request: Request, staff: Annotated[SignedIn, Depends(current_staff)],
                s: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    result = await s.handoffs.queue(staff)
    shown = {"handoffs": sorted(item["id"] for part in ("waiting", "mine", "others")
                                for item in result[part])[:200],
             "live": sorted(item["contact_id"] for item in result["live"])[:200]}
    result["available"] = await run_db(request, _seen, staff.staff_id, shown,
                                       client_ip(request))
    return result


def _seen(session: Session, staff_id: int, shown: dict[str, list[int]], ip: str | None) -> bool:
    """Records what the queue showed (residents' last messages, masked), once per change in ten
    minutes, since the page reloads it at every event; whether the officer takes chats."""
    audit.record_view(session, staff_id, "view_queue", "queue", detail=shown, ip=ip)
    user = session.get(StaffUser, staff_id)
    return bool(user and user.available)


@router.get("/staff/api/handoffs/{handoff_id}")
async def handoff_detail(handoff_id: RowId, request: Request,
                         staff: Annotated[SignedIn, Depends(current_staff)],
                         s: Annotated[Services, Depends(services)],
                         after: Annotated[int, Query(ge=0)] = 0) -> dict[str, Any]:
    result = await attempt(s.handoffs.detail(handoff_id, staff, after=after, ip=client_ip(request)))
    if not result["window_open"]:
        result["templates"] = [
            {"name": name, "body": t.get("body", ""), "language": t.get("language", "id")}
            for name, t in s.handoffs.templates.items()]
    return result


class AssignIn(BaseModel):
    staff_id: int = Field(ge=1, le=2_147_483_647)


class TextIn(BaseModel):
    text: Text = Field(min_length=1, max_length=4000)


class TemplateIn(BaseModel):
    name: Text = Field(min_length=1, max_length=120)
    parameters: list[Text] = Field(default_factory=list, max_length=10)


class CloseIn(BaseModel):
    resolution: str


class RevealIn(BaseModel):
    reason: Text = Field(min_length=1, max_length=500)


class AvailabilityIn(BaseModel):
    available: bool


@router.post("/staff/api/handoffs/{handoff_id}/take")
async def take(handoff_id: RowId, staff: Annotated[SignedIn, Depends(verify_csrf)],
               s: Annotated[Services, Depends(services)]) -> dict[str, str]:
    await attempt(s.handoffs.take(handoff_id, staff))
    return OK


@router.post("/staff/api/handoffs/{handoff_id}/assign", dependencies=[Depends(require_role(
    "supervisor", "Hanya supervisor yang dapat menugaskan atau mengalihkan."))])
async def assign(handoff_id: RowId, body: AssignIn,
                 staff: Annotated[SignedIn, Depends(verify_csrf)],
                 s: Annotated[Services, Depends(services)]) -> dict[str, str]:
    await attempt(s.handoffs.assign(handoff_id, body.staff_id, staff))
    return OK


@router.post("/staff/api/handoffs/{handoff_id}/reply")
async def reply(handoff_id: RowId, body: TextIn, staff: Annotated[SignedIn, Depends(verify_csrf)],
                s: Annotated[Services, Depends(services)]) -> dict[str, str]:
    await attempt(s.handoffs.reply(handoff_id, staff, body.text))
    return OK


@router.post("/staff/api/handoffs/{handoff_id}/template")
async def send_template(handoff_id: RowId, body: TemplateIn,
                        staff: Annotated[SignedIn, Depends(verify_csrf)],
                        s: Annotated[Services, Depends(services)]) -> dict[str, str]:
    await attempt(s.handoffs.send_template(handoff_id, staff, body.name, body.parameters))
    return OK


@router.post("/staff/api/handoffs/{handoff_id}/attachment")
async def send_attachment(handoff_id: RowId, staff: Annotated[SignedIn, Depends(verify_csrf)],
                          s: Annotated[Services, Depends(services)],
                          file: Annotated[UploadFile, File()],
                          caption: Annotated[str, Form(max_length=1000)] = "") -> dict[str, str]:
    content = await file.read(s.media.max_bytes + 1)
    mime = file.content_type or ""
    try:
        ref = await asyncio.to_thread(s.media.put, content, mime)
    except MediaRefused as exc:
        mb = s.media.max_bytes // (1024 * 1024)
        raise StaffError(413, f"File ditolak: hanya JPG/PNG atau PDF sampai {mb} MB.") from exc
    media = Media(kind="image" if mime.startswith("image/") else "document", ref=ref,
                  filename=(file.filename or "lampiran")[:120])
    reply = Reply(text=caption.strip(), media=media)
    await attempt(s.handoffs.reply_with(handoff_id, staff, reply))
    return OK


@router.post("/staff/api/handoffs/{handoff_id}/notes")
async def add_note(handoff_id: RowId, body: TextIn,
                   staff: Annotated[SignedIn, Depends(verify_csrf)],
                   s: Annotated[Services, Depends(services)]) -> dict[str, str]:
    await attempt(s.handoffs.add_note(handoff_id, staff, body.text))
    return OK


@router.post("/staff/api/handoffs/{handoff_id}/close")
async def close(handoff_id: RowId, body: CloseIn, staff: Annotated[SignedIn, Depends(verify_csrf)],
                s: Annotated[Services, Depends(services)]) -> dict[str, str]:
    await attempt(s.handoffs.close(handoff_id, staff, body.resolution))
    return OK


@router.post("/staff/api/contacts/{contact_id}/takeover")
async def takeover(contact_id: RowId, staff: Annotated[SignedIn, Depends(verify_csrf)],
                   s: Annotated[Services, Depends(services)]) -> dict[str, Any]:
    handoff_id = await attempt(s.handoffs.takeover(contact_id, staff))
    return {"status": "ok", "handoff_id": handoff_id}


@router.post("/staff/api/messages/{message_id}/reveal")
async def reveal(message_id: RowId, body: RevealIn, request: Request,
                 staff: Annotated[SignedIn, Depends(verify_csrf)],
                 s: Annotated[Services, Depends(services)]) -> dict[str, str]:
    text = await attempt(s.handoffs.reveal(message_id, staff, body.reason, ip=client_ip(request)))
    return {"text": text}


@router.post("/staff/api/messages/{message_id}/flag")
async def flag_misunderstood(message_id: RowId, request: Request,
                             staff: Annotated[SignedIn, Depends(verify_csrf)]) -> dict[str, str]:
    """An officer marks a resident's message the bot misunderstood: it joins the NLU review."""
    def work(session: Session) -> None:
        predictions.flag(session, message_id, staff.staff_id)
        audit.record(session, staff.staff_id, "nlu_flagged", f"message:{message_id}",
                     ip=client_ip(request))

    try:
        await run_db(request, work)
    except LookupError as exc:
        raise StaffError(404, "Pesan warga itu tidak ditemukan.") from exc
    return {"status": "ditandai"}


@router.post("/staff/api/me/availability")
async def set_availability(body: AvailabilityIn,
                           staff: Annotated[SignedIn, Depends(verify_csrf)],
                           s: Annotated[Services, Depends(services)]) -> dict[str, bool]:
    def work() -> None:
        with s.sessions.begin() as session:
            user = session.get(StaffUser, staff.staff_id)
            if user is not None:
                user.available = body.available
                audit.record(session, staff.staff_id, "availability",
                             detail={"available": body.available})

    await asyncio.to_thread(work)
    if body.available and s.handoffs.settings.auto_assign:
        await s.handoffs.auto_assign()
    return {"available": body.available}


# -- canned replies -----------------------------------------------------------------------------

class CannedIn(BaseModel):
    title: Text = Field(min_length=1, max_length=80)
    body: Text = Field(min_length=1, max_length=4000)


@router.get("/staff/api/canned")
async def canned_list(staff: Annotated[SignedIn, Depends(current_staff)],
                      s: Annotated[Services, Depends(services)]) -> list[dict[str, Any]]:
    def work() -> list[dict[str, Any]]:
        with s.sessions() as session:
            return [{"id": c.id, "title": c.title, "body": c.body} for c in session.scalars(
                select(CannedReply).order_by(CannedReply.title))]

    return await asyncio.to_thread(work)


def _save_canned(s: Services, staff: SignedIn, canned_id: int | None, body: CannedIn) -> int:
    with s.sessions.begin() as session:
        if canned_id is None:
            canned = CannedReply(title=body.title.strip(), body=body.body.strip(),
                                 updated_by=staff.staff_id)
            session.add(canned)
        else:
            found = session.get(CannedReply, canned_id)
            if found is None:
                raise StaffError(404, "Balasan cepat tidak ditemukan.")
            canned = found
            canned.title, canned.body = body.title.strip(), body.body.strip()
            canned.updated_by = staff.staff_id
        session.flush()
        audit.record(session, staff.staff_id, "canned_saved", subject=f"canned:{canned.id}")
        return canned.id


@router.post("/staff/api/canned")
async def canned_create(body: CannedIn, staff: Annotated[SignedIn, Depends(verify_csrf)],
                        s: Annotated[Services, Depends(services)]) -> dict[str, int]:
    try:
        return {"id": await asyncio.to_thread(_save_canned, s, staff, None, body)}
    except IntegrityError as exc:
        raise StaffError(409, "Judul itu sudah dipakai balasan cepat lain.") from exc


@router.post("/staff/api/canned/{canned_id}")
async def canned_update(canned_id: RowId, body: CannedIn,
                        staff: Annotated[SignedIn, Depends(verify_csrf)],
                        s: Annotated[Services, Depends(services)]) -> dict[str, int]:
    try:
        return {"id": await asyncio.to_thread(_save_canned, s, staff, canned_id, body)}
    except IntegrityError as exc:
        raise StaffError(409, "Judul itu sudah dipakai balasan cepat lain.") from exc


@router.post("/staff/api/canned/{canned_id}/delete", dependencies=[Depends(require_role(
    "supervisor", "Hanya supervisor yang dapat menghapus balasan cepat."))])
async def canned_delete(canned_id: RowId, staff: Annotated[SignedIn, Depends(verify_csrf)],
                        s: Annotated[Services, Depends(services)]) -> dict[str, str]:
    def work() -> None:
        with s.sessions.begin() as session:
            canned = session.get(CannedReply, canned_id)
            if canned is not None:
                session.delete(canned)
                audit.record(session, staff.staff_id, "canned_deleted",
                             subject=f"canned:{canned_id}")

    await asyncio.to_thread(work)
    return {"status": "ok"}


# -- live events and attachments ----------------------------------------------------------------

@router.get("/staff/api/events")
async def live_events(request: Request, staff: Annotated[SignedIn, Depends(current_staff)],
                      s: Annotated[Services, Depends(services)]) -> EventSourceResponse:
    """Server-sent events: what changed (ids only); the page then fetches what it may see.
    The stream ends when its session does (expired, idle, signed out, account deactivated)."""
    token = request.cookies.get(COOKIE)

    async def stream() -> AsyncIterator[dict[str, str]]:
        async with s.events.listen() as queue:
            yield {"event": "hello", "data": "{}"}
            checked = time.monotonic()
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    event = None
                if time.monotonic() - checked >= KEEPALIVE_S:  # busy or quiet, as often
                    checked = time.monotonic()
                    if await request.is_disconnected() or not await run_db(
                            request, auth.session_alive, token):
                        return
                if event is not None:
                    yield {"event": str(event.get("type", "change")),
                           "data": json.dumps(event)}

    return EventSourceResponse(stream(), ping=KEEPALIVE_S)


@router.get("/staff/media/{name}")
async def media(name: str, request: Request, staff: Annotated[SignedIn, Depends(current_staff)],
                s: Annotated[Services, Depends(services)]) -> Response:
    """A resident's (or an officer's) attachment (`media/<name>`); every view is audited."""
    try:
        content, mime, _ = await asyncio.to_thread(s.media.open, f"media/{name}")
    except FileNotFoundError as exc:
        raise StaffError(404, "Lampiran tidak ditemukan.") from exc

    def work() -> None:
        with s.sessions.begin() as session:
            audit.record(session, staff.staff_id, "view_attachment", subject=f"media:{name[:40]}",
                         ip=client_ip(request))

    await asyncio.to_thread(work)
    return Response(content, media_type=mime, headers={
        "content-disposition": "inline", "cache-control": "no-store"})
