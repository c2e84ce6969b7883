"""Gateway fixtures: real PostgreSQL and Redis (as in CI), fakes for Rasa and the agencies."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

# Property tests (hypothesis): `ci` is what `make test` runs (a few seconds a test), `bench` the
# fuller run of `make bench` (bench/fuzz.py); HYPOTHESIS_PROFILE picks one. No example database,
# so a run leaves no files behind.
hypothesis_settings.register_profile("ci", max_examples=200, deadline=None, database=None)
hypothesis_settings.register_profile("bench", max_examples=2000, deadline=None, database=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

PG_URL = os.environ.get("TEST_DATABASE_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/pintu_test")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _ensure_database(url: str) -> None:
    parsed = make_url(url)
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                             {"n": parsed.database})
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


@pytest.fixture(scope="session")
def pg_url() -> str:
    _ensure_database(PG_URL)
    return PG_URL


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[object]:
    """A clean schema in the real PostgreSQL test database."""
    from bot.db import Base, make_engine, upgrade

    engine = make_engine(pg_url)
    Base.metadata.drop_all(engine)
    upgrade(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def redis_url() -> Iterator[str]:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield REDIS_URL
    client.flushdb()
    client.close()


def resident_message(session: Any, *, channel: str, external_id: str, text: str) -> Any:
    """A resident's stored text message (contact and conversation made for it), flushed."""
    from bot.models import Contact, Conversation, Message

    contact = Contact(channel=channel, external_id=external_id)
    session.add(contact)
    session.flush()
    conversation = Conversation(contact_id=contact.id)
    session.add(conversation)
    session.flush()
    message = Message(conversation_id=conversation.id, direction="in", channel=channel,
                      kind="text", content={"text": text}, status="processed")
    session.add(message)
    session.flush()
    return message
