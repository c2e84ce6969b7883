"""The campaign pages (role admin): write a broadcast, pick its segment with a live recipient
count, preview it per channel, send it now or schedule it, watch its progress (with a chart)
and pause, resume or cancel it; register approved WhatsApp templates. Every change is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from integrations.replies import Rendered

from ..api.deps import services
from ..app import Services
from ..media import MediaRefused
from ..models import Campaign
from ..outreach import broadcast, campaigns, segments, wa_templates
from ..outreach.broadcast import Broadcast, Button, ComposeError
from ..outreach.segments import Segment, SegmentError
from . import audit
from .admin_pages import ACTION_LABELS
from .auth import SignedIn
from .web import CITY_TIME, RowId, StaffError, client_ip, render, require_role, run_db, verify_csrf

ADMIN = require_role("admin")
CAMPAIGNS = "/staff/admin/campaigns"
IMAGE_TYPES = ("image/jpeg", "image/png")
NOTICES = {
    "dibuat": "Draf kampanye disimpan. Periksa pratinjau lalu kirim atau jadwalkan.",
    "dikirim": "Kampanye mulai dikirim.",
    "dijadwalkan": "Kampanye dijadwalkan.",
    "dijeda": "Kampanye dijeda.",
    "dilanjutkan": "Kampanye dilanjutkan.",
    "dibatalkan": "Kampanye dibatalkan; penerima yang belum dikirimi dilewati.",
    "templat": "Templat WhatsApp didaftarkan.",
}
STATE_LABELS = {"queued": "Antre", "claimed": "Diambil", "sending": "Sedang dikirim",
                "sent": "Terkirim", "delivered": "Diterima", "read": "Dibaca",
                "failed": "Gagal", "skipped": "Dilewati", "unconfirmed": "Belum pasti"}
CHANNEL_LABELS = {"telegram": "Telegram", "whatsapp": "WhatsApp"}

ACTION_LABELS.update({
    "campaign_created": "Membuat draf kampanye",
    "campaign_sent": "Mengirim kampanye",
    "campaign_scheduled": "Menjadwalkan kampanye",
    "campaign_pause": "Menjeda kampanye",
    "campaign_resume": "Melanjutkan kampanye",
    "campaign_cancel": "Membatalkan kampanye",
    "whatsapp_template_registered": "Mendaftarkan templat WhatsApp",
})

router = APIRouter(prefix=CAMPAIGNS, include_in_schema=False,
                   dependencies=[Depends(ADMIN), Depends(verify_csrf)])


def _list(session: Session) -> dict[str, Any]:
    rows = session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(100)).all()
    return {"rows": rows, "templates": wa_templates.listed(session)}


def _page_context() -> dict[str, Any]:
    return {"kecamatan": segments.KECAMATAN, "channels": CHANNEL_LABELS,
            "state_labels": campaigns.STATE_LABELS, "notices": NOTICES}


@router.get("")
async def index(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)]) -> Response:
    data = await run_db(request, _list)
    return render(request, "admin_campaigns.html", admin, **_page_context(), **data,
                  notice=NOTICES.get(request.query_params.get("pesan", "")))


@router.get("/count")
async def count(request: Request, kecamatan: str = "",
                channels: Annotated[list[str] | None, Query()] = None,
                active_since: str = "") -> dict[str, Any]:
    """The live recipient count of the compose form (segments.js)."""
    try:
        segment = Segment.parse({"kecamatan": kecamatan, "channels": channels or [],
                                 "active_since": active_since})
    except SegmentError as exc:
        return {"error": str(exc), "total": 0, "per_channel": {}}
    found = await run_db(request, segments.count, segment)
    return {"total": sum(found.values()), "per_channel": found}


@router.post("")
async def create(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                 s: Annotated[Services, Depends(services)],
                 title: Annotated[str, Form()] = "", text: Annotated[str, Form()] = "",
                 button_title: Annotated[list[str] | None, Form()] = None,
                 button_payload: Annotated[list[str] | None, Form()] = None,
                 kecamatan: Annotated[str, Form()] = "",
                 channels: Annotated[list[str] | None, Form()] = None,
                 active_since: Annotated[str, Form()] = "",
                 template_id: Annotated[str, Form()] = "",
                 template_params: Annotated[list[str] | None, Form()] = None,
                 image: Annotated[UploadFile | None, File()] = None) -> Response:
    buttons = broadcast.parse_buttons(button_title or [], button_payload or [])
    try:
        broadcast.validate(title, text, buttons)
        segment = Segment.parse({"kecamatan": kecamatan, "channels": channels or [],
                                 "active_since": active_since})
    except (ComposeError, SegmentError) as exc:
        raise StaffError(422, str(exc)) from exc
    image_ref = None
    if image is not None and image.filename:
        content = await image.read(s.media.max_bytes + 1)
        if (image.content_type or "") not in IMAGE_TYPES:
            raise StaffError(422, "Gambar harus JPEG atau PNG.")
        try:
            image_ref = s.media.put(content, image.content_type)
        except MediaRefused as exc:
            raise StaffError(422, "Gambar terlalu besar.") from exc
    chosen = int(template_id) if template_id.isascii() and template_id.isdigit() else None
    params = [p.strip() for p in template_params or []]

    def work(session: Session) -> int:
        if chosen is not None:
            found = campaigns.template(session, chosen)
            if found is None:
                raise StaffError(422, "Templat itu tidak terdaftar.")
            params[:] = params[:len(found.variables)]
            if len(params) != len(found.variables) or not all(params):
                raise StaffError(422, "Isi setiap variabel templat.")
        campaign = campaigns.create(
            session, title=title, text=text, segment=segment, staff_id=admin.staff_id,
            buttons=[{"title": b.title, "payload": b.payload} for b in buttons],
            image_ref=image_ref, template_id=chosen, template_params=params)
        audit.record(session, admin.staff_id, "campaign_created", f"campaign:{campaign.id}",
                     detail={"segment": segment.to_json()}, ip=client_ip(request))
        return campaign.id

    campaign_id = await run_db(request, work)
    return RedirectResponse(f"{CAMPAIGNS}/{campaign_id}?pesan=dibuat", status_code=303)


def _detail(session: Session, campaign_id: int) -> dict[str, Any]:
    campaign = session.get(Campaign, campaign_id)
    if campaign is None:
        raise StaffError(404, "Kampanye itu tidak ada.")
    segment = Segment.parse(campaign.segment)
    template = campaigns.template(session, campaign.template_id)
    message = Broadcast(campaign.text,
                        tuple(Button(b["title"], b["payload"]) for b in campaign.buttons),
                        campaign.image_ref)
    per_channel = segments.count(session, segment) if campaign.state in ("draft", "scheduled") \
        else None
    return {"c": campaign, "segment": segment, "template": template,
            "template_text": wa_templates.preview(template, campaign.template_params)
            if template else None,
            "telegram": broadcast.telegram(message, "0").body,
            "whatsapp": _body(broadcast.whatsapp(message, "0", window_open=True, image_id="x")),
            "per_channel": per_channel, "progress": campaigns.progress(session, campaign_id)}


def _body(rendered: Rendered | None) -> dict[str, Any]:
    return rendered.body if rendered is not None else {}


@router.get("/{campaign_id}")
async def detail(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                 campaign_id: RowId) -> Response:
    data = await run_db(request, _detail, campaign_id)
    return render(request, "admin_campaign.html", admin, **_page_context(), **data,
                  labels=STATE_LABELS, notice=NOTICES.get(request.query_params.get("pesan", "")))


@router.get("/{campaign_id}/progress")
async def progress(request: Request, campaign_id: RowId) -> dict[str, Any]:
    """The live progress (polled by campaigns.js every two seconds)."""
    def work(session: Session) -> dict[str, Any]:
        campaign = session.get(Campaign, campaign_id)
        if campaign is None:
            raise StaffError(404, "Kampanye itu tidak ada.")
        return {"state": campaign.state,
                "state_label": campaigns.STATE_LABELS.get(campaign.state, campaign.state),
                "recipients": campaign.recipients,
                "counts": campaigns.progress(session, campaign_id)}
    return await run_db(request, work)


@router.get("/{campaign_id}/image")
async def image(request: Request, s: Annotated[Services, Depends(services)],
                campaign_id: RowId) -> Response:
    ref = await run_db(request, lambda session: getattr(session.get(Campaign, campaign_id),
                                                        "image_ref", None))
    if not ref:
        raise StaffError(404, "Kampanye ini tanpa gambar.")
    content, mime, _ = s.media.open(ref)
    return Response(content, media_type=mime)


def _parse_when(value: str) -> datetime | None:
    """A datetime-local value from the form, read as WIB (the offices' clock)."""
    if not value.strip():
        return None
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=CITY_TIME)
    except ValueError as exc:
        raise StaffError(422, "Waktu jadwal tidak valid.") from exc


