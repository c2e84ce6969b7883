"""WhatsApp webhooks: every recorded body parses to what the gateway needs; signature; handshake."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest

from integrations.inbound import Attachment, Inbound, StatusUpdate
from integrations.whatsapp import (
    check_signature,
    parse_webhook,
    phone_number_id_of,
    verify_handshake,
)
from tests.fakes.graph_api import encode, sign, text_message, webhook_payload

FIXTURES = Path(__file__).parent.parent / "fixtures" / "whatsapp"
SITI = "6281234567890"
BUDI = "6285712345678"
SECRET = "app-secret-for-tests"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def message_id(name: str, index: int = 0) -> str:
    value = load(name)["entry"][0]["changes"][0]["value"]
    return str(value["messages"][index]["id"])


def status_id(name: str) -> str:
    return str(load(name)["entry"][0]["changes"][0]["value"]["statuses"][0]["id"])


def inbound(name: str, timestamp: float, index: int = 0, sender: str = SITI,
            **fields: Any) -> Inbound:
    wamid = message_id(name, index)
    return Inbound(channel="whatsapp", dedup_id=wamid, chat_id=sender, user_id=sender,
                   channel_message_id=wamid, timestamp=timestamp, **fields)


MESSAGES: dict[str, Any] = {
    "text": lambda: [inbound("text", 1767600001, kind="text", text="ktp saya sudah jadi belum")],
    "button_reply": lambda: [inbound("button_reply", 1767600061, kind="button",
                                     payload="/cek_status_ktp", text="Cek status KTP")],
    "list_reply": lambda: [inbound("list_reply", 1767600121, kind="button",
                                   payload='/lapor{"choice": "jalan_rusak"}', text="Jalan rusak")],
    "image": lambda: [inbound("image", 1767600181, kind="image",
                              text="jalan berlubang di depan pasar",
                              attachment=Attachment(kind="image", media_id="1398475610293847",
                                                    mime_type="image/jpeg"))],
    "document": lambda: [inbound("document", 1767600241, kind="document",
                                 text="surat pengantar RT",
                                 attachment=Attachment(kind="document",
                                                       media_id="1587364920183746",
                                                       mime_type="application/pdf",
                                                       filename="surat_pengantar_rt.pdf"))],
    "location": lambda: [inbound("location", 1767600301, kind="location",
                                 attachment=Attachment(kind="location", latitude=-6.1783,
                                                       longitude=106.6319))],
    "contacts": lambda: [inbound("contacts", 1767600361, kind="contact",
                                 attachment=Attachment(kind="contact",
                                                       phone="+62 812-9876-5432"))],
    "audio": lambda: [inbound("audio", 1767600421, kind="unsupported", unsupported="voice")],
    "sticker": lambda: [inbound("sticker", 1767600481, kind="unsupported",
                                unsupported="sticker")],
    "reaction": lambda: [inbound("reaction", 1767600541, kind="unsupported",
                                 unsupported="reaction")],
    "unsupported": lambda: [inbound("unsupported", 1767600601, kind="unsupported",
                                    unsupported="unsupported")],
    "two_messages": lambda: [
        inbound("two_messages", 1767600701, kind="text", text="halo"),
        inbound("two_messages", 1767600702, index=1, sender=BUDI, kind="text",
                text="mau lapor lampu jalan mati"),
    ],
}

STATUSES: dict[str, Any] = {
    "status_sent": ("sent", 1767600062, []),
    "status_delivered": ("delivered", 1767600063, []),
    "status_read": ("read", 1767600090, []),
    "status_failed": ("failed", 1767700000, [131047]),
}


def test_every_fixture_has_an_expectation() -> None:
    names = {path.stem for path in FIXTURES.glob("*.json")}
    assert names == set(MESSAGES) | set(STATUSES)


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_message_fixture_parses(name: str) -> None:
    messages, statuses = parse_webhook(load(name))
    assert messages == MESSAGES[name]()
    assert statuses == []
    for message in messages:  # what the gateway queues survives the JSON round trip
        assert Inbound.from_json(json.loads(json.dumps(message.to_json()))) == message


@pytest.mark.parametrize("name", sorted(STATUSES))
def test_status_fixture_parses(name: str) -> None:
    status, timestamp, codes = STATUSES[name]
    messages, statuses = parse_webhook(load(name))
    assert messages == []
    assert len(statuses) == 1
    update = statuses[0]
    assert update == StatusUpdate(channel="whatsapp", channel_message_id=status_id(name),
                                  status=status, chat_id=SITI, timestamp=timestamp,
                                  errors=update.errors)
    assert [error["code"] for error in update.errors] == codes


def test_wamids_look_like_meta_ones() -> None:
    # Meta's ids are base64 of a record holding the sender's number ("HBgN": 13 digits follow).
    wamid = message_id("text")
    assert wamid.startswith("wamid.HBgN")
    assert SITI.encode() in base64.b64decode(wamid.removeprefix("wamid."))


@pytest.mark.parametrize("name", sorted(MESSAGES) + sorted(STATUSES))
def test_phone_number_id_of_every_fixture(name: str) -> None:
    assert phone_number_id_of(load(name)) == "109876543210987"


def test_phone_number_id_of_foreign_payload() -> None:
    assert phone_number_id_of({"object": "page", "entry": []}) is None
    assert phone_number_id_of({}) is None


# -- tolerance -------------------------------------------------------------------------------------


def test_other_objects_and_change_fields_are_ignored() -> None:
    body = load("text")
    assert parse_webhook({**body, "object": "page"}) == ([], [])
    other = copy.deepcopy(body)
    other["entry"][0]["changes"][0]["field"] = "account_update"
    assert parse_webhook(other) == ([], [])
    assert parse_webhook({"object": "whatsapp_business_account"}) == ([], [])
    assert parse_webhook({"object": "whatsapp_business_account", "entry": "x"}) == ([], [])


def test_missing_optional_fields_are_tolerated() -> None:
    message = {"from": SITI, "id": "wamid.A", "type": "text", "text": {"body": "halo"}}
    messages, _ = parse_webhook(webhook_payload([message], contacts=[]))
    assert messages[0].text == "halo" and messages[0].timestamp == 0.0
    image = {"from": SITI, "id": "wamid.B", "timestamp": "x", "type": "image",
             "image": {"id": "77"}}
    messages, _ = parse_webhook(webhook_payload([image]))
    assert messages[0].attachment == Attachment(kind="image", media_id="77")
    assert messages[0].text == ""


def test_messages_without_id_or_sender_are_skipped() -> None:
    no_sender = {"id": "wamid.C", "timestamp": "1", "type": "system",
                 "system": {"type": "user_changed_user_id", "body": "User changed"}}
    no_id = {"from": SITI, "timestamp": "1", "type": "text", "text": {"body": "x"}}
    assert parse_webhook(webhook_payload([no_sender, no_id], contacts=[])) == ([], [])


def test_business_scoped_user_id_when_number_is_withheld() -> None:
    message = {"from_user_id": "ID.1410018717833190", "id": "wamid.D", "timestamp": "5",
               "type": "text", "text": {"body": "halo"}}
    messages, _ = parse_webhook(webhook_payload([message], contacts=[]))
    assert messages[0].chat_id == messages[0].user_id == "ID.1410018717833190"


@pytest.mark.parametrize(("kind", "content", "expected"), [
    ("interactive", None, "interactive"),  # Meta's payload-less interactive with an error
    ("interactive", {"type": "nfm_reply", "nfm_reply": {"response_json": "{}"}}, "interactive"),
    ("audio", {"id": "9", "mime_type": "audio/ogg", "voice": False}, "audio"),
    ("video", {"id": "9", "mime_type": "video/mp4"}, "video"),
    ("order", {"catalog_id": "1", "product_items": []}, "order"),
    ("system", {"type": "user_changed_number", "body": "x"}, "system"),
    ("location", {"latitude": "utara"}, "location"),
    ("contacts", None, "contacts"),
    ("brand_new_type", {"x": 1}, "brand_new_type"),
])
def test_unsupported_kinds(kind: str, content: Any, expected: str) -> None:
    message: dict[str, Any] = {"from": SITI, "id": "wamid.E", "timestamp": "9", "type": kind}
    if content is not None:
        message[kind] = content
    messages, _ = parse_webhook(webhook_payload([message]))
    assert [(m.kind, m.unsupported) for m in messages] == [("unsupported", expected)]


def test_template_quick_reply_button() -> None:
    message = {"from": SITI, "id": "wamid.F", "timestamp": "9", "type": "button",
               "context": {"from": "6281100002024", "id": "wamid.G"},
               "button": {"payload": "/cek_status_ktp", "text": "Cek status"}}
    messages, _ = parse_webhook(webhook_payload([message]))
    assert (messages[0].kind, messages[0].payload, messages[0].text) == \
        ("button", "/cek_status_ktp", "Cek status")


def test_unknown_statuses_are_skipped() -> None:
    body = load("status_sent")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "deleted"
    assert parse_webhook(body) == ([], [])


def test_messages_and_statuses_in_one_body() -> None:
    payload = webhook_payload([text_message(SITI, "halo", wamid="wamid.H", timestamp=3)],
                              statuses=load("status_read")["entry"][0]["changes"][0]["value"]
                              ["statuses"])
    messages, statuses = parse_webhook(payload)
    assert [m.dedup_id for m in messages] == ["wamid.H"]
    assert [s.status for s in statuses] == ["read"]


# -- signature -------------------------------------------------------------------------------------


def test_signature_over_the_raw_bytes() -> None:
    raw = (FIXTURES / "text.json").read_bytes()
    assert check_signature(raw, sign(raw, SECRET), SECRET)
    assert check_signature(raw, sign(raw, SECRET).upper().replace("SHA256=", "sha256="), SECRET)


def test_signature_of_a_meta_style_body_with_escaped_unicode() -> None:
    raw = encode(webhook_payload([text_message(SITI, "terima kasih 🙏")]))
    assert b"\\ud83d\\ude4f" in raw
    assert check_signature(raw, sign(raw, SECRET), SECRET)


@pytest.mark.parametrize("header", [
    None, "", "sha256=", "sha1=" + "0" * 40, "sha256=" + "z" * 64, "sha256=" + "0" * 63,
    "0" * 64, "sha256:" + "0" * 64, "sha256=" + "0" * 64, "sha256=" + "a b" * 21 + "a",
])
def test_signature_missing_or_malformed(header: str | None) -> None:
    raw = (FIXTURES / "text.json").read_bytes()
    assert not check_signature(raw, header, SECRET)


def test_signature_with_wrong_secret_or_changed_body() -> None:
    raw = (FIXTURES / "text.json").read_bytes()
    header = sign(raw, SECRET)
    assert not check_signature(raw, header, "another-secret")
    assert not check_signature(raw.replace(b"belum", b"sudah"), header, SECRET)
    assert not check_signature(raw + b"\n", header, SECRET)
    assert not check_signature(raw, header, "")


# -- handshake -------------------------------------------------------------------------------------


def test_handshake_answers_the_challenge() -> None:
    assert verify_handshake("subscribe", "verify-me", "1158201444", "verify-me") == "1158201444"


@pytest.mark.parametrize(("mode", "token", "challenge", "expected"), [
    ("subscribe", "wrong", "1", "verify-me"),
    ("unsubscribe", "verify-me", "1", "verify-me"),
    (None, "verify-me", "1", "verify-me"),
    ("subscribe", None, "1", "verify-me"),
    ("subscribe", "verify-me", None, "verify-me"),
    ("subscribe", "", "1", ""),  # no configured token: never answered
])
def test_handshake_refused(mode: str | None, token: str | None, challenge: str | None,
                           expected: str) -> None:
    assert verify_handshake(mode, token, challenge, expected) is None
