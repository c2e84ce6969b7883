"""Identity checks before any document status (issue 8): a birth registration's status only with a
parent's NIK, one limit per chat shared by KTP, KK and birth checks, a limit per NIK across chats,
and the burst alarm. Real Trackers and CollectingDispatchers; the agencies through MockTransport."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import context
from actions.birth import ActionBirthCertificate
from actions.conversation import ActionStrayAnswer
from actions.documents import ActionDocumentStatus, ActionKtp
from actions.gateway_client import GatewayClient
from actions.logic.attempts import (
    Burst,
    IdentityGuard,
    Limits,
    MemoryAttemptStore,
    RedisAttemptStore,
    Refusal,
)
from actions.tickets import ActionRequestStatus, ActionTicketStatus, ValidateStatusForm

from .conftest import FakeServer, make_tracker

NIK = "3671015503920008"  # a mother's NIK
OTHER_NIK = "3671014507890002"
KK = "3671011203150004"
BIRTH = "/dukcapil/v1/birth-registrations/status"
MISMATCH = {"error": {"code": "identity_not_verified", "message": "tidak cocok"}}
REGISTRATION = {"registration_number": "AKL-100002", "status": "perlu_perbaikan",
                "status_label": "Perlu perbaikan berkas", "child_initials": "N. H.",
                "certificate_number": None, "submitted_at": "2026-11-27T09:00:00+07:00",
                "updated_at": "2026-11-28T10:00:00+07:00",
                "history": [{"status": "diajukan", "status_label": "Diajukan",
                             "at": "2026-11-27T09:00:00+07:00", "note": "Pengajuan diterima."}]}


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def slots(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


async def birth_check(domain: dict[str, Any], sender: str = "api:warga", nik: str = NIK,
                      number: str = "AKL-100002") -> tuple[str, list[dict[str, Any]]]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(nik, latest_action="status_form", sender=sender,
                           slots={"ticket_id": number, "parent_nik": nik})
    events = await ActionTicketStatus().run(dispatcher, tracker, domain)
    return texts(dispatcher), events


async def ktp_check(domain: dict[str, Any], sender: str, nik: str = OTHER_NIK) -> str:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(KK, latest_action="doc_status_form", sender=sender,
                           slots={"nik": nik, "kk_number": KK, "doc_kind": "ktp"})
    await ActionDocumentStatus().run(dispatcher, tracker, domain)
    return texts(dispatcher)


# ------------------------------------------------------------- the birth registration's status
@pytest.mark.parametrize(("action", "text", "intent"), [
    (ActionRequestStatus, "status AKL-100002", "request_status"),
    (ActionStrayAnswer, "akl 100002", "inform"),
    (ActionBirthCertificate, "cek status akta kelahiran AKL-100002", "birth_certificate"),
])
async def test_a_birth_registration_number_alone_tells_nothing(
        action: Any, text: str, intent: str, agency: FakeServer,
        domain: dict[str, Any]) -> None:
    dispatcher = CollectingDispatcher()
    events = await action().run(dispatcher, make_tracker(text, intent), domain)
    assert slots(events)["ticket_id"] == "AKL-100002"
    assert slots(events)["route"] == "status_form"
    assert agency.requests == [] and "perbaikan" not in texts(dispatcher)


async def test_a_nik_given_with_the_number_is_kept(domain: dict[str, Any]) -> None:
    tracker = make_tracker(f"status AKL-100002 nik {NIK}", "request_status", entities=[
        {"entity": "ticket_id", "value": "AKL-100002"}, {"entity": "nik", "value": NIK}])
    events = await ActionRequestStatus().run(CollectingDispatcher(), tracker, domain)
    assert slots(events)["parent_nik"] == NIK


async def test_the_status_form_asks_a_parent_nik_for_birth_registrations_only(
        domain: dict[str, Any]) -> None:
    form = ValidateStatusForm()
    for number, expected in (("AKL-100002", ["ticket_id", "parent_nik"]),
                             ("LKS-100001", ["ticket_id"])):
        tracker = make_tracker(number, slots={"ticket_id": number}, active_loop="status_form")
        assert await form.required_slots(["ticket_id", "parent_nik"], CollectingDispatcher(),
                                         tracker, domain) == expected
    assert domain["forms"]["status_form"]["required_slots"] == ["ticket_id", "parent_nik"]
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("36710155", slots={"ticket_id": "AKL-100002"},
                           active_loop="status_form")
    assert form.validate_parent_nik("36710155", dispatcher, tracker, domain) == {
        "parent_nik": None}
    assert "NIK ayah atau ibu" in texts(dispatcher)
    assert "utter_ask_parent_nik" in domain["responses"]
    assert "{ticket_id}" in domain["responses"]["utter_ask_parent_nik"][0]["text"]


async def test_a_parent_gets_the_status_after_the_agency_matched_the_nik(
        agency: FakeServer, domain: dict[str, Any]) -> None:
    agency.on("POST", BIRTH, body=REGISTRATION)
    reply, events = await birth_check(domain)
    assert reply.startswith("Status pengajuan akta kelahiran AKL-100002: Perlu perbaikan berkas.")
    assert agency.bodies(BIRTH) == [{"registration_number": "AKL-100002", "nik": NIK}]
    assert SlotSet("parent_nik", None) in events and SlotSet("ticket_id", None) in events


async def test_a_mismatch_is_one_answer_whatever_was_wrong(agency: FakeServer,
                                                           domain: dict[str, Any]) -> None:
    agency.on("POST", BIRTH, status=404, body=MISMATCH)
    unknown_number, _ = await birth_check(domain, "api:a", number="AKL-000000")
    unknown_nik, _ = await birth_check(domain, "api:b", nik="3671051207800099")
    assert unknown_number == unknown_nik
    assert "tidak dapat kami cocokkan" in unknown_number and "Sisa percobaan: 4" in unknown_number
    assert "tidak ditemukan" not in unknown_number and "3671" not in unknown_number


async def test_complaints_are_still_told_by_their_number(gateway: FakeServer,
                                                        domain: dict[str, Any]) -> None:
    gateway.on("GET", "/internal/v1/tickets/LKS-123456", body={
        "ticket_id": "LKS-123456", "kind": "complaint", "status": "diproses",
        "status_label": "Sedang ditindaklanjuti dinas", "agency": "DLH", "history": []})
    dispatcher = CollectingDispatcher()
    events = await ActionRequestStatus().run(
        dispatcher, make_tracker("status LKS-123456", "request_status"), domain)
    assert "Sedang ditindaklanjuti dinas" in texts(dispatcher)
    assert slots(events).get("route") is None


# ------------------------------------------------------------------------------------ limits
async def test_five_failures_per_chat_shared_by_ktp_and_birth_checks(
        agency: FakeServer, domain: dict[str, Any]) -> None:
    agency.on("POST", BIRTH, status=404, body=MISMATCH)
    agency.on("POST", "/dukcapil/v1/ktp/status", status=404, body=MISMATCH)
    for _ in range(3):
        await ktp_check(domain, "api:tamu")
    await birth_check(domain, "api:tamu")
    last, _ = await birth_check(domain, "api:tamu")
    assert "dikunci" in last and "Sisa percobaan" not in last
    assert "dikunci" in await ktp_check(domain, "api:tamu")
    assert len(agency.requests) == 5  # the refused check never reached Dukcapil
    agency.on("POST", BIRTH, body=REGISTRATION)
    assert "Perlu perbaikan" in (await birth_check(domain, "api:orang-lain"))[0]


async def test_a_locked_chat_is_told_before_any_number_is_asked(
        agency: FakeServer, domain: dict[str, Any]) -> None:
    agency.on("POST", BIRTH, status=404, body=MISMATCH)
    for _ in range(5):
        await birth_check(domain, "api:tamu")
    for action, text, intent in ((ActionRequestStatus, "status AKL-100002", "request_status"),
                                 (ActionKtp, "ktp saya sudah jadi belum", "ktp")):
        dispatcher = CollectingDispatcher()
        events = await action().run(dispatcher, make_tracker(text, intent, sender="api:tamu"),
                                    domain)
        assert "dikunci" in texts(dispatcher) and "NIK" not in texts(dispatcher)
        assert slots(events).get("route") is None
    dispatcher = CollectingDispatcher()
    events = await ActionKtp().run(dispatcher, make_tracker("ktp saya sudah jadi belum", "ktp",
                                                            sender="api:warga"), domain)
    assert slots(events)["route"] == "doc_status_form"


async def test_a_success_does_not_reset_the_count(agency: FakeServer,
                                                  domain: dict[str, Any]) -> None:
    """Otherwise one's own valid pair between guesses would allow endless guessing."""
    agency.on("POST", BIRTH, status=404, body=MISMATCH)
    for _ in range(4):
        await birth_check(domain, "api:tamu", nik=OTHER_NIK)
    agency.on("POST", BIRTH, body=REGISTRATION)
    await birth_check(domain, "api:tamu")
    agency.on("POST", BIRTH, status=404, body=MISMATCH)
    assert "dikunci" in (await birth_check(domain, "api:tamu", nik=OTHER_NIK))[0]


