"""Alarms, raised and ended by the supervisor's loop from the health it publishes.

Each publication, ``conditions`` lists what is wrong now (pure: the health, the config and the
local time in, ``{(kind, camera_id): message}`` out). ``AlarmDesk.evaluate`` turns that into
alarms: a condition that has held for its grace raises one (or reopens the same camera's alarm of
that kind if it ended less than ``MERGE_S`` ago and is not cleared, counting it), a condition that
is gone ends it. Operators acknowledge and clear alarms through commands (``ack_alarm``,
``clear_alarm``), run in the loop too; an alarm still active cannot be cleared. Every change is
written to the catalog's alarm log and published on the event stream.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from dataclasses import replace
from datetime import datetime

from nvr.config import Config
from nvr.errors import CatalogFullError, ConflictError, NotFoundError
from nvr.protocol.alarms import Alarm, AlarmList
from nvr.protocol.health import CameraStatus, Health
from nvr.storage.catalog import Catalog
from nvr.supervisor.events import EventBoard

log = logging.getLogger(__name__)

STALLED_S = 3.0  # a live stream without a new packet or frame this long is stalled
MERGE_S = 60.0  # a condition back within this long reopens its alarm instead of a new one
NS = 1_000_000_000
Condition = tuple[str, str]  # (kind, camera_id)


def _sub_plays(cam: CameraStatus) -> bool:
    sub = cam.sub
    return bool(
        sub and sub.connected and sub.last_age_s is not None and sub.last_age_s <= STALLED_S
    )


def _should_record(cam: CameraStatus, armed: bool) -> bool:
    """Whether the camera must be recording now whatever moves (motion mode may rest)."""
    return (
        cam.manual or cam.panic or cam.mode == "continuous" or (cam.mode == "scheduled" and armed)
    )


def conditions(health: Health, config: Config, local: datetime) -> dict[Condition, str]:
    """What is wrong now, each with its message: the conditions that raise alarms."""
    found: dict[Condition, str] = {}
    for cam_cfg in config.cameras:
        cam = health.cameras.get(cam_cfg.id)
        if cam is None or not cam_cfg.enabled or cam.state in ("disabled", "starting"):
            continue
        name, cid = cam_cfg.display_name, cam_cfg.id
        why = f": {cam.error}" if cam.error else ""
        if cam.state != "live":
            if _sub_plays(cam):  # the picture moves, only the recording stream is lost
                found["not_recording", cid] = (
                    f"{name} is not recording: its main stream is lost{why}; live view goes on "
                    "from the sub stream. Check the camera's main stream URL and its network"
                )
            else:
                # One wording whether its worker is connecting or waiting to retry: the
                # message of an open alarm must not flip with each attempt.
                found["offline", cid] = (
                    f"{name} is offline{why}; check the camera's power, network and URL"
                )
        else:
            ages = [s.last_age_s for s in (cam.main, cam.sub) if s and s.last_age_s is not None]
            if ages and max(ages) > STALLED_S:
                found["stalled", cid] = (
                    f"{name} is stalled: no new video for {max(ages):.0f} s while connected"
                )
            if cam.recording.error:
                found["not_recording", cid] = (
                    f"{name} is not recording: it cannot write ({cam.recording.error})"
                )
            elif not cam.recording.active and _should_record(
                cam, cam_cfg.record.schedule_active(local)
            ):
                found["not_recording", cid] = (
                    f"{name} is not recording although it should ({cam.mode} mode"
                    + (", manual" if cam.manual else "")
                    + (", panic" if cam.panic else "")
                    + "); see the engine log"
                )
        if cam.motion and cam_cfg.alarms.armed(local):
            found["motion", cid] = f"Motion on {name}"
    storage = health.storage
    low = []
    if storage.warning:
        low.append(storage.warning)
    if storage.retention and storage.retention.unmet:
        low.append("retention cannot meet: " + "; ".join(storage.retention.unmet))
    if not low and storage.min_free_bytes and storage.free_bytes < storage.min_free_bytes:
        low.append(
            f"{storage.free_bytes / 1e9:.1f} GB free, under storage.min_free_bytes "
            f"({storage.min_free_bytes / 1e9:.1f} GB)"
        )
    if low:
        found["storage_low", ""] = "Storage low: " + "; ".join(low)
    return found


class AlarmDesk:
    """The alarms not yet cleared; owned by the loop. ``current`` is thread-safe."""

    def __init__(self, catalog: Catalog, events: EventBoard, now_ns: int) -> None:
        self._catalog = catalog
        self._events = events
        self._lock = threading.Lock()
        self._alarms: dict[int, Alarm] = {}
        self._active: dict[Condition, int] = {}  # alarm id by condition, while it holds
        self._seen_since: dict[Condition, int] = {}  # when each condition was first seen, ns
        self._restarts: dict[str, deque[int]] = {}  # restart times by camera, ns
        self._restart_counts: dict[str, int] = {}
        self._states: dict[str, str] = {}
        self._motion: dict[str, bool] = {}
        self._next_temporary = -1  # ids of alarms the catalog could not take (disk full)
        try:
            alarms = catalog.uncleared_alarms()
        except CatalogFullError:
            alarms = []
        for alarm in alarms:
            if alarm.active:  # its condition is checked afresh: end what the last run left open
                alarm = self._save(replace(alarm, ended_ns=now_ns))
            self._alarms[alarm.id] = alarm
        self._published = self._list()

    # -- thread-safe -------------------------------------------------------------------------

    def current(self) -> AlarmList:
        with self._lock:
            return self._published

    # -- the loop ----------------------------------------------------------------------------

    def evaluate(self, health: Health, config: Config, now_ns: int, local: datetime) -> None:
        """Raise, reopen and end alarms from the health just built; publish camera changes."""
        self._camera_events(health, now_ns)
        found = conditions(health, config, local)
        found.update(self._restart_loops(health, config, now_ns))
        # A camera (re)starting is not judged yet: its alarms neither end nor start meanwhile.
        starting = {c.id for c in health.cameras.values() if c.state == "starting"}
        for condition in self._active:
            alarm = self._alarms.get(self._active[condition])
            if condition[1] in starting and condition[0] != "motion" and alarm is not None:
                found.setdefault(condition, alarm.message)
        grace_ns = int(config.alarms.offline_after_s * NS)
        for condition in [c for c in self._seen_since if c not in found]:
            del self._seen_since[condition]
        for condition, message in found.items():
            since = self._seen_since.setdefault(condition, now_ns)
            if condition in self._active:
                self._update(self._active[condition], message, now_ns)
            elif condition[0] not in ("offline", "not_recording") or now_ns - since >= grace_ns:
                self._raise(condition, message, since, now_ns)
        for condition in [c for c in self._active if c not in found]:
            alarm = self._alarms.get(self._active.pop(condition))
            if alarm is not None:
                self._change(replace(alarm, ended_ns=now_ns), now_ns)
        self._publish()

    def acknowledge(self, alarm_ids: list[int] | None, by: str, now_ns: int) -> list[Alarm]:
        """Acknowledge these alarms (None: every one); the alarms changed."""
        targets = self._targets(alarm_ids)
        changed = [
            self._change(replace(a, acked_ns=now_ns, acked_by=by), now_ns)
            for a in targets
            if not a.acknowledged
        ]
        for alarm in changed:
            log.info("alarm %d (%s) acknowledged by %s", alarm.id, alarm.message, by)
        self._publish()
        return changed

    def clear(self, alarm_ids: list[int] | None, by: str, now_ns: int) -> list[Alarm]:
        """Clear these ended alarms (None: every ended one) off the list, acknowledging them
        too; one alarm still active is refused."""
        targets = self._targets(alarm_ids)
        if alarm_ids is not None and len(alarm_ids) == 1 and targets[0].active:
            raise ConflictError(
                f"alarm {alarm_ids[0]} is still active ({targets[0].message}); it can be "
                "cleared once its condition ends: acknowledge it meanwhile"
            )
        changed = []
        for alarm in (a for a in targets if not a.active):
            if not alarm.acknowledged:
                alarm = replace(alarm, acked_ns=now_ns, acked_by=by)
            cleared = replace(alarm, cleared_ns=now_ns, cleared_by=by)
            changed.append(self._change(cleared, now_ns))
            log.info("alarm %d (%s) cleared by %s", alarm.id, alarm.message, by)
        self._publish()
        return changed

    # -- internals ---------------------------------------------------------------------------

    def _targets(self, alarm_ids: list[int] | None) -> list[Alarm]:
        """The alarms named (None: every one); one alone must be on the list, of several the
        ones still on it."""
        if alarm_ids is None:
            return list(self._alarms.values())
        found = [a for i in dict.fromkeys(alarm_ids) if (a := self._alarms.get(i)) is not None]
        if len(alarm_ids) == 1 and not found:
            raise NotFoundError(
                f"no alarm {alarm_ids[0]} on the list (cleared already, or unknown)"
            )
        return found

    def _raise(self, condition: Condition, message: str, since_ns: int, now_ns: int) -> None:
        kind, camera_id = condition
        recent = [
            a
            for a in self._alarms.values()
            if a.kind == kind
            and a.camera_id == camera_id
            and a.ended_ns is not None
            and a.acked_ns is None  # once acknowledged, a new occurrence is news again
            and since_ns - a.ended_ns < MERGE_S * NS
        ]
        if recent:  # the same trouble back, not yet seen: one alarm that counts, not a flood
            again = replace(recent[0], ended_ns=None, count=recent[0].count + 1, message=message)
            alarm = self._change(again, now_ns)
        else:
            alarm = self._change(Alarm(0, kind, camera_id, message, since_ns), now_ns)
            level = logging.INFO if kind == "motion" else logging.WARNING
            log.log(level, "alarm %d raised: %s", alarm.id, message)
        self._active[condition] = alarm.id

    def _update(self, alarm_id: int, message: str, now_ns: int) -> None:
        alarm = self._alarms.get(alarm_id)
        # Offline and stalled messages keep their first words (an error text that flips between
        # the streams is no news); counts and causes that change are.
        changes = ("not_recording", "restart_loop", "storage_low")
        if alarm is not None and alarm.message != message and alarm.kind in changes:
            self._change(replace(alarm, message=message), now_ns)

    def _change(self, alarm: Alarm, now_ns: int) -> Alarm:
        """Keep, log and publish the alarm as it is now."""
        alarm = self._save(alarm)
        if alarm.cleared_ns is None:
            self._alarms[alarm.id] = alarm
        else:
            self._alarms.pop(alarm.id, None)
        self._events.publish("alarm", now_ns, alarm.camera_id, alarm=alarm)
        return alarm

    def _save(self, alarm: Alarm) -> Alarm:
        try:
            if alarm.id >= 0:
                return replace(alarm, id=self._catalog.save_alarm(alarm))
        except CatalogFullError as err:
            log.error("alarm not logged (%s): %s", err, alarm.message)
        if alarm.id:
            return alarm
        self._next_temporary -= 1  # shown and acknowledged all the same, never logged
        return replace(alarm, id=self._next_temporary + 1)

    def _camera_events(self, health: Health, now_ns: int) -> None:
        for cam in health.cameras.values():
            if self._states.get(cam.id) != cam.state:
                self._states[cam.id] = cam.state
                self._events.publish("camera", now_ns, cam.id, state=cam.state)
            if self._motion.get(cam.id, False) != cam.motion:
                self._motion[cam.id] = cam.motion
                self._events.publish(
                    "motion", now_ns, cam.id, state="start" if cam.motion else "end"
                )

    def _restart_loops(self, health: Health, config: Config, now_ns: int) -> dict[Condition, str]:
        """Cameras whose worker restarted ``alarms.restarts`` times within the window."""
        found = {}
        window_ns = int(config.alarms.restarts_within_s * NS)
        for cam in health.cameras.values():
            seen = self._restart_counts.get(cam.id, 0)
            times = self._restarts.setdefault(cam.id, deque())
            times.extend([now_ns] * max(0, cam.restarts - seen))
            self._restart_counts[cam.id] = cam.restarts
            while times and now_ns - times[0] > window_ns:
                times.popleft()
            if len(times) >= config.alarms.restarts:
                minutes = config.alarms.restarts_within_s / 60
                last = f"; last exit: {cam.last_exit}" if cam.last_exit else ""
                found["restart_loop", cam.id] = (
                    f"{cam.name or cam.id}'s worker restarted {len(times)} times in "
                    f"{minutes:.0f} min{last}; see the engine log for the cause"
                )
        return found

    def _list(self) -> AlarmList:
        alarms = sorted(self._alarms.values(), key=lambda a: (a.raised_ns, a.id), reverse=True)
        return AlarmList(self._events.seq, tuple(alarms))

    def _publish(self) -> None:
        published = self._list()
        with self._lock:
            self._published = published
