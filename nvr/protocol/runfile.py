"""``<storage>/run/engine.json``: how the console, the tests and other tools find a running engine.

Written by the supervisor once its API listens (atomically: a reader sees the old file or the
new one, never half of one), read by anyone who has the configuration but not the API's address
(``api.port: 0`` picks a free port at start).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from nvr.errors import RequestError
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
