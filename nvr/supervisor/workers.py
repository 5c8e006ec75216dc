"""Worker processes as the supervisor sees them: start, stop, watchdog, restart with backoff."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext
from typing import Any

from nvr.clock import Clock
from nvr.config import CameraConfig
from nvr.frames.ring import FrameRing
from nvr.protocol.health import PtzStatus
from nvr.protocol.worker import Heartbeat, SegmentOpened, StopWorker
from nvr.worker.process import WorkerSpec, worker_main

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0
RESTART_STABLE_S = 60.0  # a worker alive this long has its restart backoff reset
HEARTBEAT_TIMEOUT_S = 10.0  # no heartbeat for this long: the worker is hung, kill it
# Before its first: a cold start compiles the native kernels (9 s measured on a loaded 2-core
# machine), and a worker killed then would lose its first seconds for nothing.
FIRST_HEARTBEAT_S = 30.0
STUCK_LOOP_S = 30.0  # main loop without progress (not even a reconnect attempt): kill it
STOP_TIMEOUT_S = 10.0  # a worker asked to stop gets this long before SIGKILL
KILL_TIMEOUT_S = 5.0  # and this long after SIGKILL before it is abandoned

_context: BaseContext | None = None


def worker_context() -> BaseContext:
    """A forkserver with the heavy modules preloaded on Linux (workers share pages); spawn else."""
    global _context
    if _context is None:
        if sys.platform.startswith("linux"):
            _context = multiprocessing.get_context("forkserver")
            _context.set_forkserver_preload(["nvr.worker.warmup", "nvr.worker.process"])
        else:
            _context = multiprocessing.get_context("spawn")
    return _context


@dataclass(slots=True)
class RestartPolicy:
    """Capped exponential backoff that resets after a stable run."""

    failures: int = 0

    def delay_after_exit(self, ran_s: float) -> float:
        if ran_s >= RESTART_STABLE_S:
            self.failures = 0
        delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**self.failures)
        self.failures += 1
        return delay


@dataclass
class WorkerHandle:
    """One camera's worker process, its pipe, and what it last reported.

    Times are the supervisor clock's monotonic seconds."""

    spec: WorkerSpec
    process: multiprocessing.process.BaseProcess | None = None
    conn: multiprocessing.connection.Connection | None = None
    started_mono: float = 0.0
    heartbeat: Heartbeat | None = None
    heartbeat_mono: float = 0.0
    restarts: int = 0
    last_exit: str | None = None
    restart_at: float | None = None  # when a scheduled restart is due
    stopping: bool = False
    running: bool = False  # started and its exit not yet handled (main thread's view)
    pid: int | None = None
    exitcode: int | None = None
    open_segment: SegmentOpened | None = None  # the file to repair if the worker dies
    ptz: PtzStatus | None = None  # the camera's PTZ as its worker last reported it
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    send_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def camera_id(self) -> str:
        return self.spec.camera.id

    def start(self, now: float) -> None:
        ctx = worker_context()
        parent, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(  # type: ignore[attr-defined]
            target=worker_main,
            args=(self.spec, child),
            name=f"worker-{self.camera_id}",
            daemon=False,
        )
        self.process.start()
        child.close()
        self.conn = parent
        self.pid, self.exitcode, self.running = self.process.pid, None, True
        self.open_segment = None
        self.started_mono = self.heartbeat_mono = now
        self.heartbeat = None
        self.ptz = None
        self.restart_at = None
        self.stopping = False
        log.info("%s: worker started (pid %s)", self.camera_id, self.process.pid)

    def send(self, message: object) -> bool:
        with self.send_lock:
            if self.conn is None:
                return False
            try:
                self.conn.send(message)
                return True
            except (BrokenPipeError, OSError):
                return False

    def request_stop(self) -> None:
        self.stopping = True
        self.restart_at = None
        if self.running and not self.send(StopWorker()):
            self._signal(signal.SIGTERM)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def _signal(self, sig: signal.Signals) -> None:
        """Signal our own worker, only while its exit is unhandled (its pid cannot be reused)."""
        if self.running and self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def exit_description(self) -> str:
        code = self.process.exitcode if self.process is not None else None
        self.exitcode = code
        if code is None:
            return "still running"
        if code < 0:
            try:
                return f"killed by {signal.Signals(-code).name}"
            except ValueError:
                return f"killed by signal {-code}"
        return f"exited with code {code}"

    def stall_reason(self, now: float, timeout_s: float) -> str | None:
        """Why a running worker should be killed, or None while it is healthy."""
        limit = HEARTBEAT_TIMEOUT_S if self.heartbeat is not None else FIRST_HEARTBEAT_S
        if now - self.heartbeat_mono > limit:
            return f"no heartbeat for {now - self.heartbeat_mono:.0f} s"
        hb = self.heartbeat
        if hb is not None and hb.loop_age_s > max(STUCK_LOOP_S, 3 * timeout_s):
            return f"main loop stuck for {hb.loop_age_s:.0f} s"
        return None

    def reap(self) -> None:
        """Forget the exited process: close the pipe (not under a concurrent send), join."""
        with self.send_lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None
        if self.process is not None:
            self.process.join(timeout=1)
        self.running = False
        FrameRing.remove(self.spec.ring_name)


