"""The agency sandbox in-process (httpx ASGITransport, SQLite in a temp dir): seeding, privacy of
identity checks, idempotency, queue rules and fault injection."""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from fastapi import FastAPI
from sqlalchemy import select

from sandbox.catalog import KTP_STATUSES
from sandbox.clock import WIB
from sandbox.models import Booking, Family, Resident
from sandbox.seed import seed_database
from sandbox.testing import TUESDAY_MORNING, SettableClock, sandbox_app

HENDRA = {"nik": "3671051207800002", "kk_number": "3671051403150007"}
OPENAPI = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "agency-sandbox.json"


@pytest.fixture(scope="module")
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, clock: SettableClock) -> Iterator[FastAPI]:
    app = sandbox_app(tmp_path_factory.mktemp("sandbox"), clock)
    yield app
    app.state.engine.dispose()


@pytest_asyncio.fixture
async def api(app: FastAPI, clock: SettableClock) -> AsyncIterator[httpx.AsyncClient]:
    clock.now = TUESDAY_MORNING
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as client:
        yield client
        await client.post("/_sandbox/faults", json={"mode": "none"})


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"} and {"code", "message"} <= set(body["error"])
    return str(body["error"]["code"])


# ------------------------------------------------------------------ seeding
def valid_nik(nik: str, resident: Resident, kecamatan_codes: set[str]) -> bool:
    if not re.fullmatch(r"3671(0[1-9]|1[0-3])\d{10}", nik) or nik[12:] == "0000":
        return False
    day, month, year2 = int(nik[6:8]), int(nik[8:10]), int(nik[10:12])
    female = day > 40
    born = resident.birth_date
    real_day = day - 40 if female else day
    return (nik[4:6] in kecamatan_codes and female == (resident.gender == "P")
            and (real_day, month, year2) == (born.day, born.month, born.year % 100))


def test_seed_has_over_a_thousand_residents_with_valid_niks_and_families(app: FastAPI) -> None:
    with app.state.sessions() as session:
        residents = session.scalars(select(Resident)).all()
        families = session.scalars(select(Family)).all()
        codes = {f"{i:02d}" for i in range(1, 14)}
        assert len(residents) >= 1000
        assert len({r.nik for r in residents}) == len(residents)
        bad = [r.nik for r in residents if not valid_nik(r.nik, r, codes)]
        assert bad == []
        for family in families:
            assert re.fullmatch(r"3671(0[1-9]|1[0-3])\d{10}", family.kk_number)
            assert 1 <= len(family.members) <= 6
            assert [m.relation for m in family.members].count("KEPALA KELUARGA") == 1
        states = Counter(r.ktp_status for r in residents)
        assert set(states) == set(KTP_STATUSES)
        assert all(r.ktp_office and r.ktp_ready_since for r in residents
                   if r.ktp_status == "siap_diambil")


def test_seed_is_deterministic_whatever_the_day() -> None:
    from sandbox.db import Base, make_engine, make_sessionmaker

    def people(now: datetime) -> list[tuple[str, ...]]:
        engine = make_engine("sqlite://")
        Base.metadata.create_all(engine)
        with make_sessionmaker(engine).begin() as session:
            seed_database(session, seed=7, residents=1000, now=now)
            rows = session.execute(select(Resident.nik, Family.kk_number, Resident.full_name,
                                          Resident.ktp_status).join(Family)
                                   .order_by(Resident.nik)).all()
        engine.dispose()
        return [tuple(r) for r in rows]

    first = people(datetime(2026, 3, 2, 8, tzinfo=WIB))
    assert first == people(datetime(2027, 8, 9, 16, tzinfo=WIB))
    assert len(first) >= 1000


