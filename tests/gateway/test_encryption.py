"""Encryption at rest (bot/privacy): the database and the media store hold no plain personal data,
lookups go by keyed hash, keys rotate without losing anything, and migrations 0010 and 0011
encrypt and hash the rows of older databases (PostgreSQL and SQLite)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from cryptography.fernet import Fernet
from sqlalchemy import Engine, inspect, select, text
from sqlalchemy.orm import Session

from bot import db
from bot.media import MediaStore
from bot.models import (
    Base,
    Contact,
    Conversation,
    DeadLetter,
    HandoffNote,
    HandoffRequest,
    Message,
    Prediction,
    Ticket,
)
from bot.privacy import crypto, keys
from bot.privacy.columns import EncryptedColumnQueried
from bot.records import touch_contact
from bot.settings import Settings, get_settings

pytestmark = pytest.mark.integration

NIK = "3671051207800002"
PHONE = "6281234567890"
NAME = "Siti Rahmawati"
TEXT = f"KTP saya hilang, NIK {NIK}, atas nama {NAME}"
JPEG = b"\xff\xd8\xff\xe0" + b"foto-ktp-" * 200
KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
LOOKUP_1, LOOKUP_2 = "l1-" + "a" * 40, "l2-" + "b" * 40
WAMID = f"wamid.{PHONE}-77"  # a message id that holds the number, as Meta's and Telegram's do

Use = Callable[..., crypto.Keyring]


@pytest.fixture
def use_keys(monkeypatch: pytest.MonkeyPatch) -> Use:
    """Switches the process's keys (restored after the test)."""
    monkeypatch.setattr(crypto, "_active", None)

    def use(encryption_keys: str, lookup_key: str = LOOKUP_1) -> crypto.Keyring:
        return crypto.configure(Settings(_env_file=None, encryption_keys=encryption_keys,
                                         lookup_key=lookup_key))
    return use


def write_everything(session: Session, store: MediaStore) -> dict[str, Any]:
    """One resident's data in every encrypted place, as the gateway writes it."""
    photo = store.put(JPEG, "image/jpeg")
    contact = touch_contact(session, "whatsapp", PHONE, inbound=True)
    session.flush()
    conversation = Conversation(contact_id=contact.id)
    session.add(conversation)
    session.flush()
    message = Message(conversation_id=conversation.id, direction="in", channel="whatsapp",
                      kind="text", content={"text": TEXT, "attachment": {"ref": photo}},
                      status="processed", channel_message_id=WAMID)
    session.add(message)
    session.flush()
    session.add(Ticket(number="LKS-000777", kind="complaint", sender_id=f"whatsapp:{PHONE}",
                       category="jalan_rusak", agency="DPUPR", expected_response_days=3,
                       payload={"description": TEXT, "phone": PHONE, "photo_refs": [photo]}))
    handoff = HandoffRequest(sender_id=f"whatsapp:{PHONE}", reason="permintaan_warga",
                             note=f"warga {NAME}", contact_id=contact.id, channel="whatsapp")
    session.add(handoff)
    session.flush()
    session.add(HandoffNote(handoff_id=handoff.id, text=f"sudah cek {NIK}"))
    session.add(DeadLetter(channel="whatsapp", chat_id=PHONE, message_id=message.id,
                           request={"to": PHONE, "text": {"body": TEXT}}, reason="Rejected"))
    session.add(Prediction(message_id=message.id, channel="whatsapp", text=f"atas nama {NAME}",
                           text_key=f"atas nama {NAME.lower()}",
                           entities=[{"entity": "nama", "value": NAME}]))
    session.flush()
    return {"contact": contact.id, "photo": photo}


def raw_dump(engine: Engine) -> str:
    """Every row of every table, as the database holds it."""
    with engine.connect() as conn:
        return "\n".join(repr(row) for name in inspect(engine).get_table_names()
                         for row in conn.execute(text(f'SELECT * FROM "{name}"')))  # noqa: S608


def read_everything(engine: Engine, store: MediaStore, photo: str) -> dict[str, Any]:
    with Session(engine) as session:
        return {
            "contact": session.scalar(select(Contact.external_id)),
            "message": session.scalar(select(Message.content)),
            "ticket": session.scalar(select(Ticket.payload)),
            "sender": session.scalar(select(HandoffRequest.sender_id)),
            "note": session.scalar(select(HandoffNote.text)),
            "dead": session.scalar(select(DeadLetter.request)),
            "prediction": session.scalar(select(Prediction.entities)),
            "photo": store.open(photo)[0],
        }


@pytest.fixture
def store(tmp_path: Path) -> MediaStore:
    return MediaStore(tmp_path / "media", 1 << 20)


