"""docs/sandbox.md's test identities, checked row by row against a freshly seeded sandbox."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio

from sandbox.testing import SettableClock, sandbox_app

DOC = (Path(__file__).resolve().parents[2] / "docs" / "sandbox.md").read_text(encoding="utf-8")
KTP_ROWS = re.findall(r"^\| `(\w+)` \| [^|]+ \| `(\d{16})` \| `(\d{16})` \|$", DOC, re.M)
FAIL_ROWS = re.findall(r"^\| (?:unknown NIK|real NIK[^|]*) \| `(\d{16})` \| `(\d{16})` \|$", DOC,
                       re.M)
FAMILY_ROWS = re.findall(r"^\| ([A-Z]\.(?: [A-Z]\.)*) \| ([A-Z ]+) \| ([LP]) \|$", DOC, re.M)
OTHER_ROWS = re.findall(r"^\| (\w+) \| `([\w.-]+)`[^|]* \| `([\w:-]+)`", DOC, re.M)
BIRTH_NIKS = dict(re.findall(r"^\| birth_registration \| `(AKL-\d{6})` \(parent NIK `(\d{16})`\)",
                            DOC, re.M))


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def api(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[httpx.AsyncClient]:
    app = sandbox_app(tmp_path_factory.mktemp("docs"), SettableClock())
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                                 base_url="http://sandbox") as client:
        yield client
    app.state.engine.dispose()


def test_the_tables_were_found() -> None:
    assert {state for state, _, _ in KTP_ROWS} == {
        "belum_wajib", "belum_rekam", "sudah_rekam", "dicetak", "siap_diambil", "sudah_diambil",
        "perlu_perbaikan"}
    assert len(FAIL_ROWS) == 2 and len(FAMILY_ROWS) == 6 and len(BIRTH_NIKS) == 2
    assert {kind for kind, _, _ in OTHER_ROWS} == {
        "pbb", "pdam", "complaint", "birth_registration", "booking"}


@pytest.mark.asyncio(loop_scope="module")
async def test_every_ktp_row_answers_its_state(api: httpx.AsyncClient) -> None:
    for state, nik, kk in KTP_ROWS:
        response = await api.post("/dukcapil/v1/ktp/status", json={"nik": nik, "kk_number": kk})
        assert response.status_code == 200, (state, response.text)
        assert response.json()["status"] == state


@pytest.mark.asyncio(loop_scope="module")
async def test_family_and_failing_pairs(api: httpx.AsyncClient) -> None:
    members = (await api.post("/dukcapil/v1/kk/members", json={
        "nik": "3671051207800002", "kk_number": "3671051403150007"})).json()["members"]
    assert [(m["initials"], m["relation"], m["gender"]) for m in members] == FAMILY_ROWS
    for nik, kk in FAIL_ROWS:
        response = await api.post("/dukcapil/v1/identity/verify",
                                  json={"nik": nik, "kk_number": kk})
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "identity_not_verified"


@pytest.mark.asyncio(loop_scope="module")
async def test_other_records(api: httpx.AsyncClient) -> None:
    paths = {"pbb": "/tax/v1/pbb/{}", "pdam": "/tax/v1/pdam/{}",
             "complaint": "/laksa/v1/complaints/{}",
             "booking": "/queue/v1/bookings/{}"}
    for kind, number, expect in OTHER_ROWS:
        if kind == "birth_registration":  # told only with a parent's NIK (POST)
            response = await api.post("/dukcapil/v1/birth-registrations/status", json={
                "registration_number": number, "nik": BIRTH_NIKS[number]})
        else:
            response = await api.get(paths[kind].format(number))
        assert response.status_code == 200, (kind, number, response.text)
        body = response.json()
        if kind in ("pbb", "pdam"):
            items = body["years"] if kind == "pbb" else body["bills"]
            assert f"unpaid:{sum(not i['paid'] for i in items)}" == expect, number
        elif kind == "booking":
            assert body["queue_number"] == expect and body["status"] == "aktif"
        else:
            assert body["status"] == expect, number
