"""Labelled messages become Rasa training data, and never the held-out sets' messages.

The review page's labels are written as one Rasa NLU YAML file next to the project's own training
data (a training job's work directory, or `python -m bot.learning export`). Starred digits (the
stored text is masked) are filled with stand-in digits so that the file looks like what residents
type; entity spans survive because masking never moves a character.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from nlu.check_data import HELD_OUT, messages

from ..models import Prediction
from .predictions import text_key

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ROOT / "domain.yml"


@dataclass(frozen=True)
class Example:
    text: str  # masked, as stored
    intent: str
    entities: tuple[tuple[int, int, str], ...] = ()
    ids: tuple[int, ...] = ()


@dataclass
class Export:
    """What a write of the labelled data did."""

    path: Path
    examples: list[Example]
    skipped_held_out: int = 0
    new_intents: list[str] = field(default_factory=list)


def labelled_count(session: Session) -> int:
    """How many examples `labelled` gives (distinct labelled texts). Counted here, not in SQL:
    the texts are encrypted at rest, so the database cannot tell equal ones apart."""
    return len(set(session.scalars(select(Prediction.text).where(
        Prediction.review == "labelled", Prediction.label_intent.is_not(None),
        Prediction.label_intent != ""))))


def labelled(session: Session) -> list[Example]:
    """Every labelled message, one example per distinct masked text (the latest label wins)."""
    rows = session.scalars(select(Prediction).where(Prediction.review == "labelled")
                           .order_by(Prediction.labelled_at, Prediction.id)).all()
    by_text: dict[str, Example] = {}
    for p in rows:
        if not p.label_intent:
            continue
        spans = tuple(sorted((int(e["start"]), int(e["end"]), str(e["entity"]))
                             for e in p.label_entities or [] if e.get("start") is not None))
        earlier = by_text.get(p.text)
        ids = (earlier.ids if earlier else ()) + (p.id,)
        by_text[p.text] = Example(text=p.text, intent=p.label_intent, entities=spans, ids=ids)
    return list(by_text.values())


def held_out_keys(files: Sequence[Path] = HELD_OUT) -> set[str]:
    """The held-out sets' messages, folded like the review queue's keys."""
    return {text_key(text) for path in files if path.exists() for text in messages(path)}


def _unstar(text: str) -> str:
    """Starred digits become stand-in digits, the same ones for the same text."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())  # stand-ins, not secrets
    return "".join(str(rng.randrange(10)) if ch == "*" else ch for ch in text)


def _plain(text: str) -> str:
    # Brackets and parentheses would read as Rasa's entity markup.
    return text.replace("[", "(").replace("]", ")").replace("{", "(").replace("}", ")")


def markup(example: Example) -> str:
    """One line of Rasa's YAML examples: `cek [3671...](nik) dong`."""
    text, out, at = _unstar(example.text), [], 0
    for start, end, entity in example.entities:
        if start < at or end > len(text):
            continue  # overlapping or stale span: the words stay, the mark goes
        out.append(_plain(text[at:start]))
        out.append(f"[{_plain(text[start:end])}]({entity})")
        at = end
    out.append(_plain(text[at:]))
    return " ".join("".join(out).split())


def known_intents(domain: Path = DOMAIN) -> list[str]:
    data = yaml.safe_load(domain.read_text(encoding="utf-8")) or {}
    names = []
    for item in data.get("intents") or []:
        names.append(next(iter(item)) if isinstance(item, dict) else str(item))
    return names


def write(examples: Iterable[Example], path: Path, *, held_out: set[str] | None = None) -> Export:
    """Writes the examples as Rasa NLU YAML, leaving out any the held-out sets contain."""
    held_out = held_out_keys() if held_out is None else held_out
    kept, skipped = [], 0
    for example in examples:
        if text_key(example.text) in held_out:
            skipped += 1
            continue
        kept.append(example)
    by_intent: dict[str, list[str]] = {}
    for example in kept:
        by_intent.setdefault(example.intent, []).append(markup(example))
    blocks: list[dict[str, Any]] = [
        {"intent": intent, "examples": "".join(f"- {line}\n" for line in sorted(set(lines)))}
        for intent, lines in sorted(by_intent.items())]
    path.parent.mkdir(parents=True, exist_ok=True)
    header = ("# Written by bot.learning from messages labelled on the review page "
              "(masked digits filled with stand-ins). Do not edit by hand.\n")
    body = yaml.safe_dump({"version": "3.1", "nlu": blocks}, allow_unicode=True, sort_keys=False,
                          width=1000)
    path.write_text(header + body, encoding="utf-8")
    new = sorted(set(by_intent) - set(known_intents()))
    return Export(path=path, examples=kept, skipped_held_out=skipped, new_intents=new)


def domain_with(new_intents: Sequence[str], path: Path, base: Path = DOMAIN) -> Path:
    """A copy of the domain that also lists `new_intents` (labelled on the review page before a
    developer gave them an answer: the model learns to tell them apart, the bot still says it
    does not know; docs/retraining.md)."""
    text = base.read_text(encoding="utf-8")
    if new_intents:
        data = yaml.safe_load(text)
        data["intents"] = list(data.get("intents") or []) + list(new_intents)
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)
    path.write_text(text, encoding="utf-8")
    return path