class WorkerPool:
    """Every started camera's worker by camera id; used from the supervisor's loop thread only.

    ``spec_for`` makes a camera's worker spec at each (re)start, so a restarted worker gets the
    recording requests in force then.
    """

    def __init__(self, spec_for: Callable[[CameraConfig], WorkerSpec], clock: Clock) -> None:
        self.handles: dict[str, WorkerHandle] = {}
        self._spec_for = spec_for
        self._clock = clock

    def start(self, cam: CameraConfig, restarts: int = 0) -> None:
        """Start the camera's worker; ``restarts``: its crash count so far (a worker restarted
        on purpose keeps it)."""
        handle = WorkerHandle(self._spec_for(cam))
        handle.restarts = restarts
        FrameRing.remove(handle.spec.ring_name)
        self.handles[cam.id] = handle
        handle.start(self._clock.monotonic())

    def waitables(self) -> dict[Any, WorkerHandle]:
        """The pipe and the process sentinel of every running worker, to ``wait`` on."""
        out: dict[Any, WorkerHandle] = {}
        for handle in self.handles.values():
            if handle.running and handle.conn is not None and handle.process is not None:
                out[handle.conn] = handle
                out[handle.process.sentinel] = handle
        return out

    def bitrate_bps(self) -> float:
        """Main-stream bitrate of every camera, as last reported."""
        return sum(h.heartbeat.main.bitrate_bps for h in self.handles.values() if h.heartbeat)

    def recording_bps(self) -> float:
        """Main-stream bitrate of the cameras writing a segment now."""
        return sum(
            h.heartbeat.main.bitrate_bps
            for h in self.handles.values()
            if h.heartbeat and h.heartbeat.recording
        )

    def schedule_restart(self, handle: WorkerHandle, cause: str) -> float:
        """After an unplanned exit: restart after a backoff; returns the delay in seconds."""
        now = self._clock.monotonic()
        delay = handle.policy.delay_after_exit(now - handle.started_mono)
        handle.last_exit = cause
        handle.restart_at = now + delay
        return delay

    def watchdog(self) -> None:
        """Kill hung workers; start those whose restart is due."""
        now = self._clock.monotonic()
        for handle in list(self.handles.values()):
            if handle.running and not handle.stopping:
                reason = handle.stall_reason(now, handle.spec.camera.timeout_s)
                if reason:
                    log.error("%s: worker hung (%s); killing it", handle.camera_id, reason)
                    handle.kill()
            elif handle.restart_at is not None and now >= handle.restart_at:
                handle.restarts += 1
                handle.spec = self._spec_for(handle.spec.camera)
                try:
                    handle.start(now)
                except OSError as err:
                    log.error("%s: cannot start a worker (%s); retrying", handle.camera_id, err)
                    handle.restart_at = now + handle.policy.delay_after_exit(0)

    def stop(
        self,
        camera_ids: list[str],
        poll: Callable[[float], None],
        abandon: Callable[[WorkerHandle], None],
    ) -> None:
        """Stop workers gracefully, then forget them. ``poll`` handles their messages and exits
        meanwhile (their last segments are cataloged); one that outlives SIGKILL (stuck in
        uninterruptible I/O) is handed to ``abandon``."""
        handles = [self.handles[c] for c in camera_ids if c in self.handles]
        for handle in handles:
            handle.request_stop()
        deadline = self._clock.monotonic() + STOP_TIMEOUT_S
        killed = False
        while any(h.running for h in handles):
            poll(0.2)
            if self._clock.monotonic() < deadline:
                continue
            stuck = [h for h in handles if h.running]
            if killed:
                for handle in stuck:
                    log.error(
                        "%s: worker pid %s ignores SIGKILL; abandoning it",
                        handle.camera_id,
                        handle.pid,
                    )
                    abandon(handle)
                break
            for handle in stuck:
                log.warning(
                    "%s: worker did not stop in %.0f s; killing it",
                    handle.camera_id,
                    STOP_TIMEOUT_S,
                )
                handle.kill()
            killed, deadline = True, self._clock.monotonic() + KILL_TIMEOUT_S
        for handle in handles:
            if self.handles.get(handle.camera_id) is handle:
                del self.handles[handle.camera_id]
