"""Alarms and the engine's event stream, typed (``GET /api/alarms``, ``GET /api/stream``).

An alarm is raised by the engine when a condition an operator must see starts (motion on an armed
camera, a camera offline, stalled or not recording, storage low, a worker restarting in a loop),
ends when the condition is gone, and stays on the operator's list until it is cleared. Who
acknowledged and cleared it is kept in the alarm log (the catalog's ``alarms`` table).

The event stream carries every change the user interfaces show as it happens: an alarm raised,
ended, acknowledged or cleared, a camera's state, motion starting and ending. Clients long-poll
it with the ``seq`` of the last event they have.
"""

from __future__ import annotations

from dataclasses import dataclass

# What raises an alarm, by how urgently an operator must act.
ALARM_KINDS = ("not_recording", "offline", "stalled", "restart_loop", "storage_low", "motion")
KIND_TITLES = {
    "not_recording": "Not recording",
    "offline": "Offline",
    "stalled": "Stalled",
    "restart_loop": "Restarting",
    "storage_low": "Storage low",
    "motion": "Motion",
}
EVENT_TYPES = ("alarm", "camera", "motion")


@dataclass(frozen=True, slots=True)
class Alarm:
    """One alarm: ``ended_ns`` None while its condition holds; on the list until cleared."""

    id: int
    kind: str  # one of ALARM_KINDS
    camera_id: str  # "" for the engine as a whole (storage)
    message: str  # what happened and, where there is one, the fix
    raised_ns: int
    ended_ns: int | None = None
    acked_ns: int | None = None
    acked_by: str | None = None
    cleared_ns: int | None = None
    cleared_by: str | None = None
    count: int = 1  # times the condition came back before the alarm was cleared

    @property
    def active(self) -> bool:
        """The condition holds now."""
        return self.ended_ns is None

    @property
    def acknowledged(self) -> bool:
        return self.acked_ns is not None


@dataclass(frozen=True, slots=True)
class AlarmList:
    """The alarms not yet cleared, newest first, as of event ``seq``."""

    seq: int
    alarms: tuple[Alarm, ...] = ()


@dataclass(frozen=True, slots=True)
class EngineEvent:
    """One change: ``alarm`` (the alarm as it is now), ``camera`` (``state`` is its new state)
    or ``motion`` (``state`` is "start" or "end")."""

    seq: int
    time_ns: int
    type: str  # one of EVENT_TYPES
    camera_id: str = ""
    alarm: Alarm | None = None
    state: str | None = None


@dataclass(frozen=True, slots=True)
class EventBatch:
    """The events after the ``after`` a client asked for. ``seq`` is the one to ask after next;
    ``missed`` means older events were dropped before the client read them (re-read the alarms)."""

    seq: int
    events: tuple[EngineEvent, ...] = ()
    missed: bool = False
