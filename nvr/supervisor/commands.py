"""User commands, run in the supervisor's loop thread.

An API thread hands a ``Command`` to ``CommandDesk.submit`` and waits; the loop picks it up
(``run_queued``, woken through ``wakeup_fd``), tells the workers, collects their
acknowledgements (``on_ack``) and, once every camera answered or ``ACK_TIMEOUT_S`` passed,
publishes the new health and hands the reply back (``deliver``). The recording requests in
force (manual cameras, panic) live here and nowhere else, so a restarted worker gets them.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from nvr.clock import Clock
from nvr.errors import (
    ConflictError,
    EngineBusyError,
    NvrError,
    RequestError,
    UnknownCameraError,
)
from nvr.protocol.commands import PTZ_COMMANDS, CameraAck, Command, CommandReply, alarm_ids
from nvr.protocol.health import ConfigStatus
from nvr.protocol.worker import Ack, PtzReply, PtzRequest, SetRecording, WatchMain
from nvr.supervisor.alarms import AlarmDesk
from nvr.worker.ptz import RENAME_WAIT_S

log = logging.getLogger(__name__)

ACK_TIMEOUT_S = 2.0
PICKUP_TIMEOUT_S = 5.0  # a loop that does not pick a command up this long: refused, not run
APPLY_TIMEOUT_S = 20.0  # a saved config is in force once the workers it restarts have stopped
PTZ_WAIT_MAX_S = 50.0  # a rename: three calls of onvif.timeout_s (10 s) and the camera's travel
_PTZ_ACTIONS = {
    "ptz_move": "move",
    "ptz_stop": "stop",
    "ptz_center": "center",
    "ptz_goto_preset": "goto",
    "ptz_save_preset": "save",
    "ptz_remove_preset": "remove",
    "ptz_rename_preset": "rename",
}
NOT_ACKNOWLEDGED = (
    "some cameras did not acknowledge within 2 s (worker offline or restarting); "
    "the request stays in force and applies when they return"
)


_STOPPING = EngineBusyError("the engine is stopping; send the command again once it runs")


@dataclass(eq=False)
class _Job:
    """One command on its way through the loop."""

    command: Command
    submitted: float  # monotonic
    done: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"  # queued -> running -> done, or queued -> cancelled
    targets: list[str] = field(default_factory=list)
    acks: dict[str, Ack] = field(default_factory=dict)
    expected: set[str] = field(default_factory=set)  # cameras the message reached
    request_id: int = 0
    reply: tuple[int, CommandReply] | None = None
    deadline: float | None = None  # when it is answered without its camera (else the ack's)


@dataclass(frozen=True, slots=True)
class Workers:
    """What the desk needs of the running workers (given by the supervisor)."""

    cameras: Callable[[], list[str]]  # cameras with a worker
    disabled: Callable[[], list[str]]  # cameras the configuration keeps idle (no worker)
    send: Callable[[str, object], bool]  # a message to one camera's worker; False if not sent
    config_status: Callable[[], ConfigStatus]
    reload: Callable[[], None]
    restart: Callable[[str, str], None]  # a camera's worker, for whom: done by the loop next
    maintain: Callable[[], None]  # the catalog's maintenance, now (on its own thread)
    edit_config: Callable[[Command], None]  # save or revert; put in force by the loop next
    protect: Callable[[Command], int]  # protect or release a range; the recordings changed
    ptz_timeout: Callable[[str], float | None]  # a camera's onvif.timeout_s; None: no PTZ


class CommandDesk:
    def __init__(self, workers: Workers, clock: Clock, alarms: AlarmDesk) -> None:
        self.manual: set[str] = set()
        self.panic = False
        self._workers = workers
        self._clock = clock
        self._alarms = alarms
        self._queue: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()  # a job's state, between the API thread and the loop
        self._waiting: dict[int, _Job] = {}  # by request id, until acknowledged or expired
        self._done: list[_Job] = []
        self._applying: list[_Job] = []  # config saves written, answered once in force
        self._ids = itertools.count(1)
        self._closed = False
        self._refusing = False  # stopping: queued commands are refused, not run
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)

    @property
    def wakeup_fd(self) -> int:
        """Readable when a command waits to be run: ``wait`` on it in the loop."""
        return self._wake_r

    def stopping(self) -> None:
        """The engine is stopping: commands not yet run are refused from now on."""
        with self._lock:
            self._refusing = True

    def close(self) -> None:
        """The engine stops: answer what waits for acknowledgements, refuse what is queued."""
        with self._lock:
            self._closed = True
            os.close(self._wake_r)
            os.close(self._wake_w)
        for job in list(self._waiting.values()):
            self._answer(job)
        saved = EngineBusyError(
            "the configuration was saved, but the engine stopped before putting it in force; "
            "it applies when the engine starts"
        )
        for job in self._applying:
            self._finish(job, saved.http_status, _refused(job.command, saved))
        self._applying = []
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            self._finish(job, _STOPPING.http_status, _refused(job.command, _STOPPING))
        self.deliver()

    # -- API threads -------------------------------------------------------------------------

    def submit(self, command: Command) -> tuple[int, CommandReply]:
        """Run ``command`` in the loop; the HTTP status and reply (blocks up to a few seconds)."""
        job = _Job(command, self._clock.monotonic())
        with self._lock:
            if self._closed:
                return _STOPPING.http_status, _refused(command, _STOPPING)
            self._queue.put(job)
            with contextlib.suppress(BlockingIOError):  # the pipe is full of wake-ups already
                os.write(self._wake_w, b"c")
        if not job.done.wait(PICKUP_TIMEOUT_S):
            with self._lock:
                if job.state == "queued":
                    job.state = "cancelled"
                    err = EngineBusyError(
                        f"the engine did not take the command within {PICKUP_TIMEOUT_S:g} s (its "
                        "loop is busy: see the engine log); it was not run: send it again"
                    )
                    return err.http_status, _refused(command, err)
            job.done.wait(
                ACK_TIMEOUT_S
                + PICKUP_TIMEOUT_S
                + APPLY_TIMEOUT_S * _applies(command)
                + PTZ_WAIT_MAX_S * (command.command in PTZ_COMMANDS)
            )
        return job.reply or (500, _refused(command, NvrError("internal error; see the log")))

    # -- the loop ----------------------------------------------------------------------------

    def run_queued(self) -> None:
        """Run every command submitted since the last call."""
        try:
            while os.read(self._wake_r, 4096):
                pass
        except BlockingIOError:
            pass
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            with self._lock:
                if job.state != "queued":
                    continue
                job.state = "running"
            if self._refusing:
                self._finish(job, _STOPPING.http_status, _refused(job.command, _STOPPING))
                continue
            try:
                self._run(job)
            except NvrError as err:
                self._finish(job, err.http_status, _refused(job.command, err))
            except Exception:
                log.exception("command %s failed", job.command.command)
                internal = NvrError("internal error; see the engine log")
                self._finish(job, 500, _refused(job.command, internal))

    def on_ack(self, ack: Ack) -> None:
        job = self._waiting.get(ack.request_id)
        if job is None:
            return
        job.acks[ack.camera_id] = ack
        if job.expected <= job.acks.keys():
            self._answer(job)

    def on_ptz(self, reply: PtzReply) -> None:
        """A camera's worker answered a PTZ request."""
        job = self._waiting.pop(reply.request_id, None)
        if job is None:
            return
        command = job.command
        if reply.ok:
            said = CommandReply.to(
                command, True, ack_ms=reply.latency_ms, detail=_PTZ_DONE[command.command]
            )
            self._finish(job, 200, said)
            return
        code = "ptz_refused" if reply.refused else "ptz_failed"
        said = CommandReply.to(
            command, False, error=reply.error, code=code, ack_ms=reply.latency_ms
        )
        self._finish(job, 409 if reply.refused else 502, said)

    def expire(self) -> float | None:
        """Answer the commands whose acknowledgements are overdue; seconds to the next deadline."""
        now = self._clock.monotonic()
        upcoming = []
        for job in list(self._waiting.values()):
            left = (job.deadline or job.submitted + ACK_TIMEOUT_S) - now
            if left <= 0:
                self._answer(job)
            else:
                upcoming.append(left)
        return min(upcoming, default=None)

    @property
    def replies_ready(self) -> bool:
        return bool(self._done)

    def deliver(self) -> None:
        """Hand the finished replies to their API threads (after the health was published)."""
        done, self._done = self._done, []
        for job in done:
            job.done.set()

    def config_applied(self, status: ConfigStatus) -> None:
        """The configuration the waiting saves wrote is in force: answer them."""
        applying, self._applying = self._applying, []
        for job in applying:
            self._finish(job, 200, CommandReply.to(job.command, True, config=status))

    def forget_cameras(self, keep: set[str]) -> None:
        """Cameras gone from the configuration lose their manual request."""
        self.manual &= keep

    # -- internals ---------------------------------------------------------------------------

    def _run(self, job: _Job) -> None:
        command = job.command
        if command.command == "config_status":
            reply = CommandReply.to(command, True, config=self._workers.config_status())
            self._finish(job, 200, reply)
        elif command.command == "reload_config":
            self._workers.reload()  # picked up by the loop right after this
            self._finish(job, 202, CommandReply.to(command, True, detail="reload scheduled"))
        elif command.command in ("start_recording", "stop_recording"):
            active = command.command == "start_recording"
            job.targets = self._targets(command)
            if active:
                self.manual |= set(job.targets)
            else:
                self.manual -= set(job.targets)
            self._tell(job, "manual", active)
        elif command.command in ("ack_alarm", "clear_alarm"):
            self._alarm(job)
        elif command.command == "restart_worker":
            (camera_id,) = self._targets(command)
            who = command.params.get("by") or command.ui_session_id or "an unnamed client"
            self._workers.restart(camera_id, who)
            restarting = "the worker restarts now; /health shows it starting, then live"
            self._finish(job, 202, CommandReply.to(command, True, detail=restarting))
        elif command.command == "maintain_catalog":
            self._workers.maintain()
            checking = "the catalog is checked now; /health's catalog_check shows the result"
            self._finish(job, 202, CommandReply.to(command, True, detail=checking))
        elif command.command in ("save_config", "revert_config"):
            self._workers.edit_config(command)  # refused (NvrError) before anything is written
            self._applying.append(job)
        elif command.command == "protect":
            changed = self._workers.protect(command)
            verb = "protected" if command.params["protected"] else "released"
            counted = f"{changed} recording(s) {verb}"
            self._finish(job, 200, CommandReply.to(command, True, detail=counted))
        elif command.command in PTZ_COMMANDS:
            self._ptz(job)
        elif command.command == "watch_main":
            job.targets = self._targets(command)
            sent = self._workers.send(
                command.camera_id, WatchMain(command.params.get("seconds", 6))
            )
            detail = None if sent else "the camera's worker is not running; nothing is decoded"
            self._finish(job, 200 if sent else 202, CommandReply.to(command, sent, detail=detail))
        elif command.command == "panic":
            active = bool(command.params.get("active", True))
            self.panic = active
            job.targets = self._workers.cameras()
            log.warning(
                "PANIC recording %s (asked by %s)",
                "started on every camera" if active else "cleared",
                command.ui_session_id or "an unnamed client",
            )
            self._tell(job, "panic", active)
        else:  # parse_command lets only COMMANDS through
            raise RequestError(f"unknown command {command.command!r}; see the README's API")

    def _alarm(self, job: _Job) -> None:
        command = job.command
        which = alarm_ids(command.params)
        by = command.params.get("by") or command.ui_session_id or "an unnamed client"
        now_ns = self._clock.wall_ns()
        if command.command == "ack_alarm":
            changed = self._alarms.acknowledge(which, by, now_ns)
        else:
            changed = self._alarms.clear(which, by, now_ns)
        self._finish(job, 200, CommandReply.to(command, True, alarms=tuple(changed)))

    def _ptz(self, job: _Job) -> None:
        """Hand a PTZ request to the camera's worker; answered by ``on_ptz``."""
        command = job.command
        (camera_id,) = job.targets = self._targets(command)
        limit = self._workers.ptz_timeout(camera_id)
        if limit is None:
            raise ConflictError(
                f"{camera_id} has no PTZ: give it an onvif section in the configuration"
            )
        p = command.params
        action = _PTZ_ACTIONS[command.command]
        job.request_id = next(self._ids)
        request = PtzRequest(
            job.request_id,
            action,
            pan=float(p.get("pan", p.get("x", 0.0))),
            tilt=float(p.get("tilt", p.get("y", 0.0))),
            zoom=float(p.get("zoom", 0.0)),
            timeout_s=float(p.get("timeout_s", 1.0)),
            name=str(p.get("name", "")),
            replace=bool(p.get("replace", False)),
            new_name=str(p.get("new_name", "")),
        )
        if not self._workers.send(camera_id, request):
            raise ConflictError(f"{camera_id}'s worker is not running; PTZ waits for it")
        who = command.ui_session_id or "an unnamed client"
        if action in ("goto", "save", "rename", "remove"):
            log.warning("%s: PTZ preset %s %r by %s", camera_id, action, request.name, who)
        else:
            log.debug("%s: PTZ %s by %s", camera_id, action, who)
        wait = 3 * limit + (RENAME_WAIT_S if action == "rename" else 0.0) + 1.0
        job.deadline = self._clock.monotonic() + wait
        self._waiting[job.request_id] = job

    def _targets(self, command: Command) -> list[str]:
        cameras = self._workers.cameras()
        if command.every_camera:
            return cameras
        if command.camera_id in self._workers.disabled():
            raise ConflictError(
                f"camera {command.camera_id!r} is disabled in the configuration: enable it"
                " there first"
            )
        if command.camera_id not in cameras:
            raise UnknownCameraError(f"unknown camera {command.camera_id!r}")
        return [command.camera_id]

    def _tell(self, job: _Job, reason: str, active: bool) -> None:
        job.request_id = next(self._ids)
        message = SetRecording(job.request_id, reason, active)
        job.expected = {c for c in job.targets if self._workers.send(c, message)}
        if job.expected:
            self._waiting[job.request_id] = job
        else:
            self._answer(job)

    def _answer(self, job: _Job) -> None:
        self._waiting.pop(job.request_id, None)
        if job.command.command in PTZ_COMMANDS:  # its worker never answered
            late = EngineBusyError(
                f"{job.targets[0]}'s worker did not answer the PTZ request in time (it may be "
                "restarting); nothing more is sent to the camera"
            )
            self._finish(job, 504, _refused(job.command, late))
            return
        ack_ms = round((self._clock.monotonic() - job.submitted) * 1000, 1)
        cameras = {c: self._camera_ack(job.acks.get(c)) for c in job.targets}
        silent = [c for c, a in cameras.items() if not a.acknowledged]
        pending = [c for c, a in cameras.items() if a.pending]
        details = []
        if silent:
            details.append(NOT_ACKNOWLEDGED)
        if pending:
            details.append(
                f"{', '.join(pending)}: the stream is down, so nothing is being recorded; the "
                "request stays in force and applies when the stream returns"
            )
        ok = not details
        reply = CommandReply.to(
            job.command, ok, ack_ms=ack_ms, cameras=cameras, detail=" ".join(details) or None
        )
        self._finish(job, 200 if ok else 202, reply)

    @staticmethod
    def _camera_ack(ack: Ack | None) -> CameraAck:
        if ack is None:
            return CameraAck(False)
        # Wanted but not live: a request in force with nothing recorded.
        return CameraAck(True, ack.recording and ack.live, pending=ack.recording and not ack.live)

    def _finish(self, job: _Job, status: int, reply: CommandReply) -> None:
        job.reply = (status, reply)
        job.state = "done"
        self._done.append(job)


_PTZ_DONE = {
    "ptz_move": "moving; it stops unless the move is sent again within timeout_s",
    "ptz_stop": "stopped",
    "ptz_center": "turned toward the point",
    "ptz_goto_preset": "going to the preset",
    "ptz_save_preset": "preset saved on the camera",
    "ptz_remove_preset": "preset removed from the camera",
    "ptz_rename_preset": "preset renamed (the camera went to it to store the new name)",
}


def _applies(command: Command) -> bool:
    return command.command in ("save_config", "revert_config")


def _refused(command: Command, err: NvrError) -> CommandReply:
    return CommandReply.to(command, False, error=str(err), code=err.code)
