"""Growth benchmark: how parsing, the channel path and dispatch grow from 10 to 1,000 residents.

    PYTHONPATH=. .venv/bin/python -m bench.growth [--levels 10,100,1000 --think 1 ...]

For each level, that many residents at once, each a distinct WhatsApp number writing a short
conversation (a greeting, a question, thanks), one message after the answer to the one before
plus `--think` seconds:

- parse: the texts straight to Rasa's `POST /model/parse` (the NLU alone; also published as
  bench/results/parse.json, the `/model/parse` latency and throughput benchmark);
- e2e: the texts as signed WhatsApp webhooks to the gateway, from posting to the first reply at
  the fake Graph API; `lost` (a message never answered) and `duplicates` (messages at the fake
  beyond the reply rows Pintu queued for that resident);
- dispatch: `bench.dispatch`'s capacity phase with `--dispatch-messages` replies spread over that
  many residents (the queue keeps each resident's replies in order, one at a time).

The stack (`bot.stack.Stack`, ports 28000/25005/25055/28100, PostgreSQL `pintu_bench`, Redis db
14) runs the first two; dispatch then runs on its own (the stack stopped, same database and db).
`value` is the e2e p95 at the largest level, `baseline_value` the same at the smallest.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from . import cpu, dispatch, harness
from .load import ClientPool
from .report import RESULTS, outside_load, publish, say
from .residents import signed_webhook, wa_id
from .stats import latency_ms, ratio

GREETINGS = ("halo", "selamat pagi", "permisi, mau tanya")
QUESTIONS = (
    "jam buka kantor kecamatan",
    "apa syarat bikin kk",
    "cara daftar antrian disdukcapil",
    "ktp saya sudah jadi belum",
    "jalan rusak di cipondoh",
)
THANKS = "terima kasih"
REPOSTS = 5


def conversation(index: int, turns: int) -> list[str]:
    """What resident `index` writes: a greeting, questions, thanks (`turns` messages)."""
    texts = [GREETINGS[index % len(GREETINGS)]]
    texts += [QUESTIONS[(index + k) % len(QUESTIONS)] for k in range(max(0, turns - 2))]
    return [*texts, THANKS][:turns] if turns > 1 else texts[:1]


@dataclass
class Turn:
    """One message: when it left (wall clock), when its first answer came (or None), the
    HTTP status (or the exception's name) and how often the webhook was posted again."""

    posted: float
    answered: float | None = None
    status: int | str = 0
    reposts: int = 0


@dataclass
class Inbox:
    """The replies at the in-process fake Graph API, per number, read by one poller."""

    graph: Any
    numbers: set[str]
    replies: dict[str, list[tuple[float, str]]] = field(default_factory=dict)
    events: dict[str, asyncio.Event] = field(default_factory=dict)
    seen: int = 0

    def poll(self) -> None:
        calls = self.graph.calls("message")
        for call in calls[self.seen:]:
            to = call.body.get("to") if isinstance(call.body, dict) else None
            if call.status != 200 or to not in self.numbers:
                continue
            self.replies.setdefault(to, []).append(
                (call.wall, json.dumps(call.body, sort_keys=True)))
            event = self.events.get(to)
            if event is not None:
                event.set()
        self.seen = len(calls)

    async def run(self, every_s: float = 0.02) -> None:
        while True:
            self.poll()
            await asyncio.sleep(every_s)

    async def first_after(self, number: str, posted: float, timeout_s: float) -> float | None:
        """The wall time of the first reply to `number` that left after `posted`."""
        event = self.events.setdefault(number, asyncio.Event())
        deadline = time.monotonic() + timeout_s
        while True:
            for wall, _ in self.replies.get(number, []):
                if wall >= posted:
                    return wall
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            event.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout=min(left, 1.0))


async def residents_talk(count: int, turns: int, think_s: float,
                         say_one: Callable[[httpx.AsyncClient, int, int, str], Any],
                         pool: ClientPool) -> list[list[Turn]]:
    """`count` residents at once (starts spread over the first second), each sending its
    conversation through `say_one(client, resident, turn, text)`, which returns a Turn."""
    async def resident(i: int) -> list[Turn]:
        await asyncio.sleep(i / count)
        done: list[Turn] = []
        for k, text in enumerate(conversation(i, turns)):
            client = await pool.borrow()
            try:
                done.append(await say_one(client, i, k, text))
            finally:
                pool.give_back(client)
            if think_s:
                await asyncio.sleep(think_s)
        return done

    return list(await asyncio.gather(*(resident(i) for i in range(count))))