def test_the_database_and_the_media_store_hold_no_plain_personal_data(
        pg_engine: Engine, store: MediaStore, use_keys: Use) -> None:
    use_keys(KEY_A)
    with Session(pg_engine) as session, session.begin():
        written = write_everything(session, store)

    dump = raw_dump(pg_engine)
    for plain in (NIK, PHONE, NAME, NAME.lower(), "KTP saya hilang", "sudah cek"):
        assert plain not in dump
    stored = (store.root / Path(written["photo"]).name).read_bytes()
    assert b"foto-ktp" not in stored and not stored.startswith(b"\xff\xd8")
    # The application still reads plain values.
    read = read_everything(pg_engine, store, written["photo"])
    assert read["contact"] == PHONE and read["message"]["text"] == TEXT
    assert read["ticket"]["phone"] == PHONE and read["sender"] == f"whatsapp:{PHONE}"
    assert read["photo"] == JPEG
    with Session(pg_engine) as session:  # the message id is found by equality, kept as a hash
        assert session.scalar(select(Message.id).where(Message.channel_message_id == WAMID))
        assert session.scalar(select(Message.channel_message_id)) == \
            crypto.lookup_hash(WAMID, "message")


def test_lookups_go_by_keyed_hash_and_sql_cannot_compare_encrypted_columns(
        pg_engine: Engine, use_keys: Use) -> None:
    use_keys(KEY_A)
    with Session(pg_engine) as session, session.begin():
        first = touch_contact(session, "telegram", "5123456789", inbound=True)
        session.flush()
        assert touch_contact(session, "telegram", "5123456789", inbound=True).id == first.id
        assert touch_contact(session, "whatsapp", "5123456789", inbound=True).id != first.id
        assert first.external_hash == crypto.lookup_hash("5123456789", "contact")
        with pytest.raises(EncryptedColumnQueried):
            session.scalar(select(Contact).where(Contact.external_id == "5123456789"))
        with pytest.raises(EncryptedColumnQueried):
            select(Message).order_by(Message.content.desc())


def test_keys_rotate_and_the_old_key_can_then_go(
        pg_engine: Engine, store: MediaStore, use_keys: Use) -> None:
    use_keys(KEY_A)
    with Session(pg_engine) as session, session.begin():
        written = write_everything(session, store)
    before = read_everything(pg_engine, store, written["photo"])

    ring = use_keys(f"{KEY_B},{KEY_A}")
    printed: list[str] = []
    assert keys.rotate(pg_engine, Base.metadata, ring, store.root, printed.append) == 0
    assert "messages: 1 rows, 1 re-encrypted" in printed
    assert "media: 1 files, 1 re-encrypted, 0 no key opens" in printed
    assert not any(PHONE in line or NAME in line for line in printed)  # counts, never data
    again: list[str] = []
    keys.rotate(pg_engine, Base.metadata, ring, store.root, again.append)  # idempotent
    assert "messages: 1 rows, 0 re-encrypted" in again and "media: 1 files, 0 re-encrypted, " \
        "0 no key opens" in again

    use_keys(KEY_B)  # key A retired
    assert read_everything(pg_engine, store, written["photo"]) == before
    use_keys(KEY_A)  # and key A alone opens nothing any more
    with pytest.raises(crypto.DecryptionError):
        read_everything(pg_engine, store, written["photo"])


def test_a_rotation_stopped_half_way_is_finished_by_the_next_run(
        pg_engine: Engine, use_keys: Use) -> None:
    use_keys(KEY_A)
    with Session(pg_engine) as session, session.begin():
        for n in range(7):
            touch_contact(session, "telegram", f"70000{n}", inbound=True)
    ring = use_keys(f"{KEY_B},{KEY_A}")

    class Stopped(Exception):
        pass

    def stop_after_first_batch(conn: Any) -> Callable[[], None]:
        def commit() -> None:
            conn.commit()
            raise Stopped
        return commit

    with pg_engine.connect() as conn, pytest.raises(Stopped):
        keys.rewrite(conn, "contacts", ["external_id"], lambda row: {
            "external_id": ring.rotate(row["external_id"].encode()).decode()}, batch=3,
            after_batch=stop_after_first_batch(conn))
    with pg_engine.connect() as conn:
        assert keys.rotate_rows(conn, ring, "contacts", ["external_id"], conn.commit) == (7, 4)
    use_keys(KEY_B)
    with Session(pg_engine) as session:
        assert sorted(session.scalars(select(Contact.external_id))) == \
            [f"70000{n}" for n in range(7)]


def test_a_new_lookup_key_finds_every_contact_after_rehash(
        pg_engine: Engine, use_keys: Use) -> None:
    use_keys(KEY_A, LOOKUP_1)
    with Session(pg_engine) as session, session.begin():
        contact_id = touch_contact(session, "whatsapp", PHONE, inbound=True).id
        session.flush()
        session.add(HandoffRequest(sender_id=f"whatsapp:{PHONE}", reason="permintaan_warga"))

    ring = use_keys(KEY_A, LOOKUP_2)
    printed: list[str] = []
    assert keys.rehash(pg_engine, ring, printed.append) == 0
    assert printed == ["contacts: 1 rows, 1 hashes renewed", "tickets: 0 rows, 0 hashes renewed",
                       "handoff_requests: 1 rows, 1 hashes renewed"]
    with Session(pg_engine) as session:
        assert touch_contact(session, "whatsapp", PHONE, inbound=True).id == contact_id
        assert session.scalar(select(HandoffRequest.id).where(
            HandoffRequest.sender_hash == crypto.lookup_hash(f"whatsapp:{PHONE}", "sender")))


