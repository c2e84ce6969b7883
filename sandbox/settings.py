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
