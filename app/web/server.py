"""How ``nicepick serve`` speaks HTTP: uvicorn's h11 protocol, bounded in size and in time.

uvicorn's default protocol with ``uvicorn[standard]`` is httptools, which sets no limit on a
request head: it keeps every header byte until the blank line, so four connections sending
200 MB of header lines took one worker past a gigabyte before the app could answer 431. h11
refuses a head past ``max_incomplete_event_size`` while it is still arriving (the buffer never
holds more than the limit plus one socket read), so the site runs on h11 with that limit set
to ``NICEPICK_REQUEST_HEAD_MAX_BYTES``; the reference is nginx's
``large_client_header_buffers``, which likewise refuses a head that outgrows its buffers
(https://nginx.org/en/docs/http/ngx_http_core_module.html#large_client_header_buffers).

Neither protocol times out a head that never ends: uvicorn's keep-alive timer runs only
between requests and stops at the first byte, so a client sending a byte now and then holds
its connection for ever (slowloris). ``BoundedH11Protocol`` adds nginx's
``client_header_timeout``: a deadline for the whole head, set when the connection opens or
the previous response ends and not renewed by each read, so trickling bytes does not extend
it (nginx arms the timer once, ``if (!rev->timer_set)`` in ``ngx_http_read_request_header``).
nginx's default is 60 s; ours is 20 s, the first value of Apache's ``mod_reqtimeout``
default (``header=20-40``), because a lone instance has no proxy in front to absorb slow
clients. Like nginx, a timed-out connection is closed without a response.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import h11
from uvicorn.config import Config
from uvicorn.protocols.http.h11_impl import STATUS_PHRASES, H11Protocol
from uvicorn.server import ServerState

from app.settings import Settings

Header = tuple[bytes, bytes]


class BoundedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a deadline on each request head, and its own refusals
    (a malformed or oversized head) carrying the site's security headers."""

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
        *,
        head_timeout: float,
        extra_headers: list[Header],
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.head_timeout = head_timeout
        self.extra_headers = extra_headers
        self._head_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm_head_deadline()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the head is complete (or refused)
            self._cancel_head_deadline()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        # uvicorn arms its keep-alive timer exactly when the connection waits for a new
        # request (not when a pipelined one was already read): the next head's clock starts.
        if self.timeout_keep_alive_task is not None and self.conn.their_state is h11.IDLE:
            self._arm_head_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_deadline()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's refusal of a bad head, as 431 when the head was too large (RFC 6585), and
        with the security headers every other response has."""
        pending, _closed = self.conn.trailing_data
        limit = self.config.h11_max_incomplete_event_size
        status = 400
        if limit is not None and len(pending) > limit:
            status, msg = 431, "Request header fields too large."
        body = f"{msg}\n".encode("ascii")
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode("ascii")),
            (b"connection", b"close"),
            *self.extra_headers,
        ]
        try:
            response = h11.Response(
                status_code=status, headers=headers, reason=STATUS_PHRASES[status]
            )
            output = b"".join(
                self.conn.send(event) or b""
                for event in (response, h11.Data(data=body), h11.EndOfMessage())
            )
        except h11.LocalProtocolError:  # h11 can no longer answer on this connection
            output = b""
        if output:
            self.transport.write(output)
        self.transport.close()

    def _arm_head_deadline(self) -> None:
        self._cancel_head_deadline()
        self._head_deadline = self.loop.call_later(self.head_timeout, self._head_timed_out)

    def _cancel_head_deadline(self) -> None:
        if self._head_deadline is not None:
            self._head_deadline.cancel()
            self._head_deadline = None

    def _head_timed_out(self) -> None:
        self._head_deadline = None
        if self.conn.their_state is h11.IDLE and not self.transport.is_closing():
            self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """The protocol options of ``uvicorn.run`` for these settings (the bench's baseline uses
    them too, so its comparison stays fair)."""
    from app.web.security import security_headers

    # A partial, not a subclass made per run: worker processes receive it pickled.
    protocol = functools.partial(
        BoundedH11Protocol,
        head_timeout=settings.request_head_timeout,
        extra_headers=security_headers(settings),
    )
    return {
        "http": protocol,
        "h11_max_incomplete_event_size": settings.request_head_max_bytes,
    }
