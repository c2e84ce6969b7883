"""Agency clients against httpx.MockTransport: retries, backoff, circuit breaker, typed errors,
masking. Runs in both environments (Python 3.10 + pydantic 1.10, Python 3.11 + pydantic 2)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import httpx
import pytest

from integrations.agency import (
    AgencyClients,
    AgencyError,
    AgencyHttp,
    AgencyNotFound,
    AgencyRejected,
    AgencyUnavailable,
    CircuitBreaker,
    CircuitOpen,
    DukcapilClient,
    IdentityNotVerified,
    LaksaClient,
    QueueClient,
    RetryPolicy,
    TaxClient,
    mask_nik,
    redact,
)
from integrations.agency.base import retry_after_seconds
from integrations.agency.breaker import CLOSED, HALF_OPEN, OPEN

NIK = "3671051207800002"
KK = "3671051403150007"
KTP = {"status": "siap_diambil", "status_label": "Sudah jadi, siap diambil",
       "office": "Kantor Kecamatan Tangerang", "ready_since": "2026-11-20", "collected_on": None,
       "note": None, "updated_at": "2026-11-20T06:00:00+07:00"}
BOOKING = {"booking_number": "ANT-123456", "service": "ktp_el", "service_name": "KTP-el",
           "office": "disdukcapil", "office_name": "Disdukcapil", "date": "2026-11-25",
           "queue_number": "A-017", "window_start": "09:00", "window_end": "09:30",
           "status": "aktif", "status_label": "Aktif", "requirements": ["KK asli"],
           "created_at": "2026-11-24T09:00:00Z", "updated_at": "2026-11-24T09:00:00Z",
           "created": True, "history": [{"status": "aktif", "status_label": "Aktif",
                                         "at": "2026-11-24T09:00:00+07:00", "note": "dipesan"}]}


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A MockTransport handler that plays scripted answers and keeps the requests."""

    def __init__(self, *answers: httpx.Response | Exception | Callable[[httpx.Request], Any]):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        if callable(answer):
            return answer(request)
        return answer


def ok(body: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def fail(status: int, code: str = "x", message: str = "pesan", **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}},
                          headers=headers)


def mock_client(handler: Callable[[httpx.Request], Any]) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url="http://agency.test", transport=httpx.MockTransport(handler))


def make(recorder: Recorder, *, attempts: int = 3, threshold: int = 5, reset: float = 30.0,
         clock: FakeClock | None = None, service: str = "test") -> tuple[AgencyHttp, list[float]]:
    sleeps: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        sleeps.append(seconds)

    client = mock_client(recorder)
    breaker = CircuitBreaker(threshold, reset, clock=clock or FakeClock(), name=service)
    http = AgencyHttp(client, service=service, retry=RetryPolicy(attempts=attempts),
                      breaker=breaker, sleep=fake_sleep, rand=lambda: 0.5)
    return http, sleeps


# ------------------------------------------------------------------ success and parsing
@pytest.mark.asyncio
async def test_ktp_status_is_posted_and_parsed_into_a_frozen_dataclass() -> None:
    recorder = Recorder(ok(KTP))
    http, _ = make(recorder)
    status = await DukcapilClient(http).ktp_status(NIK, KK)
    assert status.status == "siap_diambil" and status.ready_since.isoformat() == "2026-11-20"
    assert status.updated_at is not None
    assert status.updated_at.utcoffset().total_seconds() == 7 * 3600  # type: ignore[union-attr]
    request = recorder.requests[0]
    assert request.method == "POST" and request.url.path == "/dukcapil/v1/ktp/status"
    assert json.loads(request.content) == {"nik": NIK, "kk_number": KK}
    assert NIK not in str(request.url)  # personal data only in the body
    with pytest.raises(AttributeError):
        status.status = "dicetak"  # type: ignore[misc]


