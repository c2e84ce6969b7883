"""Feeds campaigns to the outbox and records what became of each send.

The feeder keeps only a few seconds' worth of each channel's sends in Redis (`claim` takes them
from the table in batches, FOR UPDATE SKIP LOCKED), on the outbox's `bulk` priority: replies to
residents always go first, one rate limiter per channel covers both, and pause or cancel takes
effect within those few seconds. As the outbox's `JobHook` for jobs marked "campaign", it runs
the compare-and-set of `campaigns.begin_send` right before each HTTP call and writes outcomes to
the recipient's row.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from redis.asyncio import Redis
from sqlalchemy.orm import Session, sessionmaker

from integrations.replies import Rendered, Template

from ..aio import in_thread, raise_if_cancelled
from ..db import in_transaction
from ..outbound import Outbox
from . import broadcast, campaigns, wa_templates
from .broadcast import Broadcast, Button
from .segments import Segment

log = logging.getLogger(__name__)

HOOK = "campaign"
T = TypeVar("T")


class ImageUploader:
    """Uploads a campaign's image to WhatsApp once; every recipient's message names its id."""

    def __init__(self, redis: Redis, upload: Callable[[str], Any] | None) -> None:
        self._redis = redis
        self._upload = upload

    async def media_id(self, ref: str) -> str | None:
        if self._upload is None:
            return None
        key = f"pintu:campaign:wa_media:{ref}"
        known = await self._redis.get(key)
        if known:
            return known.decode() if isinstance(known, bytes) else str(known)
        media_id = str(await self._upload(ref))
        await self._redis.set(key, media_id, ex=25 * 24 * 3600)  # WhatsApp keeps 30 days
        return media_id


class CampaignRunner:
    """One per worker process; any number may run side by side."""

    def __init__(self, redis: Redis, sessions: sessionmaker, outbox: Outbox, *,
                 whatsapp_upload: Callable[[str], Any] | None = None,
                 buffer_s: float = 2.0, interval_s: float = 0.5,
                 unconfirmed_after_s: float = 300.0, requeue_after_s: float = 3600.0,
                 whatsapp_resend_after_s: float = 900.0) -> None:
        self._redis = redis
        self._sessions = sessions
        self._outbox = outbox
        self._images = ImageUploader(redis, whatsapp_upload)
        self._buffer_s = buffer_s
        self._interval_s = interval_s
        self._unconfirmed_after_s = unconfirmed_after_s
        self._requeue_after_s = requeue_after_s
        self._whatsapp_resend_after_s = whatsapp_resend_after_s
        self._last_sweep = 0.0
        outbox.hooks[HOOK] = self

    def _db(self, work: Callable[..., T], *args: Any) -> Any:
        return in_thread(in_transaction, self._sessions, work, *args)

    # -- feeding -------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            raise_if_cancelled()
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("campaign round failed")
            await asyncio.sleep(self._interval_s)

    async def tick(self) -> int:
        """One round: scheduled campaigns that are due are queued, every sending campaign's
        buffer in Redis is topped up, stale recipients reconciled. Returns how many were fed."""
        await self._db(campaigns.queue_due)
        self._outbox.approve_templates(await self._db(wa_templates.names))
        fed = 0
        for campaign_id, message, segment in await self._db(_sending_campaigns):
            for channel in segment.channels:
                fed += await self._feed(campaign_id, message, segment.topic, channel)
        if time.monotonic() - self._last_sweep > 5.0:
            self._last_sweep = time.monotonic()
            await self._db(lambda s: campaigns.reconcile(
                s, unconfirmed_after_s=self._unconfirmed_after_s,
                requeue_after_s=self._requeue_after_s,
                whatsapp_resend_after_s=self._whatsapp_resend_after_s))
            await self._db(lambda s: campaigns.finish(
                s, whatsapp_resend=self._whatsapp_resend_after_s > 0))
        return fed

    async def _feed(self, campaign_id: int, message: Broadcast, topic: str,
                    channel: str) -> int:
        if channel not in self._outbox.channels:
            await self._db(campaigns.skip_channel, campaign_id, channel, "kanal tidak aktif")
            return 0
        target = max(20, int(self._outbox.rate(channel) * self._buffer_s))
        waiting = await self._db(campaigns.outstanding, campaign_id, channel)
        if waiting > target // 2:
            return 0
        claimed: list[campaigns.Claimed] = await self._db(
            campaigns.claim, campaign_id, channel, target - waiting)
        if not claimed:
            return 0
        image_id = None
        if channel == "whatsapp" and message.image_ref:
            image_id = await self._images.media_id(message.image_ref)
        jobs: list[tuple[str, Rendered, str]] = []
        unreachable: list[int] = []
        for one in claimed:
            rendered = (broadcast.telegram(message, one.external_id) if channel == "telegram"
                        else broadcast.whatsapp(message, one.external_id,
                                                window_open=one.window_open, image_id=image_id,
                                                callback_data=one.ref))
            if rendered is None:
                unreachable.append(one.recipient_id)
            else:
                jobs.append((one.external_id, rendered, one.ref))
        if unreachable:
            await self._db(campaigns.skip, unreachable, "di luar jendela 24 jam, tanpa templat")
        queued_at = time.time()
        try:
            await self._outbox.queue(channel, "bulk").push_each([
                (chat_id, {"method": rendered.method, "body": rendered.body, "ref": ref,
                           "attempts": 0, "queued_at": queued_at, "hook": HOOK,
                           "topic": topic})
                for chat_id, rendered, ref in jobs])
        except Exception:
            # Some may have been queued: those are sent at most once all the same (the
            # compare-and-set), and the rest are claimed again at once rather than in an hour.
            await self._db(campaigns.unclaim, [one.recipient_id for one in claimed])
            raise
        return len(jobs)

    # -- the outbox's JobHook ------------------------------------------------------------------

    async def before_send(self, channel: str, chat_id: str, job: dict[str, Any]) -> bool:
        recipient = campaigns.recipient_of(str(job.get("ref") or ""))
        if recipient is None:
            return False
        return bool(await self._db(campaigns.begin_send, recipient, str(job["topic"])))

    async def uncertain(self, job: dict[str, Any], reason: str) -> None:
        recipient = campaigns.recipient_of(str(job.get("ref") or ""))
        if recipient is not None:
            await self._db(campaigns.uncertain, recipient, reason)

    async def release(self, job: dict[str, Any]) -> None:
        recipient = campaigns.recipient_of(str(job.get("ref") or ""))
        if recipient is not None:
            await self._db(campaigns.release, recipient)

    async def outcome(self, job: dict[str, Any], status: str, channel_message_id: str | None,
                      error: str | None) -> None:
        recipient = campaigns.recipient_of(str(job.get("ref") or ""))
        if recipient is not None:
            await self._db(lambda s: campaigns.record_outcome(
                s, recipient, status, channel_message_id=channel_message_id, error=error))


def _sending_campaigns(session: Session) -> list[tuple[int, Broadcast, Segment]]:
    found = []
    for campaign in campaigns.sending(session):
        registered = campaigns.template(session, campaign.template_id)
        template = (Template(registered.name, registered.language,
                             tuple(str(p) for p in campaign.template_params))
                    if registered is not None else None)
        buttons = tuple(Button(str(b["title"]), str(b["payload"])) for b in campaign.buttons)
        found.append((campaign.id, Broadcast(campaign.text, buttons, campaign.image_ref,
                                             template), Segment.parse(campaign.segment)))
    return found
