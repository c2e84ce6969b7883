"""The staff web's foundation: templates, sign-in and sign-out, the session and CSRF dependencies,
role checks and refusal pages. Security headers: `bot.api.headers`, on every response.

Pages build on it: `current_staff` (signed in, else the login page or 401), `require_role("admin")`
(else 403), `verify_csrf` (state-changing requests echo the session's token) and `render`, which
fills `base.html`'s top bar. Sync database work runs in a thread through `run_db`.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import fastapi
import jinja2
from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from ..api.deps import services
from ..db import in_transaction
from . import audit, auth
from .auth import SignedIn

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
COOKIE = "pintu_staff"
COOKIE_PATH = "/staff"
LOGIN_CSRF_COOKIE = "pintu_login_csrf"  # double-submit token of the login form
LOGIN_PATH = "/staff/login"
HOME = "/staff/inbox"
CITY_TIME = ZoneInfo("Asia/Jakarta")  # WIB: the offices' clock, whatever the server's zone
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ROLE_LABELS = {"agent": "Agen", "supervisor": "Supervisor", "admin": "Admin"}

T = TypeVar("T")
# A row id in a path: PostgreSQL's integer, so a larger number is a 422, not a database error.
RowId = Annotated[int, fastapi.Path(ge=1, le=2_147_483_647)]


# -- templates -------------------------------------------------------------------------------

def wib(value: datetime | None) -> str:
    """A stored (UTC) time as the offices read it: `05-03-2026 14:07:09 WIB`."""
    if value is None:
        return "-"
    aware = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return aware.astimezone(CITY_TIME).strftime("%d-%m-%Y %H:%M:%S WIB")


templates = Jinja2Templates(env=jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True,
    trim_blocks=True, lstrip_blocks=True))
templates.env.filters["wib"] = wib
templates.env.globals.update(can=auth.can, role_label=lambda role: ROLE_LABELS.get(role, role))


def render(request: Request, name: str, staff: SignedIn | None, *, status_code: int = 200,
           **context: Any) -> Response:
    """A page from bot/staff/templates/; `staff` fills the top bar and the CSRF meta tag."""
    return templates.TemplateResponse(request, name, {"staff": staff, **context},
                                      status_code=status_code)


# -- errors ------------------------------------------------------------------------------------

class StaffError(Exception):
    """Refuses a staff request: an Indonesian page for browsers, JSON `detail` for fetch/SSE."""

    def __init__(self, status_code: int, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.location = location


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


async def _staff_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StaffError)
    response: Response
    if exc.location is not None:
        response = RedirectResponse(exc.location, status_code=exc.status_code)
    elif wants_html(request):
        response = render(request, "error.html", getattr(request.state, "staff", None),
                          status_code=exc.status_code, status=exc.status_code,
                          message=exc.message)
    else:
        response = JSONResponse({"detail": exc.message}, status_code=exc.status_code)
    if exc.status_code == 401:  # whatever the cookie held, it signs no one in
        response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response


def protect(app: FastAPI) -> None:
    """The Indonesian refusal pages (and JSON refusals) of the staff web."""
    app.add_exception_handler(StaffError, _staff_error)


def static_files() -> StaticFiles:
    """The stylesheet and scripts under bot/staff/static/, for the `/staff/static` mount."""
    return StaticFiles(directory=STATIC_DIR)


# -- sessions ----------------------------------------------------------------------------------

async def run_db(request: Request, work: Callable[..., T], *args: Any) -> T:
    """Runs `work(session, *args)` in one transaction (committed unless it raises), in a thread
    so that the event loop never waits for the database."""
    return await asyncio.to_thread(in_transaction, services(request).sessions, work, *args)


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _secure_cookies(request: Request) -> bool:
    return services(request).settings.pintu_env != "development"


def safe_next(value: str | None) -> str | None:
    """`value` if it is a path of this site's staff pages (never another site), else None."""
    if not value or len(value) > 2000 or not value.startswith(COOKIE_PATH + "/"):
        return None
    if any(ord(c) < 32 or c == "\\" for c in value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or parts.path.startswith(LOGIN_PATH):
        return None
    return value


async def current_staff(request: Request) -> SignedIn:
    """The signed-in staff member. Otherwise: a browser opening a page is sent to the login page
    (and back afterwards); anything else (fetch, SSE, forms) gets 401."""
    cached = getattr(request.state, "staff", None)
    if isinstance(cached, SignedIn):
        return cached
    token = request.cookies.get(COOKIE)
    staff = await run_db(request, auth.resolve_session, token) if token else None
    if staff is None:
        if request.method == "GET" and wants_html(request):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            location = LOGIN_PATH
            if safe_next(target):
                location += "?next=" + quote(target, safe="/")
            raise StaffError(303, "Silakan masuk terlebih dahulu.", location=location)
        raise StaffError(401, "Sesi Anda sudah berakhir atau belum masuk. Silakan masuk lagi.")
    request.state.staff = staff
    return staff


def require_role(role: str, refusal: str = "Anda tidak punya akses ke halaman ini."
                 ) -> Callable[..., Awaitable[SignedIn]]:
    """A dependency: the signed-in staff member if their role is at least `role`, else 403
    (with `refusal`). Checked before the request's body, so a refusal never depends on it."""
    if role not in auth.ROLES:
        raise ValueError(f"unknown role {role!r}")

    async def dependency(staff: Annotated[SignedIn, Depends(current_staff)]) -> SignedIn:
        if not auth.can(staff.role, role):
            raise StaffError(403, refusal)
        return staff

    dependency.__name__ = f"require_{role}"
    return dependency


async def verify_csrf(request: Request,
                      staff: Annotated[SignedIn, Depends(current_staff)]) -> SignedIn:
    """POST, PUT, PATCH and DELETE must carry the session's CSRF token: the form field
    `csrf_token` or the header `X-CSRF-Token`. Returns the signed-in staff member."""
    if request.method not in UNSAFE_METHODS:
        return staff
    presented = request.headers.get("x-csrf-token")
    content_type = request.headers.get("content-type", "")
    if not presented and content_type.startswith(("application/x-www-form-urlencoded",
                                                  "multipart/form-data")):
        field = (await request.form()).get("csrf_token")
        presented = field if isinstance(field, str) else None
    if not auth.csrf_ok(staff, presented):
        log.warning("staff request refused: CSRF token missing or wrong (%s %s)",
                    request.method, request.url.path)
        raise StaffError(403, "Formulir ini sudah kedaluwarsa. Muat ulang halaman lalu coba lagi.")
    return staff


# -- sign-in and sign-out -----------------------------------------------------------------------

router = APIRouter(include_in_schema=False)

MESSAGES = {"keluar": "Anda sudah keluar."}


def _login_page(request: Request, *, next_path: str | None, status_code: int = 200,
                error: str | None = None, username: str = "") -> Response:
    # One token per browser, kept while it is valid, so two open login tabs both work.
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if len(token) != 43:
        token = secrets.token_urlsafe(32)
    notice = MESSAGES.get(request.query_params.get("pesan", ""))
    response = render(request, "login.html", None, status_code=status_code, error=error,
                      notice=notice if status_code == 200 else None, csrf_token=token,
                      next_path=next_path or "", username=username)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=_secure_cookies(request), path=LOGIN_PATH)
    return response


