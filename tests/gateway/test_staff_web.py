"""The staff web over HTTP (real PostgreSQL): sign-in, cookies, CSRF, roles, redirects, headers
and the admin pages' changes."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from typing import Literal

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from bot.app import build_services, create_app
from bot.db import make_sessionmaker
from bot.models import AuditEntry, StaffSession, StaffUser
from bot.settings import Settings
from bot.staff import auth

pytestmark = pytest.mark.integration
FERNET_KEY = "zCu8QdkKd3jwMrvS4u0nkg9gX3Yy8Bk2rR9Qm2uUj1E="  # ENCRYPTION_KEYS in production

PASSWORD = "kunci-rahasia-2026"
HTML = {"accept": "text/html,application/xhtml+xml"}
USERS = "/staff/admin/users"
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
ClientFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(pg_engine: Engine, redis_url: str) -> Iterator[ClientFactory]:
    """`make_client()` (development, http) or `make_client("production")` (https)."""
    clients: list[TestClient] = []

    def start(env: Literal["development", "production"] = "development") -> TestClient:
        production = {"public_base_url": "https://testserver", "encryption_keys": FERNET_KEY,
                      "lookup_key": "lookup-key-for-staff-web-tests-0123456789"}
        settings = Settings(_env_file=None, pintu_env=env,
                            database_url=pg_engine.url.render_as_string(hide_password=False),
                            redis_url=redis_url, outbox_interval_s=3600,
                            internal_api_token="internal-token-for-staff-web-tests",
                            verification_key="verification-key-for-staff-web-tests",
                            agency_webhook_secrets={"laksa": "laksa-secret-for-tests",
                                                    "dukcapil": "dukcapil-secret-for-tests"},
                            **(production if env == "production" else {}))
        client = TestClient(create_app(services=build_services(settings)),
                            base_url="https://testserver" if env == "production" else
                            "http://testserver")
        clients.append(client.__enter__())
        return client

    yield start
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: ClientFactory) -> TestClient:
    return make_client()


@pytest.fixture
def db(pg_engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(pg_engine)() as session:
        yield session


@pytest.fixture
def staff(db: Session) -> dict[str, int]:
    """sari (admin), eko (supervisor), budi (agent): their ids."""
    ids = {name: auth.create_staff(db, name, f"{name.title()} Nama Lengkap", role, PASSWORD).id
           for name, role in (("sari", "admin"), ("eko", "supervisor"), ("budi", "agent"))}
    db.commit()
    return ids


def _form_token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no csrf_token field on the page"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD,
            next_path: str | None = None) -> httpx.Response:
    form = client.get("/staff/login", headers=HTML)
    data = {"username": username, "password": password, "csrf_token": _form_token(form.text)}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/staff/login", data=data, headers=HTML, follow_redirects=False)


def session_csrf(client: TestClient) -> str:
    """The signed-in session's CSRF token, from the meta tag every page carries."""
    page = client.get(USERS, headers=HTML)
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found, page.text
    return found.group(1)


def _set_cookie(response: httpx.Response, name: str) -> str:
    return next(h for h in response.headers.get_list("set-cookie") if h.startswith(name + "="))


def _actions(db: Session) -> list[str]:
    db.expire_all()
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_the_session_cookie_is_httponly_lax_and_scoped_to_staff(client: TestClient,
                                                               staff: dict[str, int]) -> None:
    response = sign_in(client, "sari")
    assert response.status_code == 303 and response.headers["location"] == "/staff/inbox"
    cookie = _set_cookie(response, "pintu_staff").lower()
    assert "httponly" in cookie and "samesite=lax" in cookie and "path=/staff" in cookie
    assert "secure" not in cookie  # development runs on plain http
    assert "strict-transport-security" not in response.headers


