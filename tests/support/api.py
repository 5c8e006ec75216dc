"""The engine's API from tests: through the one client, with the token of the engine a test
started (pytest may load conftest twice, under two names; this module is loaded once)."""

from __future__ import annotations

from typing import Any

from nvr.protocol.client import EngineClient

TOKENS: dict[str, str] = {}  # API address -> token of the engine a test started there


def api_get(base: str, path: str) -> Any:
    """A GET route's JSON (text for /metrics)."""
    return EngineClient(base, token=TOKENS.get(base)).get(path)


def api_command(base: str, command: str, camera_id: str = "*", **params: Any) -> tuple[int, Any]:
    """A command's HTTP status and its reply as the engine sent it (JSON)."""
    client = EngineClient(base, session_id="tests", token=TOKENS.get(base))
    status, reply = client.command(command, camera_id, **params)
    return status, reply.to_json()
