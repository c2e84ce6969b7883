"""The staff inbox's JSON API over HTTP (real PostgreSQL and Redis): who may do what, CSRF on
every change, and refusals in Indonesian."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import AuditEntry

from .test_staff_web import (  # noqa: F401 - fixtures
    HTML,
    client,
    db,
    make_client,
    sign_in,
    staff,
)

pytestmark = pytest.mark.integration

INTERNAL = {"Authorization": "Bearer internal-token-for-staff-web-tests"}


def inbox_csrf(client: TestClient) -> str:  # noqa: F811
    page = client.get("/staff/inbox", headers=HTML)
    assert page.status_code == 200, page.text
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found
    return found.group(1)


def open_handoff(client: TestClient, sender: str = "api:warga-1") -> int:  # noqa: F811
    response = client.post("/internal/v1/handoffs", headers=INTERNAL,
                           json={"sender_id": sender, "reason": "permintaan_warga"})
    assert response.status_code == 200, response.text
    return int(response.json()["id"])


def test_the_api_needs_a_session(client: TestClient) -> None:  # noqa: F811
    assert client.get("/staff/api/queue").status_code == 401
    assert client.get("/staff/api/events").status_code == 401
    assert client.get("/staff/inbox", headers=HTML, follow_redirects=False).headers[
        "location"].startswith("/staff/login")


def test_every_change_needs_the_csrf_token(client: TestClient, staff: dict[str, int]) -> None:  # noqa: F811
    handoff_id = open_handoff(client)
    sign_in(client, "budi")
    token = inbox_csrf(client)
    path = f"/staff/api/handoffs/{handoff_id}/take"
    assert client.post(path, json={}).status_code == 403
    assert client.post(path, json={}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    assert client.post(path, json={}, headers={"X-CSRF-Token": token}).status_code == 200


def test_agents_cannot_assign_nor_delete_canned_replies_and_are_told_why(
        client: TestClient, staff: dict[str, int]) -> None:  # noqa: F811
    handoff_id = open_handoff(client)
    sign_in(client, "budi")
    headers = {"X-CSRF-Token": inbox_csrf(client)}
    refused = client.post(f"/staff/api/handoffs/{handoff_id}/assign",
                          json={"staff_id": staff["eko"]}, headers=headers)
    assert refused.status_code == 403 and "supervisor" in refused.json()["detail"]
    canned = client.get("/staff/api/canned").json()
    assert any(c["title"] == "Salam pembuka" for c in canned)  # seeded in Indonesian
    assert client.post(f"/staff/api/canned/{canned[0]['id']}/delete",
                       headers=headers).status_code == 403


def test_a_supervisor_assigns_and_an_agent_cannot_read_a_colleagues_chat(
        make_client: object, staff: dict[str, int], db: Session) -> None:  # noqa: F811
    supervisor: TestClient = make_client()  # type: ignore[operator]
    agent: TestClient = make_client()  # type: ignore[operator]
    handoff_id = open_handoff(supervisor)
    sign_in(supervisor, "eko")
    assigned = supervisor.post(f"/staff/api/handoffs/{handoff_id}/assign",
                               json={"staff_id": staff["sari"]},
                               headers={"X-CSRF-Token": inbox_csrf(supervisor)})
    assert assigned.status_code == 200
    sign_in(agent, "budi")
    view = agent.get(f"/staff/api/handoffs/{handoff_id}")
    assert view.status_code == 409 and "petugas lain" in view.json()["detail"]
    queue = agent.get("/staff/api/queue").json()
    assert queue["others"] == [] and queue["agents"] == []  # agents see only their own
    assert supervisor.get("/staff/api/queue").json()["others"][0]["id"] == handoff_id
    actions = list(db.scalars(select(AuditEntry.action)))
    assert "assign_handoff" in actions


def test_revealing_needs_a_reason(client: TestClient, staff: dict[str, int]) -> None:  # noqa: F811
    handoff_id = open_handoff(client, "api:warga-2")
    sign_in(client, "budi")
    headers = {"X-CSRF-Token": inbox_csrf(client)}
    client.post(f"/staff/api/handoffs/{handoff_id}/take", headers=headers)
    client.post("/api/chat", json={"sender": "warga-2", "text": "NIK 3671051207800002"})
    messages = client.get(f"/staff/api/handoffs/{handoff_id}").json()["messages"]
    masked = next(m for m in messages if m["masked"])
    assert "3671051207800002" not in masked["text"]
    short = client.post(f"/staff/api/messages/{masked['id']}/reveal", json={"reason": "cek"},
                        headers=headers)
    assert short.status_code == 409 and "alasan" in short.json()["detail"].lower()
    shown = client.post(f"/staff/api/messages/{masked['id']}/reveal",
                        json={"reason": "verifikasi data warga"}, headers=headers)
    assert shown.json()["text"] == "NIK 3671051207800002"
