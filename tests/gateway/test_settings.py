"""Production refuses to start on development placeholders: the settings object is the check."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from bot.settings import Settings

REAL = {"pintu_env": "production", "internal_api_token": "f3a9c1d7e2b84c60",
        "verification_key": "9c0d6e2fa1b34d7e8f",
        "agency_webhook_secrets": {"laksa": "a71c9e0b2d", "dukcapil": "5be38f0c4a"}}


def settings(**overrides: Any) -> Settings:
    return Settings(_env_file=None, **{**REAL, **overrides})


def test_real_values_start() -> None:
    assert settings().verification_key == REAL["verification_key"]


@pytest.mark.parametrize(("field", "value", "named"), [
    ("internal_api_token", "dev-internal-token", "internal_api_token"),
    ("verification_key", "dev-verification-key", "verification_key"),
    ("verification_key", "changeme", "verification_key"),
    ("agency_webhook_secrets", {"laksa": "dev-agency-laksa-secret", "dukcapil": "5be38f0c4a"},
     "agency_webhook_secrets[laksa]"),
    ("agency_webhook_secrets", {"laksa": "a71c9e0b2d", "dukcapil": ""},
     "agency_webhook_secrets[dukcapil]"),
])
def test_production_refuses_placeholders(field: str, value: Any, named: str) -> None:
    with pytest.raises(ValidationError, match=named.replace("[", r"\[").replace("]", r"\]")):
        settings(**{field: value})


def test_development_accepts_the_defaults_and_secrets_stay_out_of_the_repr() -> None:
    defaults = Settings(_env_file=None)
    assert defaults.agency_webhook_secrets["laksa"].startswith("dev-")
    assert "secret" not in repr(settings()) and REAL["verification_key"] not in repr(settings())


def test_agency_secrets_are_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENCY_WEBHOOK_SECRETS", '{"laksa": "x1", "dukcapil": "y2"}')
    assert Settings(_env_file=None).agency_webhook_secrets == {"laksa": "x1", "dukcapil": "y2"}
