"""Malformed bodies for the gateway's four inbound routes, for the quick subset in
tests/channels/test_malformed_bodies.py and for bench/fuzz.py (10,000): built from the recorded
fixtures (tests/fixtures/) with a seeded generator, so a run can be repeated body for body.

Each `Body` is one POST; the caller adds the secret token or signs it, so that the body itself is
what is wrong. `expect` says what the gateway must answer (docs/channels.md, "Malformed bodies"):

- "refused": a 4xx. Not JSON (truncated, invalid UTF-8, a lone surrogate, nested deeper than the
  parser goes), not an object, or without the channel's envelope (Telegram: an integer
  `update_id`; WhatsApp: a string `object` and an `entry` list); for the agency webhook and
  `/api/chat` anything their schema refuses.
- "ignored": 200. Telegram's or Meta's envelope (authenticated) around content Pintu cannot read:
  a field Pintu reads has the wrong type or a required one is missing. Answering 4xx would only
  make the channel deliver the same body again (and Telegram hold up the updates behind it).

Either way nothing may be queued or stored.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TELEGRAM, WHATSAPP = "/webhooks/telegram", "/webhooks/whatsapp"
AGENCY, CHAT = "/webhooks/agency/status", "/api/chat"
ROUTES = (TELEGRAM, WHATSAPP, AGENCY, CHAT)
FIXTURES = Path(__file__).resolve().parent / "fixtures"

# Telegram fixtures with a message for Pintu, and the fields Pintu reads ("[]": every item).
TG_FIXTURES = ("text", "start_deeplink", "edited_message", "callback_query", "photo", "document",
               "location", "contact")
_TG_MESSAGE = ("", ".message_id", ".date", ".chat", ".chat.id", ".chat.type", ".from.id",
               ".from.language_code", ".text", ".caption", ".edit_date", ".photo", ".photo[]",
               ".photo[].file_id", ".photo[].width", ".photo[].height", ".document",
               ".document.file_id", ".document.mime_type", ".document.file_name", ".location",
               ".location.latitude", ".location.longitude", ".contact", ".contact.phone_number")
TG_READ = tuple(f"{key}{field}" for key in ("message", "edited_message") for field in _TG_MESSAGE)
TG_READ += ("message.from", "callback_query", "callback_query.id", "callback_query.from",
            "callback_query.from.id", "callback_query.data", "callback_query.message",
            "callback_query.message.message_id", "callback_query.message.chat",
            "callback_query.message.chat.id", "callback_query.message.date")
# Removing these leaves a message Pintu still reads (a channel post has no sender, a photo may
# come without a caption, a button without data is a game's): they are only given wrong types.
TG_OPTIONAL = ("from", "language_code", "caption", "data", "photo[]", "edit_date", "mime_type",
               "file_name")

WA_FIXTURES = ("text", "image", "document", "location", "contacts", "button_reply", "list_reply",
               "audio", "two_messages", "status_sent", "status_delivered", "status_read",
               "status_failed")
_VALUE = "entry[].changes[].value"
# Where a message or a receipt is found and whose it is. What a message *says* is not here: a
# message with a good id and sender whose content Pintu cannot read is answered as such (Meta
# itself sends type "unsupported"), so it is not malformed.
WA_READ = ("entry[]", "entry[].changes", "entry[].changes[]", _VALUE, f"{_VALUE}.messages",
           f"{_VALUE}.messages[]", f"{_VALUE}.messages[].id", f"{_VALUE}.messages[].from",
           f"{_VALUE}.statuses", f"{_VALUE}.statuses[]", f"{_VALUE}.statuses[].id",
           f"{_VALUE}.statuses[].status", f"{_VALUE}.statuses[].recipient_id",
           "entry[].changes[].field")

AGENCY_EVENT: dict[str, Any] = {
    "event_id": "fuzz-evt-00000001", "kind": "complaint", "ref": "LKS-2026-000001",
    "status": "in_progress", "status_label": "Sedang ditangani", "note": "Petugas menuju lokasi",
    "occurred_at": "2026-12-07T09:00:00+07:00",
    "document": {"label": "Akta kelahiran AKL-1", "holder_initials": "B.S.", "office": None}}
AGENCY_REQUIRED = ("event_id", "kind", "ref", "status", "status_label", "occurred_at")
CHAT_MESSAGE: dict[str, Any] = {"sender": "fuzz-warga", "text": "halo",
                                "attachments": [{"type": "location", "latitude": -6.17,
                                                 "longitude": 106.63}]}

NESTED = 100_000  # levels: far deeper than any JSON parser on the way goes
HUGE = 1_000_000  # characters


@dataclass(frozen=True)
class Body:
    route: str
    raw: bytes
    expect: str  # "refused" (a 4xx) or "ignored" (200); never stored either way
    how: str  # what was done to it, for a failure's message


def fixture(channel: str, name: str) -> dict[str, Any]:
    return dict(json.loads((FIXTURES / channel / f"{name}.json").read_text()))


def _dump(value: Any) -> bytes:
    return json.dumps(value).encode()  # non-ASCII escaped, as Meta sends it


def _pattern(path: tuple[Any, ...]) -> str:
    text = ""
    for step in path:
        text += "[]" if isinstance(step, int) else f".{step}"
    return text.lstrip(".")


def _paths(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, inner in items:
        yield from _paths(inner, (*path, key))


def _changed(data: Any, pattern: str, change: Callable[[Any, Any], None]) -> Any:
    """A copy of `data` with `change(parent, key)` applied wherever `pattern` matches."""
    data = copy.deepcopy(data)
    for path in sorted({p for p in _paths(data) if p and _pattern(p) == pattern}, reverse=True):
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        change(parent, path[-1])
    return data


def wrong_values(original: Any, rng: random.Random) -> Any:
    """A value of another JSON type than `original` (a number is never one for another number)."""
    choices: list[Any] = [None, True, "x", "", 0, -1, 2**70, 1.5, [], {}, [original], {"a": 1},
                          "\ud800", "x" * rng.choice((300, HUGE // 10))]
    kind = _kind(original)
    return rng.choice([c for c in choices if _kind(c) != kind])


def _kind(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return "bool_or_null"  # null and booleans are both "no value of the expected kind"
    if isinstance(value, (int, float)):
        return "number"
    return type(value).__name__


def _mutated(data: dict[str, Any], patterns: tuple[str, ...], optional: tuple[str, ...],
             rng: random.Random) -> tuple[Any, str]:
    present = sorted({_pattern(p) for p in _paths(data)} & set(patterns))
    pattern = rng.choice(present)
    removable = not any(pattern == o or pattern.endswith("." + o) for o in optional)
    if removable and rng.random() < 0.3:
        def delete(parent: Any, key: Any) -> None:
            del parent[key]
        return _changed(data, pattern, delete), f"without {pattern}"
    values: list[Any] = []

    def replace(parent: Any, key: Any) -> None:
        values.append(wrong_values(parent[key], rng))
        parent[key] = values[-1]
    changed = _changed(data, pattern, replace)
    return changed, f"{pattern} = {type(values[0]).__name__}"


def _raw_with_surrogate(data: Any) -> bytes:
    """`data` with a lone surrogate escape opening its first string value."""
    return json.dumps(data).replace('": "', '": "\\ud800', 1).encode()


def _generic(base: Any, rng: random.Random) -> tuple[bytes, str]:
    """A body that is no JSON object at all, or no JSON."""
    raw = _dump(base)
    choice = rng.randrange(10)
    if choice == 0:
        return raw[: rng.randrange(1, len(raw))], "truncated"
    if choice == 1:
        return bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200))), "random bytes"
    if choice == 2:
        cut = rng.randrange(1, len(raw))
        return raw[:cut] + rng.choice([b"\xff", b"\xc0\xaf", b"\xed\xa0\x80", b"\x00"]) + \
            raw[cut:], "invalid UTF-8 or NUL"
    if choice == 3:
        # Not a byte-order mark before the JSON: Python's parser skips it, as RFC 8259 allows.
        return rng.choice([raw + b"x", raw + raw, b"", b" ", b"{,}", b"{'a': 1}", b"NaN",
                           raw.replace(b":", b"=", 1)]), "not JSON"
    if choice == 4:
        return _dump(rng.choice([None, 0, 1.5, "x", True, [], [base], "x" * HUGE])), \
            "not an object"
    if choice == 5:
        return b"[" * NESTED + b"]" * NESTED, "nested arrays"
    if choice == 6:
        return b'{"a":' * NESTED + b"1" + b"}" * NESTED, "nested objects"
    if choice == 7:
        return _raw_with_surrogate(base), "lone surrogate"
    if choice == 8:
        return raw[: len(raw) // 2] + b"\n" * rng.randrange(1, 5), "cut at half"
    return b"\x1f\x8b" + raw, "gzip magic"


def telegram_body(rng: random.Random) -> Body:
    name = rng.choice(TG_FIXTURES)
    base = fixture("telegram", name)
    choice = rng.random()
    if choice < 0.3:
        raw, how = _generic(base, rng)
        return Body(TELEGRAM, raw, "refused", f"telegram {name}: {how}")
    if choice < 0.4:
        changed = dict(base)
        if rng.random() < 0.5:
            del changed["update_id"]
            return Body(TELEGRAM, _dump(changed), "refused", f"telegram {name}: no update_id")
        changed["update_id"] = wrong_values(base["update_id"], rng)
        return Body(TELEGRAM, _dump(changed), "refused", f"telegram {name}: update_id wrong type")
    changed, how = _mutated(base, TG_READ, TG_OPTIONAL, rng)
    return Body(TELEGRAM, _dump(changed), _json_or_refused(changed), f"telegram {name}: {how}")


def whatsapp_body(rng: random.Random) -> Body:
    name = rng.choice(WA_FIXTURES)
    base = fixture("whatsapp", name)
    choice = rng.random()
    if choice < 0.3:
        raw, how = _generic(base, rng)
        return Body(WHATSAPP, raw, "refused", f"whatsapp {name}: {how}")
    if choice < 0.4:
        changed = dict(base)
        key = rng.choice(["object", "entry"])
        if rng.random() < 0.5:
            del changed[key]
        else:
            changed[key] = wrong_values(base[key], rng)
        return Body(WHATSAPP, _dump(changed), "refused", f"whatsapp {name}: envelope {key}")
    if choice < 0.45:
        changed = {**base, "object": rng.choice(["page", "instagram", "WHATSAPP"])}
        return Body(WHATSAPP, _dump(changed), "ignored", f"whatsapp {name}: another object")
    changed, how = _mutated(base, WA_READ, ("field",), rng)  # no field: "messages"
    return Body(WHATSAPP, _dump(changed), _json_or_refused(changed), f"whatsapp {name}: {how}")


def _json_or_refused(changed: Any) -> str:
    """"ignored", unless a value put in makes the body unreadable JSON for the gateway."""
    try:
        json.dumps(changed, ensure_ascii=False).encode()
    except UnicodeEncodeError:  # a lone surrogate
        return "refused"
    return "ignored"


def _schema_body(route: str, base: dict[str, Any], required: tuple[str, ...],
                 invalid: dict[str, list[Any]], rng: random.Random) -> Body:
    choice = rng.random()
    if choice < 0.3:
        raw, how = _generic(base, rng)
        return Body(route, raw, "refused", f"{route}: {how}")
    name = rng.choice(sorted(invalid))
    changed = copy.deepcopy(base)
    if name in required and rng.random() < 0.3:
        del changed[name]
        return Body(route, _dump(changed), "refused", f"{route}: without {name}")
    changed[name] = rng.choice(invalid[name])
    return Body(route, _dump(changed), "refused", f"{route}: {name} = {changed[name]!r:.40}")


_NOT_TEXT: list[Any] = [None, 0, 1.5, True, [], {}, ["x"], {"a": "x"}]


def agency_body(rng: random.Random) -> Body:
    invalid: dict[str, list[Any]] = {
        "event_id": [*_NOT_TEXT, "short", "x" * 65, "bad id with spaces", "\u202eevt-000001"],
        "kind": [*_NOT_TEXT, "ktp", "birth_registration", "", "complaint\n"],
        "ref": [*_NOT_TEXT, "", "x" * 65, "LKS 1", "36710145O7890002!"],
        "status": [*_NOT_TEXT, "", "In Progress", "x" * 33, "selesai!"],
        "status_label": [*_NOT_TEXT, "", "x" * 201],
        "note": [0, 1.5, True, [], {}, "x" * 301],
        "occurred_at": [None, True, [], {}, "", "kemarin", "2026-13-45T99:00:00", "x" * 300],
        "document": [0, "x", [], True, {"label": "ab", "holder_initials": "B.S."},
                     {"label": "Akta", "holder_initials": ""}, {"holder_initials": "B.S."},
                     {"label": "Akta lahir", "holder_initials": "B.S.", "office": "x" * 121}],
    }
    return _schema_body(AGENCY, AGENCY_EVENT, AGENCY_REQUIRED, invalid, rng)


def chat_body(rng: random.Random) -> Body:
    invalid: dict[str, list[Any]] = {
        "sender": [*_NOT_TEXT, "", "x" * 129],
        "text": [*_NOT_TEXT, "x" * 4097],
        "attachments": [None, 0, "x", {}, [0], [None], [{"type": "video"}], [{}],
                        [{"type": "location", "latitude": "utara"}],
                        [{"type": "image", "url": 5}]],
    }
    return _schema_body(CHAT, CHAT_MESSAGE, ("sender",), invalid, rng)


MAKERS: dict[str, Callable[[random.Random], Body]] = {
    TELEGRAM: telegram_body, WHATSAPP: whatsapp_body, AGENCY: agency_body, CHAT: chat_body}


def bodies(count: int, seed: int = 20261207) -> Iterator[Body]:
    """`count` malformed bodies, the four routes in turn."""
    rng = random.Random(seed)
    for i in range(count):
        yield MAKERS[ROUTES[i % len(ROUTES)]](rng)


def headers(body: Body, *, telegram_secret: str, whatsapp_app_secret: str,
            agency_secret: str) -> dict[str, str]:
    """What the route checks before the body, made right: the body alone is what is wrong."""
    from integrations.agency.status_webhook import signed_headers
    from tests.fakes.graph_api import sign

    if body.route == TELEGRAM:
        return {"X-Telegram-Bot-Api-Secret-Token": telegram_secret,
                "Content-Type": "application/json"}
    if body.route == WHATSAPP:
        return {"X-Hub-Signature-256": sign(body.raw, whatsapp_app_secret),
                "Content-Type": "application/json"}
    if body.route == AGENCY:
        return signed_headers(body.raw, "laksa", agency_secret)
    return {"Content-Type": "application/json"}


def wrong_answer(body: Body, status: int) -> bool:
    """Whether `status` is not what `body` must get."""
    return not 400 <= status < 500 if body.expect == "refused" else status != 200


def stored(engine: Any, redis_url: str) -> dict[str, int]:
    """Rows and Redis keys a message, a receipt or an agency event would have left."""
    import redis
    from sqlalchemy import text

    with engine.connect() as conn:
        counts = {table: int(conn.scalar(text(f"SELECT count(*) FROM {table}")) or 0)  # noqa: S608
                  for table in ("messages", "contacts", "agency_events")}
    client = redis.Redis.from_url(redis_url)
    try:
        for pattern in ("pintu:seen:*", "pintu:in:*", "pintu:in-status:*"):
            counts[pattern] = sum(1 for _ in client.scan_iter(pattern, count=1000))
    finally:
        client.close()
    return counts
