"""Personal data never leaks at the gateway's edges (issue 8): every flow runs under a capture of
every log record (Pintu's loggers at DEBUG, httpx and uvicorn's access log at INFO), tracebacks and
stdout/stderr, with a synthetic resident's NIK, KK number, phones in every written form, name,
address, sentences, chat id and WhatsApp id (`tests.shared.leaks`); then the logs, /metrics, the
error answers and every URL the gateway called or gave out are searched for them."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.outreach import links
from bot.staff import auth
from bot.staff.auth import SignedIn
from integrations.agency.privacy import mask_nik
from integrations.agency.status_webhook import signed_headers
from tests.fakes.graph_api import (
    image_message,
    location_message,
    sign,
    text_message,
    webhook_payload,
)
from tests.fakes.server import free_port
from tests.shared import leaks
from tests.shared.leaks import LogCapture, assert_clean, texts

from .conftest import WA_APP_SECRET, Gateway, fixture, wait_for
from .test_agency_status_flow import Sandbox
from .test_handoff_flow import INTERNAL
from .test_status_updates import DUKCAPIL_SECRET, finished_birth, post, watch

pytestmark = pytest.mark.integration

CHAT = leaks.TELEGRAM_CHAT
WA_ID = leaks.WA_ID
FIRST, LAST = leaks.NAME.split()
# What the resident writes: every canary, in the forms residents type them.
SAYS = [
    f"NIK saya {leaks.NIK} KK {leaks.KK}",
    f"nik 3671 0142 0385 0007, hp {leaks.PHONE_FORMS[1]} atau {leaks.PHONE_FORMS[2]}",
    f"nama {leaks.NAME}, alamat {leaks.ADDRESS}, wa {leaks.PHONE_FORMS[4]}",
    leaks.SENTENCES[0],
    leaks.SENTENCES[1],
]


def telegram_update(update_id: int, text: str | None = None, name: str = "text",
                    **fields: Any) -> dict[str, Any]:
    """A fixture update from the canary resident (her chat id, her name as her profile)."""
    body = copy.deepcopy(fixture("telegram", name))
    body["update_id"] = update_id
    message = body["message"]
    message["message_id"] = update_id
    for who in (message["from"], message["chat"]):
        who.update(id=int(CHAT), first_name=FIRST, last_name=LAST, username="sulastri_wk")
    if text is not None:
        message["text"] = text
    message.update(fields)
    return body


def wa_post(gw: Gateway, *messages: dict[str, Any]) -> httpx.Response:
    contacts = [{"profile": {"name": leaks.NAME}, "wa_id": WA_ID}]
    return gw.whatsapp_post(webhook_payload(list(messages), contacts=contacts))


def officer(gw: Gateway) -> SignedIn:
    with gw.services.sessions.begin() as session:
        user = auth.create_staff(session, "ani", "Ani (Helpdesk)", "agent", "kata-sandi-uji-2026")
        return SignedIn(user.id, user.username, user.display_name, user.role, "csrf")


def called_urls(gw: Gateway) -> str:
    """Every path the gateway called on the channel APIs, with the query strings."""
    paths = [call.path for call in gw.graph.calls()]
    paths += [call.method for call in gw.telegram.calls()]
    return texts(paths)


def links_given_out(gw: Gateway) -> str:
    """Every URL in a message or button sent to a resident."""
    bodies = json.dumps([c.params for c in gw.telegram.calls()] + gw.graph.sent())
    return texts(re.findall(r"https?://[^\s\"'\\]+|/verifikasi\?[^\s\"'\\]+", bodies))


STAFF_PAGES = ("/staff/inbox", "/staff/api/queue", "/staff/api/handoffs/{id}",
               "/staff/api/canned", "/staff/admin/review", "/staff/admin/audit",
               "/staff/admin/users", "/staff/admin/campaigns", "/staff/admin/links",
               "/staff/admin/models", "/staff", "/staff/login?next=/staff/admin/audit")


def staff_screens(gw: Gateway, handoff_id: int) -> tuple[str, str]:
    """An admin signed in walks the staff pages: every URL in them (links, forms, scripts'
    fetches, redirects) and the pages themselves."""
    from tests.gateway.test_staff_web import HTML, sign_in

    with gw.services.sessions.begin() as session:
        auth.create_staff(session, "admin", "Admin Pintu", "admin", "kata-sandi-admin-2026")
    signed_in = sign_in(gw.http, "admin", "kata-sandi-admin-2026")  # type: ignore[arg-type]
    assert signed_in.status_code == 303
    urls, pages = [], []
    for path in STAFF_PAGES:
        page = gw.http.get(path.format(id=handoff_id), headers=HTML, follow_redirects=False)
        assert page.status_code in (200, 303), (path, page.status_code)
        urls.append(page.headers.get("location", ""))
        urls += [" ".join(found) for found in re.findall(
            r"""(?:href|action|src)="([^"]*)"|fetch\(([^)]*)\)""", page.text)]
        pages.append(page.text)
    return texts(urls), texts(pages)


