"""Log lines: both formats name the request being answered, and a request cannot break a line."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.logs import JsonFormatter, RequestIdFilter, TextFormatter, logging_config, request_id
from app.main import create_app
from app.settings import Settings
from tests.conftest import GOOD


def record(message: str, **extra: object) -> logging.LogRecord:
    made = logging.LogRecord("app.test", logging.WARNING, __file__, 1, message, (), None)
    made.__dict__.update(extra)
    RequestIdFilter().filter(made)
    return made


def test_text_lines_name_the_request_only_inside_one() -> None:
    assert TextFormatter().format(record("outside")) == "WARNING app.test: outside"
    token = request_id.set("abc123")
    try:
        line = TextFormatter().format(record("inside"))
    finally:
        request_id.reset(token)
    assert line == "WARNING app.test [abc123]: inside"


def test_json_lines_carry_the_fields_and_the_traceback() -> None:
    token = request_id.set("abc123")
    try:
        plain = json.loads(JsonFormatter().format(record("hello \u00e9")))
        try:
            raise ValueError("boom")
        except ValueError:
            failed = record("failed")
            failed.exc_info = sys.exc_info()
        broken = json.loads(JsonFormatter().format(failed))
    finally:
        request_id.reset(token)
    assert plain["message"] == "hello \u00e9" and plain["request_id"] == "abc123"
    assert plain["level"] == "WARNING" and plain["logger"] == "app.test"
    assert plain["time"].endswith("+00:00")
    assert "ValueError: boom" in broken["exception"]


def test_the_server_config_sends_uvicorns_lines_to_our_handler_and_drops_its_access_log() -> None:
    config = logging_config("json", "warning")
    assert config["root"]["level"] == "WARNING"
    assert config["formatters"]["default"]["()"] == "app.logs.JsonFormatter"
    assert config["loggers"]["uvicorn.error"]["propagate"] is True
    assert config["loggers"]["uvicorn.access"]["propagate"] is False


@pytest.fixture
def access_lines(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> Iterator[tuple[TestClient, pytest.LogCaptureFixture]]:
    (settings.content_dir / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    caplog.set_level(logging.INFO, logger="nicepick.access")
    with TestClient(create_app(settings), follow_redirects=False) as client:
        yield client, caplog


def test_an_access_line_per_request_with_its_route_and_id(
    access_lines: tuple[TestClient, pytest.LogCaptureFixture],
) -> None:
    client, caplog = access_lines
    caplog.clear()
    response = client.get("/compare/vim-vs-emacs%0Aforged")
    (line,) = [r for r in caplog.records if r.name == "nicepick.access"]
    assert line.__dict__["route"] == "/compare/{slug}"
    assert line.__dict__["status"] == 404
    assert line.__dict__["bytes"] == int(response.headers["content-length"])  # as sent
    # The path as sent, still encoded: a decoded line break cannot forge a second line.
    assert "\n" not in line.getMessage() and "%0A" in line.getMessage()
    JsonFormatter().format(line)  # the extra fields are JSON values


def test_no_access_line_when_it_is_off(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    (settings.content_dir / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    caplog.set_level(logging.INFO, logger="nicepick.access")
    quiet = settings.model_copy(update={"access_log": False})
    with TestClient(create_app(quiet)) as client:
        assert client.get("/compare/vim-vs-emacs").status_code == 200
    assert not [r for r in caplog.records if r.name == "nicepick.access"]


def test_settings_refuse_a_log_format_they_do_not_know(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml", _env_file=None)
