"""The model pages (role admin): train a new version in the background with a progress bar,
compare its per-intent F1 with the live model's, see its confusion matrix, promote it (through the
gate, or past it with a written reason), and restore any earlier version in one action."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from ..api.deps import services
from ..app import Services
from ..learning import jobs, predictions, promotion, registry, training_data
from ..models import ModelJob
from . import audit
from .auth import SignedIn
from .web import RowId, StaffError, client_ip, render, require_role, run_db, verify_csrf

ADMIN = require_role("admin")
MODELS = "/staff/admin/models"
NOTICES = {
    "dilatih": "Pelatihan dimulai. Bilah kemajuan di bawah diperbarui sendiri.",
    "dievaluasi": "Evaluasi dimulai.",
    "dibatalkan": "Tugas dibatalkan.",
    "dipromosikan": "Model baru sudah aktif di semua server Rasa.",
    "dipulihkan": "Versi sebelumnya sudah aktif kembali di semua server Rasa.",
}
STATUS_LABELS = {"training": "Dilatih", "ready": "Siap", "failed": "Gagal"}
MIN_OVERRIDE_REASON = 10  # as the form's minlength: a promotion past the gate needs a real reason
JOB_LABELS = {"queued": "Menunggu", "running": "Berjalan", "cancelling": "Dibatalkan…",
              "succeeded": "Selesai", "failed": "Gagal", "cancelled": "Dibatalkan"}

router = APIRouter(prefix=MODELS, include_in_schema=False,
                   dependencies=[Depends(ADMIN), Depends(verify_csrf)])


def _job_json(job: ModelJob | None) -> dict[str, Any] | None:
    if job is None:
        return None
    return {"id": job.id, "kind": job.kind, "status": job.status,
            "status_label": JOB_LABELS.get(job.status, job.status),
            "progress": round(float(job.progress or 0.0), 4), "stage": job.stage,
            "error": job.error, "version_id": job.version_id,
            "active": job.status in jobs.ACTIVE}


def _list(session: Session, models_dir: Path) -> dict[str, Any]:
    registry.sync_files(session, models_dir)
    live = registry.live_or_serving(session, models_dir)
    versions = registry.versions(session)
    return {"versions": versions, "live": live, "names": {v.id: v.version for v in versions},
            "job": _job_json(jobs.current(session)), "history": registry.history(session),
            "labelled": training_data.labelled_count(session),
            "pending": predictions.pending_count(session)}


@router.get("")
async def models(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                 s: Annotated[Services, Depends(services)]) -> Response:
    data = await run_db(request, _list, s.settings.models_dir)
    notice = NOTICES.get(request.query_params.get("pesan", ""))
    return render(request, "admin_models.html", admin, notice=notice,
                  status_labels=STATUS_LABELS, **data)


@router.get("/job")
async def job_status(request: Request) -> dict[str, Any]:
    """The progress bar's source (polled by models.js)."""
    found = await run_db(request, lambda session: _job_json(jobs.current(session)))
    return {"job": found}


def _enqueue(session: Session, staff_id: int, kind: str, options: dict[str, Any],
             ip: str | None) -> None:
    if kind == "evaluate":  # refused now, not by the runner minutes later
        try:
            target = registry.by_name(session, str(options["version"]))
        except LookupError as exc:
            raise StaffError(404, "Versi model itu tidak ada.") from exc
        if target.status != "ready":
            raise StaffError(409, "Versi ini belum siap dievaluasi (masih dilatih atau gagal).")
    try:
        job = jobs.enqueue(session, kind, staff_id=staff_id, options=options)
    except jobs.JobBusy as exc:
        raise StaffError(409, "Masih ada pelatihan atau evaluasi yang berjalan; tunggu sampai "
                              "selesai atau batalkan dulu.") from exc
    audit.record(session, staff_id, f"model_{kind}_started", f"job:{job.id}",
                 detail={k: v for k, v in options.items() if k in ("epochs", "version")}, ip=ip)