def test_production_cookies_are_secure_and_hsts_is_sent(make_client: ClientFactory,
                                                        staff: dict[str, int]) -> None:
    client = make_client("production")
    form = client.get("/staff/login", headers=HTML)
    assert "secure" in _set_cookie(form, "pintu_login_csrf").lower()
    response = sign_in(client, "sari", next_path=USERS)
    assert response.status_code == 303 and response.headers["location"] == USERS
    cookie = _set_cookie(response, "pintu_staff").lower()
    assert "secure" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert response.headers["strict-transport-security"].startswith("max-age=")
    assert client.get(USERS, headers=HTML).status_code == 200


def test_every_staff_response_carries_the_security_headers(client: TestClient,
                                                           staff: dict[str, int]) -> None:
    responses = [
        client.get("/staff/login", headers=HTML),
        client.get(USERS, headers=HTML, follow_redirects=False),  # redirect to login
        client.get(USERS, headers={"accept": "application/json"}),  # 401
        client.get("/staff/static/staff.css"),
        client.get("/staff/tidak-ada"),  # 404
    ]
    assert [r.status_code for r in responses] == [200, 303, 401, 200, 404]
    for response in responses:
        assert response.headers["content-security-policy"] == CSP
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
    assert [r.headers["cache-control"] for r in responses] == \
        ["no-store", "no-store", "no-store", "no-cache", "no-store"]
    assert client.get("/healthz").headers["content-security-policy"] == API_CSP


