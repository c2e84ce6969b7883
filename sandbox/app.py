"""The sandbox's FastAPI application factory: `uvicorn sandbox.app:create_app --factory`."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from pydantic import BaseModel

from .clock import Clock, system_clock
from .db import make_engine, make_sessionmaker
from .errors import install_error_handlers
from .faults import FaultConfig, FaultMiddleware, Faults
from .faults import router as faults_router
from .routes import control, dukcapil, health, laksa, queue, tax
from .seed import prepare_database
from .settings import SandboxSettings
from .webhooks import Dispatcher

DESCRIPTION = """Stand-in for the agency APIs Pintu talks to. All data is synthetic and seeded
deterministically. Errors always look like `{"error": {"code": "...", "message": "..."}}`;
messages are Indonesian and safe to show residents. See docs/sandbox.md."""
TAGS = [
    {"name": "Dukcapil", "description": "Population registry (Disdukcapil)"},
    {"name": "LAKSA", "description": "Complaints (Tangerang Live Room)"},
    {"name": "Queue", "description": "Online queue for city offices"},
    {"name": "Health", "description": "Free hospital beds"},
    {"name": "Tax", "description": "PBB and PDAM bills"},
    {"name": "sandbox control", "description": "Fault injection and test helpers (sandbox only)"},
]


class Health(BaseModel):
    status: str


def create_app(settings: SandboxSettings | None = None, *, clock: Clock = system_clock,
               prepare: bool = True) -> FastAPI:
    """Builds the app; with `prepare`, creates the schema and seeds an empty database first.

    Args:
        settings: read from SANDBOX_* environment variables when not given.
        clock: the sandbox's notion of now (tests pass a fixed one).
        prepare: False only to render the OpenAPI document without touching a database.
    """
    settings = settings or SandboxSettings()
    engine = make_engine(settings.database_url)
    sessions = make_sessionmaker(engine)
    if prepare:
        prepare_database(engine, sessions, seed=settings.seed, residents=settings.residents,
                         clock=clock)

    dispatcher = Dispatcher(sessions, settings.webhook_url, settings.webhook_secrets,
                            clock) if settings.webhook_url else None

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(dispatcher.run(settings.webhook_interval_s)) \
            if dispatcher is not None else None
        yield
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if dispatcher is not None:
            await dispatcher.aclose()
        engine.dispose()

    app = FastAPI(title="Pintu agency sandbox", version="1.0.0", description=DESCRIPTION,
                  openapi_tags=TAGS, lifespan=lifespan)
    app.state.settings, app.state.engine, app.state.sessions = settings, engine, sessions
    app.state.clock = clock
    app.state.dispatcher = dispatcher
    app.state.write_lock = threading.Lock()
    app.state.faults = Faults(FaultConfig())
    install_error_handlers(app)
    for module in (dukcapil, laksa, queue, health, tax):
        app.include_router(module.router)
    if settings.allow_faults:
        app.include_router(faults_router)
        app.include_router(control.router)
        app.add_middleware(FaultMiddleware, faults=app.state.faults)

    @app.get("/healthz", response_model=Health, tags=["sandbox control"], summary="Liveness")
    def healthz() -> Health:
        return Health(status="ok")

    return app
