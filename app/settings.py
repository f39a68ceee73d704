"""Every setting of the site, read once from ``NICEPICK_*`` variables (and an optional .env).

No instance is created at import time: the CLI builds one and hands it to ``create_app``,
and tests build their own.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


def shipped_folder(name: str) -> Path:
    """Where ``templates/`` or ``static/`` is, found from this file, never from the current
    directory: inside the package in a wheel (pyproject maps them there), beside the package
    in a checkout, where they live at the top level for editors and designers to find."""
    inside = PACKAGE_DIR / name
    return inside if inside.is_dir() else PACKAGE_DIR.parent / name


# One rate limit as ``limits.parse`` reads it ("5/10minutes", "20 per hour").
# Neither number 0: "5/0minutes" made a period of no time (no limit at all), "0/minute"
# refused every note.
_RATE = re.compile(
    r"\s*[1-9][0-9]*\s*(?:/|\s+per\s+)\s*(?:[1-9][0-9]*)?\s*"
    r"(?:second|minute|hour|day|month|year)s?\s*",
    re.IGNORECASE,
)
# The dialects and drivers installed with the site (SQLAlchemy's spelling, lower case):
# another passed here and failed later with SQLAlchemy's traceback.
_DATABASE = re.compile(r"sqlite(?:\+pysqlite)?://|postgresql\+psycopg://")


class Settings(BaseSettings):
    # Frozen: read once; a different configuration is a new object (``model_copy(update=...)``).
    model_config = SettingsConfigDict(
        env_prefix="NICEPICK_", env_file=".env", extra="ignore", frozen=True
    )

    content_dir: Path = Field(Path("content"), description="Folder of Markdown comparisons.")
    data_dir: Path = Field(Path("var"), description="Database, mail files, caches.")
    templates_dir: Path = Field(shipped_folder("templates"), description="Jinja templates.")
    static_dir: Path = Field(shipped_folder("static"), description="CSS, scripts, icons.")
    site_url: str = Field("http://127.0.0.1:8000", description="Absolute base URL.")
    site_name: str = "Nice Pick"
    redirect_host: bool = Field(
        True,
        description="301 requests for any other host name to the host of site_url (one URL per "
        "page); inactive while site_url is localhost/127.0.0.1/::1.",
    )

    feedback_to: str = Field("editors@nicepick.dev", description="Where reader notes go.")
    mail_from: str = Field("Nice Pick <noreply@nicepick.dev>", description="Sender of mail.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default SQLite file.")
    database_pool_size: int = Field(5, ge=1, description="Connections kept open per instance.")
    database_max_overflow: int = Field(5, ge=0, description="Extra connections under bursts.")
    database_timeout: float = Field(
        5.0,
        gt=0,
        description="Seconds a note may wait for the database (a connection, a lock) before a 503.",
    )
    meter_refresh_seconds: float = Field(
        2.0, gt=0, description="How often each instance re-reads the disagreement counts."
    )

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_tls: Literal["auto", "starttls", "tls", "none"] = "auto"
    smtp_timeout: float = 30.0
    smtp_data_timeout: float = Field(
        600.0,
        gt=0,
        description="Seconds to wait for the server's reply once a message is sent (RFC 5321 "
        "4.5.3.2.6: 10 minutes); giving up earlier sends the message again.",
    )

    feedback_min_seconds: float = Field(3.0, ge=0)
    feedback_rate: str = "5/10minutes"
    feedback_rate_ipv6_prefix: int = Field(
        64,
        ge=32,
        le=128,
        description="IPv6 clients are counted per network of this prefix length (a /64 is "
        "one subscriber's); 128 counts single addresses.",
    )
    feedback_endpoint: str | None = Field(None, description="Where exported pages post notes.")
    secret_key: str | None = Field(None, description="Signs form tokens; generated if unset.")
    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)

    cache_seconds: int = Field(300, ge=0, description="Cache-Control max-age of pages.")
    page_cache_mb: int = Field(
        256, ge=1, description="Memory for rendered pages (with gzip/brotli forms), per process."
    )
    cache_stale_seconds: int = Field(
        86400, ge=0, description="Cache-Control stale-while-revalidate of pages."
    )
    background_load_above: int = Field(
        1000,
        ge=0,
        description="More content files than this: serve at once and parse them in the "
        "background (comparison pages are parsed on their first request meanwhile).",
    )
    request_head_max_bytes: int = Field(
        16 * 1024,
        ge=1024,
        description="Largest request line plus headers; larger heads are refused with 431 "
        "while they arrive.",
    )
    request_head_timeout: float = Field(
        20.0,
        gt=0,
        description="Seconds a connection may take to send a whole request head; slower "
        "ones are closed.",
    )
    request_body_timeout: float = Field(
        20.0,
        gt=0,
        description="Seconds a request may take to send its whole body once the head is in; "
        "slower ones get 408 and are closed.",
    )
    log_format: Literal["text", "json"] = Field(
        "text",
        description="Server log lines: text for a person, json for a log collector (one "
        "object per line with time, level, logger, message, request_id).",
    )
    access_log: bool = Field(
        True, description="One log line per request (method, route, status, duration, bytes)."
    )
    metrics_allow: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["127.0.0.0/8", "::1/128"],
        description="Client networks (CIDR, comma-separated) that may read /metrics; others "
        "get 404.",
    )
    drafts: bool = Field(False, description="Show drafts (preview only).")
    reload: bool = Field(False, description="Watch files and re-render on change.")
    outbox_poll_seconds: float = Field(30.0, gt=0)
    outbox_lease_seconds: float = Field(60.0, gt=0)
    outbox_max_backoff_seconds: float = Field(3600.0, gt=0)
    outbox_retry_seconds: float = Field(
        30.0, gt=0, description="First retry delay after a failed send; doubles each attempt."
    )
    outbox_drain_seconds: float = Field(
        10.0,
        ge=0,
        description="On SIGTERM, how long to wait for the server's reply to a message already "
        "sent before dropping the connection; other sends are dropped at once.",
    )

    @field_validator("site_url")
    @classmethod
    def _absolute_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an absolute http(s) URL, e.g. https://nicepick.dev")
        if parts.path.strip("/") or parts.query or parts.fragment:
            # Every link, script and style sheet of a page starts at the host's root
            # (/static/..., /compare/...): under a path the canonical links and the sitemap
            # named /sub/ while the pages' own links broke.
            raise ValueError(
                "must be the site's root, without a path (https://nicepick.dev, not "
                "https://example.org/nicepick): the site is served from the root of its host"
            )
        return value.rstrip("/")

    @field_validator("feedback_rate")
    @classmethod
    def _rate(cls, value: str) -> str:
        # The grammar ``limits.parse`` reads (one limit), checked here: a typo stopped
        # ``serve`` with limits' traceback instead of this message.
        if not _RATE.fullmatch(value):
            raise ValueError(
                f"{value!r} is not a rate: write a number per period, e.g. 5/10minutes or "
                "20 per hour (second, minute, hour, day, month or year)"
            )
        return value

    @field_validator("database_url")
    @classmethod
    def _database(cls, value: str | None) -> str | None:
        # SQLAlchemy's own error for another scheme is a traceback (NoSuchModuleError).
        if value is not None and not _DATABASE.match(value):
            raise ValueError(
                "must be a sqlite:/// or postgresql+psycopg:// URL (the database drivers "
                "installed with the site), e.g. postgresql+psycopg://user@host/nicepick"
            )
        return value

    @field_validator("trusted_proxies", "metrics_allow", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("trusted_proxies", "metrics_allow")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        # Refused at start-up: a typo here would otherwise fail every feedback POST with a 500.
        for entry in value:
            try:
                ipaddress.ip_network(entry, strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or network") from None
        return value

    @property
    def resolved_database_url(self) -> str:
        """The configured database, or the embedded SQLite file in the data folder."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'nicepick.sqlite3').resolve()}"

    @property
    def smtp_enabled(self) -> bool:
        return bool(self.smtp_host)
