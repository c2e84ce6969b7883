"""Signing in and out, lockout, roles and the admin pages, in headless Chromium."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from bot.staff.auth import MAX_FAILED_LOGINS

from .conftest import Gateway, StaffFactory, console_errors, login, logout

USERS = "/staff/admin/users"
WRONG = "bukan-kata-sandinya"


def create_account(page: Page, username: str, name: str, password: str,
                   role: str = "agent") -> None:
    """Fills in and sends the admin page's "Tambah akun" form."""
    form = page.get_by_role("region", name="Tambah akun")
    form.get_by_label("Nama pengguna").fill(username)
    form.get_by_label("Nama tampilan").fill(name)
    form.get_by_label("Peran").select_option(role)
    form.get_by_label("Kata sandi awal").fill(password)
    form.get_by_role("button", name="Buat akun").click()


def test_sign_in_shows_who_and_sign_out_ends_the_session(gateway: Gateway,
                                                         staff_factory: StaffFactory,
                                                         page: Page) -> None:
    sari = staff_factory("sari", role="admin", display_name="Sari (Admin)")
    errors = console_errors(page)
    page.goto(USERS)  # not signed in: the login page, which brings us back afterwards
    expect(page).to_have_url(re.compile(r"/staff/login\?next=/staff/admin/users$"))
    expect(page.get_by_role("heading", name="Masuk")).to_be_visible()
    page.get_by_label("Nama pengguna").fill(sari.username)
    page.get_by_label("Kata sandi").fill(sari.password)
    page.get_by_role("button", name="Masuk").click()

    expect(page).to_have_url(re.compile(r"/staff/admin/users$"))
    banner = page.get_by_role("banner")
    expect(banner).to_contain_text("Pintu · Petugas")
    expect(banner).to_contain_text("Sari (Admin)")
    expect(banner).to_contain_text("Admin")
    expect(page.get_by_role("link", name="Pengguna")).to_have_attribute("aria-current", "page")
    # The stylesheet loaded under the CSP (the top bar has its colour) and nothing was refused.
    assert page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor") \
        == "rgb(11, 79, 138)"
    assert errors == []

    logout(page)
    expect(page).to_have_url(re.compile(r"/staff/login\?pesan=keluar$"))
    expect(page.get_by_role("status")).to_have_text("Anda sudah keluar.")
    page.goto(USERS)
    expect(page).to_have_url(re.compile(r"/staff/login\?next="))
    assert gateway.rows("SELECT count(*) FROM staff_sessions")[0][0] == 0


def test_a_wrong_password_is_refused_with_a_message(staff_factory: StaffFactory,
                                                    page: Page) -> None:
    ani = staff_factory("ani")
    login(page, ani.username, WRONG)
    expect(page.get_by_role("alert")).to_have_text("Nama pengguna atau kata sandi salah.")
    expect(page.get_by_label("Nama pengguna")).to_have_value("ani")
    expect(page.get_by_label("Kata sandi")).to_have_value("")
    expect(page.get_by_role("button", name="Keluar")).to_have_count(0)


def test_five_failures_lock_the_account_even_for_the_right_password(
        staff_factory: StaffFactory, page: Page) -> None:
    ani = staff_factory("ani")
    for _ in range(MAX_FAILED_LOGINS):
        login(page, ani.username, WRONG)
        expect(page.get_by_role("alert")).to_contain_text("salah")
    login(page, ani.username, ani.password)
    expect(page.get_by_role("alert")).to_contain_text("Akun dikunci sementara")
    page.goto(USERS)
    expect(page).to_have_url(re.compile(r"/staff/login"))


