"""The gateway's FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from integrations.agency import AgencyClients

from . import localchat
from .aio import raise_if_cancelled
from .channels import Channels, build_channels, poll_telegram
from .conversation import ConversationService
from .db import make_engine, make_sessionmaker
from .events import EventHub
from .handoff import HandoffService, HandoffSettings
from .inbox import Inbox
from .kv import RedisStore, make_redis
from .learning.recorder import PredictionRecorder
from .media import MediaStore
from .menus import MenuMemory
from .office import OfficeHours
from .outbound import ChannelLimits, Outbox
from .outreach.campaign_runner import CampaignRunner
from .outreach.status_updates import StatusUpdates
from .privacy.crypto import configure as configure_keys
from .privacy.rights import Rights
from .rasa_client import RasaClient
from .settings import Settings, get_settings
from .tickets import TicketService

log = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a request handler may need, built once per process."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker
    store: RedisStore
    http: httpx.AsyncClient
    rasa: RasaClient
    conversation: ConversationService
    agency: AgencyClients
    tickets: TicketService
    media: MediaStore
    outbox: Outbox
    inbox: Inbox
    channels: Channels
    handoffs: HandoffService
    events: EventHub
    status_updates: StatusUpdates
    rights: Rights

    async def aclose(self) -> None:
        await self.outbox.drain()  # sent outcomes still being written (bot/outbound.py)
        await self.events.aclose()
        await self.channels.aclose()
        await self.agency.aclose()
        await self.rasa.aclose()
        await self.http.aclose()
        await self.store.aclose()
        self.engine.dispose()


def build_services(
    settings: Settings,
    *,
    rasa: RasaClient | None = None,
    agency: AgencyClients | None = None,
    http: httpx.AsyncClient | None = None,
) -> Services:
    """Everything the gateway needs; tests pass fakes for the outside services."""
    engine = make_engine(settings.database_url)
    redis = make_redis(settings.redis_url)
    store = RedisStore(redis)
    http = http or httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
    rasa = rasa or RasaClient(settings.rasa_servers, timeout=settings.rasa_timeout_s)
    agency = agency or AgencyClients.from_base_url(
        settings.agency_api_url, timeout=settings.agency_timeout_s
    )
    sessions = make_sessionmaker(engine)
    menus = MenuMemory(store)
    conversation = ConversationService(rasa, menus, redis)
    # The encrypted columns and the media store use this process's keys (docs/privacy.md).
    media = MediaStore(settings.media_dir, settings.media_max_bytes, configure_keys(settings))
    outbox = Outbox(
        redis, sessions,
        limits={
            "telegram": ChannelLimits(settings.telegram_rate_per_s,
                                      settings.telegram_chat_interval_ms),
            "whatsapp": ChannelLimits(settings.whatsapp_rate_per_s,
                                      settings.whatsapp_chat_interval_ms),
            localchat.CHANNEL: ChannelLimits(1000.0, 0),
        },
        max_attempts=settings.send_max_attempts, backoff_base_s=settings.send_backoff_base_s,
        backoff_max_s=settings.send_backoff_max_s, bulk_lease_s=settings.campaign_lease_s,
    )
    inbox = Inbox(redis, sessions, conversation, outbox, media,
                  lease_s=settings.inbound_lease_s, dedup_ttl_s=settings.dedup_ttl_s,
                  rasa_retry_max_s=settings.rasa_retry_max_s,
                  predictions=PredictionRecorder(redis, sessions,
                                                 review_below=settings.nlu_review_confidence))
    channels = build_channels(settings, inbox, outbox, media)
    inbox.register(localchat.CHANNEL, localchat.render, localchat.NoMedia())
    outbox.register(localchat.CHANNEL, localchat.LocalChatClient(redis))
    handoffs = HandoffService(redis, sessions, inbox.deliver, HandoffSettings(
        first_response_s=settings.handoff_first_response_s,
        notice_after_s=settings.handoff_notice_after_s,
        auto_assign=settings.handoff_auto_assign,
        office=OfficeHours.parse(settings.pintu_office_hours)))
    inbox.handoffs = handoffs
    rights = Rights(redis, sessions, rasa, menus, media,
                    retention_days=settings.retention_messages_days)
    inbox.rights = rights
    inbox.bot_ready = bot_probe(rasa, http, settings.action_server_url)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        http=http,
        rasa=rasa,
        conversation=conversation,
        agency=agency,
        tickets=TicketService(sessions, agency.laksa),
        media=media,
        outbox=outbox,
        inbox=inbox,
        channels=channels,
        handoffs=handoffs,
        events=EventHub(redis),
        status_updates=StatusUpdates(sessions, redis, media, inbox.deliver,
                                     verification_keys=settings.verification_keyring,
                                     public_url=settings.public_url),
        rights=rights,
    )


def bot_probe(rasa: RasaClient, http: httpx.AsyncClient,
              action_server_url: str) -> Callable[[], Awaitable[bool]]:
    """Whether Rasa (with a model) and the action server both answer, within 2 s each."""
    async def ready() -> bool:
        try:
            status = await asyncio.wait_for(rasa.status(), timeout=2.0)
            health = await http.get(f"{action_server_url}/health", timeout=2.0)
        except Exception:
            return False
        return bool(status.get("model_id")) and health.status_code == 200
    return ready


def background_tasks(services: Services) -> list[asyncio.Task[None]]:
    """The workers a gateway process runs beside its HTTP routes."""
    settings = services.settings
    tasks = [asyncio.create_task(run_outbox(services, settings.outbox_interval_s)),
             asyncio.create_task(services.handoffs.run_timers(settings.handoff_timer_interval_s))]
    if services.outbox.channels:
        tasks.append(asyncio.create_task(services.inbox.run(settings.inbound_workers)))
        if services.inbox.predictions is not None:
            tasks.append(asyncio.create_task(services.inbox.predictions.run()))
        for channel in services.outbox.channels:
            tasks.append(asyncio.create_task(
                services.outbox.run(channel, settings.sender_concurrency)))
        tasks.append(asyncio.create_task(campaign_runner(services).run()))
        from .privacy import retention

        tasks.append(asyncio.create_task(retention.run_forever(
            services.sessions, services.store.redis, settings.media_dir,
            retention.Policy.from_settings(settings), interval_s=settings.retention_interval_s,
            catch_up=services.rights.catch_up)))
    if settings.run_model_jobs:
        from .learning.jobs import JobRunner, RunnerConfig

        runner = JobRunner(services.sessions, RunnerConfig(
            rasa_python=settings.rasa_python, models_dir=settings.models_dir,
            cv_folds=settings.nlu_cv_folds,
            retention_days=settings.nlu_prediction_retention_days))
        tasks.append(asyncio.create_task(runner.run_forever()))
    telegram = services.channels.telegram
    if telegram is not None and settings.telegram_mode == "polling":
        tasks.append(asyncio.create_task(poll_telegram(telegram, services.inbox)))
    return tasks


def campaign_runner(services: Services) -> CampaignRunner:
    """Feeds campaigns to this process's senders (and owns their jobs' outcomes)."""
    settings = services.settings
    whatsapp = services.channels.whatsapp
    return CampaignRunner(services.store.redis, services.sessions, services.outbox,
                          whatsapp_upload=whatsapp.upload if whatsapp is not None else None,
                          buffer_s=settings.campaign_buffer_s,
                          unconfirmed_after_s=settings.campaign_unconfirmed_after_s,
                          whatsapp_resend_after_s=settings.campaign_whatsapp_resend_after_s)


async def stop_tasks(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def register_telegram_webhook(services: Services) -> None:
    """With PUBLIC_BASE_URL set, tells Telegram where the webhook is (and its secret)."""
    settings = services.settings
    telegram = services.channels.telegram
    if telegram is None or settings.telegram_mode != "webhook" or not settings.public_base_url:
        return
    url = settings.public_base_url.rstrip("/") + "/webhooks/telegram"
    try:
        await telegram.set_webhook(url, settings.telegram_webhook_secret or "")
        log.info("telegram webhook registered")
    except Exception as exc:
        log.error("telegram webhook registration failed: %s", type(exc).__name__)


async def run_outbox(services: Services, interval_s: float) -> None:
    """Forwards complaints that LAKSA could not take when they were filed."""
    while True:
        raise_if_cancelled()
        try:
            await services.tickets.forward_due()
        except Exception:
            log.exception("outbox round failed")
        await asyncio.sleep(interval_s)


def create_app(
    settings: Settings | None = None, *, services: Services | None = None
) -> FastAPI:
    """Builds the gateway; `uvicorn bot.app:create_app --factory`. Tests may pass `services`."""
    from .logs import configure, quiet_libraries

    settings = services.settings if services else (settings or get_settings())
    if services is None:  # a real process (uvicorn --factory): set up its logging
        configure("DEBUG" if settings.pintu_debug else settings.log_level)
    quiet_libraries()
    production = settings.pintu_env != "development"

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal services
        services = services or build_services(settings)
        app.state.services = services
        await services.channels.start()
        await register_telegram_webhook(services)
        # With a shared Redis the workers run in their own process (`python -m bot.worker`), so
        # that webhooks are answered by an event loop that does nothing else.
        tasks = background_tasks(services) if settings.run_workers else []
        try:
            yield
        finally:
            await stop_tasks(tasks)
            await services.aclose()

    # Production serves no interactive docs (they load scripts from a CDN and map every route);
    # debug mode (tracebacks in answers) is for development only, as the settings enforce.
    app = FastAPI(title="Pintu gateway", version="0.1.0", lifespan=lifespan,
                  debug=settings.pintu_debug, docs_url=None if production else "/docs",
                  redoc_url=None if production else "/redoc",
                  openapi_url=None if production else "/openapi.json")
    from .api import agency, chat, errors, headers, health, internal, verification, webhooks
    from .staff import (
        admin_pages,
        campaign_pages,
        inbox_pages,
        model_pages,
        outreach_pages,
        review_pages,
    )
    from .staff import web as staff_web

    app.include_router(health.router)
    app.include_router(chat.router)
    app.include_router(internal.router)
    app.include_router(webhooks.router)
    app.include_router(agency.router)
    app.include_router(verification.router)
    app.include_router(staff_web.router)
    app.include_router(admin_pages.router)
    app.include_router(inbox_pages.router)
    app.include_router(review_pages.router)
    app.include_router(model_pages.router)
    app.include_router(outreach_pages.router)
    app.include_router(campaign_pages.router)
    app.mount("/staff/static", staff_web.static_files(), name="staff-static")
    errors.install(app)
    staff_web.protect(app)
    headers.install(app, production=production)
    return app
