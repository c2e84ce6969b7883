"""The audit log: who saw or did what, when. Written in the same transaction as the act.

Every staff route that shows personal data records its view (docs/staff.md, "Audit log", lists
them). Screens that refresh themselves (the inbox queue at every change, an open conversation's
new messages) use `record_view`, which writes one entry per officer, subject and content shown
within a window instead of one per refresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import AuditEntry, StaffUser

NO_STAFF = 0  # the `staff_id` filter that selects entries without an account (unknown names)


def record(session: Session, staff_id: int | None, action: str, subject: str | None = None,
           *, reason: str | None = None, detail: dict[str, Any] | None = None,
           ip: str | None = None) -> None:
    """Adds one entry. `detail` must never hold personal data itself, only ids and kinds."""
    session.add(AuditEntry(staff_id=staff_id, action=action, subject=subject,
                           reason=(reason or None) and reason[:500], detail=detail or {}, ip=ip))


def record_view(session: Session, staff_id: int, action: str, subject: str, *,
                detail: dict[str, Any] | None = None, ip: str | None = None,
                within: timedelta = timedelta(minutes=10)) -> bool:
    """Records a view unless this officer's latest entry of the same action and subject, within
    `within`, showed the same (`detail`); whether an entry was added."""
    latest = session.scalar(
        select(AuditEntry).where(AuditEntry.staff_id == staff_id, AuditEntry.action == action,
                                 AuditEntry.subject == subject,
                                 AuditEntry.at >= utcnow() - within)
        .order_by(AuditEntry.id.desc()).limit(1))
    if latest is not None and dict(latest.detail or {}) == (detail or {}):
        return False
    record(session, staff_id, action, subject, detail=detail, ip=ip)
    return True


@dataclass(frozen=True)
class Entry:
    """One audit entry as the admin page shows it."""

    id: int
    at: datetime
    staff_id: int | None
    username: str | None
    action: str
    subject: str | None
    reason: str | None
    detail: dict[str, Any]
    ip: str | None


def entries(session: Session, *, staff_id: int | None = None, action: str | None = None,
            page: int = 1, per_page: int = 50) -> tuple[list[Entry], bool]:
    """One page of entries, newest first, and whether an older page follows. `staff_id`
    NO_STAFF selects the entries of unknown user names."""
    query = (select(AuditEntry, StaffUser.username)
             .outerjoin(StaffUser, StaffUser.id == AuditEntry.staff_id)
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()))
    if staff_id == NO_STAFF:
        query = query.where(AuditEntry.staff_id.is_(None))
    elif staff_id is not None:
        query = query.where(AuditEntry.staff_id == staff_id)
    if action:
        query = query.where(AuditEntry.action == action)
    rows = session.execute(query.offset((max(page, 1) - 1) * per_page).limit(per_page + 1)).all()
    found = [Entry(e.id, e.at, e.staff_id, username, e.action, e.subject, e.reason,
                   dict(e.detail or {}), e.ip) for e, username in rows[:per_page]]
    return found, len(rows) > per_page


def actions(session: Session) -> list[str]:
    """Every action the log holds, for the filter."""
    return list(session.scalars(select(AuditEntry.action).distinct().order_by(AuditEntry.action)))
