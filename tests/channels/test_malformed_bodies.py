"""Malformed bodies at a real gateway (uvicorn, PostgreSQL, Redis): every one is refused with a
4xx or, inside Telegram's or Meta's own envelope, acknowledged and dropped; none gets a 5xx,
none stops the gateway, none leaves a message, a contact, an agency event or a queued item.

The quick subset of bench/fuzz.py (10,000 bodies); the bodies are made by tests/malformed.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.settings import Settings
from tests import malformed
from tests.malformed import Body

from .conftest import TG_SECRET, WA_APP_SECRET, fixture

pytestmark = pytest.mark.integration

QUICK = 300


def _post(gw: Any, body: Body) -> int:
    agency_secret = Settings(_env_file=None).agency_webhook_secrets["laksa"]
    answer = gw.http.post(body.route, content=body.raw, headers=malformed.headers(
        body, telegram_secret=TG_SECRET, whatsapp_app_secret=WA_APP_SECRET,
        agency_secret=agency_secret))
    return answer.status_code


def test_malformed_bodies_are_refused_or_dropped_and_nothing_is_stored(
        make_gateway: Any, redis_url: str) -> None:
    gw = make_gateway()
    wrong = [(body.how, status) for body in malformed.bodies(QUICK)
             if malformed.wrong_answer(body, status := _post(gw, body))]
    assert wrong == []
    assert gw.http.get("/healthz").status_code == 200
    assert malformed.stored(gw.services.engine, redis_url) == {
        "messages": 0, "contacts": 0, "agency_events": 0,
        "pintu:seen:*": 0, "pintu:in:*": 0, "pintu:in-status:*": 0}
    # The same check sees a well-formed update that is taken.
    assert gw.telegram_update(fixture("telegram", "text")).status_code == 200
    assert malformed.stored(gw.services.engine, redis_url)["pintu:seen:*"] == 1


@pytest.mark.parametrize(("route", "raw"), [
    (malformed.TELEGRAM, b"[" * malformed.NESTED + b"]" * malformed.NESTED),
    (malformed.WHATSAPP, b'{"object": "whatsapp_business_account", "entry": [{"changes": '
                         b'[{"value": {"statuses": [{"id": "wamid.1", "status": [],'
                         b' "recipient_id": "628"}]}}]}]}'),
    (malformed.TELEGRAM, b'{"update_id": 1, "message": {"message_id": 1, "date": 1, '
                         b'"chat": {"id": 5, "type": "private"}, "text": "\\ud800"}}'),
    (malformed.TELEGRAM, b'{"update_id": 1, "message": {"message_id": 1, "date": '
                         b'1180591620717411303424, "chat": {"id": 5, "type": "private"}}}'),
    (malformed.TELEGRAM, b'{"update_id": 1, "message": {"message_id": 1, "date": 1, '
                         b'"chat": {"id": 5, "type": "private"}, "text": 5}}'),
    (malformed.CHAT, b'{"sender": "warga", "text": "\\ud800halo"}'),
    (malformed.CHAT, b'{"send\xed\xa0\x80er": "warga", "text": "halo"}'),
])
def test_bodies_that_once_got_a_500(make_gateway: Any, redis_url: str, route: str,
                                    raw: bytes) -> None:
    gw = make_gateway()
    body = Body(route, raw, "refused", "regression")
    assert _post(gw, body) < 500
    assert not any(malformed.stored(gw.services.engine, redis_url).values())


@pytest.mark.parametrize("raw", [
    b'{"sender": "warga", "t\xed\xa0\x80ext": "halo"}',  # a key the model ignores
    b'{"sender": "warga", "text": "halo", "x\\udfffy": 1}',
    b'{"sender": "warga", "text": "halo\\u0000"}',
])
def test_a_chat_message_that_is_no_text_is_refused_and_not_stored(
        make_gateway: Any, redis_url: str, raw: bytes) -> None:
    gw = make_gateway()
    assert 400 <= _post(gw, Body(malformed.CHAT, raw, "refused", "chat")) < 500
    assert not any(malformed.stored(gw.services.engine, redis_url).values())