def summary(turns: list[list[Turn]]) -> dict[str, Any]:
    flat = [t for conv in turns for t in conv]
    answered = [t for t in flat if t.answered is not None]
    start = min((t.posted for t in flat), default=0.0)
    end = max((t.answered for t in answered if t.answered is not None), default=start)
    return {
        "messages": len(flat),
        "answered": len(answered),
        "errors": sum(1 for t in flat if t.status != 200),
        "error_kinds": dict(Counter(str(t.status) for t in flat if t.status != 200)),
        "reposts": sum(t.reposts for t in flat),
        "latency_ms": latency_ms([t.answered - t.posted for t in answered
                                  if t.answered is not None]),
        "throughput_per_s": round(len(answered) / (end - start), 2) if end > start else None,
        "span_s": round(end - start, 1),
    }


async def level_parse(running: harness.Running, count: int, turns: int,
                      think_s: float, pool: ClientPool) -> dict[str, Any]:
    async def say_one(client: httpx.AsyncClient, i: int, k: int, text: str) -> Turn:
        turn = Turn(time.time())
        try:
            response = await client.post(f"{running.rasa_url}/model/parse", json={"text": text})
            turn.status = response.status_code
            if response.status_code == 200 and response.json().get("intent"):
                turn.answered = time.time()
        except httpx.HTTPError as exc:
            turn.status = type(exc).__name__
        return turn

    before = cpu.snapshot(running.pids)
    result = summary(await residents_talk(count, turns, think_s, say_one, pool))
    result["cpu_cores"] = cpu.usage(before, cpu.snapshot(running.pids))
    return result


def reply_rows(running: harness.Running, numbers: set[str]) -> Counter[str]:
    """How many replies Pintu queued for each of these numbers (its `messages` rows)."""
    from sqlalchemy import func, select

    from bot.db import make_engine
    from bot.models import Contact, Conversation, Message

    engine = make_engine(running.database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(Contact.external_id, func.count(Message.id))
                .join(Conversation, Conversation.contact_id == Contact.id)
                .join(Message, Message.conversation_id == Conversation.id)
                .where(Message.direction == "out")
                .group_by(Contact.id, Contact.external_id)).all()
    finally:
        engine.dispose()
    return Counter({str(number): int(n) for number, n in rows if str(number) in numbers})


async def level_e2e(running: harness.Running, count: int, turns: int, think_s: float,
                    pool: ClientPool, phase: int, timeout_s: float) -> dict[str, Any]:
    numbers = {wa_id(phase, i) for i in range(count)}
    inbox = Inbox(running.graph, numbers)
    inbox.seen = len(running.graph.calls("message"))
    poller = asyncio.create_task(inbox.run())

    async def say_one(client: httpx.AsyncClient, i: int, k: int, text: str) -> Turn:
        hook = signed_webhook(wa_id(phase, i), text, harness.WA_APP_SECRET)
        turn = Turn(time.time())
        # As Meta does: a webhook not answered 200 is posted again, the same body, a second
        # later (here up to REPOSTS times; Meta keeps trying for days).
        for attempt in range(REPOSTS + 1):
            if attempt:
                turn.reposts += 1
                await asyncio.sleep(1.0)
            try:
                response = await client.post(
                    f"{running.gateway_url}/webhooks/whatsapp", content=hook.body,
                    headers={"content-type": "application/json",
                             "X-Hub-Signature-256": hook.signature})
                turn.status = response.status_code
            except httpx.HTTPError as exc:
                turn.status = type(exc).__name__
            if turn.status == 200:
                break
        else:
            return turn
        turn.answered = await inbox.first_after(hook.wa_id, turn.posted, timeout_s)
        return turn

    before = cpu.snapshot(running.pids)
    try:
        talked = await residents_talk(count, turns, think_s, say_one, pool)
        await asyncio.sleep(2.0)  # late second bubbles and anything sent twice
        inbox.poll()
    finally:
        poller.cancel()
    result = summary(talked)
    result["cpu_cores"] = cpu.usage(before, cpu.snapshot(running.pids))
    rows = await asyncio.to_thread(reply_rows, running, numbers)
    at_fake = Counter({n: len(r) for n, r in inbox.replies.items()})
    result["replies_at_fake"] = sum(at_fake.values())
    result["reply_rows"] = sum(rows.values())
    result["lost"] = result["messages"] - result["answered"]
    result["duplicates"] = sum(max(0, at_fake[n] - rows[n]) for n in numbers)
    return result


