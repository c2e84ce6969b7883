"""The gateway's FastAPI application factory."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from sqlalchemy import Engine
from sqlalchemy.orm import sessionmaker

from integrations.agency import AgencyClients

from .conversation import ConversationService
from .db import make_engine, make_sessionmaker
from .kv import KeyValueStore, make_store
from .menus import MenuMemory
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
    store: KeyValueStore
    http: httpx.AsyncClient
    rasa: RasaClient
    conversation: ConversationService
    agency: AgencyClients
    tickets: TicketService


def build_services(
    settings: Settings,
    *,
    rasa: RasaClient | None = None,
    agency: AgencyClients | None = None,
    http: httpx.AsyncClient | None = None,
) -> Services:
    """Everything the gateway needs; tests pass fakes for the outside services."""
    engine = make_engine(settings.database_url)
    store = make_store(settings.redis_url)
    http = http or httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=2.0))
    rasa = rasa or RasaClient(settings.rasa_url, timeout=settings.rasa_timeout_s)
    agency = agency or AgencyClients.from_base_url(
        settings.agency_api_url, timeout=settings.agency_timeout_s
    )
    sessions = make_sessionmaker(engine)
    return Services(
        settings=settings,
        engine=engine,
        sessions=sessions,
        store=store,
        http=http,
        rasa=rasa,
        conversation=ConversationService(rasa, MenuMemory(store)),
        agency=agency,
        tickets=TicketService(sessions, agency.laksa),
    )


async def run_outbox(services: Services, interval_s: float) -> None:
    """Forwards complaints that LAKSA could not take when they were filed."""
    while True:
        try:
            await services.tickets.forward_due()
        except Exception:
            log.exception("outbox round failed")
        await asyncio.sleep(interval_s)


def create_app(
    settings: Settings | None = None, *, services: Services | None = None
) -> FastAPI:
    """Builds the gateway; `uvicorn bot.app:create_app --factory`. Tests may pass `services`."""
    settings = services.settings if services else (settings or get_settings())

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        nonlocal services
        services = services or build_services(settings)
        app.state.services = services
        outbox = asyncio.create_task(run_outbox(services, settings.outbox_interval_s))
        try:
            yield
        finally:
            outbox.cancel()
            await services.agency.aclose()
            await services.rasa.aclose()
            await services.http.aclose()
            await services.store.aclose()
            services.engine.dispose()

    app = FastAPI(title="Pintu gateway", version="0.1.0", lifespan=lifespan)
    from .api import chat, health, internal

    app.include_router(health.router)
    app.include_router(chat.router)
    app.include_router(internal.router)
    return app
