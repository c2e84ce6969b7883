"""Database engine, session factory and schema management for the gateway (SQLAlchemy 2, Alembic).

The schema is made by the Alembic migrations in bot/migrations/versions/; `upgrade` applies them and
adopts databases that `Base.metadata.create_all` made before migrations existed.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from alembic import command
from alembic.config import Config
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import (
    JSON,
    Column,
    Connection,
    DateTime,
    Engine,
    ForeignKeyConstraint,
    Index,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    event,
    inspect,
    text,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeEngine

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parent.parent
# The first migration, and the tables it creates: exactly what `create_all` made before migrations.
INITIAL_REVISION = "0001"
INITIAL_TABLES = ("tickets", "ticket_events", "handoff_requests", "contacts", "conversations",
                  "messages", "dead_letters")
# Columns that migrations after INITIAL_REVISION added to its tables, with their constraints: a
# legacy database's missing tables are made without them (`initial_metadata`), so that the
# INITIAL_REVISION stamp tells the truth and the later migrations add them.
LATER_COLUMNS: dict[str, dict[str, tuple[tuple[str, str], ...]]] = {
    "messages": {"ref": (("uq_messages_ref", "unique"),),  # 0003
                 "staff_id": (("fk_messages_staff_id", "foreignkey"),)},  # 0004
    "handoff_requests": {  # 0004
        "channel": (), "contact_id": (("fk_handoff_requests_contact_id", "foreignkey"),),
        "service": (), "assigned_to": (("fk_handoff_requests_assigned_to", "foreignkey"),),
        "assigned_at": (), "first_response_at": (), "last_resident_at": (),
        "delay_notice_at": (), "closed_at": (),
        "closed_by": (("fk_handoff_requests_closed_by", "foreignkey"),),
        "resolution": (), "rating": (), "rated_at": (),
        "sender_hash": (("ix_handoff_requests_sender_hash", "index"),),  # 0010
    },
    "tickets": {"sender_hash": (("ix_tickets_sender_hash", "index"),)},  # 0010
    "contacts": {"external_hash": (("uq_contacts_channel_hash", "unique"),)},  # 0010
}
LATER_INDEXES = {"handoff_requests": ("ix_handoff_requests_status",)}  # 0004
# Columns of INITIAL_TABLES whose type a later migration changed, with the type before, and the
# lookups on them that it dropped: 0010 encrypted them (Text) and looks them up by hash instead.
EARLIER_TYPES: dict[str, dict[str, TypeEngine[Any]]] = {
    "tickets": {"sender_id": String(128), "payload": JSON()},
    "handoff_requests": {"sender_id": String(128)},
    "contacts": {"external_id": String(64)},
    "messages": {"content": JSON()},
    "dead_letters": {"chat_id": String(64), "request": JSON()},
}
EARLIER_INDEXES = {"tickets": ("ix_tickets_sender_id", "sender_id"),
                   "handoff_requests": ("ix_handoff_requests_sender_id", "sender_id")}
EARLIER_UNIQUE = {"contacts": ("uq_contacts_channel_id", "channel", "external_id")}
VERSION_TABLE = "alembic_version"
# Serialises concurrent upgrades of one PostgreSQL database (two workers starting at once).
MIGRATION_LOCK_KEY = 0x50494E5455  # "PINTU"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def aware(value: datetime) -> datetime:
    """A stored time as an aware UTC datetime: SQLite hands back naive datetimes for
    timezone-aware columns (they were stored in UTC); PostgreSQL's are aware already."""
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class Base(DeclarativeBase):
    """Declarative base of every gateway table."""

    type_annotation_map: ClassVar[dict[Any, TypeEngine[Any]]] = {datetime: DateTime(timezone=True)}


def make_engine(url: str) -> Engine:
    """An engine for the URL; SQLite gets a file directory, WAL and foreign keys.

    Statement parameters (message text, chat ids) stay out of SQLAlchemy's errors and logs: a
    database error logged with its traceback shows the SQL, never the values."""
    if url.startswith("sqlite:///"):
        path = url.removeprefix("sqlite:///")
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False},
                               hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True)


