"""Campaign benchmark: 100,000 residents queued, sent at the configured rates, a worker killed.

    PYTHONPATH=. .venv/bin/python -m bench.outreach [--recipients 100000 --telegram-rate 150
        --whatsapp-rate 150 --kill-at 0.4]

PostgreSQL `pintu_bench_campaigns` and Redis db 10 are made fresh; the fake Bot API and Graph API
run in this process; `python -m bot.worker` (outbox senders and the campaign runner) runs as a
child process on real PostgreSQL and Redis. Steps:

1. seed residents (half Telegram, half WhatsApp, all with consent to city news, WhatsApp's window
   open), plus residents who must get nothing: some stopped (blocked the bot), some who said STOP;
2. queue the campaign (the admin's "send now": one INSERT ... SELECT), timed;
3. start the worker; when `--kill-at` of the messages reached the fakes, SIGKILL it, withdraw
   the consent of residents not yet reached (STOP after queueing), start a new worker;
4. wait for the campaign to be done, then count at the fakes what each resident received.

`duplicates`: messages beyond the first any resident received; `lost`: residents due a message
(consent kept to the end) who received none; `opted_out_received`: messages to anyone who had
said STOP or blocked the bot. Send rates are measured from the fakes' arrival times.
Progress goes to stderr; the last line of stdout is the result, also bench/results/outreach.json.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text

from bot.db import in_transaction, make_engine, make_sessionmaker
from bot.models import CONTACT_HASH, Campaign, CampaignRecipient, Consent, Contact
from bot.outreach import campaigns
from bot.outreach.segments import Segment
from bot.privacy.crypto import lookup_hash
from bot.stack import ROOT
from tests.fakes.graph_api import PHONE_NUMBER_ID, FakeGraph
from tests.fakes.server import ThreadedServer
from tests.fakes.telegram_api import DEFAULT_TOKEN, FakeTelegram

from . import harness
from .report import machine, publish, say, stop_on_sigterm

QUEUE_TARGET_S = 30.0
WA_TOKEN = "bench-wa-token"  # noqa: S105 - a fake's token
EXCLUDED_PER_CHANNEL = 500  # stopped, and as many again who withdrew consent
LATE_STOPS = 200  # residents who say STOP after the campaign was queued


def seed(engine: Any, eligible: dict[str, int]) -> None:
    """Contacts and consents in bulk: per channel `eligible` residents, EXCLUDED_PER_CHANNEL
    stopped and as many with consent withdrawn. Chat ids are encrypted and hashed here as the
    models do (bulk inserts skip the models' validators)."""
    now = datetime.now(timezone.utc)
    withdrawn: list[int] = []
    with engine.begin() as conn:
        for channel, base in (("telegram", "7"), ("whatsapp", "62811")):
            total = eligible[channel] + 2 * EXCLUDED_PER_CHANNEL
            chat_ids = [f"{base}{g:07d}" for g in range(1, total + 1)]
            ids = conn.scalars(insert(Contact).returning(Contact.id, sort_by_parameter_order=True),
                               [{"channel": channel, "external_id": chat_id,
                                 "external_hash": lookup_hash(chat_id, CONTACT_HASH),
                                 "language": "id", "first_seen_at": now, "last_seen_at": now,
                                 "last_inbound_at": now,
                                 "status": "stopped" if g < EXCLUDED_PER_CHANNEL else "active"}
                                for g, chat_id in enumerate(chat_ids)]).all()
            withdrawn += ids[EXCLUDED_PER_CHANNEL:2 * EXCLUDED_PER_CHANNEL]
        conn.execute(text(
            "INSERT INTO consents (contact_id, topic, wording, wording_version, source, "
            "granted_at) SELECT id, 'city_news', 'bench', 'bench', 'start_word', now() "
            "FROM contacts"))
        conn.execute(text(
            "UPDATE consents SET withdrawn_at = now(), withdrawn_by = 'stop_word' "
            "WHERE contact_id = ANY(:ids)"), {"ids": withdrawn})


def open_windows(redis_url: str, engine: Any) -> None:
    """WhatsApp's 24-hour window, as the inbox leaves it when a resident writes."""
    import redis

    with engine.connect() as conn:
        numbers = list(conn.scalars(select(Contact.external_id)
                                    .where(Contact.channel == "whatsapp")))
    client = redis.Redis.from_url(redis_url)
    try:
        pipe = client.pipeline(transaction=False)
        for number in numbers:
            pipe.set(f"pintu:window:whatsapp:{number}", "1", ex=24 * 3600)
        pipe.execute()
    finally:
        client.close()


def worker_env(args: argparse.Namespace, telegram_url: str, graph_url: str) -> dict[str, str]:
    return {
        **os.environ, "PYTHONPATH": str(ROOT), "PINTU_ENV": "development",
        "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
        "TELEGRAM_BOT_TOKEN": DEFAULT_TOKEN, "TELEGRAM_API_BASE_URL": f"{telegram_url}/bot",
        "TELEGRAM_WEBHOOK_SECRET": "bench-secret", "TELEGRAM_CHAT_INTERVAL_MS": "0",
        "WHATSAPP_ACCESS_TOKEN": WA_TOKEN, "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
        "WHATSAPP_APP_SECRET": "bench-app-secret", "WHATSAPP_VERIFY_TOKEN": "bench-verify",
        "WHATSAPP_API_BASE_URL": graph_url,
        "TELEGRAM_RATE_PER_S": str(args.telegram_rate),
        "WHATSAPP_RATE_PER_S": str(args.whatsapp_rate),
        "SENDER_CONCURRENCY": str(args.concurrency), "RUN_MODEL_JOBS": "false",
        "INBOUND_WORKERS": "1", "CAMPAIGN_LEASE_S": "10",
        "CAMPAIGN_UNCONFIRMED_AFTER_S": "15", "MEDIA_DIR": str(ROOT / "var" / "bench" / "media"),
    }


def start_worker(env: dict[str, str], log_path: Path) -> subprocess.Popen[bytes]:
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log_file:
        return subprocess.Popen(  # noqa: S603 - our own fixed argv
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "bot.worker"],
            cwd=ROOT, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)


