"""Dispatch benchmark: how fast the outbound queue empties into WhatsApp with the rate limit lifted.

    PYTHONPATH=. .venv/bin/python -m bench.dispatch [--messages 20000 --residents 2000 ...]

No Rasa: PostgreSQL `pintu_bench` and Redis db 14 made fresh, the fake Graph API in processes of
its own (`bench.graph_procs`, two by default, one port), and `python -m bot.worker` (the senders,
with the production SENDER_CONCURRENCY) as a child process, WHATSAPP_RATE_PER_S lifted to
1,000,000. Replies are queued exactly as the inbox queues a turn's answer
(`Inbox.deliver`: rendered, pushed to the chat's `KeyedQueue`, then their `messages` rows written
and early outcomes applied), each text carrying a unique id. Phases:

- capacity: `--messages` replies for `--residents` residents queued with the worker stopped, then
  the worker starts and drains them; messages per second at the fake from first to last
  arrival (`value`).
- latency: the worker running, `--latency-messages` replies queued open loop at `--offered` per
  second (100: more than WhatsApp's default 80, well under capacity); enqueue-to-fake latency.
- baseline: the same number of requests as the capacity phase, the same bodies, posted straight
  to the fake by bare aiohttp (the senders' HTTP library) at the senders' concurrency: the
  fake's (and this machine's) own ceiling for what Pintu does (`baseline_value`, `ratio`); then
  once more with bare httpx, a single-connection client a task, how the senders sent before
  (`baseline_httpx`).

`lost` and `duplicates` count ids at the fake (each exactly once); the rows' statuses are checked
too (every one `sent`, with its wamid). See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import aiohttp
import httpx
from sqlalchemy import text

from bot.stack import ROOT
from tests.fakes.graph_api import PHONE_NUMBER_ID

from . import cpu
from .graph_procs import Arrival, GraphProcesses
from .harness import WA_TOKEN, database_url_default, flush_redis, fresh_database
from .load import run as run_loop
from .report import machine, outside_load, publish, say, stop_on_sigterm
from .residents import wa_id
from .stats import latency_ms, rate, ratio

TARGET_PER_S = 1000.0
LIFTED_RATE = "1000000"
DEFAULT_CONCURRENCY = 16  # bot.settings: sender_concurrency's default, what production runs


@dataclass
class Options:
    """One dispatch run (the command line's options; bench.growth makes its own)."""

    messages: int = 20_000
    residents: int = 2_000
    latency_messages: int = 5_000
    offered: float = 100.0
    graph_workers: int = 2
    concurrency: int | None = None  # None: the worker's default
    database_url: str = ""
    redis_url: str = "redis://127.0.0.1:6379/14"
    baseline: bool = True
    profile: Path | None = None
    work: Path = ROOT / "var" / "bench"
    worker_root: Path = ROOT  # another checkout's worker: before/after comparisons
    workers: int = 1  # worker processes (production runs one a host; more share the queues)


def _reply_text(marker: str) -> str:
    return (f"Terima kasih, laporan Anda sudah kami terima dan diteruskan ke dinas terkait. "
            f"Nomor laporan: {marker}. Ketik 1 untuk kembali ke menu utama.")


def _marker_of(text_: str) -> str | None:
    _, found, tail = text_.partition("Nomor laporan: ")
    return tail.split(".", 1)[0] if found else None


def worker_env(options: Options, graph_url: str) -> dict[str, str]:
    """The worker as production runs it, talking to the fakes, with the rate limit lifted."""
    env = {
        **os.environ, "PYTHONPATH": str(options.worker_root), "PINTU_ENV": "development",
        "DATABASE_URL": options.database_url, "REDIS_URL": options.redis_url,
        "TELEGRAM_BOT_TOKEN": "",
        "WHATSAPP_ACCESS_TOKEN": WA_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": "bench-app-secret", "WHATSAPP_VERIFY_TOKEN": "bench-verify",
        "WHATSAPP_API_BASE_URL": graph_url, "WHATSAPP_RATE_PER_S": LIFTED_RATE,
        # Nothing listens there: the inbox's workers idle, as no resident writes.
        "RASA_URL": "http://127.0.0.1:9", "ACTION_SERVER_URL": "http://127.0.0.1:9",
        "RUN_MODEL_JOBS": "false", "MEDIA_DIR": str(options.work / "media"),
    }
    if options.concurrency is not None:
        env["SENDER_CONCURRENCY"] = str(options.concurrency)
    return env


def start_worker(env: dict[str, str], log_path: Path, profile: Path | None = None,
                 root: Path = ROOT) -> subprocess.Popen[bytes]:
    """`python -m bot.worker` of the checkout at `root`, under cProfile with `profile`."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    python = str(ROOT / ".venv" / "bin" / "python")
    argv = [python, "-m", "cProfile", "-o", str(profile), "-m", "bot.worker"] if profile else \
        [python, "-m", "bot.worker"]
    with log_path.open("ab") as log_file:
        return subprocess.Popen(argv, cwd=root, env=env, stdout=log_file,  # noqa: S603
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()


class Dispatcher:
    """Queues replies the way the inbox does, from this process (no senders run here)."""

    def __init__(self, options: Options, graph_url: str) -> None:
        from bot.app import build_services
        from bot.settings import Settings

        settings = Settings(pintu_env="development", database_url=options.database_url,
                            redis_url=options.redis_url, telegram_bot_token="",
                            whatsapp_access_token=WA_TOKEN,
                            whatsapp_phone_number_id=PHONE_NUMBER_ID,
                            whatsapp_api_base_url=graph_url, run_model_jobs=False,
                            media_dir=options.work / "media")
        self.services = build_services(settings)
        self.answering: dict[str, dict[str, Any]] = {}
        self.queued_at: dict[str, float] = {}

    async def seed(self, residents: int, phase: int) -> list[str]:
        """Residents who wrote once (contact, conversation, their message row, the 24-hour
        window), as the inbox leaves them before it answers."""
        from bot import records
        from bot.outbound import window_key

        numbers = [wa_id(phase, i) for i in range(residents)]

        def write() -> list[tuple[int, int]]:
            with self.services.sessions.begin() as session:
                return [records.record_inbound(session, channel="whatsapp", chat_id=number,
                                               kind="text", content={"text": "halo"},
                                               channel_message_id=f"wamid.bench{phase}-{i}",
                                               language="id")
                        for i, number in enumerate(numbers)]

        ids = await asyncio.to_thread(write)
        for number, (conversation_id, message_id) in zip(numbers, ids, strict=True):
            self.answering[number] = {"conversation_id": conversation_id,
                                      "message_id": message_id}
        redis = self.services.store.redis
        async with redis.pipeline(transaction=False) as pipe:
            for number in numbers:
                pipe.set(window_key("whatsapp", number), str(int(time.time())), ex=24 * 3600)
            await pipe.execute()
        return numbers

    async def deliver(self, number: str, marker: str) -> None:
        from integrations.replies import Reply

        self.queued_at[marker] = time.time()
        await self.services.inbox.deliver("whatsapp", number, [Reply(text=_reply_text(marker))],
                                          answering=self.answering[number])

    async def deliver_all(self, jobs: list[tuple[str, str]], concurrency: int = 32) -> float:
        """Queues every (number, marker) as fast as this process can; returns the seconds."""
        started = time.monotonic()
        gate = asyncio.Semaphore(concurrency)

        async def one(number: str, marker: str) -> None:
            async with gate:
                await self.deliver(number, marker)

        await asyncio.gather(*(one(n, m) for n, m in jobs))
        return time.monotonic() - started

    async def deliver_open_loop(self, jobs: list[tuple[str, str]], offered: float,
                                concurrency: int = 32) -> float:
        """Queues (number, marker) pairs at `offered` per second, at most `concurrency` at
        once (Redis's connection pool is finite); returns the generator's largest lag behind
        its schedule in seconds (a reply's latency counts from its own push)."""
        t0 = time.monotonic() + 0.05
        gate = asyncio.Semaphore(concurrency)
        lag = 0.0

        async def one(due: float, number: str, marker: str) -> None:
            nonlocal lag
            async with gate:
                lag = max(lag, time.monotonic() - due)
                await self.deliver(number, marker)

        tasks = []
        for i, (number, marker) in enumerate(jobs):
            due = t0 + i / offered
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            tasks.append(asyncio.create_task(one(due, number, marker)))
        await asyncio.gather(*tasks)
        return lag

    async def queued(self) -> int:
        """Replies still waiting in the WhatsApp reply queue (keys with work)."""
        return await self.services.outbox.queue("whatsapp", "reply").depth()

    def statuses(self) -> dict[str, int]:
        with self.services.engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT status, count(*), count(channel_message_id) FROM messages "
                "WHERE direction = 'out' GROUP BY status")).all()
        found = {str(status): int(count) for status, count, _ in rows}
        found["with_wamid"] = sum(int(with_id) for _, _, with_id in rows)
        return found

    async def aclose(self) -> None:
        await self.services.aclose()


def _jobs(numbers: list[str], count: int, prefix: str) -> list[tuple[str, str]]:
    """`count` replies spread round-robin over the residents, each with its own marker."""
    return [(numbers[i % len(numbers)], f"{prefix}{i:06d}") for i in range(count)]


async def _wait_drained(dispatcher: Dispatcher, expected: int, timeout_s: float) -> float:
    """Waits until the queue is empty and every row left `queued`; returns when (monotonic)."""
    deadline = time.monotonic() + timeout_s
    next_report = time.monotonic() + 5
    while time.monotonic() < deadline:
        if await dispatcher.queued() == 0:
            states = await asyncio.to_thread(dispatcher.statuses)
            if states.get("sent", 0) + states.get("dead", 0) >= expected:
                return time.monotonic()
        if time.monotonic() >= next_report:
            states = await asyncio.to_thread(dispatcher.statuses)
            say(f"  sent {states.get('sent', 0)}/{expected}")
            next_report += 5
        await asyncio.sleep(0.2)
    say("  timed out waiting for the queue to drain")
    return time.monotonic()


async def baseline(graph_url: str, count: int, concurrency: int, phase: int, prefix: str, *,
                   library: str) -> float:
    """`count` sends posted straight to the fake by `concurrency` tasks: with bare aiohttp, one
    session of `concurrency` connections (the library the senders send with), or with bare
    httpx, each task a single-connection client of its own (how they sent before); returns the
    client's wall seconds."""
    bodies = [{"messaging_product": "whatsapp", "recipient_type": "individual",
               "to": wa_id(phase, i % 2000), "type": "text",
               "text": {"body": _reply_text(f"{prefix}{i:06d}"), "preview_url": False}}
              for i in range(count)]
    url = f"{graph_url}/v21.0/{PHONE_NUMBER_ID}/messages"
    headers = {"Authorization": f"Bearer {WA_TOKEN}"}
    pending = iter(bodies)
    started = time.monotonic()
    if library == "aiohttp":
        async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=concurrency),
                timeout=aiohttp.ClientTimeout(total=None, connect=20, sock_read=20)) as session:

            async def post() -> None:
                for body in pending:
                    async with session.post(url, json=body, headers=headers) as response:
                        await response.read()
                        response.raise_for_status()

            await asyncio.gather(*(post() for _ in range(concurrency)))
        return time.monotonic() - started
    one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(timeout=httpx.Timeout(20.0, connect=5.0), limits=one)
               for _ in range(concurrency)]

    async def sender(client: httpx.AsyncClient) -> None:
        for body in pending:
            response = await client.post(url, json=body, headers=headers)
            response.raise_for_status()

    try:
        await asyncio.gather(*(sender(client) for client in clients))
        return time.monotonic() - started
    finally:
        await asyncio.gather(*(client.aclose() for client in clients))


