"""The public verification page in headless Chromium: a genuine code is shown as ASLI with the
initials and the place, a forged or mistyped one as not found; no script, no CSP complaint."""

from __future__ import annotations

from datetime import datetime, timezone

from playwright.sync_api import Page, expect

from bot.outreach import verification

from .conftest import Gateway, console_errors


def issue(gateway: Gateway) -> str:
    with gateway.services.sessions.begin() as session:
        return verification.issue(
            session, gateway.services.settings.verification_key, agency="dukcapil", kind="ktp",
            ref="res-abc123", event_id="evt-0001-ready", document_label="KTP-el",
            holder_initials="S. W.", office="Kantor Kecamatan Karawaci",
            issued_at=datetime(2026, 12, 7, 2, 30, tzinfo=timezone.utc))


def test_a_genuine_code_is_accepted_and_a_forged_one_refused(gateway: Gateway,
                                                             page: Page) -> None:
    code = issue(gateway)
    errors = console_errors(page)
    # What the QR image opens.
    page.goto(verification.page_url("", code))
    result = page.locator("#hasil")
    expect(result).to_have_attribute("data-state", "genuine")
    expect(result).to_contain_text("ASLI")
    expect(result).to_contain_text("S. W.")
    expect(result).to_contain_text("Kantor Kecamatan Karawaci")
    expect(result).to_contain_text("07-12-2026 09:30:00 WIB")
    # Someone types a code by hand: lower case, O for zero, spaces.
    page.get_by_label("Kode verifikasi").fill(code.lower().replace("-", " ").replace("0", "o"))
    page.get_by_role("button", name="Periksa").click()
    expect(page.locator("#hasil")).to_have_attribute("data-state", "genuine")
    forged = verification.make_code("a forger's key", agency="dukcapil", kind="ktp",
                                    ref="res-abc123", event_id="evt-0001-ready")
    page.get_by_label("Kode verifikasi").fill(forged)
    page.get_by_role("button", name="Periksa").click()
    expect(page.locator("#hasil")).to_have_attribute("data-state", "unknown")
    expect(page.locator("#hasil")).to_contain_text("Dokumen mungkin palsu")
    page.get_by_label("Kode verifikasi").fill(code[:-1] + ("X" if code[-1] != "X" else "Y"))
    page.get_by_role("button", name="Periksa").click()
    expect(page.locator("#hasil")).to_contain_text("tidak sesuai format")
    assert errors == []
