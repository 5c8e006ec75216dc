"""The console's line to the engine: health polling, alarms and commands through ``EngineClient``.

Network calls never run on the render thread. A poller thread fetches the typed ``Health`` twice a
second (sooner after a command) and publishes an immutable ``Snapshot``; an alarm thread follows
the engine's event stream (``GET /api/stream``, long-polled) and re-reads the alarms and their log
whenever an alarm changes; a sender thread posts commands and queues their results. The render
loop only reads the latest snapshot and alarms and drains results, so an engine that is slow,
gone or restarting never freezes the window.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from nvr.errors import NvrError
from nvr.protocol.alarms import Alarm, AlarmList
from nvr.protocol.client import EngineAddress, EngineClient
from nvr.protocol.commands import CommandReply
from nvr.protocol.health import CameraStatus, Health

log = logging.getLogger(__name__)

POLL_S = 0.5
RETRY_S = 2.0  # poll interval while the engine is unreachable
TIMEOUT_S = 3.0
STREAM_WAIT_S = 5  # a long poll of the event stream waits at most this long
ALARM_LOG_ROWS = 100
ASK_THREADS = 2  # queries at once: a slow stream test does not hold up a log query


@dataclass(frozen=True, slots=True)
class Alarms:
    """The engine's alarms as last read: the list not yet cleared and the recent log."""

    current: tuple[Alarm, ...] = ()
    log: tuple[Alarm, ...] = ()
    known: bool = False  # False until read, and while the engine cannot be reached


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The engine as last seen: its health, or why it could not be reached."""

    connected: bool
    health: Health | None
    error: str | None
    received_at: float  # time.monotonic() of the last successful poll (0: never)
    polled_at: float  # time.monotonic() of the last attempt

    @property
    def cameras(self) -> dict[str, CameraStatus]:
        """The cameras now (empty while the engine is unreachable)."""
        return self.known_cameras if self.connected else {}

    @property
    def known_cameras(self) -> dict[str, CameraStatus]:
        """The cameras as last seen, even if the engine has gone away since."""
        return self.health.cameras if self.health is not None else {}


@dataclass(frozen=True, slots=True)
class Answer:
    """What a query (``EngineLink.ask``) returned, or why it failed (``error``)."""

    ticket: int
    value: Any = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CommandResult:
    """What the engine answered to one command (``ok`` False: refused, not acknowledged, failed).

    ``reply`` is None when the engine was not reached; ``error`` then says why.
    """

    ticket: int
    command: str
    camera_id: str
    params: dict[str, Any]
    ok: bool
    status: int | None  # HTTP status, None when the engine was not reached
    reply: CommandReply | None = None
    error: str | None = None
    elapsed_ms: float = 0.0


class EngineLink:
    """Background health polling and command sending for one engine API address."""

    def __init__(
        self,
        engine: EngineAddress,
        poll_s: float = POLL_S,
        locate: Callable[[], EngineAddress] | None = None,
    ) -> None:
        self.engine = engine
        self.poll_s = poll_s
        self.session_id = f"console-{uuid.uuid4().hex[:8]}"
        self._locate = locate  # finds the engine again when it stops answering or refuses us
        self._client = self._client_for(engine)
        self._snapshot = Snapshot(False, None, "connecting to the engine…", 0.0, 0.0)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._outbox: queue.Queue[tuple[int, str, str, dict[str, Any]] | None] = queue.Queue()
        self._results: queue.Queue[CommandResult] = queue.Queue()
        self._tickets = itertools.count(1)
        self._asks: queue.Queue[tuple[int, Callable[[EngineClient], Any]] | None] = queue.Queue()
        self._answers: dict[int, Answer] = {}
        self._threads: list[threading.Thread] = []
        self._alarms = Alarms()

    def start(self) -> None:
        loops = [(self._poll_loop, "engine-poll"), (self._send_loop, "engine-cmd")]
        loops += [(self._ask_loop, f"engine-ask-{n}") for n in range(ASK_THREADS)]
        for target, name in loops:
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        # Not joined at stop: it ends by itself within one long poll.
        threading.Thread(target=self._alarm_loop, name="engine-alarms", daemon=True).start()

    def alarms(self) -> Alarms:
        with self._lock:
            return self._alarms

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._outbox.put(None)
        for _ in range(ASK_THREADS):
            self._asks.put(None)
        for thread in self._threads:
            thread.join(timeout=TIMEOUT_S + 1)

    def snapshot(self) -> Snapshot:
        with self._lock:
            return self._snapshot

    def poll_now(self) -> None:
        """Ask for a fresh health document without waiting for the next poll."""
        self._wake.set()

    def send(self, command: str, camera_id: str = "*", **params: Any) -> int:
        """Queue a command and return its ticket; the result arrives through ``results()``."""
        ticket = next(self._tickets)
        self._outbox.put((ticket, command, camera_id, params))
        return ticket

    def ask(self, query: Callable[[EngineClient], Any]) -> int:
        """Run ``query`` with the engine's client off the render thread; its ticket. The answer
        is taken with ``answer(ticket)``."""
        ticket = next(self._tickets)
        self._asks.put((ticket, query))
        return ticket

    def answer(self, ticket: int) -> Answer | None:
        """The answer to ``ask``'s ticket once it came (taken: asked for again, None)."""
        with self._lock:
            return self._answers.pop(ticket, None)

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
                snap = Snapshot(True, self._client.health(), None, time.monotonic(), started)
            except NvrError as err:  # unreachable, refused, or a document that does not parse
                if self._relocated():
                    continue
                previous = self.snapshot()
                snap = Snapshot(
                    False, previous.health, f"{err}; retrying", previous.received_at, started
                )
            with self._lock:
                was, self._snapshot = self._snapshot, snap
            if snap.connected and not was.connected:
                log.info("attached to the engine at %s", self.engine.url)
            elif was.connected and not snap.connected or not was.polled_at and snap.error:
                log.warning("the engine at %s does not answer: %s", self.engine.url, snap.error)
            self._wake.wait(self.poll_s if snap.connected else RETRY_S)
            self._wake.clear()

    def _alarm_loop(self) -> None:
        """Follow the event stream; re-read the alarms when one changed or events were missed."""
        seq: int | None = None
        while not self._stop.is_set():
            client = self._client
            try:
                if seq is None:
                    seq = self._read_alarms(client)
                batch = client.stream(seq, STREAM_WAIT_S)
                if batch.missed or any(e.type == "alarm" for e in batch.events):
                    seq = self._read_alarms(client)
                else:
                    seq = batch.seq
            except NvrError:
                seq = None
                if self._relocated():  # a restarted engine: new token, maybe a new port
                    continue
                with self._lock:
                    self._alarms = replace(self._alarms, known=False)
                self._stop.wait(RETRY_S)

    def _read_alarms(self, client: EngineClient) -> int:
        listing: AlarmList = client.alarms()
        log_rows = client.alarm_log(limit=ALARM_LOG_ROWS)
        with self._lock:
            self._alarms = Alarms(listing.alarms, tuple(log_rows), True)
        return listing.seq

    @property
    def api(self) -> str:
        return self.engine.url

    def _client_for(self, engine: EngineAddress) -> EngineClient:
        return EngineClient(
            engine.url.rstrip("/"),
            session_id=self.session_id,
            timeout_s=TIMEOUT_S,
            token=engine.token,
        )

    def _relocated(self) -> bool:
        """Whether the engine answers elsewhere now, or with a new token: it was restarted (on
        another port, when it picks a free one)."""
        if self._locate is None:
            return False
        try:
            engine = self._locate()
        except NvrError:  # no run file: the engine is not running; keep the last address
            return False
        if engine == self.engine:
            return False
        if engine.url != self.engine.url:
            log.info("the engine moved from %s to %s; following it", self.engine.url, engine.url)
        self.engine = engine
        self._client = self._client_for(engine)
        return True

    def _ask_loop(self) -> None:
        while True:
            item = self._asks.get()
            if item is None or self._stop.is_set():
                return
            ticket, query = item
            try:
                answer = Answer(ticket, query(self._client))
            except NvrError as err:
                answer = Answer(ticket, error=str(err))
            except Exception as err:  # a query's own bug must not end the thread
                log.exception("a query to the engine failed")
                answer = Answer(ticket, error=f"internal error: {err}")
            with self._lock:
                self._answers[ticket] = answer

    def _send_loop(self) -> None:
        while True:
            item = self._outbox.get()
            if item is None or self._stop.is_set():
                return
            self._results.put(self._post(*item))
            self._wake.set()  # show the new state without waiting for the next poll

    def _post(
        self, ticket: int, command: str, camera_id: str, params: dict[str, Any]
    ) -> CommandResult:
        started = time.monotonic()
        try:
            status, reply = self._client.command(command, camera_id, **params)
            if status == 401 and self._relocated():  # a restarted engine has a new token
                status, reply = self._client.command(command, camera_id, **params)
        except NvrError as err:
            elapsed_ms = (time.monotonic() - started) * 1000
            return CommandResult(
                ticket, command, camera_id, params, False, None, None, str(err), elapsed_ms
            )
        elapsed_ms = (time.monotonic() - started) * 1000
        # 200: done; 202: accepted, but not every camera acknowledged; 4xx/5xx: refused.
        ok = status < 300 and reply.ok
        error = None if status < 400 else reply.detail or reply.error or f"HTTP {status}"
        return CommandResult(
            ticket, command, camera_id, params, ok, status, reply, error, elapsed_ms
        )
