"""Simulated officers of the staff inbox: signed in over HTTP as a browser is, each with one live
event stream (`/staff/api/events`), doing on each event what `bot/staff/static/inbox.js` does.

On a `message` event for one of its chats an agent fetches that chat's new messages
(`/staff/api/handoffs/{id}?after=<last id>`) and notes when each message first appears; on
`lagged` it fetches all its chats again; on `message` and `queue` it reloads its lists
(`/staff/api/queue`) a second after the first such event, ignoring the others until then, as the
page's `loadQueueSoon` does (so at most once a second). Like a browser it holds at most six
connections to the gateway, the event stream being one of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from bot.db import make_engine, make_sessionmaker
from bot.staff.auth import create_staff

PASSWORD = "bench-kata-sandi-2026"  # noqa: S105 - benchmark accounts in a throwaway database
QUEUE_RELOAD_S = (0.5, 1.5)  # inbox.js: loadQueueSoon, a random delay in this range
BROWSER_CONNECTIONS = 6  # what a browser opens to one host over HTTP/1.1
_LOGIN_TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
_PAGE_TOKEN = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def create_accounts(database_url: str, count: int) -> list[str]:
    """`count` agent accounts (`agent01`, ...) with `PASSWORD`; returns their user names."""
    engine = make_engine(database_url)
    try:
        with make_sessionmaker(engine).begin() as session:
            return [create_staff(session, f"agent{i + 1:02d}", f"Agen {i + 1:02d} (Bench)",
                                 "agent", PASSWORD).username for i in range(count)]
    finally:
        engine.dispose()


@dataclass
class Shown:
    """A message's first appearance at its agent (monotonic times, stored time on the wall)."""

    event_at: float  # the live event that led to the fetch arrived
    shown_at: float  # the fetch that held it was answered
    stored_wall: float  # the gateway stored the message (its `at`)


