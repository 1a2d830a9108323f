"""All configuration, read once from the environment (prefix ``ATIENDE_``) and ``.env``.

Nothing else in the project reads ``os.environ``: the composition root builds one
``Settings`` and hands it to whoever needs it. A wrong or missing value fails loudly
with a one-line error that names the variable (see ``load_settings``).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.process.business_hours import parse_business_hours
from bot.process.whatsapp_templates import check_mapping

ENV_PREFIX = "ATIENDE_"


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable."""


class Settings(BaseSettings):
    """Every knob Atiende has. ``.env.example`` documents each one."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        validate_default=True,
    )

    # --- storage -------------------------------------------------------------------
    data_dir: Path = Path("data")
    database_url: str = ""  # empty: sqlite file inside data_dir

    # --- company and process ------------------------------------------------------
    company_name: str = "Atiende"
    timezone: str = "America/Santiago"
    holidays_country: str = "CL"
    holidays_subdivision: str | None = None
    # "" means whole business days (Mon-Fri, 24 h); else e.g.
    # "mon-fri 09:00-13:00,14:00-18:00; sat 09:00-13:00" (bare "09:00-18:00" = Mon-Fri)
    business_hours: str = ""
    closed_dates: Annotated[list[date], NoDecode] = Field(default_factory=list)
    first_response_hours: float = Field(24.0, gt=0)
    resolution_business_hours: float = Field(48.0, gt=0)
    pause_while_waiting_customer: bool = True
    conformity_reminder_business_days: int = Field(2, ge=0)
    conformity_tacit_business_days: int = Field(5, ge=0)
    reopen_days: int = Field(7, ge=0)
    auto_ack_email: bool = False
    auto_ack_whatsapp: bool = False

    # --- reminders (issue: deadlines) -------------------------------------------
    reminder_thresholds: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [0.75, 0.90, 1.0]
    )
    reminder_repeat_business_hours: float = Field(4.0, gt=0)
    quiet_hours: str = "20:00-08:00"
    morning_summary_time: str = "08:00"

    # --- triage (issue 16): the suggested Tipo_Incidencia and Prioridad --------------
    triage_auto_apply: bool = False  # classify new tickets when the suggestion is sure
    triage_auto_apply_confidence: float = Field(0.9, ge=0.0, le=1.0)
    triage_retrain_every: int = Field(20, ge=1)  # new examples that trigger retraining
    triage_retrain_minutes: float = Field(60.0, gt=0)

    # --- reports and satisfaction (issue 13) ----------------------------------------
    weekly_report: bool = True  # last week's report, posted on the week's first business day
    weekly_report_time: str = "08:30"  # local time it goes out (or later that week)
    csat_enabled: bool = True  # ask the customer to rate 1-5 once the ticket is Resuelto

    # --- logging -------------------------------------------------------------------
    log_level: str = "INFO"
    log_format: Literal["text", "json"] = "text"

    # --- event loop ----------------------------------------------------------------
    event_loop: Literal["uvloop", "asyncio"] = "uvloop"  # asyncio: the standard loop

    # --- web server (webhooks) ------------------------------------------------------
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=0, le=65535)

    # --- Telegram ------------------------------------------------------------------
    telegram_token: str = ""
    telegram_api_url: str = ""  # e.g. http://127.0.0.1:8081/bot (a local Bot API server)
    telegram_webhook_url: str = ""
    telegram_webhook_secret: str = ""

    # --- Slack ---------------------------------------------------------------------
    slack_bot_token: str = ""
    slack_app_token: str = ""
    slack_signing_secret: str = ""
    slack_api_url: str = ""
    slack_channel: str = ""

    # --- WhatsApp Business (Cloud API) ---------------------------------------------
    whatsapp_api_url: str = "https://graph.facebook.com/v21.0"
    whatsapp_token: str = ""
    whatsapp_phone_number_id: str = ""
    whatsapp_app_secret: str = ""
    whatsapp_verify_token: str = ""
    # our template name -> approved WhatsApp template name, as JSON
    # ours -> approved template: a name, or {"name": ..., "params": [...]} (issue 11)
    whatsapp_templates: dict[str, Any] = Field(default_factory=dict)
    whatsapp_template_language: str = "es"

    # --- email -----------------------------------------------------------------------
    imap_host: str = ""
    imap_port: int = Field(993, ge=1, le=65535)
    imap_tls: bool = True
    imap_user: str = ""
    imap_password: str = ""
    imap_folder: str = "INBOX"
    imap_processed_folder: str = ""
    imap_poll_seconds: float = Field(60.0, gt=0)
    smtp_host: str = ""
    smtp_port: int = Field(587, ge=1, le=65535)
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_from: str = ""
    mail_max_attachment_bytes: int = Field(10 * 1024 * 1024, ge=0)

    # --- inbox: a record you can trust (issue 10) -------------------------------------
    inbox_max_attempts: int = Field(5, ge=1)  # then the item is quarantined
    mail_max_message_bytes: int = Field(30 * 1024 * 1024, ge=1024)  # RFC822.SIZE, raw bytes
    mail_max_parts: int = Field(500, ge=1)  # MIME parts (and nesting) per message
    mail_max_header_bytes: int = Field(256 * 1024, ge=1024)
    message_id_secret: str = ""  # HMAC key of our Message-IDs; generated and kept if empty
    auto_ack_max_per_day: int = Field(3, ge=0)  # automatic acknowledgements per sender

    # --- records: backups, personal data, retention (issue 17) ---------------------
    backup_enabled: bool = True  # the daily backup, run with the background jobs
    backup_time: str = "03:00"  # company time zone
    backup_keep: int = Field(7, ge=1)  # newest daily backups kept
    backup_dir: Path | None = None  # None: "backups" beside the data directory
    anonymise_after_years: int = Field(0, ge=0)  # anonymise customers idle N years; 0: off

    # --- NocoDB (issue 12: the company's Clientes and Tickets tables) ---------------
    nocodb_url: str = ""  # sync is on when set, e.g. https://nocodb.example.com
    nocodb_token: str = ""  # an API token, sent as xc-token
    nocodb_base_id: str = ""
    # table title -> table id, as JSON, when the ids are not found by title
    nocodb_tables: dict[str, str] = Field(default_factory=dict)
    # "Tabla.Columna" of the process -> the company's column title, as JSON
    nocodb_columns: dict[str, str] = Field(default_factory=dict)
    nocodb_webhook_secret: str = ""  # checked on /webhooks/nocodb (header X-Atiende-Secret)
    nocodb_webhook_url: str = ""  # Atiende's public address of /webhooks/nocodb, for setup
    nocodb_unreachable_alert_seconds: float = Field(600.0, gt=0)
    nocodb_reconcile_seconds: float = Field(300.0, gt=0)
    # --- several instances on one PostgreSQL (issue 14) ------------------------------
    # Once-only loops (Telegram polling, IMAP reader, schedulers) run under a lease of
    # this length, renewed every third of it: a dead holder's loops move within ~4/3 of it.
    lease_seconds: float = Field(15.0, ge=1.0, le=22.0)
    instance_name: str = ""  # how this instance signs its leases; empty: host:pid:random
    # Slack posts (cards, thread entries) per channel: one every this many seconds
    # (Slack's documented pace is about 1/s; 0 leaves pacing to Slack's 429s).
    slack_post_interval_seconds: float = Field(1.0, ge=0.0, le=10.0)

    # --- validators ----------------------------------------------------------------
    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"zona horaria desconocida: {value!r}") from exc
        return value

    @field_validator("closed_dates", mode="before")
    @classmethod
    def _split_dates(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("reminder_thresholds", mode="before")
    @classmethod
    def _split_floats(cls, value: object) -> object:
        if isinstance(value, str):
            return [float(part) for part in value.split(",") if part.strip()]
        return value

    @field_validator("weekly_report_time")
    @classmethod
    def _check_hhmm(cls, value: str) -> str:
        import re

        match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", value)
        if match is None or int(match.group(1)) > 23 or int(match.group(2)) > 59:
            raise ValueError(f"hora inválida {value!r}: use HH:MM")
        return value.strip()

    @field_validator("whatsapp_templates", "nocodb_tables", "nocodb_columns", mode="before")
    @classmethod
    def _parse_json_map(cls, value: object) -> object:
        if isinstance(value, str):
            value = json.loads(value) if value.strip() else {}
        return value

    @field_validator("whatsapp_templates")
    @classmethod
    def _check_whatsapp_templates(cls, value: dict[str, Any]) -> dict[str, Any]:
        check_mapping(value)  # only this map names annex messages
        return value

    @field_validator("backup_time")
    @classmethod
    def _check_backup_time(cls, value: str) -> str:
        hours, _, minutes = value.strip().partition(":")
        if not (hours.isdigit() and minutes.isdigit() and int(hours) < 24
                and int(minutes) < 60 and len(minutes) == 2):
            raise ValueError(f"hora no válida (HH:MM): {value!r}")
        return value.strip()

    @field_validator("backup_dir", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("business_hours")
    @classmethod
    def _check_business_hours(cls, value: str) -> str:
        parse_business_hours(value)
        return value

    # --- derived values ------------------------------------------------------------
    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite://{(self.data_dir / 'atiende.db').as_posix()}"

    @property
    def telegram_enabled(self) -> bool:
        return bool(self.telegram_token)

    @property
    def slack_enabled(self) -> bool:
        return bool(self.slack_bot_token)

    @property
    def whatsapp_enabled(self) -> bool:
        return bool(self.whatsapp_token and self.whatsapp_phone_number_id)

    @property
    def imap_enabled(self) -> bool:
        return bool(self.imap_host)

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)

    @property
    def nocodb_enabled(self) -> bool:
        return bool(self.nocodb_url)


def load_settings(**overrides: Any) -> Settings:
    """Build ``Settings`` or raise ``SettingsError`` with one line naming the variable."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first.get("loc") else "?"
        name = f"{ENV_PREFIX}{field.upper()}"
        raise SettingsError(f"{name}: {first['msg']}") from None
    except ValueError as exc:  # parse errors raised outside pydantic's field machinery
        raise SettingsError(str(exc)) from None
