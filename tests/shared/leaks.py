"""Canaries of personal data and a capture of everything a process writes, to prove none of it
leaks at the edges (logs, tracebacks, stdout/stderr, URLs, metrics, error bodies).

Runs in both environments. `LogCapture` sees every record any logger emits, after the logger's
own filters and before any handler's (so a handler's redaction never hides a leak at its source):
Pintu's own loggers and rasa_sdk's are forced to DEBUG, the third-party loggers that could print
URLs or bodies (httpx, uvicorn's access log, sanic) to INFO, whatever the code under test
configures. Each
record is rendered with its formatted message, its raw args, its `extra` fields, its stack and
its exception chain (a traceback without locals, as a logging handler prints it).
`find_leaks(text)` names each canary found in any written form; the masked forms the code gives
out ("3671**********07", "0813*****345") are not leaks.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

# Synthetic person; no digit run of these belongs to a real one (the NIK's birth date is
# 42-03-85: a woman born 2 March 1985 in Kota Tangerang, 3671).
NIK = "3671014203850007"
KK = "3671012908170011"
PHONE = "081377712345"  # also written +62 813-7771-2345, 6281377712345, 0813 7771 2345
WA_ID = "6285799887766"  # the resident's WhatsApp id: her other number, international form
TELEGRAM_CHAT = "7731946285"
NAME = "Sulastri Wijayakusuma"
ADDRESS = "Jalan Kenari Raya Nomor 17"
SENTENCES = (
    "Genangan setinggi lutut merendam gang kami sejak subuh",
    "Anak saya demam tinggi dan puskesmas tutup",
)
# What residents type: every written form of the numbers, the name, the address, the sentences.
PHONE_FORMS = (PHONE, "+62 813-7771-2345", "6281377712345", "+6281377712345", "0813 7771 2345",
               "0813.7771.2345")
WA_FORMS = (WA_ID, "+" + WA_ID, "085799887766", "+62 857-9988-7766")
# Words of the name, the address and the sentences rare enough that finding one is a leak.
_WORDS = ("Sulastri", "Wijayakusuma", "Kenari Raya", "Genangan", "merendam", "setinggi lutut",
          "demam tinggi", "puskesmas tutup")


def _digits_pattern(digits: str, prefix: str = "") -> re.Pattern[str]:
    """The digits in order, each pair allowed a space, dot, dash or URL-encoded space between,
    after an optional `prefix` pattern."""
    sep = r"(?:[ .\-]|%20|\+)?"
    return re.compile(r"(?<!\d)" + prefix + sep.join(digits) + r"(?!\d)")


# A phone's national number may follow 0, 62, +62 or %2B62, with or without a separator.
_PHONE_PREFIX = r"(?:(?:\+|%2B)?62|0)?(?:[ .\-]|%20)?"


def _window_patterns(digits: str, size: int) -> list[re.Pattern[str]]:
    """Any `size` consecutive digits of `digits`: a number cut short is still a leak, while the
    masked forms show at most 4 digits in a row."""
    return [re.compile(re.escape(digits[i:i + size])) for i in range(len(digits) - size + 1)]


# A phone is its national number (without 0, 62 or +62), whatever prefix and separators.
_NUMBERS: dict[str, list[re.Pattern[str]]] = {
    "NIK": [_digits_pattern(NIK), *_window_patterns(NIK, 8)],
    "KK": [_digits_pattern(KK), *_window_patterns(KK, 8)],
    "phone": [_digits_pattern(PHONE[1:], _PHONE_PREFIX), *_window_patterns(PHONE[1:], 8)],
    "wa_id": [_digits_pattern(WA_ID[2:], _PHONE_PREFIX), *_window_patterns(WA_ID[2:], 8)],
    "telegram chat id": [_digits_pattern(TELEGRAM_CHAT)],
}
_TEXT = [(word, re.compile(re.escape(word).replace(r"\ ", r"(?:\s|%20|\+)"), re.IGNORECASE))
         for word in _WORDS]


# A WhatsApp message id is base64 of a record that holds the sender's number.
_WAMID = re.compile(r"wamid\.([A-Za-z0-9+/=_-]{16,})")


def _wamid_numbers(text: str) -> str:
    """The numbers inside the wamids of `text`, decoded, one a line."""
    decoded = []
    for match in _WAMID.finditer(text):
        raw = match.group(1)
        try:
            decoded.append(base64.b64decode(raw + "=" * (-len(raw) % 4)).decode("latin-1"))
        except (ValueError, binascii.Error):
            continue
    return "\n".join(decoded)


def find_leaks(text: str, *, words: bool = True) -> list[str]:
    """Which canaries `text` holds, each with a few characters around it (empty when clean);
    with `words` False only the numbers (a staff screen shows the words, masks the numbers).
    WhatsApp message ids count as the number they encode."""
    found = []
    inside = _wamid_numbers(text)
    if inside:
        text = f"{text}\n{inside}"
    for kind, patterns in _NUMBERS.items():
        for pattern in patterns:
            match = pattern.search(text)
            if match:
                found.append(f"{kind}: ...{text[max(0, match.start() - 60):match.end() + 60]}...")
                break
    for word, pattern in _TEXT if words else ():
        match = pattern.search(text)
        if match:
            found.append(f"{word!r}: ...{text[max(0, match.start() - 60):match.end() + 60]}...")
    return found


def assert_clean(text: str, where: str, *, words: bool = True) -> None:
    leaks = find_leaks(text, words=words)
    assert not leaks, f"personal data in {where}:\n" + "\n".join(leaks)


# Attributes every LogRecord has; anything else on a record came in through `extra`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
OURS = ("bot", "integrations", "actions", "sandbox", "nlu", "pintu")
# rasa_sdk at DEBUG too: `rasa run actions --debug` must not print trackers or slots either.
SDK = ("rasa_sdk",)
# Third-party loggers that print request URLs or bodies when on: held to what INFO prints.
CHATTY = ("httpx", "uvicorn.access", "uvicorn.error", "sanic", "telegram")


def _forced_level(name: str) -> int | None:
    for prefix in (*OURS, *SDK):
        if name == prefix or name.startswith(prefix + "."):
            return logging.DEBUG
    for prefix in CHATTY:
        if name == prefix or name.startswith(prefix + "."):
            return logging.INFO
    return None


def render(record: logging.LogRecord) -> str:
    """Everything a handler or a log shipper could write of `record`."""
    parts = [f"{record.levelname} {record.name}: {record.msg!s}"]
    try:
        parts.append(record.getMessage())
    except Exception as exc:  # a bad format string still shows its args below
        parts.append(f"<unformattable: {type(exc).__name__}>")
    if record.args:
        parts.append(repr(record.args))
    extras = {k: v for k, v in vars(record).items() if k not in _STANDARD}
    if extras:
        parts.append(repr(extras))
    if record.exc_info and record.exc_info[1] is not None:
        parts.append("".join(traceback.format_exception(*record.exc_info)))
    if record.exc_text:
        parts.append(record.exc_text)
    if record.stack_info:
        parts.append(record.stack_info)
    return "\n".join(parts)


@dataclass
class LogCapture:
    """Every record every logger emitted while installed, rendered as it was emitted."""

    records: list[str] = field(default_factory=list)
    # What the process wrote to stdout and stderr meanwhile (pytest's capfd), when set.
    output: Callable[[], str] | None = None
    written: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "\n".join(self.records)

    def assert_clean(self, *more: tuple[str, str]) -> None:
        """No canary in any record, nor in the extra texts given as (where, text) pairs."""
        assert self.records, "nothing was logged: the capture is not working"
        assert_clean(self.text, "the logs")
        if self.output is not None:
            self.written.append(self.output())
            assert_clean("".join(self.written), "stdout or stderr")
        for where, text in more:
            assert_clean(text, where)

    def contains(self, words: str) -> bool:
        return words in self.text


@contextmanager
def capture_logs() -> Iterator[LogCapture]:
    """Installs the capture for the length of the block (all threads)."""
    capture = LogCapture()
    original_call = logging.Logger.callHandlers
    original_enabled = logging.Logger.isEnabledFor

    def call_handlers(self: logging.Logger, record: logging.LogRecord) -> None:
        # Rendered now: a later handler's filter may rewrite the record in place.
        capture.records.append(render(record))
        original_call(self, record)

    def enabled(self: logging.Logger, level: int) -> bool:
        forced = _forced_level(self.name)
        if forced is None:
            return original_enabled(self, level)
        return level >= forced and logging.root.manager.disable < level

    logging.Logger.callHandlers = call_handlers  # type: ignore[method-assign]
    logging.Logger.isEnabledFor = enabled  # type: ignore[method-assign]
    try:
        yield capture
    finally:
        logging.Logger.callHandlers = original_call  # type: ignore[method-assign]
        logging.Logger.isEnabledFor = original_enabled  # type: ignore[method-assign]


def texts(items: Iterable[Any]) -> str:
    """Several things (URLs, bodies, reprs) as one searchable text."""
    return "\n".join(str(item) for item in items)
