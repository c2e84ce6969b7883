"""The retention sweep (issue 8) on real PostgreSQL: old rows and files go, new ones and what an
open complaint or an officer still needs stay; a dry run counts the same and changes nothing."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.db import make_sessionmaker, utcnow
from bot.models import (
    AgencyEvent,
    AuditEntry,
    Consent,
    Contact,
    Conversation,
    DeadLetter,
    HandoffNote,
    HandoffRequest,
    Message,
    Prediction,
    Ticket,
)
from bot.privacy import erasure, retention

pytestmark = pytest.mark.integration

POLICY = retention.Policy(messages_days=180, uploads_days=90, closed_tickets_days=365,
                          predictions_days=90)


def _contact(session: Session, chat: str, *, seen_days_ago: int) -> Contact:
    seen = utcnow() - timedelta(days=seen_days_ago)
    contact = Contact(channel="telegram", external_id=chat, first_seen_at=seen,
                      last_seen_at=seen)
    session.add(contact)
    session.flush()
    return contact


def _message(session: Session, contact: Contact, *, days_ago: int, text: str = "halo",
             ref: str | None = None) -> Message:
    at = utcnow() - timedelta(days=days_ago)
    conversation = Conversation(contact_id=contact.id, started_at=at, last_message_at=at,
                                status="closed")
    session.add(conversation)
    session.flush()
    content: dict[str, Any] = {"text": text}
    if ref:
        content = {"attachment": {"kind": "image", "ref": ref}}
    message = Message(conversation_id=conversation.id, direction="in", channel="telegram",
                      kind="image" if ref else "text", content=content, status="processed",
                      created_at=at, updated_at=at)
    session.add(message)
    session.flush()
    return message


def _ticket(session: Session, number: str, photo: str, *, closed_days_ago: int | None,
            filed_days_ago: int = 500) -> None:
    at = utcnow() - timedelta(days=filed_days_ago)
    session.add(Ticket(number=number, kind="complaint", sender_id="telegram:777",
                       category="jalan", agency="DPUPR", expected_response_days=7,
                       status="diteruskan", created_at=at, updated_at=at,
                       payload={"category": "jalan", "description": "lubang depan rumah",
                                "latitude": -6.1, "photo_refs": [photo]}))
    if closed_days_ago is not None:
        session.add(AgencyEvent(agency="laksa", event_id=f"ev-{number}", kind="complaint",
                                ref=number, status="selesai",
                                occurred_at=utcnow() - timedelta(days=closed_days_ago)))


def _file(root: Path, name: str, *, days_ago: int) -> str:
    root.mkdir(parents=True, exist_ok=True)
    path = root / name
    path.write_bytes(b"encrypted bytes")
    when = (utcnow() - timedelta(days=days_ago)).timestamp()
    os.utime(path, (when, when))
    return f"media/{name}"


@pytest.fixture
def world(pg_engine: Any, tmp_path: Path) -> dict[str, Any]:
    sessions = make_sessionmaker(pg_engine)
    media = tmp_path / "media"
    refs = {
        "old": _file(media, "a" * 64 + ".jpg", days_ago=100),
        "old_in_open_ticket": _file(media, "b" * 64 + ".jpg", days_ago=400),
        "old_resent_lately": _file(media, "c" * 64 + ".jpg", days_ago=100),
        "new": _file(media, "d" * 64 + ".jpg", days_ago=5),
        "old_in_old_ticket": _file(media, "e" * 64 + ".jpg", days_ago=400),
    }
    with sessions.begin() as session:
        active = _contact(session, "1001", seen_days_ago=1)
        session.add(Consent(contact_id=active.id, topic="city_news", wording="w",
                            wording_version="v", source="start_word"))
        old = _message(session, active, days_ago=200, text="pesan lama")
        session.add(DeadLetter(channel="telegram", chat_id="1001", message_id=old.id,
                               request={"text": "pesan lama"}, reason="403",
                               created_at=utcnow() - timedelta(days=200)))
        _message(session, active, days_ago=1, text="pesan baru")
        _message(session, active, days_ago=2, ref=refs["old_resent_lately"])
        dormant = _contact(session, "1002", seen_days_ago=200)
        _message(session, dormant, days_ago=200, ref=refs["old"])
        with_officer = _contact(session, "1003", seen_days_ago=1)
        _message(session, with_officer, days_ago=300, text="sudah lama menunggu")
        session.add(HandoffRequest(sender_id="telegram:1003", reason="permintaan_warga",
                                   status="active", channel="telegram",
                                   contact_id=with_officer.id))
        old_handoff = HandoffRequest(sender_id="telegram:1001", reason="permintaan_warga",
                                     status="closed", channel="telegram", contact_id=active.id,
                                     note="catatan lama", rating=5,
                                     created_at=utcnow() - timedelta(days=200))
        session.add(old_handoff)
        session.flush()
        session.add(HandoffNote(handoff_id=old_handoff.id, text="alamat warga",
                                created_at=utcnow() - timedelta(days=200)))
        _ticket(session, "LKS-200001", refs["old_in_old_ticket"], closed_days_ago=400)
        _ticket(session, "LKS-200002", refs["new"], closed_days_ago=10)
        _ticket(session, "LKS-200003", refs["old_in_open_ticket"], closed_days_ago=None)
        session.add(Prediction(channel="telegram", text="lama", text_key="lama",
                               created_at=utcnow() - timedelta(days=100)))
        session.add(AuditEntry(action="view_conversation", subject="handoff:1", ip="10.0.0.9",
                               at=utcnow() - timedelta(days=800)))
        session.add(AuditEntry(action="view_conversation", subject="handoff:2", ip="10.0.0.9",
                               at=utcnow() - timedelta(days=700)))
    return {"sessions": sessions, "media": media, "refs": refs,
            "ids": {"active": active.id, "dormant": dormant.id, "officer": with_officer.id}}


EXPECTED = retention.Swept(messages=2, dead_letters=1, conversations=2, handoff_notes=1,
                           handoffs=1, tickets=1, contacts=1, files=2, predictions=1,
                           audit_entries=1)


def _counts(sessions: Any) -> dict[str, int]:
    with sessions() as session:
        return {model.__name__: session.scalar(select(func.count()).select_from(model)) or 0
                for model in (Message, Conversation, DeadLetter, HandoffNote, Prediction)}


def test_a_dry_run_counts_and_changes_nothing(world: dict[str, Any]) -> None:
    before = _counts(world["sessions"])
    files = sorted(p.name for p in world["media"].iterdir())
    assert retention.sweep(world["sessions"], world["media"], POLICY, dry_run=True) == EXPECTED
    assert _counts(world["sessions"]) == before
    assert sorted(p.name for p in world["media"].iterdir()) == files


def test_the_sweep_deletes_old_and_keeps_new(world: dict[str, Any]) -> None:
    sessions, refs = world["sessions"], world["refs"]
    assert retention.sweep(sessions, world["media"], POLICY, batch=1) == EXPECTED
    left = {f"media/{p.name}" for p in world["media"].iterdir()}
    assert left == {refs["old_in_open_ticket"], refs["old_resent_lately"], refs["new"]}
    with sessions() as session:
        texts = sorted(str(m.content.get("text")) for m in session.scalars(select(Message)))
        assert texts == ["None", "pesan baru", "sudah lama menunggu"]  # the officer's stays
        assert session.scalar(select(func.count()).select_from(DeadLetter)) == 0
        assert session.scalar(select(func.count()).select_from(HandoffNote)) == 0
        old_handoff = session.scalars(select(HandoffRequest).where(
            HandoffRequest.status == "closed")).one()
        assert old_handoff.contact_id is None and old_handoff.note is None
        assert old_handoff.rating == 5 and "1001" not in old_handoff.sender_id
        assert session.get_one(Contact, world["ids"]["dormant"]).status == erasure.ERASED
        assert session.get_one(Contact, world["ids"]["active"]).external_id == "1001"
        payloads = {t.number: t.payload for t in session.scalars(select(Ticket))}
        assert payloads["LKS-200001"] == {"category": "jalan"}
        assert payloads["LKS-200002"]["description"] == "lubang depan rumah"  # closed lately
        assert payloads["LKS-200003"]["description"] == "lubang depan rumah"  # still open
        kept = set(session.scalars(select(AuditEntry.subject)))
        assert "handoff:2" in kept and "handoff:1" not in kept  # two years of audit log
    assert retention.sweep(sessions, world["media"], POLICY) == retention.Swept()  # idempotent


def test_the_command_line_runs_one_sweep(world: dict[str, Any], pg_url: str,
                                         monkeypatch: pytest.MonkeyPatch,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from bot.settings import get_settings

    monkeypatch.setattr("bot.logs.configure", lambda *args, **kwargs: None)  # no root handler
    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("MEDIA_DIR", str(world["media"]))
    get_settings.cache_clear()
    try:
        assert retention.main(["--dry-run"]) == 0
    finally:
        get_settings.cache_clear()
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["dry_run"] is True and printed["messages"] == 2 and printed["files"] == 2