def test_pages_send_browsers_to_login_and_back(client: TestClient,
                                               staff: dict[str, int]) -> None:
    response = client.get(f"{USERS}?pesan=x", headers=HTML, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?next=/staff/admin/users%3Fpesan%3Dx"
    form = client.get(response.headers["location"], headers=HTML)
    assert 'name="next" value="/staff/admin/users?pesan=x"' in form.text
    signed_in = sign_in(client, "sari", next_path="/staff/admin/users?pesan=x")
    assert signed_in.headers["location"] == "/staff/admin/users?pesan=x"
    # Signed in, the login page forwards at once.
    again = client.get("/staff/login?next=/staff/admin/audit", headers=HTML,
                       follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/staff/admin/audit"
    assert client.get("/staff/", follow_redirects=False).headers["location"] == "/staff/inbox"


def test_fetch_and_form_posts_without_a_session_get_401(client: TestClient) -> None:
    fetch = client.get(USERS, headers={"accept": "application/json"})
    assert fetch.status_code == 401 and "masuk" in fetch.json()["detail"]
    events = client.get(USERS, headers={"accept": "text/event-stream"})
    assert events.status_code == 401
    form = client.post(USERS, data={"username": "x"}, headers=HTML)
    assert form.status_code == 401 and "Silakan masuk lagi" in form.text


@pytest.mark.parametrize("target", [
    "https://evil.example/staff/inbox", "//evil.example/staff/", "/\\evil.example",
    "/staff/\\\\evil.example", "javascript:alert(1)", "/staff/login?next=//evil.example",
    "/api/chat", "/staff/inbox\r\nSet-Cookie: x=y",
])
def test_login_never_redirects_off_the_staff_pages(client: TestClient, staff: dict[str, int],
                                                   target: str) -> None:
    form = client.get("/staff/login", params={"next": target}, headers=HTML)
    assert 'name="next"' not in form.text
    response = sign_in(client, "sari", next_path=target)
    assert response.status_code == 303 and response.headers["location"] == "/staff/inbox"


def test_logout_needs_the_csrf_token(client: TestClient, staff: dict[str, int],
                                     db: Session, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    sign_in(client, "budi")
    token = session_csrf(client)
    assert client.post("/staff/logout", headers=HTML).status_code == 403
    wrong = client.post("/staff/logout", data={"csrf_token": "palsu"}, headers=HTML)
    assert wrong.status_code == 403 and "kedaluwarsa" in wrong.text
    assert db.scalar(select(StaffSession.id)) is not None  # still signed in
    response = client.post("/staff/logout", data={"csrf_token": token}, headers=HTML,
                           follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/staff/login?pesan=keluar"
    assert 'pintu_staff=""' in _set_cookie(response, "pintu_staff")
    db.expire_all()
    assert db.scalar(select(StaffSession.id)) is None
    assert _actions(db)[-1] == "logout"
    assert "Anda sudah keluar." in client.get(response.headers["location"], headers=HTML).text
    assert "CSRF" in caplog.text and "budi" not in caplog.text.lower()


def test_admin_posts_need_the_csrf_token(client: TestClient, staff: dict[str, int],
                                         db: Session) -> None:
    sign_in(client, "sari")
    token = session_csrf(client)
    new = {"username": "dewi", "display_name": "Dewi", "role": "agent",
           "password": "sandi-awal-dewi-2026"}
    posts = [
        (USERS, new),
        (f"{USERS}/{staff['budi']}/role", {"role": "admin"}),
        (f"{USERS}/{staff['budi']}/active", {"active": "0"}),
        (f"{USERS}/{staff['budi']}/unlock", {}),
    ]
    for url, data in posts:
        assert client.post(url, data=data, headers=HTML).status_code == 403
        assert client.post(url, data={**data, "csrf_token": token + "x"},
                           headers=HTML).status_code == 403
    db.expire_all()
    assert db.scalar(select(StaffUser.role).where(StaffUser.id == staff["budi"])) == "agent"
    assert db.scalar(select(StaffUser.id).where(StaffUser.username == "dewi")) is None
    # The header works as well as the form field (for fetch).
    created = client.post(USERS, data=new, headers={**HTML, "X-CSRF-Token": token},
                          follow_redirects=False)
    assert created.status_code == 303 and created.headers["location"] == f"{USERS}?pesan=dibuat"


@pytest.mark.parametrize("username", ["budi", "eko"])
def test_agents_and_supervisors_are_refused_the_admin_pages(client: TestClient,
                                                            staff: dict[str, int],
                                                            username: str) -> None:
    sign_in(client, username)
    token = session_csrf(client)
    for path in (USERS, "/staff/admin/audit"):
        page = client.get(path, headers=HTML)
        assert page.status_code == 403
        assert "Anda tidak punya akses ke halaman ini." in page.text
        assert 'href="/staff/admin/users"' not in page.text
    created = client.post(USERS, headers=HTML, data={
        "csrf_token": token, "username": "dewi", "display_name": "Dewi", "role": "admin",
        "password": "sandi-awal-dewi-2026"})
    assert created.status_code == 403
    assert client.get(USERS, headers={"accept": "application/json"}).json() == \
        {"detail": "Anda tidak punya akses ke halaman ini."}


def test_the_login_form_is_protected_against_login_csrf(client: TestClient,
                                                        staff: dict[str, int],
                                                        db: Session) -> None:
    # A forged cross-site form has neither the browser's login cookie nor its token.
    forged = client.post("/staff/login", data={"username": "sari", "password": PASSWORD},
                         headers=HTML, follow_redirects=False)
    assert forged.status_code == 403 and "pintu_staff" not in forged.headers.get("set-cookie", "")
    client.get("/staff/login", headers=HTML)  # the cookie alone is not enough either
    guessed = client.post("/staff/login", headers=HTML, follow_redirects=False,
                          data={"username": "sari", "password": PASSWORD, "csrf_token": "x"})
    assert guessed.status_code == 403
    assert _actions(db) == []


def test_a_wrong_password_re_renders_the_form_with_401(client: TestClient,
                                                       staff: dict[str, int],
                                                       db: Session) -> None:
    response = sign_in(client, "sari", "bukan-kata-sandinya")
    assert response.status_code == 401
    assert "Nama pengguna atau kata sandi salah." in response.text
    assert 'value="sari"' in response.text and "bukan-kata-sandinya" not in response.text
    entry = db.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.ip) == ("login_failed", "testclient")


def test_admins_manage_accounts_and_every_change_is_audited(client: TestClient,
                                                            staff: dict[str, int],
                                                            db: Session) -> None:
    sign_in(client, "budi")  # budi has a session that deactivation must end
    budi_cookie = client.cookies.get("pintu_staff")
    client.cookies.clear()
    sign_in(client, "sari")
    token = session_csrf(client)

    def post(url: str, **data: str) -> httpx.Response:
        return client.post(url, data={"csrf_token": token, **data}, headers=HTML,
                           follow_redirects=False)

    assert post(f"{USERS}/{staff['budi']}/role", role="supervisor").status_code == 303
    assert post(f"{USERS}/{staff['budi']}/active", active="0").status_code == 303
    db.expire_all()
    budi = db.get(StaffUser, staff["budi"])
    assert budi is not None and (budi.role, budi.active) == ("supervisor", False)
    assert db.scalar(select(StaffSession.id).where(StaffSession.staff_id == budi.id)) is None
    assert auth.resolve_session(db, budi_cookie) is None
    assert post(f"{USERS}/{staff['budi']}/active", active="1").status_code == 303
    db.execute(text("UPDATE staff_users SET locked_until = now() + interval '10 minutes', "
                    "failed_logins = 0 WHERE id = :id"), {"id": staff["eko"]})
    db.commit()
    assert "Terkunci" in client.get(USERS, headers=HTML).text
    assert post(f"{USERS}/{staff['eko']}/unlock").status_code == 303
    db.expire_all()
    assert db.get(StaffUser, staff["eko"]).locked_until is None  # type: ignore[union-attr]
    assert post(f"{USERS}/{staff['budi']}/capacity", capacity="8").status_code == 303
    refused = post(f"{USERS}/{staff['budi']}/capacity", capacity="0")
    assert refused.status_code == 422 and "Kapasitas 1 sampai 50" in refused.text
    db.expire_all()
    assert db.get(StaffUser, staff["budi"]).capacity == 8  # type: ignore[union-attr]

    entries = db.scalars(select(AuditEntry).where(AuditEntry.action.like("staff_%"))
                         .order_by(AuditEntry.id)).all()
    assert [(e.action, e.subject, e.staff_id) for e in entries] == [
        ("staff_role_changed", f"staff:{staff['budi']}", staff["sari"]),
        ("staff_deactivated", f"staff:{staff['budi']}", staff["sari"]),
        ("staff_reactivated", f"staff:{staff['budi']}", staff["sari"]),
        ("staff_unlocked", f"staff:{staff['eko']}", staff["sari"]),
        ("staff_capacity_changed", f"staff:{staff['budi']}", staff["sari"]),
    ]
    assert entries[0].detail == {"from": "agent", "to": "supervisor"}


@pytest.mark.parametrize(("data", "message"), [
    ({"username": "Dewi Ayu", "display_name": "Dewi", "password": "sandi-awal-dewi-2026"},
     "Nama pengguna 3-64 karakter"),
    ({"username": "dewi", "display_name": " ", "password": "sandi-awal-dewi-2026"},
     "Nama tampilan wajib diisi"),
    ({"username": "dewi", "display_name": "Dewi", "password": "pendek"},
     "Kata sandi awal minimal 12 karakter."),
    ({"username": "budi", "display_name": "Budi Lain", "password": "sandi-awal-budi-2026"},
     "Nama pengguna itu sudah dipakai."),
    ({"username": "dewi", "display_name": "Dewi", "password": "sandi-awal-dewi-2026",
      "role": "root"}, "Pilih peran yang tersedia."),
])
def test_refused_new_accounts_say_why_in_indonesian(client: TestClient, staff: dict[str, int],
                                                    db: Session, data: dict[str, str],
                                                    message: str) -> None:
    sign_in(client, "sari")
    response = client.post(USERS, data={"csrf_token": session_csrf(client), **data},
                           headers=HTML)
    assert response.status_code == 422 and message in response.text
    assert data["password"] not in response.text
    assert not [a for a in _actions(db) if a == "staff_created"]


def test_an_admin_cannot_deactivate_or_demote_themselves(client: TestClient,
                                                         staff: dict[str, int],
                                                         db: Session) -> None:
    sign_in(client, "sari")
    token = session_csrf(client)
    for path, data in (("active", {"active": "0"}), ("role", {"role": "agent"})):
        response = client.post(f"{USERS}/{staff['sari']}/{path}", headers=HTML,
                               data={"csrf_token": token, **data})
        assert response.status_code == 422 and "akun Anda sendiri" in response.text
    missing = client.post(f"{USERS}/99999/unlock", headers=HTML, data={"csrf_token": token})
    assert missing.status_code == 422 and "Akun tidak ditemukan." in missing.text
    db.expire_all()
    sari = db.get(StaffUser, staff["sari"])
    assert sari is not None and (sari.role, sari.active) == ("admin", True)


def test_the_audit_log_pages_and_filters(client: TestClient, staff: dict[str, int],
                                         db: Session) -> None:
    for i in range(55):
        db.add(AuditEntry(staff_id=staff["budi"], action="view_conversation",
                          subject=f"conversation:{i}", reason="cek keluhan", ip="10.0.0.9"))
    db.commit()
    sign_in(client, "tidak-ada", "bukan-kata-sandinya")
    sign_in(client, "sari")
    first = client.get("/staff/admin/audit", headers=HTML)
    assert first.text.count('data-action="') == 50
    assert 'data-action="login"' in first.text  # newest first
    assert "nama pengguna tidak dikenal" in first.text and "WIB" in first.text
    assert 'rel="next"' in first.text and 'rel="prev"' not in first.text
    second = client.get("/staff/admin/audit", params={"page": "2"}, headers=HTML)
    # Each view of the log is itself on record, after what it showed: one more entry now.
    assert second.text.count('data-action="') == 8 and 'rel="prev"' in second.text
    assert "conversation:0" in second.text and "cek keluhan" in second.text
    by_staff = client.get("/staff/admin/audit", params={"staff": str(staff["sari"])},
                          headers=HTML)
    assert by_staff.text.count('data-action="login"') == 1
    assert by_staff.text.count('data-action="view_audit_log"') == 2
    unknown = client.get("/staff/admin/audit", params={"staff": "tanpa"}, headers=HTML)
    assert unknown.text.count('data-action="login_failed"') == 1
    by_action = client.get("/staff/admin/audit", headers=HTML,
                           params={"action": "view_conversation", "page": "2"})
    assert by_action.text.count('data-action="') == 5
    assert "action=view_conversation&amp;page=1" in by_action.text
    junk = client.get("/staff/admin/audit", params={"page": "x", "staff": "y"}, headers=HTML)
    assert junk.status_code == 200


def test_no_personal_data_in_the_logs(client: TestClient, staff: dict[str, int],
                                      caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="bot")
    sign_in(client, "sari", "bukan-kata-sandinya")
    sign_in(client, "sari")
    token = session_csrf(client)
    client.post(USERS, headers=HTML, data={"csrf_token": "palsu", "username": "dewi"})
    client.post(USERS, headers=HTML, data={
        "csrf_token": token, "username": "dewi", "display_name": "Dewi Rahasia",
        "password": "sandi-awal-dewi-2026"})
    logged = caplog.text.lower()
    for secret in ("sari", "dewi", "rahasia", PASSWORD, "sandi-awal", token.lower()):
        assert secret.lower() not in logged


@pytest.mark.parametrize("path", [
    "/staff/admin/campaigns/1099511627776", "/staff/admin/campaigns/1099511627776/progress",
    "/staff/admin/review/1099511627776", "/staff/admin/links/1099511627776/poster",
    "/staff/api/handoffs/1099511627776"])
def test_a_row_id_beyond_the_database_integer_is_refused_not_an_error(
        client: TestClient, staff: dict[str, int], path: str) -> None:
    sign_in(client, "sari")
    assert client.get(path, headers=HTML).status_code == 422