@dataclass
class Agent:
    """One officer's browser tab on the inbox."""

    gateway_url: str
    username: str
    find_marker: Callable[[str], str | None]
    handoffs: set[int] = field(default_factory=set)
    shown: dict[str, Shown] = field(default_factory=dict)
    listed: dict[str, float] = field(default_factory=dict)  # marker -> first in the chat list
    duplicates: int = 0
    fetches: list[float] = field(default_factory=list)  # seconds per chat fetch
    fetch_errors: int = 0
    queue_loads: list[float] = field(default_factory=list)
    events: dict[str, int] = field(default_factory=dict)
    streams_opened: int = 0
    stream_open: bool = False
    reload_queue: bool = True  # also reload the lists on events (the page does)

    def __post_init__(self) -> None:
        self.client = httpx.AsyncClient(
            base_url=self.gateway_url, timeout=httpx.Timeout(30.0),
            limits=httpx.Limits(max_connections=BROWSER_CONNECTIONS))
        self.csrf = ""
        self.hello = asyncio.Event()
        self._after: dict[int, int] = {}  # inbox.js: lastMessageId (one per chat here)
        self._ids: set[int] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._queue_timer: asyncio.TimerHandle | None = None
        self._listener: asyncio.Task[None] | None = None

    # -- signing in and taking chats ---------------------------------------------------------

    async def sign_in(self, password: str = PASSWORD) -> None:
        """The login form with its double-submit token, then the inbox page's CSRF token."""
        form = await self.client.get("/staff/login", headers={"accept": "text/html"})
        token = _LOGIN_TOKEN.search(form.text)
        if token is None:
            raise RuntimeError(f"no login form token ({form.status_code})")
        answer = await self.client.post("/staff/login", data={
            "username": self.username, "password": password, "csrf_token": token.group(1),
            "next": ""})
        if answer.status_code != 303 or "pintu_staff" not in self.client.cookies:
            raise RuntimeError(f"{self.username} not signed in ({answer.status_code})")
        page = await self.client.get("/staff/inbox", headers={"accept": "text/html"})
        found = _PAGE_TOKEN.search(page.text)
        if found is None:
            raise RuntimeError(f"no CSRF token on the inbox page ({page.status_code})")
        self.csrf = found.group(1)

    async def take(self, handoff_id: int) -> None:
        """Takes a waiting chat and opens it (the full transcript, as `openChat` does)."""
        answer = await self.client.post(f"/staff/api/handoffs/{handoff_id}/take", json={},
                                        headers={"x-csrf-token": self.csrf,
                                                 "accept": "application/json"})
        answer.raise_for_status()
        self.handoffs.add(handoff_id)
        self._after[handoff_id] = 0
        await self.fetch(handoff_id, time.monotonic())

    # -- live events -------------------------------------------------------------------------

    def start(self) -> None:
        self._listener = asyncio.create_task(self._listen())

    async def _listen(self) -> None:
        """The event stream, reopened (after a second) when it ends, as EventSource does."""
        while True:
            try:
                async with self.client.stream(
                        "GET", "/staff/api/events", headers={"accept": "text/event-stream"},
                        timeout=httpx.Timeout(30.0, read=None)) as response:
                    response.raise_for_status()
                    self.streams_opened += 1
                    self.stream_open = True
                    await self._read(response)
            except httpx.HTTPError:
                pass
            finally:
                self.stream_open = False
            await asyncio.sleep(1.0)

    async def _read(self, response: httpx.Response) -> None:
        name, data = "message", []
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
            elif not line:
                if data:
                    self._on_event(name, "\n".join(data))
                name, data = "message", []

    def _on_event(self, name: str, data: str) -> None:
        now = time.monotonic()
        self.events[name] = self.events.get(name, 0) + 1
        if name == "hello":
            self.hello.set()
            self._spawn(self._load_queue())
        elif name == "lagged":
            for handoff_id in self.handoffs:
                self._spawn(self.fetch(handoff_id, now))
            self._spawn(self._load_queue())
        elif name in ("message", "note"):
            handoff_id = json.loads(data).get("handoff_id")
            if handoff_id in self.handoffs:
                self._spawn(self.fetch(handoff_id, now))
            self._queue_soon()
        elif name == "queue":
            self._queue_soon()

    def _spawn(self, work: Any) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _queue_soon(self) -> None:
        if not self.reload_queue or self._queue_timer is not None:
            return

        def due() -> None:
            self._queue_timer = None
            self._spawn(self._load_queue())

        self._queue_timer = asyncio.get_running_loop().call_later(
            random.uniform(*QUEUE_RELOAD_S), due)

    async def _load_queue(self) -> None:
        """The lists (`loadQueue`); notes when a message first shows in "my chats"."""
        if not self.reload_queue:
            return
        started = time.monotonic()
        with contextlib.suppress(httpx.HTTPError):
            answer = await self.client.get("/staff/api/queue",
                                           headers={"accept": "application/json"})
            now = time.monotonic()
            if answer.status_code != 200:
                return
            self.queue_loads.append(now - started)
            for item in answer.json()["mine"]:
                for line in item["last_messages"]:
                    marker = self.find_marker(line)
                    if marker is not None:
                        self.listed.setdefault(marker, now)

    def reset_counts(self) -> None:
        """Forgets the timings so far (the set-up's), before the measured load."""
        self.fetches.clear()
        self.queue_loads.clear()
        self.events.clear()
        self.fetch_errors = 0
        self.duplicates = 0

    async def fetch(self, handoff_id: int, event_at: float) -> None:
        """A chat's messages after the last one shown (`refreshChat`)."""
        started = time.monotonic()
        try:
            answer = await self.client.get(
                f"/staff/api/handoffs/{handoff_id}",
                params={"after": self._after[handoff_id]},
                headers={"accept": "application/json"})
        except httpx.HTTPError:
            self.fetch_errors += 1
            return
        now = time.monotonic()
        if answer.status_code != 200:
            self.fetch_errors += 1
            return
        self.fetches.append(now - started)
        messages = answer.json()["messages"]
        for message in messages:
            if message["id"] in self._ids:  # the page would show it twice
                self.duplicates += 1
                continue
            self._ids.add(message["id"])
            marker = self.find_marker(message["text"] or "")
            if marker is not None:
                self.shown[marker] = Shown(event_at, now,
                                           datetime.fromisoformat(message["at"]).timestamp())
        if messages:  # like the page: the last one of this answer, whatever came before
            self._after[handoff_id] = messages[-1]["id"]

    async def settle(self) -> None:
        """Waits for the fetches under way."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def aclose(self) -> None:
        if self._queue_timer is not None:
            self._queue_timer.cancel()
        if self._listener is not None:
            self._listener.cancel()
            await asyncio.gather(self._listener, return_exceptions=True)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*list(self._tasks), return_exceptions=True)
        await self.client.aclose()
