"""``/api/v1/events``: the engine's events as JSON over a WebSocket, for the pages' live
notifications: alarms, camera states, motion, recording started and stopped, storage warnings,
and the engine itself going away and coming back. Each user sees only their cameras' events;
the session is checked again every ``RECHECK_S`` so a revoked session stops receiving."""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any

from starlette.responses import JSONResponse
from starlette.websockets import WebSocket, WebSocketDisconnect

from web.context import context
from web.guard import Denied, check_camera, check_origin, optional_session

RECHECK_S = 5.0
POLICY_VIOLATION = 1008


async def refuse(socket: WebSocket, denied: Denied) -> None:
    """Refuse a WebSocket handshake with the refusal's HTTP status and JSON reason, as the API
    routes do (a server without the denial-response extension answers 403)."""
    body = {"ok": False, "error": denied.reason, "code": denied.code}
    try:
        await socket.send_denial_response(JSONResponse(body, status_code=denied.status))
    except RuntimeError:
        await socket.close(code=POLICY_VIOLATION, reason=denied.reason[:120])


def ws_session(socket: WebSocket, camera: str | None = None) -> Denied | None:
    """Why this WebSocket may not open (Origin, session, camera), or None."""
    try:
        check_origin(socket)
        session = optional_session(socket)
        if session is None:
            return Denied(401, "not logged in", "no_session")
        if camera is not None:
            check_camera(socket, session, camera)
    except Denied as denied:
        return denied
    return None


async def events(socket: WebSocket) -> None:
    denied = ws_session(socket)
    if denied is not None:
        await refuse(socket, denied)
        return
    session = optional_session(socket)
    assert session is not None
    ctx = context(socket)
    await socket.accept()
    queue = ctx.engine.subscribe()
    token = socket.cookies.get(ctx.cookie, "")
    try:
        await socket.send_json({"type": "hello", "user": session.user.name})
        checked = time.monotonic()
        while True:
            try:
                event: dict[str, Any] | None = await asyncio.wait_for(queue.get(), RECHECK_S)
            except TimeoutError:
                event = None
            if time.monotonic() - checked >= RECHECK_S:
                checked = time.monotonic()
                if ctx.accounts.session(token, ctx.idle_s) is None:
                    await socket.close(code=POLICY_VIOLATION, reason="session ended")
                    return
            if event is None:
                await socket.send_json({"type": "ping"})
                continue
            camera = event.get("camera_id") or ""
            if camera and not session.user.may_see(camera):
                continue
            await socket.send_json(event)
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        ctx.engine.unsubscribe(queue)
        with contextlib.suppress(RuntimeError):
            await socket.close()
