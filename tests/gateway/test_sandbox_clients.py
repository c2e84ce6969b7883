"""The real agency clients against the sandbox in-process: the two sides of each contract agree,
and the clients ride out the sandbox's injected faults."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date

import httpx
import pytest
import pytest_asyncio

from integrations.agency import (
    AgencyClients,
    AgencyNotFound,
    AgencyRejected,
    AgencyUnavailable,
    CircuitOpen,
    IdentityNotVerified,
    RetryPolicy,
)
from sandbox.testing import SettableClock, sandbox_app

SLEEPS: list[float] = []


async def no_sleep(seconds: float) -> None:
    SLEEPS.append(seconds)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def sandbox(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    app = sandbox_app(tmp_path_factory.mktemp("clients"), SettableClock())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://sandbox") as client:
        yield client
    app.state.engine.dispose()


@pytest_asyncio.fixture(loop_scope="module")
async def clients(sandbox: httpx.AsyncClient) -> AsyncIterator[AgencyClients]:
    SLEEPS.clear()
    yield AgencyClients.from_client(sandbox, retry=RetryPolicy(attempts=3), failure_threshold=3,
                                    sleep=no_sleep)
    await sandbox.post("/_sandbox/faults", json={"mode": "none"})


pytestmark = pytest.mark.asyncio(loop_scope="module")


async def test_dukcapil_contract(clients: AgencyClients) -> None:
    dukcapil = clients.dukcapil
    verified = await dukcapil.verify_identity("3671051207800002", "3671051403150007")
    assert verified.verified and verified.resident_ref.startswith("RES-")
    status = await dukcapil.ktp_status("3671015503920008", "3671010306180003")
    assert (status.status, status.office) == ("siap_diambil", "Kantor Kecamatan Tangerang")
    assert isinstance(status.ready_since, date)
    members = await dukcapil.kk_members("3671051207800002", "3671051403150007")
    assert [m.relation for m in members][:2] == ["KEPALA KELUARGA", "ISTRI"]
    with pytest.raises(IdentityNotVerified):
        await dukcapil.kk_members("3671051207800002", "3671072208120004")
    receipt = await dukcapil.submit_birth_registration(
        child_name="Kirana Wijaya", birth_date=date(2026, 12, 1), birth_place="RSUD Kota Tangerang",
        father_nik="3671051207800002", mother_nik="3671056502830005",
        documents=[{"kind": "lampiran", "ref": "media/1.jpg"}], external_ref="PINTU-T-1")
    again = await dukcapil.submit_birth_registration(
        child_name="Kirana Wijaya", birth_date="2026-12-01", birth_place="RSUD Kota Tangerang",
        father_nik="3671051207800002", mother_nik="3671056502830005",
        documents=[{"kind": "lampiran", "ref": "media/1.jpg"}], external_ref="PINTU-T-1")
    assert receipt.created and not again.created
    assert again.registration_number == receipt.registration_number
    registration = await dukcapil.birth_registration(receipt.registration_number.lower(),
                                                     "3671056502830005")
    assert registration.status == "diajukan" and registration.history[0].at is not None
    with pytest.raises(IdentityNotVerified):  # a NIK that is no parent's in it
        await dukcapil.birth_registration(receipt.registration_number, "3671014507890002")
    with pytest.raises(AgencyRejected) as info:
        await dukcapil.submit_birth_registration(
            child_name="Kirana", birth_date="2026-12-01", birth_place="Rumah",
            father_nik="3671056502830005", mother_nik="3671056502830005",
            documents=[{"kind": "kk", "ref": "r"}])
    assert info.value.code == "invalid_father_nik" and "ayah" in info.value.public_message


async def test_laksa_contract(clients: AgencyClients) -> None:
    laksa = clients.laksa
    args = dict(external_ref="LKS-800001", category="banjir",
                description="Saluran tersumbat, air menggenang", reporter_ref="r-77aa",
                kecamatan="Periuk", kelurahan="Gebang Raya", latitude=-6.17, longitude=106.59,
                photo_refs=["media/9.jpg"])
    first = await laksa.submit_complaint(**args)  # type: ignore[arg-type]
    second = await laksa.submit_complaint(**args)  # type: ignore[arg-type]
    assert first.created and not second.created and first.agency_ref == second.agency_ref
    assert first.expected_response_days == 1
    complaint = await laksa.complaint("LKS-800001")
    assert complaint.agency_ref == first.agency_ref and complaint.respond_by is not None
    assert [e.status for e in complaint.history] == ["diterima", "diteruskan"]
    assert any(c.code == "lainnya" for c in await laksa.categories())
    with pytest.raises(AgencyNotFound):
        await laksa.complaint("LKS-000000")


async def test_queue_contract(clients: AgencyClients) -> None:
    queue = clients.queue
    assert any(s.code == "ktp_el" for s in await queue.services())
    assert [o.code for o in await queue.offices(service="perizinan")] == ["mpp"]
    days = await queue.slots("kk", "kec_larangan")
    assert len(days) == 15 and any(not d.open for d in days)
    booking = await queue.book(service="kk", office="kec_larangan", day=date(2026, 12, 17),
                               holder_ref="h-client")
    assert booking.created and booking.queue_number.startswith("B-")
    assert booking.window_start is not None and booking.date == date(2026, 12, 17)
    assert (await queue.booking(booking.booking_number)).status == "aktif"
    cancelled = await queue.cancel(booking.booking_number)
    assert cancelled.status == "dibatalkan" and len(cancelled.history) == 2
    with pytest.raises(AgencyRejected) as info:
        await queue.book(service="kk", office="kec_larangan", day="2026-12-20", holder_ref="h-c")
    assert info.value.code == "closed_sunday"


async def test_health_and_tax_contract(clients: AgencyClients) -> None:
    hospitals = await clients.health.free_beds(kecamatan="Larangan")
    assert hospitals and all((h.distance_km or 0) <= 6 for h in hospitals)
    assert all(b.label for h in hospitals for b in h.beds)
    with pytest.raises(AgencyRejected):
        await clients.health.free_beds(kecamatan="Depok")
    bill = await clients.tax.pbb_bill("36.71.010.001.002-0034.0")
    assert bill.nop_formatted == "36.71.010.001.002-0034.0" and bill.total_due > 0
    assert [y.year for y in bill.years if not y.paid] == [2025, 2026]
    water = await clients.tax.pdam_bill("0705004321")
    assert water.total_due == 0 and len(water.bills) == 3


async def test_clients_retry_through_injected_faults(clients: AgencyClients,
                                                     sandbox: httpx.AsyncClient) -> None:
    await sandbox.post("/_sandbox/faults", json={
        "mode": "error", "status": 503, "retry_after_s": 1, "paths_prefix": "/queue", "count": 2})
    assert await clients.queue.services()
    assert SLEEPS == [1.0, 1.0]  # Retry-After honoured


async def test_breaker_opens_on_a_failing_agency_and_spares_the_others(
        clients: AgencyClients, sandbox: httpx.AsyncClient) -> None:
    await sandbox.post("/_sandbox/faults", json={"mode": "error", "status": 500,
                                                 "paths_prefix": "/health"})
    with pytest.raises(AgencyUnavailable):
        await clients.health.free_beds()
    with pytest.raises(CircuitOpen):
        await clients.health.free_beds()
    injected = (await sandbox.get("/_sandbox/faults")).json()["injected"]
    assert injected == 3  # three attempts, then nothing more reached the sandbox
    assert (await clients.tax.pdam_bill("0105001234")).customer_no == "0105001234"
