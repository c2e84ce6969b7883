"""The identity-check burst alarm at the gateway (real PostgreSQL and Redis): the action server's
report becomes an audit entry admins see and a signal on /metrics, with counts only."""

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
ALARM = {"failures": 31, "window_s": 300, "threshold": 30}


def metric(text: str, name: str) -> float:
    found = re.search(rf"^{name} (\S+)$", text, re.M)
    assert found, name
    return float(found.group(1))


def test_an_alarm_is_audited_and_shown_on_metrics(client: TestClient, db: Session,  # noqa: F811
                                                  staff: dict[str, int]) -> None:  # noqa: F811
    before = client.get("/metrics").text
    assert metric(before, "pintu_identity_burst_alarm") == 0
    assert metric(before, "pintu_identity_burst_alarms") == 0
    assert client.post("/internal/v1/identity-alarms", json=ALARM).status_code == 401
    answer = client.post("/internal/v1/identity-alarms", headers=INTERNAL, json=ALARM)
    assert answer.status_code == 200, answer.text
    after = client.get("/metrics").text
    assert metric(after, "pintu_identity_burst_alarm") == 1
    assert metric(after, "pintu_identity_burst_alarms") == 1
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "identity_burst_alarm")).one()
    assert entry.staff_id is None and entry.detail == ALARM
    sign_in(client, "sari")
    page = client.get("/staff/admin/audit", params={"action": "identity_burst_alarm"},
                      headers=HTML)
    assert page.status_code == 200 and "identity_burst_alarm" in page.text


def test_an_alarm_carries_counts_only(client: TestClient) -> None:  # noqa: F811
    for body in ({**ALARM, "nik": "3671014507890002"}, {**ALARM, "failures": 0},
                 {"failures": "banyak", "window_s": 300, "threshold": 30}):
        answer = client.post("/internal/v1/identity-alarms", headers=INTERNAL, json=body)
        assert answer.status_code == 422, body
        assert "3671014507890002" not in answer.text
    assert metric(client.get("/metrics").text, "pintu_identity_burst_alarms") == 0
