"""schemathesis against a real gateway's OpenAPI (a few examples per operation; bench/fuzz.py
runs many), once as a stranger and once signed in as an admin of the staff web: no 5xx, and
declared answers as the schema declares them."""

from __future__ import annotations

from typing import Any

import pytest

from tests import schema_fuzz

pytestmark = pytest.mark.integration

EXAMPLES = 5


@pytest.mark.parametrize("who", ["stranger", "admin"])
def test_no_operation_answers_a_5xx_or_breaks_its_schema(make_gateway: Any, who: str) -> None:
    gw = make_gateway()
    session = schema_fuzz.admin_session(gw.url, gw.services.sessions) if who == "admin" else None
    outcome = schema_fuzz.fuzz(gw.url, EXAMPLES, session)
    assert outcome.failures == []
    assert len(outcome.operations) >= 25 and outcome.examples >= len(outcome.operations)
    if who == "admin":  # past the staff web's door
        assert sum(n for status, n in outcome.statuses.items() if status != 401) > \
            outcome.examples // 2
    assert gw.http.get("/healthz").status_code == 200
