"""A campaign in headless Chromium: an admin writes a broadcast with a button, narrows the
segment and sees the recipient count change, previews it per channel, sends it, and watches the
progress reach "Selesai" while the fake Bot API and Graph API receive one message per resident."""

from __future__ import annotations

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from bot.db import in_transaction
from bot.outbound import open_window
from bot.outreach import consent
from bot.records import touch_contact
from tests.channels.conftest import wait_for

from .conftest import Gateway, StaffFactory, console_errors, login
from .test_inbox import shoot

TELEGRAM_CHATS = ("71001", "71002", "71003")
WA_ID = "6281277700001"


def residents(gw: Gateway) -> None:
    def work(session: Session) -> None:
        for channel, chat in [("telegram", c) for c in TELEGRAM_CHATS] + [("whatsapp", WA_ID)]:
            contact = touch_contact(session, channel, chat, inbound=True)
            session.flush()
            consent.grant(session, contact.id, "city_news", source="start_word")
    in_transaction(gw.services.sessions, work)
    gw.call(open_window(gw.services.store.redis, "whatsapp", WA_ID))


def test_an_admin_writes_previews_sends_and_watches_a_campaign(gateway: Gateway,
                                                               staff_factory: StaffFactory,
                                                               page: Page) -> None:
    admin = staff_factory("rina", role="admin", display_name="Rina (Diskominfo)")
    residents(gateway)
    errors = console_errors(page)
    login(page, admin.username, admin.password)
    page.get_by_role("link", name="Kampanye", exact=True).click()
    expect(page.get_by_role("heading", name="Kampanye", exact=True)).to_be_visible()
    expect(page.locator("#jumlah-penerima")).to_have_text("4")
    page.get_by_label("WhatsApp", exact=True).uncheck()
    expect(page.locator("#jumlah-penerima")).to_have_text("3")
    page.get_by_label("WhatsApp", exact=True).check()
    expect(page.locator("#jumlah-penerima")).to_have_text("4")
    page.get_by_label("Judul (hanya untuk petugas)").fill("Vaksinasi Sabtu")
    page.get_by_label("Isi pesan").fill("Vaksinasi gratis Sabtu ini di puskesmas terdekat.")
    page.get_by_label("Judul tombol 1").fill("Lokasi")
    page.get_by_label("Isi tombol 1 (yang diterima bot; kosong = judulnya)").fill("lokasi vaksin")
    shoot(page, "campaign-compose")
    page.get_by_role("button", name="Simpan draf dan lihat pratinjau").click()

    expect(page.get_by_text("Draf kampanye disimpan.")).to_be_visible()
    telegram = page.get_by_label("Pratinjau Telegram")
    expect(telegram).to_contain_text("Vaksinasi gratis Sabtu ini di puskesmas terdekat.")
    expect(telegram).to_contain_text("1. Lokasi")
    expect(page.get_by_label("Pratinjau WhatsApp", exact=True)).to_contain_text("Lokasi")
    expect(page.get_by_label("Pratinjau WhatsApp di luar 24 jam")).to_contain_text("dilewati")
    shoot(page, "campaign-preview")
    page.get_by_role("button", name="Kirim sekarang").click()

    expect(page.get_by_text("Kampanye mulai dikirim.")).to_be_visible()
    expect(page.locator("#status-kampanye")).to_have_text("Selesai", timeout=20_000)
    expect(page.locator("#jumlah-sent")).to_have_text("4")
    expect(page.get_by_role("button", name="Batalkan kampanye")).to_be_hidden()
    expect(page.locator("#grafik polyline").first).to_be_attached()
    shoot(page, "campaign-progress")
    wait_for(lambda: len(gateway.telegram.calls("sendMessage")) == 3, what="Telegram sends")
    assert sorted(c.chat_id or "" for c in gateway.telegram.calls("sendMessage")) == \
        list(TELEGRAM_CHATS)
    assert [b["to"] for b in gateway.graph.sent()] == [WA_ID]
    audit = [a for (a,) in gateway.rows("SELECT action FROM audit_log ORDER BY id")
             if a.startswith("campaign")]
    assert audit == ["campaign_created", "campaign_sent"]
    assert errors == []