def received(telegram: FakeTelegram, graph: FakeGraph) -> tuple[Counter[str], list[float],
                                                                  list[float]]:
    """Messages each resident received (Telegram chat id or WhatsApp number), and the arrival
    times per channel."""
    counts: Counter[str] = Counter()
    tg_times, wa_times = [], []
    for call in telegram.calls("sendMessage"):
        if call.status == 200 and call.chat_id:
            counts[call.chat_id] += 1
            tg_times.append(call.monotonic)
    for call in graph.calls("message"):
        if call.status == 200 and isinstance(call.body, dict):
            counts[str(call.body.get("to"))] += 1
            wa_times.append(call.monotonic)
    return counts, tg_times, wa_times


def rates(times: list[float], configured: float, gap_after: float | None) -> dict[str, Any]:
    """Sends per second: the mean over the run (the kill's gap left out), the busiest
    1-second and 10-second windows."""
    if len(times) < 2:
        return {"configured_per_s": configured, "messages": len(times)}
    times = sorted(times)
    busy = 0.0
    for i in range(1, len(times)):
        step = times[i] - times[i - 1]
        if gap_after is None or step < 1.0:  # the restart's gap is not sending time
            busy += step
    def busiest(window: float) -> float:
        best, j = 0, 0
        for i, t in enumerate(times):
            while times[j] < t - window:
                j += 1
            best = max(best, i - j + 1)
        return best / window
    return {"configured_per_s": configured, "messages": len(times),
            "mean_per_s": round((len(times) - 1) / busy, 2) if busy else None,
            "busiest_1s_per_s": busiest(1.0), "busiest_10s_per_s": round(busiest(10.0), 2)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    # Each channel gets its share of the configured rate: both finish together.
    telegram_n = round(args.recipients * args.telegram_rate /
                       (args.telegram_rate + args.whatsapp_rate))
    eligible = {"telegram": telegram_n, "whatsapp": args.recipients - telegram_n}
    harness.fresh_database(args.database_url)
    harness.flush_redis(args.redis_url)
    engine = make_engine(args.database_url)
    sessions = make_sessionmaker(engine)
    say(f"seeding {args.recipients + 4 * EXCLUDED_PER_CHANNEL} contacts: {eligible}")
    seed(engine, eligible)
    open_windows(args.redis_url, engine)
    telegram, graph = FakeTelegram(), FakeGraph(WA_TOKEN)
    log_path = ROOT / "var" / "bench" / "log" / "outreach-worker.log"
    worker: subprocess.Popen[bytes] | None = None
    with ThreadedServer(telegram.app) as tg_server, ThreadedServer(graph.app) as wa_server:
        try:
            campaign_id = in_transaction(sessions, lambda s: campaigns.create(
                s, title="Bench", text="Vaksinasi gratis Sabtu ini di puskesmas terdekat.",
                segment=Segment(), staff_id=None,
                buttons=[{"title": "Info", "payload": "info vaksin"}]).id)
            started = time.monotonic()
            in_transaction(sessions, campaigns.start, campaign_id)
            queue_s = time.monotonic() - started
            queued = in_transaction(sessions, lambda s: campaigns.progress(s, campaign_id))
            say(f"queued {queued['queued']} recipients in {queue_s:.2f} s")
            env = worker_env(args, tg_server.url, wa_server.url)
            send_started = time.monotonic()
            worker = start_worker(env, log_path)
            kill_at = int(args.kill_at * queued["queued"])
            while len(received(telegram, graph)[0]) < kill_at:
                time.sleep(0.2)
            worker.send_signal(signal.SIGKILL)
            worker.wait()
            killed_at = time.monotonic()
            at_kill = in_transaction(sessions, lambda s: campaigns.progress(s, campaign_id))
            say(f"worker killed with {sum(received(telegram, graph)[0].values())} messages "
                f"out; recipients {at_kill}")
            late = late_stops(engine, campaign_id)
            worker = start_worker(env, log_path)
            deadline = time.monotonic() + args.timeout
            state = "sending"
            while time.monotonic() < deadline:
                state = in_transaction(sessions, lambda s: s.get(Campaign, campaign_id).state)
                if state == "done":
                    break
                time.sleep(1.0)
            done_at = time.monotonic()
            final = in_transaction(sessions, lambda s: campaigns.progress(s, campaign_id))
            say(f"campaign {state} after {done_at - send_started:.0f} s: {final}")
        finally:
            if worker is not None and worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
        counts, tg_times, wa_times = received(telegram, graph)
    with engine.connect() as conn:
        recipients = select(Contact.external_id).join(
            CampaignRecipient, CampaignRecipient.contact_id == Contact.id).where(
            CampaignRecipient.campaign_id == campaign_id)
        due = set(conn.scalars(recipients)) - late
        unconfirmed = set(conn.scalars(recipients.where(
            CampaignRecipient.state == "unconfirmed")))
        consenting = select(Consent.id).where(Consent.contact_id == Contact.id,
                                              Consent.withdrawn_at.is_(None))
        excluded = set(conn.scalars(select(Contact.external_id).where(
            (Contact.status == "stopped") | ~consenting.exists())))
    engine.dispose()
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    lost = sorted(due - set(counts))
    return {
        "value": round(queue_s, 2), "unit": "s", "target_s": QUEUE_TARGET_S,
        "met": queue_s < QUEUE_TARGET_S,
        "recipients": queued["queued"], "duplicates": duplicates, "lost": len(lost),
        "opted_out_received": sum(counts[x] for x in excluded),
        "late_stops": len(late), "late_stops_received": sum(counts[x] for x in late),
        "messages": sum(counts.values()),
        # Cut off by the kill mid-call, never re-sent: how many the fakes did receive.
        "unconfirmed": len(unconfirmed),
        "unconfirmed_received": sum(1 for x in unconfirmed if counts[x]),
        "kill": {"after_messages": kill_at, "recipients_at_kill": at_kill,
                 "restart_to_done_s": round(done_at - killed_at, 1)},
        "final_states": final, "campaign_state": state,
        "send_s": round(done_at - send_started, 1),
        "rates": {"telegram": rates(tg_times, args.telegram_rate, killed_at),
                  "whatsapp": rates(wa_times, args.whatsapp_rate, killed_at)},
    }


def late_stops(engine: Any, campaign_id: int) -> set[str]:
    """STOP after queueing: LATE_STOPS residents still queued withdraw their consent."""
    with engine.begin() as conn:
        rows = conn.execute(select(Contact.id, Contact.external_id).join(
            CampaignRecipient, CampaignRecipient.contact_id == Contact.id).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.state == "queued")
            .order_by(CampaignRecipient.id.desc()).limit(LATE_STOPS)).all()
        conn.execute(text("UPDATE consents SET withdrawn_at = now(), withdrawn_by = 'stop_word' "
                          "WHERE contact_id = ANY(:ids)"), {"ids": [r[0] for r in rows]})
    return {r[1] for r in rows}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.outreach")
    parser.add_argument("--recipients", type=int, default=100_000)
    # The production defaults (docs/channels.md): Telegram 30/s, WhatsApp 80/s per number.
    parser.add_argument("--telegram-rate", type=float, default=30.0)
    parser.add_argument("--whatsapp-rate", type=float, default=80.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--kill-at", type=float, default=0.4)
    parser.add_argument("--timeout", type=float, default=1800.0)
    parser.add_argument("--database-url", default=os.environ.get(
        "BENCH_OUTREACH_DATABASE_URL",
        "postgresql+psycopg://postgres@127.0.0.1:5432/pintu_bench_campaigns"))
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/10",
                        help="flushed at the start (db 10 by default)")
    args = parser.parse_args(argv)
    stop_on_sigterm()  # the worker is stopped on the way out
    result: dict[str, Any] = {
        "name": "outreach", "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "config": {k: getattr(args, k) for k in ("recipients", "telegram_rate",
                                                 "whatsapp_rate", "concurrency", "kill_at")},
    }
    result.update(run(args))
    result["machine"]["load_average_1m_at_end"] = os.getloadavg()[0]
    publish(result)
    if result["duplicates"] or result["lost"] or result["opted_out_received"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
