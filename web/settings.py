"""Remote configuration for admins, through the engine's own config-writing path.

- ``GET /api/v1/config``: the configuration in force (stream credentials redacted), the file's
  SHA-256 (send it back with ``save_config`` as ``base_sha256``: a save over someone else's is
  refused with 409) and the newest version;
- ``GET /api/v1/config/history``, ``GET /api/v1/config/diff?from=&to=``: the numbered versions;
- ``POST /api/v1/probe``: test a stream (``{"camera_id", "stream"}`` or ``{"url"}``).

Saving and reverting are the ``save_config`` and ``revert_config`` commands of
``POST /api/v1/command``: the engine applies the edits to the YAML text (comments kept), checks
the result, writes it atomically, numbers it in the history and puts it in force.
"""

from __future__ import annotations

from functools import partial
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from web.context import context
from web.guard import Denied, ask_engine, check_csrf, json_body, require


async def document(request: Request) -> Response:
    require(request, "admin")
    client = context(request).engine.client
    found = await ask_engine(request, client.config_document)
    history = await ask_engine(request, client.config_history, 1)
    found["version"] = history[0]["version"] if history else None
    found.pop("path", None)  # the server's file layout is not the browser's business
    return JSONResponse(found)


async def history(request: Request) -> Response:
    require(request, "admin")
    client = context(request).engine.client
    versions = await ask_engine(request, client.config_history, 100)
    return JSONResponse({"versions": versions})


async def diff(request: Request) -> Response:
    require(request, "admin")
    old, new = request.query_params.get("from", ""), request.query_params.get("to", "")
    if not old.isdigit() or len(old) > 9 or (new and (not new.isdigit() or len(new) > 9)):
        raise Denied(400, "from and to are version numbers from the history", "bad_query")
    client = context(request).engine.client
    text = await ask_engine(request, client.config_diff, int(old), int(new) if new else None)
    return JSONResponse({"diff": text})


def _is_rtsp(url: str) -> bool:
    """An rtsp:// or rtsps:// URL with a host (and a port, if any, that is a number)."""
    try:
        parts = urlsplit(url)
        return (
            len(url) <= 2000
            and parts.scheme.lower() in ("rtsp", "rtsps")
            and bool(parts.hostname)
            and (parts.port is None or parts.port > 0)
        )
    except ValueError:
        return False


async def probe(request: Request) -> Response:
    """Test a stream: a configured camera's (``camera_id``, ``stream``) or a typed ``url``."""
    session = require(request, "admin")
    check_csrf(request, session)
    body = await json_body(request)
    ctx = context(request)
    camera_id, url, stream = body.get("camera_id"), body.get("url"), body.get("stream", "main")
    if stream not in ("main", "sub"):
        raise Denied(400, "stream is main or sub", "bad_request")
    if isinstance(camera_id, str) and camera_id and url is None:
        require(request, "admin", camera_id)
        kwargs: dict[str, Any] = {"camera_id": camera_id, "stream": stream}
    elif isinstance(url, str) and _is_rtsp(url):
        kwargs = {"url": url}
    else:
        raise Denied(400, "give a camera_id, or a url like rtsp://user:password@host:554/path",
                     "bad_request")  # fmt: skip
    found = await ask_engine(request, partial(ctx.engine.client.probe, **kwargs))
    result = "ok" if found.get("ok") else str(found.get("error", "failed"))
    ctx.audit.record(session.user.name, ctx.address(request), "config.probe",
                     camera_id or "", {"url": url, "stream": stream}, result)  # fmt: skip
    return JSONResponse(found)