@pytest.fixture
def rasa_echo() -> Iterator[Any]:
    """A Rasa that answers with the resident's own words: replies carry personal data, as when
    the bot repeats a NIK back to confirm it."""
    from tests.gateway.fakes import FakeRasa

    yield FakeRasa(lambda body: [{"text": f"Anda menulis: {body['message']}",
                                  "buttons": [{"title": "Benar", "payload": "/affirm"}]}])


def test_conversations_on_both_channels_the_local_chat_and_a_handoff(
        make_gateway: Any, rasa_echo: Any, leak_capture: LogCapture) -> None:
    gw: Gateway = make_gateway(rasa_echo)
    code = None
    with gw.services.sessions.begin() as session:
        code = links.create(session, "kelurahan", "Poris Plawad", None).code
    update_id = 96000
    # Telegram: an outreach link start, MULAI, the words, a photo with a caption, a location.
    gw.telegram_update(telegram_update(update_id := update_id + 1, f"/start {code}",
                                       name="start_deeplink"))
    gw.telegram_update(telegram_update(update_id := update_id + 1, "MULAI"))
    for text in SAYS:
        gw.telegram_update(telegram_update(update_id := update_id + 1, text))
    gw.telegram.add_file("AgACAgUAAxkBAAIGBGdDq1xAAQABHpTt0Zx8b2VwAAGyAAI4wTEbp0kgVnV9AAHIkNsYb"
                         "AEAAwIAA3kAAzYE", b"\xff\xd8\xff\xe0" + b"2" * 2000)
    gw.telegram_update(telegram_update(update_id := update_id + 1, name="photo",
                                       caption=leaks.SENTENCES[0]))
    gw.telegram_update(telegram_update(update_id := update_id + 1, name="location"))
    # WhatsApp: the words, a photo with a caption, a location with a name and an address.
    gw.graph.add_media("1048576000000777", b"\xff\xd8\xff\xe0" + b"1" * 3000, "image/jpeg")
    wa_post(gw, *[text_message(WA_ID, text) for text in SAYS])
    photo = image_message(WA_ID, "1048576000000777", caption=f"{leaks.SENTENCES[0]} {leaks.NIK}")
    photo["image"].pop("sha256")
    wa_post(gw, photo)
    place = location_message(WA_ID, -6.1783, 106.6318)
    place["location"].update(name=leaks.NAME, address=leaks.ADDRESS)
    wa_post(gw, place)
    wa_post(gw, text_message(WA_ID, "MULAI"))
    # The local chat, with the resident's phone as her sender id.
    for text in SAYS:
        answer = gw.http.post("/api/chat", json={"sender": leaks.PHONE, "text": text})
        assert answer.status_code == 200, answer.text
    wait_for(lambda: len(gw.rasa.received) >= 3 * len(SAYS) + 5, timeout=30,
             what="every message at Rasa")

    # A handoff: the officer reads (masked), reveals one message with a reason, and replies.
    ani = officer(gw)
    handoff = gw.http.post("/internal/v1/handoffs", headers=INTERNAL, json={
        "sender_id": f"whatsapp:{WA_ID}", "reason": "permintaan_warga", "service": "ktp"})
    assert handoff.status_code == 200, handoff.text
    handoff_id = int(handoff.json()["id"])
    wa_post(gw, text_message(WA_ID, SAYS[0]))
    gw.call(gw.services.handoffs.take(handoff_id, ani))
    detail = wait_for(lambda: (d := gw.call(gw.services.handoffs.detail(handoff_id, ani)))
                      and any(leaks.NIK[:4] in (m["text"] or "") for m in d["messages"]) and d,
                      what="the transcript")
    # Staff screens show the words and mask the numbers; the chat id is not shown at all.
    assert_clean(json.dumps(detail), "the masked transcript", words=False)
    message_id = next(m["id"] for m in detail["messages"] if m.get("masked"))
    revealed = gw.call(gw.services.handoffs.reveal(message_id, ani, "cek NIK untuk verifikasi"))
    assert leaks.NIK in revealed  # the officer sees it; nothing else does
    gw.call(gw.services.handoffs.reply(handoff_id, ani, f"Baik Bu {FIRST}, NIK {leaks.NIK} "
                                                        "sudah kami cek."))
    wait_for(lambda: any("sudah kami cek" in t for t in gw.whatsapp_texts()), what="the reply")
    gw.call(gw.services.handoffs.close(handoff_id, ani, "resolved"))

    # The local chat's mailbox (the officer's words wait there) and STOP everywhere.
    mailbox = gw.http.get("/api/chat/messages", params={"sender": leaks.PHONE, "wait": 0})
    assert mailbox.status_code == 200
    gw.telegram_update(telegram_update(update_id := update_id + 1, "STOP"))
    wa_post(gw, text_message(WA_ID, "STOP"))
    assert gw.http.post("/api/chat", json={"sender": leaks.PHONE, "text": "STOP"}).status_code \
        == 200
    wait_for(lambda: len(gw.rows("SELECT DISTINCT contact_id FROM consents WHERE withdrawn_at "
                                 "IS NOT NULL")) >= 2, what="STOP recorded")

    staff_urls, staff_pages = staff_screens(gw, handoff_id)
    # Staff screens show the words and mask the numbers by default.
    assert_clean(staff_pages, "the staff screens", words=False)
    assert mask_nik(leaks.NIK) in staff_pages  # masked, not missing
    metrics = gw.http.get("/metrics").text
    assert "pintu_inbound_total" in metrics
    leak_capture.assert_clean(("/metrics", metrics), ("the URLs the gateway called",
                                                      called_urls(gw)),
                              ("the links sent to residents", links_given_out(gw)),
                              ("the staff pages' links and redirects", staff_urls))
    # The capture did see the flows (uvicorn's access log and the worker's records).
    assert leak_capture.contains("POST /webhooks/telegram") and \
        leak_capture.contains("/api/chat/messages")


