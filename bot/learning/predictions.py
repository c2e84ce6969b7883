"""Every NLU prediction, masked, and the review queue built from them.

The gateway records what Rasa understood of each resident message (`record`): the model version,
the intent ranking, the confidence and the entities, with the text's NIK, KK and phone digits
starred in place. A message goes to the review queue when the model was unsure, when the bot
answered with a fallback, or when an officer flagged it from the inbox (`flag`). Admins label or
dismiss it (`label`, `dismiss`), one by one or a whole group of similar messages at once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ..db import utcnow
from ..models import Message, Prediction
from ..rasa_client import Understanding
from ..staff.masking import star_personal

# Entities whose values are personal numbers: stored as starred as the text.
PERSONAL_ENTITIES = {"nik", "kk_number", "phone"}
RANKING_KEPT = 5
REASONS = ("unsure", "fallback", "flagged")
INTENT_NAME = re.compile(r"^[a-z][a-z0-9_]{1,62}$")


_REPEATS = re.compile(r"(.)\1{2,}")
_NOT_WORD = re.compile(r"[^a-z0-9#* ]+")


def text_key(text: str) -> str:
    """The text with case, accents, punctuation, numbers and drawn-out letters folded, so that
    "Cek KTP 3671**********02!!" and "cek ktp 3174**********11" share one key."""
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode().lower()
    folded = re.sub(r"[\d*]+(?:[ .-]?[\d*]+)*", "#", folded)
    folded = _REPEATS.sub(r"\1", _NOT_WORD.sub(" ", folded))
    return " ".join(folded.split())[:200]


def _entities(text: str, masked: str, entities: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for raw in entities:
        start, end = raw.get("start"), raw.get("end")
        name = str(raw.get("entity") or "")
        if not name:
            continue
        spans = isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)
        value = raw.get("value")
        if spans:
            value = masked[start:end] if name in PERSONAL_ENTITIES else value
        elif name in PERSONAL_ENTITIES:
            value = star_personal(str(value))
        out.append({"entity": name, "value": value, "start": start if spans else None,
                    "end": end if spans else None, "extractor": raw.get("extractor")})
    return out


def row(*, channel: str, message_id: int | None, text: str, understanding: Understanding,
        review_below: float) -> dict[str, Any] | None:
    """One prediction's columns, masked; None for a button press or an empty text (nothing was
    guessed). Plain JSON types, so that it can wait in Redis (`recorder.py`)."""
    if not text.strip() or text.lstrip().startswith("/"):
        return None
    masked = star_personal(text)
    unsure = understanding.confidence < review_below
    return {
        "message_id": message_id, "channel": channel, "model_version": understanding.model,
        "text": masked, "text_key": text_key(masked), "intent": understanding.intent,
        "confidence": float(understanding.confidence),
        "ranking": [{"name": n, "confidence": round(float(c), 4)}
                    for n, c in understanding.ranking[:RANKING_KEPT]],
        "entities": _entities(text, masked, understanding.entities),
        "fallback": bool(understanding.fallback), "unsure": unsure,
        "review": "pending" if unsure or understanding.fallback else "none",
    }


def record(session: Session, *, channel: str, message_id: int | None, text: str,
           understanding: Understanding, review_below: float) -> Prediction | None:
    """Stores one prediction; None for a button press or an empty text (nothing was guessed)."""
    columns = row(channel=channel, message_id=message_id, text=text,
                  understanding=understanding, review_below=review_below)
    if columns is None:
        return None
    prediction = Prediction(**columns)
    session.add(prediction)
    return prediction


def insert_rows(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Many predictions in one statement (`row`'s output). A message deleted meanwhile (its
    resident asked) loses the link, not the prediction; a message that already has one (an
    officer flagged it first, or a batch written twice) keeps it."""
    if not rows:
        return
    ids = {r["message_id"] for r in rows if r.get("message_id") is not None}
    known = set(session.scalars(select(Message.id).where(Message.id.in_(ids)))) if ids else set()
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(upsert(Prediction).on_conflict_do_nothing(index_elements=["message_id"]), [
        {**r, "message_id": r["message_id"] if r.get("message_id") in known else None}
        for r in rows])


def flag(session: Session, message_id: int, staff_id: int) -> Prediction:
    """An officer marks a resident's message as misunderstood: it joins the review queue (with the
    model's prediction when one was recorded).

    Raises:
        LookupError: no resident message with that id.
    """
    message = session.get(Message, message_id)
    if message is None or message.direction != "in":
        raise LookupError("no such resident message")
    prediction = session.scalar(select(Prediction).where(Prediction.message_id == message_id))
    if prediction is None:
        masked = star_personal(str((message.content or {}).get("text") or ""))
        prediction = Prediction(message_id=message_id, channel=message.channel, text=masked,
                                text_key=text_key(masked), ranking=[], entities=[],
                                review="none", confidence=0.0, fallback=False, unsure=False,
                                label_entities=[])
        session.add(prediction)
    prediction.flagged_by, prediction.flagged_at = staff_id, utcnow()
    if prediction.review in ("none", "dismissed"):
        prediction.review = "pending"
    session.flush()
    return prediction


