"""Every staff route that shows personal data writes an audit entry (real PostgreSQL and Redis),
the entries hold ids and kinds but never the data, and the screens mask NIK, KK and phone
numbers by default."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.learning import predictions
from bot.models import AuditEntry
from bot.rasa_client import Understanding

from .test_route_access import ACCESS, STAFF
from .test_staff_inbox_api import inbox_csrf, open_handoff
from .test_staff_web import (  # noqa: F401 - fixtures
    HTML,
    ClientFactory,
    client,
    db,
    make_client,
    sign_in,
    staff,
)

pytestmark = pytest.mark.integration

NIK = "3671051207800002"
PHONE = "081234567890"
# Every staff GET route that shows or exports personal data, and the action its view records.
# Residents' data: transcripts, the queue's last messages, attachments, NLU review texts;
# staff members' data: the account list and the audit log (names, addresses, reasons).
AUDITED = {
    "/staff/api/queue": "view_queue",
    "/staff/api/handoffs/{handoff_id}": "view_conversation",
    "/staff/media/{name}": "view_attachment",
    "/staff/admin/users": "view_staff_accounts",
    "/staff/admin/audit": "view_audit_log",
    "/staff/admin/review": "view_nlu_review",
    "/staff/admin/review/{prediction_id}": "view_nlu_message",
}
# Staff GET routes that show none: pages filled by the audited API, ids-only events, canned
# replies, models (metrics), outreach links and campaigns (counts, no recipient lists).
NOT_PERSONAL = {
    "/staff", "/staff/", "/staff/login", "/staff/inbox", "/staff/api/canned", "/staff/api/events",
    "/staff/admin/models", "/staff/admin/models/job", "/staff/admin/models/{version}",
    "/staff/admin/models/{version}/confusion.png", "/staff/admin/links",
    "/staff/admin/links/{link_id}/poster", "/staff/admin/campaigns",
    "/staff/admin/campaigns/count", "/staff/admin/campaigns/{campaign_id}",
    "/staff/admin/campaigns/{campaign_id}/progress", "/staff/admin/campaigns/{campaign_id}/image",
}
# The one POST that shows personal data: a message unmasked, for a stated reason.
REVEAL = "reveal_personal_data"


def entries(db: Session, action: str) -> list[AuditEntry]:  # noqa: F811
    db.expire_all()
    return list(db.scalars(select(AuditEntry).where(AuditEntry.action == action)
                           .order_by(AuditEntry.id)))


def test_every_staff_page_is_classified_as_personal_or_not() -> None:
    """A new staff GET route must say whether it shows personal data (and then be audited)."""
    gets = {path for (method, path), access in ACCESS.items()
            if method == "GET" and (access in STAFF or path.startswith("/staff"))}
    assert sorted(gets - AUDITED.keys() - NOT_PERSONAL) == []
    assert not AUDITED.keys() & NOT_PERSONAL


def test_inbox_views_are_audited_once_per_change(make_client: ClientFactory,  # noqa: F811
                                                 client: TestClient,  # noqa: F811
                                                 staff: dict[str, int],  # noqa: F811
                                                 db: Session) -> None:  # noqa: F811
    handoff_id = open_handoff(client, "api:warga-7")
    client.post("/api/chat", json={"sender": "warga-7", "text": f"NIK saya {NIK}, hp {PHONE}"})
    sign_in(client, "budi")
    headers = {"X-CSRF-Token": inbox_csrf(client)}
    queue = client.get("/staff/api/queue").json()
    assert NIK not in str(queue) and PHONE not in str(queue)  # masked last messages
    client.get("/staff/api/queue")  # the page refreshes: nothing new was shown
    assert [e.detail["handoffs"] for e in entries(db, "view_queue")] == [[handoff_id]]
    second = open_handoff(client, "api:warga-8")
    client.get("/staff/api/queue")
    assert [e.detail["handoffs"] for e in entries(db, "view_queue")] == \
        [[handoff_id], sorted([handoff_id, second])]

    client.post(f"/staff/api/handoffs/{handoff_id}/take", headers=headers)
    client.post(f"/staff/api/handoffs/{handoff_id}/notes", headers=headers,
                json={"text": f"Warga minta dihubungi di {PHONE}"})
    view = client.get(f"/staff/api/handoffs/{handoff_id}").json()
    assert NIK not in str(view) and PHONE not in str(view)  # messages and notes masked
    assert len(entries(db, "view_conversation")) == 1
    # Fetching only the new messages of an open view adds no entry...
    client.get(f"/staff/api/handoffs/{handoff_id}", params={"after": 1})
    assert len(entries(db, "view_conversation")) == 1
    # ...but cannot be used to read a conversation without one.
    supervisor: TestClient = make_client()
    sign_in(supervisor, "eko")
    supervisor.get(f"/staff/api/handoffs/{handoff_id}", params={"after": 1})
    viewers = [e.staff_id for e in entries(db, "view_conversation")]
    assert viewers == [staff["budi"], staff["eko"]]


def test_attachments_reveals_and_admin_pages_are_audited_without_the_data(
        make_client: ClientFactory, client: TestClient,  # noqa: F811
        staff: dict[str, int], db: Session) -> None:  # noqa: F811
    handoff_id = open_handoff(client, "api:warga-9")
    client.post("/api/chat", json={"sender": "warga-9", "text": f"KK {NIK}"})
    services = client.app.state.services  # type: ignore[attr-defined]
    ref = services.media.put(b"\x89PNG\r\n\x1a\n" + b"0" * 64, "image/png")
    sign_in(client, "eko")
    headers = {"X-CSRF-Token": inbox_csrf(client)}
    assert client.get(f"/staff/{ref}").status_code == 200
    message = next(m for m in client.get(f"/staff/api/handoffs/{handoff_id}").json()["messages"]
                   if m["masked"])
    shown = client.post(f"/staff/api/messages/{message['id']}/reveal", headers=headers,
                        json={"reason": f"cocokkan dengan berkas {NIK}"})
    assert shown.json()["text"] == f"KK {NIK}"

    found = predictions.record(db, channel="telegram", message_id=None, text=f"nik {NIK} ktp",
                               understanding=Understanding(f"nik {NIK} ktp", "ktp", 0.3),
                               review_below=0.7)
    assert found is not None
    db.commit()
    admin: TestClient = make_client()
    sign_in(admin, "sari")
    for path in ("/staff/admin/users", "/staff/admin/review", f"/staff/admin/review/{found.id}",
                 "/staff/admin/audit"):
        page = admin.get(path, headers=HTML)
        assert page.status_code == 200, path
        assert NIK not in page.text, path  # the review's texts and a typed reason, masked
    for action in set(AUDITED.values()) - {"view_queue"}:  # the queue: the test above
        assert len(entries(db, action)) == 1, action
    assert entries(db, REVEAL)[0].subject == f"message:{message['id']}"
    assert entries(db, "view_nlu_message")[0].subject == f"prediction:{found.id}"
    db.expire_all()
    for entry in db.scalars(select(AuditEntry)):
        kept = f"{entry.subject} {entry.detail} {entry.ip}"
        assert NIK not in kept and "warga-9" not in kept, entry.action


def test_staff_templates_show_no_unmasked_resident_text() -> None:
    """Resident texts reach templates only already masked (the inbox masks in JavaScript's
    data, built by bot.handoff); templates print no raw message content."""
    templates = Path(__file__).resolve().parents[2] / "bot" / "staff" / "templates"
    for template in templates.glob("*.html"):
        text = template.read_text()
        assert not re.search(r"\.content\b|external_id|sender_id", text), template.name