async def test_many_chats_guessing_one_nik_are_stopped(agency: FakeServer,
                                                       domain: dict[str, Any]) -> None:
    agency.on("POST", "/dukcapil/v1/ktp/status", status=404, body=MISMATCH)
    for n in range(10):
        await ktp_check(domain, f"api:tamu-{n}")
    refused = await ktp_check(domain, "api:tamu-baru")
    assert "untuk NIK ini dikunci" in refused and "24 jam" in refused
    assert len(agency.requests) == 10
    agency.on("POST", "/dukcapil/v1/ktp/status", body={"status": "dicetak"})
    assert "dikunci" not in await ktp_check(domain, "api:tamu-baru", nik=NIK)


def test_limits_come_from_the_environment() -> None:
    limits = Limits.from_env({"IDENTITY_MAX_FAILURES_PER_SENDER": "3",
                              "IDENTITY_BURST_THRESHOLD": "100", "IDENTITY_BURST_WINDOW_S": "60"})
    assert (limits.per_sender, limits.burst_threshold, limits.burst_window_s) == (3, 100, 60)
    assert Limits.from_env({}) == Limits()
    assert Limits().per_sender == 5 and Limits().sender_window_s == 3600
    with pytest.raises(ValueError, match="IDENTITY_MAX_FAILURES_PER_NIK"):
        Limits.from_env({"IDENTITY_MAX_FAILURES_PER_NIK": "0"})


