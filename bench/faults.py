"""Fault injection: residents keep writing while each part of the stack fails and comes back.

    PYTHONPATH=. .venv/bin/python -m bench.faults [--rate 3 --duration 24 --faults rasa,redis]
    PYTHONPATH=. .venv/bin/python -m bench.faults --replicas 2

The whole stack runs on its own ports (gateway 29000, Rasa 26005, actions 26055, sandbox 29100;
with `--replicas 2` a second gateway web process on 29001, a second worker and a second Rasa
on 26006, the Rasa servers sharing their conversations in Redis) with a fake Graph API in this
process, a Redis server of its own (append-only file, fsync on
every write: it is killed for real) and PostgreSQL behind a TCP proxy (the machine's shared
server cannot be killed; cutting the proxy resets and refuses every connection, which is what
clients see of a crash). For each fault, one phase: simulated residents post signed WhatsApp
webhooks open loop at `--rate` for `--duration` seconds, each a resident of their own with one
message; a third of the way in the fault starts, two thirds of the way it ends; then the phase
waits until every resident has an answer (or `--drain-timeout`). The generator behaves like
Meta: a webhook not answered 200 is posted again (the same body, the same message id) every
second until it is.

Faults: `baseline` (none), `duplicates` (every webhook posted twice at once), `rasa`,
`actions`, `sandbox`, `worker` (the gateway's worker process), `gateway` (the web process),
`redis`, `postgres` (killed and restarted), `channel_429` and `channel_500` (the fake Graph API
answers every send with that error while the fault lasts); a replica by its name (`rasa-2`,
`gateway-2`, `worker-2`). With several web processes the residents' webhooks alternate between
them, and a post that fails goes to the next one, as behind a load balancer; with two the
default faults kill `gateway-2`, because the action server and the sandbox reach the gateway at
the first one (GATEWAY_URL: a load balancer in production).

Per phase: `lost` (residents never answered: the apology sent while Rasa is away does not
count as an answer), `duplicates` (the same reply twice to the same resident), `recovery_s`
(from the service's return until every resident who wrote before then had an answer; 0 when
all were answered before it returned). Targets: zero lost, zero
duplicated, recovery within 10 s. The result object (bench/results/faults.json) leads with the
totals (with `--replicas 2`: bench/results/faults_replicas.json); see docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import itertools
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.engine import make_url

from bot.conversation import APOLOGY
from bot.stack import ROOT

from . import harness, residents
from .load import ClientPool, Sample, open_loop
from .proxy import ProxyThread, _free_port
from .report import publish, say
from .stats import latency_ms

FAULTS = ("baseline", "duplicates", "rasa", "actions", "sandbox", "worker", "gateway", "redis",
          "postgres", "channel_429", "channel_500")
PROCESSES = ("rasa", "actions", "sandbox", "worker", "gateway")
RECOVERY_TARGET_S = 10.0
RETRY_EVERY_S = 1.0
GIVE_UP_AFTER_S = 300.0


class PrivateRedis:
    """A redis-server of the benchmark's own, killed for real: append-only file with an fsync
    on every write, as a production Redis holding Pintu's queues must run."""

    def __init__(self, folder: Path, port: int = 0) -> None:
        self.folder = folder
        self.port = port or _free_port()
        self.process: subprocess.Popen[bytes] | None = None
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("bench.faults needs redis-server on PATH (Debian: redis-server)")
        self.argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "yes", "--appendfsync", "always", "--dir", str(folder),
                     "--logfile", str(folder / "redis.log")]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(self.argv, stdout=subprocess.DEVNULL,  # noqa: S603
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                import redis

                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    return
            except Exception:  # not up yet  # noqa: S110
                pass
            time.sleep(0.1)
        raise RuntimeError("private redis-server did not start")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def stop(self) -> None:
        self.kill()


@dataclass
class Faulty:
    """What a phase may break: the running stack, its Redis and the PostgreSQL proxy."""

    running: harness.Running
    redis: PrivateRedis
    postgres: ProxyThread

    def start(self, fault: str) -> None:
        if is_process(fault):
            self.running.stack.kill(fault)
        elif fault == "redis":
            self.redis.kill()
        elif fault == "postgres":
            self.postgres.cut()
        elif fault in ("channel_429", "channel_500"):
            status = int(fault.rsplit("_", 1)[1])
            self.running.graph.fail(status=status, count=1_000_000,
                                    retry_after=1.0 if status == 429 else None)

    def end(self, fault: str) -> None:
        if is_process(fault):
            self.running.stack.revive(fault)
        elif fault == "redis":
            self.redis.start()
        elif fault == "postgres":
            self.postgres.restore()
        elif fault in ("channel_429", "channel_500"):
            self.running.graph.reset_failures()


def is_process(fault: str) -> bool:
    """`rasa`, `gateway-2`, ...: a fault that kills one of the stack's processes."""
    kind, _, n = fault.partition("-")
    return kind in PROCESSES and (not n or n.isdigit())


async def post_until_accepted(client: httpx.AsyncClient, urls: list[str], first: int,
                              hook: residents.Webhook, posts: list[int]) -> int:
    """Posts a webhook as Meta does: again, the same body, until it is answered 200; first to
    `urls[first]`, each retry to the next gateway, as a load balancer would."""
    deadline = time.monotonic() + GIVE_UP_AFTER_S
    for attempt in itertools.count(first):
        url = urls[attempt % len(urls)]
        posts[0] += 1
        try:
            response = await client.post(url, content=hook.body, headers={
                "content-type": "application/json", "X-Hub-Signature-256": hook.signature})
            if response.status_code == 200:
                return 200
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            return 0
        await asyncio.sleep(RETRY_EVERY_S)
    raise AssertionError("unreachable")


async def phase(faulty: Faulty, fault: str, index: int, *, rate: float, duration_s: float,
                drain_timeout_s: float) -> dict[str, Any]:
    running = faulty.running
    count = max(3, int(rate * duration_s))
    hooks = residents.signed_webhooks(10 + index, count, harness.WA_APP_SECRET)
    numbers = {h.wa_id for h in hooks}
    urls = [f"{url}/webhooks/whatsapp" for url in running.stack.urls("gateway")]
    posts = [0]
    copies = 2 if fault == "duplicates" else 1
    pool = ClientPool(64 * copies, timeout_s=30.0)

    async def send(client: httpx.AsyncClient, i: int, copy: int = 0) -> int:
        # Residents alternate between the web processes; a second copy goes to the other one.
        return await post_until_accepted(client, urls, i + copy, hooks[i], posts)

    async def send_twice(_client: httpx.AsyncClient, i: int) -> int:
        answers = await asyncio.gather(*(pool.call(functools.partial(send, copy=c), i)
                                          for c in range(copies)))
        return min(answers)

    window: dict[str, float] = {}

    async def inject() -> None:
        if fault in ("baseline", "duplicates"):
            return
        await asyncio.sleep(duration_s / 3)
        window["start"] = time.monotonic()
        say(f"  {fault}: fault starts")
        await asyncio.to_thread(faulty.start, fault)
        await asyncio.sleep(max(0.0, duration_s / 3 - (time.monotonic() - window["start"])))
        say(f"  {fault}: fault ends (service coming back)")
        await asyncio.to_thread(faulty.end, fault)
        window["end"] = time.monotonic()
        say(f"  {fault}: back after {window['end'] - window['start']:.1f} s")

    injector = asyncio.create_task(inject())
    if copies == 1:
        samples = await open_loop(send, pool, rate=rate, count=count, progress=say)
    else:
        outer = ClientPool(count)
        samples = await open_loop(send_twice, outer, rate=rate, count=count, progress=say)
        await outer.aclose()
    await injector
    await pool.aclose()
    _, every = await harness.wait_for_replies(running, numbers, drain_timeout_s,
                                              quiet_s=3.0, progress=say)
    deadline = time.monotonic() + drain_timeout_s
    first = answers(running, numbers)
    while len(first) < len(numbers) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)  # an apology is not an answer: wait for the answer
        first = answers(running, numbers)
    return summarize(fault, hooks, samples, first, every, window, posts[0],
                     duplicates=harness.duplicate_replies(running, numbers))


