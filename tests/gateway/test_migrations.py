"""Alembic migrations: they make the models' schema on PostgreSQL and SQLite, adopt databases that
`create_all` made before migrations, and undo cleanly."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from bot import db, models
from bot.settings import get_settings

# A database of its own, so that resetting it cannot disturb the tests that use pintu_test.
PG_URL = make_url(os.environ.get("TEST_DATABASE_URL",
                                 "postgresql+psycopg://postgres@127.0.0.1:5432/pintu_test")
                  ).set(database="pintu_migrations_test")
METADATA = models.Base.metadata
FOUNDATION_TABLES = ["tickets", "ticket_events", "handoff_requests"]


def _ensure_database() -> None:
    admin = create_engine(PG_URL.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                           {"n": PG_URL.database}):
            conn.execute(text(f'CREATE DATABASE "{PG_URL.database}"'))
    admin.dispose()


@pytest.fixture(scope="module")
def pg_database() -> str:
    _ensure_database()
    return PG_URL.render_as_string(hide_password=False)


@pytest.fixture
def pg(pg_database: str) -> Iterator[Engine]:
    """An empty PostgreSQL database: not even an alembic_version table."""
    engine = db.make_engine(pg_database)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    yield engine
    engine.dispose()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Engine]:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'pintu.db'}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["postgresql", "sqlite"])
def engine(request: pytest.FixtureRequest) -> Engine:
    if request.param == "postgresql":
        request.applymarker(pytest.mark.integration)
        return request.getfixturevalue("pg")
    return request.getfixturevalue("sqlite")


def _tables(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return db.current_revision(conn)


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, METADATA))


def _add_ticket(engine: Engine, number: str = "LKS-000001") -> None:
    # Before 0010 the sender id and payload are plain; from it on, the models encrypt them.
    encrypted = "sender_hash" in {c["name"] for c in inspect(engine).get_columns("tickets")}
    with engine.begin() as conn:
        if encrypted:
            with Session(conn) as session:
                session.add(models.Ticket(number=number, kind="complaint", sender_id="api:1",
                                          category="jalan", agency="DPUPR",
                                          expected_response_days=3, payload={}))
                session.flush()
        else:
            conn.execute(text(
                "INSERT INTO tickets (number, kind, sender_id, category, agency,"
                " expected_response_days, payload, status, submit_attempts, created_at,"
                " updated_at) VALUES (:n, 'complaint', 'api:1', 'jalan', 'DPUPR', 3, '{}',"
                " 'diterima', 0, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"n": number})
        conn.execute(text(
            "INSERT INTO ticket_events (ticket_id, at, status, note) SELECT id, CURRENT_TIMESTAMP,"
            " 'diterima', '' FROM tickets WHERE number = :n"), {"n": number})


def _ticket_numbers(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(text("SELECT number FROM tickets ORDER BY number")))


def test_upgrade_makes_every_table_of_the_models_at_head(engine: Engine) -> None:
    db.upgrade(engine)

    assert _tables(engine) == set(METADATA.tables) | {db.VERSION_TABLE}
    assert _revision(engine) == db.head_revision()


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    db.upgrade(engine)

    assert _differences(engine) == []


def test_second_upgrade_changes_nothing(engine: Engine) -> None:
    db.upgrade(engine)
    _add_ticket(engine)

    db.upgrade(engine)

    assert _revision(engine) == db.head_revision()
    assert _ticket_numbers(engine) == ["LKS-000001"]
    assert _differences(engine) == []


def test_initial_tables_are_what_the_first_migration_creates(sqlite: Engine) -> None:
    with db.migration_connection(sqlite) as conn:
        command.upgrade(db.alembic_config(conn), db.INITIAL_REVISION)

    assert _tables(sqlite) == set(db.INITIAL_TABLES) | {db.VERSION_TABLE}


def test_foundation_slice_database_is_adopted_with_its_data(engine: Engine) -> None:
    # What `create_all` made in the first commit: three tables, handoff_requests without `note`.
    initial = db.initial_metadata()
    initial.create_all(engine, tables=[initial.tables[name] for name in FOUNDATION_TABLES])
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE handoff_requests DROP COLUMN note"))
    _add_ticket(engine)

    db.upgrade(engine)

    assert _tables(engine) == set(METADATA.tables) | {db.VERSION_TABLE}
    assert _revision(engine) == db.head_revision()
    assert _ticket_numbers(engine) == ["LKS-000001"]
    assert _differences(engine) == []


def test_complete_create_all_database_is_stamped(engine: Engine) -> None:
    # Everything `create_all` made before migrations existed: 0001's tables, no later ones.
    initial = db.initial_metadata()
    initial.create_all(engine, tables=[initial.tables[name] for name in db.INITIAL_TABLES])
    _add_ticket(engine)

    db.upgrade(engine)

    assert _revision(engine) == db.head_revision()
    assert _ticket_numbers(engine) == ["LKS-000001"]
    assert _differences(engine) == []


def test_stamped_database_whose_tables_were_dropped_is_migrated_afresh(engine: Engine) -> None:
    # The test fixtures' drop_all leaves alembic_version behind.
    db.upgrade(engine)
    METADATA.drop_all(engine)
    assert _tables(engine) == {db.VERSION_TABLE}

    db.upgrade(engine)

    assert _tables(engine) == set(METADATA.tables) | {db.VERSION_TABLE}
    assert _differences(engine) == []


def test_downgrade_to_base_and_back_on_sqlite(sqlite: Engine) -> None:
    db.upgrade(sqlite)

    with db.migration_connection(sqlite) as conn:
        command.downgrade(db.alembic_config(conn), "base")

    assert _tables(sqlite) == {db.VERSION_TABLE}
    assert _revision(sqlite) is None
    db.upgrade(sqlite)
    assert _differences(sqlite) == []


def test_sqlite_batch_migration_keeps_child_rows_and_foreign_keys(sqlite: Engine) -> None:
    # Batch mode re-creates a table; with foreign keys on, dropping the old copy would delete the
    # ticket's events through ON DELETE CASCADE. migration_connection turns them off meanwhile.
    db.upgrade(sqlite)
    _add_ticket(sqlite)

    with db.migration_connection(sqlite) as conn, \
            Operations(MigrationContext.configure(conn)).batch_alter_table(
                "tickets", recreate="always"):
        pass

    with sqlite.connect() as conn:
        assert conn.scalar(text("SELECT count(*) FROM ticket_events")) == 1
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


@pytest.mark.integration
def test_upgrade_waits_while_another_one_runs(pg: Engine, pg_database: str) -> None:
    # Two workers starting at once must not both create the tables: an upgrade takes an advisory
    # lock first. Here the test holds that lock, as a running upgrade would.
    env = {**os.environ, "DATABASE_URL": pg_database, "PYTHONPATH": str(db.ROOT)}
    with pg.connect() as holder:
        holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": db.MIGRATION_LOCK_KEY})
        run = subprocess.Popen([sys.executable, "-m", "bot.db", "upgrade"], env=env, cwd=db.ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while not holder.scalar(text(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")):
                assert run.poll() is None, run.communicate()
                assert time.monotonic() < deadline, "the upgrade never asked for the lock"
                time.sleep(0.1)
            assert _tables(pg) == set()
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": db.MIGRATION_LOCK_KEY})
            holder.commit()
            _, err = run.communicate(timeout=120)

    assert run.returncode == 0, err
    assert _revision(pg) == db.head_revision()


@pytest.mark.integration
def test_cli_upgrade_and_current_hide_the_password(
        pg: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # Trust authentication ignores the password; it is there to be hidden.
    monkeypatch.setenv("DATABASE_URL",
                       PG_URL.set(password="s3cret-pw").render_as_string(hide_password=False))
    get_settings.cache_clear()
    try:
        assert db.main(["upgrade"]) == 0
        assert db.main(["current"]) == 0
    finally:
        get_settings.cache_clear()

    out = capsys.readouterr().out
    assert "s3cret-pw" not in out
    assert f"database schema up to date at {db.head_revision()}" in out
    assert f"{db.head_revision()} (head; postgresql+psycopg://postgres:***@" in out
