"""Rendering replies as WhatsApp messages: which form, within which limits."""

from __future__ import annotations

from typing import Any

import pytest

from integrations.replies import Media, Option, Reply, Template
from integrations.whatsapp import cut, render, reply_id, reply_keys
from tests.fakes.graph_api import validate_message

TO = "6281234567890"


def options(*titles: str) -> tuple[Option, ...]:
    return tuple(Option(title=title, payload=f"/pilih{{\"choice\": \"{i}\"}}")
                 for i, title in enumerate(titles, start=1))


def interactive(body: dict[str, Any]) -> dict[str, Any]:
    assert body["type"] == "interactive"
    return dict(body["interactive"])


def test_plain_text() -> None:
    [message] = render(Reply(text="Terima kasih, laporan Anda sudah kami terima."), TO)
    assert message.method == "text"
    assert message.body == {
        "messaging_product": "whatsapp", "recipient_type": "individual", "to": TO,
        "type": "text",
        "text": {"preview_url": False, "body": "Terima kasih, laporan Anda sudah kami terima."},
    }


def test_empty_reply_renders_nothing() -> None:
    assert render(Reply(), TO) == []


def test_long_text_is_split_within_4096() -> None:
    paragraph = "Persyaratan pembuatan KTP elektronik untuk warga Kota Tangerang. " * 30
    text = "\n\n".join([paragraph.strip()] * 5)
    messages = render(Reply(text=text), TO)
    assert len(messages) > 1
    assert all(m.method == "text" and len(m.body["text"]["body"]) <= 4096 for m in messages)
    assert " ".join(m.body["text"]["body"] for m in messages).split() == text.split()


def test_three_short_options_become_reply_buttons() -> None:
    reply = Reply(text="Ada yang bisa kami bantu?", options=options("Cek KTP", "Lapor", "Petugas"))
    [message] = render(reply, TO)
    content = interactive(message.body)
    assert content["type"] == "button"
    assert content["body"] == {"text": "Ada yang bisa kami bantu?"}
    assert content["footer"] == {"text": "Atau ketik angka 1-3"}
    assert content["action"]["buttons"] == [
        {"type": "reply", "reply": {"id": option.payload, "title": option.title}}
        for option in reply.options
    ]


def test_footer_numbers_follow_the_turn() -> None:
    reply = Reply(text="Lanjut?", options=options("Ya", "Tidak"), first_number=4)
    [message] = render(reply, TO)
    assert interactive(message.body)["footer"] == {"text": "Atau ketik angka 4-5"}
    single = Reply(text="Coba lagi?", options=options("Coba kirim lagi"), first_number=3)
    assert interactive(render(single, TO)[0].body)["footer"] == {"text": "Atau ketik angka 3"}


def test_button_title_over_20_characters_makes_a_list() -> None:
    reply = Reply(text="Pilih layanan", options=options("Cek KTP", "Lapor jalan rusak parah"))
    content = interactive(render(reply, TO)[0].body)
    assert content["type"] == "list"


def test_four_options_become_a_list() -> None:
    reply = Reply(text="Layanan apa yang Anda perlukan?", list_button="Lihat layanan",
                  options=options("KTP", "Kartu Keluarga", "Akta kelahiran", "Pengaduan"))
    [message] = render(reply, TO)
    content = interactive(message.body)
    assert content["type"] == "list"
    assert content["footer"] == {"text": "Atau ketik angka 1-4"}
    assert content["action"]["button"] == "Lihat layanan"
    [section] = content["action"]["sections"]
    assert section["title"] == "Pilihan"
    assert [row["id"] for row in section["rows"]] == [o.payload for o in reply.options]
    assert [row["title"] for row in section["rows"]] == [o.title for o in reply.options]
    assert all("description" not in row for row in section["rows"])


def test_list_style_is_honoured_for_few_options() -> None:
    reply = Reply(text="Pilih kecamatan", style="list", options=options("Cipondoh", "Ciledug"))
    assert interactive(render(reply, TO)[0].body)["type"] == "list"


