"""Browser tests: a live gateway (uvicorn in a thread, real PostgreSQL and Redis, fake channels and
Rasa), staff accounts made directly in the database, and headless Chromium driven by Playwright.

The browser is Debian's `chromium` (`make test` installs it), never one Playwright downloads;
`PINTU_CHROMIUM` names another binary. Usage:

    def test_x(gateway: Gateway, staff_factory: StaffFactory, page: Page) -> None:
        ani = staff_factory("ani", role="agent")
        login(page, ani.username, ani.password)
        expect(page.get_by_role("heading", name="Kotak masuk")).to_be_visible()

`page` opens relative URLs against the gateway (`page.goto("/staff/login")`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from bot.staff import auth
from tests.channels.conftest import (  # noqa: F401 - fixtures
    Gateway,
    fake_graph,
    fake_telegram,
    graph_server,
    make_gateway,
    telegram_server,
)
from tests.gateway.conftest import pg_engine, pg_url, redis_url  # noqa: F401 - fixtures

CHROMIUM = os.environ.get("PINTU_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "kata-sandi-uji-2026"
TIMEOUT_MS = 10_000


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Everything under tests/browser needs the browser and the real services."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.integration)


@dataclass(frozen=True)
class StaffAccount:
    id: int
    username: str
    password: str
    display_name: str
    role: str


StaffFactory = Callable[..., StaffAccount]


@pytest.fixture
def gateway(make_gateway: Callable[..., Gateway]) -> Gateway:  # noqa: F811 - a fixture
    """A running gateway on a free port of 127.0.0.1; `gateway.url`, `gateway.rows(sql)`."""
    return make_gateway()


@pytest.fixture
def staff_factory(gateway: Gateway) -> StaffFactory:
    """`staff_factory("ani", role="agent", password=..., display_name=...)`: an account made
    with `auth.create_staff`, ready to sign in (the password is returned with it)."""

    def create(username: str, role: str = "agent", password: str = PASSWORD,
               display_name: str | None = None) -> StaffAccount:
        name = display_name or f"{username.title()} ({role})"
        with gateway.services.sessions.begin() as session:
            user = auth.create_staff(session, username, name, role, password)
            return StaffAccount(user.id, user.username, password, user.display_name, user.role)

    return create


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    """Headless Chromium for a module's tests. Module scope, not session: Playwright's sync API
    keeps an event loop on this thread while it lives, which async tests elsewhere must not see."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: run `make test` (it installs Debian's chromium) "
                    "or set PINTU_CHROMIUM")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium: Browser, gateway: Gateway) -> Iterator[Page]:
    """A fresh browser context (no cookies) whose relative URLs go to `gateway`."""
    context = chromium.new_context(base_url=gateway.url, locale="id-ID",
                                   timezone_id="Asia/Jakarta")
    context.set_default_timeout(TIMEOUT_MS)
    expect.set_options(timeout=TIMEOUT_MS)
    new_page = context.new_page()
    yield new_page
    context.close()


def login(page: Page, username: str, password: str, path: str = "/staff/login") -> None:
    """Fills in and sends the sign-in form (opening `path` first); does not check the result."""
    page.goto(path)
    page.get_by_label("Nama pengguna").fill(username)
    page.get_by_label("Kata sandi").fill(password)
    page.get_by_role("button", name="Masuk").click()
    page.wait_for_load_state()


def logout(page: Page) -> None:
    page.get_by_role("button", name="Keluar").click()
    page.wait_for_load_state()


def console_errors(page: Page) -> list[str]:
    """Collects the page's console errors (CSP violations show up here) from now on."""
    errors: list[str] = []

    def on_console(message: Any) -> None:
        if message.type == "error":
            errors.append(message.text)

    page.on("console", on_console)
    return errors
