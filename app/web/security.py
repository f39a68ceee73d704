"""Security headers on every response, as a pure ASGI middleware.

The header list is built once from settings when the app is created; each response only gets
the ready-made byte pairs appended (a ``BaseHTTPMiddleware`` would cost a task and a queue per
request). Targets Mozilla Observatory's A+ rules: a strict CSP with no ``unsafe-inline``,
``frame-ancestors 'none'``, nosniff, a referrer policy and HSTS on https sites.

"Every response" includes errors raised outside the routes: Starlette answers an unhandled
exception from its ``ServerErrorMiddleware``, which sits outside every middleware we add, so
this middleware answers the 500 itself when nothing was sent yet (then lets the exception go
on, to be logged). The protocol's own refusals (a malformed or oversized head) get the same
headers in ``app.web.server``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

Header = tuple[bytes, bytes]

# Features no page of ours uses; denying them limits what injected content could ask for.
_PERMISSIONS = (
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), "
    "microphone=(), payment=(), usb=(), interest-cohort=()"
)


def _origin(url: str) -> str | None:
    """``https://forms.example.org/notes`` -> ``https://forms.example.org``."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


def content_security_policy(settings: Settings) -> str:
    """The policy: our own origin only, plus the feedback endpoint as a form target."""
    form_action = "'self'"
    endpoint = _origin(settings.feedback_endpoint) if settings.feedback_endpoint else None
    if endpoint:
        form_action += f" {endpoint}"
    directives = (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        f"form-action {form_action}",
        "object-src 'none'",
    )
    return "; ".join(directives)


def security_headers(settings: Settings) -> list[Header]:
    """Every header the middleware adds, encoded once."""
    headers = {
        "content-security-policy": content_security_policy(settings),
        "x-content-type-options": "nosniff",
        "referrer-policy": "strict-origin-when-cross-origin",
        "permissions-policy": _PERMISSIONS,
        "cross-origin-opener-policy": "same-origin",
        # Older browsers ignore frame-ancestors; this keeps them from framing us too.
        "x-frame-options": "DENY",
    }
    if urlsplit(settings.site_url).scheme == "https":
        headers["strict-transport-security"] = "max-age=63072000; includeSubDomains"
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]


class SecurityHeaders:
    """Append the precomputed headers to every HTTP response that does not set its own."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.headers = security_headers(settings)
        self.names = frozenset(name for name, _ in self.headers)
        # ``nicepick serve`` refuses larger heads in the protocol already, while they arrive
        # (app/web/server.py); this check is for any other ASGI server the app may run under.
        self.max_head_bytes = settings.request_head_max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size = len(scope.get("raw_path") or b"") + len(scope.get("query_string") or b"")
        size += sum(len(name) + len(value) + 4 for name, value in scope["headers"])
        if size > self.max_head_bytes:
            await self._too_large(send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                existing = list(message.get("headers", ()))
                # A route that sets one of these on purpose keeps its own value.
                present = {name.lower() for name, _ in existing} & self.names
                if present:
                    extra = [h for h in self.headers if h[0] not in present]
                else:
                    extra = self.headers
                message["headers"] = existing + extra
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if not started:
                # Starlette's own 500 would go out without our headers (see the docstring).
                await self._plain(send, 500, b"Internal server error.\n")
            raise

    async def _too_large(self, send: Send) -> None:
        await self._plain(send, 431, b"Request headers too large.\n")

    async def _plain(self, send: Send, status: int, body: bytes) -> None:
        headers = [
            (b"content-type", b"text/plain; charset=utf-8"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
            *self.headers,
        ]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
