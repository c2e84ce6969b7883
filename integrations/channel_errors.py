"""Typed errors every channel client raises, so the outbound queue treats both channels alike."""

from __future__ import annotations


class ChannelError(Exception):
    """A channel refused or failed a call. `retryable` says whether trying again can help."""

    retryable = False

    def __init__(self, message: str, *, code: str | int | None = None) -> None:
        super().__init__(message)
        self.code = code


class TemporaryFailure(ChannelError):
    """5xx, a timeout or a network error: try again with backoff.

    `maybe_delivered`: the request went out and its answer was lost (a read timeout, a dropped
    connection), so the channel may have sent the message; a connection that was never made, or
    an error answer, is False. Replies are retried all the same (a repeat beats a loss);
    broadcasts are not (`bot.outbound.JobHook.uncertain`)."""

    retryable = True

    def __init__(self, message: str, *, code: str | int | None = None,
                 maybe_delivered: bool = False) -> None:
        super().__init__(message, code=code)
        self.maybe_delivered = maybe_delivered


class RateLimited(TemporaryFailure):
    """The channel said "slow down" (Telegram 429 retry_after, WhatsApp 130429/131056/80007).

    `retry_after` is the wait the channel asked for, in seconds (None when it gave none)."""

    def __init__(self, message: str, *, retry_after: float | None = None,
                 code: str | int | None = None) -> None:
        super().__init__(message, code=code)
        self.retry_after = retry_after


class Rejected(ChannelError):
    """The channel refused this request for good (bad parameters, unknown media): do not retry."""


class RecipientUnavailable(Rejected):
    """The resident cannot be reached: blocked the bot, left, or is not on the channel."""


class OutsideWindow(Rejected):
    """WhatsApp: a free-form message outside the 24-hour customer-service window (131047)."""
