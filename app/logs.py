"""How the server's log lines look (``NICEPICK_LOG_FORMAT=text|json``) and which request each
one belongs to.

The request being answered is named by a context variable, ``request_id``: set by the web
layer for each request (``app/web/observe.py``), carried by asyncio tasks and by the threads
that run sync routes and database calls (AnyIO copies the context into them), and set by the
outbox sender around a note's delivery to the id of the request that posted it. A filter
copies it onto every record, so every line of one request names it, whoever logged it.

``json`` writes one object per line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
``message``, ``request_id`` (null outside a request), an access line's ``method``, ``route``,
``status``, ``duration_ms`` and ``bytes``, and ``exception`` with the traceback when there is
one. ``text`` is the same for a person: ``LEVEL logger [request id]: message``.
"""

from __future__ import annotations

import json
import logging
import random
import re
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

LogFormat = Literal["text", "json"]

request_id: ContextVar[str | None] = ContextVar("nicepick_request_id", default=None)

# What an incoming X-Request-ID may be: printable, no spaces or quotes, at most 128 characters
# (enough for a UUID, a W3C trace id, or nginx's $request_id with a prefix).
_VALID_ID = re.compile(r"[A-Za-z0-9._:+/=@-]{1,128}")
# The access line's fields, set as ``extra`` by the web layer.
ACCESS_FIELDS = ("method", "route", "status", "duration_ms", "bytes")


def valid_request_id(value: str) -> bool:
    """Whether an incoming id is safe to keep and to write into a log line."""
    return _VALID_ID.fullmatch(value) is not None


def new_request_id() -> str:
    """A fresh id: 128 random bits as 32 hex digits, like a UUID without its dashes.

    From ``random``, not ``secrets``: an id must be unique, not unguessable (it grants
    nothing), and the system's random source costs a system call per request, about as
    much as the rest of the request's bookkeeping. Each worker process is started afresh
    (uvicorn spawns them), so each seeds its own generator from the system at import.
    """
    return f"{random.getrandbits(128):032x}"


class RequestIdFilter(logging.Filter):
    """Put the current request's id on each record (``record.request_id``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        for name in ACCESS_FIELDS:
            if hasattr(record, name):
                entry[name] = getattr(record, name)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``INFO app.feedback.outbox [3f2a...]: note 7 mailed``; no brackets outside a request."""

    def format(self, record: logging.LogRecord) -> str:
        rid = getattr(record, "request_id", None)
        where = f"{record.name} [{rid}]" if rid else record.name
        line = f"{record.levelname} {where}: {record.getMessage()}"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def logging_config(log_format: LogFormat, level: str = "info") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the server, given to uvicorn as ``log_config`` so
    every worker process applies it: one handler on the root logger, uvicorn's loggers
    passing their lines up to it, uvicorn's own access log off (``app/web/observe.py`` writes
    the access lines, which know the route template and the request id)."""
    formatter = "app.logs.JsonFormatter" if log_format == "json" else "app.logs.TextFormatter"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "app.logs.RequestIdFilter"}},
        "formatters": {"default": {"()": formatter}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "default",
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["default"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False},
        },
    }
