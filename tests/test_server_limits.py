"""``nicepick serve`` bounds what one connection may hold: the size of a request head while it
arrives, and the time it may take (slowloris). Against the real server, RSS read from /proc."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import GOOD
from tests.live import Server, live_server, raw_request, raw_status, server_env

HEAD_TIMEOUT = 1.5  # seconds; the setting under test, short so the tests are quick

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("limits-live")
    content = root / "content"
    content.mkdir()
    (content / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    env = server_env(
        root / "var", content_dir=content, NICEPICK_REQUEST_HEAD_TIMEOUT=str(HEAD_TIMEOUT)
    )
    with live_server(env, root / "server.log") as run:
        yield run


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def address(server: Server) -> tuple[str, int]:
    host, port = server.url.removeprefix("http://").split(":")
    return host, int(port)


def flood_headers(server: Server, megabytes: int, replies: list[bytes]) -> None:
    """Send header lines until the server stops reading or ``megabytes`` are out."""
    line = b"X-Filler: " + b"f" * 1000 + b"\r\n"
    with socket.create_connection(address(server), timeout=10) as sock:
        try:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            for _ in range(megabytes * 1024 * 1024 // len(line)):
                sock.sendall(line)
        except OSError:  # refused mid-way: what we want
            pass
        try:
            replies.append(sock.recv(4096))
        except OSError:
            replies.append(b"")


def test_eight_endless_heads_are_refused_while_they_arrive(server: Server) -> None:
    before = rss_bytes(server.process.pid)
    replies: list[bytes] = []
    threads = [threading.Thread(target=flood_headers, args=(server, 48, replies)) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    grown = rss_bytes(server.process.pid) - before
    assert len(replies) == 8
    # Each is answered 431 (or reset before the answer could be read), never served.
    assert all(raw_status(reply) in (0, 431) for reply in replies), [r[:40] for r in replies]
    assert any(raw_status(reply) == 431 for reply in replies)
    assert grown < 50 * 1024 * 1024, f"RSS grew {grown / 2**20:.1f} MB"
    # The server still serves, and the refusal carried the security headers.
    reply = raw_request(
        server.url, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert raw_status(reply) == 200


def test_a_refused_head_carries_the_security_headers(server: Server) -> None:
    request = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n\r\n"
    reply = raw_request(server.url, request)
    assert raw_status(reply) == 431
    head = reply.split(b"\r\n\r\n", 1)[0].lower()
    assert b"content-security-policy: default-src 'self'" in head
    assert b"x-content-type-options: nosniff" in head


def test_an_eight_kilobyte_url_is_still_answered(server: Server) -> None:
    path = b"/option/" + b"a" * 8000
    reply = raw_request(
        server.url, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert raw_status(reply) == 404


def closed_by_server(sock: socket.socket, trickle: bytes, within: float) -> bool:
    """Send ``trickle`` a byte at a time (one every 0.1 s) until the server closes the
    connection; whether that happened within ``within`` seconds."""
    deadline = time.monotonic() + within
    sock.settimeout(0.1)
    position = 0
    while time.monotonic() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True
        except TimeoutError:
            pass
        except ConnectionResetError:
            return True
        if position < len(trickle):
            try:
                sock.sendall(trickle[position : position + 1])
            except OSError:
                return True
            position += 1
    return False


SLOW_HEADS = [
    pytest.param(b"", id="connects-and-says-nothing"),
    pytest.param(b"GET / HT", id="half-a-request-line"),
    pytest.param(b"GET / HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"s" * 400, id="byte-a-tick"),
]


@pytest.mark.parametrize("trickle", SLOW_HEADS)
def test_a_head_that_never_ends_is_closed_after_the_timeout(server: Server, trickle: bytes) -> None:
    with socket.create_connection(address(server), timeout=5) as sock:
        assert closed_by_server(sock, trickle, within=HEAD_TIMEOUT + 8)


def test_the_deadline_starts_again_for_each_request_on_a_kept_connection(server: Server) -> None:
    with socket.create_connection(address(server), timeout=5) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        reply = sock.recv(4096)
        assert raw_status(reply) == 200
        # The next head trickles in and never ends: closed like a fresh connection's.
        assert closed_by_server(sock, b"GET /healthz HTTP/1.1\r\nX-A: " + b"a" * 400, 10)


def test_a_head_sent_in_pieces_within_the_deadline_is_served(server: Server) -> None:
    with socket.create_connection(address(server), timeout=5) as sock:
        for piece in (b"GET /healthz HTTP/1.1\r\n", b"Host: x\r\n", b"Connection: close\r\n\r\n"):
            sock.sendall(piece)
        assert raw_status(sock.recv(4096)) == 200


HEALTH = b"GET /healthz HTTP/1.1\r\nHost: x\r\n"
FILLER = b"X-Filler: " + b"f" * 14_000 + b"\r\n"  # a head just under 16 KiB
FORM = b"option=Emacs&message=" + b"m" * 50_000


@pytest.mark.parametrize(
    ("request_bytes", "statuses"),
    [
        pytest.param(HEALTH + FILLER + b"Connection: close\r\n\r\n", [200], id="head-near-limit"),
        pytest.param(
            b"POST /compare/vim-vs-emacs/feedback HTTP/1.1\r\nHost: x\r\n"
            + FILLER
            + b"Content-Type: application/x-www-form-urlencoded\r\n"
            + f"Content-Length: {len(FORM)}\r\nConnection: close\r\n\r\n".encode()
            + FORM,
            [422],  # the body reached the form check in the same read as a near-limit head
            id="big-head-and-body-in-one-send",
        ),
        pytest.param(
            HEALTH + FILLER + b"\r\n" + HEALTH + FILLER + b"Connection: close\r\n\r\n",
            [200, 200],
            id="two-pipelined-near-limit",
        ),
    ],
)
def test_heads_within_the_limit_are_served_however_they_arrive(
    server: Server, request_bytes: bytes, statuses: list[int]
) -> None:
    reply = raw_request(server.url, request_bytes)
    answered = [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", reply)]
    assert answered == statuses, reply[:300]


BODY_TIMEOUT = 1.5  # seconds; NICEPICK_REQUEST_BODY_TIMEOUT under test
POST_HEAD = (
    b"POST /compare/vim-vs-emacs/feedback HTTP/1.1\r\nHost: x\r\n"
    b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 60000\r\n\r\n"
)


@pytest.fixture(scope="module")
def body_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("body-limits-live")
    content = root / "content"
    content.mkdir()
    (content / "vim-vs-emacs.md").write_text(GOOD, encoding="utf-8")
    env = server_env(
        root / "var", content_dir=content, NICEPICK_REQUEST_BODY_TIMEOUT=str(BODY_TIMEOUT)
    )
    with live_server(env, root / "server.log") as run:
        yield run


def reply_to_slow_body(sock: socket.socket, trickle: bytes, within: float) -> bytes:
    """Send ``trickle`` a byte every 0.2 s; what the server answered before it closed."""
    deadline = time.monotonic() + within
    sock.settimeout(0.2)
    reply = b""
    position = 0
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(4096)
            if chunk == b"":
                return reply
            reply += chunk
        except TimeoutError:
            pass
        except ConnectionResetError:
            return reply
        if position < len(trickle):
            try:
                sock.sendall(trickle[position : position + 1])
            except OSError:
                return reply
            position += 1
    raise AssertionError(f"still open after {within} s; got {reply[:80]!r}")


@pytest.mark.parametrize(
    "trickle",
    [
        pytest.param(b"", id="head-then-nothing"),
        pytest.param(b"option=Emacs&message=" + b"m" * 200, id="a-byte-a-tick"),
    ],
)
def test_a_body_that_never_ends_gets_408_after_the_body_timeout(
    body_server: Server, trickle: bytes
) -> None:
    with socket.create_connection(address(body_server), timeout=5) as sock:
        sock.sendall(POST_HEAD)
        started = time.monotonic()
        reply = reply_to_slow_body(sock, trickle, within=BODY_TIMEOUT + 8)
        seconds = time.monotonic() - started
    assert raw_status(reply) == 408, reply[:200]
    assert seconds <= BODY_TIMEOUT + 1.0, f"closed after {seconds:.2f} s"
    # The server is fine, and a body sent in time is read as usual (the token is missing).
    form = b"option=Emacs&message=" + b"m" * 100
    quick = raw_request(
        body_server.url,
        POST_HEAD.replace(b"60000", str(len(form)).encode()).replace(
            b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"
        )
        + form,
    )
    assert raw_status(quick) == 422
