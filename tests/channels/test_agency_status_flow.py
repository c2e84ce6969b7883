"""The agency sandbox as the agency: a complaint filed through the gateway's internal API goes to
LAKSA, an officer moves it on in the sandbox, the sandbox sends its signed status webhook, and the
resident hears of it on Telegram (real gateway on PostgreSQL and Redis, fake Bot API)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from sandbox.app import create_app
from sandbox.settings import SandboxSettings
from tests.fakes.server import ThreadedServer

from .conftest import Gateway, text_update, wait_for
from .test_handoff_flow import INTERNAL

pytestmark = pytest.mark.integration

CHAT = "5123456789"


class Sandbox:
    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.servers: list[ThreadedServer] = []
        self.clients: list[httpx.Client] = []
        self.apps: list[Any] = []

    def start(self, webhook_url: str, secrets: dict[str, str] | None = None) -> httpx.Client:
        settings = SandboxSettings(database_url=f"sqlite:///{self.tmp / 'sandbox.db'}",
                                   webhook_url=webhook_url, webhook_interval_s=3600,
                                   **({"webhook_secrets": secrets} if secrets else {}))
        self.apps.append(create_app(settings))
        server = ThreadedServer(self.apps[-1], lifespan=True).start()
        self.servers.append(server)
        self.clients.append(httpx.Client(base_url=server.url, timeout=10))
        return self.clients[-1]


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    running = Sandbox(tmp_path)
    yield running
    for client in running.clients:
        client.close()
    for server in running.servers:
        server.stop()


def file_complaint(gw: Gateway) -> dict[str, Any]:
    answer = gw.http.post("/internal/v1/complaints", headers=INTERNAL, json={
        "sender_id": f"telegram:{CHAT}", "category": "jalan_rusak",
        "agency": "Dinas Pekerjaan Umum dan Penataan Ruang", "expected_response_days": 3,
        "description": "Jalan berlubang besar di depan pasar"})
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_an_officer_closing_a_complaint_in_laksa_reaches_the_resident(
        make_gateway: Any, sandbox: Sandbox) -> None:
    # Each needs the other's address: the gateway's agency client is pointed at the sandbox
    # once both run (httpx's settable base_url).
    gw: Gateway = make_gateway()
    agency = sandbox.start(f"{gw.url}/webhooks/agency/status")
    gw.services.agency.http.base_url = agency.base_url
    gw.telegram_update(text_update("MULAI", 83001))
    wait_for(lambda: gw.telegram.calls("sendMessage"), what="MULAI's answer")
    receipt = file_complaint(gw)
    assert receipt["forwarded"] is True and receipt["updates"] is True
    ticket = receipt["ticket_id"]
    moved = agency.post(f"/_sandbox/complaints/{ticket}/status",
                        json={"status": "selesai", "note": "Jalan sudah diaspal ulang."})
    assert moved.status_code == 200, moved.text
    assert agency.post("/_sandbox/webhooks/deliver").json() == {"delivered": 1}
    wait_for(lambda: len(gw.telegram.calls("sendMessage")) == 2, what="the update")
    update = str(gw.telegram.calls("sendMessage")[1].params["text"])
    assert update.startswith(f"Kabar laporan {ticket}: Selesai ditangani.")
    assert "Jalan sudah diaspal ulang." in update
    delivered = agency.get("/_sandbox/webhooks").json()
    assert [(d["ref"], d["status"], d["attempts"]) for d in delivered] == [
        (ticket, "selesai", 1)]
    assert delivered[0]["delivered_at"] is not None
    assert agency.post("/_sandbox/webhooks/deliver").json() == {"delivered": 0}  # nothing due


def test_a_wrong_secret_is_kept_as_failed_and_an_absent_gateway_is_retried(
        make_gateway: Any, sandbox: Sandbox) -> None:
    gw: Gateway = make_gateway()
    wrong = sandbox.start(f"{gw.url}/webhooks/agency/status",
                          secrets={"laksa": "not-the-secret", "dukcapil": "nor-this"})
    complaint = wrong.post("/laksa/v1/complaints", json={
        "external_ref": "LKS-222222", "category": "sampah", "description": "Sampah menumpuk",
        "reporter_ref": "opaque-reporter-1"})
    assert complaint.status_code == 201, complaint.text
    wrong.post("/_sandbox/complaints/LKS-222222/status", json={"status": "diproses",
                                                               "note": "Dijadwalkan."})
    assert wrong.post("/_sandbox/webhooks/deliver").json() == {"delivered": 0}
    failed = wrong.get("/_sandbox/webhooks").json()[0]
    assert failed["failed_at"] is not None and failed["last_error"] == "HTTP 401"
    assert gw.rows("SELECT count(*) FROM agency_events") == [(0,)]
    away = sandbox.start("http://127.0.0.1:9/webhooks/agency/status")  # nobody listens
    away.post("/_sandbox/complaints/LKS-222222/status", json={"status": "selesai",
                                                              "note": "Sudah diangkut."})
    assert away.post("/_sandbox/webhooks/deliver").json() == {"delivered": 0}
    pending = away.get("/_sandbox/webhooks").json()[0]
    assert pending["attempts"] == 1 and pending["failed_at"] is None
    assert pending["delivered_at"] is None and pending["last_error"] == "ConnectError"


def test_a_ktp_ready_for_collection_queues_an_event_with_the_place_and_initials_only(
        sandbox: Sandbox) -> None:
    agency = sandbox.start("http://127.0.0.1:9/webhooks/agency/status")
    status = agency.post("/dukcapil/v1/ktp/status", json={
        "nik": "3671070411880021", "kk_number": "3671071705190012"}).json()
    assert status["status"] == "dicetak" and status["resident_ref"]
    moved = agency.post(f"/_sandbox/ktp/{status['resident_ref']}/status",
                        json={"status": "siap_diambil", "office": "Kantor Kecamatan Cibodas"})
    assert moved.json() == {"ref": status["resident_ref"], "status": "siap_diambil"}
    queued = agency.get("/_sandbox/webhooks").json()[0]
    assert (queued["kind"], queued["ref"], queued["status"]) == (
        "ktp", status["resident_ref"], "siap_diambil")
    with sandbox.apps[0].state.sessions() as session:  # what the body carries
        from sandbox.models import WebhookDelivery

        body = session.query(WebhookDelivery).one().body
    assert body["document"] == {"label": "KTP-el", "holder_initials": "A. S.",
                                "office": "Kantor Kecamatan Cibodas"}
    assert "3671070411880021" not in str(body) and "Agus" not in str(body)
    assert agency.post("/_sandbox/ktp/nobody/status",
                       json={"status": "siap_diambil"}).status_code == 404
