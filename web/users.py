"""Admin routes for accounts: users (add, change, remove) and sessions (list, revoke), each
change audited. ``nvr user`` does the same from the command line."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web.accounts import (
    AccountError,
    Session,
    User,
    check_name,
    check_password,
    check_role,
)
from web.context import context
from web.guard import Denied, check_csrf, json_body, known_cameras, require


def user_json(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "role": user.role,
        "cameras": list(user.cameras) if user.cameras is not None else None,
        "disabled": user.disabled,
        "created_ns": user.created_ns,
        "password_ns": user.password_ns,
    }


def session_json(session: Session, current: Session) -> dict[str, Any]:
    return {
        "id": session.id,
        "user": session.user.name,
        "address": session.address,
        "user_agent": session.user_agent,
        "created_ns": session.created_ns,
        "seen_ns": session.seen_ns,
        "expires_ns": session.expires_ns,
        "current": session.id == current.id,
    }


async def list_users(request: Request) -> Response:
    session = require(request, "admin")
    ctx = context(request)
    return JSONResponse(
        {
            "users": [user_json(u) for u in ctx.accounts.users()],
            "sessions": [session_json(s, session) for s in ctx.accounts.sessions()],
        }
    )


async def add_user(request: Request) -> Response:
    session, body = await _admin_change(request)
    cameras = _cameras(request, body.get("cameras"))
    name = _text(body, "name")

    def add() -> User:
        return context(request).accounts.add_user(
            name, _text(body, "role"), _text(body, "password"), cameras
        )

    user = await _apply(request, session, "user.add", name, body, add)
    return JSONResponse({"ok": True, "user": user_json(user)}, status_code=201)


async def change_user(request: Request) -> Response:
    name = _path_name(request)
    session, body = await _admin_change(request)
    ctx = context(request)
    unknown = set(body) - {"role", "cameras", "disabled", "password"}
    if unknown:
        raise Denied(400, f"unknown field {sorted(unknown)[0][:40]!r}", "bad_field")

    def change() -> User:
        # Everything is checked before anything changes: a refused edit changes nothing.
        password = _text(body, "password") if "password" in body else None
        if password is not None:
            check_password(password, name)
        role = check_role(_text(body, "role")) if "role" in body else None
        disabled = body.get("disabled")
        if disabled is not None and not isinstance(disabled, bool):
            raise AccountError("disabled must be true or false")
        if "cameras" in body:
            cameras = _cameras(request, body["cameras"])
            user = ctx.accounts.update_user(name, role=role, cameras=cameras, disabled=disabled)
        else:
            user = ctx.accounts.update_user(name, role=role, disabled=disabled)
        if password is not None:
            ctx.accounts.set_password(name, password)
        return user

    user = await _apply(request, session, "user.change", name, body, change)
    return JSONResponse({"ok": True, "user": user_json(user)})


async def remove_user(request: Request) -> Response:
    name = _path_name(request)
    session = require(request, "admin")
    check_csrf(request, session)
    if name == session.user.name:
        raise Denied(400, "you cannot remove yourself; ask another admin", "self")
    await _apply(
        request,
        session,
        "user.remove",
        name,
        {},
        lambda: context(request).accounts.remove_user(name),
    )
    return JSONResponse({"ok": True})


async def revoke_session(request: Request) -> Response:
    session = require(request, "admin")
    check_csrf(request, session)
    text = request.path_params["session_id"]
    if not text.isdigit() or len(text) > 18:
        raise Denied(400, "a session id is a number", "bad_id")
    ctx = context(request)
    closed = ctx.accounts.close_session(int(text))
    ctx.audit.record(
        session.user.name,
        ctx.address(request),
        "session.revoke",
        text,
        result="ok" if closed else "no such session",
        ok=closed,
    )
    if not closed:
        raise Denied(404, f"no open session {text}", "no_session_id")
    return JSONResponse({"ok": True})


async def _admin_change(request: Request) -> tuple[Session, dict[str, Any]]:
    session = require(request, "admin")
    check_csrf(request, session)
    return session, await json_body(request)


async def _apply(
    request: Request, session: Session, action: str, target: str, body: dict[str, Any], change: Any
) -> Any:
    ctx = context(request)
    address = ctx.address(request)
    shown = {k: v for k, v in body.items() if k != "name"}
    try:
        result = await asyncio.to_thread(change)
    except AccountError as err:
        ctx.audit.record(session.user.name, address, action, target, shown, str(err), ok=False)
        status = 404 if str(err).startswith("no user") else 400
        raise Denied(status, str(err), "account") from None
    ctx.audit.record(session.user.name, address, action, target, shown)
    return result


def _path_name(request: Request) -> str:
    name = request.path_params["name"]
    try:
        return check_name(name)
    except AccountError as err:
        raise Denied(400, str(err), "bad_name") from None


def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str):
        raise Denied(400, f"{key} must be text", "bad_field")
    return value


def _cameras(request: Request, value: Any) -> list[str] | None:
    """A camera list from the form: null for every camera, else ids the engine has."""
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        raise Denied(
            400, "cameras must be a list of camera ids, or null for every camera", "bad_field"
        )
    known = known_cameras(request)
    unknown = [c for c in value if c not in known]
    if unknown:
        raise Denied(
            400,
            f"no camera {unknown[0][:64]!r}; the cameras are: {', '.join(known) or 'none'}",
            "bad_field",
        )
    return value