def test_error_paths_keep_bodies_and_numbers_out_of_logs_and_answers(
        make_gateway: Any, rasa_echo: Any, leak_capture: LogCapture) -> None:
    gw: Gateway = make_gateway(rasa_echo, send_max_attempts=2)
    answers: list[httpx.Response] = []
    words = " ".join(SAYS)
    # Wrong secrets and signatures: refused and logged as refused, the body nowhere.
    answers.append(gw.telegram_update(telegram_update(97001, words), secret="wrong"))
    answers.append(wa_post_signed(gw, webhook_payload([text_message(WA_ID, words)]),
                                  "sha256=" + "0" * 64))
    # Malformed bodies that carry personal data, correctly signed.
    for raw in (b'{"update_id": 1, "message": {"text": "' + words.encode() + b'"',
                json.dumps({"update_id": "x", "message": {"text": words,
                                                          "chat": {"id": CHAT}}}).encode(),
                json.dumps([words, leaks.NIK]).encode()):
        answers.append(gw.http.post("/webhooks/telegram", content=raw, headers={
            "content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token":
            "tg-webhook-secret-for-tests"}))
        answers.append(wa_post_raw(gw, raw))
    wrong_types = webhook_payload([text_message(WA_ID, words)])
    wrong_types["entry"][0]["changes"][0]["value"]["messages"][0]["text"] = {"body": [words]}
    answers.append(wa_post_raw(gw, json.dumps(wrong_types).encode()))
    # The local chat and the internal API refusing what they cannot take.
    answers.append(gw.http.post("/api/chat", json={"sender": leaks.PHONE, "text": words * 40}))
    answers.append(gw.http.post("/api/chat", json={"sender": [leaks.PHONE], "text": words}))
    answers.append(gw.http.post("/api/chat", content=words.encode(),
                                headers={"content-type": "application/json"}))
    answers.append(gw.http.get("/api/chat/messages", params={"sender": leaks.PHONE * 12}))
    answers.append(gw.http.post("/internal/v1/complaints", headers=INTERNAL, json={
        "sender_id": f"telegram:{CHAT}", "category": "x" * 50, "agency": leaks.NAME,
        "expected_response_days": 99, "description": words}))
    answers.append(gw.http.post("/internal/v1/complaints", json={"description": words}))
    answers.append(gw.http.post("/webhooks/agency/status", content=json.dumps(
        {"ref": leaks.NIK, "note": words}).encode(), headers={"content-type": "application/json"}))
    raw = json.dumps({"event_id": "e1", "kind": "ktp", "ref": leaks.NIK, "status": 5,
                      "note": words}).encode()
    answers.append(gw.http.post("/webhooks/agency/status", content=raw,
                                headers=signed_headers(raw, "dukcapil",
                                                       "dev-agency-dukcapil-secret")))
    # An agency name that is a NIK: refused, and no metric label takes it.
    answers.append(gw.http.post("/webhooks/agency/status", content=raw,
                                headers=signed_headers(raw, leaks.NIK, "x")))
    answers.append(gw.http.get("/verifikasi", params={"kode": leaks.NIK}))
    answers.append(gw.http.get(f"/api/v1/verifikasi/{leaks.NIK}"))
    assert {a.status_code for a in answers} <= {200, 303, 400, 401, 403, 404, 422}, \
        [(a.request.url.path, a.status_code) for a in answers]
    assert any(a.status_code == 422 for a in answers)

    # Rasa away, then a channel failing with 429 and 500 until the reply is given up.
    gw.rasa.status_code = 503
    gw.telegram_update(telegram_update(97010, SAYS[0]))
    wait_for(lambda: len(gw.rasa.received) >= 1, what="the message tried at Rasa")
    gw.rasa.status_code = 200
    gw.telegram.fail("sendMessage", status=429, count=1)
    gw.telegram.fail("sendMessage", status=500, count=20)
    gw.graph.fail(status=500, count=20)
    gw.telegram_update(telegram_update(97011, SAYS[2]))
    wa_post(gw, text_message(WA_ID, SAYS[2]))
    wait_for(lambda: len(gw.rows("SELECT 1 FROM dead_letters")) >= 2, timeout=30,
             what="both replies given up")
    bodies = texts(f"{a.status_code} {a.headers.get('content-type')} {a.headers.get('location')} "
                   f"{a.text}" for a in answers)
    leak_capture.assert_clean(("the error answers", bodies),
                              ("the URLs the gateway called", called_urls(gw)),
                              ("/metrics", gw.http.get("/metrics").text))
    assert leak_capture.contains("refused")


