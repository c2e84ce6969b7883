"""Gateway tables: tickets, their history, handoff requests, and the channels' contacts,
conversations, messages and dead letters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    ColumnElement,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    and_,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from .db import Base, utcnow
from .privacy.columns import EncryptedJSON, EncryptedText, KeyedHash
from .privacy.crypto import lookup_hash

# Personal data is encrypted at rest (EncryptedText, EncryptedJSON; docs/privacy.md); a value
# looked up is found by its keyed hash (`*_hash`, set whenever the value is), never by itself.
SENDER_HASH = "sender"
CONTACT_HASH = "contact"
MESSAGE_ID_HASH = "message"


def sender_hash(sender_id: str) -> str:
    """The lookup hash of a "<channel>:<chat id>" sender id (tickets, handoff requests)."""
    return lookup_hash(sender_id, SENDER_HASH)


class Ticket(Base):
    """A complaint (LAKSA) the resident filed through Pintu; its number is ours, given at once."""

    __tablename__ = "tickets"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # "complaint"
    sender_id: Mapped[str] = mapped_column(EncryptedText)  # channel:id, to answer later
    sender_hash: Mapped[str] = mapped_column(String(64), index=True)
    category: Mapped[str] = mapped_column(String(40))
    agency: Mapped[str] = mapped_column(String(120))
    expected_response_days: Mapped[int]
    payload: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
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

    @validates("sender_id")
    def _hash_sender(self, _key: str, value: str) -> str:
        self.sender_hash = sender_hash(value)
        return value


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
    """A conversation handed to a person: the resident asked, the bot escalated (an emergency,
    repeated misunderstanding), or an officer took it over.

    waiting (in the queue) -> active (an officer has it) -> closed (with a resolution); while
    waiting or active the bot is silent for the sender on every channel (`bot.handoff`).
    """

    __tablename__ = "handoff_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    sender_id: Mapped[str] = mapped_column(EncryptedText)  # "<channel>:<chat id>"
    sender_hash: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(String(40))
    urgent: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str | None] = mapped_column(EncryptedText)
    status: Mapped[str] = mapped_column(String(16), default="waiting")  # waiting|active|closed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    channel: Mapped[str | None] = mapped_column(String(16))
    contact_id: Mapped[int | None] = mapped_column(
        ForeignKey("contacts.id", ondelete="SET NULL", name="fk_handoff_requests_contact_id"))
    service: Mapped[str | None] = mapped_column(String(40))  # the service the resident was on
    assigned_to: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL", name="fk_handoff_requests_assigned_to"))
    assigned_at: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    last_resident_at: Mapped[datetime | None]
    # The resident was told honestly that nobody could take the chat yet (time or after hours).
    delay_notice_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL", name="fk_handoff_requests_closed_by"))
    resolution: Mapped[str | None] = mapped_column(String(16))  # resolved|referred|no_response
    rating: Mapped[int | None]
    rated_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_handoff_requests_status", "status", "created_at"),)

    @validates("sender_id")
    def _hash_sender(self, _key: str, value: str) -> str:
        self.sender_hash = sender_hash(value)
        return value


class HandoffNote(Base):
    """An officer's internal note on a handoff; never shown to the resident."""

    __tablename__ = "handoff_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(
        ForeignKey("handoff_requests.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id",
                                                            ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedReply(Base):
    """A ready-made Indonesian answer officers pick in the reply box, and can edit."""

    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(80), unique=True)
    body: Mapped[str] = mapped_column(Text)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id",
                                                              ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Contact(Base):
    """A resident as one channel knows them (a Telegram chat, a WhatsApp number, a local chat id).

    `external_id` is what the channel needs to answer (Telegram chat id, WhatsApp wa_id),
    encrypted; it is looked up by `external_hash` (`Contact.by_channel_id`). Nothing else about
    the person is kept here: no name, no profile.
    """

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))  # telegram | whatsapp | api
    external_id: Mapped[str] = mapped_column(EncryptedText)
    external_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8), default="id")
    # "active"; "stopped" when the resident blocked the bot or opted out of broadcasts.
    status: Mapped[str] = mapped_column(String(16), default="active")
    first_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The last message the resident sent us: opens WhatsApp's 24-hour customer-service window.
    last_inbound_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("channel", "external_hash",
                                       name="uq_contacts_channel_hash"),)

    @validates("external_id")
    def _hash_external_id(self, _key: str, value: str) -> str:
        self.external_hash = lookup_hash(value, CONTACT_HASH)
        return value

    @classmethod
    def by_channel_id(cls, channel: str, external_id: str) -> ColumnElement[bool]:
        """The WHERE clause finding one channel's contact by its chat id."""
        return and_(cls.channel == channel,
                    cls.external_hash == lookup_hash(external_id, CONTACT_HASH))


