"""The supervisor: one loop thread that hands each concern to the object that owns it.

Each turn of ``Supervisor.run``: wait for worker messages, worker exits or a command (at most
``TICK_S``); hand messages to the dispatcher and commands to the desk; let the pool's watchdog
kill hung workers and restart dead ones; apply an edited config; give the storage keeper its
retention pass when due; publish the health, and let the alarm desk raise or end the alarms it
shows. All of the engine's state is owned by this thread; the API's threads only read what was
published (the ``Health``, the alarms, the event stream) and queue commands.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from nvr.clock import SYSTEM_CLOCK, Clock
from nvr.config import CameraConfig, Config
from nvr.config_edit import parse_edits
from nvr.errors import CatalogFullError, RequestError, UnknownCameraError
from nvr.frames.ring import instance_id, ring_name
from nvr.protocol.alarms import AlarmList, EventBatch
from nvr.protocol.commands import Command, CommandReply
from nvr.protocol.health import Health
from nvr.protocol.worker import UpdateCamera
from nvr.storage.catalog import Catalog
from nvr.storage.checks import check_storage, lock_storage, loose_modes, share_with_group
from nvr.storage.recovery import recover_storage
from nvr.storage.retention import collect_garbage
from nvr.supervisor.alarms import AlarmDesk
from nvr.supervisor.backfill import ThumbnailBackfill
from nvr.supervisor.commands import CommandDesk, Workers
from nvr.supervisor.config_keeper import FILE_EDIT, ConfigKeeper
from nvr.supervisor.dispatch import Dispatcher
from nvr.supervisor.events import EventBoard
from nvr.supervisor.health import HealthBoard, camera_status, engine_health
from nvr.supervisor.ledger import Ledger
from nvr.supervisor.maintenance import CatalogMaintenance
from nvr.supervisor.reload import ConfigWatcher, diff
from nvr.supervisor.storage import StorageKeeper, file_size
from nvr.supervisor.usage import UsageMeter
from nvr.supervisor.worker_history import WorkerHistory
from nvr.supervisor.workers import WorkerHandle, WorkerPool
from nvr.worker.process import WorkerSpec

log = logging.getLogger(__name__)

TICK_S = 0.5
PUBLISH_S = 0.25  # the health is published at most this often (and after every command)
PROTECT_AHEAD_NS = 3600 * 10**9  # how far past now a protected range may reach
CATALOG_SIZE_S = 2.0  # how often the catalog's size on disk is read for the health


class Supervisor:
    """Runs the engine for one configuration until ``request_stop``.

    Thread-safe for the API: ``health``, ``health_json`` and ``submit``; the rest runs in the
    thread that called ``run``.
    """

    def __init__(
        self,
        config: Config,
        config_path: Path | None,
        clock: Clock = SYSTEM_CLOCK,
        history: WorkerHistory | None = None,
    ) -> None:
        """``history``: the workers' last hour kept by the engine this one replaces (a
        restore restarts the supervisor; the charts go on)."""
        self.config = config
        self.clock = clock
        self.root = Path(config.storage.path)
        storage_id = check_storage(self.root, config.storage.require_mount)
        self._lock_fd = lock_storage(self.root)  # before anything is repaired or replaced
        log.info("storage %s (id %s)", self.root, storage_id)
        if config.storage.group:
            share_with_group(self.root, config.storage.group)
        loose = loose_modes(self.root, config.logging.log_dir(self.root))
        if loose:
            log.warning(
                "footage and the catalog are readable or writable by other users: %s; make "
                "them private (chmod -R o-rwx,g-w %s) or share them with storage.group",
                ", ".join(loose[:5]) + (", ..." if len(loose) > 5 else ""),
                self.root,
            )
        self.instance = instance_id(self.root)
        self.catalog = Catalog(self.root / "catalog.db")
        events, gaps = self.catalog.close_dangling(clock.wall_ns())
        if events or gaps:
            log.warning(
                "closed %d motion event(s) and %d gap(s) left open by the last run", events, gaps
            )
        recordings = self.root / "recordings"
        # Finish interrupted deletions first, or orphan indexing would resurrect their files.
        collect_garbage(self.catalog, recordings)
        self.recovery = recover_storage(self.catalog, recordings)
        self.started_ns = clock.wall_ns()
        self.maintenance = CatalogMaintenance(self.catalog.path)
        self.events = EventBoard()
        self.usage = UsageMeter()
        self.history = history or WorkerHistory()
        self.alarms = AlarmDesk(self.catalog, self.events, self.started_ns)
        self.stop_event = threading.Event()
        self.watcher = ConfigWatcher(config_path, clock)
        self.keeper = StorageKeeper(self.root, self.catalog, storage_id, clock)
        self.ledger = Ledger(self.catalog, recordings)
        self.backfill = ThumbnailBackfill(self.catalog.path, recordings)
        enabled = [c.id for c in config.cameras if c.enabled]
        self._cataloged(lambda: self.ledger.open_run(enabled, clock.wall_ns()), "the downtime")
        self.pool = WorkerPool(self._spec, clock)
        workers = Workers(
            cameras=lambda: list(self.pool.handles),
            disabled=lambda: [c.id for c in self.config.cameras if not c.enabled],
            send=lambda camera_id, message: self.pool.handles[camera_id].send(message),
            config_status=lambda: self.watcher.status,
            reload=self.watcher.request,
            restart=lambda camera_id, who: self._restarts_due.append((camera_id, who)),
            maintain=lambda: self.maintenance.request(),
            edit_config=self._edit_config,
            protect=self._protect,
            ptz_timeout=self._ptz_timeout,
        )
        self._restarts_due: list[tuple[str, str]] = []  # asked by commands, done by the loop
        self._config_due: Config | None = None  # saved by a command, put in force by the loop
        self.config_keeper = ConfigKeeper(config_path, self.catalog, clock)
        self._in_force("engine start")
        self.desk = CommandDesk(workers, clock, self.alarms)
        self.dispatcher = Dispatcher(
            self.ledger, self.desk, self.keeper, self.pool, lambda: self.config, clock
        )
        self._catalog_bytes, self._catalog_sized_at = 0, -CATALOG_SIZE_S
        self.board = HealthBoard(self._health())
        self._published_at = 0.0
        self._ack_due_s: float | None = None

    # -- thread-safe -------------------------------------------------------------------------

    def health(self) -> Health:
        return self.board.latest()

    def health_json(self) -> bytes:
        return self.board.latest_json()

    def submit(self, command: Command) -> tuple[int, CommandReply]:
        return self.desk.submit(command)

    def alarm_list(self) -> AlarmList:
        return self.alarms.current()

    def worker_history(self, camera_id: str | None) -> dict[str, Any]:
        return self.history.document(camera_id)

    def events_after(self, after: int) -> EventBatch:
        return self.events.since(after)

    def events_ready(self, after: int) -> bool:
        return self.events.ready(after)

    def request_stop(self) -> None:
        self.stop_event.set()

    @property
    def catalog_path(self) -> Path:
        return self.catalog.path

    @property
    def log_dir(self) -> Path:
        return self.config.logging.log_dir(self.root)

    @property
    def config_file(self) -> Path | None:
        return self.config_keeper.path

    def config_in_force(self) -> Config:
        return self.config  # replaced whole by the loop, never changed in place

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        """Start every enabled camera and supervise until ``request_stop`` is called."""
        log.info("engine starting: %d camera(s), storage %s", len(self.config.cameras), self.root)
        for cam in self.config.cameras:
            if cam.enabled:
                self.pool.start(cam)
        self.backfill.start()
        self.maintenance.start()
        try:
            while not self.stop_event.is_set():
                self._poll(min(TICK_S, self._ack_due_s or TICK_S))
                self.pool.watchdog()
                self._restart_asked()
                self._config_saved()
                new = self.watcher.poll()
                if new is not None:
                    self._apply(new)
                    self._in_force(FILE_EDIT)
                self._keep_storage()
        finally:
            self.desk.stopping()
            self.backfill.stop()
            self.maintenance.stop()
            self._stop(list(self.pool.handles))
            self.desk.close()
            self._cataloged(lambda: self.ledger.close_run(self.clock.wall_ns()), "the stop")
            self.catalog.close()
            os.close(self._lock_fd)
            log.info("engine stopped")

    def _poll(self, timeout: float) -> None:
        """Handle worker messages, worker exits and commands, waiting up to ``timeout``."""
        waitables = self.pool.waitables()
        ready = wait([*waitables, self.desk.wakeup_fd], timeout)
        for handle in {id(h): h for r in ready if (h := waitables.get(r))}.values():
            self.dispatcher.drain(handle)
            if handle.running and handle.process is not None and not handle.process.is_alive():
                self._worker_exited(handle)
        self.desk.run_queued()
        self._ack_due_s = self.desk.expire()
        # Replies go out after the health that shows what they did.
        self._publish(force=self.desk.replies_ready)
        self.desk.deliver()

    def _worker_exited(self, handle: WorkerHandle) -> None:
        """Account for a worker that ended, on every path: repair, close rows, maybe restart."""
        self.dispatcher.drain(handle)
        cause = handle.exit_description()
        clean = handle.stopping and handle.exitcode == 0
        ran_s = self.clock.monotonic() - handle.started_mono
        handle.reap()
        cam = handle.camera_id
        opened, handle.open_segment = handle.open_segment, None
        video_end_ns = None
        try:
            video_end_ns = self.ledger.repair(opened) if opened else None
        except Exception:
            log.exception("%s: could not repair the interrupted segment", cam)
        now_ns = self.clock.wall_ns()
        supervised = not (handle.stopping or self.stop_event.is_set())

        def account() -> None:
            self.ledger.end_event(cam, video_end_ns or now_ns)
            if supervised:
                start_ns = video_end_ns or now_ns
                self.ledger.open_gap(cam, start_ns, f"worker {cause}", "worker_exit")
            else:
                self.ledger.end_gap(cam, now_ns)  # no longer supervised: not a camera outage

        self._cataloged(account, f"the end of worker {handle.pid}")
        if not supervised:
            if not clean:
                log.warning("%s: worker %s while stopping", cam, cause)
            return
        delay = self.pool.schedule_restart(handle, cause)
        log.error("%s: worker %s after %.0f s; restarting in %.0f s", cam, cause, ran_s, delay)

    def _apply(self, new: Config) -> None:
        """Start added cameras, stop removed ones, restart changed ones; others keep running."""
        change = diff(self.config, new)
        if change.config.logging.level != self.config.logging.level:
            logging.getLogger().setLevel(change.config.logging.level)
        self.config = change.config
        cameras = {c.id: c for c in change.config.cameras if c.enabled}
        for cam_id in (*change.untouched, *change.updated):  # workers that keep running
            handle = self.pool.handles.get(cam_id)
            if handle is not None:  # a restart later gets the new config from the spec
                handle.spec = replace(handle.spec, camera=cameras[cam_id])
                if cam_id in change.updated:
                    handle.send(UpdateCamera(cameras[cam_id]))
        self.desk.forget_cameras(set(cameras))
        self.keeper.run_soon()  # budgets or retention may have changed
        self.watcher.applied(change)
        stopped_ns = self.clock.wall_ns()
        crashes = {c: h.restarts for c, h in self.pool.handles.items() if c in change.changed}
        self._stop([*change.removed, *change.changed])
        for cam_id in change.changed:
            self._restart_gap(cam_id, stopped_ns, "restarted to apply a config change")
        for cam_id in (*change.changed, *change.added):
            self.pool.start(cameras[cam_id], crashes.get(cam_id, 0))

    def _edit_config(self, command: Command) -> None:
        """Save the config a command edited or reverted (refused with the keys named when it
        does not validate); ``_config_saved`` puts it in force in the loop's next step."""
        params = command.params
        by = params.get("by") or command.ui_session_id or "an unnamed client"
        if command.command == "save_config":
            edits = parse_edits(params["edits"])
            new = self.config_keeper.save(
                edits, params.get("base_sha256"), by, params.get("note", "")
            )
        else:
            new = self.config_keeper.revert(params["version"], params.get("base_sha256"), by)
        self.watcher.adopt()
        self._config_due = new

    def _config_saved(self) -> None:
        if self._config_due is None:
            return
        new, self._config_due = self._config_due, None
        self._apply(new)
        self._in_force(FILE_EDIT)
        self.desk.config_applied(self.watcher.status)
        self._publish(force=True)
        self.desk.deliver()

    def _in_force(self, by: str) -> None:
        """Record the file in force in the config history (if it is new) and say its version."""
        try:
            version = self.config_keeper.noticed(by)
        except CatalogFullError as err:
            log.error("the config history misses the configuration in force (%s)", err)
            return
        if version is not None:
            self.watcher.in_force(version.version, version.saved_by, version.sha256)

    def _protect(self, command: Command) -> int:
        """Protect (or release) the camera's range: its recordings now, and the segment being
        written when it overlaps (flagged as it is catalogued)."""
        params = command.params
        protected = bool(params["protected"])
        camera_id = command.camera_id
        assert camera_id is not None  # the protocol requires it
        known = self.config.camera(camera_id) is not None
        if not known and not self.catalog.recordings(
            camera_id, params["start_ns"], params["end_ns"]
        ):
            raise UnknownCameraError(f"no camera {camera_id!r} and no recording of it")
        if protected and params["end_ns"] > self.clock.wall_ns() + PROTECT_AHEAD_NS:
            raise RequestError(
                "a protected range ends at most an hour from now: protection keeps footage, "
                "it does not reserve the disk for the future"
            )
        who = command.ui_session_id or "an unnamed client"
        changed = self.catalog.protect_range(
            camera_id, params["start_ns"], params["end_ns"], protected, who
        )
        log.warning(
            "%s: %d recording(s) %s by %s",
            camera_id,
            changed,
            "protected" if protected else "released from protection",
            who,
        )
        return changed

    def _ptz_timeout(self, camera_id: str) -> float | None:
        cam = self.config.camera(camera_id)
        return cam.onvif.timeout_s if cam is not None and cam.onvif is not None else None

    def _restart_asked(self) -> None:
        """Restart the workers commands asked for (out of the command's own turn: stopping a
        worker runs the loop, which must not run that command again)."""
        due, self._restarts_due = self._restarts_due, []
        cameras = {c.id: c for c in self.config.cameras if c.enabled}
        for camera_id, who in dict.fromkeys(due):
            cam = cameras.get(camera_id)
            if cam is None or camera_id not in self.pool.handles:
                continue
            log.warning("%s: worker restarted by %s", camera_id, who)
            stopped_ns = self.clock.wall_ns()
            old = self.pool.handles[camera_id]
            self._stop([camera_id])
            self._restart_gap(camera_id, stopped_ns, f"worker restarted by {who}")
            self.pool.start(cam)
            new = self.pool.handles[camera_id]  # its crash count goes on; the restart is said
            new.restarts, new.policy = old.restarts, old.policy
            new.last_exit = f"restarted by {who} at {datetime.now():%H:%M:%S}"

    def _restart_gap(self, camera_id: str, at_ns: int, cause: str) -> None:
        """The hole a deliberate worker restart leaves, until the new worker has its stream."""
        self._cataloged(
            lambda: self.ledger.open_gap(camera_id, at_ns, cause, "worker_restart"),
            f"{camera_id}'s restart",
        )

    def _stop(self, camera_ids: list[str]) -> None:
        self.pool.stop(camera_ids, self._poll, self._worker_exited)

    def _keep_storage(self) -> None:
        """A retention pass when due: first the writes a full disk refused, in order."""
        self._cataloged(lambda: self.ledger.alive(self.clock.wall_ns()), "the engine's run")
        self._cataloged(lambda: self.backfill.collect(self.catalog), "thumbnails")
        if self.ledger.backlog:
            self.keeper.run_soon()
        if self.keeper.due():
            self.ledger.retry()
            self.dispatcher.replay()
            self.keeper.run_pass(self.config, self.pool.bitrate_bps())

    def _cataloged(self, write: Callable[[], object], what: str) -> None:
        """A catalog write the loop must survive: a full disk logs, never stops supervision."""
        try:
            write()
        except CatalogFullError as err:
            log.error("%s is not cataloged (%s)", what, err)

    def _spec(self, cam: CameraConfig) -> WorkerSpec:
        logging_cfg = self.config.logging
        return WorkerSpec(
            camera=cam,
            storage_root=str(self.root),
            ring_name=ring_name(self.instance, cam.id),
            log_dir=str(logging_cfg.log_dir(self.root)),
            log_level=logging_cfg.level,
            keep_days=logging_cfg.keep_days,
            manual=cam.id in self.desk.manual,
            panic=self.desk.panic,
        )

    # -- health ------------------------------------------------------------------------------

    def _publish(self, force: bool = False) -> None:
        now = self.clock.monotonic()
        if force or now - self._published_at >= PUBLISH_S:
            self._published_at = now
            try:
                health = self._health()
                self.board.publish(health)
            except Exception:  # the last health stays up; recording goes on
                log.exception("cannot build the health document; the last one stays published")
                return
            now_ns = self.clock.wall_ns()
            self.history.sample(health, now, now_ns)
            try:
                self.alarms.evaluate(health, self.config, now_ns, _local(now_ns))
            except Exception:  # alarms must never stop recording
                log.exception("cannot evaluate the alarms; they stay as they were")

    def _catalog_size(self, mono: float) -> int:
        """The catalog and its WAL, in bytes, read every ``CATALOG_SIZE_S`` (not each publish)."""
        if mono - self._catalog_sized_at >= CATALOG_SIZE_S:
            self._catalog_sized_at = mono
            path = self.catalog.path
            self._catalog_bytes = file_size(path) + file_size(Path(f"{path}-wal"))
        return self._catalog_bytes

    def _health(self) -> Health:
        now_ns, mono = self.clock.wall_ns(), self.clock.monotonic()
        ledger, desk, handles = self.ledger, self.desk, self.pool.handles
        running = {c: h for c, h in handles.items() if h.running and h.pid is not None}
        usage = self.usage.sample([os.getpid(), *(h.pid for h in running.values() if h.pid)])
        cameras = [
            camera_status(
                cam,
                handles.get(cam.id),
                now_ns,
                _local(now_ns),
                manual=cam.id in desk.manual,
                panic=desk.panic,
                segments=ledger.segments_total.get(cam.id, 0),
                motion_events=ledger.motion_total.get(cam.id, 0),
                usage=usage.get(h.pid) if (h := running.get(cam.id)) and h.pid else None,
                uptime_s=mono - h.started_mono if (h := running.get(cam.id)) else 0.0,
            )
            for cam in self.config.cameras
        ]
        measured = len(usage) == 1 + len(running)  # the engine's total only when whole
        return engine_health(
            cameras,
            uptime_s=(now_ns - self.started_ns) / 1e9,
            panic=desk.panic,
            config_status=self.watcher.status,
            recovery=self.recovery,
            storage=self.keeper.status(
                self.config,
                self.pool.recording_bps(),
                tuple(h.open_segment.file_path for h in handles.values() if h.open_segment),
            ),
            usage=list(usage.values()) if measured else None,
            catalog_bytes=self._catalog_size(mono),
            catalog_check=self.maintenance.last,
        )


def _local(now_ns: int) -> datetime:
    """Local wall time, as schedules are written."""
    return datetime.fromtimestamp(now_ns / 1e9)
