"""The supervisor: one worker per camera, the single catalog writer, live config reload.

Threads: the main thread runs ``Supervisor.run`` (worker pipes, process sentinels, watchdog,
restarts, config reload, every catalog write); the HTTP API runs in its own threads and talks
to the supervisor only through the thread-safe methods ``health``, ``cameras`` and ``command``.
"""

from __future__ import annotations

import dataclasses
import errno
import itertools
import json
import logging
import os
import shutil
import threading
import time
from collections import deque
from dataclasses import dataclass, field, replace
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

import apsw

from nvr.config import CameraConfig, Config, load_config
from nvr.errors import ConfigError
from nvr.frames.ring import FrameRing, instance_id, ring_name
from nvr.protocol.commands import Command as UICommandMessage
from nvr.protocol.worker import (
    Ack,
    Heartbeat,
    MotionEnded,
    MotionStarted,
    SegmentClosed,
    SegmentOpened,
    SetRecording,
    StreamDiscontinuity,
    StreamDown,
    StreamUp,
    WorkerFailed,
    WriteFailed,
)
from nvr.storage.catalog import Catalog, NewMotionEvent, NewRecording
from nvr.storage.checks import check_storage
from nvr.storage.recovery import recover_segment, recover_storage
from nvr.storage.reserve import StorageReserve
from nvr.storage.retention import RetentionReport, apply, collect_garbage, emergency_free, plan
from nvr.supervisor.workers import WorkerHandle
from nvr.worker.process import WorkerSpec

log = logging.getLogger(__name__)

TICK_S = 0.5
RELOAD_POLL_S = 1.0
ACK_TIMEOUT_S = 2.0
RETENTION_SLICE_S = 0.5  # longest retention work per tick: pipes and acks keep flowing
EMERGENCY_DISK_FRACTION = 0.1  # disk full: free a minute of footage, at most this much disk
WRITE_RATE_WINDOW_S = 300.0
STOP_TIMEOUT_S = 10.0


@dataclass
class ConfigStatus:
    path: str
    ok: bool = True
    loaded_ns: int = 0
    errors: list[str] = field(default_factory=list)
    needs_restart: list[str] = field(default_factory=list)
    reloads: int = 0
    failed_reloads: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "ok": self.ok,
            "loaded_ns": self.loaded_ns,
            "errors": self.errors,
            "needs_restart": self.needs_restart,
            "reloads": self.reloads,
            "failed_reloads": self.failed_reloads,
        }


