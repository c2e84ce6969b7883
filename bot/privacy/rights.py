"""Residents' rights in chat (UU 27/2022 PDP: access and erasure; docs/privacy.md).

"data saya" shows what Pintu holds about the sender; "hapus data saya" asks to confirm, then
erases it (`bot.privacy.erasure`). The gateway answers these itself, before the handoff
intercept and Rasa, like STOP/MULAI, so they work whatever the bot or an officer is doing.
Only whole messages count, matched after folding (`consent.fold`): a sentence that merely
mentions data goes to the NLU as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from redis.asyncio import Redis
from sqlalchemy.orm import Session, sessionmaker

from .. import records
from ..db import aware, in_transaction, utcnow
from ..events import publish
from ..handoff import handoff_key, rating_key, resident_label, split_sender
from ..localchat import mailbox_key
from ..media import MediaStore
from ..menus import MenuMemory, parse_choice
from ..office import WIB
from ..outreach.consent import fold
from ..rasa_client import BotMessage, RasaClient, RasaError
from ..staff.audit import record as audit
from ..tickets import status_label
from . import erasure

log = logging.getLogger(__name__)

# The whole message, folded: what asks to see, and what asks to erase.
ACCESS_PHRASES = frozenset({
    "data saya", "lihat data saya", "cek data saya", "tampilkan data saya", "data pribadi saya",
    "lihat data pribadi saya", "apa saja data saya", "data saya apa saja",
    "data apa yang disimpan", "data apa saja yang disimpan", "data apa yang kamu simpan",
    "data apa yang pintu simpan", "data saya yang disimpan"})
ERASE_PHRASES = frozenset({
    "hapus data saya", "hapus semua data saya", "hapus data pribadi saya",
    "tolong hapus data saya", "hapuskan data saya", "hapus seluruh data saya"})
YES_WORDS = frozenset({"ya", "ya hapus", "iya", "iya hapus", "ya hapus data saya"})
NO_WORDS = frozenset({"batal", "tidak", "tidak jadi", "gak jadi", "ga jadi", "jangan"})

PREFIX = "#pintu:privacy:"
ACCESS, ERASE, YES, NO = (PREFIX + p for p in ("data", "erase", "yes", "no"))
MENU = "/help"
PENDING_TTL_S = 10 * 60
FORGET_LATER = "pintu:privacy:forget"  # senders whose Rasa tracker could not be reset yet
# Senders who confirmed erasure -> when: the erasure runs once the answer is stored; one still
# here after ERASE_GRACE_S (a worker died between the two) is erased by `catch_up`.
ERASE_DUE = "pintu:privacy:erase-due"
ERASE_GRACE_S = 300

Command = Literal["access", "erase", "yes", "no"]
_BUTTONS: dict[str, Command] = {ACCESS: "access", ERASE: "erase", YES: "yes", NO: "no"}

SUMMARY_END = ("Isi pesan dan foto disimpan paling lama {days} hari, lalu dihapus otomatis. "
               "Untuk menghapus semuanya sekarang, pilih Hapus data saya.")
CONFIRM = ("Yakin ingin menghapus data Anda di Pintu? Yang dihapus: semua pesan dan foto, "
           "langganan, status yang Anda pantau, dan catatan percakapan dengan petugas. "
           "Penghapusan tidak bisa dibatalkan.")
CONFIRM_KEPT = ("\nLaporan yang masih diproses ({numbers}) tetap disimpan sampai selesai, tanpa "
                "kaitan dengan chat ini; statusnya tetap bisa dicek dengan nomornya.")
DONE = "Data Anda sudah dihapus: {what}."
DONE_KEPT = (" Laporan nomor {numbers} yang masih diproses tetap disimpan sampai selesai; "
             "cek statusnya dengan nomor itu.")
DONE_END = " Terima kasih telah menggunakan Pintu."
NOTHING = ("Pintu tidak menyimpan data lain tentang Anda, jadi tidak ada yang perlu dihapus. "
           "Ketik menu untuk melihat layanan.")
CANCELLED = ("Baik, penghapusan dibatalkan. Data Anda tidak diubah. Ketik menu untuk melihat "
             "layanan.")
CANCELLED_OTHER = ("Penghapusan data dibatalkan karena belum dikonfirmasi; data Anda tidak "
                   "diubah. Silakan kirim lagi pesan Anda, atau ketik menu.")
EXPIRED = ("Permintaan penghapusan sudah kedaluwarsa dan tidak ada yang dihapus. Bila masih "
           "ingin menghapus, ketik hapus data saya.")
NOT_NOW = ("Maaf, data Anda belum dapat dihapus karena gangguan sistem. Silakan coba lagi "
           "beberapa saat lagi.")

_SUMMARY_BUTTONS = ({"title": "Hapus data saya", "payload": ERASE},
                    {"title": "Menu", "payload": MENU})
_CONFIRM_BUTTONS = ({"title": "Ya, hapus", "payload": YES},
                    {"title": "Batal", "payload": NO})


def command(text: str, chosen: str | None = None) -> Command | None:
    """What a message asks of the resident's rights: a phrase typed alone, a `#pintu:privacy:`
    button (pressed, or `chosen` by typing its number); None otherwise. "ya" and "batal" are
    returned too, but mean something only while a confirmation is pending."""
    for payload in (text.strip(), chosen or ""):
        if payload.startswith(PREFIX):
            return _BUTTONS.get(payload)
    folded = fold(text)
    if folded in ACCESS_PHRASES:
        return "access"
    if folded in ERASE_PHRASES:
        return "erase"
    if folded in YES_WORDS:
        return "yes"
    if folded in NO_WORDS:
        return "no"
    return None


def _date(value: datetime) -> str:
    return aware(value).astimezone(WIB).strftime("%d/%m/%Y")


def _listed(items: list[str], most: int = 5) -> str:
    """At most `most` items: a WhatsApp message with buttons holds 1,024 characters."""
    more = len(items) - most
    return "; ".join(items[:most]) + (f"; dan {more} lainnya" if more > 0 else "")


def summary(held: erasure.Holdings, *, retention_days: int) -> str:
    """The short Indonesian account of what Pintu holds (never a full chat id or number)."""
    lines = ["Data Anda yang disimpan Pintu:",
             f"• Akun: {resident_label(held.channel, held.chat_id)}, sejak {_date(held.since)}"]
    if held.messages:
        lines.append(f"• Pesan: {held.messages} (sejak "
                     f"{_date(held.first_message_at or held.since)}), termasuk "
                     f"{held.uploads} foto/berkas")
    else:
        lines.append("• Pesan: belum ada yang tersimpan")
    lines.append("• Langganan: " + (_listed(held.topics) if held.topics else "tidak ada"))
    if held.watches:
        lines.append("• Status yang dipantau: " + _listed(held.watches))
    if held.tickets:
        lines.append("• Laporan: " + _listed([f"{n} ({status_label(s)})"
                                              for n, s in held.tickets]))
    if held.handoffs:
        lines.append(f"• Percakapan dengan petugas: {held.handoffs}")
    return "\n".join([*lines, "", SUMMARY_END.format(days=retention_days)])


def done_text(held: erasure.Holdings, kept: list[str]) -> str:
    """The confirmation of an erasure, with the counts the resident saw before."""
    what = [f"{held.messages} pesan", f"{held.uploads} foto/berkas"]
    if held.topics:
        what.append(f"{len(held.topics)} langganan")
    if held.watches:
        what.append(f"{len(held.watches)} status yang dipantau")
    if held.handoffs:
        what.append(f"{held.handoffs} percakapan dengan petugas")
    text = DONE.format(what=", ".join(what))
    if kept:
        text += DONE_KEPT.format(numbers=_listed(kept))
    return text + DONE_END


def _open_tickets(held: erasure.Holdings) -> list[str]:
    return [number for number, status in held.tickets if status not in erasure.CLOSED_TICKET]


@dataclass(frozen=True)
class Answer:
    """The gateway's replies to a rights command; `erase`: erase the sender once the replies
    are stored (`Rights.erase`), so that this exchange goes too."""

    replies: list[BotMessage]
    erase: bool = False


class Rights:
    """Answers "data saya" and "hapus data saya", and erases; one per process."""

    def __init__(self, redis: Redis, sessions: sessionmaker, rasa: RasaClient,
                 menus: MenuMemory, media: MediaStore, *, retention_days: int) -> None:
        self._redis = redis
        self._sessions = sessions
        self._rasa = rasa
        self._menus = menus
        self._media = media
        self._retention_days = retention_days

    @staticmethod
    def _pending_key(sender: str) -> str:
        return f"pintu:privacy:confirm:{sender}"

    async def answer(self, sender: str, text: str, *,
                     received_at: datetime | None = None) -> Answer | None:
        """The replies when the message is a rights command (or answers a pending
        confirmation); None to let it go on to consent, the officer and Rasa. The caller
        holds the sender's turn."""
        chosen = await self._menus.resolve(sender, text) if parse_choice(text) else None
        asked = command(text, chosen)
        pending = await self._redis.getdel(self._pending_key(sender))
        if pending is None and asked not in ("access", "erase"):
            if YES in (chosen, text.strip()):
                return await self._reply(sender, EXPIRED)
            if NO in (chosen, text.strip()):
                return await self._reply(sender, CANCELLED)
            return None  # "ya" or "batal" in any other conversation is the bot's business
        channel, chat_id = split_sender(sender)
        since = received_at or utcnow()
        if pending is not None and asked == "yes":
            try:
                held = await asyncio.to_thread(self._holdings, channel, chat_id,
                                               datetime.fromisoformat(str(pending)))
            except Exception:  # the message is tried again: the question must still wait
                await self._redis.set(self._pending_key(sender), pending, ex=PENDING_TTL_S)
                raise
            await self._redis.zadd(ERASE_DUE, {sender: time.time()})
            text_out = NOTHING if held.empty else done_text(held, _open_tickets(held))
            return Answer(await self._remember(sender, [BotMessage(text=text_out)]), erase=True)
        if asked == "access":
            held = await asyncio.to_thread(self._holdings, channel, chat_id, since)
            return Answer(await self._remember(sender, [BotMessage(
                text=summary(held, retention_days=self._retention_days),
                buttons=_SUMMARY_BUTTONS)]))
        if asked == "erase":
            held = await asyncio.to_thread(self._holdings, channel, chat_id, since)
            if held.empty:
                return Answer(await self._remember(sender, [BotMessage(text=NOTHING)]),
                              erase=True)
            await self._redis.set(self._pending_key(sender), since.isoformat(),
                                  ex=PENDING_TTL_S)
            kept = _open_tickets(held)
            text_out = CONFIRM + (CONFIRM_KEPT.format(numbers=_listed(kept)) if kept else "")
            return Answer(await self._remember(sender, [BotMessage(
                text=text_out, buttons=_CONFIRM_BUTTONS)]))
        return await self._reply(sender, CANCELLED if asked == "no" else CANCELLED_OTHER)

    async def _reply(self, sender: str, text: str) -> Answer:
        return Answer(await self._remember(sender, [BotMessage(text=text)]))

    async def _remember(self, sender: str, replies: list[BotMessage]) -> list[BotMessage]:
        await self._menus.remember(sender, replies)  # "1" presses our first button, no other
        return replies

    def _holdings(self, channel: str, chat_id: str, before: datetime) -> erasure.Holdings:
        with self._sessions.begin() as session:
            contact = records.touch_contact(session, channel, chat_id, inbound=False)
            session.flush()
            return erasure.holdings(session, contact, before=before)

    async def erase(self, sender: str) -> erasure.Erased:
        """Erases what Pintu holds about `sender`: the database (one transaction, with an
        audit entry), then the files, the sender's Redis keys and Rasa's tracker. Safe to call
        again. Raises SQLAlchemyError when the database is away (nothing is erased then)."""
        channel, chat_id = split_sender(sender)
        done: erasure.Erased = await asyncio.to_thread(
            in_transaction, self._sessions, self._erase, channel, chat_id)
        await asyncio.to_thread(erasure.delete_files, self._media.root, done.files)
        await self._redis.delete(handoff_key(sender), rating_key(sender),
                                 self._pending_key(sender), f"pintu:menu:{sender}",
                                 *([mailbox_key(chat_id)] if channel == "api" else []))
        if done.handoffs:
            await publish(self._redis, {"type": "queue"})
        await self.forget(sender)
        await self._redis.zrem(ERASE_DUE, sender)
        log.info("resident data erased: %s", done.counts())
        return done

    @staticmethod
    def _erase(session: Session, channel: str, chat_id: str) -> erasure.Erased:
        contact = records.touch_contact(session, channel, chat_id, inbound=False)
        session.flush()
        done = erasure.erase_contact(session, contact)
        audit(session, None, "resident_erasure", f"contact:{contact.id}", detail={
            "channel": channel, **done.counts()})
        return done

    async def forget(self, sender: str) -> bool:
        """Empties Rasa's tracker of the sender (slots, the words of the conversation); when
        Rasa is away, the sender waits in a Redis set for `forget_pending`."""
        try:
            await self._rasa.reset_tracker(sender)
        except RasaError as exc:
            log.warning("rasa tracker not reset yet (%s): retried later", type(exc).__name__)
            await self._redis.sadd(FORGET_LATER, sender)
            return False
        await self._redis.srem(FORGET_LATER, sender)
        return True

    async def catch_up(self) -> int:
        """The worker's minute: erasures confirmed but not done after ERASE_GRACE_S, and the
        tracker resets Rasa was not there for; how many of either went through."""
        done = 0
        late = await self._redis.zrangebyscore(ERASE_DUE, 0, time.time() - ERASE_GRACE_S)
        for sender in late:
            await self.erase(str(sender))
            done += 1
        for sender in await self._redis.smembers(FORGET_LATER):
            if not await self.forget(str(sender)):
                break
            done += 1
        return done
