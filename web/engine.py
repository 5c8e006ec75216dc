"""The web server's link to the engine: the latest ``/health`` and alarm list (polled once a
second for every page and socket to read), commands, and the engine's event stream fanned out to
the browsers.

The engine client blocks, so its calls run on threads; the asyncio loop only reads the results.
Events a browser reads are the engine's (alarms, camera states, motion) plus recording started
and stopped, seen as changes between two health snapshots.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from nvr.errors import NvrError
from nvr.protocol.alarms import Alarm
from nvr.protocol.client import EngineAddress, EngineClient
from nvr.protocol.codec import to_json
from nvr.protocol.commands import CommandReply
from nvr.protocol.health import Health

log = logging.getLogger(__name__)

HEALTH_EVERY_S = 1.0
_AUTH_CODES = ("unauthorized", "forbidden", "forbidden_host", "forbidden_origin")
STREAM_WAIT_S = 10
QUEUE_EVENTS = 256  # a browser this far behind gets one "missed" event instead of the backlog


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The engine as last seen: ``health`` None until it answered once; ``error`` when the last
    try failed (the health shown is then ``age_s`` old)."""

    health: Health | None
    error: str | None
    at: float

    @property
    def age_s(self) -> float:
        return time.monotonic() - self.at


class EngineLink:
    """Polls the engine and fans its events out to subscribers (one queue per browser)."""

    def __init__(self, resolve: Callable[[], EngineAddress]) -> None:
        self._resolve = resolve  # re-read after a failure: the engine may have restarted
        self.address = resolve()
        self.client = EngineClient(self.address.url, "web", token=self.address.token)
        self.snapshot = Snapshot(None, "not asked yet", time.monotonic())
        self.alarms: tuple[Alarm, ...] = ()  # not cleared yet, newest first (with the health)
        self._subscribers: set[asyncio.Queue[dict[str, Any]]] = set()
        self._stop = threading.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._refresh: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        await self._poll_health()
        self._tasks = [asyncio.create_task(self._health_loop(), name="engine-health")]
        threading.Thread(target=self._stream_thread, name="engine-events", daemon=True).start()

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def command(
        self, command: str, camera_id: str, session_id: str, params: dict[str, Any]
    ) -> tuple[int, CommandReply]:
        """Send a command for a browser session, off the loop; ``NvrError`` when the engine is
        unreachable or refuses the web server itself (its API token changed: read it again)."""
        for attempt in range(2):
            client = EngineClient(self.address.url, session_id, token=self.address.token)
            status, reply = await asyncio.to_thread(client.command, command, camera_id, **params)
            if status not in (401, 403) or reply.code not in _AUTH_CODES:
                return status, reply
            if attempt == 0:
                await asyncio.to_thread(self._reconnect)
        raise NvrError(
            "the engine refuses the web server's API token (unreadable, or from before a "
            "restart): check that nvr web runs as the engine's user"
        )

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Any other blocking client call, off the loop."""
        return await asyncio.to_thread(fn, *args)

    def subscribe(self) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_EVENTS)
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._subscribers.discard(queue)

    # -- internals ----------------------------------------------------------------------------

    async def _health_loop(self) -> None:
        while True:
            await asyncio.sleep(HEALTH_EVERY_S)
            await self._poll_health()

    async def _poll_health(self) -> None:
        before = self.snapshot.health
        try:
            health, alarms = await asyncio.to_thread(self._read)
        except NvrError as err:
            self._reconnect()
            reason = unreachable_text(err)
            if self.snapshot.error is None:
                log.warning("engine not answering: %s", err)
                self._publish({"type": "engine", "state": "unreachable", "error": reason})
            self.snapshot = Snapshot(before, reason, self.snapshot.at)
            return
        was_down = self.snapshot.error is not None
        if was_down and before is not None:
            self._publish({"type": "engine", "state": "ok"})
        self.snapshot = Snapshot(health, None, time.monotonic())
        self.alarms = alarms
        if before is not None and not was_down:  # changes across an outage are not news
            for event in recording_changes(before, health):
                self._publish(event)

    def _read(self) -> tuple[Health, tuple[Alarm, ...]]:
        client = self.client  # after a failed or refused call, ``_reconnect`` reads it again
        return client.health(), client.alarms().alarms

    def _reconnect(self) -> None:
        with contextlib.suppress(NvrError):
            address = self._resolve()
            if address != self.address:
                self.address = address
                self.client = EngineClient(address.url, "web", token=address.token)

    def _stream_thread(self) -> None:
        """Long-poll the engine's events; a new reader (or one after an engine restart, which
        numbers its events afresh) starts at the live edge: the current ``seq``, not waited for."""
        after: int | None = None
        failing = ""
        while not self._stop.is_set():
            try:
                if after is None:
                    after = self.client.stream(0).seq
                    continue
                batch = self.client.stream(after, wait_s=STREAM_WAIT_S)
            except NvrError as err:
                if str(err) != failing:  # said once, not every second
                    log.warning("engine events not read: %s", err)
                    failing = str(err)
                self._stop.wait(HEALTH_EVERY_S)
                after = None
                continue
            failing = ""
            if batch.seq < after:  # the engine restarted between two polls
                after = None
                continue
            after = batch.seq
            if batch.missed:
                self._post({"type": "missed"})
            for event in batch.events:
                self._post({k: v for k, v in to_json(event).items() if v is not None})

    def _post(self, event: dict[str, Any]) -> None:
        if self._loop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                self._loop.call_soon_threadsafe(self._on_event, event)

    def _on_event(self, event: dict[str, Any]) -> None:
        """Pass an engine event on, and read the health again at once: the pages then show the
        state the event announced within a poll, not a second later."""
        self._publish(event)
        if event.get("type") in ("camera", "motion", "alarm") and self._refresh is None:
            self._refresh = asyncio.create_task(self._refresh_now())

    async def refresh(self) -> None:
        """Read the engine's health now (after a command: the pages then show its effect)."""
        await self._poll_health()

    async def _refresh_now(self) -> None:
        try:
            await self._poll_health()
            self._publish({"type": "refresh"})
        finally:
            self._refresh = None

    def _publish(self, event: dict[str, Any]) -> None:
        for queue in list(self._subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                with contextlib.suppress(asyncio.QueueEmpty):
                    while True:
                        queue.get_nowait()
                queue.put_nowait({"type": "missed"})


def unreachable_text(err: NvrError) -> str:
    """Why the engine cannot be reached, said for a remote user: no command-line hints, no
    address of the machine's loopback API (the web server's log has it)."""
    cause = str(err).split(": start it with", 1)[0]
    cause = re.sub(r"engine not reachable at \S+", "the engine does not answer", cause)
    return (
        f"{cause}; recording may have stopped: check that the engine (nvr run) is running on "
        "the recorder"
    )


def recording_changes(before: Health, after: Health) -> list[dict[str, Any]]:
    """``recording`` events for the cameras that started or stopped writing between two
    snapshots, and ``storage`` events when the storage warning appears or changes."""
    events: list[dict[str, Any]] = []
    now = time.time_ns()
    for cam_id, cam in after.cameras.items():
        old = before.cameras.get(cam_id)
        if old is not None and old.recording.active != cam.recording.active:
            events.append(
                {
                    "type": "recording",
                    "time_ns": now,
                    "camera_id": cam_id,
                    "state": "started" if cam.recording.active else "stopped",
                    "reason": cam.recording.type,
                }
            )
    warning = after.storage.warning
    if warning and warning != before.storage.warning:
        events.append({"type": "storage", "time_ns": now, "state": "warning", "message": warning})
    return events