class Pool(ClientPool):
    """A ClientPool lent by hand (a resident keeps its connection for one request)."""

    async def borrow(self) -> httpx.AsyncClient:
        return await self._idle.get()

    def give_back(self, client: httpx.AsyncClient) -> None:
        self._idle.put_nowait(client)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", default="10,100,1000",
                        help="simultaneous residents, comma-separated")
    parser.add_argument("--turns", type=int, default=3, help="messages per resident")
    parser.add_argument("--think", type=float, default=1.0,
                        help="seconds a resident waits after an answer before writing again")
    parser.add_argument("--turn-timeout", type=float, default=300.0,
                        help="seconds after which an unanswered message counts as lost")
    parser.add_argument("--dispatch-messages", type=int, default=5000,
                        help="replies of each level's dispatch run (0: no dispatch)")
    parser.add_argument("--graph-workers", type=int, default=2)
    harness.add_stack_arguments(parser)
    args = parser.parse_args(argv)
    harness.check_stack_arguments(parser, args)
    args.level_list = [int(v) for v in args.levels.split(",") if v.strip()]
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    levels: list[int] = args.level_list

    async def scenario(running: harness.Running) -> dict[str, Any]:
        pool = Pool(max(levels), timeout_s=args.turn_timeout, keepalive_expiry_s=2.0)
        rows: list[dict[str, Any]] = []
        try:
            for n, count in enumerate(levels):
                say(f"{count} residents: parse ({args.turns} messages each)")
                parsed = await level_parse(running, count, args.turns, args.think, pool)
                say(f"  p95 {parsed['latency_ms']['p95']} ms, "
                    f"{parsed['throughput_per_s']}/s; e2e through the gateway")
                e2e = await level_e2e(running, count, args.turns, args.think, pool, 3 + n,
                                      args.turn_timeout)
                say(f"  p95 {e2e['latency_ms']['p95']} ms, {e2e['throughput_per_s']}/s, "
                    f"lost {e2e['lost']}, duplicates {e2e['duplicates']}")
                rows.append({"residents": count, "parse": parsed, "e2e": e2e})
        finally:
            await pool.aclose()
        return {"levels": rows}

    config = {"levels": levels, "turns": args.turns, "think_s": args.think,
              "turn_timeout_s": args.turn_timeout, "dispatch_messages": args.dispatch_messages}
    result = harness.measure(args, "growth", config, scenario, unit="s")
    if result is None:
        raise SystemExit(1)
    if args.dispatch_messages:
        for row in result["levels"]:
            count = row["residents"]
            say(f"{count} residents: dispatch of {args.dispatch_messages} replies")
            options = dispatch.Options(
                messages=args.dispatch_messages, residents=count, latency_messages=0,
                baseline=False, graph_workers=args.graph_workers,
                database_url=args.database_url, redis_url=args.redis_url)
            figures = dispatch.measure(options, phase=7)
            row["dispatch"] = {**figures["capacity"], "bookkeeping": figures["bookkeeping"]}
            say(f"  {row['dispatch']['rate_per_s']}/s")
    first, last = result["levels"][0], result["levels"][-1]
    value = last["e2e"]["latency_ms"]["p95"]
    base = first["e2e"]["latency_ms"]["p95"]
    result.update({
        "value": round(value / 1000, 3) if value is not None else None,
        "baseline_value": round(base / 1000, 3) if base is not None else None,
        "headline": f"end-to-end p95 at {last['residents']} residents (baseline: at "
                    f"{first['residents']})",
    })
    result["ratio"] = ratio(result["value"], result["baseline_value"])
    result["lost"] = sum(r["e2e"]["lost"] + r.get("dispatch", {}).get("lost", 0)
                         for r in result["levels"])
    result["duplicates"] = sum(r["e2e"]["duplicates"] + r.get("dispatch", {}).get(
        "duplicates", 0) for r in result["levels"])
    result["table"] = [{
        "residents": r["residents"],
        "parse_p50_ms": r["parse"]["latency_ms"]["p50"],
        "parse_p95_ms": r["parse"]["latency_ms"]["p95"],
        "parse_p99_ms": r["parse"]["latency_ms"]["p99"],
        "parse_per_s": r["parse"]["throughput_per_s"],
        "e2e_p50_ms": r["e2e"]["latency_ms"]["p50"],
        "e2e_p95_ms": r["e2e"]["latency_ms"]["p95"],
        "e2e_p99_ms": r["e2e"]["latency_ms"]["p99"],
        "e2e_per_s": r["e2e"]["throughput_per_s"],
        "e2e_lost": r["e2e"]["lost"], "e2e_duplicates": r["e2e"]["duplicates"],
        "dispatch_per_s": r.get("dispatch", {}).get("rate_per_s"),
    } for r in result["levels"]]
    result["outside_load"] = outside_load(
        [r[k].get("cpu_cores") for r in result["levels"] for k in ("parse", "e2e")])
    publish_parse(result)
    publish(result)


def publish_parse(growth: dict[str, Any]) -> None:
    """bench/results/parse.json: `/model/parse` latency and throughput, from growth's parse
    phases (`value`: p50 at the smallest level, in seconds)."""
    rows = growth["levels"]
    first = rows[0]["parse"]["latency_ms"]
    parse = {
        "name": "parse", "unit": "s",
        "value": round(first["p50"] / 1000, 4) if first["p50"] is not None else None,
        "headline": f"/model/parse p50 at {rows[0]['residents']} simultaneous residents",
        "date": growth["date"], "machine": growth["machine"], "config": growth["config"],
        "levels": [{"residents": r["residents"], **r["parse"]} for r in rows],
        "source": "bench.growth",
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "parse.json").write_text(json.dumps(parse, ensure_ascii=False, indent=2) + "\n")


if __name__ == "__main__":
    main()
