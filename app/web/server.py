"""How ``nicepick serve`` speaks HTTP: uvicorn's httptools protocol, bounded in size and time.

uvicorn's httptools protocol (its default with ``uvicorn[standard]``) sets no limit on a
request head: it keeps every header byte until the blank line, so four connections sending
200 MB of header lines took one worker past a gigabyte before the app could answer 431.
uvicorn's other protocol, h11, has the limit (``h11_max_incomplete_event_size``), but its
pure-Python parser halved the pages a worker serves per second (bench/RESULTS.md), so
``BoundedHttpToolsProtocol`` keeps httptools and feeds it no more than
``NICEPICK_REQUEST_HEAD_MAX_BYTES`` of a head: past that the connection gets 431 and is closed
while the head is still arriving, so a head costs at most the limit plus one socket read.
The reference is nginx's ``large_client_header_buffers``, which likewise refuses a head that
outgrows its buffers (https://nginx.org/en/docs/http/ngx_http_core_module.html).

Neither protocol times out a head that never ends: uvicorn's keep-alive timer runs only
between requests and stops at the first byte, so a client sending a byte now and then holds
its connection for ever (slowloris). We add nginx's ``client_header_timeout``: a deadline for
the whole head, set when the connection opens or the previous response ends, and not renewed
by each read, so trickling bytes does not extend it (nginx arms the timer once,
``if (!rev->timer_set)`` in ``ngx_http_read_request_header``). nginx's default is 60 s; ours is
20 s, the first value of Apache's ``mod_reqtimeout`` default (``header=20-40``), because a
lone instance has no proxy in front to absorb slow clients. Like nginx, a timed-out connection
is closed without a response.

A request body gets a deadline of its own, ``NICEPICK_REQUEST_BODY_TIMEOUT``: a complete head
announcing ``Content-Length: 60000`` followed by a byte now and then (or nothing) would
otherwise hold its connection, and the route reading it, for ever. nginx's
``client_body_timeout`` (60 s) times only the gap between two reads, which a byte every few
seconds defeats; we time the whole body, as Apache's ``mod_reqtimeout`` does (``body=20``,
its default), from the end of the head to the end of the body. Our largest body is a 64 KB
note, which even a 2G phone sends in a few seconds, so 20 s is generous. A body that misses
it is answered ``408`` (nginx's code for the same case) and the connection closed.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.server import ServerState

from app.settings import Settings

Header = tuple[bytes, bytes]


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a size limit and a deadline on each request head,
    and its own refusals carrying the site's security headers."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        max_head_bytes: int,
        head_timeout: float,
        extra_headers: list[Header],
        body_timeout: float = 20.0,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_head_bytes = max_head_bytes
        self.head_timeout = head_timeout
        self.extra_headers = extra_headers
        self._in_head = True  # reading a request head (or waiting for one)
        self._head_bytes = 0
        self._head_deadline: asyncio.TimerHandle | None = None
        self.body_timeout = body_timeout
        self._body_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        # While a head arrives, feed the parser only what is left of the limit, so a head is
        # refused at the limit however the bytes were split; body bytes go through untouched.
        while data and self._in_head:
            room = self.max_head_bytes - self._head_bytes
            if room <= 0:
                self._refuse(431, b"Request header fields too large.\n")
                return
            piece, data = data[:room], data[room:]
            self._head_bytes += len(piece)
            super().data_received(piece)
            if self.transport.is_closing():
                return
        if data:
            super().data_received(data)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._cancel_head_deadline()
        super().on_headers_complete()
        # Cancelled by on_message_complete, at once for a request without a body.
        self._body_deadline = self.loop.call_later(self.body_timeout, self._body_timed_out)

    def on_message_complete(self) -> None:
        self._cancel_body_deadline()
        super().on_message_complete()
        self._in_head = True
        self._head_bytes = 0

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # uvicorn arms its keep-alive timer exactly when the connection waits for a new
        # request (not when a pipelined one was already read): the next head's clock starts.
        if self.timeout_keep_alive_task is not None and self._in_head:
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        self._cancel_body_deadline()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's answer to a malformed head, with the security headers."""
        self._refuse(400, f"{msg}\n".encode("ascii"))

    def _refuse(self, status: int, body: bytes) -> None:
        self._cancel_head_deadline()
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
            *self.extra_headers,
        ]
        lines = b"".join(name + b": " + value + b"\r\n" for name, value in headers)
        self.transport.write(STATUS_LINE[status] + lines + b"\r\n" + body)
        self.transport.close()

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _cancel_body_deadline(self) -> None:
        if self._body_deadline is not None:
            self._body_deadline.cancel()
            self._body_deadline = None

    def _body_timed_out(self) -> None:
        self._body_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_started:
            # The route waiting for the body then sees the client gone (http.disconnect).
            self._refuse(408, b"The request body took too long to arrive.\n")
        else:
            self.transport.close()

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self._in_head and not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The protocol option of ``uvicorn.run`` for these settings (the bench's baseline uses
    it too, so its comparison stays fair)."""
    from app.web.security import security_headers

    # A partial, not a class made per run: worker processes receive it pickled.
    protocol = functools.partial(
        BoundedHttpToolsProtocol,
        max_head_bytes=settings.request_head_max_bytes,
        head_timeout=settings.request_head_timeout,
        body_timeout=settings.request_body_timeout,
        extra_headers=security_headers(settings),
    )
    return {"http": protocol}
