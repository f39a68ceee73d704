"""Slugs and static names never reach outside their folders, and odd paths never cause a 500."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from app.render.assets import Assets
from app.settings import Settings
from tests.live import ROOT, live_server, raw_request, raw_status, server_env

SECRET_MARKERS = (b"[build-system]", b"root:x:0:0", b"NICEPICK_", b"def create_app")


@pytest.mark.parametrize(
    "name",
    [
        "../pyproject.toml",
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        ".",
        "",
        "site.css\x00.png",
        "\x00",
        "a" * 300,
        "a" * 5000 + ".css",
        "../static/../pyproject.toml",
        "site.0123456789.css/../../pyproject.toml",
        "..\\pyproject.toml",
    ],
)
def test_static_file_stays_inside_the_static_folder(settings: Settings, name: str) -> None:
    assert Assets(settings.static_dir).file(name) is None


def test_static_file_follows_no_symlink_out_of_the_folder(
    settings: Settings, tmp_path: Path
) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "site.css").write_text("body{}")
    (tmp_path / "secret.txt").write_text("secret")
    (static / "leak.txt").symlink_to(tmp_path / "secret.txt")
    assets = Assets(static)
    assert assets.file("site.css") == (static / "site.css").resolve()
    assert assets.file("leak.txt") is None


def test_fingerprinted_name_maps_to_the_plain_file(settings: Settings) -> None:
    assets = Assets(settings.static_dir)
    url = assets.url("site.css")
    assert url != "/static/site.css"
    plain = (ROOT / "static/site.css").resolve()
    assert assets.file(url.removeprefix("/static/")) == plain


# Percent-encoded forms survive the test client untouched, so they reach the router as written.
ENCODED = [
    "/static/%2e%2e/pyproject.toml",
    "/static/%2e%2e%2fpyproject.toml",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/static/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/static/%252e%252e%252fpyproject.toml",
    "/static/%c0%ae%c0%ae%2fpyproject.toml",
    "/static/%00",
    "/static/site.css%00.png",
    "/static/%ff%fe",
    "/static/" + "a" * 5000,
    "/static/" + "a/" * 2000 + "x",
    "/compare/..%2f..%2fpyproject",
    "/compare/%00",
    "/compare/%ff",
    "/compare/" + "a" * 10000,
    "/category/%2e%2e",
    "/category/%00",
    "/tag/..%2f..%2fetc%2fpasswd",
    "/tag/" + "%e2%80%ae" * 200,
]


@pytest.mark.parametrize("path", ENCODED, ids=lambda p: p[:40])
def test_hostile_path_is_not_found_never_a_file_or_an_error(client: TestClient, path: str) -> None:
    with TestClient(client.app, raise_server_exceptions=False) as plain:
        response = plain.get(path)
    assert response.status_code in (400, 404)
    assert not any(marker in response.content for marker in SECRET_MARKERS)
    assert response.headers["x-content-type-options"] == "nosniff"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data = tmp_path_factory.mktemp("paths")
    with live_server(server_env(data / "var"), data / "server.log") as running:
        yield running.url


# Literal dot segments as a raw client sends them: no client-side normalisation.
RAW = [
    "/static/../pyproject.toml",
    "/static/../../../../etc/passwd",
    "/static/./../pyproject.toml",
    "/static/..%2f..%2fpyproject.toml",
    "/static//etc/passwd",
    "/static/%2e%2e/app/main.py",
    "/compare/../../pyproject.toml",
    "/compare/%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/static/" + "b" * 60000,
]


@pytest.mark.slow
@pytest.mark.parametrize("path", RAW, ids=lambda p: p[:40])
def test_raw_traversal_against_the_real_server(server: str, path: str) -> None:
    reply = raw_request(
        server, f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
    )
    status = raw_status(reply)
    assert status in (400, 404, 414, 431), reply[:200]
    assert not any(marker in reply for marker in SECRET_MARKERS)


@pytest.mark.slow
def test_nul_and_control_bytes_in_the_request_line_are_refused(server: str) -> None:
    for path in (b"/static/site.css\x00", b"/compare/a\x01b", b"/\xff\xfe"):
        reply = raw_request(server, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        assert raw_status(reply) in (0, 400, 404)
        assert b"Traceback" not in reply


@pytest.mark.slow
def test_real_server_still_serves_its_own_files(server: str) -> None:
    reply = raw_request(
        server, b"GET /static/site.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert raw_status(reply) == 200
    assert b"--accent" in reply


@pytest.mark.parametrize("where", ["content", "content/sub", "elsewhere", "/"])
def test_discover_names_files_as_source_file_does_wherever_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    from app.content.sources import discover, source_file

    content = tmp_path / "content"
    (content / "sub").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    for name in ("a.md", "sub/b.md"):
        (content / name).write_text("x")
    monkeypatch.chdir(tmp_path / where)
    cwd = os.getcwd().rstrip(os.sep) + os.sep
    found = discover(content)
    assert [s.display for s in found] == [source_file(s.path, cwd).display for s in found]
    assert len(found) == 2