@pytest.mark.asyncio
async def test_path_values_are_url_encoded_and_z_times_parse() -> None:
    recorder = Recorder(ok(BOOKING))
    http, _ = make(recorder)
    booking = await QueueClient(http).booking("ant-123456/../x")
    assert recorder.requests[0].url.raw_path == b"/queue/v1/bookings/ANT-123456%2F..%2FX"
    assert booking.queue_number == "A-017" and booking.window_start.hour == 9
    assert booking.created_at == datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
    assert booking.history[0].note == "dipesan"


@pytest.mark.asyncio
async def test_tax_client_sends_digits_only() -> None:
    recorder = Recorder(fail(404, "nop_not_found", "NOP tidak ditemukan."))
    http, _ = make(recorder)
    with pytest.raises(AgencyNotFound):
        await TaxClient(http).pbb_bill("36.71.010.001.002-0034.0")
    assert recorder.requests[0].url.path == "/tax/v1/pbb/367101000100200340"


# ------------------------------------------------------------------ retries and backoff
@pytest.mark.asyncio
async def test_idempotent_request_is_retried_with_exponential_backoff() -> None:
    recorder = Recorder(fail(503), fail(502), ok(BOOKING))
    http, sleeps = make(recorder)
    booking = await QueueClient(http).booking("ANT-123456")
    assert booking.booking_number == "ANT-123456"
    assert len(recorder.requests) == 3
    # equal jitter with rand() = 0.5: 3/4 of 0.25 s, then 3/4 of 0.5 s
    assert sleeps == [pytest.approx(0.1875), pytest.approx(0.375)]


def test_backoff_stays_within_its_jitter_bounds_and_ceiling() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=2.0)
    for retry in range(1, 8):
        cap = min(2.0, 0.5 * 2 ** (retry - 1))
        assert policy.backoff(retry, 0.0) == pytest.approx(cap / 2)
        assert policy.backoff(retry, 1.0) == pytest.approx(cap)


@pytest.mark.asyncio
async def test_retry_after_is_honoured_on_429_even_for_a_post() -> None:
    # a plain POST that is not idempotent: 429 proves it was not processed, so it is repeated
    recorder = Recorder(fail(429, **{"Retry-After": "2"}),
                        ok({"registration_number": "AKL-123456", "status": "diajukan",
                            "status_label": "Diajukan", "submitted_at": "2026-11-24T09:00:00+07:00",
                            "created": True}, 201))
    http, sleeps = make(recorder)
    receipt = await DukcapilClient(http).submit_birth_registration(
        child_name="Kirana", birth_date="2026-11-01", birth_place="RSUD", father_nik=NIK,
        mother_nik="3671056502830005", documents=[{"kind": "kk", "ref": "r"}])
    assert receipt.registration_number == "AKL-123456"
    assert sleeps == [2.0] and len(recorder.requests) == 2


@pytest.mark.asyncio
async def test_a_long_retry_after_gives_up_at_once() -> None:
    recorder = Recorder(fail(503, "maintenance", **{"Retry-After": "120"}))
    http, sleeps = make(recorder)
    with pytest.raises(AgencyUnavailable) as info:
        await QueueClient(http).services()
    assert info.value.retry_after == 120 and info.value.status == 503
    assert sleeps == [] and len(recorder.requests) == 1


def test_retry_after_accepts_an_http_date() -> None:
    now = datetime(2026, 11, 24, 2, 0, 0, tzinfo=timezone.utc)
    assert retry_after_seconds("Tue, 24 Nov 2026 02:00:07 GMT", lambda: now) == 7
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


@pytest.mark.asyncio
async def test_non_idempotent_post_is_not_retried_after_a_5xx_or_a_read_timeout() -> None:
    args = dict(child_name="Kirana", birth_date="2026-11-01", birth_place="RSUD",
                father_nik=NIK, mother_nik="3671056502830005",
                documents=[{"kind": "kk", "ref": "r"}])
    for answer in (fail(500), httpx.ReadTimeout("slow")):
        recorder = Recorder(answer)
        http, sleeps = make(recorder)
        with pytest.raises(AgencyUnavailable):
            await DukcapilClient(http).submit_birth_registration(**args)  # type: ignore[arg-type]
        assert len(recorder.requests) == 1 and sleeps == []