class Conversation(Base):
    """A run of messages between one contact and Pintu; a new one starts after a day of silence."""

    __tablename__ = "conversations"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"),
                                            index=True)
    status: Mapped[str] = mapped_column(String(16), default="bot")  # bot | handoff | closed
    urgent: Mapped[bool] = mapped_column(default=False)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(Base):
    """One message in or out. `content` holds the text or, for media, a reference to the stored
    file (never the bytes); `status` follows the channel's receipts for outgoing messages."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    channel: Mapped[str] = mapped_column(String(16))
    # The channel's id: Telegram "<chat>:<message_id>" or update id, WhatsApp "wamid...", stored
    # as its keyed hash (it holds the chat id): looked up by equality, read back as the hash.
    channel_message_id: Mapped[str | None] = mapped_column(KeyedHash(MESSAGE_ID_HASH, 160))
    # Outgoing messages: the id the gateway gave the queued job, so that the sender can record
    # the outcome whether or not this row was written before the send.
    ref: Mapped[str | None] = mapped_column(String(32))
    # Written by an officer (staff inbox) rather than the bot.
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL", name="fk_messages_staff_id"))
    kind: Mapped[str] = mapped_column(String(16))  # text, button, location, image, document, ...
    content: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON, default=dict)
    # in: received -> processed; out: queued -> sent -> delivered -> read, or failed / dead
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        UniqueConstraint("channel", "channel_message_id", name="uq_messages_channel_id"),
        UniqueConstraint("ref", name="uq_messages_ref"),
    )


class DeadLetter(Base):
    """An outgoing message given up on after its last try, with the reason, for staff to see."""

    __tablename__ = "dead_letters"

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(EncryptedText)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id", ondelete="SET NULL"))
    request: Mapped[dict[str, Any]] = mapped_column(EncryptedJSON)
    reason: Mapped[str] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffUser(Base):
    """A city officer who signs in to the staff inbox: agent, supervisor or admin."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))  # agent | supervisor | admin
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    failed_logins: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    last_login_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Automatic assignment gives an available agent at most `capacity` open chats.
    available: Mapped[bool] = mapped_column(default=False, server_default=false())
    capacity: Mapped[int] = mapped_column(default=5, server_default="5")


class StaffSession(Base):
    """A signed-in browser. Only the token's SHA-256 is stored; the cookie holds the token."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"),
                                          index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]


class AuditEntry(Base):
    """Who did or saw what, when: every view of personal data and every sensitive action."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id",
                                                            ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))  # e.g. login, reveal_personal_data
    subject: Mapped[str | None] = mapped_column(String(80))  # e.g. "conversation:12"
    reason: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ip: Mapped[str | None] = mapped_column(String(64))


class Prediction(Base):
    """What the NLU understood of one resident message, kept for admins to review and to turn into
    training data (`bot.learning`). Only the masked text is stored (NIK, KK and phone digits
    starred in place, so entity offsets still fit); button presses are not predictions."""

    __tablename__ = "nlu_predictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str | None] = mapped_column(String(80))
    text: Mapped[str] = mapped_column(EncryptedText)  # masked (names remain: encrypted)
    # Lower-cased, numbers and punctuation folded: messages that say the same thing share it
    # (grouped in Python, after decryption).
    text_key: Mapped[str] = mapped_column(EncryptedText)
    intent: Mapped[str | None] = mapped_column(String(64))
    confidence: Mapped[float] = mapped_column(default=0.0)
    ranking: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # Values masked like the text.
    entities: Mapped[list[Any]] = mapped_column(EncryptedJSON, default=list)
    fallback: Mapped[bool] = mapped_column(default=False)  # answered with a fallback
    unsure: Mapped[bool] = mapped_column(default=False)  # confidence below the review bar
    flagged_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL", name="fk_nlu_predictions_flagged_by"))
    flagged_at: Mapped[datetime | None]
    # none (confident, not for review) | pending | labelled | dismissed
    review: Mapped[str] = mapped_column(String(16), default="none")
    label_intent: Mapped[str | None] = mapped_column(String(64))
    label_entities: Mapped[list[Any]] = mapped_column(EncryptedJSON, default=list)
    labelled_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL", name="fk_nlu_predictions_labelled_by"))
    labelled_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_nlu_predictions_review", "review"),)



