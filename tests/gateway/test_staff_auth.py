"""Staff accounts: hashing, lockout, sessions, CSRF and the audit log (real PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from bot.db import make_sessionmaker, utcnow
from bot.models import AuditEntry, StaffSession, StaffUser
from bot.staff import auth
from bot.staff.__main__ import main as cli

pytestmark = pytest.mark.integration
PASSWORD = "kunci-rahasia-2026"


@pytest.fixture
def db(pg_engine: Engine) -> Iterator[Session]:
    with make_sessionmaker(pg_engine)() as session:
        yield session


def _user(db: Session, role: str = "agent") -> StaffUser:
    user = auth.create_staff(db, "Ani", "Ani (Helpdesk)", role, PASSWORD)
    db.commit()
    return user


def _actions(db: Session) -> list[str]:
    return list(db.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_passwords_are_stored_as_argon2id_and_short_ones_refused(db: Session) -> None:
    user = _user(db)
    assert user.username == "ani"
    assert user.password_hash.startswith("$argon2id$") and PASSWORD not in user.password_hash
    with pytest.raises(auth.WeakPassword):
        auth.create_staff(db, "budi", "Budi", "agent", "pendek")


def test_right_password_signs_in_and_is_audited(db: Session) -> None:
    _user(db)
    user = auth.authenticate(db, " ANI ", PASSWORD, ip="10.0.0.5")
    db.commit()
    assert user.last_login_at is not None
    entry = db.scalars(select(AuditEntry)).one()
    assert (entry.action, entry.staff_id, entry.ip) == ("login", user.id, "10.0.0.5")


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(db: Session) -> None:
    _user(db)
    for _ in range(auth.MAX_FAILED_LOGINS):
        with pytest.raises(auth.AuthError, match="salah"):
            auth.authenticate(db, "ani", "salah-salah-salah")
        db.commit()
    with pytest.raises(auth.AuthError, match="dikunci"):
        auth.authenticate(db, "ani", PASSWORD)
    db.commit()
    assert _actions(db) == ["login_failed"] * 4 + ["account_locked", "login_locked"]
    # After the lockout time the right password works again.
    user = db.scalars(select(StaffUser)).one()
    user.locked_until = utcnow() - timedelta(seconds=1)
    db.commit()
    assert auth.authenticate(db, "ani", PASSWORD).id == user.id


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(db: Session) -> None:
    _user(db)
    with pytest.raises(auth.AuthError) as unknown:
        auth.authenticate(db, "tidak-ada", PASSWORD)
    with pytest.raises(auth.AuthError) as wrong:
        auth.authenticate(db, "ani", "bukan-kata-sandinya")
    assert str(unknown.value) == str(wrong.value)


def test_sessions_keep_only_a_hash_expire_and_end_at_logout(db: Session) -> None:
    user = _user(db, "supervisor")
    token = auth.open_session(db, user)
    db.commit()
    stored = db.scalars(select(StaffSession)).one()
    assert token not in stored.token_hash and len(stored.token_hash) == 64
    signed = auth.resolve_session(db, token)
    assert signed is not None and signed.role == "supervisor"
    assert auth.resolve_session(db, token + "x") is None
    assert auth.csrf_ok(signed, signed.csrf_token)
    assert not auth.csrf_ok(signed, None) and not auth.csrf_ok(signed, "palsu")
    stored.last_seen_at = utcnow() - auth.SESSION_IDLE - timedelta(minutes=1)
    db.commit()
    assert auth.resolve_session(db, token) is None  # idle too long
    token = auth.open_session(db, user)
    db.commit()
    auth.close_session(db, token)
    db.commit()
    assert auth.resolve_session(db, token) is None


def test_roles_are_ordered() -> None:
    assert auth.can("admin", "supervisor") and auth.can("supervisor", "agent")
    assert not auth.can("agent", "supervisor") and not auth.can("supervisor", "admin")


def test_the_cli_creates_an_account(db: Session, pg_url: str,
                                    monkeypatch: pytest.MonkeyPatch,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    from bot.settings import get_settings

    monkeypatch.setenv("DATABASE_URL", pg_url)
    monkeypatch.setenv("PINTU_STAFF_PASSWORD", PASSWORD)
    get_settings.cache_clear()
    try:
        assert cli(["create-user", "--username", "sari", "--name", "Sari", "--role",
                    "admin"]) == 0
        assert cli(["create-user", "--username", "sari", "--name", "Sari"]) == 1
    finally:
        get_settings.cache_clear()
    assert "akun sari (admin) dibuat" in capsys.readouterr().out
    assert db.scalars(select(StaffUser.role).where(StaffUser.username == "sari")).one() == "admin"


def test_checking_a_session_alive_is_not_activity(db: Session) -> None:
    user = _user(db, "agent")
    token = auth.open_session(db, user)
    db.commit()
    stored = db.scalars(select(StaffSession)).one()
    stored.last_seen_at = utcnow() - auth.SESSION_IDLE + timedelta(minutes=1)
    db.commit()
    seen = stored.last_seen_at
    assert auth.session_alive(db, token)
    db.commit()
    db.refresh(stored)
    assert stored.last_seen_at == seen  # an open event stream keeps nobody signed in
    stored.last_seen_at = utcnow() - auth.SESSION_IDLE - timedelta(minutes=1)
    db.commit()
    assert not auth.session_alive(db, token)
    assert not auth.session_alive(db, None)
