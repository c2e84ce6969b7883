"""Gateway tables: tickets the bot issued, their history, and requests for a human officer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base, utcnow


class Ticket(Base):
    """A complaint (LAKSA) the resident filed through Pintu; its number is ours, given at once."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "complaint"
    sender_id: Mapped[str] = mapped_column(String(128), index=True)  # channel:id, to answer later
    category: Mapped[str] = mapped_column(String(40))
    agency: Mapped[str] = mapped_column(String(120))
    expected_response_days: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(32), default="diterima")
    agency_ref: Mapped[str | None] = mapped_column(String(64))
    submit_attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    events: Mapped[list[TicketEvent]] = relationship(
        back_populates="ticket", order_by="TicketEvent.at", cascade="all, delete-orphan"
    )

    __table_args__ = (Index("ix_tickets_pending", "status", "next_attempt_at"),)


class TicketEvent(Base):
    """One step in a ticket's history, shown to the resident."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    ticket: Mapped[Ticket] = relationship(back_populates="events")


class HandoffRequest(Base):
    """A resident asked for a person, or the bot escalated.

    The bot escalates on an emergency or after repeated misunderstanding.
    """

    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(128), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    urgent: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
