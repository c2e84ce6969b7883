"""The prediction recorder (bot/learning/recorder.py): Redis on the resident's path, PostgreSQL in
batches, nothing lost when the database is away, no personal number in Redis."""

from __future__ import annotations

import json

import pytest
from redis.asyncio import Redis
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import SQLAlchemyError

from bot.db import make_sessionmaker
from bot.learning import recorder
from bot.learning.recorder import KEY, PredictionRecorder
from bot.models import Prediction
from bot.rasa_client import Understanding
from tests.gateway.conftest import resident_message

pytestmark = pytest.mark.integration

NIK = "3671051207800002"


def understood(confidence: float = 0.9) -> Understanding:
    return Understanding(text="", intent="ktp", confidence=confidence,
                         ranking=(("ktp", confidence), ("kk", 0.05)), model="m1")


async def test_rows_wait_in_redis_masked_and_are_written_in_batches(
        pg_engine: Engine, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(recorder, "BATCH", 7)
    redis = Redis.from_url(redis_url)
    sessions = make_sessionmaker(pg_engine)
    rec = PredictionRecorder(redis, sessions, review_below=0.7)
    for n in range(20):
        await rec.add(channel="whatsapp", message_id=None, text=f"cek ktp {NIK} ke-{n}",
                      understanding=understood(0.5 if n % 2 else 0.9))
    await rec.add(channel="whatsapp", message_id=None, text="/ktp", understanding=understood())
    waiting = await redis.lrange(KEY, 0, -1)
    assert len(waiting) == 20 and not any(NIK.encode() in item for item in waiting)
    assert await rec.flush() == 20
    with sessions() as session:
        stored = session.scalars(select(Prediction).order_by(Prediction.id)).all()
    assert [p.text for p in stored][:2] == ["cek ktp 3671**********02 ke-0",
                                            "cek ktp 3671**********02 ke-1"]
    assert [p.review for p in stored].count("pending") == 10
    assert await redis.llen(KEY) == 0
    await redis.aclose()


async def test_a_database_outage_keeps_the_rows_in_order_for_the_next_round(
        pg_engine: Engine, redis_url: str) -> None:
    redis = Redis.from_url(redis_url)
    sessions = make_sessionmaker(pg_engine)
    rec = PredictionRecorder(redis, sessions, review_below=0.7)
    for n in range(3):
        await rec.add(channel="telegram", message_id=None, text=f"pesan {n}",
                      understanding=understood())
    with pg_engine.begin() as conn:
        conn.execute(text("ALTER TABLE nlu_predictions RENAME TO gone"))
    try:
        with pytest.raises(SQLAlchemyError):
            await rec.flush()
        assert [json.loads(i)["text"] for i in await redis.lrange(KEY, 0, -1)] == \
            ["pesan 0", "pesan 1", "pesan 2"]
    finally:
        with pg_engine.begin() as conn:
            conn.execute(text("ALTER TABLE gone RENAME TO nlu_predictions"))
    assert await rec.flush() == 3
    with sessions() as session:
        assert list(session.scalars(select(Prediction.text).order_by(Prediction.id))) == \
            ["pesan 0", "pesan 1", "pesan 2"]
    await redis.aclose()


async def test_a_message_flagged_before_its_prediction_arrives_keeps_one_row(
        pg_engine: Engine, redis_url: str) -> None:
    sessions = make_sessionmaker(pg_engine)
    with sessions.begin() as session:
        message_id = resident_message(session, channel="telegram", external_id="5123456789",
                                      text="ktp hilang gmn").id
    redis = Redis.from_url(redis_url)
    rec = PredictionRecorder(redis, sessions, review_below=0.7)
    with sessions.begin() as session:
        session.add(Prediction(message_id=message_id, channel="telegram", text="ktp hilang gmn",
                               text_key="ktp hilang gmn", review="pending"))
    await rec.add(channel="telegram", message_id=message_id, text="ktp hilang gmn",
                  understanding=understood())
    await rec.add(channel="telegram", message_id=999_999, text="pesan yang sudah dihapus",
                  understanding=understood())
    assert await rec.flush() == 2
    with sessions() as session:
        rows = session.execute(select(Prediction.message_id, Prediction.text)
                               .order_by(Prediction.id)).all()
    assert rows == [(message_id, "ktp hilang gmn"), (None, "pesan yang sudah dihapus")]
    await redis.aclose()