class Consent(Base):
    """A resident's yes to one kind of message Pintu may send unasked, with the words they said
    yes to (law on personal data protection: consent is specific, informed and provable).

    Topics: `city_news`, `own_updates` (their own documents and complaints), `kecamatan:<name>`.
    Withdrawing keeps the row (when and how, for the record); at most one active row per topic.
    """

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"),
                                            index=True)
    topic: Mapped[str] = mapped_column(String(64))
    wording: Mapped[str] = mapped_column(Text)  # exactly what the resident was shown
    wording_version: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(32))  # start_word | subscribe | receipt | link
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]
    withdrawn_by: Mapped[str | None] = mapped_column(String(32))  # stop_word | intent | blocked

    __table_args__ = (Index("uq_consents_active", "contact_id", "topic", unique=True,
                            postgresql_where=text("withdrawn_at IS NULL"),
                            sqlite_where=text("withdrawn_at IS NULL")),)

class ModelVersion(Base):
    """A trained model: where it is, what it was trained on and how it scored."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(80), unique=True)  # the file name's stem
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="training")  # training|ready|failed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL", name="fk_model_versions_created_by"))
    data_hash: Mapped[str | None] = mapped_column(String(64))
    config_hash: Mapped[str | None] = mapped_column(String(64))
    pipeline: Mapped[str | None] = mapped_column(Text)  # the config.yml it was trained with
    epochs_override: Mapped[int | None]
    training_seconds: Mapped[float | None]
    examples: Mapped[int | None]
    labelled_examples: Mapped[int | None]  # of which came from the review page
    # {"heldout": {...}, "cross_validation": {...}, "test_set_hash": ...} from `nlu.jobs evaluate`
    evaluation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    confusion_png: Mapped[str | None] = mapped_column(Text)
    promoted_at: Mapped[datetime | None]  # the last time it went live


class ModelPromotion(Base):
    """One change of the live model: a promotion or a rollback, with who and why."""

    __tablename__ = "model_promotions"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    previous_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id",
                                                            ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(16))  # promote | rollback
    gate: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    override_reason: Mapped[str | None] = mapped_column(Text)
    servers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ModelJob(Base):
    """A background job of the retraining loop (train, evaluate), with its progress."""

    __tablename__ = "model_jobs"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # train | evaluate
    status: Mapped[str] = mapped_column(String(16), default="queued")
    # queued -> running -> succeeded | failed | cancelled
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("model_versions.id", ondelete="SET NULL"))
    progress: Mapped[float] = mapped_column(default=0.0)
    stage: Mapped[str] = mapped_column(String(120), default="")
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id",
                                                              ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_model_jobs_status", "status", "created_at"),)


class StatusWatch(Base):
    """A resident waiting on an agency's record (a complaint, a birth registration, a KTP): when
    the agency reports a change, the resident is told on the channel they asked from.

    `ref` is the agency's reference as the agency's status webhook names it (our ticket number
    for LAKSA, the registration number for a birth certificate, Dukcapil's opaque resident_ref
    for a KTP): never a NIK or KK number."""

    __tablename__ = "status_watches"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"),
                                            index=True)
    agency: Mapped[str] = mapped_column(String(16))  # laksa | dukcapil
    kind: Mapped[str] = mapped_column(String(24))  # complaint | birth_registration | ktp
    ref: Mapped[str] = mapped_column(String(64))
    label: Mapped[str] = mapped_column(String(80))  # what the resident calls it
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_status: Mapped[str | None] = mapped_column(String(32))
    last_event_at: Mapped[datetime | None]

    __table_args__ = (UniqueConstraint("agency", "kind", "ref", "contact_id",
                                       name="uq_status_watches_record_contact"),
                      Index("ix_status_watches_record", "agency", "kind", "ref"))


class AgencyEvent(Base):
    """A status webhook an agency sent, kept once by its event id (a repeat is answered but not
    acted on again) with what came of it."""

    __tablename__ = "agency_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    agency: Mapped[str] = mapped_column(String(16))
    event_id: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    ref: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    occurred_at: Mapped[datetime]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    notified: Mapped[int] = mapped_column(default=0)  # residents told
    skipped: Mapped[int] = mapped_column(default=0)  # watchers without consent to updates

    __table_args__ = (UniqueConstraint("agency", "event_id", name="uq_agency_events_event"),)


class VerificationCode(Base):
    """The code printed with a finished document, checked on the public page /verifikasi.

    Only an HMAC of the code is stored (a database copy cannot be turned back into valid codes),
    with what the page may show: the kind of document, the holder's initials, where it is
    collected and when it was issued. Never a name, NIK or number of the document itself."""

    __tablename__ = "verification_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    agency: Mapped[str] = mapped_column(String(16))
    kind: Mapped[str] = mapped_column(String(24))
    document_label: Mapped[str] = mapped_column(String(80))
    holder_initials: Mapped[str] = mapped_column(String(16))
    office: Mapped[str | None] = mapped_column(String(120))
    issued_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class OutreachLink(Base):
    """A shareable way in (docs/outreach.md, "Reaching new residents"): a code carried by the
    Telegram deep link (`?start=<code>`) and the WhatsApp link's prefilled words, printed as QR
    codes on a poster for one kelurahan, one kecamatan or one campaign."""

    __tablename__ = "outreach_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)  # [a-z0-9-], e.g. kel-cipondoh
    kind: Mapped[str] = mapped_column(String(16))  # kelurahan | kecamatan | campaign
    kelurahan: Mapped[str | None] = mapped_column(String(60))
    kecamatan: Mapped[str | None] = mapped_column(String(40))
    campaign: Mapped[str | None] = mapped_column(String(120))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("staff_users.id", ondelete="SET NULL", name="fk_outreach_links_created_by"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class OutreachVisit(Base):
    """A resident arriving through an outreach link. `brought` marks the visit that was the
    contact's very first message: at most one per contact, never overwritten by later links
    (the contact's source); later visits are counted beside it."""

    __tablename__ = "outreach_visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    link_id: Mapped[int] = mapped_column(ForeignKey("outreach_links.id", ondelete="CASCADE"),
                                         index=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"),
                                            index=True)
    channel: Mapped[str] = mapped_column(String(16))
    # The delivery's id ("<channel>:<dedup id>"): a message handled twice is counted once.
    delivery: Mapped[str] = mapped_column(String(160), unique=True)
    brought: Mapped[bool] = mapped_column(default=False)
    at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("uq_outreach_visits_source", "contact_id", unique=True,
                            postgresql_where=text("brought"), sqlite_where=text("brought")),)