@dataclass
class Group:
    """Similar pending messages, shown as one row of the review page."""

    key: str
    ids: list[int]
    sample: Prediction
    reasons: set[str] = field(default_factory=set)
    intents: dict[str, int] = field(default_factory=dict)  # the model's guesses, counted

    @property
    def count(self) -> int:
        return len(self.ids)


def _reasons(p: Prediction) -> set[str]:
    found = set()
    if p.unsure:
        found.add("unsure")
    if p.fallback:
        found.add("fallback")
    if p.flagged_at is not None:
        found.add("flagged")
    return found


def review_groups(session: Session, *, reason: str | None = None, limit: int = 100,
                  similarity: float = 88.0, scan: int = 5000) -> list[Group]:
    """Pending messages grouped by meaning-preserving key, then near-identical keys merged
    (rapidfuzz token-sort ratio >= `similarity`), largest group first."""
    from rapidfuzz import fuzz

    query = select(Prediction).where(Prediction.review == "pending")
    if reason == "unsure":
        query = query.where(Prediction.unsure.is_(True))
    elif reason == "fallback":
        query = query.where(Prediction.fallback.is_(True))
    elif reason == "flagged":
        query = query.where(Prediction.flagged_at.is_not(None))
    rows = session.scalars(query.order_by(Prediction.created_at.desc()).limit(scan)).all()
    by_key: dict[str, Group] = {}
    for p in rows:
        group = by_key.get(p.text_key)
        if group is None:
            group = by_key[p.text_key] = Group(key=p.text_key, ids=[], sample=p)
        group.ids.append(p.id)
        group.reasons |= _reasons(p)
        if p.intent:
            group.intents[p.intent] = group.intents.get(p.intent, 0) + 1
    merged: list[Group] = []
    for group in sorted(by_key.values(), key=lambda g: -g.count):
        home = next((m for m in merged if fuzz.token_sort_ratio(m.key, group.key) >= similarity),
                    None)
        if home is None:
            merged.append(group)
            continue
        home.ids += group.ids
        home.reasons |= group.reasons
        for intent, n in group.intents.items():
            home.intents[intent] = home.intents.get(intent, 0) + n
    merged.sort(key=lambda g: (-g.count, -max(g.ids)))
    return merged[:limit]


def pending_count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Prediction)
                              .where(Prediction.review == "pending")) or 0)


def _check_entities(texts: dict[int, str], entities: Sequence[dict[str, Any]]) -> None:
    for e in entities:
        start, end, name = e.get("start"), e.get("end"), str(e.get("entity") or "")
        if not INTENT_NAME.match(name) or not isinstance(start, int) or \
                not isinstance(end, int) or not 0 <= start < end:
            raise ValueError("penanda entitas tidak sah")
        for text in texts.values():
            if end > len(text):
                raise ValueError("penanda entitas di luar teks")


def label(session: Session, ids: Sequence[int], intent: str, staff_id: int, *,
          entities: Sequence[dict[str, Any]] | None = None) -> int:
    """Gives `ids` the right intent (and, for one message, its entity spans); returns how many.

    Raises:
        ValueError: the intent name is not snake_case, or an entity span does not fit the text.
    """
    intent = intent.strip()
    if not INTENT_NAME.match(intent):
        raise ValueError("nama intent harus huruf kecil, angka atau garis bawah (mis. info_pajak)")
    rows = session.scalars(select(Prediction).where(Prediction.id.in_(ids))).all()
    marks = list(entities or [])
    if marks:
        if len(rows) != 1:
            raise ValueError("entitas hanya bisa ditandai pada satu pesan")
        _check_entities({rows[0].id: rows[0].text}, marks)
    now = utcnow()
    for p in rows:
        p.review, p.label_intent, p.labelled_by, p.labelled_at = "labelled", intent, staff_id, now
        if marks:
            p.label_entities = [{"entity": e["entity"], "start": e["start"], "end": e["end"]}
                                for e in marks]
        elif not p.label_entities:
            # The model's own spans, when it found them, are the starting point.
            p.label_entities = [{"entity": e["entity"], "start": e["start"], "end": e["end"]}
                                for e in p.entities if e.get("start") is not None]
    return len(rows)


def dismiss(session: Session, ids: Sequence[int], staff_id: int) -> int:
    """Takes `ids` out of the queue without a label (spam, greetings the bot got right, ...)."""
    result = session.execute(
        update(Prediction).where(Prediction.id.in_(ids), Prediction.review == "pending")
        .values(review="dismissed", labelled_by=staff_id, labelled_at=utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def purge(session: Session, *, older_than: timedelta, now: datetime | None = None) -> int:
    """Deletes predictions nobody labelled once they are older than the retention period."""
    cutoff = (now or utcnow()) - older_than
    result = session.execute(delete(Prediction).where(
        Prediction.created_at < cutoff, Prediction.review != "labelled"))
    return int(getattr(result, "rowcount", 0) or 0)
