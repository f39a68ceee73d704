"""Logs and metrics of a real ``nicepick serve``: JSON lines that follow one note from its POST
to its delivery by a real SMTP server, and metrics summed over two worker processes."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.mmap_dict import MmapedDict
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import GOOD
from tests.live import live_server, server_env
from tests.smtp import SmtpServer
from tests.test_feedback_delivery import FAST_RETRY, token_from, wait_until

pytestmark = pytest.mark.slow

PAGE = "/compare/vim-vs-emacs"
MESSAGE = "Emacs has Org mode, and nothing in Vim comes close."


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    return folder


def json_lines(log: Path) -> list[dict[str, Any]]:
    """Every line of the server's log, each parsed as one JSON object (fails on any other)."""
    lines = log.read_text("utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_json_logs_follow_a_note_from_its_post_to_its_delivery(
    tmp_path: Path, content: Path, smtp_server: SmtpServer
) -> None:
    smtp_server.reset()
    env = server_env(
        tmp_path / "var",
        content_dir=content,
        smtp_port=smtp_server.port,
        NICEPICK_LOG_FORMAT="json",
        NICEPICK_ACCESS_LOG="true",
        **FAST_RETRY,
    )
    log = tmp_path / "server.log"
    with live_server(env, log, args=("--log-level", "info")) as server:
        token = token_from(httpx.get(server.url + PAGE).text)
        data = {"option": "Emacs", "message": MESSAGE, "token": token}
        posted = httpx.post(f"{server.url}{PAGE}/feedback", data=data)
        assert posted.status_code == 303
        rid = posted.headers["x-request-id"]
        (mail,) = smtp_server.wait_for(1)
        note_id = int(mail["X-Nicepick-Note"])

        def delivered() -> bool:
            return any("mailed to" in line["message"] for line in json_lines(log))

        wait_until(delivered)
    lines = json_lines(log)
    for line in lines:
        assert {"time", "level", "logger", "message", "request_id"} <= set(line)
    (access,) = [
        line
        for line in lines
        if line["logger"] == "nicepick.access" and line.get("method") == "POST"
    ]
    assert access["request_id"] == rid
    assert access["route"] == "/compare/{slug}/feedback"
    assert access["status"] == 303
    assert access["duration_ms"] > 0 and access["bytes"] == 0
    (sent,) = [line for line in lines if "mailed to" in line["message"]]
    assert sent["logger"] == "app.feedback.outbox"
    assert sent["request_id"] == rid
    assert sent["message"].startswith(f"note {note_id} (request {rid}) mailed")
    # Lines outside any request name none.
    assert any(line["request_id"] is None for line in lines)


def test_no_access_lines_when_the_access_log_is_off(tmp_path: Path, content: Path) -> None:
    env = server_env(
        tmp_path / "var",
        content_dir=content,
        NICEPICK_LOG_FORMAT="json",
        NICEPICK_ACCESS_LOG="false",
    )
    log = tmp_path / "server.log"
    with live_server(env, log, args=("--log-level", "info")) as server:
        for _ in range(5):
            assert httpx.get(server.url + PAGE).status_code == 200
    lines = json_lines(log)
    assert lines  # uvicorn's start-up lines, as JSON
    assert not [line for line in lines if line["logger"] in ("nicepick.access", "uvicorn.access")]


def served_by(folder: Path) -> dict[str, float]:
    """Page requests counted in each worker's own file (the pid is in its name)."""
    counts: dict[str, float] = {}
    for path in folder.glob("counter_*.db"):
        values = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
        for key, count, *_ in values:
            _, name, labels, _ = json.loads(key)
            if name == "nicepick_http_requests_total" and labels["route"] == "/compare/{slug}":
                pid = path.stem.rsplit("_", 1)[1]
                counts[pid] = counts.get(pid, 0) + count
    return {pid: count for pid, count in counts.items() if count}


def test_two_workers_add_up_in_one_scrape(tmp_path: Path, content: Path) -> None:
    data_dir = tmp_path / "var"
    stale = data_dir / "metrics" / "counter_999999.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over from an earlier run")
    env = server_env(data_dir, content_dir=content)
    requests = 60
    with live_server(env, tmp_path / "server.log", args=("--workers", "2")) as server:
        assert not stale.exists()  # emptied at start
        # A new connection each time, so the kernel hands them to both workers.
        for _ in range(requests):
            assert httpx.get(server.url + PAGE).status_code == 200
        deadline = time.monotonic() + 20
        while len(served_by(data_dir / "metrics")) < 2 and time.monotonic() < deadline:
            assert httpx.get(server.url + PAGE).status_code == 200
            requests += 1
        per_worker = served_by(data_dir / "metrics")
        assert len(per_worker) == 2, per_worker
        text = httpx.get(server.url + "/metrics").text
    families = {family.name: family for family in text_string_to_metric_families(text)}
    counted = sum(
        sample.value
        for sample in families["nicepick_http_requests"].samples
        if sample.name == "nicepick_http_requests_total"
        and sample.labels == {"route": "/compare/{slug}", "status": "2xx"}
    )
    assert counted == requests
    (comparisons,) = families["nicepick_library_comparisons"].samples
    assert comparisons.value == 1  # "max" over the workers, not a sum
