"""The burst alarm of failed identity checks (possible enumeration of NIKs), as the gateway keeps
it: an audit entry for admins and two numbers on /metrics. Counts only, never who or which NIK.

The action server counts the failures and decides when the alarm goes off (actions/logic/
attempts.py); it reports each alarm once, through `/internal/v1/identity-alarms`.
"""

from __future__ import annotations

from redis.asyncio import Redis
from sqlalchemy.orm import Session

from ..staff import audit

ACTION = "identity_burst_alarm"  # the audit log's action name
ACTIVE_KEY = "pintu:metrics:identity-alarm"  # exists while the alarm's window lasts
TOTAL_KEY = "pintu:metrics:identity-alarms"  # alarms since the store began


async def remember(redis: Redis, window_s: int) -> None:
    """Shows the alarm on /metrics for its window and counts it."""
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(ACTIVE_KEY, "1", ex=window_s)
        pipe.incr(TOTAL_KEY)
        await pipe.execute()


async def state(redis: Redis) -> tuple[bool, int]:
    """(whether the alarm is on, how many alarms were raised)."""
    active, total = await redis.mget(ACTIVE_KEY, TOTAL_KEY)
    return active is not None, int(total or 0)


def record(session: Session, failures: int, window_s: int, threshold: int) -> None:
    """The admins' audit entry (no staff member did it: staff_id None)."""
    audit.record(session, None, ACTION, "identity_checks",
                 detail={"failures": failures, "window_s": window_s, "threshold": threshold})