# ------------------------------------------------------------------ Dukcapil
@pytest.mark.asyncio
async def test_verify_answers_the_same_for_unknown_nik_and_wrong_kk(api: httpx.AsyncClient) -> None:
    ok = await api.post("/dukcapil/v1/identity/verify", json=HENDRA)
    assert ok.status_code == 200 and ok.json()["verified"] is True
    assert ok.json()["resident_ref"].startswith("RES-") and HENDRA["nik"] not in ok.text
    wrong = [
        {"nik": "3671051207800099", "kk_number": HENDRA["kk_number"]},  # unknown NIK
        {"nik": HENDRA["nik"], "kk_number": "3671051403150008"},  # unknown KK
        {"nik": HENDRA["nik"], "kk_number": "3671072208120004"},  # another family's KK
    ]
    for path in ("/dukcapil/v1/identity/verify", "/dukcapil/v1/ktp/status",
                 "/dukcapil/v1/kk/members"):
        answers = [await api.post(path, json=body) for body in wrong]
        assert {(a.status_code, a.content) for a in answers} == {(answers[0].status_code,
                                                                  answers[0].content)}
        assert answers[0].status_code == 404 and error_code(answers[0]) == "identity_not_verified"


@pytest.mark.asyncio
async def test_malformed_identity_names_the_field_without_echoing_it(
        api: httpx.AsyncClient) -> None:
    response = await api.post("/dukcapil/v1/ktp/status",
                              json={"nik": "36710512078000", "kk_number": HENDRA["kk_number"]})
    assert response.status_code == 422 and error_code(response) == "invalid_request"
    assert response.json()["error"]["fields"] == ["nik"]
    assert "36710512078000" not in response.text and HENDRA["kk_number"] not in response.text


@pytest.mark.asyncio
async def test_ktp_status_and_kk_members_show_initials_only(api: httpx.AsyncClient) -> None:
    status = await api.post("/dukcapil/v1/ktp/status", json={
        "nik": "3671015503920008", "kk_number": "3671010306180003"})
    assert status.json()["status"] == "siap_diambil"
    assert status.json()["office"] == "Kantor Kecamatan Tangerang"
    assert date.fromisoformat(status.json()["ready_since"]) < TUESDAY_MORNING.date()
    members = await api.post("/dukcapil/v1/kk/members", json=HENDRA)
    assert [(m["initials"], m["relation"]) for m in members.json()["members"]] == [
        ("H. W.", "KEPALA KELUARGA"), ("R. S.", "ISTRI"), ("F. W.", "ANAK"), ("A. R.", "ANAK"),
        ("B. S.", "ANAK"), ("S.", "MERTUA")]
    assert "Hendra" not in members.text and "Wijaya" not in members.text


@pytest.mark.asyncio
async def test_birth_registration_is_numbered_and_tracked(api: httpx.AsyncClient) -> None:
    body: dict[str, Any] = {
        "child_name": "Kirana Wijaya", "birth_date": "2026-12-01",
        "birth_place": "RSUD Kota Tangerang", "father_nik": "3671051207800002",
        "mother_nik": "3671056502830005", "documents": [{"kind": "kk", "ref": "up/1.jpg"}]}
    created = await api.post("/dukcapil/v1/birth-registrations", json=body)
    assert created.status_code == 201
    number = created.json()["registration_number"]
    assert re.fullmatch(r"AKL-\d{6}", number) and created.json()["status"] == "diajukan"
    for parent in (body["father_nik"], body["mother_nik"]):
        found = (await api.post("/dukcapil/v1/birth-registrations/status", json={
            "registration_number": number.lower(), "nik": parent})).json()
    assert found["child_initials"] == "K. W." and [h["status"] for h in found["history"]] == [
        "diajukan"]
    assert "Kirana" not in json.dumps(found)
    for change, code in ((dict(father_nik="3671056502830005"), "invalid_father_nik"),
                         (dict(mother_nik="3671051207800002"), "invalid_mother_nik"),
                         (dict(birth_date="2026-12-16"), "birth_date_in_future"),
                         (dict(documents=[]), "invalid_request")):
        refused = await api.post("/dukcapil/v1/birth-registrations", json={**body, **change})
        assert refused.status_code == 422 and error_code(refused) == code
    keyed = {**body, "external_ref": "PINTU-AKL-1"}
    first = await api.post("/dukcapil/v1/birth-registrations", json=keyed)
    again = await api.post("/dukcapil/v1/birth-registrations", json=keyed)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["registration_number"] == again.json()["registration_number"]
    assert (await api.get(f"/dukcapil/v1/birth-registrations/{number}")).status_code == 404