def test_an_agent_cannot_open_admin_pages_nor_sees_their_links(staff_factory: StaffFactory,
                                                                page: Page) -> None:
    budi = staff_factory("budi", role="agent", display_name="Budi (Helpdesk)")
    login(page, budi.username, budi.password)
    response = page.goto(USERS)
    assert response is not None and response.status == 403
    expect(page.get_by_role("alert")).to_have_text("Anda tidak punya akses ke halaman ini.")
    banner = page.get_by_role("banner")
    expect(banner).to_contain_text("Budi (Helpdesk)")
    expect(banner).to_contain_text("Agen")
    expect(banner.get_by_role("link", name="Kotak masuk")).to_be_visible()
    expect(page.get_by_role("link", name="Pengguna")).to_have_count(0)
    expect(page.get_by_role("link", name="Log audit")).to_have_count(0)
    response = page.goto("/staff/admin/audit")
    assert response is not None and response.status == 403


def test_an_admin_creates_an_agent_who_can_then_sign_in(gateway: Gateway,
                                                        staff_factory: StaffFactory,
                                                        page: Page) -> None:
    sari = staff_factory("sari", role="admin")
    login(page, sari.username, sari.password, path=f"/staff/login?next={USERS}")
    create_account(page, "dewi", "Dewi (Kecamatan Ciledug)", "sandi-awal-dewi-2026")

    expect(page.get_by_role("status")).to_contain_text("Akun dibuat")
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="dewi"))
    expect(row).to_contain_text("Dewi (Kecamatan Ciledug)")
    expect(row).to_contain_text("Agen")
    expect(row).to_contain_text("Aktif")

    logout(page)
    login(page, "dewi", "sandi-awal-dewi-2026")
    assert gateway.rows("SELECT s.username FROM staff_sessions x "
                        "JOIN staff_users s ON s.id = x.staff_id")[0][0] == "dewi"
    response = page.goto(USERS)
    assert response is not None and response.status == 403


def test_a_refused_account_form_keeps_its_values_and_says_why(staff_factory: StaffFactory,
                                                              page: Page) -> None:
    sari = staff_factory("sari", role="admin")
    staff_factory("dewi")
    login(page, sari.username, sari.password, path=f"/staff/login?next={USERS}")
    create_account(page, "dewi", "Dewi Lain", "sandi-awal-dewi-2026", role="supervisor")
    expect(page.get_by_role("alert")).to_have_text("Nama pengguna itu sudah dipakai.")
    form = page.get_by_role("region", name="Tambah akun")
    expect(form.get_by_label("Nama tampilan")).to_have_value("Dewi Lain")
    expect(form.get_by_label("Peran")).to_have_value("supervisor")
    expect(form.get_by_label("Kata sandi awal")).to_have_value("")


def test_the_audit_log_lists_sign_ins_failures_and_account_creation(
        staff_factory: StaffFactory, page: Page) -> None:
    sari = staff_factory("sari", role="admin")
    login(page, "tidak-ada", WRONG)
    login(page, sari.username, WRONG)
    login(page, sari.username, sari.password, path=f"/staff/login?next={USERS}")
    create_account(page, "eko", "Eko (Supervisor)", "sandi-awal-eko-2026", role="supervisor")
    expect(page.get_by_role("status")).to_contain_text("Akun dibuat")

    page.get_by_role("link", name="Log audit").click()
    rows = page.get_by_role("row")
    # Newest first: the account list seen again after the creation, the account creation, the
    # account list seen after signing in, the sign-in, then the two failures.
    expect(rows.nth(1)).to_contain_text("Melihat daftar akun petugas")
    expect(rows.nth(2)).to_contain_text("Akun dibuat")
    expect(rows.nth(2)).to_contain_text("akun eko")
    expect(rows.nth(2)).to_contain_text("sari")
    expect(rows.nth(3)).to_contain_text("Melihat daftar akun petugas")
    expect(rows.nth(4)).to_contain_text("Masuk")
    expect(rows.nth(5)).to_contain_text("Gagal masuk")
    expect(rows.nth(5)).to_contain_text("sari")
    expect(rows.nth(6)).to_contain_text("nama pengguna tidak dikenal")
    expect(rows.nth(2)).to_contain_text("127.0.0.1")
    expect(rows.nth(2)).to_contain_text("WIB")

    page.get_by_label("Tindakan").select_option("login_failed")
    page.get_by_role("button", name="Tampilkan").click()
    expect(page.get_by_role("row")).to_have_count(3)  # header and the two failures
