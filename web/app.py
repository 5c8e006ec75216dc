"""The web server's routes, in one table: pages, HTMX partials, the JSON API under ``/api/v1/``
and its WebSockets, and the static files. ``build_app`` wires them to a ``WebContext``."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator
from pathlib import Path

from starlette.applications import Starlette
from starlette.convertors import IntegerConvertor, register_url_convertor
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from web import (
    api,
    downloads,
    events,
    live,
    pages,
    playback,
    session,
    settings,
    shares,
    system,
    users,
)
from web.context import WebContext
from web.guard import Denied
from web.headers import Guardrails
from web.snapshots import Snapshots

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
SWEEP_S = 600.0
SHARE_TOKEN = re.compile(r"^(/s/)[^/]*")


class RowId(IntegerConvertor):
    """A catalog row id in a path: at most 18 digits (SQLite's integers are 64-bit), so a
    longer number is no such page, not an overflow."""

    regex = "[0-9]{1,18}"


register_url_convertor("rowid", RowId())

ROUTES = [
    Route("/", pages.dashboard),
    Route("/login", pages.login),
    Route("/login", session.form_login, methods=["POST"]),
    Route("/logout", session.form_logout, methods=["POST"]),
    Route("/live", pages.live),
    Route("/live/{camera_id}", pages.live_one),
    Route("/playback", pages.playback),
    Route("/admin", pages.admin),
    Route("/admin/config", pages.admin_config),
    Route("/system", pages.system_page),
    Route("/partials/engine", pages.engine_partial),
    Route("/partials/summary", pages.summary_partial),
    Route("/partials/badges", pages.badges_partial),
    Route("/partials/users", pages.users_partial),
    Route("/partials/sessions", pages.sessions_partial),
    Route("/partials/audit", pages.audit_partial),
    Route("/api/v1/login", session.api_login, methods=["POST"]),
    Route("/api/v1/logout", session.api_logout, methods=["POST"]),
    Route("/api/v1/health", api.health),
    Route("/api/v1/cameras", api.cameras),
    Route("/api/v1/cameras/{camera_id}/snapshot.jpg", api.snapshot),
    Route("/api/v1/command", api.command, methods=["POST"]),
    Route("/api/v1/timeline", playback.timeline),
    Route("/api/v1/eventlist", playback.eventlist),
    Route("/api/v1/thumbnails/{kind}/{item:rowid}.jpg", playback.thumbnail),
    Route("/api/v1/recordings/{camera_id}/index.m3u8", playback.playlist),
    Route("/api/v1/recordings/{camera_id}/index.json", playback.playlist),
    Route("/api/v1/recordings/{camera_id}/frame.jpg", playback.frame),
    Route("/api/v1/recordings/{camera_id}/clip.mp4", downloads.streamed, methods=["GET", "HEAD"]),
    Route(
        "/api/v1/recordings/{camera_id}/{rec:rowid}.mp4", playback.segment, methods=["GET", "HEAD"]
    ),
    Route("/api/v1/exports", downloads.create, methods=["POST"]),
    Route("/api/v1/exports", downloads.list_clips),
    Route("/api/v1/exports/{job_id}", downloads.one),
    Route("/api/v1/exports/{job_id}/{n:rowid}.mp4", downloads.file, methods=["GET", "HEAD"]),
    Route("/api/v1/shares", shares.create, methods=["POST"]),
    Route("/api/v1/shares", shares.list_shares),
    Route("/api/v1/shares/{share_id:rowid}", shares.revoke, methods=["DELETE"]),
    Route("/s/{token}", shares.page),
    Route("/s/{token}/clip.mp4", shares.clip_bytes, methods=["GET", "HEAD"]),
    Route("/api/v1/config", settings.document),
    Route("/api/v1/config/history", settings.history),
    Route("/api/v1/config/diff", settings.diff),
    Route("/api/v1/probe", settings.probe, methods=["POST"]),
    Route("/api/v1/workers", system.workers),
    Route("/api/v1/logs", system.logs),
    Route("/api/v1/backup", system.start_backup, methods=["POST"]),
    Route("/api/v1/backup", system.backups),
    Route("/api/v1/backup/{name}", system.backup_file, methods=["GET", "HEAD"]),
    Route("/api/v1/audit", api.audit),
    Route("/api/v1/audit.csv", api.audit),
    Route("/api/v1/users", users.list_users),
    Route("/api/v1/users", users.add_user, methods=["POST"]),
    Route("/api/v1/users/{name}", users.change_user, methods=["POST"]),
    Route("/api/v1/users/{name}", users.remove_user, methods=["DELETE"]),
    Route("/api/v1/sessions/{session_id}", users.revoke_session, methods=["DELETE"]),
    WebSocketRoute("/api/v1/events", events.events),
    WebSocketRoute("/api/v1/live/{camera_id}", live.live),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]


def build_app(ctx: WebContext) -> Starlette:
    async def sweep() -> None:
        """Ended sessions leave the catalog (their rows would only answer 401 anyway); clips
        older than a day that no live share link plays are deleted."""
        while True:
            await asyncio.sleep(SWEEP_S)
            await asyncio.to_thread(ctx.accounts.drop_expired, ctx.idle_s)
            await asyncio.to_thread(downloads.drop_old_clips, ctx, time.time_ns())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await ctx.engine.start()
        sweeper = asyncio.create_task(sweep(), name="session-sweep")
        try:
            yield
        finally:
            sweeper.cancel()
            await ctx.engine.stop()
            app.state.snapshots.close()
            app.state.packets.close()
            app.state.footage.close()

    app = Starlette(
        routes=ROUTES,
        lifespan=lifespan,
        exception_handlers={Denied: _denied, HTTPException: _http_error, Exception: _crash},
    )
    app.state.ctx = ctx
    app.state.snapshots = Snapshots()
    app.state.packets = live.PacketReaders()
    app.state.footage = playback.Footage(Path(ctx.config.storage.path))
    app.state.layouts = downloads.Layouts()
    app.add_middleware(
        Guardrails,
        limits=ctx.limits,
        tls=ctx.tls,
        cookie=ctx.cookie,
        address=ctx.address,
        session=lambda token: ctx.accounts.session(token, ctx.idle_s),
    )
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/partials/"))


async def _denied(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Denied)
    looked = request.method in ("GET", "HEAD")  # a look, not a change
    if (exc.status == 403 or not looked) and exc.code not in ("bad_login", "rate_limited"):
        _audit_refusal(request, exc)  # a refused change or access is a security event (logins
        # audit theirs); a look that finds nothing is not
    if not _is_api(request):
        return pages.error_page(request, exc)
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
    body = {"ok": False, "error": exc.reason, "code": exc.code}
    return JSONResponse(body, status_code=exc.status, headers=headers)


def _audit_refusal(request: Request, denied: Denied) -> None:
    ctx: WebContext = request.app.state.ctx
    session = request.scope.get("state", {}).get("session")
    user = session.user.name if session is not None else "-"
    path = SHARE_TOKEN.sub(r"\1…", request.url.path)  # a link's token is a credential
    target = f"{request.method} {path}"[:200]
    ctx.audit.record(user, ctx.address(request), "denied", target, result=denied.reason, ok=False)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    reasons = {404: "no such page", 405: "method not allowed here"}
    denied = Denied(exc.status_code, reasons.get(exc.status_code, str(exc.detail)), "http")
    return await _denied(request, denied)


async def _crash(request: Request, exc: Exception) -> Response:
    """No stack trace for the client; uvicorn logs it (Starlette re-raises after this)."""
    body = {"ok": False, "error": "internal error: the web server's log has the details"}
    return JSONResponse(body, status_code=500)