def wa_post_raw(gw: Gateway, raw: bytes) -> httpx.Response:
    return wa_post_signed(gw, raw, sign(raw, WA_APP_SECRET))


def wa_post_signed(gw: Gateway, body: dict[str, Any] | bytes, signature: str) -> httpx.Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return gw.http.post("/webhooks/whatsapp", content=raw, headers={
        "content-type": "application/json", "X-Hub-Signature-256": signature})


def test_complaints_with_a_photo_agency_outage_status_updates_and_campaigns(
        make_gateway: Any, tmp_path: Path, leak_capture: LogCapture) -> None:
    from bot.db import in_transaction
    from bot.outreach import campaigns
    from bot.outreach.segments import Segment

    gw: Gateway = make_gateway()
    gw.telegram_update(telegram_update(98001, "MULAI"))
    wait_for(lambda: gw.telegram.calls("sendMessage"), what="MULAI's answer")
    # LAKSA away: the complaint (with a photo) waits in the outbox, retried and logged.
    gw.services.agency.http.base_url = f"http://127.0.0.1:{free_port()}"
    photo = gw.services.media.put(b"\xff\xd8\xff\xe0" + b"3" * 1000, "image/jpeg")
    complaint = {"sender_id": f"telegram:{CHAT}", "category": "banjir",
                 "agency": "BPBD Kota Tangerang", "expected_response_days": 3,
                 "description": " ".join(SAYS), "kecamatan": "Cipondoh",
                 "latitude": -6.17, "longitude": 106.63, "photo_refs": [photo]}
    filed = gw.http.post("/internal/v1/complaints", headers=INTERNAL, json=complaint)
    assert filed.status_code == 200, filed.text
    assert filed.json()["forwarded"] is False
    gw.call(gw.services.tickets.forward_due())
    # LAKSA back (the sandbox): forwarded, moved on, the signed status webhook tells her.
    sandbox = Sandbox(tmp_path)
    try:
        agency = sandbox.start(f"{gw.url}/webhooks/agency/status")
        gw.services.agency.http.base_url = agency.base_url
        second = gw.http.post("/internal/v1/complaints", headers=INTERNAL, json=complaint)
        assert second.json()["forwarded"] is True, second.text
        ticket = second.json()["ticket_id"]
        moved = agency.post(f"/_sandbox/complaints/{ticket}/status", json={
            "status": "selesai", "note": f"Sudah ditangani, terima kasih Bu {FIRST}"})
        assert moved.status_code == 200, moved.text
        assert agency.post("/_sandbox/webhooks/deliver").json() == {"delivered": 1}
        wait_for(lambda: any(ticket in t for t in gw.sent_texts(CHAT)[1:]), timeout=20,
                 what="the status update")
    finally:
        for client in sandbox.clients:
            client.close()
        for server in sandbox.servers:
            server.stop()
    # A finished birth certificate: its verification code, checked on the page and the API.
    watch(gw, f"telegram:{CHAT}", agency="dukcapil", kind="birth_registration",
          ref="AKL-654321", label="akta kelahiran AKL-654321")
    assert post(gw, finished_birth(), "dukcapil", DUKCAPIL_SECRET).json()["notified"] == 1
    sent = wait_for(lambda: [t for t in gw.sent_texts(CHAT) if "Kode verifikasi: " in t],
                    what="the code")[0]
    code = sent.split("Kode verifikasi: ")[1].split()[0]
    assert 'data-state="genuine"' in gw.http.get("/verifikasi", params={"kode": code}).text
    assert gw.http.get(f"/api/v1/verifikasi/{code}").status_code == 200
    # A KTP in progress, watched after the identity matched (the action sends the agency's
    # opaque resident ref, never the NIK).
    watch(gw, f"telegram:{CHAT}", agency="dukcapil", kind="ktp", ref="res-7f3a9c", label="KTP-el")
    # A campaign to her and to her WhatsApp number.
    def make(session: Any) -> int:
        made = campaigns.create(session, title="Uji", text="Vaksinasi gratis Sabtu ini.",
                                segment=Segment(), staff_id=None)
        return int(made.id)
    campaign_id = in_transaction(gw.services.sessions, make)
    in_transaction(gw.services.sessions, campaigns.start, campaign_id)
    wait_for(lambda: gw.rows("SELECT state FROM campaigns WHERE id = :c", c=campaign_id)[0][0]
             == "done", timeout=20, what="the campaign done")
    leak_capture.assert_clean(("the URLs the gateway called", called_urls(gw)),
                              ("the links sent to residents", links_given_out(gw)),
                              ("/metrics", gw.http.get("/metrics").text))
    assert leak_capture.contains("not forwarded")
    assert code not in leak_capture.text  # the access log shows neither query nor code path