def test_long_title_is_cut_at_a_word_and_kept_in_the_description() -> None:
    title = "Surat keterangan pindah domisili antar kota"
    reply = Reply(text="Pilih", options=options("KTP", "KK", "Akta", title))
    rows = interactive(render(reply, TO)[0].body)["action"]["sections"][0]["rows"]
    assert rows[3]["title"] == "Surat keterangan pindah"
    assert len(rows[3]["title"]) <= 24
    assert rows[3]["description"] == title


def test_option_description_is_kept_when_the_title_fits() -> None:
    reply = Reply(text="Pilih", options=(
        Option("KTP", "/ktp", description="Cek status atau syarat KTP elektronik"),
        *options("KK", "Akta", "Pindah")))
    rows = interactive(render(reply, TO)[0].body)["action"]["sections"][0]["rows"]
    assert rows[0]["description"] == "Cek status atau syarat KTP elektronik"


def test_eleven_options_become_a_numbered_text_menu() -> None:
    reply = Reply(text="Pilih kelurahan:", options=options(*[f"Kelurahan {i}" for i in range(11)]))
    [message] = render(reply, TO)
    assert message.method == "text"
    body = message.body["text"]["body"]
    assert body.startswith("Pilih kelurahan:")
    assert "1. Kelurahan 0" in body and "11. Kelurahan 10" in body
    assert body.endswith("Ketik angka pilihan Anda.")


def test_duplicate_payloads_fall_back_to_the_numbered_menu() -> None:
    reply = Reply(text="Pilih", options=(Option("Ya", "/affirm"), Option("Betul", "/affirm")))
    assert [m.method for m in render(reply, TO)] == ["text"]


def test_long_payload_gets_a_key_the_gateway_can_resolve() -> None:
    long_payload = '/lapor{"choice": "' + "x" * 300 + '"}'
    reply = Reply(text="Kirim?", options=(Option("Kirim", long_payload), Option("Batal", "/deny")))
    content = interactive(render(reply, TO)[0].body)
    ids = [button["reply"]["id"] for button in content["action"]["buttons"]]
    assert ids[1] == "/deny"
    assert ids[0].startswith("k:") and len(ids[0]) == 34
    assert ids[0] == reply_id(long_payload)
    assert reply_keys(reply) == {ids[0]: long_payload}
    assert reply_keys(Reply(options=options("a"))) == {}


def test_long_body_goes_first_as_text_then_a_short_prompt() -> None:
    text = "Syarat pengajuan akta kelahiran: " + "fotokopi dokumen pendukung, " * 60
    reply = Reply(text=text, options=options("Ajukan", "Batal"))
    messages = render(reply, TO)
    assert [m.method for m in messages] == ["text", "interactive"]
    assert messages[0].body["text"]["body"] == text.strip()
    assert interactive(messages[1].body)["body"] == {"text": "Silakan pilih:"}


def test_options_without_text_get_a_prompt() -> None:
    content = interactive(render(Reply(options=options("Ya", "Tidak")), TO)[0].body)
    assert content["body"] == {"text": "Silakan pilih:"}


def test_location_request() -> None:
    [message] = render(Reply(text="Di mana lokasi kejadiannya?", request_location=True), TO)
    assert interactive(message.body) == {
        "type": "location_request_message",
        "body": {"text": "Di mana lokasi kejadiannya?"},
        "action": {"name": "send_location"},
    }


def test_template_with_parameters() -> None:
    reply = Reply(text="ignored on WhatsApp", options=options("Ya"),
                  template=Template("status_laporan", "id", ("LKS-123456", "sedang diproses")))
    [message] = render(reply, TO)
    assert message.method == "template"
    assert message.body["template"] == {
        "name": "status_laporan", "language": {"code": "id"},
        "components": [{"type": "body", "parameters": [
            {"type": "text", "text": "LKS-123456"}, {"type": "text", "text": "sedang diproses"}]}],
    }


def test_template_without_parameters_has_no_components() -> None:
    [message] = render(Reply(template=Template("sapaan_kembali")), TO)
    assert message.body["template"] == {"name": "sapaan_kembali", "language": {"code": "id"}}


