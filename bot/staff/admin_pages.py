"""Admin pages (role admin): staff accounts and the audit log. Plain forms, no JavaScript needed.

Each change posts to its own URL and, when it succeeds, redirects back to the list with a notice
(post/redirect/get); a refused change shows the list again with the reason.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from . import accounts, audit, auth
from .auth import SignedIn
from .masking import mask_personal
from .web import ROLE_LABELS, RowId, client_ip, render, require_role, run_db, templates, verify_csrf

ADMIN = require_role("admin")
USERS = "/staff/admin/users"
PER_PAGE = 50
NOTICES = {
    "dibuat": "Akun dibuat. Sampaikan kata sandi awalnya kepada pemilik akun secara langsung.",
    "dinonaktifkan": "Akun dinonaktifkan; sesi yang masih terbuka sudah diakhiri.",
    "diaktifkan": "Akun diaktifkan kembali.",
    "peran": "Peran diubah.",
    "dibuka": "Kunci akun dibuka.",
    "kapasitas": "Kapasitas chat diubah.",
}
ACTION_LABELS = {
    "login": "Masuk",
    "login_failed": "Gagal masuk",
    "account_locked": "Akun terkunci (terlalu banyak percobaan)",
    "login_locked": "Masuk ditolak: akun terkunci",
    "logout": "Keluar",
    "staff_created": "Akun dibuat",
    "staff_deactivated": "Akun dinonaktifkan",
    "staff_reactivated": "Akun diaktifkan kembali",
    "staff_role_changed": "Peran diubah",
    "staff_unlocked": "Kunci akun dibuka",
    "staff_capacity_changed": "Kapasitas chat diubah",
    "view_conversation": "Membuka percakapan",
    "reveal_personal_data": "Membuka data pribadi (dengan alasan)",
    "view_attachment": "Membuka lampiran",
    "take_handoff": "Mengambil percakapan",
    "assign_handoff": "Menugaskan percakapan",
    "transfer_handoff": "Mengalihkan percakapan",
    "auto_assign_handoff": "Penugasan otomatis",
    "close_handoff": "Menutup percakapan",
    "canned_saved": "Menyimpan balasan cepat",
    "canned_deleted": "Menghapus balasan cepat",
    "availability": "Mengubah kesiapan menerima chat",
    "view_queue": "Melihat antrean kotak masuk",
    "view_staff_accounts": "Melihat daftar akun petugas",
    "view_audit_log": "Melihat log audit",
    "view_nlu_review": "Melihat pesan untuk tinjauan NLU",
    "view_nlu_message": "Membuka satu pesan tinjauan NLU",
}
templates.env.globals["action_label"] = lambda action: ACTION_LABELS.get(action, action)
templates.env.filters["mask"] = mask_personal  # typed reasons may hold a number, too

router = APIRouter(prefix="/staff/admin", include_in_schema=False,
                   dependencies=[Depends(ADMIN), Depends(verify_csrf)])


# -- staff accounts ----------------------------------------------------------------------------

def _staff_rows(session: Session, admin_id: int, ip: str | None) -> list[accounts.StaffRow]:
    rows = accounts.list_staff(session)
    audit.record(session, admin_id, "view_staff_accounts", "staff_accounts", ip=ip)
    return rows


async def _users_page(request: Request, admin: SignedIn, *, status_code: int = 200,
                      error: str | None = None, form: dict[str, str] | None = None) -> Response:
    rows = await run_db(request, _staff_rows, admin.staff_id, client_ip(request))
    notice = NOTICES.get(request.query_params.get("pesan", "")) if status_code == 200 else None
    return render(request, "admin_users.html", admin, status_code=status_code, rows=rows,
                  roles=auth.ROLES, error=error, notice=notice, form=form or {},
                  min_password=auth.MIN_PASSWORD_LENGTH)


def _done(notice: str) -> RedirectResponse:
    return RedirectResponse(f"{USERS}?pesan={notice}", status_code=303)


@router.get("/users")
async def users(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)]) -> Response:
    return await _users_page(request, admin)


@router.post("/users")
async def create_user(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                      username: Annotated[str, Form()] = "",
                      display_name: Annotated[str, Form()] = "",
                      role: Annotated[str, Form()] = "agent",
                      password: Annotated[str, Form()] = "") -> Response:
    form = {"username": username[:64], "display_name": display_name[:120], "role": role}
    try:
        await run_db(request, accounts.create_account, admin.staff_id, username, display_name,
                     role, password, client_ip(request))
    except accounts.AccountError as exc:
        return await _users_page(request, admin, status_code=422, error=str(exc), form=form)
    except IntegrityError:  # the same name created at the same moment elsewhere
        return await _users_page(request, admin, status_code=422, form=form,
                                 error="Nama pengguna itu sudah dipakai.")
    return _done("dibuat")


async def _change(request: Request, admin: SignedIn, notice: str, change: Any,
                  *args: Any) -> Response:
    try:
        await run_db(request, change, admin.staff_id, *args, client_ip(request))
    except accounts.AccountError as exc:
        return await _users_page(request, admin, status_code=422, error=str(exc))
    return _done(notice)


@router.post("/users/{user_id}/active")
async def set_active(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                     user_id: RowId, active: Annotated[str, Form()] = "") -> Response:
    on = active == "1"
    return await _change(request, admin, "diaktifkan" if on else "dinonaktifkan",
                         accounts.set_active, user_id, on)


@router.post("/users/{user_id}/role")
async def set_role(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                   user_id: RowId, role: Annotated[str, Form()] = "") -> Response:
    return await _change(request, admin, "peran", accounts.set_role, user_id, role)


@router.post("/users/{user_id}/capacity")
async def set_capacity(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                       user_id: RowId, capacity: Annotated[int, Form()] = 0) -> Response:
    return await _change(request, admin, "kapasitas", accounts.set_capacity, user_id, capacity)


@router.post("/users/{user_id}/unlock")
async def unlock(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                 user_id: RowId) -> Response:
    return await _change(request, admin, "dibuka", accounts.unlock, user_id)


# -- audit log ---------------------------------------------------------------------------------

def describe(entry: audit.Entry) -> str:
    """The entry's detail in words (it holds ids and kinds only, never personal data)."""
    detail = entry.detail
    if "from" in detail and "to" in detail:
        return f"{ROLE_LABELS.get(detail['from'], detail['from'])} → " \
               f"{ROLE_LABELS.get(detail['to'], detail['to'])}"
    if detail.get("reason") == "unknown":
        return "nama pengguna tidak dikenal"
    return ", ".join(f"{key}: {value}" for key, value in sorted(detail.items()))