@pytest.mark.asyncio
async def test_birth_status_needs_a_parent_nik_and_says_nothing_else(
        api: httpx.AsyncClient) -> None:
    """An unknown number, a NIK that is nobody's parent there and another registration's parent
    all get the same answer, byte for byte; nothing is told from the number alone."""
    status = "/dukcapil/v1/birth-registrations/status"
    ok = await api.post(status, json={"registration_number": "AKL-100002",
                                      "nik": "3671015503920008"})
    assert ok.status_code == 200 and ok.json()["status"] == "perlu_perbaikan"
    misses = [await api.post(status, json={"registration_number": number, "nik": nik})
              for number, nik in (("AKL-000000", "3671015503920008"),   # unknown number
                                  ("AKL-100002", "3671051207800099"),   # unknown NIK
                                  ("AKL-100002", "3671070411880021"))]  # AKL-100001's father
    assert {(m.status_code, m.content) for m in misses} == {(404, misses[0].content)}
    assert error_code(misses[0]) == "identity_not_verified"
    assert "100002" not in misses[0].text and "Naura" not in ok.text
    malformed = await api.post(status, json={"registration_number": "AKL-1", "nik": "123"})
    assert malformed.status_code == 422 and "3671" not in malformed.text


# ------------------------------------------------------------------ LAKSA
COMPLAINT = {"external_ref": "LKS-700001", "category": "lampu_jalan",
             "description": "Lampu jalan mati di depan gang, gelap sekali di malam hari",
             "kecamatan": "karang tengah", "kelurahan": "Pondok Bahar", "latitude": -6.2151,
             "longitude": 106.7102, "photo_refs": ["media/abc.jpg"], "reporter_ref": "r-5f2a9c"}


@pytest.mark.asyncio
async def test_complaints_are_idempotent_on_external_ref(api: httpx.AsyncClient,
                                                         app: FastAPI) -> None:
    first = await api.post("/laksa/v1/complaints", json=COMPLAINT)
    assert first.status_code == 201 and first.json()["created"] is True
    assert first.json()["assigned_agency"] == "Dinas Perumahan, Permukiman dan Pertanahan"
    again = await api.post("/laksa/v1/complaints", json={**COMPLAINT, "description": "ulang"})
    assert again.status_code == 200 and again.json()["created"] is False
    assert {k: v for k, v in again.json().items() if k != "created"} == {
        k: v for k, v in first.json().items() if k != "created"}
    ref = first.json()["agency_ref"]
    assert re.fullmatch(r"TLR-\d{6}", ref)
    by_ours = (await api.get("/laksa/v1/complaints/LKS-700001")).json()
    by_theirs = (await api.get(f"/laksa/v1/complaints/{ref}")).json()
    assert by_ours == by_theirs and by_ours["kecamatan"] == "Karangtengah"
    assert [h["status"] for h in by_ours["history"]] == ["diterima", "diteruskan"]
    assert "reporter_ref" not in by_ours and "description" not in by_ours
    # 15 December + 3 working days
    assert by_ours["respond_by"] == "2026-12-18"


@pytest.mark.asyncio
async def test_complaint_refuses_a_phone_number_as_reporter(api: httpx.AsyncClient) -> None:
    for ref in ("081234567890", "+62 812-3456-7890", "3671051207800002"):
        response = await api.post("/laksa/v1/complaints", json={
            **COMPLAINT, "external_ref": "LKS-700002", "reporter_ref": ref})
        assert response.status_code == 422 and error_code(response) == "personal_data_in_ref"
        assert ref not in response.text
    assert (await api.get("/laksa/v1/complaints/LKS-700002")).status_code == 404