def count_arrivals(arrivals: list[Arrival], prefix: str,
                   expected: int) -> tuple[dict[str, Any], dict[str, float]]:
    """Lost and duplicates of the markers starting with `prefix` (each due exactly once), the
    send rate at the fake, and each marker's first arrival time."""
    mine = [(m, a) for a in arrivals if a.status == 200
            and (m := _marker_of(a.text)) is not None and m.startswith(prefix)]
    counts = Counter(m for m, _ in mine)
    first: dict[str, float] = {}
    for marker, arrival in mine:
        first[marker] = min(first.get(marker, arrival.wall), arrival.wall)
    walls = sorted(a.wall for _, a in mine)
    summary = {
        "expected": expected,
        "received": len(mine),
        "lost": expected - len(counts),
        "duplicates": sum(n - 1 for n in counts.values()),
        "refused_by_fake": sum(1 for a in arrivals if a.status != 200
                               and (_marker_of(a.text) or "").startswith(prefix)),
        "rate_per_s": rate(len(walls), walls[0], walls[-1]) if walls else None,
        "span_s": round(walls[-1] - walls[0], 2) if walls else None,
    }
    return summary, first


async def scenario(options: Options, graph: GraphProcesses, phase: int) -> dict[str, Any]:
    """The three phases against running fakes; the worker is started and stopped here."""
    dispatcher = Dispatcher(options, graph.url)
    log_path = options.work / "log" / "dispatch-worker.log"
    env = worker_env(options, graph.url)
    concurrency = options.concurrency or DEFAULT_CONCURRENCY
    result: dict[str, Any] = {}
    workers: list[subprocess.Popen[bytes]] = []

    def pids() -> dict[str, int]:
        return {**graph.pids, **{f"worker{i}" if i else "worker": w.pid
                                 for i, w in enumerate(workers)}}

    try:
        numbers = await dispatcher.seed(options.residents, phase)
        say(f"capacity: queueing {options.messages} replies to {options.residents} residents "
            "(worker stopped)")
        enqueue_s = await dispatcher.deliver_all(_jobs(numbers, options.messages, "A"))
        say(f"  queued in {enqueue_s:.1f} s; starting the worker")
        before = cpu.snapshot({**graph.pids})
        started_wall, started = time.time(), time.monotonic()
        workers.extend(start_worker(env, log_path, options.profile if not i else None,
                                    options.worker_root) for i in range(options.workers))
        drained = await _wait_drained(dispatcher, options.messages,
                                      timeout_s=60 + options.messages / 50)
        usage_capacity = cpu.usage(before, cpu.snapshot(pids()))
        result["capacity"] = {"queue_s": round(enqueue_s, 2),
                              "enqueue_rate_per_s": round(options.messages / enqueue_s, 1),
                              "worker_started_wall": started_wall,
                              "drained_after_start_s": round(drained - started, 2),
                              "cpu_cores": usage_capacity}
        if options.latency_messages:
            say(f"latency: {options.latency_messages} replies at {options.offered:g}/s "
                "(worker running)")
            before = cpu.snapshot(pids())
            lag = await dispatcher.deliver_open_loop(
                _jobs(numbers, options.latency_messages, "B"), options.offered)
            await _wait_drained(dispatcher, options.messages + options.latency_messages,
                                timeout_s=60 + options.latency_messages / 50)
            result["latency"] = {"offered_per_s": options.offered,
                                 "generator_lag_max_ms": round(lag * 1000, 1),
                                 "cpu_cores": cpu.usage(before, cpu.snapshot(pids()))}
        for worker in workers:
            stop_worker(worker)
        result["rows"] = await asyncio.to_thread(dispatcher.statuses)
        if options.baseline:
            for prefix, library in (("C", "aiohttp"), ("S", "httpx")):
                say(f"baseline: {options.messages} requests straight to the fake, "
                    f"{concurrency} at a time, bare {library}")
                before = cpu.snapshot(graph.pids)
                seconds = await baseline(graph.url, options.messages, concurrency, phase,
                                         prefix, library=library)
                result["baseline" if library == "aiohttp" else "baseline_httpx"] = {
                    "client_s": round(seconds, 2),
                    "cpu_cores": cpu.usage(before, cpu.snapshot(graph.pids))}
    finally:
        for worker in workers:
            stop_worker(worker)
        queued_at = dict(dispatcher.queued_at)
        await dispatcher.aclose()
    result["queued_at"] = queued_at
    return result