@pytest.mark.parametrize("kind", ["postgresql", "sqlite"])
def test_database_errors_show_the_sql_never_the_values(
        kind: str, pg_url: str, tmp_path: Path, leak_capture: LogCapture) -> None:
    import logging

    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import make_engine

    engine = make_engine(pg_url if kind == "postgresql" else f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with engine.connect() as conn, pytest.raises(SQLAlchemyError) as caught:
            conn.execute(text("SELECT no_such_column FROM (SELECT :nik AS nik, :words AS w) t"),
                         {"nik": leaks.NIK, "words": " ".join(SAYS)})
    finally:
        engine.dispose()
    logging.getLogger("bot.inbox").error("a round failed", exc_info=caught.value)
    assert "SELECT no_such_column" in str(caught.value)  # the SQL is still there to debug
    assert_clean(str(caught.value), "the database error")
    leak_capture.assert_clean()


def test_the_log_handler_masks_numbers_the_database_quotes_in_its_errors(pg_url: str) -> None:
    import io
    import logging

    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    from bot.db import make_engine
    from bot.logs import make_handler

    stream = io.StringIO()
    logger = logging.getLogger("bot.tests.leaks")
    handler = make_handler(stream)
    logger.addHandler(handler)
    engine = make_engine(pg_url)
    try:
        with engine.connect() as conn:
            conn.execute(text("CREATE TEMP TABLE ids (chat text UNIQUE)"))
            conn.execute(text("INSERT INTO ids VALUES (:v)"), {"v": WA_ID})
            for sql, value in (("INSERT INTO ids VALUES (:v)", WA_ID),
                               ("SELECT CAST(:v AS integer)", f"nik {leaks.NIK}"),
                               ("SELECT CAST(:v AS integer)", leaks.PHONE_FORMS[1])):
                try:
                    with conn.begin_nested():
                        conn.execute(text(sql), {"v": value})
                except SQLAlchemyError:
                    # PostgreSQL quotes the value in its message ("Key (chat)=(62...) already
                    # exists"); hide_parameters cannot hide that, the handler masks it.
                    logger.exception("a round failed")
    finally:
        engine.dispose()
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert written.count("a round failed") == 3 and "already exists" in written
    assert_clean(written, "the gateway's log")


@pytest.fixture
def debug_logging() -> Iterator[None]:
    """The gateway's own logging set up as PINTU_DEBUG does (root at DEBUG), undone afterwards."""
    import logging

    from bot.logs import configure

    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    configure("DEBUG")
    yield
    for handler in root.handlers:
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)