@pytest.mark.asyncio
async def test_demo_complaint_has_a_finished_history_with_proof(api: httpx.AsyncClient) -> None:
    body = (await api.get("/laksa/v1/complaints/TLR-100001")).json()
    assert body["external_ref"] == "LKS-100001" and body["status"] == "selesai"
    assert body["history"][-1]["photo_refs"]


# ------------------------------------------------------------------ queue
def booking_body(day: date, holder: str, office: str = "kec_benda", service: str = "kia"
                 ) -> dict[str, str]:
    return {"service": service, "office": office, "date": day.isoformat(), "holder_ref": holder}


@pytest.mark.asyncio
@pytest.mark.parametrize(("day", "code"), [
    (date(2026, 12, 20), "closed_sunday"),
    (date(2026, 12, 19), "closed_saturday"),
    (date(2026, 12, 25), "closed_holiday"),
    (date(2026, 12, 14), "date_in_past"),
    (date(2026, 12, 31), "date_too_far"),
])
async def test_closed_days_are_refused(api: httpx.AsyncClient, day: date, code: str) -> None:
    response = await api.post("/queue/v1/bookings", json=booking_body(day, "h-closed"))
    assert response.status_code == 422 and error_code(response) == code
    slots = (await api.get("/queue/v1/slots", params={
        "service": "kia", "office": "kec_benda", "date": day.isoformat()})).json()
    assert slots["days"][0]["open"] is False and slots["days"][0]["closed_reason"] == code


@pytest.mark.asyncio
async def test_saturday_is_a_half_day_where_the_office_opens(api: httpx.AsyncClient) -> None:
    day = (await api.get("/queue/v1/slots", params={
        "service": "ktp_el", "office": "mpp", "date": "2026-12-19"})).json()["days"][0]
    assert day["open"] is True and day["quota"] == 30
    assert day["windows"][-1]["end"] == "12:00"


@pytest.mark.asyncio
async def test_today_closes_for_booking_at_noon(api: httpx.AsyncClient,
                                                clock: SettableClock) -> None:
    clock.now = TUESDAY_MORNING.replace(hour=12, minute=5)
    response = await api.post("/queue/v1/bookings", json=booking_body(clock.now.date(), "h-noon"))
    assert response.status_code == 422 and error_code(response) == "same_day_closed"


@pytest.mark.asyncio
async def test_one_active_booking_per_holder_service_and_day(api: httpx.AsyncClient) -> None:
    day = date(2026, 12, 17)
    first = await api.post("/queue/v1/bookings", json=booking_body(day, "h-dup", "kec_cipondoh"))
    assert first.status_code == 201
    booking = first.json()
    assert re.fullmatch(r"ANT-\d{6}", booking["booking_number"])
    assert re.fullmatch(r"F-\d{3}", booking["queue_number"])
    assert booking["window_start"] < booking["window_end"]
    same = await api.post("/queue/v1/bookings", json=booking_body(day, "h-dup", "kec_cipondoh"))
    assert same.status_code == 200 and same.json()["booking_number"] == booking["booking_number"]
    other_office = await api.post("/queue/v1/bookings", json=booking_body(day, "h-dup"))
    assert other_office.status_code == 409 and error_code(other_office) == "duplicate_booking"
    other_day = await api.post("/queue/v1/bookings", json=booking_body(day + timedelta(1), "h-dup"))
    assert other_day.status_code == 201
    cancelled = await api.delete(f"/queue/v1/bookings/{booking['booking_number']}")
    assert cancelled.json()["status"] == "dibatalkan"
    moved = await api.post("/queue/v1/bookings", json=booking_body(day, "h-dup"))
    assert moved.status_code == 201