def measure(options: Options, phase: int = 5) -> dict[str, Any]:
    """One dispatch run: fresh database and Redis, fakes, worker; the figures (no publishing)."""
    say(f"preparing database {options.database_url.rsplit('/', 1)[-1]} and Redis "
        f"{options.redis_url}")
    fresh_database(options.database_url)
    flush_redis(options.redis_url)
    with GraphProcesses(WA_TOKEN, workers=options.graph_workers,
                        work=options.work / "graph") as graph:
        say(f"fake Graph API: {options.graph_workers} processes on {graph.url}")
        raw = run_loop(scenario(options, graph, phase))
        arrivals = graph.stop()
    queued_at: dict[str, float] = raw.pop("queued_at")
    capacity, _ = count_arrivals(arrivals, "A", options.messages)
    capacity.update(raw["capacity"])
    start_wall = capacity.pop("worker_started_wall")
    walls = [a.wall for a in arrivals if (_marker_of(a.text) or "").startswith("A")]
    if walls:
        capacity["first_send_after_start_s"] = round(min(walls) - start_wall, 2)
    out: dict[str, Any] = {"capacity": capacity, "rows": raw["rows"]}
    lost = capacity["lost"]
    duplicates = capacity["duplicates"]
    if "latency" in raw:
        latency, first = count_arrivals(arrivals, "B", options.latency_messages)
        latency.update(raw["latency"])
        latency["enqueue_to_fake_ms"] = latency_ms(
            [max(0.0, first[m] - queued_at[m]) for m in first if m in queued_at])
        out["latency"] = latency
        lost += latency["lost"]
        duplicates += latency["duplicates"]
    for key, prefix in (("baseline", "C"), ("baseline_httpx", "S")):
        if key in raw:
            base, _ = count_arrivals(arrivals, prefix, options.messages)
            base.update(raw[key])
            out[key] = base
    expected_rows = options.messages + (options.latency_messages or 0)
    out["bookkeeping"] = {
        "rows_sent": raw["rows"].get("sent", 0), "rows_expected": expected_rows,
        "rows_with_wamid": raw["rows"].get("with_wamid", 0),
        "ok": raw["rows"].get("sent", 0) == expected_rows
        and raw["rows"].get("with_wamid", 0) == expected_rows}
    out["lost"], out["duplicates"] = lost, duplicates
    return out


