"""Key management for encryption at rest (docs/privacy.md, "Key rotation").

    python -m bot.privacy.keys new-key   # a fresh Fernet key, for ENCRYPTION_KEYS
    python -m bot.privacy.keys rotate    # every encrypted value and media file under the newest key
    python -m bot.privacy.keys rehash    # every lookup hash under the current LOOKUP_KEY

`rotate` and `rehash` work in batches, each committed on its own: stopped half-way, a second run
finishes the job (values already under the newest key, hashes already right, are left alone).
They print counts, never data.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Connection,
    Engine,
    MetaData,
    RowMapping,
    bindparam,
    column,
    select,
    table,
    update,
)

from .columns import EncryptedJSON, EncryptedText
from .crypto import TOKEN_PREFIX, DecryptionError, Keyring, new_key

BATCH = 500
# A row's changed columns, or None (or {}) when it is fine as it is.
Transform = Callable[[RowMapping], dict[str, Any] | None]


def rewrite(conn: Connection, table_name: str, columns: Sequence[str], transform: Transform, *,
            batch: int = BATCH, after_batch: Callable[[], None] | None = None) -> tuple[int, int]:
    """Passes every row of a table (by id, `batch` at a time) through `transform` and writes
    what it changed; returns (rows seen, rows changed). Values are the database's own (tokens,
    not plain values): the table is read without the models' types."""
    t = table(table_name, column("id"), *(column(c) for c in columns))
    write = update(t).where(t.c.id == bindparam("_id")).values(
        {c: bindparam(f"_{c}") for c in columns})
    seen = changed = 0
    last = 0
    while True:
        rows = conn.execute(select(t).where(t.c.id > last).order_by(t.c.id).limit(batch)
                            ).mappings().all()
        if not rows:
            return seen, changed
        updates = []
        for row in rows:
            new = transform(row)
            if new:
                updates.append({"_id": row["id"],
                                **{f"_{c}": new.get(c, row[c]) for c in columns}})
        if updates:
            conn.execute(write, updates)
        seen, changed, last = seen + len(rows), changed + len(updates), rows[-1]["id"]
        if after_batch is not None:
            after_batch()


def encrypted_columns(metadata: MetaData) -> dict[str, list[str]]:
    """Each table's encrypted columns, as the models declare them."""
    found: dict[str, list[str]] = {}
    for name, t in sorted(metadata.tables.items()):
        cols = [c.name for c in t.columns if isinstance(c.type, EncryptedText | EncryptedJSON)]
        if cols:
            found[name] = cols
    return found


# (table, encrypted column, hash column, purpose): bot.models' lookup hashes.
HASHED = [("contacts", "external_id", "external_hash", "contact"),
          ("tickets", "sender_id", "sender_hash", "sender"),
          ("handoff_requests", "sender_id", "sender_hash", "sender")]


def rotate_rows(conn: Connection, keys: Keyring, table_name: str, columns: Sequence[str],
                after_batch: Callable[[], None] | None = None) -> tuple[int, int]:
    """Re-encrypts a table's tokens not made by the newest key; (rows seen, rows changed)."""
    def transform(row: RowMapping) -> dict[str, Any] | None:
        new = {c: keys.rotate(row[c].encode()).decode("ascii") for c in columns
               if row[c] is not None and not keys.is_current(row[c].encode())}
        return new or None

    return rewrite(conn, table_name, columns, transform, after_batch=after_batch)


def rehash_rows(conn: Connection, keys: Keyring, table_name: str, value: str, hashed: str,
                purpose: str, after_batch: Callable[[], None] | None = None) -> tuple[int, int]:
    """Recomputes a table's lookup hashes from the decrypted values; (rows seen, changed)."""
    def transform(row: RowMapping) -> dict[str, Any] | None:
        digest = keys.lookup_hash(keys.decrypt_text(row[value]), purpose)
        return None if digest == row[hashed] else {hashed: digest}

    return rewrite(conn, table_name, [value, hashed], transform, after_batch=after_batch)


@dataclass
class FileCounts:
    seen: int = 0
    changed: int = 0
    unreadable: int = 0


def _files(root: Path) -> Iterator[Path]:
    if root.is_dir():
        yield from sorted(p for p in root.iterdir() if p.is_file() and p.suffix != ".part")


def rotate_media(root: Path, keys: Keyring) -> FileCounts:
    """Every media file under the newest key; a plain file (stored before encryption) is
    encrypted. A file no key opens is counted, left as it is."""
    counts = FileCounts()
    for path in _files(root):
        counts.seen += 1
        data = path.read_bytes()
        if keys.is_current(data):
            continue
        if keys.is_token(data):
            data = keys.rotate(data)
        elif data.startswith(TOKEN_PREFIX):
            counts.unreadable += 1
            continue
        else:
            data = keys.encrypt(data)
        tmp = path.with_suffix(".part")
        tmp.write_bytes(data)
        os.chmod(tmp, 0o600)
        tmp.replace(path)
        counts.changed += 1
    return counts


def rotate(engine: Engine, metadata: MetaData, keys: Keyring, media_dir: Path,
           out: Callable[[str], None] = print) -> int:
    """The `rotate` command; 0 when everything is under the newest key."""
    failed = 0
    with engine.connect() as conn:
        for name, columns in encrypted_columns(metadata).items():
            try:
                seen, changed = rotate_rows(conn, keys, name, columns, conn.commit)
            except DecryptionError:
                conn.rollback()
                out(f"{name}: a value no key in ENCRYPTION_KEYS decrypts; stopped "
                    "(earlier batches are kept)")
                failed += 1
                continue
            out(f"{name}: {seen} rows, {changed} re-encrypted")
    files = rotate_media(media_dir, keys)
    out(f"media: {files.seen} files, {files.changed} re-encrypted, "
        f"{files.unreadable} no key opens")
    return 1 if failed or files.unreadable else 0


def rehash(engine: Engine, keys: Keyring, out: Callable[[str], None] = print) -> int:
    """The `rehash` command: after LOOKUP_KEY changed, with the gateway stopped."""
    with engine.connect() as conn:
        for name, value, hashed, purpose in HASHED:
            seen, changed = rehash_rows(conn, keys, name, value, hashed, purpose, conn.commit)
            out(f"{name}: {seen} rows, {changed} hashes renewed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.privacy.keys", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["new-key", "rotate", "rehash"])
    args = parser.parse_args(argv)
    if args.command == "new-key":
        print(new_key())
        return 0
    # Here, not at the top: `new-key` needs neither the settings nor the database.
    from ..db import make_engine
    from ..models import Base
    from ..settings import get_settings

    settings = get_settings()
    keys = Keyring.from_settings(settings)
    engine = make_engine(settings.database_url)
    try:
        if args.command == "rotate":
            return rotate(engine, Base.metadata, keys, settings.media_dir)
        return rehash(engine, keys)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
