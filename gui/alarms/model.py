"""What the Alarms view and the status bar say about the engine's alarms: plain functions over
``nvr.protocol.alarms``, no Dear PyGui, so the wording and the alert are unit tested."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nvr.protocol.alarms import KIND_TITLES, Alarm


@dataclass(frozen=True, slots=True)
class AlarmRow:
    """One line of the alarm list or log."""

    alarm_id: int
    raised: str  # local time, with the date when not today
    camera: str  # the camera's name, or "Engine"
    title: str  # e.g. "Offline"
    message: str
    state: str  # e.g. "ACTIVE, not acknowledged"
    urgent: bool  # not acknowledged yet
    active: bool
    can_ack: bool
    can_clear: bool


@dataclass(frozen=True, slots=True)
class AlarmSummary:
    """The status bar's alarm field."""

    text: str
    level: str  # "none", "urgent" (some not acknowledged: flashes) or "acknowledged"
    detail: str


def clock_text(ns: int, now_ns: int) -> str:
    """``14:03:07`` today, ``Dec 04 14:03`` on another day (local time)."""
    when, today = time.localtime(ns / 1e9), time.localtime(now_ns / 1e9)
    if when[:3] == today[:3]:
        return time.strftime("%H:%M:%S", when)
    return time.strftime("%b %d %H:%M", when)


def _who(by: str | None) -> str:
    return f" by {by}" if by else ""


def alarm_row(alarm: Alarm, names: Mapping[str, str], now_ns: int) -> AlarmRow:
    """How one alarm reads in the list and the log."""
    parts = [
        "ACTIVE" if alarm.active else f"ended {clock_text(alarm.ended_ns or 0, now_ns)}",
        f"acknowledged {clock_text(alarm.acked_ns, now_ns)}{_who(alarm.acked_by)}"
        if alarm.acked_ns is not None
        else "NOT ACKNOWLEDGED",
    ]
    if alarm.cleared_ns is not None:
        parts.append(f"cleared {clock_text(alarm.cleared_ns, now_ns)}{_who(alarm.cleared_by)}")
    state = ", ".join(parts)
    title = KIND_TITLES.get(alarm.kind, alarm.kind)
    if alarm.count > 1:
        title += f" (x{alarm.count})"
    return AlarmRow(
        alarm_id=alarm.id,
        raised=clock_text(alarm.raised_ns, now_ns),
        camera=names.get(alarm.camera_id, alarm.camera_id) if alarm.camera_id else "Engine",
        title=title,
        message=alarm.message,
        state=state,
        urgent=not alarm.acknowledged and alarm.cleared_ns is None,
        active=alarm.active,
        can_ack=not alarm.acknowledged and alarm.cleared_ns is None,
        can_clear=not alarm.active and alarm.cleared_ns is None,
    )


def summary(alarms: Iterable[Alarm], known: bool) -> AlarmSummary:
    """The status field: how many alarms, whether any waits for acknowledgement."""
    if not known:
        return AlarmSummary("Alarms: ?", "acknowledged", "The engine's alarms cannot be read now.")
    alarms = list(alarms)
    waiting = [a for a in alarms if not a.acknowledged]
    active = [a for a in alarms if a.active]
    if not alarms:
        return AlarmSummary("Alarms: none", "none", "No alarm. F3 opens the alarm log.")
    lines = [
        f"[{'ACTIVE' if a.active else 'ended'}"
        f"{', acknowledged' if a.acknowledged else ', NOT ACKNOWLEDGED'}] {a.message}"
        for a in alarms[:8]
    ] + ([f"... and {len(alarms) - 8} more"] * (len(alarms) > 8))
    detail = "\n".join(lines) + "\nF3 (or a click here) opens the Alarms view."
    if waiting:
        plural = "S" if len(waiting) > 1 else ""
        return AlarmSummary(f"! {len(waiting)} ALARM{plural}", "urgent", detail)
    return AlarmSummary(f"Alarms: {len(active)} active, acknowledged", "acknowledged", detail)


def camera_alarms(alarms: Iterable[Alarm]) -> dict[str, Alarm]:
    """Per camera, the alarm its tile shows: the most urgent one active or not acknowledged."""
    shown: dict[str, Alarm] = {}
    for alarm in alarms:
        if not alarm.camera_id or (alarm.acknowledged and not alarm.active):
            continue
        rank = (not alarm.acknowledged, alarm.active, alarm.raised_ns)
        current = shown.get(alarm.camera_id)
        if current is None or rank > (not current.acknowledged, current.active, current.raised_ns):
            shown[alarm.camera_id] = alarm
    return shown


class NewAlarms:
    """Which alarms are news since the last look (for the status line's notice)."""

    def __init__(self) -> None:
        self._seen: set[tuple[int, int]] = set()  # (id, count): a reopened alarm is news again

    def take(self, alarms: Iterable[Alarm]) -> list[Alarm]:
        """The alarms raised or reopened since the last call that are active and not
        acknowledged (on the first call: every such alarm, waiting since before the console)."""
        fresh = []
        for alarm in alarms:
            key = (alarm.id, alarm.count)
            if key not in self._seen:
                self._seen.add(key)
                if alarm.active and not alarm.acknowledged:
                    fresh.append(alarm)
        return fresh