@router.post("/{campaign_id}/send")
async def send(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)], campaign_id: RowId,
               scheduled_at: Annotated[str, Form()] = "") -> Response:
    at = _parse_when(scheduled_at)

    def work(session: Session) -> str:
        try:
            campaign = campaigns.start(session, campaign_id, at)
        except LookupError as exc:
            raise StaffError(404, "Kampanye itu tidak ada.") from exc
        except campaigns.CampaignStateError as exc:
            raise StaffError(409, str(exc)) from exc
        action = "campaign_scheduled" if campaign.state == "scheduled" else "campaign_sent"
        audit.record(session, admin.staff_id, action, f"campaign:{campaign_id}",
                     detail={"recipients": campaign.recipients,
                             "scheduled_at": at.isoformat() if at else None},
                     ip=client_ip(request))
        return "dijadwalkan" if campaign.state == "scheduled" else "dikirim"

    notice = await run_db(request, work)
    return RedirectResponse(f"{CAMPAIGNS}/{campaign_id}?pesan={notice}", status_code=303)


def _transition(name: str, notice: str) -> Any:
    change = {"pause": campaigns.pause, "resume": campaigns.resume, "cancel": campaigns.cancel}

    async def route(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                    campaign_id: RowId) -> Response:
        def work(session: Session) -> None:
            try:
                change[name](session, campaign_id)
            except LookupError as exc:
                raise StaffError(404, "Kampanye itu tidak ada.") from exc
            except campaigns.CampaignStateError as exc:
                raise StaffError(409, str(exc)) from exc
            audit.record(session, admin.staff_id, f"campaign_{name}", f"campaign:{campaign_id}",
                         ip=client_ip(request))
        await run_db(request, work)
        return RedirectResponse(f"{CAMPAIGNS}/{campaign_id}?pesan={notice}", status_code=303)

    route.__name__ = f"campaign_{name}"
    return route


router.add_api_route("/{campaign_id}/pause", _transition("pause", "dijeda"), methods=["POST"])
router.add_api_route("/{campaign_id}/resume", _transition("resume", "dilanjutkan"),
                     methods=["POST"])
router.add_api_route("/{campaign_id}/cancel", _transition("cancel", "dibatalkan"),
                     methods=["POST"])


@router.post("/templates")
async def register_template(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                            name: Annotated[str, Form()] = "",
                            language: Annotated[str, Form()] = "id",
                            variables: Annotated[str, Form()] = "",
                            body: Annotated[str, Form()] = "") -> Response:
    def work(session: Session) -> None:
        try:
            found = wa_templates.register(session, name=name, language=language,
                                          variables=variables.split(","), body=body,
                                          staff_id=admin.staff_id)
        except wa_templates.TemplateError as exc:
            raise StaffError(422, str(exc)) from exc
        audit.record(session, admin.staff_id, "whatsapp_template_registered",
                     f"whatsapp_template:{found.id}", ip=client_ip(request))
    await run_db(request, work)
    return RedirectResponse(f"{CAMPAIGNS}?pesan=templat", status_code=303)