def test_production_refuses_the_placeholder_lookup_key() -> None:
    assert context.lookup_key({}) == "dev-lookup-key"
    with pytest.raises(RuntimeError, match="LOOKUP_KEY"):
        context.lookup_key({"PINTU_ENV": "production"})
    real = "k" * 40
    assert context.lookup_key({"PINTU_ENV": "production", "LOOKUP_KEY": real}) == real


async def test_counts_expire_with_their_window() -> None:
    now = [1000.0]
    guard = IdentityGuard(MemoryAttemptStore(lambda: now[0]), clock=lambda: now[0])
    for left in (4, 3, 2, 1, 0):
        assert await guard.failed("api:s", NIK) == left
    assert await guard.refusal("api:s", OTHER_NIK) is Refusal.SENDER
    assert await guard.refusal("api:t", OTHER_NIK) is None
    now[0] += 3601
    assert await guard.refusal("api:s", OTHER_NIK) is None


# -------------------------------------------------------------------------------- the alarm
async def test_a_burst_raises_one_alarm_without_personal_data(
        agency: FakeServer, gateway: FakeServer, limiter: IdentityGuard,
        domain: dict[str, Any], caplog: pytest.LogCaptureFixture) -> None:
    limiter.limits = Limits(burst_threshold=3, burst_window_s=300)
    agency.on("POST", "/dukcapil/v1/ktp/status", status=404, body=MISMATCH)
    gateway.on("POST", "/internal/v1/identity-alarms", body={"recorded": True})
    caplog.set_level(logging.DEBUG)
    for n in range(6):
        await ktp_check(domain, f"api:tamu-{n}", nik=f"36710145078900{n + 10}")
    assert gateway.bodies("/internal/v1/identity-alarms") == [
        {"failures": 4, "window_s": 300, "threshold": 3}]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("identity check alarm" in r.getMessage() for r in warnings)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "api:tamu" not in logged and "3671" not in logged and KK not in logged
    # While it is on, a chat that already failed is refused; a chat that has not is served.
    refused = await ktp_check(domain, "api:tamu-1", nik=NIK)
    assert "sedang dibatasi" in refused and "5 menit" in refused
    agency.on("POST", "/dukcapil/v1/ktp/status", body={"status": "dicetak"})
    assert "dibatasi" not in await ktp_check(domain, "api:warga-baru", nik=NIK)


