"""The sandbox's one settings object, read once by `create_app` from SANDBOX_* variables."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SandboxSettings(BaseSettings):
    """Where the data lives, whether tests may inject faults, and how the data is seeded."""

    model_config = SettingsConfigDict(env_prefix="SANDBOX_", extra="ignore")

    database_url: str = "sqlite:///var/sandbox.db"
    allow_faults: bool = True
    # Tangerang LIVE's launch date; any fixed number gives the same data on every machine.
    seed: int = 16082016
    residents: int = Field(default=1250, ge=1000, le=50000)
    # Status webhooks to Pintu (docs/outreach.md): where to send them (none: not sent, only
    # queued) and each agency's signing secret, the same JSON as the gateway's
    # AGENCY_WEBHOOK_SECRETS (SANDBOX_WEBHOOK_SECRETS).
    webhook_url: str | None = None
    webhook_secrets: dict[str, str] = Field(default_factory=lambda: {
        "laksa": "dev-agency-laksa-secret", "dukcapil": "dev-agency-dukcapil-secret"})
    webhook_interval_s: float = Field(default=1.0, gt=0)
