"""The outreach-links page (role admin): make a link per kelurahan, kecamatan or campaign, see its
Telegram and WhatsApp addresses and QR codes, open its printable poster, and count the residents
each link brought (docs/outreach.md, "Reaching new residents"). Plain forms, no JavaScript needed.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ..api.deps import services
from ..models import OutreachLink
from ..outreach import links, posters
from . import audit
from .admin_pages import ACTION_LABELS
from .auth import SignedIn
from .web import RowId, StaffError, client_ip, render, require_role, run_db, verify_csrf

ADMIN = require_role("admin")
LINKS = "/staff/admin/links"
NOTICES = {"dibuat": "Tautan dibuat. Buka posternya untuk dicetak."}
ACTION_LABELS.setdefault("outreach_link_created", "Membuat tautan sosialisasi")

router = APIRouter(prefix=LINKS, include_in_schema=False,
                   dependencies=[Depends(ADMIN), Depends(verify_csrf)])


def _channel_settings(request: Request) -> dict[str, str | None]:
    settings = services(request).settings
    return {"telegram_username": settings.telegram_bot_username,
            "whatsapp_phone": settings.whatsapp_display_phone}


async def _page(request: Request, admin: SignedIn, *, status_code: int = 200,
                error: str | None = None, form: dict[str, str] | None = None) -> Response:
    channel = _channel_settings(request)
    reports = await run_db(request, links.report)
    # QR codes cost CPU (cached once made): drawn in a thread, never on the event loop.
    rows = await asyncio.to_thread(_rows, reports, channel)
    notice = NOTICES.get(request.query_params.get("pesan", "")) if status_code == 200 else None
    return render(request, "admin_links.html", admin, status_code=status_code, rows=rows,
                  places=links.kelurahan_choices(), error=error, notice=notice,
                  form=form or {}, **channel)


def _rows(reports: list[links.LinkReport],
          channel: dict[str, str | None]) -> list[dict[str, Any]]:
    return [{"report": row, "describe": links.describe(row.link),
             "channels": posters.channel_links(row.link, **channel)} for row in reports]


@router.get("")
async def list_links(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)]) -> Response:
    return await _page(request, admin)


def _create(session: Session, staff_id: int, kind: str, name: str, ip: str | None) -> int:
    link = links.create(session, kind, name, staff_id)
    audit.record(session, staff_id, "outreach_link_created", f"outreach_link:{link.id}",
                 detail={"code": link.code, "kind": link.kind}, ip=ip)
    return link.id


@router.post("")
async def create_link(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                      kind: Annotated[str, Form()] = "",
                      name: Annotated[str, Form()] = "") -> Response:
    form = {"kind": kind[:16], "name": name[:120]}
    try:
        await run_db(request, _create, admin.staff_id, kind, name, client_ip(request))
    except links.LinkError as exc:
        return await _page(request, admin, status_code=422, error=str(exc), form=form)
    except IntegrityError:  # the same code made at the same moment elsewhere
        return await _page(request, admin, status_code=422, form=form,
                           error="Tautan dengan kode itu sudah ada.")
    return RedirectResponse(f"{LINKS}?pesan=dibuat", status_code=303)


def _link(session: Session, link_id: int) -> OutreachLink | None:
    link = session.get(OutreachLink, link_id)
    if link is not None:
        session.expunge(link)
    return link


@router.get("/{link_id}/poster")
async def poster(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                 link_id: RowId) -> Response:
    link = await run_db(request, _link, link_id)
    if link is None:
        raise StaffError(404, "Tautan itu tidak ditemukan.")
    channels = await asyncio.to_thread(posters.channel_links, link, **_channel_settings(request))
    context: dict[str, Any] = {"link": link, "channels": channels,
                               "place": posters.place_line(link)}
    return render(request, "outreach_poster.html", admin, **context)
