"""The console's line to the engine: health polling and commands over the loopback HTTP API.

Network calls never run on the render thread. A poller thread fetches ``/health`` twice a second
(sooner after a command) and publishes an immutable ``Snapshot``; a sender thread posts commands
and queues their results. The render loop only reads the latest snapshot and drains results, so
an engine that is slow, gone or restarting never freezes the window.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass, field
from typing import Any

POLL_S = 0.5
RETRY_S = 2.0  # poll interval while the engine is unreachable
TIMEOUT_S = 3.0
COMMAND_TIMEOUT_S = 10.0  # the engine waits up to 2 s for workers to acknowledge


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The engine as last seen: its ``/health`` document, or why it could not be reached."""

    connected: bool
    health: dict[str, Any] | None
    error: str | None
    received_at: float  # time.monotonic() of the last successful poll (0: never)
    polled_at: float  # time.monotonic() of the last attempt

    @property
    def cameras(self) -> dict[str, dict[str, Any]]:
        """The cameras now (empty while the engine is unreachable)."""
        return self.known_cameras if self.connected else {}

    @property
    def known_cameras(self) -> dict[str, dict[str, Any]]:
        """The cameras as last seen, even if the engine has gone away since."""
        return (self.health or {}).get("cameras") or {}


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What the engine answered to one command (``ok`` False: refused, not acknowledged, failed)."""

    ticket: int
    command: str
    camera_id: str
    params: dict[str, Any]
    ok: bool
    status: int | None  # HTTP status, None when the engine was not reached
    body: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    elapsed_ms: float = 0.0


def describe_unreachable(api: str, err: BaseException) -> str:
    """One line naming why the engine cannot be reached and what to do about it."""
    reason = getattr(err, "reason", None) or err
    if isinstance(reason, ConnectionRefusedError):
        cause = "nothing is listening there"
    elif isinstance(reason, TimeoutError):
        cause = "it did not answer in time"
    else:
        cause = str(reason)
    return (
        f"engine not reachable at {api} ({cause}): start it with `nvr run -c CONFIG` "
        "or point the console at it with --api; retrying"
    )


class EngineLink:
    """Background health polling and command sending for one engine API address."""

    def __init__(self, api: str, poll_s: float = POLL_S) -> None:
        self.api = api.rstrip("/")
        self.poll_s = poll_s
        self.session_id = f"console-{uuid.uuid4().hex[:8]}"
        self._snapshot = Snapshot(False, None, "connecting to the engine…", 0.0, 0.0)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._outbox: queue.Queue[tuple[int, str, str, dict[str, Any]] | None] = queue.Queue()
        self._results: queue.Queue[CommandResult] = queue.Queue()
        self._tickets = itertools.count(1)
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for target, name in ((self._poll_loop, "engine-poll"), (self._send_loop, "engine-cmd")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._outbox.put(None)
        for thread in self._threads:
            thread.join(timeout=TIMEOUT_S + 1)

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def poll_now(self) -> None:
        """Ask for a fresh ``/health`` without waiting for the next poll."""
        self._wake.set()

    def send(self, command: str, camera_id: str = "*", **params: Any) -> int:
        """Queue a command and return its ticket; the result arrives through ``results()``."""
        ticket = next(self._tickets)
        self._outbox.put((ticket, command, camera_id, params))
        return ticket

    def results(self) -> list[CommandResult]:
        """Command results that arrived since the last call."""
        out = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    # --- threads ----------------------------------------------------------------------------

    def _poll_loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                health = self._request("GET", "/health", None, TIMEOUT_S)
                snap = Snapshot(True, health, None, time.monotonic(), started)
            except (OSError, ValueError) as err:
                previous = self.snapshot()
                snap = Snapshot(
                    False,
                    previous.health,
                    describe_unreachable(self.api, err),
                    previous.received_at,
                    started,
                )
            with self._lock:
                self._snapshot = snap
            self._wake.wait(self.poll_s if snap.connected else RETRY_S)
            self._wake.clear()

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None or self._stop.is_set():
                return
            ticket, command, camera_id, params = item
            self._results.put(self._post(ticket, command, camera_id, params))
            self._wake.set()  # show the new state without waiting for the next poll

    def _post(
        self, ticket: int, command: str, camera_id: str, params: dict[str, Any]
    ) -> CommandResult:
        message = {
            "schema_version": "2.0",
            "command": command,
            "camera_id": camera_id,
            "ui_session_id": self.session_id,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "params": params,
        }
        started = time.monotonic()

        def result(
            ok: bool, status: int | None, body: dict[str, Any], error: str | None
        ) -> CommandResult:
            elapsed_ms = (time.monotonic() - started) * 1000
            return CommandResult(
                ticket, command, camera_id, params, ok, status, body, error, elapsed_ms
            )

        try:
            body = self._request("POST", "/api/command", message, COMMAND_TIMEOUT_S)
            return result(bool(body.get("ok")), 200, body, None)
        except urllib.error.HTTPError as err:
            try:
                body = json.loads(err.read() or b"{}")
            except ValueError:
                body = {}
            detail = body.get("detail") or body.get("error") or f"HTTP {err.code}"
            return result(False, err.code, body, str(detail))
        except (OSError, ValueError) as err:
            return result(False, None, {}, describe_unreachable(self.api, err))

    def _request(self, method: str, path: str, body: Any, timeout: float) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.api + path, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = response.status
            parsed = json.loads(response.read() or b"{}")
        if not isinstance(parsed, dict):
            raise ValueError(f"{path} answered {type(parsed).__name__}, not a JSON object")
        if status == 202:  # accepted, but not every camera acknowledged it
            parsed.setdefault("ok", False)
        return parsed