@router.get("/staff")
@router.get("/staff/")
async def staff_home() -> RedirectResponse:
    return RedirectResponse(HOME, status_code=303)


@router.get(LOGIN_PATH)
async def login_form(request: Request,
                     next_: Annotated[str | None, Query(alias="next")] = None) -> Response:
    token = request.cookies.get(COOKIE)
    signed_in = await run_db(request, auth.resolve_session, token) if token else None
    if signed_in is not None:
        return RedirectResponse(safe_next(next_) or HOME, status_code=303)
    return _login_page(request, next_path=safe_next(next_))


def _sign_in(session: Session, username: str, password: str, ip: str | None,
             old_token: str | None) -> tuple[str | None, str | None]:
    """(cookie token, None) or (None, the reason to show); the audit entry is kept either way."""
    try:
        user = auth.authenticate(session, username, password, ip=ip)
    except auth.AuthError as exc:
        return None, str(exc)
    auth.close_session(session, old_token)  # a fresh session at every sign-in: no fixation
    return auth.open_session(session, user), None


@router.post(LOGIN_PATH)
async def login(request: Request, username: Annotated[str, Form()] = "",
                password: Annotated[str, Form()] = "",
                csrf_token: Annotated[str, Form()] = "",
                next_: Annotated[str, Form(alias="next")] = "") -> Response:
    next_path = safe_next(next_)
    expected = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not expected or not hmac.compare_digest(expected.encode(), csrf_token.encode()):
        log.warning("staff login refused: login form token missing or wrong")
        return _login_page(request, next_path=next_path, status_code=403,
                           error="Formulir masuk sudah kedaluwarsa. Silakan coba lagi.")
    if not username.strip() or not password:
        return _login_page(request, next_path=next_path, status_code=401, username=username[:64],
                           error="Isi nama pengguna dan kata sandi.")
    result: tuple[str | None, str | None]
    if len(username) > 64 or len(password) > 1024:  # no such account; spare the hashing
        result = None, "Nama pengguna atau kata sandi salah."
    else:
        result = await run_db(request, _sign_in, username, password, client_ip(request),
                              request.cookies.get(COOKIE))
    token, error = result
    if token is None:
        return _login_page(request, next_path=next_path, status_code=401,
                           error=error, username=username[:64])
    response = RedirectResponse(next_path or HOME, status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="lax",
                        secure=_secure_cookies(request), path=COOKIE_PATH)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


def _sign_out(session: Session, staff: SignedIn, token: str | None, ip: str | None) -> None:
    auth.close_session(session, token)
    audit.record(session, staff.staff_id, "logout", ip=ip)


@router.post("/staff/logout")
async def logout(request: Request,
                 staff: Annotated[SignedIn, Depends(verify_csrf)]) -> RedirectResponse:
    await run_db(request, _sign_out, staff, request.cookies.get(COOKIE), client_ip(request))
    response = RedirectResponse(f"{LOGIN_PATH}?pesan=keluar", status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH)
    return response
