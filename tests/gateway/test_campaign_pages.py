"""The campaign pages over HTTP (real PostgreSQL and Redis): admins only, CSRF on every change,
the live recipient count, the per-channel preview, send, schedule, pause, resume, cancel and
template registration, each in the audit log. Sending itself is tested in
tests/channels/test_campaigns.py; here the workers do not run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.app import build_services, create_app
from bot.models import AuditEntry, Campaign
from bot.outreach import consent
from bot.records import touch_contact
from bot.settings import Settings
from bot.staff.web import CITY_TIME

from .test_staff_web import HTML, db, sign_in, staff  # noqa: F401 - fixtures

pytestmark = pytest.mark.integration

CAMPAIGNS = "/staff/admin/campaigns"


@pytest.fixture
def client(pg_engine: Engine, redis_url: str, tmp_path: Any) -> Iterator[TestClient]:
    settings = Settings(_env_file=None, database_url=pg_engine.url.render_as_string(
        hide_password=False), redis_url=redis_url, run_workers=False, media_dir=tmp_path)
    with TestClient(create_app(services=build_services(settings))) as test_client:
        yield test_client


@pytest.fixture
def residents(db: Session) -> None:  # noqa: F811 - a fixture
    for channel, chat in (("telegram", "61001"), ("telegram", "61002"),
                          ("whatsapp", "6281500000001")):
        contact = touch_contact(db, channel, chat, inbound=True)
        db.flush()
        consent.grant(db, contact.id, "city_news", source="start_word")
    db.commit()


def csrf(client: TestClient) -> str:
    page = client.get(CAMPAIGNS, headers=HTML)
    assert page.status_code == 200, page.text
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert found
    return found.group(1)


def actions(db: Session) -> list[str]:  # noqa: F811
    db.expire_all()
    return [a for a in db.scalars(select(AuditEntry.action).order_by(AuditEntry.id))
            if a.startswith(("campaign", "whatsapp"))]


FORM = {"title": "Vaksin", "text": "Vaksinasi gratis Sabtu ini.", "button_title": ["Daftar"],
        "button_payload": [""], "kecamatan": "", "channels": ["telegram", "whatsapp"]}


@pytest.mark.parametrize("who", ["budi", "eko"])
def test_only_admins_reach_the_campaign_pages(client: TestClient, staff: dict[str, int],  # noqa: F811
                                              who: str) -> None:
    sign_in(client, who)
    assert client.get(CAMPAIGNS, headers=HTML).status_code == 403
    assert client.get(f"{CAMPAIGNS}/count").status_code == 403
    assert client.post(CAMPAIGNS, data=FORM).status_code == 403


def test_a_change_without_the_csrf_token_is_refused(client: TestClient,
                                                    staff: dict[str, int],  # noqa: F811
                                                    db: Session) -> None:  # noqa: F811
    sign_in(client, "sari")
    assert client.post(CAMPAIGNS, data=FORM).status_code == 403
    assert db.scalar(select(Campaign.id)) is None


def test_compose_preview_send_pause_resume_cancel(client: TestClient,
                                                  staff: dict[str, int],  # noqa: F811
                                                  db: Session,  # noqa: F811
                                                  residents: None) -> None:
    sign_in(client, "sari")
    token = csrf(client)
    count = client.get(f"{CAMPAIGNS}/count", params={"channels": ["telegram", "whatsapp"]})
    assert count.json() == {"total": 3, "per_channel": {"telegram": 2, "whatsapp": 1}}
    assert client.get(f"{CAMPAIGNS}/count", params={"channels": ["whatsapp"]}).json()["total"] \
        == 1
    assert client.get(f"{CAMPAIGNS}/count", params={"kecamatan": "Benda"}).json()["total"] == 0
    refused = client.post(CAMPAIGNS, data={**FORM, "text": "x" * 1025, "csrf_token": token},
                          headers=HTML)
    assert refused.status_code == 422 and "1024" in refused.text
    image = ("poster.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
    created = client.post(CAMPAIGNS, data={**FORM, "csrf_token": token},
                          files={"image": image}, follow_redirects=False)
    assert created.status_code == 303
    page = client.get(created.headers["location"], headers=HTML)
    assert "Pratinjau" in page.text and "1. Daftar" in page.text
    assert "Vaksinasi gratis Sabtu ini." in page.text
    assert "warga ini dilewati" in page.text  # no template for WhatsApp outside the window
    assert 'id="jumlah-penerima">3<' in page.text
    campaign_id = int(created.headers["location"].split("/")[-1].split("?")[0])
    assert client.get(f"{CAMPAIGNS}/{campaign_id}/image").content.startswith(b"\x89PNG")
    post = lambda path, **data: client.post(  # noqa: E731
        f"{CAMPAIGNS}/{campaign_id}/{path}", data={"csrf_token": token, **data},
        headers=HTML, follow_redirects=False)
    assert post("send").status_code == 303
    assert post("send").status_code == 409  # once only
    progress = client.get(f"{CAMPAIGNS}/{campaign_id}/progress").json()
    assert progress["state"] == "sending" and progress["recipients"] == 3
    assert progress["counts"]["queued"] == 3
    assert post("resume").status_code == 409
    assert post("pause").status_code == 303
    assert post("resume").status_code == 303
    assert post("cancel").status_code == 303
    progress = client.get(f"{CAMPAIGNS}/{campaign_id}/progress").json()
    assert progress["state"] == "cancelled" and progress["counts"]["skipped"] == 3
    assert actions(db) == ["campaign_created", "campaign_sent", "campaign_pause",
                           "campaign_resume", "campaign_cancel"]


def test_scheduling_and_registering_a_template(client: TestClient,
                                               staff: dict[str, int],  # noqa: F811
                                               db: Session, residents: None) -> None:  # noqa: F811
    sign_in(client, "sari")
    token = csrf(client)
    bad = client.post(f"{CAMPAIGNS}/templates", data={
        "csrf_token": token, "name": "info_kota", "language": "id", "variables": "isi",
        "body": "Tanpa variabel"}, headers=HTML)
    assert bad.status_code == 422
    good = client.post(f"{CAMPAIGNS}/templates", data={
        "csrf_token": token, "name": "info_kota", "language": "id", "variables": "isi",
        "body": "Info Pemkot: {{1}}"}, follow_redirects=False)
    assert good.status_code == 303
    template_id = re.search(r'<option value="(\d+)">info_kota', client.get(
        CAMPAIGNS, headers=HTML).text)
    assert template_id
    created = client.post(CAMPAIGNS, data={**FORM, "csrf_token": token,
                                           "template_id": template_id.group(1),
                                           "template_params": ["Vaksin gratis", "", ""]},
                          follow_redirects=False)
    location = created.headers["location"]
    assert "Info Pemkot: Vaksin gratis" in client.get(location, headers=HTML).text
    at = (datetime.now(CITY_TIME) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    campaign_id = location.split("/")[-1].split("?")[0]
    scheduled = client.post(f"{CAMPAIGNS}/{campaign_id}/send",
                            data={"csrf_token": token, "scheduled_at": at},
                            follow_redirects=False)
    assert scheduled.headers["location"].endswith("pesan=dijadwalkan")
    db.expire_all()
    campaign = db.get(Campaign, int(campaign_id))
    assert campaign is not None and campaign.state == "scheduled"
    assert campaign.recipients == 0  # the segment is frozen only when it goes out
    assert actions(db) == ["whatsapp_template_registered", "campaign_created",
                           "campaign_scheduled"]
