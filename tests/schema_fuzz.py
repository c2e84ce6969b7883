"""schemathesis against a running gateway's `/openapi.json`, for tests/channels/test_openapi_fuzz.py
(a few examples per operation) and bench/fuzz.py (many).

Every operation in the schema gets generated requests, fitting the schema ("positive") and not
("negative"). The checks: no answer is a 5xx, and an answer whose status the schema declares has
the body the schema declares. Undeclared statuses are allowed (FastAPI declares only 200 and 422:
a webhook's 401 or a staff route's 401 are the routes' own, documented in their modules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import response_schema_conformance

# Operations left out, and why.
EXCLUDED = {
    "GET /readyz": "answers 503 by design while Rasa or the action server is away (none runs here)",
    "GET /staff/api/events": "server-sent events: the stream stays open",
}
# Parameters held fixed, and why.
FIXED_QUERY = {
    # A long poll of up to 25 s; long waits: tests/gateway/test_localchat_mailbox.py.
    "GET /api/chat/messages": {"wait": 0.05},
}
CHECKS = [not_a_server_error, response_schema_conformance]


@dataclass
class Outcome:
    operations: list[str] = field(default_factory=list)
    examples: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {"operations": len(self.operations), "examples": self.examples,
                "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "failures": self.failures, "excluded": EXCLUDED, "fixed": FIXED_QUERY}


def admin_session(base_url: str, sessions: Any) -> requests.Session:
    """A session signed in to the staff web as a new admin (its CSRF token sent on every call),
    so that the staff API is fuzzed past its door. `sessions` is the gateway's sessionmaker."""
    from bot.staff import auth

    password = "fuzz-password-2026"
    with sessions() as db:
        auth.create_staff(db, "fuzz", "Fuzz Admin", "admin", password)
        db.commit()
    session = requests.Session()
    html = {"accept": "text/html"}
    form = session.get(f"{base_url}/staff/login", headers=html, timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
    assert token, "no csrf_token on the login page"
    signed = session.post(f"{base_url}/staff/login", headers=html, allow_redirects=False,
                          data={"username": "fuzz", "password": password,
                                "csrf_token": token.group(1)}, timeout=10)
    assert signed.status_code == 303, signed.status_code
    page = session.get(f"{base_url}/staff/inbox", headers=html, timeout=10)
    csrf = re.search(r'<meta name="csrf-token" content="([^"]+)">', page.text)
    assert csrf, "no csrf-token on the inbox page"
    session.headers["X-CSRF-Token"] = csrf.group(1)
    return session


def fuzz(base_url: str, examples: int, session: requests.Session | None = None) -> Outcome:
    """Runs up to `examples` generated requests per operation and mode against `base_url`."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    session = session or requests.Session()
    outcome = Outcome()
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):  # the schema itself is broken there
            outcome.failures.append(f"invalid operation: {result.err()}")
            continue
        operation = result.ok()
        name = f"{operation.method.upper()} {operation.path}"
        if name in EXCLUDED:
            continue
        outcome.operations.append(name)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            try:
                _run(operation, operation.as_strategy(mode, query=FIXED_QUERY.get(name)),
                     base_url, session, examples, outcome)
            except Unsatisfiable:  # nothing to break: no parameters, no body
                continue
            except (Exception, FailureGroup) as exc:  # every failure is reported, not the first
                outcome.failures.append(f"{name} ({mode.value}): {str(exc)[:600]}")
    return outcome


def _run(operation: Any, cases: Any, base_url: str, session: requests.Session,
         examples: int, outcome: Outcome) -> None:
    @settings(max_examples=examples, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(case=cases)
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, session=session, timeout=30,
                             allow_redirects=False)
        outcome.examples += 1
        outcome.statuses[response.status_code] = outcome.statuses.get(response.status_code, 0) + 1
        case.validate_response(response, checks=CHECKS)

    run()

