"""The leak checker finds every written form of the canaries and lets the masked forms pass; the
capture sees records whatever the levels, handlers and propagation say."""

from __future__ import annotations

import base64
import logging

import pytest

from integrations.agency.privacy import mask_nik
from tests.shared import leaks
from tests.shared.leaks import LogCapture, capture_logs, find_leaks


def new_wamid(wa_id: str) -> str:
    """A message id shaped like Meta's (tests/fakes/graph_api.py, which this environment lacks)."""
    raw = b"\x1c\x18" + bytes([len(wa_id)]) + wa_id.encode() + b"\x15\x02\x00\x12\x18\x20" + \
        b"3EB0C767D2B1A8B1E1C9F1D3A4B5C6D7"
    return "wamid." + base64.b64encode(raw).decode()


def test_a_whatsapp_message_id_counts_as_the_number_it_encodes() -> None:
    assert find_leaks(f"status for {new_wamid(leaks.WA_ID)}")
    assert find_leaks(f"status for {new_wamid('6281200000001')}") == []


@pytest.mark.parametrize("text", [
    *leaks.PHONE_FORMS, *leaks.WA_FORMS, leaks.NIK, leaks.KK, "3671 0142 0385 0007",
    "3671-0142-0385-0007", "nik=36710142", leaks.TELEGRAM_CHAT, f"chat {leaks.TELEGRAM_CHAT}:",
    "sulastri", "JALAN KENARI RAYA", "Kenari%20Raya", leaks.SENTENCES[0].lower(),
    "/verifikasi?nama=Sulastri+Wijayakusuma", "%2B6281377712345",
])
def test_every_written_form_is_found(text: str) -> None:
    assert find_leaks(f"before {text} after")


@pytest.mark.parametrize("text", [
    mask_nik(leaks.NIK), mask_nik(leaks.KK), "0813*****345", "6285******766", "<16 digit>",
    "<phone>", "S. W.", "telegram:<chat>", "3671051207800002", "628123456789",
])
def test_masked_forms_and_other_numbers_pass(text: str) -> None:
    assert find_leaks(f"before {text} after") == []


def test_the_capture_sees_debug_extras_tracebacks_and_unpropagated_loggers(
        leak_capture: LogCapture) -> None:
    quiet = logging.getLogger("bot.some.module")
    quiet.setLevel(logging.WARNING)  # what a configuration might do; the capture still sees it
    quiet.debug("nik %s", leaks.NIK)
    logging.getLogger("integrations.x").info("plain", extra={"who": leaks.NAME})
    access = logging.getLogger("some.library.access")
    propagate = access.propagate
    access.propagate = False
    try:
        access.warning("GET %s", f"/x?hp={leaks.PHONE}")
        try:
            raise ValueError(f"bad text {leaks.SENTENCES[1]}")
        except ValueError:
            logging.getLogger("actions.y").exception("failed")
    finally:
        access.propagate = propagate
    print(leaks.TELEGRAM_CHAT)
    found = "\n".join(find_leaks(leak_capture.text))
    for kind in ("NIK", "Sulastri", "phone", "demam tinggi"):
        assert kind in found
    with pytest.raises(AssertionError, match="stdout or stderr"):
        LogCapture(["clean"], output=leak_capture.output).assert_clean()


def test_the_capture_is_removed_afterwards() -> None:
    with capture_logs() as capture:
        logging.getLogger("bot.z").debug("inside")
    logging.getLogger("bot.z").debug("outside")
    assert "inside" in capture.text and "outside" not in capture.text


@pytest.mark.parametrize(("url", "scrubbed"), [
    (f"/api/chat/messages?sender={leaks.PHONE}&wait=20", "/api/chat/messages?<query>"),
    ("/verifikasi?kode=PNT-12345-ABCDE", "/verifikasi?<query>"),
    ("/api/v1/verifikasi/PNT-12345-ABCDE", "/api/v1/verifikasi/<kode>"),
    ("http://127.0.0.1:8000/api/v1/verifikasi/pnt-1?x=1", "http://127.0.0.1:8000/api/v1/verifikasi/"
                                                          "<kode>?<query>"),
    ("/webhooks/telegram", "/webhooks/telegram"),
    (f"http://rasa:5005/conversations/api:{leaks.PHONE}/tracker/events?include_events=NONE",
     "http://rasa:5005/conversations/<sender>/tracker/events?<query>"),
])
def test_urls_lose_their_query_strings_and_codes(url: str, scrubbed: str) -> None:
    from integrations.log_filters import scrub_url

    assert scrub_url(url) == scrubbed


def test_the_url_filter_rewrites_access_and_request_records() -> None:
    from integrations.log_filters import UrlScrubbingFilter

    access = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1,
                               '%s - "%s %s HTTP/%s" %d', (
                                   "127.0.0.1:5000", "GET", f"/x?hp={leaks.PHONE}", "1.1", 200),
                               None)
    assert UrlScrubbingFilter().filter(access)
    assert access.getMessage() == '127.0.0.1:5000 - "GET /x?<query> HTTP/1.1" 200'
    plain = logging.LogRecord("httpx", logging.INFO, __file__, 1, f"GET /x?nik={leaks.NIK}",
                              None, None)
    UrlScrubbingFilter().filter(plain)
    assert find_leaks(plain.getMessage()) == []
