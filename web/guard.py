"""Who may do what: the session behind a request, its role, its cameras and its CSRF token.

Every route and WebSocket calls ``require`` (or ``optional_session``) first. A refusal is a
``Denied``: 401 with no valid session, 403 for a role, a camera or a token outside the user's
rights, 400 for bad input, 429 when over a rate limit; the app turns it into JSON for the API
and into a redirect or a plain page for the pages. No stack trace ever reaches a client.
"""

from __future__ import annotations

import json
import secrets
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import ClientDisconnect, HTTPConnection, Request

from nvr.errors import EngineRefusedError, EngineUnreachableError, NvrError
from web.accounts import Session
from web.context import context
from web.engine import unreachable_text

MAX_BODY_BYTES = 64 * 1024  # the largest request body any route accepts

# What each command needs (the rest of the engine's commands are admin's).
OPERATOR_COMMANDS = frozenset(
    {
        "start_recording",
        "stop_recording",
        "panic",
        "ack_alarm",
        "clear_alarm",
        "watch_main",
        "restart_worker",
        "protect",
        "ptz_move",
        "ptz_stop",
        "ptz_center",
        "ptz_goto_preset",
        "ptz_save_preset",
        "ptz_remove_preset",
        "ptz_rename_preset",
    }
)


class Denied(Exception):
    """A request refused, with its HTTP status, a reason for the user and a stable code."""

    def __init__(self, status: int, reason: str, code: str, retry_after: int = 0) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.code = code
        self.retry_after = retry_after


def optional_session(conn: HTTPConnection) -> Session | None:
    """The request's live session, looked up once per request."""
    if "session" not in conn.scope.setdefault("state", {}):
        ctx = context(conn)
        token = conn.cookies.get(ctx.cookie, "")
        conn.scope["state"]["session"] = ctx.accounts.session(token, ctx.idle_s) if token else None
    found: Session | None = conn.scope["state"]["session"]
    return found


def require(conn: HTTPConnection, role: str = "viewer", camera: str | None = None) -> Session:
    """The session, if its user has ``role`` and may see ``camera``; else ``Denied``."""
    session = optional_session(conn)
    if session is None:
        raise Denied(401, "not logged in, or the session ended: log in again", "no_session")
    if not session.user.has_role(role):
        raise Denied(403, f"this needs the {role} role; you are {session.user.role}", "role")
    if role == "admin" and session.user.cameras is not None:  # admin work spans every camera
        raise Denied(403, "an admin limited to some cameras cannot do this: it concerns every "
                     "camera; ask an admin to lift your camera list", "camera")  # fmt: skip
    if camera is not None:
        check_camera(conn, session, camera)
    return session


def check_camera(conn: HTTPConnection, session: Session, camera: str) -> None:
    """403 for a camera outside the user's list, 404 for one the engine does not have."""
    if camera == "*":
        if session.user.cameras is not None:
            raise Denied(403, "you may act only on your own cameras, not on every camera", "camera")
        return
    if not session.user.may_see(camera):
        raise Denied(403, "this camera is not among yours", "camera")
    if camera not in known_cameras(conn):
        raise Denied(404, f"no camera {camera[:64]!r}", "no_camera")


def known_cameras(conn: HTTPConnection) -> tuple[str, ...]:
    ctx = context(conn)
    health = ctx.engine.snapshot.health
    if health is not None:
        return tuple(health.cameras)
    return tuple(c.id for c in ctx.config.cameras)


def visible_cameras(conn: HTTPConnection, session: Session) -> list[str]:
    return [c for c in known_cameras(conn) if session.user.may_see(c)]


def check_origin(conn: HTTPConnection) -> None:
    """A request or WebSocket from another site is refused: its Origin, when sent, must be this
    server (the Host it was sent to)."""
    origin = conn.headers.get("origin")
    if origin is None:
        return
    host = conn.headers.get("host", "")
    if origin == "null" or urlsplit(origin).netloc.lower() != host.lower():
        raise Denied(403, "the request comes from another site (Origin)", "origin")


def check_csrf(request: Request, session: Session, form: dict[str, Any] | None = None) -> None:
    """A state-changing request must carry the session's CSRF token (X-CSRF-Token, or a form's
    ``csrf`` field) and come from this site."""
    check_origin(request)
    sent = request.headers.get("x-csrf-token") or (form or {}).get("csrf") or ""
    if not isinstance(sent, str) or not secrets.compare_digest(sent, session.csrf_token):
        raise Denied(403, "missing or wrong CSRF token: reload the page", "csrf")


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; 400 naming what is wrong, 413 when too large."""
    body = await read_body(request)
    try:
        data = json.loads(body)
    except json.JSONDecodeError as err:
        where = f"line {err.lineno}, column {err.colno}"
        raise Denied(400, f"the body is not valid JSON ({where})", "bad_json") from None
    except (ValueError, UnicodeDecodeError):
        raise Denied(400, "the body is not valid JSON (not UTF-8 text, or a number too long)",
                     "bad_json") from None  # fmt: skip
    except RecursionError:
        raise Denied(400, "the body's JSON is nested too deeply", "bad_json") from None
    if not isinstance(data, dict):
        raise Denied(400, "the body must be a JSON object", "bad_json")
    return data


async def read_body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
        raise Denied(413, f"the body is larger than {MAX_BODY_BYTES} bytes", "too_large")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise Denied(413, f"the body is larger than {MAX_BODY_BYTES} bytes", "too_large")
            chunks.append(chunk)
    except ClientDisconnect:
        raise Denied(400, "the request body was cut off before its end", "cut_off") from None
    return b"".join(chunks)


async def ask_engine(request: Request, fn: Any, *args: Any, refused: int = 400) -> Any:
    """An engine call off the loop, its refusals as answers: 503 when the engine does not
    answer or is busy, 404 when it has nothing, ``refused`` otherwise; the engine's reason is
    kept, never its address."""
    try:
        result = await context(request).engine.call(fn, *args)
    except EngineUnreachableError as err:
        raise Denied(503, unreachable_text(err), "engine_unreachable") from None
    except EngineRefusedError as err:
        status = {503: 503, 429: 503, 404: 404}.get(err.http_status, refused)
        code = {503: "engine_busy", 404: "not_found"}.get(status, "refused")
        reason = err.reason
    except NvrError as err:  # refused before asking (a token file that cannot be read)
        status, code, reason = refused, "refused", str(err)
    else:
        return result
    raise Denied(status, reason[:500], code)


def command_role(command: str) -> str:
    return "operator" if command in OPERATOR_COMMANDS else "admin"
