"""``/api/v1/events``: the engine's events as JSON over a WebSocket, for the pages' live
notifications: alarms, camera states, motion, recording started and stopped, storage warnings,
and the engine itself going away and coming back. Each user sees only their cameras' events;
the session is checked again every ``RECHECK_S`` so a revoked session stops receiving."""

from __future__ import annotations

import asyncio
import contextlib

from starlette.websockets import WebSocket, WebSocketDisconnect

from web.context import context
from web.guard import Denied, check_origin, optional_session

RECHECK_S = 15.0
POLICY_VIOLATION = 1008


async def refuse(socket: WebSocket, denied: Denied) -> None:
    """Close a WebSocket during its handshake with the refusal's reason (HTTP 403 to the
    browser; the reason is in the close frame for clients that read it)."""
    await socket.close(code=POLICY_VIOLATION, reason=denied.reason[:120])


def ws_session(socket: WebSocket, camera: str | None = None) -> Denied | None:
    """Why this WebSocket may not open (Origin, session, camera), or None."""
    try:
        check_origin(socket)
        session = optional_session(socket)
        if session is None:
            return Denied(401, "not logged in", "no_session")
        if camera is not None:
            from web.guard import check_camera

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
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), RECHECK_S)
            except TimeoutError:
                if ctx.accounts.session(token, ctx.idle_s) is None:
                    await socket.close(code=POLICY_VIOLATION, reason="session ended")
                    return
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
