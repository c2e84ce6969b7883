"""Production refuses to start on development placeholders: the settings object is the check."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from bot.privacy.crypto import DEV_ENCRYPTION_KEY, DEV_LOOKUP_KEY, Keyring
from bot.settings import ROOT, Settings

REAL = {"pintu_env": "production", "internal_api_token": "f3a9c1d7e2b84c60",
        "verification_key": "9c0d6e2fa1b34d7e8f",
        "agency_webhook_secrets": {"laksa": "a71c9e0b2d", "dukcapil": "5be38f0c4a"},
        "public_base_url": "https://pintu.tangerangkota.go.id",
        "encryption_keys": "zCu8QdkKd3jwMrvS4u0nkg9gX3Yy8Bk2rR9Qm2uUj1E=",
        "lookup_key": "4f1d8a2c9e7b6a5d3c2b1a0f9e8d7c6b"}


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


# -- production refusals beyond the secrets (issue 8) --------------------------------------------

@pytest.mark.parametrize(("overrides", "named"), [
    ({"pintu_debug": True}, "pintu_debug must be off"),
    ({"log_level": "DEBUG"}, "log_level must not be DEBUG"),
    ({"public_base_url": None}, "public_base_url is missing"),
    ({"public_base_url": "http://pintu.tangerangkota.go.id"}, "public_base_url must be an https"),
    ({"public_base_url": "http://127.0.0.1:8000"}, "public_base_url must be an https"),
    ({"agency_api_url": "http://10.20.0.5:8100"}, "agency_api_url must be an https"),
    ({"telegram_bot_token": "123:abc", "telegram_webhook_secret": "tg-4c1e9a",
      "telegram_api_base_url": "http://telegram-proxy.local/bot"}, "telegram_api_base_url"),
    ({"whatsapp_access_token": "EAAG1", "whatsapp_phone_number_id": "10", "whatsapp_app_secret":
      "a1", "whatsapp_verify_token": "v1", "whatsapp_api_base_url": "http://graph.example"},
     "whatsapp_api_base_url"),
    ({"telegram_bot_token": "changeme", "telegram_webhook_secret": "tg-4c1e9a"},
     "telegram_bot_token is a placeholder"),
    ({"whatsapp_access_token": "dev-token", "whatsapp_phone_number_id": "10",
      "whatsapp_app_secret": "a1", "whatsapp_verify_token": "v1"},
     "whatsapp_access_token is a placeholder"),
    ({"verification_keys": "3be1f07c9a2d,dev-verification-key", "verification_key":
      "3be1f07c9a2d"}, r"verification_keys\[1\] is missing or a placeholder"),
])
def test_production_refuses_debug_plain_http_and_placeholders(overrides: dict[str, Any],
                                                              named: str) -> None:
    with pytest.raises(ValidationError, match=named) as refused:
        settings(**overrides)
    for value in overrides.values():  # the message names the setting, never its value
        if isinstance(value, str) and len(value) > 5:
            assert value not in str(refused.value)


def test_plain_http_is_allowed_on_this_machine_and_in_development() -> None:
    assert settings(agency_api_url="http://127.0.0.1:8100",
                    whatsapp_api_base_url="http://localhost:9000").agency_api_url
    development = Settings(_env_file=None, pintu_debug=True, log_level="DEBUG",
                           agency_api_url="http://10.20.0.5:8100")
    assert development.pintu_debug and development.public_base_url is None


def test_every_problem_is_named_at_once() -> None:
    with pytest.raises(ValidationError) as refused:
        settings(internal_api_token="dev-internal-token", pintu_debug=True,
                 public_base_url="http://x.example")
    message = str(refused.value)
    assert "internal_api_token" in message and "pintu_debug" in message
    assert "public_base_url" in message


def test_the_verification_key_ring_is_newest_first_and_keeps_the_single_key_form() -> None:
    assert settings().verification_keyring == [REAL["verification_key"]]
    rotated = settings(verification_keys=" new-key-5d1c0e7a , 9c0d6e2fa1b34d7e8f ")
    assert rotated.verification_keyring == ["new-key-5d1c0e7a", REAL["verification_key"]]
    # VERIFICATION_KEY set but forgotten in the list would void its codes silently.
    with pytest.raises(ValidationError, match="verification_key is not among verification_keys"):
        settings(verification_keys="new-key-5d1c0e7a")
    assert Settings(_env_file=None, verification_keys="a1,b2").verification_keyring == \
        ["a1", "b2"]


def test_the_local_chat_channel_is_on_in_development_only_unless_set() -> None:
    assert Settings(_env_file=None).local_chat_enabled
    assert not settings().local_chat_enabled
    assert settings(local_chat=True).local_chat_enabled


def test_a_refused_process_stops_with_the_setting_named_and_no_value(tmp_path: Path) -> None:
    """The gateway as uvicorn starts it (`bot.app:create_app --factory`) refuses to start."""
    secret = "leaky-token-7f3e9b2a"
    env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": str(ROOT),
           "PINTU_ENV": "production", "INTERNAL_API_TOKEN": secret,
           "PUBLIC_BASE_URL": "http://pintu.example", "PINTU_DEBUG": "true"}
    done = subprocess.run([sys.executable, "-c", "from bot.app import create_app; create_app()"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 1
    assert done.stderr.startswith("Pintu will not start: ")
    assert "pintu_debug must be off" in done.stderr
    assert "public_base_url must be an https" in done.stderr
    assert "Traceback" not in done.stderr
    assert secret not in done.stderr and "pintu.example" not in done.stderr


# -- encryption at rest (issue 8, docs/privacy.md) -----------------------------------------------

@pytest.mark.parametrize(("overrides", "named"), [
    ({"encryption_keys": DEV_ENCRYPTION_KEY}, "encryption_keys"),
    # The development key kept as an older key would still open what it encrypted.
    ({"encryption_keys": f"{REAL['encryption_keys']},{DEV_ENCRYPTION_KEY}"}, "encryption_keys"),
    ({"lookup_key": DEV_LOOKUP_KEY}, "lookup_key"),
    ({"lookup_key": "9f2c41d0e8b7a6"}, r"lookup_key \(32 characters or more\)"),
])
def test_production_refuses_development_or_weak_encryption_keys(overrides: dict[str, Any],
                                                                named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        settings(**overrides)


def test_production_refuses_missing_encryption_keys() -> None:
    unset = {k: v for k, v in REAL.items() if k not in ("encryption_keys", "lookup_key")}
    with pytest.raises(ValidationError, match=r"encryption_keys.*lookup_key"):
        Settings(_env_file=None, **unset)  # the development defaults, refused
    with pytest.raises(ValidationError, match="ENCRYPTION_KEYS is empty"):
        settings(encryption_keys=" , ")


def test_a_malformed_key_is_refused_without_being_quoted() -> None:
    with pytest.raises(ValidationError, match="key 2 is not a Fernet key") as refused:
        Settings(_env_file=None, encryption_keys=f"{DEV_ENCRYPTION_KEY},not-a-key-7c1d9e")
    assert "not-a-key-7c1d9e" not in str(refused.value)
    assert DEV_ENCRYPTION_KEY not in str(refused.value)


def test_encryption_keys_stay_out_of_reprs() -> None:
    real = settings()
    shown = [repr(real), str(real), repr(Keyring.from_settings(real))]
    assert not any(REAL["encryption_keys"] in s or REAL["lookup_key"] in s for s in shown)