@pytest.mark.asyncio
async def test_post_is_retried_when_the_connection_was_refused() -> None:
    recorder = Recorder(httpx.ConnectError("refused"),
                        ok({"registration_number": "AKL-123456", "status": "diajukan",
                            "submitted_at": None}, 201))
    http, sleeps = make(recorder)
    receipt = await DukcapilClient(http).submit_birth_registration(
        child_name="Kirana", birth_date="2026-11-01", birth_place="RSUD", father_nik=NIK,
        mother_nik="3671056502830005", documents=[{"kind": "kk", "ref": "r"}])
    assert receipt.registration_number == "AKL-123456" and len(sleeps) == 1


@pytest.mark.asyncio
async def test_idempotent_complaint_is_retried_after_a_timeout() -> None:
    receipt = {"agency_ref": "TLR-100300", "external_ref": "LKS-123456",
               "assigned_agency": "Dinas Lingkungan Hidup", "expected_response_days": 2,
               "status": "diteruskan", "created_at": "2026-11-24T09:00:00+07:00", "created": False}
    recorder = Recorder(httpx.ReadTimeout("slow"), ok(receipt))
    http, _ = make(recorder)
    result = await LaksaClient(http).submit_complaint(
        external_ref="LKS-123456", category="sampah", description="Sampah menumpuk",
        reporter_ref="abc123")
    assert result.agency_ref == "TLR-100300" and result.created is False
    bodies = [json.loads(r.content) for r in recorder.requests]
    assert bodies[0] == bodies[1] and bodies[0]["external_ref"] == "LKS-123456"


@pytest.mark.asyncio
async def test_gives_up_after_the_last_attempt() -> None:
    recorder = Recorder(fail(502, "bad_gateway"))
    http, sleeps = make(recorder, attempts=4)
    with pytest.raises(AgencyUnavailable) as info:
        await QueueClient(http).services()
    assert len(recorder.requests) == 4 and len(sleeps) == 3
    assert info.value.status == 502 and info.value.code == "bad_gateway"


# ------------------------------------------------------------------ typed errors
@pytest.mark.asyncio
@pytest.mark.parametrize(("response", "error", "code"), [
    (fail(404, "identity_not_verified", "tidak cocok"), IdentityNotVerified,
     "identity_not_verified"),
    (fail(404, "booking_not_found", "Nomor antrean tidak ditemukan."), AgencyNotFound,
     "booking_not_found"),
    (fail(422, "invalid_request", "Data tidak valid: nik."), AgencyRejected, "invalid_request"),
    (fail(409, "fully_booked", "Kuota habis."), AgencyRejected, "fully_booked"),
    (fail(401, "unauthorized", "no"), AgencyError, "unauthorized"),
])
async def test_errors_are_typed(response: httpx.Response, error: type[Exception],
                                code: str) -> None:
    recorder = Recorder(response)
    http, sleeps = make(recorder)
    with pytest.raises(error) as info:
        await DukcapilClient(http).ktp_status(NIK, KK)
    assert type(info.value) is error and info.value.code == code  # type: ignore[attr-defined]
    assert len(recorder.requests) == 1 and sleeps == []  # a 4xx is never retried


@pytest.mark.asyncio
async def test_rejection_carries_the_agency_message_for_the_resident() -> None:
    http, _ = make(Recorder(fail(422, "birth_date_in_future",
                                 "Tanggal lahir tidak boleh di masa depan.")))
    with pytest.raises(AgencyRejected) as info:
        await DukcapilClient(http).submit_birth_registration(
            child_name="Kirana", birth_date="2030-01-01", birth_place="RSUD", father_nik=NIK,
            mother_nik="3671056502830005", documents=[])
    assert info.value.public_message == "Tanggal lahir tidak boleh di masa depan."
    assert info.value.status == 422


