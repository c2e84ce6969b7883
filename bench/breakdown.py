"""Where a message's time went: before Rasa, inside Rasa, after Rasa.

Rasa stamps every tracker event with its wall-clock time, and keeps trackers in Redis when the
stack has REDIS_URL (`bot/stack.py` writes the endpoints). The first event of a new conversation
(`session_started_metadata`) is stamped when Rasa starts on the message, the last (`action_listen`)
when its answer is ready. Lined up with the wall-clock times this process saw (request sent, reply
received), the difference between raw Rasa and the whole stack shows which side the gateway's cost
is on. All on one machine, so one clock.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from .stats import latency_ms

TRACKER_KEY = "rasa:tracker:{sender}"  # endpoints-redis.yml: key_prefix "rasa"


def tracker_events(redis_url: str, senders: Iterable[str]) -> dict[str, list[dict[str, Any]]]:
    """Each sender's tracker events as Rasa stored them; senders without a tracker are left
    out."""
    import redis

    names = list(senders)
    client = redis.Redis.from_url(redis_url)
    try:
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.get(TRACKER_KEY.format(sender=name))
        raw = pipe.execute()
    finally:
        client.close()
    return {name: json.loads(value).get("events", [])
            for name, value in zip(names, raw, strict=True) if value}


def rasa_spans(redis_url: str, senders: Iterable[str]) -> dict[str, tuple[float, float]]:
    """(first, last) event time of each sender's tracker; senders without one are left out."""
    spans = {}
    for name, events in tracker_events(redis_url, senders).items():
        stamps = [float(e["timestamp"]) for e in events if e.get("timestamp") is not None]
        if stamps:
            spans[name] = (min(stamps), max(stamps))
    return spans


def user_messages(redis_url: str, senders: Iterable[str]) -> int:
    """How many residents' messages Rasa has seen from these senders (its `user` events)."""
    return sum(1 for events in tracker_events(redis_url, senders).values()
               for e in events if e.get("event") == "user")


def split(redis_url: str, timings: dict[str, tuple[float, float]]) -> dict[str, Any] | None:
    """Milliseconds before Rasa (request sent to Rasa starting), in Rasa, and after Rasa (answer
    ready to reply received), for `timings`: sender -> (sent, received) on the wall clock."""
    spans = rasa_spans(redis_url, timings)
    if not spans:
        return None
    before, inside, after = [], [], []
    for sender, (first, last) in spans.items():
        sent, received = timings[sender]
        before.append(first - sent)
        inside.append(last - first)
        after.append(received - last)
    return {"messages": len(spans), "before_rasa_ms": latency_ms(before),
            "in_rasa_ms": latency_ms(inside), "after_rasa_ms": latency_ms(after)}
