"""Who may use which route, route by route, on the real application (a live gateway, real
PostgreSQL and Redis, fake channels): every route the app has must be in `ACCESS`, and every
entry must be a route, so a new route cannot ship unclassified.

Anonymous callers get the login page (a browser opening a page) or 401; an agent gets 403 on
supervisor and admin routes, a supervisor 403 on admin routes; the internal API refuses a missing
or wrong token; webhooks refuse calls without their signature or secret. The lowest role allowed
is never refused. Every answer, refusals included, carries the security headers.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from bot.app import build_services, create_app
from bot.models import StaffUser
from bot.settings import Settings
from bot.staff import auth
from tests.channels.conftest import (  # noqa: F401 - fixtures
    Gateway,
    fake_graph,
    fake_telegram,
    graph_server,
    make_gateway,
    telegram_server,
)
from tests.gateway.conftest import pg_engine, pg_url, redis_url  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration
FERNET_KEY = "zCu8QdkKd3jwMrvS4u0nkg9gX3Yy8Bk2rR9Qm2uUj1E="  # ENCRYPTION_KEYS in production

PUBLIC = "public"          # anyone: health, metrics, the verification page, the login form
LOCAL = "local"            # anyone in development; off (404) in production
DOCS = "docs"              # FastAPI's docs: development only
INTERNAL = "internal"      # the action server's bearer token
SIGNED = "signed"          # a channel's or an agency's signature or secret
AGENT, SUPERVISOR, ADMIN = "agent", "supervisor", "admin"
STAFF = (AGENT, SUPERVISOR, ADMIN)

ACCESS: dict[tuple[str, str], str] = {
    **{(method, path): DOCS for path in ("/openapi.json", "/docs", "/docs/oauth2-redirect",
                                         "/redoc") for method in ("GET", "HEAD")},
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/api/chat"): LOCAL,
    ("GET", "/api/chat/messages"): LOCAL,
    ("POST", "/internal/v1/complaints"): INTERNAL,
    ("POST", "/internal/v1/watches"): INTERNAL,
    ("GET", "/internal/v1/tickets/{number}"): INTERNAL,
    ("POST", "/internal/v1/handoffs"): INTERNAL,
    ("POST", "/internal/v1/consent/stop"): INTERNAL,
    ("POST", "/internal/v1/consent/topics"): INTERNAL,
    ("POST", "/internal/v1/identity-alarms"): INTERNAL,
    ("POST", "/webhooks/telegram"): SIGNED,
    ("GET", "/webhooks/whatsapp"): SIGNED,
    ("POST", "/webhooks/whatsapp"): SIGNED,
    ("POST", "/webhooks/agency/status"): SIGNED,
    ("GET", "/verifikasi"): PUBLIC,
    ("GET", "/api/v1/verifikasi/{kode}"): PUBLIC,
    ("GET", "/staff"): PUBLIC,  # a redirect to the inbox, which asks to sign in
    ("GET", "/staff/"): PUBLIC,
    ("GET", "/staff/login"): PUBLIC,
    ("POST", "/staff/login"): PUBLIC,
    ("*", "/staff/static"): PUBLIC,  # the stylesheet and scripts
    ("POST", "/staff/logout"): AGENT,
    ("GET", "/staff/inbox"): AGENT,
    ("GET", "/staff/api/queue"): AGENT,
    ("GET", "/staff/api/handoffs/{handoff_id}"): AGENT,
    ("POST", "/staff/api/handoffs/{handoff_id}/take"): AGENT,
    ("POST", "/staff/api/handoffs/{handoff_id}/assign"): SUPERVISOR,
    ("POST", "/staff/api/handoffs/{handoff_id}/reply"): AGENT,
    ("POST", "/staff/api/handoffs/{handoff_id}/template"): AGENT,
    ("POST", "/staff/api/handoffs/{handoff_id}/attachment"): AGENT,
    ("POST", "/staff/api/handoffs/{handoff_id}/notes"): AGENT,
    ("POST", "/staff/api/handoffs/{handoff_id}/close"): AGENT,
    ("POST", "/staff/api/contacts/{contact_id}/takeover"): AGENT,
    ("POST", "/staff/api/messages/{message_id}/reveal"): AGENT,
    ("POST", "/staff/api/messages/{message_id}/flag"): AGENT,
    ("POST", "/staff/api/me/availability"): AGENT,
    ("GET", "/staff/api/canned"): AGENT,
    ("POST", "/staff/api/canned"): AGENT,
    ("POST", "/staff/api/canned/{canned_id}"): AGENT,
    ("POST", "/staff/api/canned/{canned_id}/delete"): SUPERVISOR,
    ("GET", "/staff/api/events"): AGENT,
    ("GET", "/staff/media/{name}"): AGENT,
    ("GET", "/staff/admin/users"): ADMIN,
    ("POST", "/staff/admin/users"): ADMIN,
    ("POST", "/staff/admin/users/{user_id}/active"): ADMIN,
    ("POST", "/staff/admin/users/{user_id}/role"): ADMIN,
    ("POST", "/staff/admin/users/{user_id}/capacity"): ADMIN,
    ("POST", "/staff/admin/users/{user_id}/unlock"): ADMIN,
    ("GET", "/staff/admin/audit"): ADMIN,
    ("GET", "/staff/admin/review"): ADMIN,
    ("POST", "/staff/admin/review"): ADMIN,
    ("GET", "/staff/admin/review/{prediction_id}"): ADMIN,
    ("GET", "/staff/admin/models"): ADMIN,
    ("GET", "/staff/admin/models/job"): ADMIN,
    ("POST", "/staff/admin/models/train"): ADMIN,
    ("POST", "/staff/admin/models/job/{job_id}/cancel"): ADMIN,
    ("GET", "/staff/admin/models/{version}"): ADMIN,
    ("GET", "/staff/admin/models/{version}/confusion.png"): ADMIN,
    ("POST", "/staff/admin/models/{version}/evaluate"): ADMIN,
    ("POST", "/staff/admin/models/{version}/promote"): ADMIN,
    ("GET", "/staff/admin/links"): ADMIN,
    ("POST", "/staff/admin/links"): ADMIN,
    ("GET", "/staff/admin/links/{link_id}/poster"): ADMIN,
    ("GET", "/staff/admin/campaigns"): ADMIN,
    ("GET", "/staff/admin/campaigns/count"): ADMIN,
    ("POST", "/staff/admin/campaigns"): ADMIN,
    ("GET", "/staff/admin/campaigns/{campaign_id}"): ADMIN,
    ("GET", "/staff/admin/campaigns/{campaign_id}/progress"): ADMIN,
    ("GET", "/staff/admin/campaigns/{campaign_id}/image"): ADMIN,
    ("POST", "/staff/admin/campaigns/{campaign_id}/send"): ADMIN,
    ("POST", "/staff/admin/campaigns/{campaign_id}/pause"): ADMIN,
    ("POST", "/staff/admin/campaigns/{campaign_id}/resume"): ADMIN,
    ("POST", "/staff/admin/campaigns/{campaign_id}/cancel"): ADMIN,
    ("POST", "/staff/admin/campaigns/templates"): ADMIN,
}
# Path parameters as a caller would fill them; row ids name no row (an admitted call changes
# nothing: 404, 409 or 422), the largest id PostgreSQL's integer holds.
NO_ROW = "2147483647"
EXAMPLES = {"number": "LKS-000001", "kode": "PNT-00000-00000", "version": "v1",
            "name": "tidak-ada.png"}
# A stream that never ends by itself: the refusals are checked, not the admitted stream.
STREAMS = {("GET", "/staff/api/events")}
LOGIN = ("POST", "/staff/login")  # refuses a form without its own login-CSRF token (403)
HTML = {"accept": "text/html,application/xhtml+xml"}
JSON = {"accept": "application/json"}


def app_routes(app: object) -> set[tuple[str, str]]:
    """Every (method, path) the application answers; `*` for a mount."""
    found = set()
    for route in iter_route_contexts(app.routes):  # type: ignore[attr-defined]
        for method in route.methods or {"*"}:
            found.add((method, route.path))
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: EXAMPLES.get(m.group(1), NO_ROW), path)


@dataclass
class Caller:
    cookie: str
    csrf: str


@pytest.fixture
def gateway(make_gateway: Callable[..., Gateway]) -> Gateway:  # noqa: F811 - a fixture
    return make_gateway(run_model_jobs=False)


@pytest.fixture
def sign_in(gateway: Gateway) -> Callable[[str], Caller]:
    """`sign_in(role)`: a fresh session of an account with that role (made once per role)."""
    accounts: dict[str, int] = {}

    def open_session(role: str) -> Caller:
        with gateway.services.sessions.begin() as session:
            if role not in accounts:
                accounts[role] = auth.create_staff(session, f"uji-{role}", f"Uji {role}", role,
                                                   "kata-sandi-uji-2026").id
            user = session.get(StaffUser, accounts[role])
            token = auth.open_session(session, user)
            session.flush()
            signed_in = auth.resolve_session(session, token)
            assert signed_in is not None
            return Caller(token, signed_in.csrf_token)

    return open_session


def call(gateway: Gateway, method: str, path: str, caller: Caller | None = None,
         headers: dict[str, str] | None = None) -> httpx.Response:
    sent = {**(headers or JSON)}
    if caller:
        sent.update({"cookie": f"pintu_staff={caller.cookie}", "x-csrf-token": caller.csrf})
    gateway.http.cookies.clear()  # only the session given, never one a response set
    return gateway.http.request(method, concrete(path), headers=sent, follow_redirects=False)


def assert_headers(response: httpx.Response, what: str) -> None:
    headers = response.headers
    assert headers.get("x-frame-options") == "DENY", what
    assert headers.get("x-content-type-options") == "nosniff", what
    assert "frame-ancestors 'none'" in headers.get("content-security-policy", ""), what
    assert headers.get("referrer-policy") == "no-referrer", what
    assert "camera=()" in headers.get("permissions-policy", ""), what
    assert headers.get("cache-control") in ("no-store", "no-cache"), what


def test_every_route_is_classified(gateway: Gateway) -> None:
    routes = app_routes(gateway.server._server.config.app)
    assert sorted(routes - ACCESS.keys()) == [], "routes missing from ACCESS: classify them"
    assert sorted(ACCESS.keys() - routes) == [], "ACCESS names routes the app does not have"


def test_anonymous_callers_get_only_what_is_public(gateway: Gateway) -> None:
    for (method, path), access in sorted(ACCESS.items()):
        if method == "*":
            path, method = path + "/staff.css", "GET"
        what = f"{method} {path} ({access})"
        answer = call(gateway, method, path)
        assert_headers(answer, what)
        if access == PUBLIC:  # a code that was never issued is a 404 of its own
            refusals = (401,) if (method, path) == LOGIN else (401, 403)
            assert answer.status_code not in refusals, what
        elif access in (LOCAL, DOCS):
            assert answer.status_code not in (401, 403, 404), what
        elif access == INTERNAL:
            assert answer.status_code == 401, what
            wrong = call(gateway, method, path, headers={**JSON, "authorization": "Bearer x"})
            assert wrong.status_code == 401, what
        elif access == SIGNED:
            assert answer.status_code in (401, 403), what
        else:
            assert answer.status_code == 401, what
            if method == "GET":
                page = call(gateway, method, path, headers=HTML)
                assert page.status_code == 303, what
                assert page.headers["location"].startswith("/staff/login"), what


def test_staff_roles_are_enforced_route_by_route(gateway: Gateway,
                                                 sign_in: Callable[[str], Caller]) -> None:
    agent, supervisor = sign_in(AGENT), sign_in(SUPERVISOR)
    for (method, path), access in sorted(ACCESS.items()):
        if access not in STAFF:
            continue
        what = f"{method} {path} ({access})"
        lower = [agent] if access == SUPERVISOR else [agent, supervisor] if access == ADMIN \
            else []
        for caller in lower:
            refused = call(gateway, method, path, caller)
            assert refused.status_code == 403, what
            assert_headers(refused, what)
        if (method, path) in STREAMS:
            continue
        admitted = call(gateway, method, path, sign_in(access))  # a fresh session: logout too
        assert admitted.status_code not in (401, 403), f"{what}: {admitted.text[:200]}"
        assert_headers(admitted, what)


def test_the_internal_api_takes_the_right_token(gateway: Gateway) -> None:
    token = {**JSON, "authorization": f"Bearer {gateway.services.settings.internal_api_token}"}
    for (method, path), access in sorted(ACCESS.items()):
        if access == INTERNAL:
            answer = call(gateway, method, path, headers=token)
            assert answer.status_code not in (401, 403), f"{method} {path}"


@pytest.fixture
def production(pg_engine: Engine, redis_url: str) -> Iterator[TestClient]:  # noqa: F811
    settings = Settings(_env_file=None, pintu_env="production",
                        database_url=pg_engine.url.render_as_string(hide_password=False),
                        redis_url=redis_url, outbox_interval_s=3600, run_model_jobs=False,
                        internal_api_token="internal-token-for-route-tests",
                        verification_key="verification-key-for-route-tests",
                        agency_webhook_secrets={"laksa": "laksa-route-tests",
                                                "dukcapil": "dukcapil-route-tests"},
                        public_base_url="https://testserver", encryption_keys=FERNET_KEY,
                        lookup_key="lookup-key-for-route-tests-0123456789abcdef")
    with TestClient(create_app(services=build_services(settings)),
                    base_url="https://testserver") as client:
        yield client


def test_production_closes_the_local_channel_and_the_docs_and_sends_hsts(
        production: TestClient) -> None:
    for path in ("/openapi.json", "/docs", "/redoc"):
        assert production.get(path).status_code == 404, path
    assert production.post("/api/chat", json={"sender": "a", "text": "halo"}).status_code == 404
    assert production.get("/api/chat/messages", params={"sender": "a"}).status_code == 404
    for path in ("/healthz", "/verifikasi", "/staff/login", "/tidak-ada"):
        answer = production.get(path)
        assert answer.headers["strict-transport-security"].startswith("max-age="), path
        assert_headers(answer, path)


def test_the_event_stream_ends_with_its_session(gateway: Gateway, sign_in: Callable[[str], Caller],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An inbox left open does not outlive its session (signed out elsewhere, deactivated,
    expired or idle): the stream checks at every keep-alive and ends."""
    from bot.staff import inbox_pages

    monkeypatch.setattr(inbox_pages, "KEEPALIVE_S", 0.3)
    agent = sign_in(AGENT)
    headers = {"cookie": f"pintu_staff={agent.cookie}", "accept": "text/event-stream"}
    with httpx.Client(base_url=gateway.url, timeout=httpx.Timeout(5.0)) as http, \
            http.stream("GET", "/staff/api/events", headers=headers) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines()
        assert next(lines) == "event: hello"
        started = time.monotonic()
        while time.monotonic() - started < 1.0:  # alive: keep-alives, no end
            next(lines)
        with gateway.services.sessions.begin() as session:
            auth.close_session(session, agent.cookie)
        ended = time.monotonic()
        rest = list(lines)  # the server closes the stream: iteration stops
        assert time.monotonic() - ended < 3.0, rest