def parse_args(argv: list[str] | None) -> tuple[argparse.Namespace, Options]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--residents", type=int, default=2_000)
    parser.add_argument("--latency-messages", type=int, default=5_000,
                        help="replies of the latency phase (0: none)")
    parser.add_argument("--offered", type=float, default=100.0,
                        help="replies queued per second in the latency phase (below capacity: "
                             "above it the queue grows and so does the latency)")
    parser.add_argument("--graph-workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=None,
                        help="SENDER_CONCURRENCY for the worker (default: the worker's own, 16)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (1, as bot/stack.py runs; more share the queues "
                             "and the rate limit through Redis)")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--profile", type=Path, default=None,
                        help="run the worker under cProfile, stats written to this file")
    parser.add_argument("--worker-root", type=Path, default=ROOT,
                        help="run the worker of another checkout (e.g. `git archive` of an "
                             "older commit) to compare before and after a change")
    parser.add_argument("--database-url", default=database_url_default())
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14",
                        help="flushed at the start (db 14 by default)")
    args = parser.parse_args(argv)
    options = Options(worker_root=args.worker_root.resolve(), messages=args.messages,
                      residents=args.residents,
                      latency_messages=args.latency_messages, offered=args.offered,
                      graph_workers=args.graph_workers, concurrency=args.concurrency,
                      database_url=args.database_url, redis_url=args.redis_url,
                      baseline=not args.no_baseline, profile=args.profile,
                      workers=args.workers)
    return args, options


