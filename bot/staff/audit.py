"""The audit log: who saw or did what, when. Written in the same transaction as the act."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from ..models import AuditEntry


def record(session: Session, staff_id: int | None, action: str, subject: str | None = None,
           *, reason: str | None = None, detail: dict[str, Any] | None = None,
           ip: str | None = None) -> None:
    """Adds one entry. `detail` must never hold personal data itself, only ids and kinds."""
    session.add(AuditEntry(staff_id=staff_id, action=action, subject=subject,
                           reason=(reason or None) and reason[:500], detail=detail or {}, ip=ip))
