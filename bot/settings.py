"""The gateway's one settings object, read once at start-up (environment or `.env`)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from integrations.secrets import is_placeholder, weak_lookup_key
from integrations.urls import plain_http_off_host

from .privacy.crypto import DEV_ENCRYPTION_KEY, DEV_LOOKUP_KEY, parse_keys

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    """Every setting of the gateway; see docs/configuration.md."""

    # hide_input_in_errors: a refused value (a key, a secret) never appears in the error.
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", hide_input_in_errors=True)

    pintu_env: Literal["development", "production"] = "development"
    # Debug mode, development only: failed requests answer with their traceback and the log
    # speaks at DEBUG. Production refuses it, and LOG_LEVEL=DEBUG (both can show personal data).
    pintu_debug: bool = False
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # The local test channel (/api/chat) answers anyone who knows a sender's name: on by default
    # in development only (docs/privacy.md, "Security headers and production settings").
    local_chat: bool | None = None
    database_url: str = f"sqlite:///{ROOT / 'var' / 'pintu.db'}"
    redis_url: str | None = None
    rasa_url: str = "http://127.0.0.1:5005"
    action_server_url: str = "http://127.0.0.1:5055"
    agency_api_url: str = "http://127.0.0.1:8100"
    rasa_timeout_s: float = Field(default=10.0, gt=0)
    agency_timeout_s: float = Field(default=5.0, gt=0)
    outbox_interval_s: float = Field(default=15.0, gt=0)
    # actions -> gateway. S105: this is the development placeholder, not a secret; the validator
    # below refuses it (and any "dev-" token) when PINTU_ENV=production.
    internal_api_token: str = "dev-internal-token"  # noqa: S105

    telegram_bot_token: str | None = None
    telegram_webhook_secret: str | None = None
    telegram_api_base_url: str = "https://api.telegram.org/bot"
    telegram_mode: Literal["webhook", "polling"] = "webhook"
    whatsapp_access_token: str | None = None
    whatsapp_phone_number_id: str | None = None
    whatsapp_app_secret: str | None = None
    whatsapp_verify_token: str | None = None
    whatsapp_api_base_url: str = "https://graph.facebook.com"
    whatsapp_api_version: str = "v21.0"
    # Outreach links and posters (docs/outreach.md): the bot's @username for t.me links, and the
    # WhatsApp number residents see, in international form ("62811..."), for wa.me links. Unset:
    # the admin page says that links for that channel cannot be made yet.
    telegram_bot_username: str | None = Field(default=None, pattern=r"^@?[A-Za-z0-9_]{5,32}$")
    whatsapp_display_phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 -]{6,20}$")

    # Channels: processing and sending (see docs/channels.md).
    # False in the web process when `python -m bot.worker` runs the workers (bot/stack.py does
    # that whenever REDIS_URL is set); without Redis they must share the web process.
    run_workers: bool = True
    inbound_workers: int = Field(default=16, ge=1, le=256)
    inbound_lease_s: float = Field(default=120.0, gt=0)
    dedup_ttl_s: int = Field(default=7 * 24 * 3600, ge=7 * 24 * 3600)
    rasa_retry_max_s: float = Field(default=60.0, gt=0)
    media_dir: Path = ROOT / "var" / "media"
    media_max_bytes: int = Field(default=16 * 1024 * 1024, gt=0)
    telegram_rate_per_s: float = Field(default=30.0, gt=0)
    telegram_chat_interval_ms: int = Field(default=1000, ge=0)
    whatsapp_rate_per_s: float = Field(default=80.0, gt=0)
    whatsapp_chat_interval_ms: int = Field(default=0, ge=0)
    sender_concurrency: int = Field(default=16, ge=1, le=256)
    send_max_attempts: int = Field(default=6, ge=1)
    send_backoff_base_s: float = Field(default=1.0, gt=0)
    send_backoff_max_s: float = Field(default=300.0, gt=0)
    # Campaigns (docs/outreach.md): seconds of each channel's sends kept queued in Redis (pause
    # and cancel act within about this long), the lease of a broadcast job a worker holds, and
    # how long a send interrupted by a dead worker waits before it is counted unconfirmed.
    campaign_buffer_s: float = Field(default=2.0, gt=0)
    campaign_lease_s: float = Field(default=60.0, gt=0)
    campaign_unconfirmed_after_s: float = Field(default=300.0, gt=0)
    # A WhatsApp broadcast whose send was cut off and that no status webhook confirmed after
    # this long was never accepted, and is sent again (0: never).
    campaign_whatsapp_resend_after_s: float = Field(default=900.0, ge=0)
    # Staff inbox and handoff (see docs/staff.md).
    handoff_first_response_s: float = Field(default=300.0, gt=0)
    handoff_notice_after_s: float = Field(default=600.0, gt=0)
    handoff_auto_assign: bool = False
    handoff_timer_interval_s: float = Field(default=15.0, gt=0)
    pintu_office_hours: str = "mon-fri 08:00-16:00"
    # Retraining (see docs/retraining.md). A prediction below this confidence goes to review.
    nlu_review_confidence: float = Field(default=0.7, ge=0, le=1)
    # Predictions nobody labelled are deleted after this many days (personal data, kept short).
    nlu_prediction_retention_days: int = Field(default=90, ge=1)
    # Retention (docs/privacy.md, "Retention"): messages (and silent residents without consent),
    # stored files, and complaints after LAKSA closed them, are deleted or anonymised after this
    # many days by the worker's sweep, run every RETENTION_INTERVAL_S.
    retention_messages_days: int = Field(default=180, ge=1)
    retention_uploads_days: int = Field(default=90, ge=1)
    retention_closed_tickets_days: int = Field(default=365, ge=1)
    # The audit log (officers' views, reasons, IP addresses): two years, long enough for an
    # inspection or a complaint about an officer's access to be answered from it.
    retention_audit_days: int = Field(default=730, ge=30)
    retention_interval_s: float = Field(default=6 * 3600, gt=0)
    # Every Rasa server the gateway talks to (comma-separated); a promotion swaps the model in
    # each. Empty: RASA_URL alone.
    rasa_urls: str = ""
    # The Rasa environment's Python, which runs training and evaluation jobs (nlu.jobs).
    rasa_python: Path = ROOT / ".venv-rasa" / "bin" / "python"
    models_dir: Path = ROOT / "models"
    # Whether this process runs queued training and evaluation jobs (one at a time).
    run_model_jobs: bool = True
    # Cross-validation folds run for every candidate after its held-out evaluation (0: none).
    nlu_cv_folds: int = Field(default=3, ge=0, le=10)
    # The gateway's public https address; when set in webhook mode, the gateway registers
    # <public_base_url>/webhooks/telegram (with the secret token) with Telegram at start-up.
    public_base_url: str | None = None

    # Proactive status updates (docs/outreach.md). Each agency signs its status webhook with its
    # own secret: JSON, e.g. AGENCY_WEBHOOK_SECRETS='{"laksa": "...", "dukcapil": "..."}'.
    # S105: development placeholders; production refuses them (validator below).
    agency_webhook_secrets: dict[str, str] = Field(default_factory=lambda: {
        "laksa": "dev-agency-laksa-secret", "dukcapil": "dev-agency-dukcapil-secret"})
    # The key of documents' verification codes (an HMAC key; changing it voids issued codes).
    verification_key: str = "dev-verification-key"
    # Key rotation: comma-separated, newest first; the first makes new codes, every listed key
    # still checks the codes issued under it. Set, it replaces VERIFICATION_KEY (which must then
    # be one of them, or unset).
    verification_keys: str = ""
    # Checks of the public page /verifikasi per client address and minute.
    verification_checks_per_minute: int = Field(default=20, ge=1)
    # Encryption at rest (docs/privacy.md): Fernet keys, comma-separated, newest first (the first
    # encrypts, all decrypt), and the HMAC key of the lookup hashes (contacts, sender ids).
    # Development defaults are fixed, named placeholders; production refuses them.
    encryption_keys: SecretStr = Field(default=SecretStr(DEV_ENCRYPTION_KEY), repr=False)
    lookup_key: SecretStr = Field(default=SecretStr(DEV_LOOKUP_KEY), repr=False)

    @field_validator("encryption_keys")
    @classmethod
    def _fernet_keys(cls, value: SecretStr) -> SecretStr:
        parse_keys(value.get_secret_value())
        return value

    @property
    def public_url(self) -> str:
        """Where residents reach the gateway's public pages (the verification page)."""
        return (self.public_base_url or "http://127.0.0.1:8000").rstrip("/")

    @property
    def verification_keyring(self) -> list[str]:
        """The verification keys, newest first (VERIFICATION_KEYS, else VERIFICATION_KEY)."""
        listed = [k.strip() for k in self.verification_keys.split(",") if k.strip()]
        return listed or [self.verification_key]

    @property
    def local_chat_enabled(self) -> bool:
        return self.local_chat if self.local_chat is not None else \
            self.pintu_env == "development"

    @property
    def rasa_servers(self) -> list[str]:
        listed = [u.strip().rstrip("/") for u in self.rasa_urls.split(",") if u.strip()]
        return listed or [self.rasa_url.rstrip("/")]

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_bot_token)

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.whatsapp_access_token and self.whatsapp_phone_number_id)

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> Settings:
        if self.pintu_env != "production":
            return self
        required = ["internal_api_token"]
        if self.telegram_enabled and self.telegram_mode == "webhook":
            required.append("telegram_webhook_secret")
        if self.whatsapp_enabled:
            required += ["whatsapp_app_secret", "whatsapp_verify_token"]
        bad = [name for name in required if is_placeholder(getattr(self, name))]
        bad += [f"agency_webhook_secrets[{agency}]"
                for agency, secret in self.agency_webhook_secrets.items()
                if is_placeholder(secret)]
        if DEV_ENCRYPTION_KEY in parse_keys(self.encryption_keys.get_secret_value()):
            bad.append("encryption_keys")
        if weak_lookup_key(self.lookup_key.get_secret_value()):
            bad.append("lookup_key (32 characters or more)")
        problems = [f"production needs real values for: {', '.join(bad)}"] if bad else []
        problems += production_refusals(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @model_validator(mode="after")
    def _verification_key_kept(self) -> Settings:
        # Moving from VERIFICATION_KEY to VERIFICATION_KEYS without listing the old key would
        # silently void every code issued under it.
        if self.verification_keys.strip() and "verification_key" in self.model_fields_set \
                and self.verification_key not in self.verification_keyring:
            raise ValueError("verification_key is not among verification_keys: list it (as an "
                             "older key) or unset it")
        return self

    def __repr__(self) -> str:  # secrets never reach a repr or a log
        return f"Settings(pintu_env={self.pintu_env!r}, rasa_url={self.rasa_url!r})"


def production_refusals(settings: Settings) -> list[str]:
    """What production refuses beyond the channel and agency secrets: placeholder verification
    keys and channel tokens, debug mode, and plain HTTP wherever personal data or a secret
    travels. Each names the setting, never its value."""
    found = []
    keys = settings.verification_keyring
    found += [("verification_keys" if settings.verification_keys.strip() else
               "verification_key") + (f"[{i}]" if len(keys) > 1 else "")
              + " is missing or a placeholder"
              for i, key in enumerate(keys) if is_placeholder(key)]
    if settings.telegram_enabled and is_placeholder(settings.telegram_bot_token):
        found.append("telegram_bot_token is a placeholder")
    if settings.whatsapp_enabled and is_placeholder(settings.whatsapp_access_token):
        found.append("whatsapp_access_token is a placeholder")
    if settings.pintu_debug:
        found.append("pintu_debug must be off")
    if settings.log_level == "DEBUG":
        found.append("log_level must not be DEBUG")
    # The gateway's public address: registered with Telegram as the webhook, and in the links
    # residents get to the verification page.
    public = (settings.public_base_url or "").strip()
    if not public:
        found.append("public_base_url is missing")
    elif not public.lower().startswith("https://"):
        found.append("public_base_url must be an https:// address")
    # Whatever carries residents' data or a token to another machine is encrypted.
    outside = {"agency_api_url": settings.agency_api_url,
               "telegram_api_base_url": settings.telegram_api_base_url,
               "whatsapp_api_base_url": settings.whatsapp_api_base_url}
    found += [f"{name} must be an https:// address (plain http only on 127.0.0.1/localhost)"
              for name, url in outside.items() if plain_http_off_host(url)]
    return found


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read on first use. Refused settings stop the process with
    a message naming each setting (never its value)."""
    try:
        return Settings()
    except ValidationError as exc:
        reasons = "; ".join(
            (".".join(str(part) for part in error["loc"]) + ": " if error["loc"] else "")
            + error["msg"].removeprefix("Value error, ")
            for error in exc.errors(include_input=False, include_url=False))
        raise SystemExit(f"Pintu will not start: {reasons}") from None