@pytest.mark.asyncio
async def test_daily_quota_and_freed_numbers(api: httpx.AsyncClient) -> None:
    day = date(2026, 12, 16)
    numbers = []
    for i in range(15):  # kia at a kecamatan office: 15 a day
        response = await api.post("/queue/v1/bookings", json=booking_body(day, f"h-q{i}"))
        assert response.status_code == 201, response.text
        numbers.append(response.json())
    assert [b["queue_number"] for b in numbers] == [f"F-{i:03d}" for i in range(1, 16)]
    assert numbers[0]["window_start"] == "08:00" and numbers[-1]["window_end"] == "15:00"
    full = await api.post("/queue/v1/bookings", json=booking_body(day, "h-q-late"))
    assert full.status_code == 409 and error_code(full) == "fully_booked"
    slots = (await api.get("/queue/v1/slots", params={
        "service": "kia", "office": "kec_benda", "date": day.isoformat()})).json()["days"][0]
    assert (slots["quota"], slots["booked"], slots["available"]) == (15, 15, 0)
    gone = numbers[6]["booking_number"]
    assert (await api.delete(f"/queue/v1/bookings/{gone}")).json()["status"] == "dibatalkan"
    twice = await api.delete(f"/queue/v1/bookings/{gone}")
    assert twice.status_code == 200 and len(twice.json()["history"]) == 2
    late = await api.post("/queue/v1/bookings", json=booking_body(day, "h-q-late"))
    assert late.json()["queue_number"] == "F-007"


@pytest.mark.asyncio
async def test_past_bookings_cannot_be_cancelled(api: httpx.AsyncClient, app: FastAPI) -> None:
    with app.state.sessions() as session:
        served = session.scalar(select(Booking).where(Booking.status == "selesai").limit(1))
    assert served is not None
    response = await api.delete(f"/queue/v1/bookings/{served.number}")
    assert response.status_code == 409 and error_code(response) == "booking_not_cancellable"
    demo = (await api.get("/queue/v1/bookings/ANT-100001")).json()
    assert demo["queue_number"] == "A-001" and demo["status"] in ("aktif", "kedaluwarsa")


@pytest.mark.asyncio
async def test_unknown_service_office_and_unoffered_service(api: httpx.AsyncClient) -> None:
    day = date(2026, 12, 16)
    assert error_code(await api.post("/queue/v1/bookings", json=booking_body(
        day, "h-x", service="sim"))) == "service_not_found"
    assert error_code(await api.post("/queue/v1/bookings", json=booking_body(
        day, "h-x", office="kec_bogor"))) == "office_not_found"
    assert error_code(await api.post("/queue/v1/bookings", json=booking_body(
        day, "h-x", service="perizinan"))) == "service_not_offered"
    services = (await api.get("/queue/v1/services")).json()
    assert {s["queue_letter"] for s in services} >= {"A", "B", "C"}
    offices = (await api.get("/queue/v1/offices", params={"service": "pbb"})).json()
    assert [o["code"] for o in offices] == ["mpp"]


# ------------------------------------------------------------------ health and tax
@pytest.mark.asyncio
async def test_beds_near_a_kecamatan(api: httpx.AsyncClient) -> None:
    everything = (await api.get("/health/v1/beds")).json()
    assert len(everything["hospitals"]) >= 10
    near = (await api.get("/health/v1/beds", params={"kecamatan": "ciledug"})).json()
    distances = [h["distance_km"] for h in near["hospitals"]]
    assert near["kecamatan"] == "Ciledug" and distances == sorted(distances)
    assert distances and max(distances) <= 6.0
    assert all(0 <= b["free"] <= b["capacity"] for h in near["hospitals"] for b in h["beds"])
    unknown = await api.get("/health/v1/beds", params={"kecamatan": "Bekasi"})
    assert unknown.status_code == 422 and error_code(unknown) == "unknown_kecamatan"