def test_at_debug_every_library_stays_quiet_about_residents(
        make_gateway: Any, rasa_echo: Any, debug_logging: None,
        leak_capture: LogCapture) -> None:
    gw: Gateway = make_gateway(rasa_echo)
    for n, text in enumerate(SAYS):
        gw.telegram_update(telegram_update(99000 + n, text))
    wa_post(gw, *[text_message(WA_ID, text) for text in SAYS])
    assert gw.http.post("/api/chat", json={"sender": leaks.PHONE, "text": SAYS[0]}).status_code \
        == 200
    wait_for(lambda: len(gw.telegram.calls("sendMessage")) >= len(SAYS) and
             len(gw.graph.sent()) >= len(SAYS), timeout=30, what="every reply")
    wait_for(lambda: gw.rows("SELECT 1 FROM messages WHERE direction = 'out' "
                             "AND status = 'sent'"), what="the replies recorded")
    # "data saya" shows her what is kept (to her alone), then she has it erased.
    for text in ("data saya", "hapus data saya", "ketik 1"):
        answer = gw.http.post("/api/chat", json={"sender": leaks.PHONE, "text": text})
        assert answer.status_code == 200, answer.text
    assert "dihapus" in answer.json()["messages"][0]["text"]
    leak_capture.assert_clean()