T = TypeVar("T")


def in_transaction(sessions: sessionmaker, work: Callable[..., T], *args: Any) -> T:
    """`work(session, *args)` in one transaction, committed unless it raises (callers in async
    code run it with `asyncio.to_thread`)."""
    with sessions.begin() as session:
        return work(session, *args)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


# --- schema management (Alembic) ---------------------------------------------------------------


def alembic_config(connection: Connection | None = None) -> Config:
    """The Alembic configuration of bot/migrations, bound to `connection` when given."""
    config = Config(str(ROOT / "alembic.ini"))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@contextmanager
def migration_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction, set up for schema changes.

    PostgreSQL: an advisory lock makes concurrent upgrades wait for each other, and its
    transactional DDL makes an upgrade all or nothing. SQLite: foreign keys are off while migrating
    (SQLite's own advice for schema changes), because Alembic's batch mode drops and re-creates a
    table, and dropping a table with foreign keys on deletes its children through ON DELETE CASCADE;
    `PRAGMA foreign_key_check` then proves nothing was left dangling.
    """
    with engine.connect() as conn:
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:  # only outside a transaction does this pragma take effect
            conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            conn.commit()
        try:
            with conn.begin():
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                                 {"key": MIGRATION_LOCK_KEY})
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"migration broke foreign keys in: "
                                           f"{sorted({row[0] for row in broken})}")
        finally:
            if sqlite:
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
                conn.commit()


def current_revision(connection: Connection) -> str | None:
    """The revision the database is at; None for an empty or never-migrated database."""
    return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str | None:
    """The newest revision in bot/migrations/versions."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _forget_dropped_schema(conn: Connection) -> None:
    """Clears a version stamp whose tables are all gone.

    `Base.metadata.drop_all` (the test fixtures) drops every gateway table but not alembic_version;
    without this, Alembic would think the empty database is up to date.
    """
    from . import models

    names = set(inspect(conn).get_table_names())
    if VERSION_TABLE not in names or names & set(models.Base.metadata.tables):
        return
    if current_revision(conn) is not None:
        log.warning("database is stamped but has none of the gateway's tables; migrating afresh")
        conn.execute(text(f"DELETE FROM {VERSION_TABLE}"))  # noqa: S608 (a constant, not input)


def initial_metadata() -> MetaData:
    """INITIAL_TABLES as INITIAL_REVISION made them: today's models less LATER_COLUMNS (with
    their constraints) and LATER_INDEXES."""
    from . import models

    metadata = MetaData()
    for name in INITIAL_TABLES:
        table = models.Base.metadata.tables[name]
        later = set(LATER_COLUMNS.get(name, {}))
        earlier = EARLIER_TYPES.get(name, {})
        items: list[Any] = [Column(column.name, earlier[column.name], nullable=column.nullable)
                            if column.name in earlier else column._copy()
                            for column in table.columns if column.name not in later]
        if name in EARLIER_INDEXES:
            items.append(Index(*EARLIER_INDEXES[name]))
        if name in EARLIER_UNIQUE:
            items.append(UniqueConstraint(*EARLIER_UNIQUE[name][1:],
                                          name=EARLIER_UNIQUE[name][0]))
        for constraint in table.constraints:
            names = [column.name for column in getattr(constraint, "columns", ())]
            if isinstance(constraint, ForeignKeyConstraint) and not set(names) & later:
                items.append(ForeignKeyConstraint(
                    names, [element.target_fullname for element in constraint.elements],
                    name=constraint.name, ondelete=constraint.ondelete))
            elif isinstance(constraint, UniqueConstraint) and not set(names) & later \
                    and not getattr(constraint, "_column_flag", False):
                items.append(UniqueConstraint(*names, name=constraint.name))
        for index in table.indexes:
            names = [column.name for column in index.columns]
            if index.name not in LATER_INDEXES.get(name, ()) and not set(names) & later \
                    and not getattr(index, "_column_flag", False):
                items.append(Index(index.name, *names, unique=index.unique))
        Table(name, metadata, *items)
    return metadata


def _adopt_legacy_schema(conn: Connection) -> None:
    """Stamps a database made by `create_all` before migrations as INITIAL_REVISION.

    Such a database has some of 0001's tables and no version stamp: the foundation slice made only
    tickets, ticket_events and handoff_requests, the last without its later `note` column. The
    missing pieces are created first, so that the stamp tells the truth. The missing tables are
    made by `initial_metadata`; a later migration that changes 0001's tables must be entered in
    LATER_COLUMNS, or test_foundation_slice_database_is_adopted_with_its_data
    (tests/gateway/test_migrations.py) fails.
    """
    from . import models

    if current_revision(conn) is not None:
        return
    present = set(inspect(conn).get_table_names())
    if not present & set(INITIAL_TABLES):
        return  # an empty database: the migrations make everything
    missing = [name for name in INITIAL_TABLES if name not in present]
    log.warning("adopting a database made before migrations (%d of %d tables missing)",
                len(missing), len(INITIAL_TABLES))
    metadata = initial_metadata()
    metadata.create_all(conn, tables=[metadata.tables[name] for name in missing])
    handoff_columns = {c["name"] for c in inspect(conn).get_columns("handoff_requests")}
    if "note" not in handoff_columns:
        note = models.Base.metadata.tables["handoff_requests"].c.note
        Operations(MigrationContext.configure(conn)).add_column(
            "handoff_requests", Column("note", note.type, nullable=True))
    command.stamp(alembic_config(conn), INITIAL_REVISION)


def _check_models_are_migrated(conn: Connection) -> None:
    from . import models

    missing = sorted(set(models.Base.metadata.tables) - set(inspect(conn).get_table_names()))
    if missing:
        raise RuntimeError(f"no migration creates the table(s) {missing} of bot/models.py; add one "
                           f"with `python -m bot.db revision -m \"...\"`")


def upgrade(engine: Engine) -> None:
    """Brings the schema up to the newest migration (Alembic `upgrade head`).

    Idempotent. Adopts a database made by `create_all` before migrations (see
    `_adopt_legacy_schema`), and migrates afresh a stamped database whose tables were all dropped.

    Raises:
        RuntimeError: a table of bot/models.py has no migration, or a SQLite migration broke
            foreign keys.
    """
    with migration_connection(engine) as conn:
        _forget_dropped_schema(conn)
        _adopt_legacy_schema(conn)
        command.upgrade(alembic_config(conn), "head")
        _check_models_are_migrated(conn)


def _next_revision_id() -> str | None:
    """0002 after 0001; None (Alembic's random id) if the head is not a number."""
    head = head_revision()
    if head is None:
        return INITIAL_REVISION
    return f"{int(head) + 1:04d}" if head.isdigit() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.db",
                                     description="The gateway's database schema (Alembic).")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("upgrade", help="migrate the database to the newest revision")
    commands.add_parser("current", help="print the revision the database is at")
    revision = commands.add_parser(
        "revision", help="write a new migration from the difference between models and database")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)

    from .settings import get_settings

    engine = make_engine(get_settings().database_url)
    shown = engine.url.render_as_string(hide_password=True)
    try:
        if args.command == "upgrade":
            upgrade(engine)
            with engine.connect() as conn:
                print(f"database schema up to date at {current_revision(conn)} ({shown})")
        elif args.command == "current":
            with engine.connect() as conn:
                rev = current_revision(conn)
            state = "head" if rev is not None and rev == head_revision() else "not head"
            print(f"{rev or 'none'} ({state}; {shown})")
        else:
            with migration_connection(engine) as conn:
                # Autogenerate compares the models with this database, which must be at head.
                scripts = command.revision(alembic_config(conn), message=args.message,
                                           autogenerate=True, rev_id=_next_revision_id())
            for script in scripts if isinstance(scripts, list) else [scripts]:
                if script is not None:
                    print(f"wrote {Path(script.path).relative_to(ROOT)}: review it before use")
    except CommandError as exc:
        hint = " (run `python -m bot.db upgrade` first)" if "not up to date" in str(exc) else ""
        print(f"error: {exc}{hint}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
