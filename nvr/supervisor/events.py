"""The engine's event stream: a bounded, numbered log of changes that API threads read.

The loop appends (``publish``); ``GET /api/stream?after=`` answers with what came after, or holds
the request on the HTTP server's event loop until something comes (``ready``). Events are kept in
memory only, ``KEEP`` of them: a client that falls further behind is told it ``missed`` some and
re-reads ``/api/alarms``, whose state is the truth.
"""

from __future__ import annotations

import threading
from collections import deque

from nvr.protocol.alarms import Alarm, EngineEvent, EventBatch

KEEP = 2000
MAX_BATCH = 500


class EventBoard:
    """Thread-safe: the loop publishes, API threads read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: deque[EngineEvent] = deque(maxlen=KEEP)
        self._seq = 0

    @property
    def seq(self) -> int:
        """The last event's number (0 before the first)."""
        with self._lock:
            return self._seq

    def publish(
        self,
        type_: str,
        time_ns: int,
        camera_id: str = "",
        *,
        alarm: Alarm | None = None,
        state: str | None = None,
    ) -> EngineEvent:
        with self._lock:
            self._seq += 1
            event = EngineEvent(self._seq, time_ns, type_, camera_id, alarm, state)
            self._events.append(event)
            return event

    def ready(self, after: int) -> bool:
        """Whether there is something after event ``after`` (or ``after`` is from another run)."""
        with self._lock:
            return self._seq != after

    def since(self, after: int) -> EventBatch:
        """The events after ``after``, at most ``MAX_BATCH``. An ``after`` ahead of the last
        event (the engine restarted) or older than the oldest kept is answered ``missed``."""
        with self._lock:
            seq = self._seq
            if after > seq or (self._events and after < self._events[0].seq - 1):
                return EventBatch(seq, (), missed=True)
            newer = [e for e in self._events if e.seq > after][:MAX_BATCH]
            return EventBatch(newer[-1].seq if newer else seq, tuple(newer))