class WhatsAppTemplate(Base):
    """A WhatsApp message template an admin registered after Meta approved it (name, language,
    the names of its {{1}}, {{2}} ... variables and its body, for previews). Only registered or
    file-listed (data/whatsapp/templates.yml) templates may go out, and only they reach
    residents outside the 24-hour window."""

    __tablename__ = "whatsapp_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(512))
    language: Mapped[str] = mapped_column(String(16), default="id")
    variables: Mapped[list[Any]] = mapped_column(JSON, default=list)
    body: Mapped[str] = mapped_column(Text, default="")
    category: Mapped[str] = mapped_column(String(16), default="MARKETING")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id",
                                                              ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("name", "language", name="uq_whatsapp_templates_name"),)


class Campaign(Base):
    """A broadcast an admin wrote (docs/outreach.md, "Campaigns"): the message, the segment it
    goes to, when, and how far it got.

    draft -> scheduled -> sending <-> paused -> done, or cancelled from any of these."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(120))
    text: Mapped[str] = mapped_column(Text)
    image_ref: Mapped[str | None] = mapped_column(String(200))  # a MediaStore reference
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"title", "payload"}]
    # {"topic": "city_news", "kecamatan": "Cipondoh"|None, "channels": [...],
    #  "active_since": "2026-11-01"|None}
    segment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # WhatsApp residents outside the 24-hour window get this template, else they are skipped.
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("whatsapp_templates.id", ondelete="SET NULL"))
    template_params: Mapped[list[Any]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), default="draft")
    scheduled_at: Mapped[datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id",
                                                              ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    queued_at: Mapped[datetime | None]  # recipients chosen (the segment frozen)
    queue_seconds: Mapped[float | None]
    recipients: Mapped[int] = mapped_column(default=0)
    finished_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_campaigns_state", "state", "scheduled_at"),)


class CampaignRecipient(Base):
    """One resident of one campaign: at most one row each (nobody receives a broadcast twice).

    queued -> claimed (handed to the outbox, `ref` set) -> sending (recorded just before the
    HTTP call: never sent again) -> sent -> delivered -> read; or failed, skipped (consent
    withdrawn, outside the window without a template, cancelled) or unconfirmed (a worker died
    during the call; see docs/outreach.md)."""

    __tablename__ = "campaign_recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    ref: Mapped[str | None] = mapped_column(String(32), unique=True)
    channel_message_id: Mapped[str | None] = mapped_column(KeyedHash(MESSAGE_ID_HASH, 160),
                                                           index=True)  # as Message's
    error: Mapped[str | None] = mapped_column(String(200))
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    __table_args__ = (
        UniqueConstraint("campaign_id", "contact_id", name="uq_campaign_recipients_contact"),
        Index("ix_campaign_recipients_state", "campaign_id", "state", "id"),
    )
