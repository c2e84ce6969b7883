"""Recorded Telegram updates and the `Inbound` each must become."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from integrations.inbound import Attachment, Inbound
from integrations.telegram import parse_update

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "telegram"
SITI = "5123456789"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def private(update_id: int, message_id: int, date: float, kind: str, **fields: Any) -> Inbound:
    return Inbound(channel="telegram", dedup_id=f"tg:{update_id}", chat_id=SITI, user_id=SITI,
                   kind=kind, channel_message_id=f"{SITI}:{message_id}",  # type: ignore[arg-type]
                   timestamp=date, language="id", **fields)


EXPECTED: dict[str, Inbound | None] = {
    "text": private(874512301, 1532, 1732435200, "text", text="ktp saya sudah jadi belum"),
    "start_deeplink": private(874512290, 1520, 1732434900, "start", text="/start laksa",
                              start_param="laksa"),
    "start_plain": private(874512289, 1519, 1732434880, "start", text="/start"),
    "callback_query": private(874512305, 1534, 0.0, "button",
                              payload='/pilih_layanan{"choice":"ktp"}',
                              callback_query_id="2200434570231784512"),
    "photo": private(874512310, 1540, 1732435500, "image",
                     text="jalan berlubang di depan pasar anyar", attachment=Attachment(
                         kind="image", mime_type="image/jpeg", size=152873, media_id=(
                             "AgACAgUAAxkBAAIGBGdDq1xAAQABHpTt0Zx8b2VwAAGyAAI4wTEbp0kgVnV9AAHIkNsY"
                             "bAEAAwIAA3kAAzYE"))),
    "document": private(874512312, 1542, 1732435620, "document", attachment=Attachment(
        kind="document", mime_type="application/pdf", filename="surat_pengantar_rt.pdf",
        size=184233,
        media_id="BQACAgUAAxkBAAIGBmdDq9cAAeVtbxVS1yb2nKlAAAGBAAI6EgACp0kgVs6nnTQ9bm0xNgQ")),
    "location": private(874512314, 1544, 1732435700, "location", attachment=Attachment(
        kind="location", latitude=-6.178306, longitude=106.631889)),
    "contact": private(874512316, 1546, 1732435760, "contact", attachment=Attachment(
        kind="contact", phone="6281200000001")),
    "edited_message": private(874512318, 1532, 1732435262, "text",
                              text="ktp saya sudah jadi belum ya?", edited=True),
    "voice": private(874512320, 1548, 1732435800, "unsupported", unsupported="voice"),
    "sticker": private(874512322, 1550, 1732435830, "unsupported", unsupported="sticker"),
    "group_message": Inbound(channel="telegram", dedup_id="tg:874512330",
                             chat_id="-1001987654321", user_id="6234567890", kind="unsupported",
                             unsupported="group", channel_message_id="-1001987654321:211",
                             timestamp=1732436000, language="id"),
    "my_chat_member": None,
}


def test_every_fixture_has_an_expectation() -> None:
    assert sorted(p.stem for p in FIXTURES.glob("*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_parses_to_expected_inbound(name: str) -> None:
    assert parse_update(load(name)) == EXPECTED[name]


@pytest.mark.parametrize("name", [n for n, e in sorted(EXPECTED.items()) if e is not None])
def test_parsed_inbound_survives_the_queue_as_json(name: str) -> None:
    inbound = parse_update(load(name))
    assert inbound is not None
    assert Inbound.from_json(json.loads(json.dumps(inbound.to_json()))) == inbound


def with_text(text: str) -> dict[str, Any]:
    update = load("text")
    update["message"]["text"] = text
    return update


@pytest.mark.parametrize(("text", "param"), [
    ("/start laksa", "laksa"),
    ("/start@PintuTangerangBot laksa", "laksa"),
    ("/start " + "a" * 64, "a" * 64),
    ("/start " + "a" * 65, None),
    ("/start ktp-elektronik_2024", "ktp-elektronik_2024"),
    ("/start <script>", None),
    ("/start dua kata", None),
    ("/start ktp.jadi", None),
])
def test_start_keeps_only_a_valid_deep_link_param(text: str, param: str | None) -> None:
    inbound = parse_update(with_text(text))
    assert inbound is not None
    assert (inbound.kind, inbound.start_param) == ("start", param)


@pytest.mark.parametrize("text", ["/starting", "/help", "mulai /start", "start"])
def test_other_text_is_plain_text(text: str) -> None:
    inbound = parse_update(with_text(text))
    assert inbound is not None
    assert (inbound.kind, inbound.text) == ("text", text)


def test_edited_message_keeps_its_own_update_id_as_dedup_id() -> None:
    first, edit = parse_update(load("text")), parse_update(load("edited_message"))
    assert first is not None and edit is not None
    assert first.channel_message_id == edit.channel_message_id
    assert first.dedup_id != edit.dedup_id == "tg:874512318"


def test_animation_is_unsupported_although_it_also_carries_a_document() -> None:
    update = load("document")
    update["message"]["animation"] = {
        "file_id": "CgACAgQAAxkBAAIGEGdDrKx", "file_unique_id": "AgADxQIAAh",
        "width": 320, "height": 240, "duration": 3, "file_name": "gif.mp4",
        "mime_type": "video/mp4"}
    inbound = parse_update(update)
    assert inbound is not None
    assert (inbound.kind, inbound.unsupported, inbound.attachment) == \
        ("unsupported", "animation", None)


@pytest.mark.parametrize("kind", ["poll", "dice", "video", "video_note", "audio"])
def test_other_content_is_unsupported(kind: str) -> None:
    bodies: dict[str, Any] = {
        "poll": {"id": "5368", "question": "?", "options": [], "total_voter_count": 0,
                 "is_closed": False, "is_anonymous": True, "type": "regular",
                 "allows_multiple_answers": False},  # no allows_revoting: PTB 22.8 would refuse it
        "dice": {"emoji": "🎲", "value": 4},
        "video": {"file_id": "BAAC1", "file_unique_id": "AgAD1", "width": 640, "height": 360,
                  "duration": 12},
        "video_note": {"file_id": "DQAC1", "file_unique_id": "AgAD2", "length": 240,
                       "duration": 5},
        "audio": {"file_id": "CQAC1", "file_unique_id": "AgAD3", "duration": 200},
    }
    update = load("voice")
    del update["message"]["voice"]
    update["message"][kind] = bodies[kind]
    inbound = parse_update(update)
    assert inbound is not None
    assert (inbound.kind, inbound.unsupported) == ("unsupported", kind)


def test_edited_live_location_is_not_a_new_message() -> None:
    update = load("location")
    update["edited_message"] = update.pop("message")
    update["edited_message"]["edit_date"] = 1732435760
    assert parse_update(update) is None


def test_venue_counts_as_location() -> None:
    update = load("location")
    update["message"]["venue"] = {"location": update["message"]["location"],
                                  "title": "Masjid Raya Al-A'zhom", "address": "Jl. Satria"}
    inbound = parse_update(update)
    assert inbound is not None and inbound.kind == "location"


def test_button_in_a_group_is_unsupported_but_keeps_the_query_id() -> None:
    update = copy.deepcopy(load("callback_query"))
    update["callback_query"]["message"]["chat"] = {"id": -1001987654321, "type": "supergroup",
                                                   "title": "Warga RW 05 Cibodas"}
    inbound = parse_update(update)
    assert inbound is not None
    assert (inbound.kind, inbound.unsupported, inbound.chat_id, inbound.callback_query_id) == \
        ("unsupported", "group", "-1001987654321", "2200434570231784512")


def test_channel_post_is_unsupported_group() -> None:
    update = {"update_id": 874512350, "channel_post": {
        "message_id": 12, "date": 1732436200, "text": "pengumuman",
        "chat": {"id": -1001222333444, "title": "Info Kota", "type": "channel"},
        "sender_chat": {"id": -1001222333444, "title": "Info Kota", "type": "channel"}}}
    inbound = parse_update(update)
    assert inbound is not None
    assert (inbound.kind, inbound.unsupported, inbound.user_id) == \
        ("unsupported", "group", "-1001222333444")


@pytest.mark.parametrize(("key", "value"), [
    ("message_auto_delete_timer_changed", {"message_auto_delete_time": 86400}),
    ("pinned_message", {"message_id": 1500, "date": 1732430000, "text": "halo",
                        "chat": {"id": 5123456789, "type": "private"}}),
])
def test_service_message_is_nothing_for_us(key: str, value: Any) -> None:
    update = load("text")
    del update["message"]["text"]
    update["message"][key] = value
    assert parse_update(update) is None


@pytest.mark.parametrize("data", [
    {}, {"update_id": "x"}, [], {"update_id": 1, "message": 5},
    {"update_id": 2, "message": {"message_id": 3, "text": "tanpa chat"}},
])
def test_unreadable_data_is_skipped_and_logged_without_content(
        data: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    assert parse_update(data) is None
    assert "telegram: skipped" in caplog.text
    assert "tanpa chat" not in caplog.text