@router.post("/train")
async def train(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                epochs: Annotated[str, Form()] = "") -> Response:
    options: dict[str, Any] = {}
    value = epochs.strip()
    if value:
        # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
        if not (value.isascii() and value.isdigit()) or not 1 <= int(value) <= 500:
            raise StaffError(422, "Jumlah epoch harus angka 1 sampai 500, atau kosong.")
        options["epochs"] = int(value)
    await run_db(request, _enqueue, admin.staff_id, "train", options, client_ip(request))
    return RedirectResponse(f"{MODELS}?pesan=dilatih", status_code=303)


@router.post("/job/{job_id}/cancel")
async def cancel(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                 job_id: RowId) -> Response:
    def work(session: Session) -> None:
        if not jobs.cancel(session, job_id):
            raise StaffError(409, "Tugas itu sudah selesai atau tidak ada; tidak ada yang "
                                  "dibatalkan.")
        audit.record(session, admin.staff_id, "model_job_cancelled", f"job:{job_id}",
                     ip=client_ip(request))
    await run_db(request, work)
    return RedirectResponse(f"{MODELS}?pesan=dibatalkan", status_code=303)


def _detail(session: Session, models_dir: Path, version: str) -> dict[str, Any]:
    try:
        target = registry.by_name(session, version)
    except LookupError as exc:
        raise StaffError(404, "Versi model itu tidak ada.") from exc
    live = registry.live_or_serving(session, models_dir)
    gate = registry.gate(target, live)
    cv = (target.evaluation or {}).get("cross_validation") or {}
    live_cv = ((live.evaluation or {}).get("cross_validation") or {}) if live else {}
    return {"v": target, "live": live, "gate": gate, "cv": cv, "live_cv": live_cv,
            "is_live": live is not None and live.id == target.id,
            "was_live": registry.was_live(session, target),
            "job": _job_json(jobs.current(session))}


@router.get("/{version}")
async def detail(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                 s: Annotated[Services, Depends(services)], version: str) -> Response:
    data = await run_db(request, _detail, s.settings.models_dir, version)
    return render(request, "admin_model.html", admin, status_labels=STATUS_LABELS,
                  min_reason=MIN_OVERRIDE_REASON,
                  notice=NOTICES.get(request.query_params.get("pesan", "")), **data)


@router.get("/{version}/confusion.png")
async def confusion(request: Request, version: str) -> Response:
    def find(session: Session) -> str | None:
        path = registry.by_name(session, version).confusion_png
        return path if path and Path(path).is_file() else None
    try:
        path = await run_db(request, find)
    except LookupError as exc:
        raise StaffError(404, "Versi model itu tidak ada.") from exc
    if not path:
        raise StaffError(404, "Matriks kebingungan belum dibuat untuk versi ini.")
    return FileResponse(path, media_type="image/png")


@router.post("/{version}/evaluate")
async def evaluate(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                   version: str) -> Response:
    await run_db(request, _enqueue, admin.staff_id, "evaluate", {"version": version},
                 client_ip(request))
    return RedirectResponse(f"{MODELS}/{version}?pesan=dievaluasi", status_code=303)


@router.post("/{version}/promote")
async def promote(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                  s: Annotated[Services, Depends(services)], version: str,
                  override_reason: Annotated[str, Form()] = "") -> Response:
    settings = s.settings
    if override_reason.strip() and len(override_reason.strip()) < MIN_OVERRIDE_REASON:
        raise StaffError(422, f"Alasan pengecualian minimal {MIN_OVERRIDE_REASON} karakter.")
    try:
        outcome = await promotion.promote(
            s.sessions, settings.rasa_servers, settings.internal_api_token, settings.models_dir,
            version, staff_id=admin.staff_id, override_reason=override_reason or None,
            ip=client_ip(request))
    except LookupError as exc:
        raise StaffError(404, "Versi model itu tidak ada.") from exc
    except promotion.PromotionRefused as exc:
        raise StaffError(409, "Promosi ditolak: " + "; ".join(exc.gate.reasons) + ". Bila tetap "
                         "perlu, tulis alasannya di kolom pengecualian.") from exc
    except (ValueError, promotion.PromotionFailed) as exc:
        raise StaffError(409, f"Promosi tidak dijalankan: {exc}.") from exc
    notice = "dipulihkan" if outcome.action == "rollback" else "dipromosikan"
    return RedirectResponse(f"{MODELS}/{version}?pesan={notice}", status_code=303)