def target(entry: audit.Entry, usernames: dict[int, str]) -> str:
    """What the entry is about; a staff account is shown by its user name."""
    subject = entry.subject or ""
    kind, _, ident = subject.partition(":")
    if kind == "staff" and ident.isdigit() and int(ident) in usernames:
        return f"akun {usernames[int(ident)]}"
    return subject


def _parse_staff(value: str) -> int | None:
    if value == "tanpa":
        return audit.NO_STAFF
    return int(value) if value.isdigit() else None


def _audit_data(session: Session, staff_id: int | None, action: str, page: int,
                admin_id: int, ip: str | None) -> dict[str, Any]:
    found, more = audit.entries(session, staff_id=staff_id, action=action or None, page=page,
                                per_page=PER_PAGE)
    # After the read: the page shows what was there before this view.
    audit.record(session, admin_id, "view_audit_log", "audit_log", ip=ip,
                 detail={"staff": staff_id, "action": action or None, "page": page})
    return {"entries": found, "more": more, "staff_rows": accounts.list_staff(session),
            "actions": audit.actions(session)}


@router.get("/audit")
async def audit_log(request: Request, admin: Annotated[SignedIn, Depends(ADMIN)],
                    staff: str = "", action: str = "", page: str = "1") -> Response:
    staff_id = _parse_staff(staff)
    action = action[:40]
    number = min(int(page), 100_000) if page.isdigit() and int(page) > 0 else 1
    data = await run_db(request, _audit_data, staff_id, action, number, admin.staff_id,
                        client_ip(request))
    filters = {k: v for k, v in (("staff", staff if staff_id is not None else ""),
                                 ("action", action)) if v}

    def page_url(n: int) -> str:
        return "/staff/admin/audit?" + urlencode({**filters, "page": n})

    usernames = {row.id: row.username for row in data["staff_rows"]}
    return render(request, "admin_audit.html", admin, **data, describe=describe,
                  target=lambda entry: target(entry, usernames),
                  staff_filter=staff if staff_id is not None else "",
                  action_filter=action, page=number,
                  prev_url=page_url(number - 1) if number > 1 else None,
                  next_url=page_url(number + 1) if data["more"] else None)
