"""Complaint tickets on real PostgreSQL: a number at once, forwarded now or later, never twice."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from bot.db import make_sessionmaker, utcnow
from bot.models import Ticket
from bot.tickets import FORWARDED, PENDING, TicketService
from integrations.agency import AgencyClients, RetryPolicy

COMPLAINT = {"category": "jalan_rusak", "agency": "DPUPR", "expected_response_days": 3,
             "description": "jalan berlubang di depan sekolah", "kecamatan": "Cipondoh",
             "kelurahan": "Poris Plawad", "latitude": None, "longitude": None, "photo_refs": []}


class FakeLaksa:
    """LAKSA's wire format, idempotent on external_ref like the real contract; can be down."""

    def __init__(self) -> None:
        self.down = False
        self.filed: dict[str, dict] = {}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            return httpx.Response(503, json={"error": {"code": "unavailable", "message": "down"}})
        if request.method == "POST":
            body = json.loads(request.content)
            ref = body["external_ref"]
            created = ref not in self.filed
            self.filed.setdefault(ref, body)
            return httpx.Response(201 if created else 200, json={
                "agency_ref": f"TLR-{len(self.filed):05d}", "external_ref": ref,
                "assigned_agency": "Dinas PUPR", "expected_response_days": 2,
                "status": "diterima", "status_label": "Diterima", "created": created})
        return httpx.Response(200, json={
            "agency_ref": "TLR-00001", "external_ref": "x", "category": "jalan_rusak",
            "category_label": "Jalan rusak", "assigned_agency": "Dinas PUPR",
            "expected_response_days": 2, "status": "diproses", "status_label": "Diproses",
            "history": [{"status": "diproses", "status_label": "Diproses",
                         "at": (utcnow() + timedelta(hours=2)).isoformat(),
                         "note": "Tim survei dijadwalkan"}]})


@pytest.fixture
def laksa() -> FakeLaksa:
    return FakeLaksa()


@pytest.fixture
def service(pg_engine, laksa: FakeLaksa) -> TicketService:
    async def no_sleep(_s: float) -> None:
        return None

    client = httpx.AsyncClient(base_url="http://agency.test",
                               transport=httpx.MockTransport(laksa.handle))
    clients = AgencyClients.from_client(client, retry=RetryPolicy(attempts=1), sleep=no_sleep,
                                        failure_threshold=100)
    return TicketService(make_sessionmaker(pg_engine), clients.laksa)


@pytest.mark.integration
async def test_complaint_is_numbered_stored_and_forwarded(service: TicketService,
                                                          laksa: FakeLaksa, pg_engine) -> None:
    filed = await service.file_complaint("api:warga", COMPLAINT)
    assert filed.forwarded
    assert filed.ticket.number.startswith("LKS-") and len(filed.ticket.number) == 10
    assert filed.ticket.agency == "Dinas PUPR"  # LAKSA's routing wins
    body = laksa.filed[filed.ticket.number]
    assert body["reporter_ref"] != "api:warga"  # an opaque reference, not the chat id


@pytest.mark.integration
async def test_laksa_down_keeps_the_ticket_and_forwards_it_later(service: TicketService,
                                                                 laksa: FakeLaksa,
                                                                 pg_engine) -> None:
    laksa.down = True
    filed = await service.file_complaint("api:warga", COMPLAINT)
    assert not filed.forwarded and filed.ticket.status == PENDING
    assert await service.forward_due() == 0  # not due yet: backoff
    assert await service.forward_due(now=utcnow() + timedelta(minutes=1)) == 0  # still down
    laksa.down = False
    assert await service.forward_due(now=utcnow() + timedelta(hours=1)) == 1
    with make_sessionmaker(pg_engine)() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.number == filed.ticket.number))
        assert ticket.status == FORWARDED and ticket.submit_attempts == 2
    assert len(laksa.filed) == 1
    status = await service.status(filed.ticket.number.lower())
    assert status is not None
    notes = [h["note"] for h in status["history"]]
    assert notes[0] == "Diterima Pintu" and "Tim survei dijadwalkan" in notes
    assert status["status"] == "diproses"


@pytest.mark.integration
async def test_unknown_ticket_has_no_status(service: TicketService) -> None:
    assert await service.status("LKS-000000") is None
