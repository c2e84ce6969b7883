"""Staff sign-in: Argon2id password hashes, lockout, server-side sessions with a CSRF token.

Sessions live in SQL so they survive restarts and an admin can end them; the browser's cookie holds
a random token whose SHA-256 is all the database keeps. Each session has its own CSRF token, which
every form and every state-changing request must echo back.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from pwdlib import PasswordHash
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db import aware, utcnow
from ..models import StaffSession, StaffUser
from .audit import record

ROLES = ("agent", "supervisor", "admin")
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)  # one working day, then sign in again
SESSION_IDLE = timedelta(hours=2)
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHash.recommended()  # Argon2id with the library's current parameters
# Verifying against this when the user does not exist keeps the timing the same either way.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))


class AuthError(Exception):
    """Sign-in refused; the message is safe to show (it never says which part was wrong)."""


class WeakPassword(ValueError):
    pass


@dataclass(frozen=True)
class SignedIn:
    """A valid session: who, and the CSRF token their forms must carry."""

    staff_id: int
    username: str
    display_name: str
    role: str
    csrf_token: str


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"kata sandi minimal {MIN_PASSWORD_LENGTH} karakter")
    return _hasher.hash(password)


def create_staff(session: Session, username: str, display_name: str, role: str,
                 password: str) -> StaffUser:
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    user = StaffUser(username=username.strip().lower(), display_name=display_name.strip(),
                     role=role, password_hash=hash_password(password))
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str,
                 ip: str | None = None) -> StaffUser:
    """The user for a right username and password; counts failures and locks after five."""
    now = utcnow()
    user = session.scalar(select(StaffUser).where(
        StaffUser.username == username.strip().lower()))
    if user is None or not user.active:
        _hasher.verify(password, _DUMMY_HASH)
        record(session, None, "login_failed", detail={"reason": "unknown"}, ip=ip)
        raise AuthError("Nama pengguna atau kata sandi salah.")
    if user.locked_until is not None and aware(user.locked_until) > now:
        record(session, user.id, "login_locked", ip=ip)
        raise AuthError("Akun dikunci sementara karena terlalu banyak percobaan masuk. "
                        "Coba lagi nanti atau hubungi admin.")
    valid, new_hash = _hasher.verify_and_update(password, user.password_hash)
    if not valid:
        user.failed_logins += 1
        if user.failed_logins >= MAX_FAILED_LOGINS:
            user.locked_until = now + LOCKOUT
            user.failed_logins = 0
            record(session, user.id, "account_locked", ip=ip)
        else:
            record(session, user.id, "login_failed", ip=ip)
        raise AuthError("Nama pengguna atau kata sandi salah.")
    if new_hash:  # the library's parameters got stronger since this hash was made
        user.password_hash = new_hash
    user.failed_logins = 0
    user.locked_until = None
    user.last_login_at = now
    record(session, user.id, "login", ip=ip)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(session: Session, user: StaffUser) -> str:
    """A new session for a signed-in user; returns the cookie token (shown only once)."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    session.add(StaffSession(token_hash=_digest(token), staff_id=user.id,
                             csrf_token=secrets.token_urlsafe(32), created_at=now,
                             last_seen_at=now, expires_at=now + SESSION_LIFETIME))
    return token


def _valid(session: Session, token: str | None) -> tuple[StaffSession, StaffUser] | None:
    """The session row and its active user for a cookie token; an expired or idle row is
    deleted."""
    if not token:
        return None
    row = session.scalar(select(StaffSession).where(StaffSession.token_hash == _digest(token)))
    if row is None:
        return None
    now = utcnow()
    if aware(row.expires_at) <= now or now - aware(row.last_seen_at) > SESSION_IDLE:
        session.delete(row)
        return None
    user = session.get(StaffUser, row.staff_id)
    if user is None or not user.active:
        return None
    return row, user


def resolve_session(session: Session, token: str | None) -> SignedIn | None:
    """The signed-in staff member for a cookie token, or None (expired, idle, unknown)."""
    found = _valid(session, token)
    if found is None:
        return None
    row, user = found
    row.last_seen_at = utcnow()
    return SignedIn(user.id, user.username, user.display_name, user.role, row.csrf_token)


def session_alive(session: Session, token: str | None) -> bool:
    """Whether a cookie token still signs someone in, without counting as activity (a live
    event stream left open must not keep an unattended session from going idle)."""
    return _valid(session, token) is not None


def close_session(session: Session, token: str | None) -> None:
    """Signs out: the session is deleted, its cookie worthless."""
    if token:
        session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))


def csrf_ok(signed_in: SignedIn, presented: str | None) -> bool:
    """Whether a form or request carries this session's CSRF token (constant-time)."""
    return bool(presented) and hmac.compare_digest(signed_in.csrf_token.encode(),
                                                   (presented or "").encode())


def can(role: str, needed: str) -> bool:
    """Roles are ordered: an admin can do what a supervisor can, a supervisor what an agent can."""
    return ROLES.index(role) >= ROLES.index(needed)
