"""The sandbox's tables: one agency's records per block, nothing shared but the base."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .db import Base


class Meta(Base):
    """Key-value facts about the database itself (seed, seeded_at)."""

    __tablename__ = "sandbox_meta"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


# ---------------------------------------------------------------- Dukcapil
class Family(Base):
    __tablename__ = "families"
    id: Mapped[int] = mapped_column(primary_key=True)
    kk_number: Mapped[str] = mapped_column(String(16), unique=True)
    kecamatan: Mapped[str] = mapped_column(String(40))
    kelurahan: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(160))
    issued_on: Mapped[date]
    members: Mapped[list[Resident]] = relationship(back_populates="family", order_by="Resident.id")


class Resident(Base):
    __tablename__ = "residents"
    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(24), unique=True)
    nik: Mapped[str] = mapped_column(String(16), unique=True)
    family_id: Mapped[int] = mapped_column(ForeignKey("families.id"), index=True)
    full_name: Mapped[str] = mapped_column(String(80))
    gender: Mapped[str] = mapped_column(String(1))  # L / P, as printed on the KK
    birth_date: Mapped[date]
    birth_place: Mapped[str] = mapped_column(String(40))
    relation: Mapped[str] = mapped_column(String(20))
    ktp_status: Mapped[str] = mapped_column(String(20))
    ktp_office: Mapped[str | None] = mapped_column(String(80))
    ktp_ready_since: Mapped[date | None]
    ktp_collected_on: Mapped[date | None]
    ktp_note: Mapped[str | None] = mapped_column(String(200))
    ktp_updated_at: Mapped[datetime]
    family: Mapped[Family] = relationship(back_populates="members")


class BirthRegistration(Base):
    __tablename__ = "birth_registrations"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(10), unique=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    child_name: Mapped[str] = mapped_column(String(80))
    birth_date: Mapped[date]
    birth_place: Mapped[str] = mapped_column(String(120))
    father_nik: Mapped[str] = mapped_column(String(16))
    mother_nik: Mapped[str] = mapped_column(String(16))
    documents: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))
    certificate_number: Mapped[str | None] = mapped_column(String(30))
    submitted_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    events: Mapped[list[BirthEvent]] = relationship(order_by="BirthEvent.id",
                                                    cascade="all, delete-orphan")


class BirthEvent(Base):
    __tablename__ = "birth_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    registration_id: Mapped[int] = mapped_column(ForeignKey("birth_registrations.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(200))


# ---------------------------------------------------------------- LAKSA
class Complaint(Base):
    __tablename__ = "complaints"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency_ref: Mapped[str] = mapped_column(String(12), unique=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(20))
    category: Mapped[str] = mapped_column(String(40))
    description: Mapped[str] = mapped_column(String(2000))
    kecamatan: Mapped[str | None] = mapped_column(String(40))
    kelurahan: Mapped[str | None] = mapped_column(String(40))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    photo_refs: Mapped[list[str]] = mapped_column(JSON)
    reporter_ref: Mapped[str] = mapped_column(String(64))
    assigned_agency: Mapped[str] = mapped_column(String(120))
    expected_response_days: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    events: Mapped[list[ComplaintEvent]] = relationship(order_by="ComplaintEvent.id",
                                                        cascade="all, delete-orphan")


class ComplaintEvent(Base):
    __tablename__ = "complaint_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(300))
    photo_refs: Mapped[list[str]] = mapped_column(JSON, default=list)


# ---------------------------------------------------------------- queue
class QueueService(Base):
    __tablename__ = "queue_services"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    agency: Mapped[str] = mapped_column(String(80))
    letter: Mapped[str] = mapped_column(String(1))
    requirements: Mapped[list[str]] = mapped_column(JSON)


class Office(Base):
    __tablename__ = "queue_offices"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kecamatan: Mapped[str] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(160))
    open_saturday: Mapped[bool]


class Quota(Base):
    """How many people one office serves for one service on a full working day."""

    __tablename__ = "queue_quotas"
    office_code: Mapped[str] = mapped_column(ForeignKey("queue_offices.code"), primary_key=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("queue_services.code"), primary_key=True)
    daily: Mapped[int]


class Holiday(Base):
    __tablename__ = "holidays"
    day: Mapped[date] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (Index("ix_bookings_day", "office_code", "service_code", "day"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(10), unique=True)
    service_code: Mapped[str] = mapped_column(ForeignKey("queue_services.code"))
    office_code: Mapped[str] = mapped_column(ForeignKey("queue_offices.code"))
    day: Mapped[date]
    seq: Mapped[int]
    holder_ref: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    events: Mapped[list[BookingEvent]] = relationship(order_by="BookingEvent.id",
                                                      cascade="all, delete-orphan")


class BookingEvent(Base):
    __tablename__ = "booking_events"
    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime]
    note: Mapped[str] = mapped_column(String(200))


# ---------------------------------------------------------------- health
class Hospital(Base):
    __tablename__ = "hospitals"
    code: Mapped[str] = mapped_column(String(30), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    kecamatan: Mapped[str] = mapped_column(String(40))
    latitude: Mapped[float]
    longitude: Mapped[float]
    phone: Mapped[str | None] = mapped_column(String(30))
    updated_at: Mapped[datetime]
    beds: Mapped[list[BedCount]] = relationship(order_by="BedCount.position")


class BedCount(Base):
    __tablename__ = "bed_counts"
    hospital_code: Mapped[str] = mapped_column(ForeignKey("hospitals.code"), primary_key=True)
    bed_class: Mapped[str] = mapped_column(String(20), primary_key=True)
    position: Mapped[int]
    capacity: Mapped[int]
    free: Mapped[int]


# ---------------------------------------------------------------- tax
class PbbObject(Base):
    __tablename__ = "pbb_objects"
    nop: Mapped[str] = mapped_column(String(18), primary_key=True)
    owner_name: Mapped[str] = mapped_column(String(80))
    kecamatan: Mapped[str] = mapped_column(String(40))
    kelurahan: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(160))
    land_m2: Mapped[int]
    building_m2: Mapped[int]
    bills: Mapped[list[PbbBill]] = relationship(order_by="PbbBill.year")


class PbbBill(Base):
    __tablename__ = "pbb_bills"
    nop: Mapped[str] = mapped_column(ForeignKey("pbb_objects.nop"), primary_key=True)
    year: Mapped[int] = mapped_column(primary_key=True)
    amount: Mapped[int]
    due_date: Mapped[date]
    paid_on: Mapped[date | None]


class PdamCustomer(Base):
    __tablename__ = "pdam_customers"
    customer_no: Mapped[str] = mapped_column(String(10), primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    kecamatan: Mapped[str] = mapped_column(String(40))
    kelurahan: Mapped[str] = mapped_column(String(40))
    tariff_group: Mapped[str] = mapped_column(String(10))
    bills: Mapped[list[PdamBill]] = relationship(order_by="PdamBill.period")


class PdamBill(Base):
    __tablename__ = "pdam_bills"
    __table_args__ = (UniqueConstraint("customer_no", "period"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    customer_no: Mapped[str] = mapped_column(ForeignKey("pdam_customers.customer_no"))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    usage_m3: Mapped[int]
    amount: Mapped[int]
    due_date: Mapped[date]
    paid_on: Mapped[date | None]


# ---------------------------------------------------------------- status webhooks (outbox)
class WebhookDelivery(Base):
    """A status event an agency owes Pintu: written in the same transaction as the change, sent
    (signed) until Pintu answers 2xx, so a change is never lost to a gateway that was away."""

    __tablename__ = "webhook_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    agency: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(64), unique=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    delivered_at: Mapped[datetime | None]
    failed_at: Mapped[datetime | None]  # refused for good (4xx): a contract error to look at
    last_error: Mapped[str | None] = mapped_column(String(200))
