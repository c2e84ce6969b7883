"""Database engine, session factory and schema management for the gateway (SQLAlchemy 2)."""

from __future__ import annotations

import argparse
import logging
from datetime import datetime, timezone
from typing import Any, ClassVar

from sqlalchemy import DateTime, Engine, create_engine, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeEngine

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of every gateway table."""

    type_annotation_map: ClassVar[dict[Any, TypeEngine[Any]]] = {datetime: DateTime(timezone=True)}


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets a file directory, WAL and foreign keys."""
    if url.startswith("sqlite:///"):
        from pathlib import Path

        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def upgrade(engine: Engine) -> None:
    """Brings the schema up to date (creates missing tables)."""
    from . import models

    # models.Base, not this module's Base: under `python -m bot.db` this file runs as __main__,
    # a second copy of the module whose Base has no tables registered.
    models.Base.metadata.create_all(engine)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bot.db")
    parser.add_argument("command", choices=["upgrade"])
    args = parser.parse_args()
    from .settings import get_settings

    if args.command == "upgrade":
        engine = make_engine(get_settings().database_url)
        upgrade(engine)
        print(f"database schema up to date ({engine.url.render_as_string(hide_password=True)})")


if __name__ == "__main__":
    main()
