"""The outreach-links page in headless Chromium: an admin makes links per kelurahan and campaign,
sees both channels' addresses and QR codes, opens the printable poster, and reads how many
residents each link brought (issue 6, slice 4)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from bot.outreach import links, posters
from bot.staff import auth
from tests.channels.conftest import Gateway, wait_for
from tests.channels.test_outreach_links import start_update

from .conftest import StaffFactory, console_errors, login, logout

BOT = "PintuTangerangBot"
PHONE = "6281100002024"


@pytest.fixture
def gateway(make_gateway: Callable[..., Gateway]) -> Gateway:
    return make_gateway(telegram_bot_username=BOT, whatsapp_display_phone=PHONE)


def test_an_admin_makes_a_kelurahan_link_prints_its_poster_and_sees_who_it_brought(
        gateway: Gateway, staff_factory: StaffFactory, page: Page) -> None:
    admin = staff_factory("rina", role="admin")
    errors = console_errors(page)
    login(page, admin.username, admin.password)
    page.get_by_role("link", name="Tautan").click()
    expect(page.get_by_role("heading", name="Tautan sosialisasi", level=1)).to_be_visible()
    expect(page.get_by_text("Belum ada tautan.")).to_be_visible()
    page.get_by_label("Kelurahan", exact=True).select_option("Poris Plawad")
    page.get_by_role("button", name="Buat tautan kelurahan").click()
    expect(page.get_by_role("status").filter(has_text="Tautan dibuat")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="kel-poris-plawad")
    expect(row).to_contain_text("Kelurahan Poris Plawad (Kec. Cipondoh)")
    tg = f"https://t.me/{BOT}?start=kel-poris-plawad"
    wa = links.whatsapp_url(PHONE, "kel-poris-plawad")
    expect(row.locator("a[data-channel=telegram]")).to_have_attribute("href", tg)
    expect(row.locator("a[data-channel=whatsapp]")).to_have_attribute("href", wa)
    expect(row.get_by_role("img", name="QR Telegram untuk kel-poris-plawad")).to_have_attribute(
        "src", posters.qr_data_uri(tg))
    expect(row.locator("[data-brought]")).to_have_text("0")

    # A campaign link; the same campaign again is refused with the reason, values kept.
    page.get_by_label("Nama kampanye").fill("Festival Cisadane 2026")
    page.get_by_role("button", name="Buat tautan kampanye").click()
    expect(page.get_by_role("row").filter(has_text="kmp-festival-cisadane-2026")).to_be_visible()
    page.get_by_label("Nama kampanye").fill("Festival  Cisadane 2026")
    page.get_by_role("button", name="Buat tautan kampanye").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Tautan dengan kode kmp-festival-cisadane-2026 sudah ada.")
    expect(page.get_by_label("Nama kampanye")).to_have_value("Festival  Cisadane 2026")

    # A resident scans the poster, another comes back through it: one brought, two visits.
    gateway.telegram_update(start_update("kel-poris-plawad", 93001))
    gateway.telegram_update(start_update("kmp-festival-cisadane-2026", 93002))
    gateway.telegram_update(start_update("kel-poris-plawad", 93003))
    wait_for(lambda: len(gateway.rows("SELECT 1 FROM outreach_visits")) == 3, what="3 visits")
    page.goto("/staff/admin/links")
    row = page.get_by_role("row").filter(has_text="kel-poris-plawad")
    expect(row.locator("[data-brought]")).to_have_text("1")
    expect(row.locator("[data-visits]")).to_have_text("2")
    campaign = page.get_by_role("row").filter(has_text="kmp-festival-cisadane-2026")
    expect(campaign.locator("[data-brought]")).to_have_text("0")
    expect(campaign.locator("[data-visits]")).to_have_text("1")

    row.get_by_role("link", name=re.compile("Buka poster")).click()
    expect(page.get_by_role("heading", name="Urus layanan kota lewat chat")).to_be_visible()
    expect(page.get_by_text("Untuk warga Kelurahan Poris Plawad, Kecamatan Cipondoh")
           ).to_be_visible()
    expect(page.get_by_role("img", name="Kode QR WhatsApp Pintu")).to_have_attribute(
        "src", posters.qr_data_uri(wa))
    expect(page.get_by_role("img", name="Kode QR Telegram Pintu")).to_be_visible()
    expect(page.get_by_text("0811-0000-2024")).to_be_visible()
    expect(page.get_by_text(f"@{BOT}")).to_be_visible()
    page.emulate_media(media="print")  # the tools bar is not printed
    expect(page.get_by_role("button", name="Cetak poster (A4)")).to_be_hidden()
    # No CSP violation (no inline script or style); the refused form's 422 is the only error.
    assert [e for e in errors if "422" not in e] == []

    page.goto("/staff/admin/audit")
    expect(page.get_by_role("row").filter(has_text="Membuat tautan sosialisasi")).to_have_count(2)


def test_without_channel_settings_the_page_says_links_cannot_be_made(
        make_gateway: Callable[..., Gateway], page: Page) -> None:
    gw = make_gateway()  # not the module's gateway: no bot name, no WhatsApp number
    with gw.services.sessions.begin() as session:
        auth.create_staff(session, "budi", "Budi (admin)", "admin", "kata-sandi-uji-2026")
        links.create(session, "kecamatan", "Benda", None)
    page.goto(gw.url + "/staff/login")
    page.get_by_label("Nama pengguna").fill("budi")
    page.get_by_label("Kata sandi").fill("kata-sandi-uji-2026")
    page.get_by_role("button", name="Masuk").click()
    page.goto(gw.url + "/staff/admin/links")
    expect(page.get_by_text("tautan WhatsApp belum bisa dibuat")).to_be_visible()
    expect(page.get_by_text("tautan Telegram belum bisa dibuat")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="kec-benda")
    expect(row).to_contain_text("Belum bisa dibuat")
    expect(row.get_by_role("link", name=re.compile("Buka poster"))).to_have_count(0)


def test_agents_are_refused_and_a_post_needs_the_csrf_token(
        gateway: Gateway, staff_factory: StaffFactory, page: Page) -> None:
    agent = staff_factory("ani", role="agent")
    login(page, agent.username, agent.password)
    expect(page.get_by_role("link", name="Tautan")).to_have_count(0)
    response = page.goto("/staff/admin/links")
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_have_text("Anda tidak punya akses ke halaman ini.")
    page.goto("/staff/inbox")
    logout(page)
    admin = staff_factory("rina", role="admin")
    login(page, admin.username, admin.password)
    refused = page.request.post("/staff/admin/links",
                                form={"kind": "kecamatan", "name": "Benda"})
    assert refused.status == 403
    assert gateway.rows("SELECT code FROM outreach_links") == []
