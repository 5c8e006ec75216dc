"""ASGI middleware around every route: security headers on each response, the request rate
limit, and the request body cap (also enforced while the body streams in)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    ) -> None:
        self.app = app
        self.limits = limits
        self.address = address
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
            key, anonymous = self._key(scope)
            wait = self.limits.request(key, anonymous)
            if wait:
                await _refuse(send_with_headers, 429, "too many requests: slow down", wait)
                return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            await _refuse(send_with_headers, 413, f"the body is larger than {MAX_BODY_BYTES} bytes")
            return
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > MAX_BODY_BYTES:
                    return {"type": "http.disconnect"}
            return message

        await self.app(scope, capped_receive, send_with_headers)

    def _key(self, scope: Scope) -> tuple[str, bool]:
        """Requests count against their session cookie, else against their peer address."""
        for name, value in scope.get("headers", []):
            if name == b"cookie":
                for part in value.split(b";"):
                    cookie, _, token = part.strip().partition(b"=")
                    if cookie == self.cookie and token:
                        return "s:" + hashlib.sha256(token).hexdigest()[:32], False
        return "a:" + self.address(HTTPConnection(scope)), True


async def _refuse(send: Send, status: int, reason: str, retry_after: int = 0) -> None:
    body = json.dumps({"ok": False, "error": reason}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if retry_after:
        headers.append((b"retry-after", str(retry_after).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