def answers(running: harness.Running, numbers: set[str]) -> dict[str, Any]:
    """Each resident's first reply that is not the apology for an outage: the answer."""
    first: dict[str, Any] = {}
    for call in running.graph.calls("message"):
        body = call.body if isinstance(call.body, dict) else {}
        to = body.get("to")
        if call.status != 200 or to not in numbers or to in first:
            continue
        words = (body.get("text") or {}).get("body") or \
            ((body.get("interactive") or {}).get("body") or {}).get("text") or ""
        if words != APOLOGY:
            first[to] = call
    return first


def summarize(fault: str, hooks: list[residents.Webhook], samples: list[Sample],
              first: dict[str, Any], every: list[float], window: dict[str, float], posts: int,
              *, duplicates: int) -> dict[str, Any]:
    lost = [h.wa_id for h in hooks if h.wa_id not in first]
    e2e = [first[h.wa_id].monotonic - s.started for h, s in zip(hooks, samples, strict=True)
           if h.wa_id in first]
    recovery = None
    if "end" in window:
        before = [first[h.wa_id].monotonic for h, s in zip(hooks, samples, strict=True)
                  if s.started < window["end"] and h.wa_id in first]
        recovery = round(max(0.0, max(before, default=window["end"]) - window["end"]), 1)
    return {
        "fault": fault,
        "residents": len(hooks),
        "posts": posts,
        "not_accepted": sum(1 for s in samples if s.status != 200),
        "answered": len(first),
        "lost": len(lost),
        "duplicates": duplicates,
        "replies": len(every),
        "outage_s": round(window["end"] - window["start"], 1) if "end" in window else None,
        "recovery_s": recovery,
        "e2e_ms": latency_ms(e2e),
    }


