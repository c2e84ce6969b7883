"""The public verification page and the staff pages work under their content security policies
in headless Chromium: styles and scripts load, and the browser reports no violation (neither a
`securitypolicyviolation` event nor a console error)."""

from __future__ import annotations

from datetime import datetime, timezone

from playwright.sync_api import Page, Response, expect

from bot.outreach import verification

from .conftest import Gateway, StaffFactory, console_errors, login

# Collects every CSP violation the page reports, from the first script on (an init script runs
# outside the page's policy).
WATCH = """
window.__violations = [];
document.addEventListener('securitypolicyviolation',
  e => window.__violations.push(e.violatedDirective + ' ' + e.blockedURI));
"""
STAFF_PAGES = ["/staff/inbox", "/staff/admin/users", "/staff/admin/audit", "/staff/admin/review",
               "/staff/admin/models", "/staff/admin/links", "/staff/admin/campaigns"]


def violations(page: Page) -> list[str]:
    return list(page.evaluate("window.__violations"))


def assert_protected(response: Response | None) -> None:
    assert response is not None
    headers = response.headers
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["cache-control"] == "no-store"


def test_the_verification_page_renders_under_its_policy(gateway: Gateway, page: Page) -> None:
    with gateway.services.sessions.begin() as session:
        code = verification.issue(
            session, gateway.services.settings.verification_keyring, agency="dukcapil",
            kind="ktp", ref="res-csp-1", event_id="evt-csp-0001", document_label="KTP-el",
            holder_initials="R. A.", office=None,
            issued_at=datetime(2026, 12, 7, 2, 30, tzinfo=timezone.utc))
    page.add_init_script(WATCH)
    errors = console_errors(page)
    response = page.goto(verification.page_url("", code))
    assert_protected(response)
    assert response is not None and "'unsafe-inline'" not in \
        response.headers["content-security-policy"]
    expect(page.locator("#hasil")).to_have_attribute("data-state", "genuine")
    # The inline stylesheet applied (its hash is in the policy), the label's style included.
    assert page.eval_on_selector(".genuine", "e => getComputedStyle(e).backgroundColor") == \
        "rgb(227, 244, 230)"
    assert page.eval_on_selector("label", "e => getComputedStyle(e).fontWeight") == "600"
    assert violations(page) == [] and errors == []
    # The watch works and the policy bites: an injected script is refused and reported.
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.__ran = true'; document.body.append(s); }""")
    page.wait_for_function("window.__violations.length > 0")
    assert violations(page)[0].startswith("script-src")
    assert page.evaluate("window.__ran === undefined")


def test_staff_pages_work_under_their_policy(gateway: Gateway, staff_factory: StaffFactory,
                                             page: Page) -> None:
    sari = staff_factory("sari", role="admin")
    page.add_init_script(WATCH)
    errors = console_errors(page)
    login(page, sari.username, sari.password)
    for path in STAFF_PAGES:
        response = page.goto(path)
        assert_protected(response)
        if path == "/staff/inbox":  # its event stream never lets the network go idle
            expect(page.get_by_role("link", name="Kotak masuk")).to_have_attribute(
                "aria-current", "page")
            page.wait_for_timeout(500)  # inbox.js has fetched the queue and opened the stream
        else:
            page.wait_for_load_state("networkidle")
        assert page.eval_on_selector(".topbar", "e => getComputedStyle(e).backgroundColor") \
            == "rgb(11, 79, 138)", path  # the stylesheet loaded
        assert violations(page) == [], path
    assert errors == []
