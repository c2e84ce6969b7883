"""Security headers on every kind of answer of the gateway (the route-by-route sweep is in
test_route_access.py): pages, JSON, text, errors, and a request that fails unhandled."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from fastapi.responses import Response
from fastapi.testclient import TestClient

from bot.api import headers, verification

API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


def test_the_verification_page_allows_its_own_stylesheet_and_nothing_else() -> None:
    csp = verification.CSP
    assert "'unsafe-inline'" not in csp and "script-src" not in csp
    assert csp.startswith("default-src 'none'; style-src 'sha256-")
    assert "frame-ancestors 'none'" in csp


def test_policies_by_path() -> None:
    assert headers.policy_for("/staff/inbox") == headers.STAFF_CSP
    assert headers.policy_for("/staff") == headers.STAFF_CSP
    assert headers.policy_for("/staffing") == API_CSP
    assert headers.policy_for("/api/chat") == API_CSP
    assert headers.policy_for("/docs") == headers.DOCS_CSP


@pytest.mark.parametrize("production", [False, True])
def test_an_unhandled_error_still_carries_the_headers(production: bool) -> None:
    app = FastAPI()

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("kaboom")

    @app.get("/own")
    async def own() -> dict[str, str]:
        return {}

    headers.install(app, production=production)
    client = TestClient(app, raise_server_exceptions=False)
    failed = client.get("/boom")
    assert failed.status_code == 500 and failed.text == "Internal Server Error"
    for answer in (failed, client.get("/own"), client.get("/missing")):
        assert answer.headers["content-security-policy"] == API_CSP
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["cache-control"] == "no-store"
        assert ("strict-transport-security" in answer.headers) is production


def test_a_header_the_route_set_is_kept() -> None:
    app = FastAPI()

    @app.get("/cached")
    async def cached() -> Response:
        return Response("x", headers={"cache-control": "max-age=60"})

    headers.install(app, production=False)
    assert TestClient(app).get("/cached").headers["cache-control"] == "max-age=60"
