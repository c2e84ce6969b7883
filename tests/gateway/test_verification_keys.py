"""Verification key rotation (real PostgreSQL): codes issued under an old key keep verifying
while that key is listed in VERIFICATION_KEYS, and fail once it is dropped."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from bot.db import make_sessionmaker
from bot.models import VerificationCode
from bot.outreach import verification

pytestmark = pytest.mark.integration

OLD, NEW = "old-verification-key-2025", "new-verification-key-2026"


@pytest.fixture
def db(pg_engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(pg_engine)() as session:
        yield session


def issue(session: Session, keys: verification.Keys, event_id: str) -> str:
    document: dict[str, Any] = {"document_label": "KTP-el", "holder_initials": "S. W.",
                                "office": "Kantor Kecamatan Karawaci",
                                "issued_at": datetime(2026, 12, 7, 2, 30, tzinfo=timezone.utc)}
    return verification.issue(session, keys, agency="dukcapil", kind="ktp", ref="res-abc123",
                              event_id=event_id, **document)


def test_a_code_issued_under_the_old_key_verifies_until_the_key_is_dropped(
        db: Session) -> None:
    before = issue(db, OLD, "evt-0001-ready")  # the single-key form: VERIFICATION_KEY
    db.commit()
    rotated = [NEW, OLD]
    assert verification.check(db, rotated, before) is not None
    after = issue(db, rotated, "evt-0002-ready")  # new codes: the newest key
    assert after == verification.make_code(NEW, agency="dukcapil", kind="ktp",
                                           ref="res-abc123", event_id="evt-0002-ready")
    assert verification.check(db, rotated, after) is not None
    assert verification.check(db, OLD, after) is None
    # The old key dropped: its codes are void, the new ones still genuine.
    assert verification.check(db, [NEW], before) is None
    assert verification.check(db, NEW, after) is not None


def test_an_event_coded_before_the_rotation_keeps_its_code(db: Session) -> None:
    before = issue(db, OLD, "evt-0003-ready")
    again = issue(db, [NEW, OLD], "evt-0003-ready")  # the agency sends the event once more
    assert again == before
    assert db.scalar(select(func.count()).select_from(VerificationCode)) == 1


def test_an_empty_key_ring_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        verification.ring([])
    with pytest.raises(ValueError, match="at least one"):
        verification.ring([NEW, ""])
