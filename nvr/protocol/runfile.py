"""``<storage>/run/``: how the console, the tests and other tools find and speak to an engine.

- ``engine.json``: written by the supervisor once its API listens (atomically: a reader sees
  the old file or the new one, never half of one), read by anyone who has the configuration but
  not the API's address (``api.port: 0`` picks a free port at start).
- ``api.token``: the API's bearer token, new at each start, readable by the engine's user only
  (mode 0600): whoever can read it may command the engine.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from nvr.errors import NvrError, RequestError
from nvr.protocol.codec import from_json, to_json
from nvr.storage.durable import atomic_write


@dataclass(frozen=True, slots=True)
class RunFile:
    pid: int
    api: str  # the API's base URL, e.g. http://127.0.0.1:8765
    instance: str  # the first part of the engine's frame ring names
    config: str  # the configuration file in force
    started_ns: int


def run_file_path(storage: Path) -> Path:
    return Path(storage) / "run" / "engine.json"


def write_run_file(storage: Path, info: RunFile) -> Path:
    path = run_file_path(storage)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(to_json(info)).encode())
    return path


def read_run_file(storage: Path) -> RunFile:
    """The run file of the engine that uses ``storage``: OSError when there is none, ValueError
    when it is not one."""
    try:
        return from_json(RunFile, json.loads(run_file_path(storage).read_text()))
    except RequestError as err:
        raise ValueError(str(err)) from err


def remove_run_file(storage: Path, pid: int) -> None:
    """At a clean stop: remove the run file if it is still this engine's (``pid``)."""
    try:
        if read_run_file(storage).pid == pid:
            run_file_path(storage).unlink()
    except (OSError, ValueError):  # gone already, or someone else's: leave it
        pass


def token_path(storage: Path) -> Path:
    return Path(storage) / "run" / "api.token"


def write_token(storage: Path) -> str:
    """A new API token for this start, in a file only this user can read."""
    token = secrets.token_urlsafe(32)
    path = token_path(storage)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, token.encode(), mode=0o600)
    return token


def read_token(storage: Path) -> str:
    """The running engine's API token; ``NvrError`` naming the fix when it cannot be read."""
    path = token_path(storage)
    try:
        return path.read_text().strip()
    except OSError as err:
        raise NvrError(
            f"cannot read the engine's API token {path} ({err.strerror}): start the engine "
            "first, and run this as the engine's user (or root)"
        ) from err
