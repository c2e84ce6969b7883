"""Human handoff: a conversation goes to a city officer, and back to the bot.

A handoff is a `HandoffRequest` row: waiting (in the staff inbox's queue) -> active (an officer
has it) -> closed (with a resolution). While it is waiting or active the bot is silent for that
resident on every channel: the channel worker (`bot.inbox`) and the local chat API ask
`intercept` before they ask Rasa, and the resident's messages go to the inbox instead. A Redis
key per sender (`pintu:handoff:<sender>`) makes that check one round trip; the database is the
truth, and `reconcile` rebuilds the keys from it (at once when Redis has lost them: the marker
key `pintu:handoff:synced` is read in the same round trip).

Officers' messages go out through the same outbound path as the bot's (`Inbox.deliver`), so
rate limits, retries, WhatsApp's 24-hour window and dead letters apply to them too. After a
close the bot asks the resident to rate the help (1-5); the answer is taken here, not by Rasa.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from redis.asyncio import Redis
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from integrations.replies import Option, Reply, Template

from . import events, records
from .aio import raise_if_cancelled
from .db import aware, utcnow
from .models import (
    Contact,
    Conversation,
    HandoffNote,
    HandoffRequest,
    Message,
    StaffUser,
    sender_hash,
)
from .office import OfficeHours
from .outbound import whatsapp_templates, window_key
from .staff.audit import record as audit
from .staff.audit import record_view as audit_view
from .staff.auth import SignedIn, can
from .staff.masking import has_personal, mask_personal

log = logging.getLogger(__name__)

WAITING, ACTIVE, CLOSED = "waiting", "active", "closed"
OPEN_STATES = (WAITING, ACTIVE)
RESOLUTIONS = {
    "resolved": "Selesai ditangani",
    "referred": "Diteruskan ke dinas",
    "no_response": "Warga tidak merespons",
}
CANCELLED = "cancelled"  # the resident changed their mind while waiting
REASONS = {
    "permintaan_warga": "Warga minta petugas",
    "tidak_dipahami": "Bot dua kali tidak paham",
    "darurat": "Darurat",
    "darurat_lokasi": "Darurat (lokasi)",
    "diambil_petugas": "Diambil alih petugas",
}
# The services residents ask about (NLU intents), as staff screens name them.
SERVICE_LABELS = {
    "ktp": "KTP-el", "kk": "Kartu Keluarga", "birth_certificate": "Akta kelahiran",
    "death_certificate": "Akta kematian", "relocation": "Pindah domisili",
    "request_status": "Cek status", "complaint": "Pengaduan (LAKSA)",
    "queue_booking": "Antrean", "emergency": "Darurat", "health_service": "Kesehatan",
    "tax_payment": "Pajak & PDAM", "job_info": "Lowongan kerja",
    "school_enrollment": "Sekolah (PPDB)", "account_registration": "Akun Tangerang LIVE",
    "office_info": "Alamat & jam kantor", "subscribe": "Langganan info",
    "unsubscribe": "Berhenti langganan",
}
RATING_TTL_S = 3 * 24 * 3600
TRANSCRIPT_LIMIT = 200
# An update of an open conversation (`after` > 0) is recorded when the officer has no view of it
# on record this long: a working day, as long as a staff session lasts.
VIEW_SPAN = timedelta(hours=12)

JOINED = ("Anda sekarang terhubung dengan petugas {name}. Silakan sampaikan keperluan Anda; "
          "petugas membalas di chat ini.")
TRANSFERRED = "Percakapan Anda dialihkan ke petugas {name}. Mohon tunggu balasannya."
CLOSED_TEXT = ("Percakapan dengan petugas sudah selesai. Pintu (bot) kembali melayani Anda; "
               "ketik menu untuk melihat layanan.")
RATE_TEXT = "Bagaimana pelayanan petugas tadi? Pilih nilai 1 (buruk) sampai 5 (sangat baik)."
RATED = "Terima kasih atas penilaian Anda. Ketik menu bila ada lagi yang bisa dibantu."
CANCELLED_TEXT = ("Baik, permintaan bicara dengan petugas dibatalkan. Pintu (bot) kembali "
                  "melayani Anda; ketik menu untuk melihat layanan.")
_CANCEL_WORDS = frozenset({"batal", "tidak jadi", "gak jadi", "ga jadi", "nggak jadi",
                           "kembali ke bot", "batalkan"})
_RATING = re.compile(r"^\s*(?:#nilai\s+)?([1-5])(?:\s*(?:bintang|\*|⭐))?\s*[.!]?\s*$", re.I)
_STARS = re.compile(r"^\s*(⭐{1,5})\s*$")


# Present while the per-sender keys mirror the database (set by `reconcile`).
SYNCED_KEY = "pintu:handoff:synced"


HANDOFF_PREFIX, RATING_PREFIX = "pintu:handoff:", "pintu:rating:"
# What a channel worker reads with each message it claims (bot.queues peek), so that
# `intercept` needs no round trip of its own: (prefixes, keys).
INTERCEPT_PEEK = ((HANDOFF_PREFIX, RATING_PREFIX), (SYNCED_KEY,))


def handoff_key(sender: str) -> str:
    return HANDOFF_PREFIX + sender


def rating_key(sender: str) -> str:
    return RATING_PREFIX + sender


def split_sender(sender: str) -> tuple[str, str]:
    channel, _, chat_id = sender.partition(":")
    return channel, chat_id


CHANNEL_LABELS = {"whatsapp": "WhatsApp", "telegram": "Telegram", "api": "Chat lokal"}


def resident_label(channel: str, chat_id: str) -> str:
    """How staff screens name a resident: the channel and the last 4 characters of the chat
    id ("WhatsApp ···5432"), never the number."""
    return f"{CHANNEL_LABELS.get(channel, channel or '?')} ···{chat_id[-4:]}"


def parse_rating(text: str) -> int | None:
    """1-5 from "4", "#nilai 4", "4 bintang" or "⭐⭐⭐⭐"; None otherwise."""
    match = _RATING.match(text or "")
    if match:
        return int(match.group(1))
    stars = _STARS.match(text or "")
    return len(stars.group(1)) if stars else None


class HandoffError(Exception):
    """An officer's action that cannot be done; the message is Indonesian, safe to show."""


