"""What a Reply becomes on Telegram: Bot API calls within Telegram's limits."""

from __future__ import annotations

import hashlib

import pytest

from integrations.replies import Media, Option, Reply
from integrations.telegram import callback_data, callback_keys, render
from integrations.telegram.render import LOCATION_BUTTON, LOCATION_PROMPT

CHAT = "5123456789"
LONG_PAYLOAD = '/pilih_layanan{"choice": "akta_kelahiran", "sumber": "menu_utama_layanan_dukcapil"}'


def test_plain_text_is_one_send_message_without_parse_mode() -> None:
    calls = render(Reply(text="Halo <b>Siti</b> & selamat datang"), CHAT)
    assert [(c.method, c.body) for c in calls] == [
        ("sendMessage", {"chat_id": 5123456789, "text": "Halo <b>Siti</b> & selamat datang"})]


def test_options_become_an_inline_keyboard_one_button_per_row() -> None:
    reply = Reply(text="Layanan apa yang Anda perlukan?", options=(
        Option("KTP elektronik", "/pilih{\"choice\":\"ktp\"}"),
        Option("Kartu Keluarga", "/pilih{\"choice\":\"kk\"}")))
    (call,) = render(reply, CHAT)
    assert call.body["reply_markup"] == {"inline_keyboard": [
        [{"text": "1. KTP elektronik", "callback_data": "/pilih{\"choice\":\"ktp\"}"}],
        [{"text": "2. Kartu Keluarga", "callback_data": "/pilih{\"choice\":\"kk\"}"}]]}
    assert callback_keys(reply) == {}


def test_numbering_continues_from_first_number() -> None:
    reply = Reply(text="Atau:", options=(Option("Lapor", "/lapor"), Option("Petugas", "/cs")),
                  first_number=3)
    (call,) = render(reply, CHAT)
    texts = [row[0]["text"] for row in call.body["reply_markup"]["inline_keyboard"]]
    assert texts == ["3. Lapor", "4. Petugas"]


@pytest.mark.parametrize(("payload", "fits"), [
    ("a" * 64, True),
    ("a" * 65, False),
    ("é" * 32, True),  # 64 bytes
    ("é" * 33, False),  # 33 characters but 66 bytes
    ("", False),
    ("k:looks-like-a-key", False),
    (LONG_PAYLOAD, False),
])
def test_callback_data_is_the_payload_only_within_64_bytes(payload: str, fits: bool) -> None:
    data = callback_data(payload)
    assert 1 <= len(data.encode("utf-8")) <= 64
    if fits:
        assert data == payload
    else:
        assert data == "k:" + hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def test_long_payloads_are_keyed_and_the_keys_are_returned() -> None:
    reply = Reply(text="Pilih:", options=(Option("Akta", LONG_PAYLOAD), Option("KTP", "/ktp")))
    (call,) = render(reply, CHAT)
    key = call.body["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    assert key.startswith("k:") and len(key) == 34
    assert callback_keys(reply) == {key: LONG_PAYLOAD}
    assert call.body["reply_markup"]["inline_keyboard"][1][0]["callback_data"] == "/ktp"


def test_options_without_text_still_have_a_message() -> None:
    (call,) = render(Reply(options=(Option("Ya", "/affirm"),)), CHAT)
    assert call.body["text"] == "Silakan pilih:"


def test_long_text_is_split_without_breaking_words_keyboard_on_last_chunk() -> None:
    words = [f"kata{i}" for i in range(1100)]
    text = " ".join(words)
    assert 2 * 4096 < len(text) < 3 * 4000
    reply = Reply(text=text, options=(Option("Menu", "/menu"),))
    calls = render(reply, CHAT)
    assert len(calls) == 3
    assert all(c.method == "sendMessage" and len(c.body["text"]) <= 4096 for c in calls)
    assert " ".join(c.body["text"] for c in calls).split() == words
    assert [("reply_markup" in c.body) for c in calls] == [False, False, True]


def test_image_with_short_caption_carries_the_keyboard() -> None:
    reply = Reply(text="Contoh KTP", media=Media("image", url="https://contoh.id/ktp.jpg"),
                  options=(Option("Lanjut", "/lanjut"),))
    (call,) = render(reply, CHAT)
    assert call.method == "sendPhoto"
    assert call.body["photo"] == "https://contoh.id/ktp.jpg"
    assert call.body["caption"] == "Contoh KTP"
    assert "reply_markup" in call.body


def test_long_caption_sends_media_bare_then_text() -> None:
    text = "syarat " * 200
    reply = Reply(text=text, media=Media("document", url="https://contoh.id/syarat.pdf"),
                  options=(Option("Lanjut", "/lanjut"),))
    media, message = render(reply, CHAT)
    assert (media.method, media.body) == (
        "sendDocument", {"chat_id": 5123456789, "document": "https://contoh.id/syarat.pdf"})
    assert message.body["text"] == text.strip()
    assert "reply_markup" in message.body


def test_stored_document_is_left_for_the_client_to_upload() -> None:
    reply = Reply(text="Bukti pengaduan",
                  media=Media("document", ref="var/media/ab12.pdf", filename="LKS-123456.pdf"))
    (call,) = render(reply, CHAT)
    assert call.method == "sendDocument"
    assert call.body == {"chat_id": 5123456789, "_local_ref": "var/media/ab12.pdf",
                         "_filename": "LKS-123456.pdf", "caption": "Bukti pengaduan"}


def test_request_location_is_a_one_time_reply_keyboard() -> None:
    (call,) = render(Reply(text="Di mana lokasinya?", request_location=True), CHAT)
    assert call.body["reply_markup"] == {
        "keyboard": [[{"text": LOCATION_BUTTON, "request_location": True}]],
        "one_time_keyboard": True, "resize_keyboard": True}


def test_location_and_options_need_two_messages() -> None:
    reply = Reply(text="Di mana lokasinya?", options=(Option("Lewati", "/skip"),),
                  request_location=True)
    first, second = render(reply, CHAT)
    assert "inline_keyboard" in first.body["reply_markup"]
    assert second.body["text"] == LOCATION_PROMPT
    assert second.body["reply_markup"]["keyboard"][0][0]["request_location"] is True


def test_empty_reply_sends_nothing() -> None:
    assert render(Reply(), CHAT) == []