async def scenario(faulty_of: Callable[[harness.Running], Faulty], args: argparse.Namespace,
                   running: harness.Running) -> dict[str, Any]:
    faulty = faulty_of(running)
    phases = []
    for index, fault in enumerate(args.faults):
        say(f"phase {fault}: {args.rate}/s for {args.duration} s")
        phases.append(await phase(faulty, fault, index, rate=args.rate,
                                  duration_s=args.duration,
                                  drain_timeout_s=args.drain_timeout))
        say(f"  {fault}: lost {phases[-1]['lost']}, duplicates {phases[-1]['duplicates']}, "
            f"recovery {phases[-1]['recovery_s']} s")
    recoveries = [p["recovery_s"] for p in phases if p["recovery_s"] is not None]
    return {
        "lost": sum(p["lost"] for p in phases),
        "duplicates": sum(p["duplicates"] for p in phases),
        "recovery_s_max": max(recoveries, default=None),
        "targets": {"lost": 0, "duplicates": 0, "recovery_s": RECOVERY_TARGET_S},
        "met": all(p["lost"] == 0 and p["duplicates"] == 0 for p in phases)
        and all(r <= RECOVERY_TARGET_S for r in recoveries),
        "phases": phases,
    }


@contextmanager
def private_services(folder: Path, database_url: str
                     ) -> Iterator[tuple[PrivateRedis, ProxyThread]]:
    """A fresh Redis server of our own (its files in `folder`) and a cuttable proxy in front
    of the database's server."""
    shutil.rmtree(folder, ignore_errors=True)
    redis_server = PrivateRedis(folder)
    redis_server.start()
    target = make_url(database_url)
    proxy = ProxyThread(target.host or "127.0.0.1", target.port or 5432).start()
    try:
        yield redis_server, proxy
    finally:
        proxy.stop()
        redis_server.stop()


def stack_env(redis_server: PrivateRedis, replicas: int) -> dict[str, str]:
    """The stack's settings for the private Redis: the gateway's queues in db 0, Rasa's
    conversations and locks in db 1 (their own db, as docs/configuration.md advises)."""
    return {"RASA_REDIS_URL": redis_server.url.rsplit("/", 1)[0] + "/1",
            "STACK_REPLICAS": str(replicas)}


def default_faults(replicas: int) -> list[str]:
    """Every fault; with several web processes the second is killed, not the one GATEWAY_URL
    names (the action server's and the sandbox's way in, a load balancer in production)."""
    return ["gateway-2" if f == "gateway" and replicas > 1 else f for f in FAULTS]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=3.0, help="messages per second")
    parser.add_argument("--duration", type=float, default=24.0, help="seconds of traffic")
    parser.add_argument("--drain-timeout", type=float, default=180.0)
    parser.add_argument("--faults", default="",
                        help=f"comma-separated, of {', '.join(FAULTS)} or a replica's name "
                        "(rasa-2, gateway-2, worker-2); default: all")
    parser.add_argument("--replicas", type=int, default=1, choices=range(1, 5),
                        help="gateway web processes, workers and Rasa servers (default 1)")
    harness.add_stack_arguments(parser)
    parser.set_defaults(gateway_port=29000, rasa_port=26005, actions_port=26055,
                        sandbox_port=29100,
                        database_url=harness.database_url_default().rsplit("/", 1)[0]
                        + "/pintu_bench_faults")
    args = parser.parse_args(argv)
    args.work_dir = ROOT / "var" / "bench" / "faults"
    harness.check_stack_arguments(parser, args)
    args.faults = [f.strip() for f in args.faults.split(",") if f.strip()] or \
        default_faults(args.replicas)
    unknown = {f for f in args.faults if f not in FAULTS and not (
        is_process(f) and int(f.partition("-")[2] or 1) <= args.replicas)}
    if unknown:
        parser.error(f"unknown faults: {', '.join(sorted(unknown))}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with private_services(args.work_dir / "redis", args.database_url) as (redis_server, proxy):
        args.redis_url = redis_server.url
        args.gateway_env_map = {**stack_env(redis_server, args.replicas),
                                **args.gateway_env_map}
        real_database = args.database_url
        args.database_url = make_url(real_database).set(
            host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        config = {"rate_per_s": args.rate, "duration_s": args.duration,
                  "faults": args.faults, "replicas": args.replicas,
                  "redis": "private, appendfsync always",
                  "postgres": "through a cuttable TCP proxy"}

        def faulty_of(running: harness.Running) -> Faulty:
            return Faulty(running, redis_server, proxy)

        name = "faults" if args.replicas == 1 else "faults_replicas"
        result = harness.measure(
            args, name, config, lambda running: scenario(faulty_of, args, running),
            value=None, unit="lost messages")
    if result is None:
        return 130
    result["value"] = result["lost"]
    publish(result)
    return 0 if result["met"] else 1


if __name__ == "__main__":
    sys.exit(main())