@pytest.mark.asyncio
async def test_identity_failure_hides_which_part_was_wrong() -> None:
    http, _ = make(Recorder(fail(404, "identity_not_verified", "NIK 3671051207800002 salah")))
    with pytest.raises(IdentityNotVerified) as info:
        await DukcapilClient(http).verify_identity(NIK, KK)
    assert "NIK" in info.value.public_message and NIK not in info.value.public_message
    assert not isinstance(info.value, AgencyNotFound)


@pytest.mark.asyncio
async def test_broken_bodies_become_agency_errors() -> None:
    http, _ = make(Recorder(httpx.Response(200, text="<html>proxy</html>")), attempts=1)
    with pytest.raises(AgencyUnavailable):
        await QueueClient(http).services()
    http, _ = make(Recorder(ok({"unexpected": True})))
    with pytest.raises(AgencyError, match="unexpected response shape"):
        await DukcapilClient(http).ktp_status(NIK, KK)
    http, _ = make(Recorder(httpx.Response(500, text="oops")), attempts=1)
    with pytest.raises(AgencyUnavailable) as info:
        await QueueClient(http).services()
    assert info.value.status == 500 and info.value.code is None


# ------------------------------------------------------------------ circuit breaker
@pytest.mark.asyncio
async def test_circuit_opens_then_recovers_through_half_open() -> None:
    clock = FakeClock()
    recorder = Recorder(fail(503), fail(503), ok([]))
    http, _ = make(recorder, attempts=1, threshold=2, reset=10.0, clock=clock)
    queue = QueueClient(http)
    for _ in range(2):
        with pytest.raises(AgencyUnavailable):
            await queue.services()
    assert http.breaker.state == OPEN
    with pytest.raises(CircuitOpen) as info:
        await queue.services()
    assert len(recorder.requests) == 2  # refused without a request
    assert info.value.retry_after == pytest.approx(10.0)
    clock.now += 10.0
    assert http.breaker.state == HALF_OPEN
    assert await queue.services() == ()  # the trial succeeds
    assert http.breaker.state == CLOSED and len(recorder.requests) == 3


@pytest.mark.asyncio
async def test_a_failed_trial_opens_the_circuit_again() -> None:
    clock = FakeClock()
    recorder = Recorder(httpx.ConnectError("down"))
    http, _ = make(recorder, attempts=1, threshold=1, reset=5.0, clock=clock)
    with pytest.raises(AgencyUnavailable):
        await QueueClient(http).services()
    clock.now += 5.0
    with pytest.raises(AgencyUnavailable) as info:
        await QueueClient(http).services()
    assert not isinstance(info.value, CircuitOpen)  # the trial went out and failed
    assert http.breaker.state == OPEN
    with pytest.raises(CircuitOpen):
        await QueueClient(http).services()
    assert len(recorder.requests) == 2


def test_half_open_lets_one_trial_through_at_a_time() -> None:
    clock = FakeClock()
    breaker = CircuitBreaker(1, 5.0, clock=clock)
    breaker.record_failure()
    clock.now += 5.0
    assert breaker.allow() is True
    assert breaker.allow() is False  # the trial is still out
    breaker.release()  # e.g. it was cancelled
    assert breaker.allow() is True
    breaker.record_success()
    assert breaker.state == CLOSED and breaker.allow() is True


@pytest.mark.asyncio
async def test_client_errors_do_not_trip_the_breaker() -> None:
    http, _ = make(Recorder(fail(404, "booking_not_found")), threshold=1)
    for _ in range(3):
        with pytest.raises(AgencyNotFound):
            await QueueClient(http).booking("ANT-000000")
    assert http.breaker.state == CLOSED


