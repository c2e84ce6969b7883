"""Fuzzing benchmark: 10,000 malformed bodies at a gateway process, schemathesis against its
OpenAPI, and the property tests with many examples.

    PYTHONPATH=. .venv/bin/python -m bench.fuzz [--bodies 10000 --examples 25 --no-properties]

The gateway runs as its own process (uvicorn, `bot.app:create_app`, workers inside) on PostgreSQL
`pintu_bench_fuzz` and Redis db 6, both made fresh, with Telegram and WhatsApp on against fake
Bot API and Graph API servers and a fake Rasa in this process. Steps:

1. the bodies of tests/malformed.py (the four inbound routes in turn: Telegram and WhatsApp
   webhooks with the right secret token or signature, the signed agency status webhook,
   `/api/chat`), one after another on one connection; every answer's status is counted, and a
   body that got no answer (the connection dropped) counts as a crash, as does the process
   exiting;
2. what was stored afterwards: rows in `messages`, `contacts`, `agency_events`, and Redis keys of
   accepted deliveries and queued messages (`pintu:seen:*`, `pintu:in:*`, `pintu:in-status:*`);
3. schemathesis (tests/schema_fuzz.py) with `--examples` generated requests per operation and
   mode, as a stranger and as a signed-in admin of the staff web;
4. the property tests (tests/gateway/test_*_properties.py) under hypothesis's `bench` profile.

`value` is malformed bodies answered per second (unit `1/s`); `five_xx`, `stored`, `crashes` and
`wrong_answers` must be 0. The exit status is 1 when anything was found (after the result is
written). Progress goes to stderr; the last line of stdout is the result (bench/results/fuzz.json).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timezone
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

import bot.models  # noqa: F401 - the tables harness.fresh_database drops
from bot.db import make_engine, make_sessionmaker
from bot.stack import ROOT
from tests import malformed, schema_fuzz
from tests.fakes.graph_api import PHONE_NUMBER_ID, FakeGraph
from tests.fakes.server import ThreadedServer
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram
from tests.gateway.fakes import FakeRasa

from . import harness
from .report import machine, publish, say, stop_on_sigterm

TG_SECRET = "bench-fuzz-telegram-secret"  # noqa: S105 - the benchmark's own
WA_TOKEN = "bench-fuzz-wa-token"  # noqa: S105
WA_APP_SECRET = "bench-fuzz-wa-app-secret"  # noqa: S105
AGENCY_SECRET = "bench-fuzz-laksa-secret"  # noqa: S105
PROPERTY_TESTS = ["tests/gateway/test_nik_properties.py", "tests/gateway/test_render_properties.py",
                  "tests/gateway/test_parser_properties.py"]


def rasa_server(fake: FakeRasa) -> Starlette:
    """The fake Rasa (an httpx handler) behind a real socket, for a gateway in another process."""
    async def answer(request: Request) -> Response:
        reply = fake.handler(httpx.Request(request.method, str(request.url),
                                           content=await request.body()))
        return Response(reply.content, reply.status_code,
                        media_type=reply.headers.get("content-type"))
    return Starlette(routes=[Route("/{path:path}", answer, methods=["GET", "POST", "PUT"])])


def start_gateway(args: argparse.Namespace, env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = ROOT / "var" / "bench" / "log" / "fuzz-gateway.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [str(ROOT / ".venv" / "bin" / "uvicorn"), "bot.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(args.port), "--log-level", "warning"],
        cwd=ROOT, env={**os.environ, **env}, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the gateway exited at start; see {log}")
        try:
            if httpx.get(f"http://127.0.0.1:{args.port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the gateway did not start; see {log}")


def post_bodies(url: str, count: int, process: subprocess.Popen[bytes]) -> dict[str, Any]:
    statuses: Counter[int] = Counter()
    wrong: list[str] = []
    crashes = 0
    started = time.monotonic()
    client = httpx.Client(base_url=url, timeout=30)
    for i, body in enumerate(malformed.bodies(count)):
        headers = malformed.headers(body, telegram_secret=TG_SECRET,
                                    whatsapp_app_secret=WA_APP_SECRET,
                                    agency_secret=AGENCY_SECRET)
        try:
            status = client.post(body.route, content=body.raw, headers=headers).status_code
        except httpx.TransportError as exc:
            crashes += 1
            wrong.append(f"{body.how}: no answer ({type(exc).__name__})")
            client.close()
            client = httpx.Client(base_url=url, timeout=30)
            continue
        statuses[status] += 1
        if malformed.wrong_answer(body, status):
            wrong.append(f"{body.how}: {status}")
        if (i + 1) % 2000 == 0:
            say(f"  {i + 1}/{count} bodies, {sum(statuses[s] for s in statuses if s >= 500)} 5xx")
    elapsed = time.monotonic() - started
    up = process.poll() is None
    try:
        up = up and client.get("/healthz").status_code == 200
    except httpx.HTTPError:
        up = False
    client.close()
    return {"bodies": count, "time_s": round(elapsed, 2),
            "bodies_per_s": round(count / elapsed, 1), "statuses": dict(sorted(statuses.items())),
            "five_xx": sum(n for s, n in statuses.items() if s >= 500),
            "crashes": crashes + (0 if up else 1), "gateway_up_at_end": up,
            "wrong_answers": len(wrong), "wrong_examples": wrong[:20]}


def run_properties() -> dict[str, Any]:
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "pytest", "-c", "pyproject.toml", "-q", *PROPERTY_TESTS],
        cwd=ROOT, env={**os.environ, "HYPOTHESIS_PROFILE": "bench"},
        capture_output=True, text=True, check=False)
    return {"profile": "bench", "passed": done.returncode == 0,
            "summary": done.stdout.strip().splitlines()[-1] if done.stdout.strip() else "",
            "time_s": round(time.monotonic() - started, 1)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    harness.fresh_database(args.database_url)
    harness.flush_redis(args.redis_url)
    rasa, telegram, graph = FakeRasa(), FakeTelegram(), FakeGraph(WA_TOKEN)
    with ExitStack() as stack:
        servers = [stack.enter_context(ThreadedServer(app)) for app in
                   (rasa_server(rasa), telegram.app, graph.app)]
        env = {
            "PINTU_ENV": "development", "DATABASE_URL": args.database_url,
            "REDIS_URL": args.redis_url, "RASA_URL": servers[0].url, "RASA_URLS": "",
            "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN, "TELEGRAM_WEBHOOK_SECRET": TG_SECRET,
            "TELEGRAM_API_BASE_URL": f"{servers[1].url}/bot", "TELEGRAM_MODE": "webhook",
            "WHATSAPP_ACCESS_TOKEN": WA_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP_APP_SECRET": WA_APP_SECRET, "WHATSAPP_VERIFY_TOKEN": "bench-fuzz-verify",
            "WHATSAPP_API_BASE_URL": servers[2].url,
            "AGENCY_WEBHOOK_SECRETS": f'{{"laksa": "{AGENCY_SECRET}"}}',
            "MEDIA_DIR": str(ROOT / "var" / "bench" / "fuzz-media"),
        }
        database = args.database_url.rsplit("/", 1)[-1]
        say(f"starting the gateway on :{args.port} (PostgreSQL {database}, Redis {args.redis_url})")
        process = start_gateway(args, env)
        try:
            url = f"http://127.0.0.1:{args.port}"
            say(f"posting {args.bodies} malformed bodies")
            bodies = post_bodies(url, args.bodies, process)
            engine = make_engine(args.database_url)
            stored = malformed.stored(engine, args.redis_url)
            say(f"  {bodies['five_xx']} 5xx, {bodies['crashes']} crashes, stored {stored}")
            say(f"schemathesis, {args.examples} examples per operation and mode")
            api = {"stranger": schema_fuzz.fuzz(url, args.examples).as_json(),
                   "admin": schema_fuzz.fuzz(url, args.examples, schema_fuzz.admin_session(
                       url, make_sessionmaker(engine))).as_json()}
            engine.dispose()
            say("  " + ", ".join(f"{who}: {o['examples']} examples, {len(o['failures'])} failures"
                                 for who, o in api.items()))
        finally:
            process.terminate()
            process.wait(timeout=30)
    properties = run_properties() if args.properties else None
    return {"malformed": bodies, "stored_by_place": stored, "schemathesis": api,
            "properties": properties}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bodies", type=int, default=10_000)
    parser.add_argument("--examples", type=int, default=25,
                        help="schemathesis examples per operation and mode")
    parser.add_argument("--no-properties", dest="properties", action="store_false",
                        help="skip the property tests")
    parser.add_argument("--port", type=int, default=28400)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_FUZZ_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/pintu_bench_fuzz"))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/6",
                        help="flushed at the start (db 6 by default)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    stop_on_sigterm()
    result: dict[str, Any] = {
        "name": "fuzz", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(), "config": {"bodies": args.bodies, "examples": args.examples,
                                         "properties": args.properties}}
    started = time.monotonic()
    try:
        result.update(run(args))
    except KeyboardInterrupt:
        say("interrupted: the gateway is stopped, no results written")
        return 130
    result["machine"]["load_average_1m_at_end"] = os.getloadavg()[0]
    result["wall_s"] = round(time.monotonic() - started, 1)
    bodies, api = result["malformed"], result["schemathesis"]
    result.update({
        "value": bodies["bodies_per_s"], "unit": "1/s", "bodies": bodies["bodies"],
        "five_xx": bodies["five_xx"], "stored": sum(result["stored_by_place"].values()),
        "crashes": bodies["crashes"], "wrong_answers": bodies["wrong_answers"],
        "schemathesis_failures": sum(len(o["failures"]) for o in api.values()),
    })
    publish(result)
    properties_failed = result["properties"] is not None and not result["properties"]["passed"]
    found = any(result[k] for k in ("five_xx", "stored", "crashes", "wrong_answers",
                                    "schemathesis_failures")) or properties_failed
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
