"""The NLU review page (role admin): messages the bot was unsure about, answered with a fallback,
or that officers flagged, grouped by similarity, most frequent first. An admin labels a group with
the right intent (or a new one), marks entities on one message, or dismisses; checkboxes apply
one action to many groups at once. Plain forms; entity marking uses a little JavaScript.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from ..learning import predictions, training_data
from ..models import Prediction
from . import audit
from .auth import SignedIn
from .web import RowId, StaffError, client_ip, render, require_role, run_db, verify_csrf

ADMIN = require_role("admin")
REVIEW = "/staff/admin/review"
REASON_LABELS = {"unsure": "Ragu", "fallback": "Jawaban cadangan", "flagged": "Ditandai petugas"}
NOTICES = {"dilabeli": "Label disimpan.", "diabaikan": "Pesan diabaikan."}

router = APIRouter(prefix=REVIEW, include_in_schema=False,
                   dependencies=[Depends(ADMIN), Depends(verify_csrf)])


def _ids(raw: str) -> list[int]:
    found = []
    for part in raw.replace(",", " ").split():
        if part.isdigit():
            found.append(int(part))
    return found[:5000]


def _page_data(session: Session, reason: str | None, admin_id: int,
               ip: str | None) -> dict[str, Any]:
    groups = predictions.review_groups(session, reason=reason)
    # Residents' messages (masked, but still their words): every view is on record.
    audit.record(session, admin_id, "view_nlu_review", "nlu_review", ip=ip,
                 detail={"reason": reason, "groups": len(groups)})
    return {"groups": groups, "pending": predictions.pending_count(session),
            "intents": training_data.known_intents(),
            "labelled": training_data.labelled_count(session)}


@router.get("")
async def review(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                 alasan: str | None = None) -> Response:
    reason = alasan if alasan in REASON_LABELS else None
    data = await run_db(request, _page_data, reason, admin.staff_id, client_ip(request))
    notice = NOTICES.get(request.query_params.get("pesan", ""))
    return render(request, "admin_review.html", admin, reason=reason,
                  reason_labels=REASON_LABELS, notice=notice, **data)


def _apply(session: Session, staff_id: int, action: str, ids: list[int], intent: str,
           entities: list[dict[str, Any]], ip: str | None) -> int:
    if action == "dismiss":
        done = predictions.dismiss(session, ids, staff_id)
    else:
        done = predictions.label(session, ids, intent, staff_id, entities=entities)
    audit.record(session, staff_id, "nlu_" + ("dismissed" if action == "dismiss" else "labelled"),
                 f"predictions:{len(ids)}", detail={"ids": ids[:50], "intent": intent or None},
                 ip=ip)
    return done


def _entities(raw: str) -> list[dict[str, Any]]:
    import json

    if not raw.strip():
        return []
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise StaffError(422, "Penanda entitas tidak terbaca.") from exc
    if not isinstance(value, list):
        raise StaffError(422, "Penanda entitas tidak terbaca.")
    return [e for e in value if isinstance(e, dict)]


@router.post("")
async def act(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
              action: Annotated[str, Form()] = "",
              ids: Annotated[list[str] | None, Form()] = None,
              intent: Annotated[str, Form()] = "", new_intent: Annotated[str, Form()] = "",
              entities: Annotated[str, Form()] = "",
              back: Annotated[str, Form()] = REVIEW) -> Response:
    """Labels or dismisses the checked groups (or one message from its own page)."""
    chosen = sorted({i for raw in ids or [] for i in _ids(raw)})
    if not chosen:
        raise StaffError(422, "Pilih dulu pesan yang akan diberi label atau diabaikan.")
    if action not in ("label", "dismiss"):
        raise StaffError(422, "Tindakan tidak dikenal.")
    name = (new_intent or intent).strip()
    if action == "label" and not name:
        raise StaffError(422, "Pilih intent yang benar, atau tulis nama intent baru.")
    try:
        await run_db(request, _apply, admin.staff_id, action, chosen, name,
                     _entities(entities), client_ip(request))
    except ValueError as exc:
        raise StaffError(422, f"Label tidak disimpan: {exc}.") from exc
    target = back if back.startswith(REVIEW) else REVIEW
    joiner = "&" if "?" in target else "?"
    notice = "diabaikan" if action == "dismiss" else "dilabeli"
    return RedirectResponse(f"{target}{joiner}pesan={notice}", status_code=303)


def _one(session: Session, prediction_id: int, admin_id: int, ip: str | None) -> dict[str, Any]:
    p = session.get(Prediction, prediction_id)
    if p is None:
        raise StaffError(404, "Pesan itu tidak ada (mungkin sudah dihapus karena masa simpan).")
    audit.record(session, admin_id, "view_nlu_message", f"prediction:{prediction_id}", ip=ip)
    similar = predictions.review_groups(session, scan=5000, limit=1000)
    group = next((g for g in similar if prediction_id in g.ids), None)
    return {"p": p, "group_ids": group.ids if group else [p.id],
            "intents": training_data.known_intents()}


@router.get("/{prediction_id}")
async def one(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
              prediction_id: RowId) -> Response:
    data = await run_db(request, _one, prediction_id, admin.staff_id, client_ip(request))
    return render(request, "admin_review_one.html", admin, reason_labels=REASON_LABELS, **data)