def test_a_plain_file_stored_before_encryption_is_served_and_encrypted_by_rotate(
        store: MediaStore, use_keys: Use) -> None:
    ring = use_keys(KEY_A)
    store.root.mkdir(parents=True)
    (store.root / "legacy.jpg").write_bytes(JPEG)
    assert store.open("media/legacy.jpg")[0] == JPEG
    assert keys.rotate_media(store.root, ring).changed == 1
    assert (store.root / "legacy.jpg").read_bytes().startswith(crypto.TOKEN_PREFIX)
    assert store.open("media/legacy.jpg")[0] == JPEG


def test_new_key_prints_a_fresh_fernet_key(capsys: pytest.CaptureFixture[str]) -> None:
    assert keys.main(["new-key"]) == 0
    printed = capsys.readouterr().out.strip()
    assert crypto.parse_keys(printed) == [printed] and printed != crypto.DEV_ENCRYPTION_KEY


# -- migration 0010 on a database with plain rows -------------------------------------------------

@pytest.fixture(params=["postgresql", "sqlite"])
def old_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A database at revision 0009, before encryption at rest."""
    if request.param == "postgresql":
        engine = request.getfixturevalue("pg_engine")
        Base.metadata.drop_all(engine)
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE {db.VERSION_TABLE}"))
    else:
        engine = db.make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with db.migration_connection(engine) as conn:
        command.upgrade(db.alembic_config(conn), "0009")
    yield engine
    engine.dispose()


def test_migration_encrypts_existing_rows_and_fills_the_hashes(
        old_engine: Engine, use_keys: Use) -> None:
    use_keys(KEY_A)
    content = json.dumps({"text": TEXT})
    with old_engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO contacts (id, channel, external_id, language, status, first_seen_at,"
            " last_seen_at) VALUES (1, 'whatsapp', :p, 'id', 'active', CURRENT_TIMESTAMP,"
            " CURRENT_TIMESTAMP)"), {"p": PHONE})
        conn.execute(text("INSERT INTO conversations (id, contact_id, status, urgent, started_at,"
                          " last_message_at) VALUES (1, 1, 'bot', false, CURRENT_TIMESTAMP,"
                          " CURRENT_TIMESTAMP)"))
        conn.execute(text(
            "INSERT INTO messages (conversation_id, direction, channel, channel_message_id, kind,"
            " content, status, created_at, updated_at) VALUES (1, 'in', 'whatsapp', :w, 'text',"
            " :c, 'processed', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"), {"c": content, "w": WAMID})
        conn.execute(text(
            "INSERT INTO handoff_requests (sender_id, reason, urgent, note, status, created_at)"
            " VALUES (:s, 'permintaan_warga', false, :n, 'waiting', CURRENT_TIMESTAMP)"),
            {"s": f"whatsapp:{PHONE}", "n": NAME})

    db.upgrade(old_engine)

    dump = raw_dump(old_engine)
    assert PHONE not in dump and NIK not in dump and NAME not in dump
    with Session(old_engine) as session:
        assert touch_contact(session, "whatsapp", PHONE, inbound=True).id == 1
        assert session.scalar(select(Message.content).where(
            Message.channel_message_id == WAMID)) == {"text": TEXT}
        assert session.scalar(select(HandoffRequest.note).where(
            HandoffRequest.sender_hash == crypto.lookup_hash(f"whatsapp:{PHONE}", "sender"))
        ) == NAME

    with db.migration_connection(old_engine) as conn:  # 0011 leaves the message ids hashed
        command.downgrade(db.alembic_config(conn), "0009")
    with old_engine.connect() as conn:
        assert conn.scalar(text("SELECT external_id FROM contacts")) == PHONE
        content = conn.scalar(text("SELECT content FROM messages"))  # JSON again
        assert (json.loads(content) if isinstance(content, str) else content) == {"text": TEXT}


def test_the_rotate_command_reads_the_settings_and_prints_counts_only(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
        use_keys: Use) -> None:
    engine = db.make_engine(f"sqlite:///{tmp_path / 'pintu.db'}")
    db.upgrade(engine)
    use_keys(KEY_A)
    store = MediaStore(tmp_path / "media", 1 << 20)
    with Session(engine) as session, session.begin():
        write_everything(session, store)
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'pintu.db'}")
    monkeypatch.setenv("MEDIA_DIR", str(store.root))
    monkeypatch.setenv("ENCRYPTION_KEYS", f"{KEY_B},{KEY_A}")
    get_settings.cache_clear()
    try:
        assert keys.main(["rotate"]) == 0
    finally:
        get_settings.cache_clear()

    out = capsys.readouterr().out
    assert "contacts: 1 rows, 1 re-encrypted" in out and "media: 1 files, 1 re-encrypted" in out
    assert not any(secret in out for secret in (PHONE, NIK, NAME, KEY_A, KEY_B))
