"""ASGI middleware around every route: security headers on each response, the request rate
limit, and the request body cap by its declared length (``web.guard.read_body`` enforces it on a
body sent without one)."""

from __future__ import annotations

import asyncio
import html
import json
from collections.abc import Callable

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.accounts import Session
from web.guard import MAX_BODY_BYTES
from web.ratelimit import Limits

# No inline script or style anywhere: every script is a file under /static.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
_COMMON = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make form posts send Origin: null
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000")


class Guardrails:
    """Headers, rate limit and body cap for HTTP; WebSockets pass through (their routes check
    the session and the Origin themselves)."""

    def __init__(
        self,
        app: ASGIApp,
        limits: Limits,
        tls: bool,
        cookie: str,
        address: Callable[[HTTPConnection], str],
        session: Callable[[str], Session | None],
    ) -> None:
        self.app = app
        self.limits = limits
        self.address = address
        self.session = session
        self.headers = _COMMON + ([_HSTS] if tls else [])
        self.cookie = cookie.encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        static = path.startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                extra = [h for h in self.headers if h[0] not in names]
                if not static and b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        if not static:
            key, anonymous = await self._key(scope)
            wait = self.limits.request(key, anonymous)
            if wait:
                reason = f"too many requests: wait {wait} s, then reload"
                await _refuse(send_with_headers, 429, reason, _is_page(path), wait)
                return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            reason = f"the body is larger than {MAX_BODY_BYTES} bytes"
            await _refuse(send_with_headers, 413, reason, _is_page(path))
            return
        await self.app(scope, receive, send_with_headers)

    async def _key(self, scope: Scope) -> tuple[str, bool]:
        """Requests count against their session when the cookie names a live one (looked up once
        for the request: the routes reuse it), else against their address: a made-up cookie
        buys no budget of its own."""
        conn = HTTPConnection(scope)
        token = conn.cookies.get(self.cookie.decode(), "")
        # the lookup writes the session's last-seen time now and then: off the event loop
        session = await asyncio.to_thread(self.session, token) if token else None
        scope.setdefault("state", {})["session"] = session
        if session is not None:
            return f"s:{session.id}", False
        return "a:" + self.address(conn), True


def _is_page(path: str) -> bool:
    return not path.startswith(("/api/", "/partials/"))


async def _refuse(send: Send, status: int, reason: str, page: bool, retry_after: int = 0) -> None:
    """A refusal before any route ran: JSON for the API, a plain page for a browser."""
    if page:
        kind = b"text/html; charset=utf-8"
        body = (
            '<!doctype html><html lang="en"><meta charset="utf-8">'
            '<link rel="stylesheet" href="/static/app.css"><title>NVR</title>'
            f'<main><section class="card"><h1>Not now</h1><p>{html.escape(reason)}</p>'
            "</section></main></html>"
        ).encode()
    else:
        kind = b"application/json"
        body = json.dumps({"ok": False, "error": reason}).encode()
    headers = [(b"content-type", kind), (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