class Supervisor:
    """Runs the engine for one configuration file until ``request_stop``."""

    def __init__(self, config: Config, config_path: Path | None) -> None:
        self.config = config
        self.config_path = config_path
        self.root = Path(config.storage.path)
        self.storage_id = check_storage(self.root, config.storage.require_mount)
        log.info("storage %s (id %s)", self.root, self.storage_id)
        self.instance = instance_id(self.root)
        self.catalog = Catalog(self.root / "catalog.db")
        events, gaps = self.catalog.close_dangling(time.time_ns())
        if events or gaps:
            log.warning(
                "closed %d motion event(s) and %d gap(s) left open by the last run", events, gaps
            )
        self.recordings = self.root / "recordings"
        # Finish interrupted deletions first, or orphan indexing would resurrect their files.
        collect_garbage(self.catalog, self.recordings)
        self.recovery = recover_storage(self.catalog, self.recordings)
        self.storage_warning: str | None = None
        self.retention: RetentionReport | None = None
        self.retention_unmet: list[str] = []
        self.storage_stats: dict[str, dict[str, float]] = {}
        self._next_retention = 0.0
        self._written: deque[tuple[float, int]] = deque()  # (monotonic, bytes) of closed segments
        self._unsaved: list[NewRecording] = []  # segments the catalog refused (disk full): retried
        self._deferred: list[tuple[WorkerHandle, object]] = []  # messages refused, in order
        self.reserve = StorageReserve(self.root)
        self.reserve.restore()
        self.handles: dict[str, WorkerHandle] = {}
        self.lock = threading.RLock()  # guards handles, manual, panic, acks, counters
        self.manual: set[str] = set()
        self.panic = False
        self.started_ns = time.time_ns()
        self.stop_event = threading.Event()
        self.status = ConfigStatus(
            str(config_path) if config_path else "<memory>", loaded_ns=time.time_ns()
        )
        self._config_stamp = self._stamp()
        self._next_reload_check = 0.0
        self._acks: dict[int, tuple[threading.Event, list[Ack]]] = {}
        self._request_ids = itertools.count(1)
        self._open_gaps: dict[str, tuple[int, int]] = {}  # camera -> (gap id, start_ns)
        self._open_events: dict[str, tuple[int, int]] = {}  # camera -> (event id, start_ns)
        self.segments_total: dict[str, int] = {}
        self.motion_total: dict[str, int] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def run(self) -> None:
        """Start every enabled camera and supervise until ``request_stop`` is called."""
        log.info("engine starting: %d camera(s), storage %s", len(self.config.cameras), self.root)
        for cam in self.config.cameras:
            if cam.enabled:
                self._start_camera(cam)
        try:
            while not self.stop_event.is_set():
                self._poll(TICK_S)
                self._watchdog()
                self._maybe_reload()
                self._maybe_retain()
        finally:
            self._stop_all()
            self.catalog.close()
            log.info("engine stopped")

    def request_stop(self) -> None:
        self.stop_event.set()

    def _spec(self, cam: CameraConfig) -> WorkerSpec:
        logging_cfg = self.config.logging
        return WorkerSpec(
            camera=cam,
            storage_root=str(self.root),
            ring_name=ring_name(self.instance, cam.id),
            log_dir=str(logging_cfg.log_dir(self.root)),
            log_level=logging_cfg.level,
            keep_days=logging_cfg.keep_days,
            manual=cam.id in self.manual,
            panic=self.panic,
        )

    def _start_camera(self, cam: CameraConfig) -> None:
        handle = WorkerHandle(self._spec(cam))
        FrameRing.remove(handle.spec.ring_name)
        with self.lock:  # a command arriving now is either in the spec or sent to the worker
            handle.spec = self._spec(cam)
            self.handles[cam.id] = handle
            handle.start()

    def _stop_cameras(self, camera_ids: list[str]) -> None:
        """Stop workers gracefully (their last segments are cataloged), then forget them."""
        handles = [self.handles[c] for c in camera_ids if c in self.handles]
        for handle in handles:
            handle.restart_at = None
            handle.request_stop()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        killed = False
        while any(h.running for h in handles):
            self._poll(0.2)  # every worker: acks and segments keep flowing meanwhile
            if time.monotonic() < deadline:
                continue
            stuck = [h for h in handles if h.running]
            if killed:  # not even SIGKILL ended it (uninterruptible I/O): stop waiting
                for handle in stuck:
                    log.error(
                        "%s: worker pid %s ignores SIGKILL; abandoning it",
                        handle.camera_id,
                        handle.pid,
                    )
                    self._worker_exited(handle)
                break
            for handle in stuck:
                log.warning(
                    "%s: worker did not stop in %.0f s; killing it",
                    handle.camera_id,
                    STOP_TIMEOUT_S,
                )
                handle.kill()
            killed, deadline = True, time.monotonic() + 5
        with self.lock:
            for handle in handles:
                if self.handles.get(handle.camera_id) is handle:
                    del self.handles[handle.camera_id]

    def _stop_all(self) -> None:
        self._stop_cameras(list(self.handles))

    # -- messages from workers ---------------------------------------------------------------

    def _poll(self, timeout: float) -> None:
        """Read every worker's messages and handle every exit, for up to ``timeout`` seconds."""
        waitables: dict[Any, WorkerHandle] = {}
        for handle in list(self.handles.values()):
            if handle.running and handle.conn is not None and handle.process is not None:
                waitables[handle.conn] = handle
                waitables[handle.process.sentinel] = handle
        if not waitables:
            time.sleep(timeout)
            return
        ready = {id(waitables[r]): waitables[r] for r in wait(list(waitables), timeout)}
        for handle in ready.values():
            self._drain(handle)
            if handle.running and handle.process is not None and not handle.process.is_alive():
                self._worker_exited(handle)

    def _drain(self, handle: WorkerHandle) -> None:
        conn = handle.conn
        while conn is not None and not conn.closed:
            try:
                if not conn.poll():
                    return
                message = conn.recv()
            except (EOFError, OSError):
                return
            except Exception:  # a message cut short by a killed worker
                log.warning("%s: unreadable message from worker dropped", handle.camera_id)
                return
            try:
                self._handle(handle, message)
            except (apsw.FullError, apsw.IOError) as err:  # disk full: replay after cleanup
                if not self._deferred:
                    log.error(
                        "the catalog cannot write (%s); deferring %s until space is freed",
                        err,
                        type(message).__name__,
                    )
                self._deferred.append((handle, message))
                self._next_retention = 0.0
            except Exception:  # one bad write must not stop every camera's supervision
                log.exception(
                    "%s: could not process %s; continuing", handle.camera_id, type(message).__name__
                )

    def _handle(self, handle: WorkerHandle, msg: object) -> None:
        cam = handle.camera_id
        if isinstance(msg, Heartbeat):
            with self.lock:
                handle.heartbeat = msg
                handle.heartbeat_mono = time.monotonic()
        elif isinstance(msg, SegmentOpened):
            handle.open_segment = msg
        elif isinstance(msg, SegmentClosed):
            if handle.open_segment and handle.open_segment.file_path == msg.file_path:
                handle.open_segment = None
            self._catalog_segment(
                NewRecording(
                    camera_id=msg.camera_id,
                    start_ns=msg.start_ns,
                    end_ns=msg.end_ns,
                    duration_90k=msg.duration_90k,
                    file_path=msg.file_path,
                    size_bytes=msg.size_bytes,
                    recording_type=msg.recording_type,
                    motion_events=msg.motion_events,
                    video_codec=msg.video_codec,
                    width=msg.width,
                    height=msg.height,
                )
            )
            self.segments_total[cam] = self.segments_total.get(cam, 0) + 1
            self._written.append((time.monotonic(), msg.size_bytes))
        elif isinstance(msg, MotionStarted):
            self._end_event(cam, msg.start_ns)
            event_id = self.catalog.add_motion_event(NewMotionEvent(cam, msg.start_ns, None, 0.0))
            self._open_events[cam] = (event_id, msg.start_ns)
            self.motion_total[cam] = self.motion_total.get(cam, 0) + 1
        elif isinstance(msg, MotionEnded):
            if cam in self._open_events:
                self._end_event(cam, msg.end_ns, msg.confidence, msg.boxes)
            else:
                self.catalog.add_motion_event(
                    NewMotionEvent(cam, msg.start_ns, msg.end_ns, msg.confidence, msg.boxes)
                )
        elif isinstance(msg, StreamDown):
            if cam not in self._open_gaps:
                self._open_gaps[cam] = (self.catalog.add_gap(cam, msg.at_ns, msg.cause), msg.at_ns)
        elif isinstance(msg, StreamDiscontinuity):
            self.catalog.add_gap(cam, msg.start_ns, msg.cause, max(msg.start_ns, msg.end_ns))
            log.warning("%s: %s; recording continues in a new segment", cam, msg.cause)
        elif isinstance(msg, StreamUp):
            if self._end_gap(cam, msg.at_ns):
                log.info("%s: main stream back; gap closed", cam)
        elif isinstance(msg, Ack):
            with self.lock:
                waiter = self._acks.get(msg.request_id)
            if waiter is not None:
                waiter[1].append(msg)
                waiter[0].set()
        elif isinstance(msg, WriteFailed):
            self._write_failed(handle, msg)
        elif isinstance(msg, WorkerFailed):
            log.error("%s: %s", cam, msg.message)

    def _write_failed(self, handle: WorkerHandle, msg: WriteFailed) -> None:
        """A worker could not write: make room if the disk is full; catalog what reached it."""
        full = msg.errno in (errno.ENOSPC, errno.EDQUOT)
        if full:
            self.reserve.release()  # room for the catalog writes the cleanup needs
            usage = shutil.disk_usage(self.root)
            bitrate_bps = sum(
                h.heartbeat.main.bitrate_bps for h in self.handles.values() if h.heartbeat
            )
            need = max(
                self.config.storage.min_free_bytes - usage.free,
                min(bitrate_bps * 60 / 8, usage.total * EMERGENCY_DISK_FRACTION),
            )
            emergency_free(self.catalog, self.recordings, int(need))
            self._next_retention = 0.0  # and a normal pass right after
        if handle.open_segment and handle.open_segment.file_path == msg.file_path:
            self._recover_open_segment(handle)
        with self.lock:
            self.storage_warning = (
                f"storage full at {time.strftime('%Y-%m-%d %H:%M:%S')}: recording resumed after "
                "an emergency cleanup; lower retention or add disk space"
                if full
                else f"write error on {handle.camera_id}: {msg.message}"
            )

    def _catalog_segment(self, rec: NewRecording, retry: bool = False) -> None:
        """Catalog a closed segment; if the catalog cannot write now (disk full), retry later."""
        try:
            self.catalog.add_recording(rec)
        except (apsw.FullError, apsw.IOError) as err:
            if not retry:
                log.error(
                    "%s: the catalog cannot record %s yet (%s); retrying",
                    rec.camera_id,
                    rec.file_path,
                    err,
                )
            self._unsaved.append(rec)
            self._next_retention = 0.0

    def _maybe_retain(self) -> None:
        """A bounded retention pass every ``storage.retention_check_s`` (sooner with a backlog)."""
        now = time.monotonic()
        if now < self._next_retention:
            return
        unsaved, self._unsaved = self._unsaved, []
        for rec in unsaved:
            self._catalog_segment(rec, retry=True)
        deferred, self._deferred = self._deferred, []
        for index, (handle, message) in enumerate(deferred):
            try:
                self._handle(handle, message)
            except (apsw.FullError, apsw.IOError):
                self._deferred = deferred[index:]  # still full: keep the order, try next tick
                break
            except Exception:
                log.exception(
                    "%s: could not process %s; continuing", handle.camera_id, type(message).__name__
                )
        self.reserve.restore()
        storage = self.config.storage
        self._next_retention = now + storage.retention_check_s
        try:
            collect_garbage(self.catalog, self.recordings)
            todo = plan(
                self.catalog, self.config, time.time_ns(), shutil.disk_usage(self.root).free
            )
            report = apply(self.catalog, self.recordings, todo, max_seconds=RETENTION_SLICE_S)
            stats = self._storage_stats()
        except Exception:
            log.exception("retention pass failed; retrying in %.0f s", storage.retention_check_s)
            return
        if report.remaining:
            self._next_retention = now  # a backlog: continue on the next tick
        unmet = list(todo.unmet)
        if unmet != self.retention_unmet:
            for problem in unmet:
                log.warning("retention: %s", problem)
        with self.lock:
            self.retention, self.retention_unmet, self.storage_stats = report, unmet, stats

    def _storage_stats(self) -> dict[str, dict[str, float]]:
        """Bytes and days of footage kept, per camera (cheap indexed queries)."""
        now_ns = time.time_ns()
        stats = {}
        for camera_id, used in self.catalog.bytes_by_camera().items():
            oldest = self.catalog.recordings(camera_id, limit=1)
            days = (now_ns - oldest[0].start_ns) / 86400e9 if oldest else 0.0
            stats[camera_id] = {"bytes": used, "days_retained": round(days, 3)}
        return stats

    def _end_event(self, cam: str, end_ns: int, confidence: float = 0.0, boxes: tuple = ()) -> None:
        opened = self._open_events.pop(cam, None)
        if opened is not None:
            self.catalog.end_motion_event(opened[0], max(end_ns, opened[1]), confidence, boxes)

    def _end_gap(self, cam: str, end_ns: int) -> bool:
        opened = self._open_gaps.pop(cam, None)
        if opened is not None:
            self.catalog.end_gap(opened[0], max(end_ns, opened[1]))
        return opened is not None

    def _worker_exited(self, handle: WorkerHandle) -> None:
        """Account for a worker that ended, on every path: repair, close rows, maybe restart."""
        self._drain(handle)
        cause = handle.exit_description()
        clean = handle.stopping and handle.exitcode == 0
        ran_s = time.monotonic() - handle.started_mono
        handle.reap()
        FrameRing.remove(handle.spec.ring_name)
        cam = handle.camera_id
        try:
            video_end_ns = self._recover_open_segment(handle)
        except Exception:
            log.exception("%s: could not repair the interrupted segment", cam)
            video_end_ns = None
        now_ns = time.time_ns()
        self._end_event(cam, video_end_ns or now_ns)
        if handle.stopping or self.stop_event.is_set():
            self._end_gap(cam, now_ns)  # no longer supervised: not a camera outage
            if not clean:
                log.warning("%s: worker %s while stopping", cam, cause)
            return
        if cam not in self._open_gaps:
            start_ns = video_end_ns or now_ns
            self._open_gaps[cam] = (
                self.catalog.add_gap(cam, start_ns, f"worker {cause}"),
                start_ns,
            )
        delay = handle.policy.delay_after_exit(ran_s)
        with self.lock:
            handle.last_exit = cause
            handle.restart_at = time.monotonic() + delay
        log.error("%s: worker %s after %.0f s; restarting in %.0f s", cam, cause, ran_s, delay)

    def _recover_open_segment(self, handle: WorkerHandle) -> int | None:
        """Catalog the segment a dead worker left open; returns where its video ends."""
        opened, handle.open_segment = handle.open_segment, None
        if opened is None or self.catalog.recording_by_path(opened.file_path) is not None:
            return None
        rec = recover_segment(
            self.root / "recordings",
            opened.file_path,
            handle.camera_id,
            opened.recording_type,
            opened.start_ns,
        )
        if rec is None:
            return None
        self._catalog_segment(rec)
        self.segments_total[handle.camera_id] = self.segments_total.get(handle.camera_id, 0) + 1
        return rec.end_ns

    def _watchdog(self) -> None:
        now = time.monotonic()
        for handle in list(self.handles.values()):
            if handle.running and not handle.stopping:
                reason = handle.stall_reason(now, handle.spec.camera.timeout_s)
                if reason:
                    log.error("%s: worker hung (%s); killing it", handle.camera_id, reason)
                    handle.kill()
            elif handle.restart_at is not None and now >= handle.restart_at:
                with self.lock:
                    handle.restarts += 1
                    handle.spec = self._spec(handle.spec.camera)
                    try:
                        handle.start()
                    except OSError as err:
                        log.error("%s: cannot start a worker (%s); retrying", handle.camera_id, err)
                        handle.restart_at = now + handle.policy.delay_after_exit(0)

    # -- live reload -------------------------------------------------------------------------

    def _stamp(self) -> tuple[int, int] | None:
        if self.config_path is None:
            return None
        try:
            st = self.config_path.stat()
        except OSError:
            return None
        return (st.st_mtime_ns, st.st_size)

    def _maybe_reload(self, force: bool = False) -> None:
        now = time.monotonic()
        if self.config_path is None or (not force and now < self._next_reload_check):
            return
        self._next_reload_check = now + RELOAD_POLL_S
        stamp = self._stamp()
        if not force and (stamp is None or stamp == self._config_stamp):
            return
        self._config_stamp = stamp
        try:
            new = load_config(self.config_path)
        except ConfigError as err:
            with self.lock:
                self.status.ok, self.status.errors = False, err.errors
                self.status.failed_reloads += 1
            log.error("config edit rejected, the running config stays in force:\n%s", err)
            return
        self.apply_config(new)

    def apply_config(self, new: Config) -> None:
        """Start added cameras, stop removed ones, restart changed ones; others keep running."""
        old = self.config
        needs_restart = [
            name
            for name, a, b in (
                ("storage.path", old.storage.path, new.storage.path),
                ("storage.require_mount", old.storage.require_mount, new.storage.require_mount),
                ("api", old.api, new.api),
            )
            if a != b
        ]
        if needs_restart:  # the rest of storage (budgets, reserve) applies live
            log.warning(
                "config: changes to %s take effect after an engine restart",
                ", ".join(needs_restart),
            )
            storage = new.storage.model_copy(
                update={"path": old.storage.path, "require_mount": old.storage.require_mount}
            )
            new = new.model_copy(update={"storage": storage, "api": old.api})
        self._next_retention = 0.0  # budgets or retention may have changed
        if new.logging.level != old.logging.level:
            logging.getLogger().setLevel(new.logging.level)
        before = {c.id: c for c in old.cameras if c.enabled}
        after = {c.id: c for c in new.cameras if c.enabled}
        removed = [c for c in before if c not in after]
        # Retention is the supervisor's business: editing it never restarts a recording worker.
        changed = [
            c
            for c in after
            if c in before
            and after[c].model_dump(exclude={"retention"})
            != before[c].model_dump(exclude={"retention"})
        ]
        added = [c for c in after if c not in before]
        with self.lock:
            self.config = new
            for cam_id in set(after) & set(before):  # running workers keep their spec's camera
                handle = self.handles.get(cam_id)
                if handle is not None and cam_id not in changed:
                    handle.spec = replace(handle.spec, camera=after[cam_id])
            self.manual &= set(after)
            self.status.ok, self.status.errors = True, []
            self.status.needs_restart = needs_restart
            self.status.loaded_ns = time.time_ns()
            self.status.reloads += 1
        log.info(
            "config reloaded: %d added, %d removed, %d changed, %d untouched",
            len(added),
            len(removed),
            len(changed),
            len(after) - len(added) - len(changed),
        )
        self._stop_cameras(removed + changed)
        for cam_id in changed + added:
            self._start_camera(after[cam_id])

    # -- API-facing, thread-safe -------------------------------------------------------------

    def command(self, msg: UICommandMessage) -> tuple[int, dict[str, Any]]:
        """Run one UI command; returns (HTTP status, JSON body)."""
        base = {
            "command": msg.command,
            "camera_id": msg.camera_id,
            "ui_session_id": msg.ui_session_id,
            "schema_version": msg.schema_version,
        }
        if msg.command == "config_status":
            with self.lock:
                return 200, {**base, "ok": True, "config": self.status.as_dict()}
        if msg.command == "reload_config":
            self._config_stamp = None  # picked up by the main loop within a second
            return 202, {**base, "ok": True, "detail": "reload scheduled"}
        if msg.command in ("start_recording", "stop_recording"):
            targets = self._targets(msg.camera_id)
            if targets is None:
                return 404, {**base, "ok": False, "error": f"unknown camera {msg.camera_id!r}"}
            active = msg.command == "start_recording"
            with self.lock:
                if active:
                    self.manual |= set(targets)
                else:
                    self.manual -= set(targets)
            return self._set_reason(base, targets, "manual", active)
        if msg.command == "panic":
            active = bool(msg.params.get("active", True))
            with self.lock:
                self.panic = active
                targets = list(self.handles)
            log.warning("PANIC recording %s", "started on every camera" if active else "cleared")
            return self._set_reason(base, targets, "panic", active)
        return 400, {
            **base,
            "ok": False,
            "error": f"unknown command {msg.command!r}; see the README's API section",
        }

    def _targets(self, camera_id: str) -> list[str] | None:
        with self.lock:
            if camera_id in ("*", "all", ""):
                return list(self.handles)
            return [camera_id] if camera_id in self.handles else None

    def _set_reason(
        self, base: dict[str, Any], targets: list[str], reason: str, active: bool
    ) -> tuple[int, dict[str, Any]]:
        request_id = next(self._request_ids)
        done = threading.Event()
        acks: list[Ack] = []
        with self.lock:
            self._acks[request_id] = (done, acks)
            handles = [self.handles[c] for c in targets if c in self.handles]
        t0 = time.monotonic()
        try:
            message = SetRecording(request_id, reason, active)
            sent = {h.camera_id for h in handles if h.send(message)}
            deadline = t0 + ACK_TIMEOUT_S
            while len(acks) < len(sent) and time.monotonic() < deadline:
                done.wait(max(0.0, deadline - time.monotonic()))
                done.clear()
        finally:
            with self.lock:
                self._acks.pop(request_id, None)
        ack_ms = round((time.monotonic() - t0) * 1000, 1)
        acked = {a.camera_id: a for a in acks}
        results = {
            c: {"acknowledged": c in acked, "recording": acked[c].recording if c in acked else None}
            for c in targets
        }
        ok = all(r["acknowledged"] for r in results.values())
        body = {**base, "ok": ok, "ack_ms": ack_ms, "cameras": results}
        if not ok:
            body["detail"] = (
                "some cameras did not acknowledge within 2 s (worker offline or "
                "restarting); the request stays in force and applies when they return"
            )
        return (200 if ok else 202), body

    def cameras(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self._camera_health(c) for c in self.config.cameras]

    def _camera_health(self, cam: CameraConfig) -> dict[str, Any]:
        handle = self.handles.get(cam.id)
        hb = handle.heartbeat if handle else None
        if not cam.enabled:
            state = "disabled"
        elif handle is None:
            state = "stopped"
        elif handle.restart_at is not None:
            state = "restarting"
        elif hb is None:
            state = "starting"
        else:
            state = hb.state
        now_ns = time.time_ns()
        analysis = (hb.sub or hb.main) if hb else None
        recording_since = hb.recording_since_ns if hb else None
        return {
            "id": cam.id,
            "name": cam.display_name,
            "enabled": cam.enabled,
            "state": state,
            "pid": handle.pid if handle and handle.running else None,
            "restarts": handle.restarts if handle else 0,
            "last_exit": handle.last_exit if handle else None,
            "error": hb.error if hb else None,
            "fps_in": hb.main.fps if hb else 0.0,
            "fps_out": analysis.fps if analysis else 0.0,
            "bitrate_bps": hb.main.bitrate_bps if hb else 0.0,
            "last_frame_age_s": hb.main.last_age_s if hb else None,
            "main": _stream(hb.main) if hb else None,
            "sub": _stream(hb.sub) if hb and hb.sub else None,
            "recording": {
                "active": bool(hb and hb.recording),
                "type": hb.recording_type if hb else None,
                "since_ns": recording_since,
                "duration_s": round((now_ns - recording_since) / 1e9, 1)
                if recording_since
                else 0.0,
            },
            "manual": cam.id in self.manual,
            "panic": self.panic,
            "motion": bool(hb and hb.motion),
            "mode": cam.record.mode,
            "ring": hb.ring if hb else None,
            "segments": self.segments_total.get(cam.id, 0),
            "motion_events": self.motion_total.get(cam.id, 0),
        }

    def health(self) -> dict[str, Any]:
        cameras = self.cameras()
        usage = shutil.disk_usage(self.root)
        live = sum(1 for c in cameras if c["state"] == "live")
        enabled = sum(1 for c in cameras if c["enabled"])
        with self.lock:
            config = self.status.as_dict()
            storage_stats = dict(self.storage_stats)
            retention = (
                {**dataclasses.asdict(self.retention), "unmet": self.retention_unmet}
                if self.retention
                else None
            )
            horizon = time.monotonic() - WRITE_RATE_WINDOW_S
            while self._written and self._written[0][0] < horizon:
                self._written.popleft()
            written = sum(size for _, size in self._written)
        write_rate_bps = round(written * 8 / WRITE_RATE_WINDOW_S, 1)
        return {
            "status": "ok" if live == enabled and config["ok"] else "degraded",
            "pid": os.getpid(),
            "uptime_s": round((time.time_ns() - self.started_ns) / 1e9, 1),
            "panic": self.panic,
            "config": config,
            "recovery": self.recovery.as_dict(),
            "storage": {
                "warning": self.storage_warning,
                "min_free_bytes": self.config.storage.min_free_bytes,
                "max_bytes": self.config.storage.max_bytes,
                "recordings_bytes": sum(s["bytes"] for s in storage_stats.values()),
                "cameras": storage_stats,
                "write_rate_bps": write_rate_bps,
                "retention": retention,
                "path": str(self.root),
                "id": self.storage_id,
                "free_bytes": usage.free,
                "total_bytes": usage.total,
                "used_bytes": usage.used,
            },
            "cameras": {c["id"]: c for c in cameras},
        }

    def write_run_file(self, api_url: str) -> Path:
        """``<storage>/run/engine.json``: how the console and tools find this engine."""
        path = self.root / "run" / "engine.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "pid": os.getpid(),
                    "api": api_url,
                    "instance": self.instance,
                    "config": self.status.path,
                    "started_ns": self.started_ns,
                }
            )
        )
        return path


def _stream(stats: Any) -> dict[str, Any]:
    return {
        "connected": stats.connected,
        "fps": stats.fps,
        "bitrate_bps": stats.bitrate_bps,
        "last_age_s": stats.last_age_s,
        "width": stats.width,
        "height": stats.height,
        "codec": stats.codec,
    }
