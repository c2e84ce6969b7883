"""Properties of the webhook parsers and authenticity checks over any JSON-like value (hypothesis).

Whatever arrives, the parsers answer only what they document: `parse_update` an `Inbound` or None,
`parse_webhook` two lists, `check_signature` a bool, `verify` an agency or `SignatureRefused`.
Besides random JSON, the recorded fixtures are changed one field at a time (a value of any type
put in, or the field taken out), which reaches the parsers' deeper branches.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from integrations.agency.status_webhook import SignatureRefused, signed_headers, verify
from integrations.inbound import Inbound, StatusUpdate
from integrations.telegram.inbound import is_update, parse_update
from integrations.whatsapp.webhook import check_signature, is_notification, parse_webhook
from tests import malformed

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text()
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=12), inner, max_size=4),
                           max_leaves=25)


def _changed_fixture(channel: str, names: tuple[str, ...]) -> st.SearchStrategy[Any]:
    @st.composite
    def changed(draw: st.DrawFn) -> Any:
        data = malformed.fixture(channel, draw(st.sampled_from(names)))
        paths = [p for p in malformed._paths(data) if p]
        path = draw(st.sampled_from(paths))
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        if draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
        return data
    return changed()


TG_NAMES = tuple(sorted(p.stem for p in (malformed.FIXTURES / "telegram").glob("*.json")))
WA_NAMES = tuple(sorted(p.stem for p in (malformed.FIXTURES / "whatsapp").glob("*.json")))


def _serialisable(inbound: Inbound) -> None:
    """What the gateway queues must survive JSON and come back the same."""
    queued = json.dumps(inbound.to_json())  # compared as text: NaN is not equal to itself
    assert json.dumps(Inbound.from_json(json.loads(queued)).to_json()) == queued
    assert isinstance(inbound.chat_id, str) and isinstance(inbound.dedup_id, str)
    assert isinstance(inbound.text, str)


@given(json_values | _changed_fixture("telegram", TG_NAMES))
def test_parse_update_answers_an_inbound_or_none(data: Any) -> None:
    result = parse_update(data)
    assert result is None or isinstance(result, Inbound)
    if result is not None:
        assert is_update(data)
        assert result.dedup_id == f"tg:{data['update_id']}"
        _serialisable(result)


@given(json_values | _changed_fixture("whatsapp", WA_NAMES))
def test_parse_webhook_answers_two_lists(data: Any) -> None:
    messages, receipts = parse_webhook(data)
    assert all(isinstance(m, Inbound) for m in messages)
    assert all(isinstance(r, StatusUpdate) for r in receipts)
    if messages or receipts:
        assert is_notification(data)
    for message in messages:
        _serialisable(message)
    for receipt in receipts:
        assert receipt.status in ("sent", "delivered", "read", "failed")
        json.dumps(receipt.to_json())


@given(st.binary(max_size=300), st.none() | st.text(max_size=80), st.text(max_size=20))
def test_check_signature_is_a_bool_and_true_only_for_the_right_hmac(
        body: bytes, header: str | None, secret: str) -> None:
    assert check_signature(body, header, secret) in (True, False)
    if secret:
        right = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        assert check_signature(body, right, secret) is True
        assert check_signature(body + b"x", right, secret) is False


SECRETS = {"laksa": "laksa-secret", "dukcapil": "dukcapil-secret"}
NOW = 1_796_000_000


@given(st.binary(max_size=200), st.dictionaries(
    st.sampled_from(["X-Pintu-Agency", "X-Pintu-Timestamp", "X-Pintu-Signature"]),
    st.text(max_size=80)), st.integers(-10**6, 10**6))
def test_verify_names_the_agency_or_refuses(body: bytes, headers: dict[str, str],
                                            skew: int) -> None:
    try:
        agency = verify(body, headers, SECRETS, now=NOW + skew)
    except SignatureRefused as refused:
        assert refused.reason in ("unknown agency", "missing timestamp", "stale timestamp",
                                  "bad signature")
    else:
        assert agency in SECRETS
    signed = signed_headers(body, "laksa", SECRETS["laksa"], now=NOW)
    if abs(skew) <= 300:
        assert verify(body, signed, SECRETS, now=NOW + skew) == "laksa"
    else:
        with pytest.raises(SignatureRefused, match="stale"):
            verify(body, signed, SECRETS, now=NOW + skew)