@pytest.mark.asyncio
async def test_pbb_and_pdam_bills(api: httpx.AsyncClient) -> None:
    pbb = (await api.get("/tax/v1/pbb/36.71.010.001.002-0034.0")).json()
    assert pbb["nop"] == "367101000100200340" and pbb["owner_initials"] == "I. H."
    unpaid = [y for y in pbb["years"] if not y["paid"]]
    assert [y["year"] for y in unpaid] == [2025, 2026]
    assert unpaid[0]["overdue_months"] == 16  # 1 September 2025 to 15 December 2026
    assert unpaid[0]["penalty"] == unpaid[0]["amount"] * 16 // 100
    assert pbb["total_due"] == sum(y["total"] for y in unpaid)
    paid_up = (await api.get("/tax/v1/pbb/367105000801101200")).json()
    assert paid_up["total_due"] == 0
    assert error_code(await api.get("/tax/v1/pbb/1234")) == "invalid_nop"
    assert error_code(await api.get("/tax/v1/pbb/367101000100200341")) == "nop_not_found"
    pdam = (await api.get("/tax/v1/pdam/0105001234")).json()
    assert [b["paid"] for b in pdam["bills"]] == [True, False, False] and pdam["total_due"] > 0
    assert pdam["arrears_months"] >= 1  # the newest bill may not be due yet
    assert (await api.get("/tax/v1/pdam/0705004321")).json()["total_due"] == 0
    assert error_code(await api.get("/tax/v1/pdam/99")) == "invalid_customer_no"


# ------------------------------------------------------------------ faults and plumbing
@pytest.mark.asyncio
async def test_error_fault_hits_only_its_prefix_and_stops_after_count(
        api: httpx.AsyncClient) -> None:
    set_ = await api.post("/_sandbox/faults", json={
        "mode": "error", "paths_prefix": "/tax", "count": 2, "status": 503, "retry_after_s": 1})
    assert set_.json()["remaining"] == 2
    assert (await api.get("/health/v1/beds")).status_code == 200
    for _ in range(2):
        failed = await api.get("/tax/v1/pdam/0105001234")
        assert failed.status_code == 503 and failed.headers["retry-after"] == "1"
        assert error_code(failed) == "sandbox_fault"
    assert (await api.get("/tax/v1/pdam/0105001234")).status_code == 200
    state = (await api.get("/_sandbox/faults")).json()
    assert state["config"]["mode"] == "none" and state["injected"] == 2


@pytest.mark.asyncio
async def test_slow_and_timeout_faults(api: httpx.AsyncClient) -> None:
    await api.post("/_sandbox/faults", json={"mode": "slow", "delay_ms": 60})
    started = time.monotonic()
    assert (await api.get("/queue/v1/services")).status_code == 200
    assert time.monotonic() - started >= 0.06
    assert (await api.get("/healthz")).status_code == 200  # never faulted
    await api.post("/_sandbox/faults", json={"mode": "timeout", "delay_ms": 20, "count": 1})
    timed_out = await api.get("/queue/v1/services")
    assert timed_out.status_code == 504 and error_code(timed_out) == "upstream_timeout"
    bad = await api.post("/_sandbox/faults", json={"mode": "explode"})
    assert bad.status_code == 422 and error_code(bad) == "invalid_request"


@pytest.mark.asyncio
async def test_faults_can_be_switched_off(tmp_path: Path) -> None:
    app = sandbox_app(tmp_path, SettableClock(), allow_faults=False)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as api:
        response = await api.post("/_sandbox/faults", json={"mode": "error"})
        assert response.status_code == 404 and error_code(response) == "not_found"
        assert (await api.get("/healthz")).json() == {"status": "ok"}
    app.state.engine.dispose()


@pytest.mark.asyncio
async def test_unknown_routes_and_methods_use_the_error_shape(api: httpx.AsyncClient) -> None:
    assert error_code(await api.get("/dukcapil/v2/anything")) == "not_found"
    assert error_code(await api.get("/dukcapil/v1/identity/verify")) == "method_not_allowed"


def test_exported_openapi_document_is_current(app: FastAPI) -> None:
    assert OPENAPI.exists(), "run: python -m sandbox.export_openapi"
    assert json.loads(OPENAPI.read_text(encoding="utf-8")) == json.loads(json.dumps(app.openapi()))
