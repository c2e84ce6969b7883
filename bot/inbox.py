"""Inbound channel messages: accepted into a durable queue by the webhook, handled by workers.

The webhook only checks authenticity, parses and calls `Inbox.accept`, which records the delivery
id and queues the message in one Redis step; the HTTP answer goes back at once. Workers then take
each resident's messages one at a time and in order (see `bot.queues`): store the message, fetch
media, ask Rasa, and queue the replies for sending (`bot.outbound`). When Rasa is down the resident
gets one short apology and the message stays at the head of their queue until Rasa answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, replace
from datetime import datetime, timezone
from typing import Any, Protocol

from prometheus_client import Counter, Histogram
from redis.asyncio import Redis
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from integrations.channel_errors import ChannelError
from integrations.inbound import Inbound, StatusUpdate
from integrations.replies import Rendered, Reply, from_bot_messages
from nlu import geo

from . import records
from .aio import raise_if_cancelled
from .conversation import APOLOGY, ConversationService
from .db import in_transaction
from .handoff import INTERCEPT_PEEK, HandoffService
from .learning.recorder import PredictionRecorder
from .media import MediaRefused, MediaStore
from .outbound import Outbox, open_window
from .outreach import consent, links
from .privacy.rights import Rights
from .queues import Claim, KeyedQueue, LeaseLost
from .rasa_client import RasaError, RasaUnavailable, Understanding

log = logging.getLogger(__name__)

RECEIVED = Counter("pintu_inbound_total", "Channel messages accepted", ["channel", "kind"])
DUPLICATES = Counter("pintu_inbound_duplicates_total", "Repeated deliveries dropped", ["channel"])
HANDLE_TIME = Histogram("pintu_inbound_handle_seconds", "From accepted to replies queued",
                        ["channel"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 120))

GIVE_UP_AFTER_S = 24 * 3600
DB_RETRY_MAX_S = 8.0
# Set on a queue item once its replies are being queued: from then on it is never retried early.
DELIVERING = "delivering"
WAITING_FOR_BOT = "pintu:in:waiting-for-bot"  # residents' keys -> when their retry is due
NO_ANSWER = ("Maaf, saya belum bisa menjawab pesan itu. Ketik menu untuk melihat layanan, atau "
             "ketik petugas untuk bicara dengan petugas.")
UNDERSTOOD = "_understood"  # an item's key for the NLU's reading, never queued
ERASE_AFTER = "erase_after"  # the resident confirmed "hapus data saya" (bot.privacy.rights)
CALLBACK_KEY_TTL_S = 90 * 24 * 3600

UNSUPPORTED = {
    "voice": "Maaf, Pintu belum bisa mendengarkan pesan suara. Silakan ketik pesan Anda, "
             "atau ketik menu untuk melihat layanan.",
    "video": "Maaf, Pintu belum bisa menerima video. Kirim foto, atau ketik pesan Anda.",
    "sticker": "Terima kasih 🙂 Ketik menu untuk melihat layanan Pintu.",
    "group": "Pintu hanya melayani lewat chat pribadi. Silakan kirim pesan langsung ke Pintu.",
}
UNSUPPORTED.update({"audio": UNSUPPORTED["voice"], "video_note": UNSUPPORTED["video"],
                    "animation": UNSUPPORTED["sticker"]})
UNSUPPORTED_OTHER = ("Maaf, jenis pesan ini belum bisa Pintu proses. Silakan ketik pesan Anda, "
                     "atau ketik menu untuk melihat layanan.")
SILENT = {"reaction"}  # an emoji reaction to a message needs no answer
CONTACT_CARD = ("Terima kasih. Pintu tidak memerlukan kartu kontak dan tidak menyimpan nomornya. "
                "Silakan ketik pertanyaan Anda, atau ketik menu.")
MEDIA_FAILED = "Maaf, file Anda tidak dapat kami terima. Silakan kirim ulang dalam beberapa saat."
MEDIA_REFUSED = ("Maaf, Pintu hanya menerima foto (JPG/PNG) atau PDF sampai {mb} MB. "
                 "Silakan kirim ulang dalam bentuk itu.")

# t.me/<bot>?start=<param> and wa.me links name a service: the conversation starts there.
DEEP_LINKS = {
    "laksa": "/complaint", "aduan": "/complaint", "pengaduan": "/complaint",
    "ktp": "/ktp", "kk": "/kk", "akta": "/birth_certificate", "akta_lahir": "/birth_certificate",
    "antrian": "/queue_booking", "darurat": "/emergency", "status": "/request_status",
    "pajak": "/tax_payment", "pbb": "/tax_payment", "kesehatan": "/health_service",
    "kerja": "/job_info", "loker": "/job_info", "sekolah": "/school_enrollment",
    "ppdb": "/school_enrollment", "petugas": "/human_handoff", "akun": "/account_registration",
}


class MediaSource(Protocol):
    async def fetch(self, inbound: Inbound) -> tuple[bytes, str]: ...


Renderer = Callable[[Reply, str], tuple[list[Rendered], dict[str, str]]]


def sender_id(channel: str, chat_id: str) -> str:
    """The conversation id Rasa knows a resident by."""
    return f"{channel}:{chat_id}"


def content_of(call: Rendered) -> dict[str, Any]:
    """What the message record keeps of a rendered call: its words, and a stored file's
    reference when it sends one (so the staff inbox can show it)."""
    content: dict[str, Any] = {"text": text_of(call)}
    body = call.body
    found = body.get("media")
    media: dict[str, Any] = found if isinstance(found, dict) else {}
    ref = body.get("_local_ref") or media.get("ref")
    if ref:
        image = call.method == "sendPhoto" or body.get("type") == "image" or \
            media.get("kind") == "image"
        content["attachment"] = {"kind": "image" if image else "document", "ref": ref,
                                 "filename": body.get("_filename") or media.get("filename")}
    return content


def text_of(call: Rendered) -> str:
    """The words of a rendered call, for the message record (Telegram or Graph API body)."""
    body = call.body
    for value in (body.get("text"), body.get("caption")):
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and isinstance(value.get("body"), str):
            return str(value["body"])
    interactive = body.get("interactive")
    if isinstance(interactive, dict):
        return str((interactive.get("body") or {}).get("text", ""))
    for media in ("image", "document"):
        if isinstance(body.get(media), dict):
            return str(body[media].get("caption", ""))
    if isinstance(body.get("template"), dict):
        values = [str(p.get("text", "")) for c in body["template"].get("components") or []
                  for p in c.get("parameters") or [] if isinstance(p, dict)]
        label = f"[template {body['template'].get('name')}]"
        return f"{label} {' · '.join(values)}" if values else label
    return ""


class Inbox:
    """Accepts channel messages into the queue, and runs the workers that answer them."""

    def __init__(self, redis: Redis, sessions: sessionmaker, conversation: ConversationService,
                 outbox: Outbox, media: MediaStore, *, lease_s: float = 120.0,
                 dedup_ttl_s: int = 7 * 24 * 3600, rasa_retry_max_s: float = 60.0,
                 predictions: PredictionRecorder | None = None) -> None:
        self._redis = redis
        self._sessions = sessions
        self._conversation = conversation
        self._outbox = outbox
        self._media = media
        self._rasa_retry_max_s = rasa_retry_max_s
        self._lease_s = lease_s
        self.predictions = predictions  # None: what the NLU understood is not kept
        self.messages = KeyedQueue(redis, "in", lease_s=lease_s, dedup_ttl_s=dedup_ttl_s,
                                   peek=INTERCEPT_PEEK)
        self.receipts = KeyedQueue(redis, "in-status", lease_s=lease_s, dedup_ttl_s=dedup_ttl_s)
        self._renderers: dict[str, Renderer] = {}
        self._media_sources: dict[str, MediaSource] = {}
        self._acknowledge: dict[str, Callable[[Inbound], Awaitable[None]]] = {}
        # Set by the app once both exist (the handoff service sends through `deliver`).
        self.handoffs: HandoffService | None = None
        # Answers "data saya" / "hapus data saya" (set by the app; None: not offered).
        self.rights: Rights | None = None
        # Whether Rasa and the action server both answer (set by the app; None: not checked).
        self.bot_ready: Callable[[], Awaitable[bool]] | None = None

    def register(self, channel: str, renderer: Renderer, media: MediaSource,
                 acknowledge: Callable[[Inbound], Awaitable[None]] | None = None) -> None:
        """A channel's renderer, media source and (Telegram) callback answerer."""
        self._renderers[channel] = renderer
        self._media_sources[channel] = media
        if acknowledge is not None:
            self._acknowledge[channel] = acknowledge

    # -- accepting (the webhook's part: fast, no database) --------------------------------

    async def accept(self, inbound: Inbound) -> bool:
        """Queues a message once; False for a repeated delivery."""
        queued = await self.messages.push(
            sender_id(inbound.channel, inbound.chat_id),
            {"inbound": inbound.to_json(), "received_at": time.time(), "attempts": 0},
            dedup_id=f"{inbound.channel}:{inbound.dedup_id}",
        )
        if queued:
            RECEIVED.labels(inbound.channel, inbound.kind).inc()
        else:
            DUPLICATES.labels(inbound.channel).inc()
        return queued

    async def accept_receipt(self, receipt: StatusUpdate) -> bool:
        return await self.receipts.push(
            sender_id(receipt.channel, receipt.chat_id), {"receipt": receipt.to_json()},
            dedup_id=f"{receipt.channel}:{receipt.channel_message_id}:{receipt.status}",
        )

    # -- working ----------------------------------------------------------------------------

    async def run(self, workers: int) -> None:
        """Runs `workers` workers (and the watch for the bot's return) until cancelled."""
        await asyncio.gather(self._watch_bot(), *(self._worker() for _ in range(workers)))

    async def _worker(self) -> None:
        while True:
            raise_if_cancelled()
            try:
                if not await self.work_once():
                    await self._redis.blpop([self.messages.wake_key, self.receipts.wake_key],
                                            timeout=0.5)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("inbound worker round failed")
                await asyncio.sleep(1.0)

    async def work_once(self) -> bool:
        """Handles one ready item; False when nothing was ready."""
        got = await self.messages.claim()
        if isinstance(got, Claim):
            await self._handle_message(got)
            return True
        got = await self.receipts.claim()
        if isinstance(got, Claim):
            await self._handle_receipt(got)
            return True
        return False

    async def _handle_receipt(self, claim: Claim) -> None:
        receipt = claim.item["receipt"]
        error = "; ".join(f"{e.get('code')} {e.get('title', '')}".strip()
                          for e in receipt.get("errors") or [])
        await asyncio.to_thread(self._write, records.apply_receipt, receipt["channel"],
                                receipt["channel_message_id"], receipt["status"], error or None,
                                receipt.get("callback_data"))
        await self._ack(self.receipts, claim)

    async def _handle_message(self, claim: Claim) -> None:
        item = dict(claim.item)
        try:
            await self._handle(claim, item)
        except SQLAlchemyError as exc:
            # The database is away before anything was sent (`deliver` itself never fails on
            # it): try again shortly, rather than hold the resident's queue for a whole lease.
            item.pop(UNDERSTOOD, None)
            item["db_attempts"] = item.get("db_attempts", 0) + 1
            delay = min(DB_RETRY_MAX_S, 0.5 * 2 ** item["db_attempts"])
            log.error("message not handled yet (database: %s): retry in %.1f s",
                      type(exc).__name__, delay)
            await self._postpone(claim, delay, item)
        except Exception as exc:
            if item.get(DELIVERING):
                raise  # replies may be queued: retrying now could answer twice
            # Anything else before the answer went out (a Redis connection a restart left
            # broken, found by bench/faults.py): try again shortly, not after a whole lease.
            item.pop(UNDERSTOOD, None)
            item["failures"] = item.get("failures", 0) + 1
            delay = min(self._lease_s, 0.5 * 2 ** item["failures"])
            log.error("message not handled yet (%s): retry in %.1f s", type(exc).__name__,
                      delay, exc_info=True)
            await self._postpone(claim, delay, item)

    async def _postpone(self, claim: Claim, delay_s: float, item: dict[str, Any]) -> None:
        """`retry`, insisting while Redis itself is away (its append-only file keeps our
        lease): the message is answered within seconds of Redis returning, not after its
        lease."""
        give_up = time.monotonic() + self._lease_s
        for attempt in range(1_000):
            try:
                await self.messages.retry(claim, delay_s, item)
                return
            except LeaseLost:
                log.warning("lease lost while postponing a message")
                return
            except Exception as exc:
                if time.monotonic() > give_up:
                    log.warning("could not postpone a message (%s); it waits for its lease",
                                type(exc).__name__)
                    return
                await asyncio.sleep(min(2.0, 0.25 * 2 ** attempt))

    async def _handle(self, claim: Claim, item: dict[str, Any]) -> None:
        if item.get(ERASE_AFTER) and item.get("answered"):
            await self._erase(claim, item)
            return
        inbound = Inbound.from_json(item["inbound"])
        channel, chat_id = inbound.channel, inbound.chat_id
        first_steps: list[asyncio.Task[Any]] = []
        if not item.get("recorded"):
            # Storing the message, opening WhatsApp's window and stopping Telegram's button
            # spinner run beside the answer, not before it: they are off the resident's wait.
            first_steps.append(asyncio.create_task(
                asyncio.to_thread(self._record_inbound, inbound)))
            if channel == "whatsapp":
                first_steps.append(asyncio.create_task(
                    open_window(self._redis, channel, chat_id)))
            if inbound.callback_query_id and channel in self._acknowledge:
                first_steps.append(asyncio.create_task(
                    self._quietly(self._acknowledge[channel](inbound))))
        try:
            replies = await self._answer(inbound, item, claim.peeked)
        except _Later as later:
            await self._finish_first_steps(item, first_steps)
            if later.apologize:
                await self.deliver(channel, chat_id, [Reply(text=APOLOGY)])
            try:
                at = await self.messages.retry(claim, later.delay_s, item)
                if later.for_bot:
                    await self._redis.zadd(WAITING_FOR_BOT, {claim.key: at})
            except LeaseLost:
                log.warning("lease lost while postponing a message")
            return
        except BaseException:
            await self._finish_first_steps(item, first_steps)
            raise
        await self._finish_first_steps(item, first_steps)
        if item.get("media_ref") and item.get("message_id") is not None:
            await asyncio.to_thread(self._write, records.set_media_ref, item["message_id"],
                                    item["media_ref"])
        if item.get("handoff_id") is not None and self.handoffs is not None:
            await self.handoffs.resident_wrote(int(item["handoff_id"]))
        understood = item.pop(UNDERSTOOD, None)
        item[DELIVERING] = True
        await self.deliver(channel, chat_id, replies, answering=item)
        HANDLE_TIME.labels(channel).observe(max(0.0, time.time() - item["received_at"]))
        if understood is not None:
            await self._record_prediction(inbound, item, understood)
        if item.get(ERASE_AFTER):
            item["answered"] = True
            await self._erase(claim, item)
            return
        await self._ack(self.messages, claim)

    @staticmethod
    async def _finish_first_steps(item: dict[str, Any],
                                  steps: list[asyncio.Task[Any]]) -> None:
        if not steps:
            return
        results = await asyncio.gather(*steps)
        item["conversation_id"], item["message_id"] = results[0]
        item["recorded"] = True

    async def _answer(self, inbound: Inbound, item: dict[str, Any],
                      peeked: tuple[str | None, ...] = ()) -> list[Reply]:
        """What to say to one message (raises `_Later` to try again later)."""
        if inbound.kind == "unsupported":
            if inbound.unsupported in SILENT:
                return []
            return [Reply(text=UNSUPPORTED.get(inbound.unsupported or "", UNSUPPORTED_OTHER))]
        if inbound.kind == "contact":
            return [Reply(text=CONTACT_CARD)]
        metadata: dict[str, Any] = {"channel": inbound.channel, "attachments": []}
        if inbound.edited:
            metadata["edited"] = True
        text = inbound.text.strip()
        if inbound.kind == "start":
            text = DEEP_LINKS.get((inbound.start_param or "").lower(), "/greet")
        elif inbound.kind == "button":
            text = await self._payload(inbound.payload or inbound.text)
        elif inbound.kind == "location" and inbound.attachment is not None:
            metadata["attachments"].append(self._location(inbound))
            text = text or "/inform"
        elif inbound.kind in ("image", "document"):
            stored = await self._store_media(inbound, item)
            if isinstance(stored, Reply):
                return [stored]
            metadata["attachments"].append(stored)
            text = text or "/inform"
        if not text:
            return []
        code = links.code_of(inbound.kind, inbound.start_param, text)
        if code is not None:  # an outreach link (poster, QR): counted, then the newcomer menu
            text = await self._arrive(inbound, item, code)
        sender = sender_id(inbound.channel, inbound.chat_id)
        # "data saya", "hapus data saya", STOP / MULAI and the consent buttons: before Rasa and
        # the officer, so they always work.
        if self.rights is not None and inbound.kind in ("text", "button"):
            rights = await self._rights(sender, text, item)
            if rights is not None:
                return rights
        asked = await self._conversation.consent_command(sender, text) \
            if inbound.kind in ("text", "button") else None
        if asked is not None:
            return [Reply(text=await self._consent(inbound, asked))]
        if self.handoffs is not None:
            caught = await self.handoffs.intercept(sender, text, peeked)
            if caught is not None:  # with an officer (the bot is silent), or a rating
                item["handoff_id"] = caught.handoff_id
                return caught.replies
        try:
            turn = await self._conversation.respond(sender, text, metadata)
        except RasaUnavailable as exc:
            return await self._rasa_down(inbound, item, exc)
        except RasaError as exc:
            log.error("rasa refused a message: %s", exc)
            return [Reply(text=APOLOGY)]
        if not turn.replies:
            return await self._unanswered(inbound, item)
        if turn.understanding is not None and inbound.kind == "text":
            item[UNDERSTOOD] = turn.understanding  # recorded once the replies are queued
        return from_bot_messages(
            {"text": m.text, "buttons": list(m.buttons), "image": m.image, "custom": m.custom}
            for m in turn.replies)

    async def _rasa_down(self, inbound: Inbound, item: dict[str, Any],
                         exc: Exception) -> list[Reply]:
        age = time.time() - item["received_at"]
        if age > GIVE_UP_AFTER_S:
            log.error("rasa unavailable for a day: message given up")
            return [Reply(text=APOLOGY)]
        apologize = not item.get("apologized")
        item["apologized"] = True
        item["attempts"] = item.get("attempts", 0) + 1
        delay = min(self._rasa_retry_max_s, 2.0 ** item["attempts"])
        log.warning("rasa unavailable (%s): message kept, retry in %.0f s", exc, delay)
        raise _Later(delay, apologize=apologize, for_bot=True)

    async def _unanswered(self, inbound: Inbound, item: dict[str, Any]) -> list[Reply]:
        """Rasa answered nothing. When the action server is down, Rasa logs the failed action
        and answers without its messages: the message waits like one for a Rasa that is down
        (one apology, then the real answer). Otherwise the resident still gets an answer, never
        silence."""
        if self.bot_ready is not None and not await self.bot_ready():
            return await self._rasa_down(inbound, item,
                                         RasaUnavailable("no answer: action server unavailable"))
        return [Reply(text=NO_ANSWER)]

    async def _watch_bot(self, every_s: float = 1.0) -> None:
        """While messages wait for Rasa or the action server, checks every `every_s` whether
        both answer again, and wakes those messages at once rather than at their backoff's
        end (which grows to RASA_RETRY_MAX_S)."""
        while True:
            raise_if_cancelled()
            try:
                if self.bot_ready is not None and await self._redis.zcard(WAITING_FOR_BOT) \
                        and await self.bot_ready():
                    woken = await self.messages.wake(WAITING_FOR_BOT)
                    if woken:
                        log.info("the bot answers again: %d waiting residents woken", woken)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("waiting messages not woken: %s", type(exc).__name__)
            await asyncio.sleep(every_s)

    async def _rights(self, sender: str, text: str, item: dict[str, Any]) -> list[Reply] | None:
        assert self.rights is not None
        try:
            answered = await self.rights.answer(sender, text, received_at=datetime.fromtimestamp(
                item["received_at"], timezone.utc))
        except SQLAlchemyError as exc:  # nothing was done: try again shortly
            log.error("data rights command not answered yet: %s", type(exc).__name__)
            raise _Later(5.0) from exc
        if answered is None:
            return None
        if answered.erase:
            item[ERASE_AFTER] = True  # once the replies are stored, so that they go too
        return from_bot_messages({"text": m.text, "buttons": list(m.buttons)}
                                 for m in answered.replies)

    async def _erase(self, claim: Claim, item: dict[str, Any]) -> None:
        """The resident confirmed erasure and was answered: erase (a database failure retries
        the message, which comes back here, never to the answer again)."""
        assert self.rights is not None
        inbound = Inbound.from_json(item["inbound"])
        await self.rights.erase(sender_id(inbound.channel, inbound.chat_id))
        await self._ack(self.messages, claim)

    async def _consent(self, inbound: Inbound, asked: consent.Command) -> str:
        def apply(session: Session) -> str:
            contact = records.touch_contact(session, inbound.channel, inbound.chat_id,
                                            inbound=True)
            return consent.act(session, contact, asked)
        try:
            return await asyncio.to_thread(self._write, apply)
        except SQLAlchemyError as exc:  # not recorded: confirm nothing, try again shortly
            log.error("consent keyword not recorded yet: %s", type(exc).__name__)
            raise _Later(5.0) from exc

    async def _arrive(self, inbound: Inbound, item: dict[str, Any], code: str) -> str:
        """Counts a resident arriving through an outreach link; what to ask Rasa (the menu).
        Losing one count is not worth holding up the resident's answer."""
        try:
            arrival = await asyncio.to_thread(
                self._write, links.record_arrival, inbound.channel, inbound.chat_id, code,
                f"{inbound.channel}:{inbound.dedup_id}", inbound.channel_message_id)
        except SQLAlchemyError as exc:
            log.error("outreach arrival not recorded: %s", type(exc).__name__)
            arrival = None
        return links.newcomer_menu(arrival)

    async def _payload(self, payload: str) -> str:
        if payload.startswith("k:"):  # a long payload the renderer stored under a short key
            stored = await self._redis.get(f"pintu:cbkey:{payload}")
            return str(stored) if stored else "/help"
        return payload

    @staticmethod
    def _location(inbound: Inbound) -> dict[str, Any]:
        attachment = inbound.attachment
        assert attachment is not None and attachment.latitude is not None
        lat, lon = float(attachment.latitude), float(attachment.longitude or 0.0)
        place: dict[str, Any] = {"type": "location", "latitude": lat, "longitude": lon}
        if geo.inside_city(lat, lon):
            kelurahan, kecamatan, _ = geo.nearest_kelurahan(lat, lon)
            place.update(kecamatan=kecamatan, kelurahan=kelurahan)
        return place

    async def _store_media(self, inbound: Inbound, item: dict[str, Any]) -> dict[str, Any] | Reply:
        attachment = inbound.attachment
        assert attachment is not None
        if item.get("media_ref"):
            ref = item["media_ref"]
        else:
            try:
                content, mime = await self._media_sources[inbound.channel].fetch(inbound)
                ref = await asyncio.to_thread(self._media.put, content, mime)
            except MediaRefused:
                mb = self._media.max_bytes // (1024 * 1024)
                return Reply(text=MEDIA_REFUSED.format(mb=mb))
            except ChannelError as exc:
                item["media_attempts"] = item.get("media_attempts", 0) + 1
                if exc.retryable and item["media_attempts"] < 5:
                    raise _Later(2.0 ** item["media_attempts"]) from exc
                log.warning("media download failed for good: %s", type(exc).__name__)
                return Reply(text=MEDIA_FAILED)
            item["media_ref"] = ref
        return {"type": attachment.kind, "ref": ref, "name": attachment.filename,
                "mime_type": attachment.mime_type}

    async def deliver(self, channel: str, chat_id: str, replies: list[Reply], *,
                      answering: dict[str, Any] | None = None,
                      staff_id: int | None = None, once_key: str | None = None) -> None:
        """Renders replies for the channel, queues them for sending, then records them (the
        rows are off the resident's wait). `answering` is the queue item of the resident's
        message being answered: the rows join its conversation and it is marked processed.
        `staff_id` names the officer who wrote them (staff inbox). `once_key` makes delivery
        idempotent: the same key queues and records the same messages once, however often it
        is delivered (an agency's repeated event)."""
        calls: list[Rendered] = []
        keys: dict[str, str] = {}
        for reply in replies:
            rendered, reply_keys = self._renderers[channel](reply, chat_id)
            calls.extend(rendered)
            keys.update(reply_keys)
        for key, payload in keys.items():
            await self._redis.set(f"pintu:cbkey:{key}", payload, ex=CALLBACK_KEY_TTL_S)
        refs = [hashlib.sha256(f"{once_key}:{i}".encode()).hexdigest()[:32] if once_key
                else uuid.uuid4().hex for i in range(len(calls))]
        if calls:
            await self._outbox.enqueue(channel, chat_id, calls, refs, once=once_key is not None)
        await self._record_replies(channel, chat_id, calls, refs, answering, staff_id)

    async def _record_replies(self, channel: str, chat_id: str, calls: list[Rendered],
                              refs: list[str], answering: dict[str, Any] | None,
                              staff_id: int | None) -> None:
        """Writes the rows of replies already queued. The replies are on their way whatever
        happens here, so the database being away is waited out (a few tries, about half a
        minute), then logged, and never answers the resident twice."""
        for attempt in range(6):
            try:
                await asyncio.to_thread(self._record_outbound, channel, chat_id, calls, refs,
                                        answering, staff_id)
                await self._outbox.apply_early_outcomes(refs)
                return
            except SQLAlchemyError as exc:
                log.error("reply rows not recorded yet (%s), try %d", type(exc).__name__,
                          attempt + 1)
                await asyncio.sleep(min(DB_RETRY_MAX_S, 0.5 * 2 ** attempt))
        log.error("reply rows given up: %d replies sent without their rows", len(calls))

    # -- database (run in threads) --------------------------------------------------------

    def _record_inbound(self, inbound: Inbound) -> tuple[int, int]:
        content: dict[str, Any] = {"text": inbound.text} if inbound.text else {}
        if inbound.payload:
            content["payload"] = inbound.payload
        if inbound.attachment is not None:
            # Location and media metadata only; a shared contact's phone number is not kept.
            content["attachment"] = {k: v for k, v in asdict(
                replace(inbound.attachment, phone=None)).items() if v is not None}
        if inbound.unsupported:
            content["unsupported"] = inbound.unsupported
        if inbound.edited:
            content["edited"] = True
        channel_message_id = inbound.channel_message_id
        if inbound.edited and channel_message_id:  # the edit is a message of its own
            channel_message_id = f"{channel_message_id}:{inbound.dedup_id}"
        with self._sessions.begin() as session:
            return records.record_inbound(
                session, channel=inbound.channel, chat_id=inbound.chat_id, kind=inbound.kind,
                content=content, channel_message_id=channel_message_id,
                language=inbound.language)

    def _record_outbound(self, channel: str, chat_id: str, calls: list[Rendered],
                         refs: list[str], answering: dict[str, Any] | None,
                         staff_id: int | None = None) -> None:
        rows = [(call.method, content_of(call), ref)
                for call, ref in zip(calls, refs, strict=True)]
        with self._sessions.begin() as session:
            if answering is not None and answering.get("conversation_id") is not None:
                records.record_replies(session, conversation_id=answering["conversation_id"],
                                       channel=channel, replies=rows,
                                       processed_id=answering.get("message_id"))
                return
            for kind, content, ref in rows:
                records.record_outbound(session, channel=channel, chat_id=chat_id, kind=kind,
                                        content=content, ref=ref, staff_id=staff_id)

    async def _record_prediction(self, inbound: Inbound, item: dict[str, Any],
                                 understood: Understanding) -> None:
        """Keeps what the NLU understood for the admins' review (a Redis push; written to the
        database in batches). Losing one is not worth holding up the resident's next message, so
        a failure is logged, not retried."""
        if self.predictions is None:
            return
        try:
            await self.predictions.add(channel=inbound.channel,
                                       message_id=item.get("message_id"), text=inbound.text,
                                       understanding=understood)
        except Exception as exc:
            log.error("prediction not recorded: %s", type(exc).__name__)

    def _write(self, fn: Callable[..., Any], *args: Any) -> Any:
        return in_transaction(self._sessions, fn, *args)

    async def _ack(self, queue: KeyedQueue, claim: Claim) -> None:
        try:
            await queue.ack(claim)
        except LeaseLost:
            log.warning("%s: an item outlived its lease and may be handled twice", queue.name)

    @staticmethod
    async def _quietly(call: Awaitable[None]) -> None:
        try:
            await call
        except Exception as exc:  # answering a button press is a courtesy, never a blocker
            log.warning("could not acknowledge a button press: %s", type(exc).__name__)


class _Later(Exception):
    """Try this message again after `delay_s`; `apologize` sends the resident the apology first;
    `for_bot`: it waits for Rasa or the action server, and is woken as soon as they answer."""

    def __init__(self, delay_s: float, *, apologize: bool = False,
                 for_bot: bool = False) -> None:
        super().__init__(delay_s)
        self.delay_s = delay_s
        self.apologize = apologize
        self.for_bot = for_bot