class Deliver(Protocol):
    async def __call__(self, channel: str, chat_id: str, replies: list[Reply], *,
                       staff_id: int | None = None) -> None: ...


@dataclass(frozen=True)
class Intercepted:
    """What the handoff layer did with a resident's message instead of passing it to Rasa."""

    replies: list[Reply] = field(default_factory=list)
    handoff_id: int | None = None  # the message belongs to this handoff: show it to staff


@dataclass
class HandoffSettings:
    first_response_s: float = 300.0  # waiting longer than this is overdue (highlighted)
    notice_after_s: float = 600.0  # then the resident is told honestly when to expect an answer
    auto_assign: bool = False
    office: OfficeHours = field(default_factory=OfficeHours)


class HandoffService:
    """Opens, routes and closes handoffs; the staff inbox's actions and views."""

    def __init__(self, redis: Redis, sessions: sessionmaker, deliver: Deliver,
                 settings: HandoffSettings | None = None) -> None:
        self._redis = redis
        self._sessions = sessions
        self._deliver = deliver
        self.settings = settings or HandoffSettings()
        # The approved WhatsApp templates by name, read once (data/whatsapp/templates.yml).
        self.templates = whatsapp_templates()

    # -- the resident's side --------------------------------------------------------------

    async def intercept(self, sender: str, text: str,
                        known: tuple[str | None, ...] = ()) -> Intercepted | None:
        """Before Rasa: None to let the bot answer; otherwise what to do instead.

        While a handoff is open the bot stays silent (the message belongs to the handoff),
        except that "batal" while still waiting cancels it. Right after a close, a rating
        answer is stored and thanked for. `known` is the three values of INTERCEPT_PEEK when
        the caller read them already."""
        values: list[Any] = list(known) if len(known) == 3 else await self._redis.mget(
            [handoff_key(sender), rating_key(sender), SYNCED_KEY])
        current, rating_for, synced = values
        if synced is None:  # Redis lost its keys (a restart without persistence): rebuild
            await self.reconcile()
            current = await self._redis.get(handoff_key(sender))
        if current:
            handoff_id = int(current)
            if text.strip().lower() in _CANCEL_WORDS and \
                    await asyncio.to_thread(self._cancel_waiting, handoff_id):
                await self._redis.delete(handoff_key(sender))
                await events.publish(self._redis, {"type": "queue"})
                return Intercepted([Reply(text=CANCELLED_TEXT)])
            return Intercepted(handoff_id=handoff_id)
        if rating_for:
            await self._redis.delete(rating_key(sender))
            score = parse_rating(text)
            if score is not None:
                await asyncio.to_thread(self._rate, int(rating_for), score)
                return Intercepted([Reply(text=RATED)])
        return None

    async def resident_wrote(self, handoff_id: int) -> None:
        """A resident's message was stored for an open handoff: tell the inbox."""
        await asyncio.to_thread(self._touch_resident, handoff_id)
        await events.publish(self._redis, {"type": "message", "handoff_id": handoff_id})

    def _touch_resident(self, handoff_id: int) -> None:
        with self._sessions.begin() as session:
            session.execute(update(HandoffRequest).where(HandoffRequest.id == handoff_id)
                            .values(last_resident_at=utcnow()))

    def _cancel_waiting(self, handoff_id: int) -> bool:
        with self._sessions.begin() as session:
            handoff = session.get(HandoffRequest, handoff_id, with_for_update=True)
            if handoff is None or handoff.status != WAITING:
                return False
            handoff.status, handoff.resolution, handoff.closed_at = CLOSED, CANCELLED, utcnow()
            return True

    def _rate(self, handoff_id: int, score: int) -> None:
        with self._sessions.begin() as session:
            session.execute(update(HandoffRequest).where(HandoffRequest.id == handoff_id)
                            .values(rating=score, rated_at=utcnow()))

    # -- opening ----------------------------------------------------------------------------

    async def open(self, sender: str, reason: str, *, urgent: bool = False,
                   note: str | None = None, service: str | None = None) -> tuple[int, str]:
        """Queues a resident's conversation for an officer (one open handoff per resident);
        returns its id and status."""
        async with self._redis.lock(f"pintu:lock:handoff:{sender}", timeout=30,
                                    blocking_timeout=30):
            handoff_id, status, created = await asyncio.to_thread(
                self._open, sender, reason, urgent, note, service)
            await self._redis.set(handoff_key(sender), str(handoff_id))
            await self._redis.delete(rating_key(sender))
        if created:
            log.info("handoff %d opened (reason=%s, urgent=%s)", handoff_id, reason, urgent)
        await events.publish(self._redis, {"type": "queue"})
        if created and self.settings.auto_assign:
            await self.auto_assign()
        return handoff_id, status

    def _open(self, sender: str, reason: str, urgent: bool, note: str | None,
              service: str | None) -> tuple[int, str, bool]:
        channel, chat_id = split_sender(sender)
        now = utcnow()
        with self._sessions.begin() as session:
            existing = session.scalar(
                select(HandoffRequest).where(HandoffRequest.sender_hash == sender_hash(sender),
                                             HandoffRequest.status.in_(OPEN_STATES))
                .order_by(HandoffRequest.id.desc()).limit(1))
            if existing is not None:
                existing.urgent = existing.urgent or urgent
                if note:
                    existing.note = note
                existing.service = existing.service or service
                return existing.id, existing.status, False
            contact = records.touch_contact(session, channel, chat_id, inbound=False)
            session.flush()
            handoff = HandoffRequest(sender_id=sender, reason=reason, urgent=urgent, note=note,
                                     status=WAITING, channel=channel, contact_id=contact.id,
                                     service=service, created_at=now, last_resident_at=now)
            session.add(handoff)
            session.flush()
            return handoff.id, handoff.status, True

    async def takeover(self, contact_id: int, staff: SignedIn) -> int:
        """An officer takes a conversation the bot is handling (from the live list)."""
        sender = await asyncio.to_thread(self._sender_of_contact, contact_id)
        handoff_id, _ = await self.open(sender, "diambil_petugas")
        await self.take(handoff_id, staff)
        return handoff_id

    def _sender_of_contact(self, contact_id: int) -> str:
        with self._sessions() as session:
            contact = session.get(Contact, contact_id)
            if contact is None:
                raise HandoffError("Percakapan tidak ditemukan.")
            return f"{contact.channel}:{contact.external_id}"

    # -- officers' actions --------------------------------------------------------------------

    async def take(self, handoff_id: int, staff: SignedIn) -> None:
        """An officer takes a waiting conversation (or one already theirs)."""
        await self._assign_and_tell(handoff_id, staff.staff_id, staff, transfer_allowed=False)

    async def assign(self, handoff_id: int, to_staff_id: int, by: SignedIn) -> None:
        """A supervisor assigns a waiting conversation or transfers an active one."""
        if not can(by.role, "supervisor"):
            raise HandoffError("Hanya supervisor yang dapat menugaskan atau mengalihkan.")
        await self._assign_and_tell(handoff_id, to_staff_id, by, transfer_allowed=True)

    async def _assign_and_tell(self, handoff_id: int, to_staff_id: int, by: SignedIn, *,
                               transfer_allowed: bool) -> None:
        sender, name, transfer = await asyncio.to_thread(
            self._assign, handoff_id, to_staff_id, by, transfer_allowed)
        if name is not None:
            await self._tell(sender, (TRANSFERRED if transfer else JOINED).format(name=name))
        await events.publish(self._redis, {"type": "queue", "handoff_id": handoff_id})

    def _assign(self, handoff_id: int, to_staff_id: int, by: SignedIn,
                transfer_allowed: bool) -> tuple[str, str | None, bool]:
        """The sender, the officer's name to announce (None: nothing changed), and whether it
        is a transfer from another officer."""
        with self._sessions.begin() as session:
            handoff = session.get(HandoffRequest, handoff_id, with_for_update=True)
            if handoff is None or handoff.status == CLOSED:
                raise HandoffError("Percakapan ini sudah ditutup atau tidak ada.")
            target = session.get(StaffUser, to_staff_id)
            if target is None or not target.active:
                raise HandoffError("Petugas tujuan tidak ditemukan atau tidak aktif.")
            if handoff.status == ACTIVE and handoff.assigned_to == to_staff_id:
                return handoff.sender_id, None, False
            transfer = handoff.status == ACTIVE
            if transfer and not transfer_allowed:
                raise HandoffError("Percakapan ini sudah diambil petugas lain.")
            handoff.status, handoff.assigned_to, handoff.assigned_at = ACTIVE, target.id, utcnow()
            action = "transfer_handoff" if transfer else \
                "take_handoff" if by.staff_id == target.id else "assign_handoff"
            audit(session, by.staff_id, action, subject=f"handoff:{handoff_id}",
                  detail={"to": target.username} if by.staff_id != target.id else None)
            return handoff.sender_id, target.display_name, transfer

    async def reply(self, handoff_id: int, staff: SignedIn, text: str) -> None:
        """An officer's message to the resident."""
        text = text.strip()
        if not text:
            raise HandoffError("Pesan kosong.")
        if len(text) > 4000:
            raise HandoffError("Pesan terlalu panjang (maksimal 4000 karakter).")
        await self.reply_with(handoff_id, staff, Reply(text=text))

    async def reply_with(self, handoff_id: int, staff: SignedIn, reply: Reply) -> None:
        """An officer's message (text, or an attachment with a caption) to the resident."""
        await self._send(handoff_id, staff, lambda channel: reply, template=False)

    async def send_template(self, handoff_id: int, staff: SignedIn, name: str,
                            parameters: list[str]) -> None:
        """An approved WhatsApp template (the only thing allowed outside the 24-hour window)."""
        if name not in self.templates:
            raise HandoffError("Template tidak dikenal atau belum disetujui.")
        body = self.template_text(name, parameters)
        template = Template(name=name, parameters=tuple(parameters))
        await self._send(handoff_id, staff, lambda channel: Reply(
            text=body, template=template if channel == "whatsapp" else None), template=True)

    async def _send(self, handoff_id: int, staff: SignedIn, make: Callable[[str], Reply], *,
                    template: bool) -> None:
        """Checks that this officer may write, and (but for a template) that WhatsApp's window
        is open; sends; counts the first response only once something went out."""
        sender = await asyncio.to_thread(self._check_reply, handoff_id, staff)
        channel, chat_id = split_sender(sender)
        if not template and not await self.window_open(sender):
            raise HandoffError("Sudah lewat 24 jam sejak pesan terakhir warga: WhatsApp hanya "
                               "mengizinkan template yang disetujui.")
        await self._deliver(channel, chat_id, [make(channel)], staff_id=staff.staff_id)
        await asyncio.to_thread(self._first_response, handoff_id)
        await events.publish(self._redis, {"type": "message", "handoff_id": handoff_id})

    def _first_response(self, handoff_id: int) -> None:
        with self._sessions.begin() as session:
            session.execute(update(HandoffRequest).where(
                HandoffRequest.id == handoff_id, HandoffRequest.first_response_at.is_(None))
                .values(first_response_at=utcnow()))

    def template_text(self, name: str, parameters: list[str]) -> str:
        body = str(self.templates.get(name, {}).get("body", ""))
        for number, value in enumerate(parameters, start=1):
            body = body.replace("{{" + str(number) + "}}", value)
        return body

    def _check_reply(self, handoff_id: int, staff: SignedIn) -> str:
        with self._sessions.begin() as session:
            handoff = session.get(HandoffRequest, handoff_id, with_for_update=True)
            if handoff is None or handoff.status != ACTIVE:
                raise HandoffError("Ambil percakapan ini dulu sebelum membalas.")
            if handoff.assigned_to != staff.staff_id and not can(staff.role, "supervisor"):
                raise HandoffError("Percakapan ini ditangani petugas lain.")
            return handoff.sender_id

    async def window_open(self, sender: str) -> bool:
        channel, chat_id = split_sender(sender)
        if channel != "whatsapp":
            return True
        return bool(await self._redis.exists(window_key(channel, chat_id)))

    async def add_note(self, handoff_id: int, staff: SignedIn, text: str) -> None:
        text = text.strip()
        if not text:
            raise HandoffError("Catatan kosong.")
        await asyncio.to_thread(self._add_note, handoff_id, staff.staff_id, text[:4000])
        await events.publish(self._redis, {"type": "note", "handoff_id": handoff_id})

    def _add_note(self, handoff_id: int, staff_id: int, text: str) -> None:
        with self._sessions.begin() as session:
            if session.get(HandoffRequest, handoff_id) is None:
                raise HandoffError("Percakapan tidak ditemukan.")
            session.add(HandoffNote(handoff_id=handoff_id, staff_id=staff_id, text=text))

    async def close(self, handoff_id: int, staff: SignedIn, resolution: str) -> None:
        """Ends the handoff with a resolution; the bot takes over and asks for a rating."""
        if resolution not in RESOLUTIONS:
            raise HandoffError("Pilih hasil penanganan: selesai, diteruskan, atau tidak ada "
                               "respons.")
        sender = await asyncio.to_thread(self._close, handoff_id, staff, resolution)
        await self._redis.delete(handoff_key(sender))
        await events.publish(self._redis, {"type": "queue", "handoff_id": handoff_id})
        if not await self.window_open(sender):
            return  # WhatsApp allows no free-form message now; the bot answers their next one
        channel, chat_id = split_sender(sender)
        rating = Reply(text=RATE_TEXT, options=tuple(
            Option(title=f"{n} {'⭐' * n}", payload=f"#nilai {n}") for n in range(1, 6)),
            style="list", list_button="Beri nilai")
        await self._redis.set(rating_key(sender), str(handoff_id), ex=RATING_TTL_S)
        await self._deliver(channel, chat_id, [Reply(text=CLOSED_TEXT), rating])

    def _close(self, handoff_id: int, staff: SignedIn, resolution: str) -> str:
        with self._sessions.begin() as session:
            handoff = session.get(HandoffRequest, handoff_id, with_for_update=True)
            if handoff is None or handoff.status == CLOSED:
                raise HandoffError("Percakapan ini sudah ditutup.")
            if handoff.assigned_to != staff.staff_id and not can(staff.role, "supervisor"):
                raise HandoffError("Percakapan ini ditangani petugas lain.")
            handoff.status, handoff.resolution = CLOSED, resolution
            handoff.closed_at, handoff.closed_by = utcnow(), staff.staff_id
            audit(session, staff.staff_id, "close_handoff", subject=f"handoff:{handoff_id}",
                  detail={"resolution": resolution})
            return handoff.sender_id

    async def _tell(self, sender: str, text: str) -> None:
        channel, chat_id = split_sender(sender)
        if channel == "whatsapp" and not await self.window_open(sender):
            return  # outside the window a notice cannot go; the officer's template will
        await self._deliver(channel, chat_id, [Reply(text=text)])

    # -- automatic assignment and timers ------------------------------------------------------

    async def auto_assign(self) -> int:
        """Gives waiting chats to available agents, fewest open chats first, within capacity."""
        assigned = await asyncio.to_thread(self._auto_assign)
        for sender, name, handoff_id in assigned:
            await self._tell(sender, JOINED.format(name=name))
            await events.publish(self._redis, {"type": "queue", "handoff_id": handoff_id})
        return len(assigned)

    def _auto_assign(self) -> list[tuple[str, str, int]]:
        done: list[tuple[str, str, int]] = []
        with self._sessions.begin() as session:
            waiting = list(session.scalars(
                select(HandoffRequest).where(HandoffRequest.status == WAITING)
                .order_by(HandoffRequest.urgent.desc(), HandoffRequest.created_at)
                .with_for_update(skip_locked=True)))
            if not waiting:
                return done
            load = dict(session.execute(
                select(HandoffRequest.assigned_to, func.count())
                .where(HandoffRequest.status == ACTIVE)
                .group_by(HandoffRequest.assigned_to)).all())
            agents = list(session.scalars(select(StaffUser).where(
                StaffUser.active.is_(True), StaffUser.available.is_(True))))
            for handoff in waiting:
                free = [a for a in agents if load.get(a.id, 0) < a.capacity]
                if not free:
                    break
                agent = min(free, key=lambda a: (load.get(a.id, 0), a.id))
                handoff.status, handoff.assigned_to = ACTIVE, agent.id
                handoff.assigned_at = utcnow()
                load[agent.id] = load.get(agent.id, 0) + 1
                audit(session, None, "auto_assign_handoff", subject=f"handoff:{handoff.id}",
                      detail={"to": agent.username})
                done.append((handoff.sender_id, agent.display_name, handoff.id))
        return done

    async def check_waiting(self, now: datetime | None = None) -> int:
        """Tells residents nobody could take honestly when to expect an answer: at once outside
        office hours, else after `notice_after_s`. Returns how many were told."""
        now = now or utcnow()
        due = await asyncio.to_thread(self._due_notices, now)
        for handoff_id, sender, urgent in due:
            text = self.settings.office.delay_notice(now, urgent=urgent)
            await self._tell(sender, text)
            log.info("handoff %d: resident told when to expect an officer", handoff_id)
        if due:
            await events.publish(self._redis, {"type": "queue"})
        return len(due)

    def _due_notices(self, now: datetime) -> list[tuple[int, str, bool]]:
        after_hours = not self.settings.office.is_open(now)
        limit = now - timedelta(seconds=self.settings.notice_after_s)
        with self._sessions.begin() as session:
            query = select(HandoffRequest).where(HandoffRequest.status == WAITING,
                                                 HandoffRequest.delay_notice_at.is_(None))
            if not after_hours:
                query = query.where(HandoffRequest.created_at <= limit)
            rows = list(session.scalars(query.with_for_update(skip_locked=True)))
            for handoff in rows:
                handoff.delay_notice_at = now
            return [(h.id, h.sender_id, h.urgent) for h in rows]

    async def reconcile(self) -> None:
        """Rebuilds the per-sender Redis keys from the database (after a Redis restart)."""
        open_now = await asyncio.to_thread(self._open_senders)
        async with self._redis.pipeline(transaction=False) as pipe:
            for sender, handoff_id in open_now.items():
                pipe.set(handoff_key(sender), str(handoff_id))
            pipe.set(SYNCED_KEY, "1")
            await pipe.execute()

    def _open_senders(self) -> dict[str, int]:
        with self._sessions() as session:
            rows = session.execute(select(HandoffRequest.sender_id, HandoffRequest.id)
                                   .where(HandoffRequest.status.in_(OPEN_STATES))).all()
            return {sender: handoff_id for sender, handoff_id in rows}

    async def run_timers(self, interval_s: float = 15.0) -> None:
        """The periodic part (in the worker process): notices, automatic assignment, keys."""
        rounds = 0
        while True:
            raise_if_cancelled()
            try:
                await self.check_waiting()
                if self.settings.auto_assign:
                    await self.auto_assign()
                if rounds % 4 == 0:
                    await self.reconcile()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("handoff timer round failed")
            rounds += 1
            await asyncio.sleep(interval_s)

    # -- views -------------------------------------------------------------------------------

    async def queue(self, staff: SignedIn) -> dict[str, Any]:
        return await asyncio.to_thread(self._queue, staff, utcnow())

    def _queue(self, staff: SignedIn, now: datetime) -> dict[str, Any]:
        with self._sessions() as session:
            rows = list(session.scalars(
                select(HandoffRequest).where(HandoffRequest.status.in_(OPEN_STATES))
                .order_by(HandoffRequest.urgent.desc(), HandoffRequest.created_at)))
            names = dict(session.execute(select(StaffUser.id, StaffUser.display_name))
                         .all())
            supervisor = can(staff.role, "supervisor")
            shown = [h for h in rows if h.status == WAITING or supervisor
                     or h.assigned_to == staff.staff_id]
            last = self._last_inbound(session, [h.contact_id for h in shown if h.contact_id],
                                      now)
            waiting, mine, others = [], [], []
            for handoff in shown:
                item = self._summary(handoff, names, now, last.get(handoff.contact_id or 0, []))
                if handoff.status == WAITING:
                    waiting.append(item)
                elif handoff.assigned_to == staff.staff_id:
                    mine.append(item)
                else:
                    others.append(item)
            live = self._live(session, now)
            agents = [{"id": i, "name": n} for i, n in names.items()] \
                if can(staff.role, "supervisor") else []
        return {"waiting": waiting, "mine": mine, "others": others, "live": live,
                "agents": agents, "first_response_s": self.settings.first_response_s,
                "office_open": self.settings.office.is_open(now)}

    @staticmethod
    def _last_inbound(session: Session, contact_ids: list[int], now: datetime,
                      count: int = 3) -> dict[int, list[str]]:
        """The last `count` messages (texts, oldest first) of each contact in one query."""
        if not contact_ids:
            return {}
        rank = func.row_number().over(partition_by=Conversation.contact_id,
                                      order_by=Message.id.desc()).label("rank")
        recent = (select(Conversation.contact_id.label("contact_id"),
                         Message.id.label("id"), Message.content.label("content"), rank)
                  .join(Conversation, Message.conversation_id == Conversation.id)
                  .where(Conversation.contact_id.in_(contact_ids), Message.direction == "in",
                         Message.created_at >= now - timedelta(days=7))
                  .subquery())
        rows = session.execute(select(recent.c.contact_id, recent.c.content)
                               .where(recent.c.rank <= count)
                               .order_by(recent.c.contact_id, recent.c.id)).all()
        last: dict[int, list[str]] = {}
        for contact_id, content in rows:
            last.setdefault(contact_id, []).append(_content_text(content or {}))
        return last

    def _summary(self, handoff: HandoffRequest, names: dict[int, str], now: datetime,
                 last: list[str]) -> dict[str, Any]:
        waited = (now - aware(handoff.created_at)).total_seconds()
        return {
            "id": handoff.id, "status": handoff.status, "channel": handoff.channel,
            "reason": REASONS.get(handoff.reason, handoff.reason), "urgent": handoff.urgent,
            "service": SERVICE_LABELS.get(handoff.service or "", handoff.service),
            "waiting_s": int(waited),
            "overdue": handoff.status == WAITING and waited > self.settings.first_response_s,
            "flagged": handoff.delay_notice_at is not None and handoff.status == WAITING,
            "assigned_to": names.get(handoff.assigned_to or 0),
            "resident": resident_label(*split_sender(handoff.sender_id)),
            "last_messages": [mask_personal(text)[:140] for text in last],
        }


    def _live(self, session: Session, now: datetime) -> list[dict[str, Any]]:
        """Conversations the bot is handling now (a resident wrote in the last hour)."""
        since = now - timedelta(hours=1)
        busy = select(HandoffRequest.contact_id).where(HandoffRequest.status.in_(OPEN_STATES),
                                                        HandoffRequest.contact_id.is_not(None))
        contacts = list(session.scalars(
            select(Contact).where(Contact.last_inbound_at >= since, Contact.id.not_in(busy))
            .order_by(Contact.last_inbound_at.desc()).limit(50)))
        out = []
        for contact in contacts:
            out.append({"contact_id": contact.id, "channel": contact.channel,
                        "resident": resident_label(contact.channel, contact.external_id),
                        "last_inbound_s": int((now - aware(
                            contact.last_inbound_at or now)).total_seconds())})
        return out

    async def detail(self, handoff_id: int, staff: SignedIn, *, after: int = 0,
                     ip: str | None = None) -> dict[str, Any]:
        """One handoff with its transcript (masked) and notes. A full view (after == 0) of a
        resident's conversation is audited."""
        result = await asyncio.to_thread(self._detail, handoff_id, staff, after, ip)
        result["window_open"] = await self.window_open(result["sender"])
        del result["sender"]
        return result

    def _detail(self, handoff_id: int, staff: SignedIn, after: int,
                ip: str | None) -> dict[str, Any]:
        with self._sessions.begin() as session:
            handoff = session.get(HandoffRequest, handoff_id)
            if handoff is None:
                raise HandoffError("Percakapan tidak ditemukan.")
            if handoff.status == ACTIVE and handoff.assigned_to != staff.staff_id and \
                    not can(staff.role, "supervisor"):
                raise HandoffError("Percakapan ini ditangani petugas lain.")
            names = dict(session.execute(select(StaffUser.id, StaffUser.display_name))
                         .all())
            messages = list(session.scalars(
                select(Message).join(Conversation, Message.conversation_id == Conversation.id)
                .where(Conversation.contact_id == handoff.contact_id, Message.id > after)
                .order_by(Message.id.desc()).limit(TRANSCRIPT_LIMIT)))
            notes = list(session.scalars(select(HandoffNote).where(
                HandoffNote.handoff_id == handoff_id).order_by(HandoffNote.id)))
            if after == 0:
                audit(session, staff.staff_id, "view_conversation",
                      subject=f"handoff:{handoff_id}", ip=ip)
            else:  # an open view's new messages; without a view on record, this is one
                audit_view(session, staff.staff_id, "view_conversation", f"handoff:{handoff_id}",
                           ip=ip, within=VIEW_SPAN)
            return {
                "handoff": self._summary(handoff, names, utcnow(), []) | {
                    "note": mask_personal(handoff.note or ""),
                    "resolution": handoff.resolution, "rating": handoff.rating,
                    "mine": handoff.assigned_to == staff.staff_id},
                "messages": [self._message_view(m, names) for m in reversed(messages)],
                "notes": [{"id": n.id, "by": names.get(n.staff_id or 0, "?"),
                           "text": mask_personal(n.text),
                           "at": aware(n.created_at).isoformat()} for n in notes],
                "sender": handoff.sender_id,
            }

    @staticmethod
    def _message_view(message: Message, names: dict[int, str]) -> dict[str, Any]:
        text = _message_text(message)
        attachment = (message.content or {}).get("attachment") or {}
        return {
            "id": message.id, "direction": message.direction, "kind": message.kind,
            "text": mask_personal(text), "masked": has_personal(text),
            "by": names.get(message.staff_id or 0) if message.staff_id else
            ("Warga" if message.direction == "in" else "Pintu (bot)"),
            "status": message.status, "at": aware(message.created_at).isoformat(),
            "attachment": {"kind": attachment.get("kind"), "ref": attachment.get("ref"),
                           "name": attachment.get("filename")} if attachment.get("ref") else None,
        }

    async def reveal(self, message_id: int, staff: SignedIn, reason: str,
                     ip: str | None = None) -> str:
        """One message unmasked, for a stated reason, audited."""
        reason = reason.strip()
        if len(reason) < 5:
            raise HandoffError("Tuliskan alasan membuka data ini (minimal 5 karakter).")
        return await asyncio.to_thread(self._reveal, message_id, staff, reason[:500], ip)

    def _reveal(self, message_id: int, staff: SignedIn, reason: str, ip: str | None) -> str:
        with self._sessions.begin() as session:
            message = session.get(Message, message_id)
            if message is None:
                raise HandoffError("Pesan tidak ditemukan.")
            conversation = session.get(Conversation, message.conversation_id)
            handoff = session.scalar(
                select(HandoffRequest).where(HandoffRequest.contact_id ==
                                             (conversation.contact_id if conversation else -1))
                .order_by(HandoffRequest.id.desc()).limit(1))
            if handoff is None or (handoff.assigned_to != staff.staff_id and
                                   not can(staff.role, "supervisor")):
                raise HandoffError("Anda tidak menangani percakapan ini.")
            audit(session, staff.staff_id, "reveal_personal_data",
                  subject=f"message:{message_id}", reason=reason, ip=ip)
            return _message_text(message)


def _message_text(message: Message) -> str:
    return _content_text(message.content or {})


def _content_text(content: dict[str, Any]) -> str:
    text = str(content.get("text") or "")
    if not text and content.get("payload"):
        text = str(content["payload"])
    if not text and content.get("attachment"):
        kind = (content["attachment"] or {}).get("kind", "lampiran")
        text = f"[{kind}]"
    return text
