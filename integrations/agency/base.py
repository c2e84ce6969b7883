"""The one door to the agency APIs: `AgencyHttp.request`, with timeouts, retries and a breaker.

Retries (exponential backoff with jitter, honouring Retry-After) happen only when the failure is
transient (network error, timeout, 5xx, 429) and repeating is safe: the request is idempotent, or
the failure shows it was never processed (connection refused, 429).
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx

from .breaker import CircuitBreaker
from .errors import (
    AgencyError,
    AgencyNotFound,
    AgencyRejected,
    AgencyUnavailable,
    CircuitOpen,
    IdentityNotVerified,
)

log = logging.getLogger("integrations.agency")

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
# Failures that prove the request never reached the agency, so even a POST may be repeated.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    Attributes:
        attempts: tries in all, the first included.
        base_delay: seconds before the first retry, doubled for each next one.
        max_delay: ceiling of one backoff.
        max_retry_after: a longer Retry-After means give up now rather than keep a resident waiting.
    """

    attempts: int = 3
    base_delay: float = 0.25
    max_delay: float = 4.0
    max_retry_after: float = 10.0

    def backoff(self, retry: int, rand: float) -> float:
        """Delay before retry number `retry` (1-based): half fixed, half random ("equal jitter")."""
        cap = min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))
        return float(cap / 2 + cap / 2 * rand)


def retry_after_seconds(value: str | None,
                        now: Callable[[], datetime] | None = None) -> float | None:
    """Retry-After as seconds: either a number or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = now() if now else datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


def _error_fields(response: httpx.Response) -> tuple[str | None, str | None]:
    try:
        error = response.json().get("error") or {}
        return error.get("code"), error.get("message")
    except (ValueError, AttributeError):
        return None, None


class AgencyHttp:
    """JSON over HTTP to one agency service, errors mapped to `errors.py`.

    Args:
        client: an injected `httpx.AsyncClient` (tests pass one with a MockTransport); when None,
            one is built for `base_url` and closed by `aclose`.
        service: name used in logs, errors and the breaker ("dukcapil").
        timeout: seconds per attempt, unless a request gives its own.
        sleep, rand: injectable for tests (fake sleep, fixed jitter).
    """

    def __init__(self, client: httpx.AsyncClient | None = None, *, base_url: str | None = None,
                 service: str = "agency", timeout: float = 5.0, retry: RetryPolicy | None = None,
                 breaker: CircuitBreaker | None = None,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 rand: Callable[[], float] = random.random) -> None:
        if client is None and base_url is None:
            raise ValueError("give an httpx.AsyncClient or a base_url")
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(base_url=base_url or "", timeout=timeout)
        self.service = service
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker(name=service)
        self._sleep, self._rand = sleep, rand

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()

    async def request(self, method: str, path: str, *, path_params: Mapping[str, Any] | None = None,
                      json: Any = None, params: Mapping[str, Any] | None = None,
                      idempotent: bool | None = None, timeout: float | None = None) -> Any:
        """Sends one logical request (retrying as allowed) and returns the decoded JSON body.

        Args:
            path: a route template such as "/queue/v1/bookings/{number}"; only the template is
                ever logged, the values go in `path_params` and are URL-encoded.
            idempotent: defaults to the HTTP method's semantics; True for read-only POSTs and
                POSTs the agency de-duplicates.

        Raises:
            AgencyUnavailable, CircuitOpen, AgencyNotFound, AgencyRejected, IdentityNotVerified,
            AgencyError.
        """
        method = method.upper()
        url = path.format(**{k: quote(str(v), safe="") for k, v in (path_params or {}).items()})
        safe = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        query = {k: v for k, v in (params or {}).items() if v is not None}
        where = f"{self.service} {method} {path}"
        for attempt in range(1, self.retry.attempts + 1):
            if not self.breaker.allow():
                raise CircuitOpen(f"{where}: circuit open, request not sent", service=self.service,
                                  retry_after=self.breaker.retry_in)
            started = time.monotonic()
            try:
                seconds = timeout or self.timeout
                response = await self.client.request(
                    method, url, json=json, params=query or None,
                    timeout=httpx.Timeout(seconds, connect=min(seconds, 3.0)))
            except httpx.TransportError as exc:
                self.breaker.record_failure()
                kind = "timeout" if isinstance(exc, httpx.TimeoutException) else "network error"
                error: AgencyError = AgencyUnavailable(f"{where}: {kind} ({type(exc).__name__})",
                                                       service=self.service)
                retryable, delay = safe or isinstance(exc, _NOT_SENT), None
            except BaseException:
                self.breaker.release()  # cancelled: no verdict on the agency
                raise
            else:
                status = response.status_code
                log.debug("%s -> %d (%.0f ms)", where, status, (time.monotonic() - started) * 1000)
                if status < 400:
                    return self._decode(response, where)
                if status < 500 and status != 429:
                    self.breaker.record_success()  # the agency answered; the request was wrong
                    raise self._client_error(response, where)
                if status == 429:
                    self.breaker.release()
                else:
                    self.breaker.record_failure()
                code, _ = _error_fields(response)
                delay = retry_after_seconds(response.headers.get("Retry-After"))
                error = AgencyUnavailable(f"{where}: {status} {code or ''}".rstrip(),
                                          service=self.service, status=status, code=code,
                                          retry_after=delay)
                retryable = safe or status == 429
                if delay is not None and delay > self.retry.max_retry_after:
                    retryable = False
            if not retryable or attempt == self.retry.attempts:
                log.warning("%s failed: %s", where, error)
                raise error
            wait = delay if delay is not None else self.retry.backoff(attempt, self._rand())
            log.warning("%s failed (%s); retry %d/%d in %.2f s", where, error, attempt,
                        self.retry.attempts - 1, wait)
            await self._sleep(wait)
        raise AssertionError("unreachable")  # the loop always returns or raises

    def _decode(self, response: httpx.Response, where: str) -> Any:
        if response.status_code == 204 or not response.content:
            self.breaker.record_success()
            return None
        try:
            data = response.json()
        except ValueError:
            self.breaker.record_failure()  # a proxy's HTML page, a truncated body: not healthy
            raise AgencyUnavailable(f"{where}: {response.status_code} with a non-JSON body",
                                    service=self.service, status=response.status_code) from None
        self.breaker.record_success()
        return data

    def _client_error(self, response: httpx.Response, where: str) -> AgencyError:
        status = response.status_code
        code, message = _error_fields(response)
        text = f"{where}: {status} {code or ''}".rstrip()
        kwargs: dict[str, Any] = {"service": self.service, "status": status, "code": code,
                                  "public_message": message}
        if code == "identity_not_verified":
            return IdentityNotVerified(text, **{**kwargs, "public_message": None})
        if status == 404:
            return AgencyNotFound(text, **kwargs)
        if status in (401, 403):
            return AgencyError(text, **kwargs)  # our credentials or configuration, not the input
        return AgencyRejected(text, **kwargs)


class ServiceClient:
    """Base of the per-agency clients: holds the `AgencyHttp` they all go through."""

    service = "agency"

    def __init__(self, http: AgencyHttp | httpx.AsyncClient) -> None:
        self.http = http if isinstance(http, AgencyHttp) else AgencyHttp(http, service=self.service)