def test_image_by_url_with_caption() -> None:
    reply = Reply(text="Peta lokasi kantor Disdukcapil",
                  media=Media(kind="image", url="https://pintu.example/peta.png"))
    [message] = render(reply, TO)
    assert message.method == "image"
    assert message.body["image"] == {"link": "https://pintu.example/peta.png",
                                     "caption": "Peta lokasi kantor Disdukcapil"}


def test_stored_document_is_uploaded_by_the_client() -> None:
    reply = Reply(text="Bukti pendaftaran Anda",
                  media=Media(kind="document", ref="var/media/ab12.pdf", filename="bukti.pdf"))
    [message] = render(reply, TO)
    assert message.method == "document"
    assert message.body["_local_ref"] == "var/media/ab12.pdf"
    assert message.body["document"] == {"caption": "Bukti pendaftaran Anda",
                                        "filename": "bukti.pdf"}


def test_long_caption_moves_to_text_messages() -> None:
    text = "Keterangan lengkap. " * 80
    reply = Reply(text=text, media=Media(kind="image", url="https://pintu.example/a.png"))
    messages = render(reply, TO)
    assert [m.method for m in messages] == ["image", "text"]
    assert "caption" not in messages[0].body["image"]


def test_media_with_options_keeps_the_question_with_the_buttons() -> None:
    reply = Reply(text="Apakah ini lokasinya?", options=options("Ya", "Bukan"),
                  media=Media(kind="image", url="https://pintu.example/a.png"))
    messages = render(reply, TO)
    assert [m.method for m in messages] == ["image", "interactive"]
    assert "caption" not in messages[0].body["image"]
    assert interactive(messages[1].body)["body"] == {"text": "Apakah ini lokasinya?"}


@pytest.mark.parametrize(("text", "limit", "expected"), [
    ("Akta kelahiran", 24, "Akta kelahiran"),
    ("Surat keterangan pindah domisili", 24, "Surat keterangan pindah"),
    ("Pengaduan, saran, dan kritik", 20, "Pengaduan, saran"),
    ("Supercalifragilisticexpialidocious", 20, "Supercalifragilistic"),
])
def test_cut(text: str, limit: int, expected: str) -> None:
    assert cut(text, limit) == expected


REPLIES = [
    Reply(text="Halo! Saya Pintu, asisten layanan Kota Tangerang."),
    Reply(text="x " * 5000),
    Reply(text="Pilih", options=options("Cek KTP", "Lapor", "Petugas")),
    Reply(text="Pilih", options=options(*[f"Layanan kependudukan nomor {i} panjang" for i in
                                          range(10)]), list_button="Daftar layanan Kota Tangerang"),
    Reply(text="y " * 700, options=options("Ya", "Tidak")),
    Reply(text="Pilih", options=options(*[f"Opsi {i}" for i in range(15)])),
    Reply(text="Kirim?", options=(Option("Kirim", "/a" + "b" * 300),)),
    Reply(text="Lokasi?", request_location=True),
    Reply(text="z " * 700, request_location=True),
    Reply(text="Pilih", options=options("A", "B"), request_location=True),
    Reply(template=Template("status_laporan", parameters=("LKS-123456",))),
    Reply(text="c " * 600, media=Media(kind="document", url="https://pintu.example/a.pdf",
                                        filename="a.pdf")),
    Reply(text="Foto", media=Media(kind="image", url="https://pintu.example/a.png"),
          options=options("Ya", "Tidak")),
    Reply(text="Pilih layanan " * 20, options=(
        Option("Pengaduan infrastruktur dan fasilitas umum di lingkungan RT/RW Anda sendiri",
               "/lapor", description="d" * 100),
        *options("B", "C", "D"))),
]


@pytest.mark.parametrize("reply", REPLIES)
def test_every_rendered_body_passes_the_cloud_api_limits(reply: Reply) -> None:
    messages = render(reply, TO)
    assert messages
    for message in messages:
        body = {k: v for k, v in message.body.items() if k != "_local_ref"}
        assert validate_message(body) is None, body
        assert message.method == body["type"]
