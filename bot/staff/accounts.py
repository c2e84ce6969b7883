"""Managing staff accounts (the admin pages' work): create, deactivate, change role, unlock.

Every change is audited in the same transaction. An admin cannot deactivate or demote themselves,
so the last admin can never lock everyone out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import StaffSession, StaffUser
from . import audit, auth

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{2,63}")
MAX_NAME = 120


class AccountError(ValueError):
    """A refused change; the message is Indonesian and safe to show."""


@dataclass(frozen=True)
class StaffRow:
    """One account as the admin page lists it."""

    id: int
    username: str
    display_name: str
    role: str
    active: bool
    last_login_at: datetime | None
    locked: bool
    capacity: int = 5


def list_staff(session: Session) -> list[StaffRow]:
    now = utcnow()
    rows = []
    for user in session.scalars(select(StaffUser).order_by(StaffUser.username)):
        locked_until = user.locked_until
        if locked_until is not None and locked_until.tzinfo is None:
            locked_until = locked_until.replace(tzinfo=timezone.utc)
        rows.append(StaffRow(user.id, user.username, user.display_name, user.role, user.active,
                             user.last_login_at, locked_until is not None and locked_until > now,
                             user.capacity))
    return rows


def create_account(session: Session, actor_id: int, username: str, display_name: str,
                   role: str, password: str, ip: str | None = None) -> StaffUser:
    """A new account with an initial password; raises AccountError with the reason."""
    username = username.strip().lower()
    display_name = " ".join(display_name.split())
    if not USERNAME.fullmatch(username):
        raise AccountError("Nama pengguna 3-64 karakter: huruf kecil, angka, titik, garis bawah "
                           "atau tanda hubung, diawali huruf atau angka.")
    if not display_name or len(display_name) > MAX_NAME:
        raise AccountError(f"Nama tampilan wajib diisi, paling banyak {MAX_NAME} karakter.")
    if role not in auth.ROLES:
        raise AccountError("Pilih peran yang tersedia.")
    if session.scalar(select(StaffUser.id).where(StaffUser.username == username)) is not None:
        raise AccountError("Nama pengguna itu sudah dipakai.")
    try:
        user = auth.create_staff(session, username, display_name, role, password)
    except auth.WeakPassword as exc:
        raise AccountError(f"Kata sandi awal minimal {auth.MIN_PASSWORD_LENGTH} karakter.") \
            from exc
    audit.record(session, actor_id, "staff_created", f"staff:{user.id}",
                 detail={"role": role}, ip=ip)
    return user


def _target(session: Session, actor_id: int, user_id: int, change: str) -> StaffUser:
    user = session.get(StaffUser, user_id)
    if user is None:
        raise AccountError("Akun tidak ditemukan.")
    if user.id == actor_id:
        raise AccountError(f"Anda tidak bisa {change} akun Anda sendiri.")
    return user


def set_active(session: Session, actor_id: int, user_id: int, active: bool,
               ip: str | None = None) -> None:
    """Deactivating also ends the account's sessions at once."""
    user = _target(session, actor_id, user_id,
                   "mengaktifkan" if active else "menonaktifkan")
    if user.active == active:
        return
    user.active = active
    if not active:
        session.execute(delete(StaffSession).where(StaffSession.staff_id == user.id))
    audit.record(session, actor_id, "staff_reactivated" if active else "staff_deactivated",
                 f"staff:{user.id}", ip=ip)


def set_role(session: Session, actor_id: int, user_id: int, role: str,
             ip: str | None = None) -> None:
    if role not in auth.ROLES:
        raise AccountError("Pilih peran yang tersedia.")
    user = _target(session, actor_id, user_id, "mengubah peran")
    if user.role == role:
        return
    audit.record(session, actor_id, "staff_role_changed", f"staff:{user.id}",
                 detail={"from": user.role, "to": role}, ip=ip)
    user.role = role


MAX_CAPACITY = 50


def set_capacity(session: Session, actor_id: int, user_id: int, capacity: int,
                 ip: str | None = None) -> None:
    """How many open chats automatic assignment may give this officer at once."""
    if not 1 <= capacity <= MAX_CAPACITY:
        raise AccountError(f"Kapasitas 1 sampai {MAX_CAPACITY} chat sekaligus.")
    user = session.get(StaffUser, user_id)
    if user is None:
        raise AccountError("Akun tidak ditemukan.")
    if user.capacity == capacity:
        return
    audit.record(session, actor_id, "staff_capacity_changed", f"staff:{user.id}",
                 detail={"from": user.capacity, "to": capacity}, ip=ip)
    user.capacity = capacity


def unlock(session: Session, actor_id: int, user_id: int, ip: str | None = None) -> None:
    """Lifts a lockout after too many wrong passwords, before its 15 minutes are over."""
    user = session.get(StaffUser, user_id)
    if user is None:
        raise AccountError("Akun tidak ditemukan.")
    user.locked_until = None
    user.failed_logins = 0
    audit.record(session, actor_id, "staff_unlocked", f"staff:{user.id}", ip=ip)
