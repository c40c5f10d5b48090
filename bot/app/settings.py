"""Settings: one frozen object built from the environment (and `.env`), passed explicitly."""

from __future__ import annotations

import re
from datetime import time
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

TOKEN_SHAPE = re.compile(r"^\d{3,12}:[A-Za-z0-9_-]{30,64}$")
WEBHOOK_SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
USERNAME_SHAPE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{3,31}$")


class ConfigError(ValueError):
    """Bad configuration, described in one line that names the variable."""


def _env(name: str) -> Any:
    return Field(validation_alias=AliasChoices(name))


class Settings(BaseSettings):
    """Everything QuetMa reads from its environment."""

    model_config = SettingsConfigDict(
        frozen=True,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
    )

    bot_token: SecretStr | None = Field(default=None, validation_alias=AliasChoices("BOT_TOKEN"))
    mongodb_uri: SecretStr | None = Field(default=None, validation_alias=AliasChoices("MONGODB_URI"))
    db_name: str = Field(default="quetma", validation_alias=AliasChoices("QUETMA_DB"))
    data_dir: Path = Field(default=Path("quetma-data"), validation_alias=AliasChoices("QUETMA_DATA_DIR"))
    telegram_api_url: str = Field(
        default="https://api.telegram.org", validation_alias=AliasChoices("TELEGRAM_API_URL")
    )
    secret: SecretStr | None = Field(default=None, validation_alias=AliasChoices("QUETMA_SECRET"))
    bot_username: str | None = Field(default=None, validation_alias=AliasChoices("QUETMA_BOT_USERNAME"))
    tz_name: str = Field(default="Asia/Ho_Chi_Minh", validation_alias=AliasChoices("QUETMA_TZ"))
    retention_days: int = Field(
        default=21, ge=1, le=3650, validation_alias=AliasChoices("QUETMA_RETENTION_DAYS")
    )
    admins: Annotated[frozenset[int], NoDecode] = Field(
        default=frozenset(), validation_alias=AliasChoices("QUETMA_ADMINS")
    )
    official_summary_at: time = Field(
        default=time(7, 0), validation_alias=AliasChoices("QUETMA_OFFICIAL_SUMMARY_AT")
    )
    send_rate: float = Field(default=25.0, gt=0, le=1000, validation_alias=AliasChoices("QUETMA_SEND_RATE"))
    paid_broadcast: bool = Field(default=False, validation_alias=AliasChoices("QUETMA_PAID_BROADCAST"))
    webhook_url: str | None = Field(default=None, validation_alias=AliasChoices("WEBHOOK_URL"))
    webhook_secret: SecretStr | None = Field(default=None, validation_alias=AliasChoices("WEBHOOK_SECRET"))
    host: str = Field(default="0.0.0.0", validation_alias=AliasChoices("HOST"))  # noqa: S104 - a server
    # The one HTTP server (webhook, /healthz, /metrics, the dashboard) listens here in both modes.
    port: int = Field(default=8080, ge=1, le=65535, validation_alias=AliasChoices("PORT"))
    log_level: str = Field(default="INFO", validation_alias=AliasChoices("QUETMA_LOG_LEVEL"))
    # Where people reach the web pages (behind a reverse proxy, its https URL); links the bot sends use it.
    public_url: str | None = Field(default=None, validation_alias=AliasChoices("QUETMA_PUBLIC_URL"))

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TOKEN_SHAPE.match(value.get_secret_value()):
            raise ValueError(
                "does not look like a token from @BotFather (digits, a colon, then 35 characters)"
            )
        return value

    @field_validator("mongodb_uri")
    @classmethod
    def _uri_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value():
            return None
        raw = value.get_secret_value()
        if not re.match(r"^mongodb(\+srv)?://[^/\s]+", raw):
            raise ValueError("must start with mongodb:// or mongodb+srv:// followed by a host")
        return value

    @field_validator("tz_name")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (try Asia/Ho_Chi_Minh)") from None
        return value

    @field_validator("db_name")
    @classmethod
    def _db_name(cls, value: str) -> str:
        if not re.match(r"^[A-Za-z0-9_-]{1,60}$", value):
            raise ValueError("use 1-60 letters, digits, '_' or '-'")
        return value

    @field_validator("telegram_api_url", "webhook_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator("bot_username")
    @classmethod
    def _username(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = value.removeprefix("@")
        if not USERNAME_SHAPE.match(value):
            raise ValueError("is not a Telegram bot username")
        return value

    @field_validator("admins", mode="before")
    @classmethod
    def _admin_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if not all(p.isdigit() for p in parts):
                raise ValueError("must be comma-separated Telegram user ids")
            return frozenset(int(p) for p in parts)
        return value

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not WEBHOOK_SECRET_SHAPE.match(value.get_secret_value()):
            raise ValueError("must be 1-256 characters of A-Z, a-z, 0-9, '_' and '-'")
        return value

    @property
    def tz(self) -> ZoneInfo:
        """The local time zone for days and hours."""
        return ZoneInfo(self.tz_name)

    @property
    def base_url(self) -> str:
        """QUETMA_PUBLIC_URL, else http://HOST:PORT."""
        return self.public_url or f"http://{self.host}:{self.port}"

    @property
    def use_embedded(self) -> bool:
        """True when no MONGODB_URI is given and the embedded server must run."""
        return self.mongodb_uri is None

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Build settings from the environment; raise ConfigError with a one-line message."""
        try:
            return cls(**overrides)
        except ValidationError as exc:
            raise ConfigError(describe_validation_error(exc)) from None


_ALIASES = {
    name: (field.validation_alias.choices[0] if isinstance(field.validation_alias, AliasChoices) else name)
    for name, field in Settings.model_fields.items()
}


def describe_validation_error(exc: ValidationError) -> str:
    """One line naming the first offending environment variable, never its value."""
    err = exc.errors()[0]
    loc = str(err["loc"][0]) if err["loc"] else "?"
    variable = _ALIASES.get(loc, loc)
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{variable}: {message}"
