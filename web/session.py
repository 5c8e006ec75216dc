"""Logging in and out: ``POST /api/v1/login`` and ``/api/v1/logout`` (JSON), and the login
page's form (``POST /login``, ``POST /logout``). Both paths share ``log_in``: the rate limit,
the password check, the session and its cookie, and the audit row."""

from __future__ import annotations

import asyncio
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from web.accounts import Session
from web.context import WebContext, context
from web.guard import Denied, check_csrf, check_origin, json_body, read_body, require

MAX_NAME_CHARS = 64


async def log_in(request: Request, username: Any, password: Any) -> tuple[str, Session]:
    """A new session for valid credentials; ``Denied`` 400, 401 or 429 otherwise."""
    ctx = context(request)
    check_origin(request)
    if not isinstance(username, str) or not isinstance(password, str) or not username:
        raise Denied(400, "give username and password as text", "bad_login")
    name = username[:MAX_NAME_CHARS]
    address = ctx.address(request)
    wait = ctx.limits.login_blocked(name, address)
    if wait:
        ctx.audit.record(name, address, "login", name, result="rate limited", ok=False)
        raise Denied(429, f"too many failed logins: try again in {wait} s", "rate_limited", wait)
    user = await asyncio.to_thread(ctx.accounts.verify, name, password)
    if user is None:
        ctx.limits.login_failed(name, address)
        ctx.audit.record(name, address, "login", name, result="wrong name or password", ok=False)
        raise Denied(401, "wrong user name or password", "bad_login")
    ctx.limits.login_succeeded(user.name, address)
    agent = request.headers.get("user-agent", "")
    token, session = ctx.accounts.open_session(user, address, agent, ctx.max_s)
    ctx.audit.record(user.name, address, "login", user.name, {"role": user.role})
    return token, session


def set_cookie(ctx: WebContext, response: Response, token: str) -> None:
    response.set_cookie(
        ctx.cookie,
        token,
        max_age=int(ctx.max_s),
        path="/",
        secure=ctx.tls,
        httponly=True,
        samesite="strict",
    )


def end(request: Request, session: Session, response: Response) -> Response:
    ctx = context(request)
    ctx.accounts.close_session(session.id)
    ctx.audit.record(session.user.name, ctx.address(request), "logout", session.user.name)
    response.delete_cookie(ctx.cookie, path="/", secure=ctx.tls, httponly=True, samesite="strict")
    return response


async def api_login(request: Request) -> Response:
    body = await json_body(request)
    token, session = await log_in(request, body.get("username"), body.get("password"))
    user = session.user
    response = JSONResponse(
        {
            "ok": True,
            "user": user.name,
            "role": user.role,
            "cameras": list(user.cameras) if user.cameras is not None else None,
            "csrf_token": session.csrf_token,
            "expires_ns": session.expires_ns,
        }
    )
    set_cookie(context(request), response, token)
    return response


async def api_logout(request: Request) -> Response:
    session = require(request)
    check_csrf(request, session)
    return end(request, session, JSONResponse({"ok": True}))


async def form_login(request: Request) -> Response:
    from web.pages import login_page

    form = _form(await read_body(request))
    try:
        token, _ = await log_in(request, form.get("username"), form.get("password"))
    except Denied as denied:
        if denied.status in (400, 401, 429):
            username, then = form.get("username", ""), form.get("next", "")
            return login_page(request, denied.reason, denied.status, username, then)
        raise
    response = RedirectResponse(_next(form.get("next", "")), status_code=303)
    set_cookie(context(request), response, token)
    return response


async def form_logout(request: Request) -> Response:
    session = require(request)
    check_csrf(request, session, _form(await read_body(request)))
    return end(request, session, RedirectResponse("/login", status_code=303))


def _form(body: bytes) -> dict[str, str]:
    from urllib.parse import parse_qsl

    try:
        return dict(parse_qsl(body.decode(), max_num_fields=10))
    except (UnicodeDecodeError, ValueError):
        raise Denied(400, "the form is not valid", "bad_form") from None


def _next(target: str) -> str:
    """Where to go after login: a path on this site only (never //host or a scheme)."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
