"""Worker processes as the supervisor sees them: start, stop, restart with backoff."""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from dataclasses import dataclass, field
from multiprocessing.context import BaseContext

from nvr.protocol.worker import Heartbeat, SegmentOpened, StopWorker
from nvr.worker.process import WorkerSpec, worker_main

log = logging.getLogger(__name__)

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0
STABLE_RUN_S = 60.0  # a worker alive this long has its backoff reset
HEARTBEAT_TIMEOUT_S = 10.0  # no heartbeat for this long: the worker is hung, kill it
STUCK_LOOP_S = 30.0  # main loop without progress (not even a reconnect attempt): kill it

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
        if ran_s >= STABLE_RUN_S:
            self.failures = 0
        delay = min(BACKOFF_CAP_S, BACKOFF_BASE_S * 2**self.failures)
        self.failures += 1
        return delay


@dataclass
class WorkerHandle:
    """One camera's worker process, its pipe, and what it last reported."""

    spec: WorkerSpec
    process: multiprocessing.process.BaseProcess | None = None
    conn: multiprocessing.connection.Connection | None = None
    started_mono: float = 0.0
    heartbeat: Heartbeat | None = None
    heartbeat_mono: float = 0.0
    restarts: int = 0
    last_exit: str | None = None
    restart_at: float | None = None  # monotonic time of a scheduled restart
    stopping: bool = False
    running: bool = False  # started and its exit not yet handled (main thread's view)
    pid: int | None = None
    exitcode: int | None = None
    open_segment: SegmentOpened | None = None  # the file to repair if the worker dies
    policy: RestartPolicy = field(default_factory=RestartPolicy)
    send_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def camera_id(self) -> str:
        return self.spec.camera.id

    def start(self) -> None:
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
        self.started_mono = self.heartbeat_mono = time.monotonic()
        self.heartbeat = None
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
        if now - self.heartbeat_mono > HEARTBEAT_TIMEOUT_S:
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