def main(argv: list[str] | None = None) -> None:
    _, options = parse_args(argv)
    stop_on_sigterm()
    result: dict[str, Any] = {
        "name": "dispatch", "unit": "messages/s",
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "config": {"messages": options.messages, "residents": options.residents,
                   "latency_messages": options.latency_messages, "offered": options.offered,
                   "graph_workers": options.graph_workers,
                   "sender_concurrency": options.concurrency or DEFAULT_CONCURRENCY,
                   "worker_root": str(options.worker_root), "workers": options.workers,
                   "whatsapp_rate_per_s": float(LIFTED_RATE)},
    }
    started = time.monotonic()
    try:
        figures = measure(options)
    except KeyboardInterrupt:
        say("interrupted: no results written")
        sys.exit(1)
    capacity = figures["capacity"]
    value = capacity["rate_per_s"]
    base = (figures.get("baseline") or {}).get("rate_per_s")
    latency = (figures.get("latency") or {}).get("enqueue_to_fake_ms") or {}
    result.update({
        "value": value, "baseline_value": base, "ratio": ratio(value, base),
        "lost": figures["lost"], "duplicates": figures["duplicates"],
        "target_per_s": TARGET_PER_S, "target_met": bool(value and value >= TARGET_PER_S),
        "enqueue_to_fake_p50_ms": latency.get("p50"), "enqueue_to_fake_p95_ms": latency.get("p95"),
        **figures,
    })
    result["machine"]["load_average_1m_at_end"] = os.getloadavg()[0]
    result["outside_load"] = outside_load([capacity.get("cpu_cores")])
    result["wall_s"] = round(time.monotonic() - started, 1)
    publish(result)


if __name__ == "__main__":
    main()