async def test_the_alarm_rings_again_in_the_next_window() -> None:
    now = [1000.0]
    raised: list[Burst] = []

    async def report(burst: Burst) -> None:
        raised.append(burst)

    guard = IdentityGuard(MemoryAttemptStore(lambda: now[0]),
                          Limits(burst_threshold=2, burst_window_s=60), on_alarm=report,
                          clock=lambda: now[0])
    for n in range(5):
        await guard.failed(f"api:{n}", OTHER_NIK)
    assert len(raised) == 1 and await guard.alarm_on()
    now[0] += 61
    assert not await guard.alarm_on()
    for n in range(3):
        await guard.failed(f"api:x{n}", OTHER_NIK)
    assert len(raised) == 2


async def test_an_unreachable_gateway_leaves_the_log_line(
        agency: FakeServer, limiter: IdentityGuard, domain: dict[str, Any],
        caplog: pytest.LogCaptureFixture) -> None:
    limiter.limits = Limits(burst_threshold=1)
    down = FakeServer()
    down.on("POST", "/internal/v1/identity-alarms", status=503, body={"detail": "down"})
    context.override(gateway=GatewayClient("http://gateway.test", "t",
                                           client=down.client("http://gateway.test")))
    agency.on("POST", "/dukcapil/v1/ktp/status", status=404, body=MISMATCH)
    for n in range(2):
        reply = await ktp_check(domain, f"api:tamu-{n}")
    assert "tidak dapat kami cocokkan" in reply
    assert "not reported to the gateway: GatewayError" in caplog.text
    assert "identity check alarm" in caplog.text


# ------------------------------------------------------------------------- Redis, for real
@pytest.fixture
async def redis_store() -> AsyncIterator[RedisAttemptStore]:
    from redis import asyncio as aioredis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    client = aioredis.from_url(url)
    await client.flushdb()
    store = RedisAttemptStore(url)
    yield store
    await client.flushdb()
    for each in (client, store._redis):
        await each.close()
        await each.connection_pool.disconnect()


@pytest.mark.integration
async def test_redis_keys_hold_keyed_hashes_never_the_nik_or_the_sender(
        redis_store: RedisAttemptStore) -> None:
    raised: list[Burst] = []

    async def report(burst: Burst) -> None:
        raised.append(burst)

    guard = IdentityGuard(redis_store, Limits(burst_threshold=3), lookup_key="k" * 32,
                          on_alarm=report)
    for _ in range(5):
        await guard.failed("whatsapp:6281234567890", NIK)
    assert await guard.refusal("whatsapp:6281234567890", OTHER_NIK) is Refusal.SENDER
    assert await guard.refusal("whatsapp:628000", NIK) is None
    assert await guard.alarm_on() and len(raised) == 1
    redis = redis_store._redis
    keys = [k.decode() for k in await redis.keys("*")]
    assert len(keys) == 4 and all(k.startswith("pintu:identity:") for k in keys)
    members = [await redis.zrange(k, 0, -1) for k in keys if k != guard.ALARM]
    dumped = f"{keys} {members}"
    assert NIK not in dumped and "6281234567890" not in dumped
    assert 0 < await redis.ttl(guard.ALARM) <= 300