@pytest.mark.asyncio
async def test_cancelled_request_releases_the_trial() -> None:
    clock = FakeClock()

    async def hang(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(10)
        return ok([])

    class Hanging(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            return await hang(request)

    breaker = CircuitBreaker(1, 1.0, clock=clock)
    breaker.record_failure()
    clock.now += 1.0
    client = httpx.AsyncClient(base_url="http://agency.test", transport=Hanging())
    http = AgencyHttp(client, service="queue", breaker=breaker)
    task = asyncio.ensure_future(QueueClient(http).services())
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.allow() is True  # the slot was given back
    await client.aclose()


@pytest.mark.asyncio
async def test_each_service_has_its_own_breaker_over_one_shared_client() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/dukcapil"):
            return fail(503)
        return ok({"customer_no": "0105001234", "bills": [], "total_due": 0})

    client = mock_client(handler)
    clients = AgencyClients.from_client(client, retry=RetryPolicy(attempts=1), failure_threshold=1)
    assert clients.dukcapil.http.client is clients.tax.http.client is clients.http
    with pytest.raises(AgencyUnavailable):
        await clients.dukcapil.ktp_status(NIK, KK)
    with pytest.raises(CircuitOpen):
        await clients.dukcapil.ktp_status(NIK, KK)
    bill = await clients.tax.pdam_bill("0105001234")
    assert bill.total_due == 0
    await clients.aclose()
    assert client.is_closed


@pytest.mark.asyncio
async def test_from_base_url_builds_one_client_and_closes_it() -> None:
    async with AgencyClients.from_base_url("http://127.0.0.1:8100", timeout=2.5) as clients:
        assert str(clients.http.base_url) == "http://127.0.0.1:8100"
        assert clients.queue.http.timeout == 2.5
        assert {c.http.service for c in (clients.dukcapil, clients.laksa, clients.queue,
                                         clients.health, clients.tax)} == {
            "dukcapil", "laksa", "queue", "health", "tax"}
    assert clients.http.is_closed


@pytest.mark.asyncio
async def test_per_request_timeout_reaches_the_transport() -> None:
    seen: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return ok([])

    client = mock_client(handler)
    http = AgencyHttp(client, service="queue", timeout=1.5)
    await http.request("GET", "/queue/v1/services")
    await http.request("GET", "/queue/v1/services", timeout=0.2)
    assert seen[0]["read"] == 1.5 and seen[1]["read"] == 0.2
    await client.aclose()


# ------------------------------------------------------------------ personal data
def test_mask_keeps_first_four_and_last_two_digits() -> None:
    assert mask_nik("3671051207800002") == "3671**********02"
    assert redact(f"NIK {NIK} dan KK {KK}.") == "NIK 3671**********02 dan KK 3671**********07."
    assert redact("ANT-123456 and 12345678901234567") == "ANT-123456 and 12345678901234567"


@pytest.mark.asyncio
async def test_nik_and_kk_never_reach_logs_or_exception_messages(
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    echo = f"NIK {NIK} dengan KK {KK} tidak cocok"
    recorder = Recorder(httpx.ConnectError(f"refused for {NIK}"), fail(503, "down", echo),
                        fail(422, "invalid_request", echo),
                        fail(404, "identity_not_verified", echo))
    http, _ = make(recorder, attempts=2, service="dukcapil")
    dukcapil = DukcapilClient(http)
    errors: list[AgencyError] = []
    for _ in range(3):
        try:
            await dukcapil.ktp_status(NIK, KK)
        except AgencyError as exc:
            errors.append(exc)
    assert [type(e) for e in errors] == [AgencyUnavailable, AgencyRejected, IdentityNotVerified]
    texts = [r.getMessage() for r in caplog.records] + [str(e) for e in errors]
    texts += [e.public_message for e in errors] + [repr(e) for e in errors]
    assert caplog.records, "the retry should have been logged"
    for text in texts:
        assert NIK not in text and KK not in text
    assert "3671**********02" in errors[1].public_message
