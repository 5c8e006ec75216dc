"""Fake IP cameras for tests: drives tests/support/rtsp_camera.py under the system Python.

The camera needs GStreamer's RTSP server through python3-gi, which lives in the Debian system
interpreter, not in the project's virtualenv; so this module never imports gi itself.
"""

from __future__ import annotations

import contextlib
import functools
import os
import selectors
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO

SYSTEM_PYTHON = "/usr/bin/python3"
SCRIPT = Path(__file__).with_name("rtsp_camera.py")

# Exit status of rtsp_camera.py when it cannot listen on its port.
_EXIT_PORT_BUSY = 3

_PROBE = """
import gi
for ns in ("Gst", "GstController", "GstRtspServer"):
    gi.require_version(ns, "1.0")
from gi.repository import Gst, GstController, GstRtspServer
Gst.init(None)
for name in ("videotestsrc", "compositor", "x264enc", "rtph264pay"):
    assert Gst.ElementFactory.find(name), name
"""


def _system_env() -> dict[str, str]:
    """Our environment minus what would point the system interpreter at the virtualenv."""
    drop = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    return {k: v for k, v in os.environ.items() if k not in drop}


@functools.cache
def gst_rtsp_available() -> bool:
    """Whether the system Python can run the camera (gi, GstRtspServer, x264enc, ...)."""
    try:
        probe = subprocess.run(
            [SYSTEM_PYTHON, "-c", _PROBE],
            env=_system_env(),
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing is listening on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RtspCamera:
    """Runs tests/support/rtsp_camera.py under /usr/bin/python3 as a subprocess.

    Mounts: ``moving/main``, ``moving/sub``, ``still/main``, ``still/sub``, ``counter/main``,
    ``counter/sub`` (frame numbers drawn in, ``counter.py``), ``noise/main`` and
    ``noise/sub`` (random RTP payload behind a valid SDP).
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        fps: int = 15,
        main_size: tuple[int, int] = (1920, 1080),
        sub_size: tuple[int, int] = (640, 360),
        gop: int = 15,
    ) -> None:
        self.port = free_port() if port is None else port
        self._args = [
            f"--port={self.port}",
            f"--fps={fps}",
            f"--main-size={main_size[0]}x{main_size[1]}",
            f"--sub-size={sub_size[0]}x{sub_size[1]}",
            f"--gop={gop}",
        ]
        self._proc: subprocess.Popen[str] | None = None
        self._stderr: IO[str] | None = None

    def url(self, mount: str) -> str:
        """RTSP URL of a mount, e.g. ``url("moving/main")``."""
        return f"rtsp://127.0.0.1:{self.port}/{mount.lstrip('/')}"

    def start(self, timeout_s: float = 20.0) -> None:
        """Launch the server and wait for it to listen; retries while the port is still busy."""
        if self._proc is not None:
            raise RuntimeError("RtspCamera already started")
        deadline = time.monotonic() + timeout_s
        while True:
            proc, stderr = self._launch()
            status = self._wait_ready(proc, deadline)
            if status is None:
                self._proc, self._stderr = proc, stderr
                return
            stderr.seek(0)
            detail = stderr.read().strip()
            stderr.close()
            if status == _EXIT_PORT_BUSY and time.monotonic() + 0.2 < deadline:
                time.sleep(0.2)
                continue
            raise RuntimeError(f"rtsp_camera on port {self.port} failed ({status}): {detail}")

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after 5 s); does nothing if not running."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        _terminate(proc)
        _close_pipes(proc)
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def revive(self, timeout_s: float = 20.0) -> str | None:
        """Start the server again on its port if it exited on its own; why it had ended (exit
        status and the end of its stderr), or None when it was running."""
        proc = self._running()
        if proc.poll() is None:
            return None
        why = f"exit status {proc.returncode}"
        if self._stderr is not None:
            self._stderr.seek(0)
            why += ": " + (self._stderr.read().strip()[-500:] or "nothing on stderr")
        self.stop()
        self.start(timeout_s)
        return why

    def set_size(self, mount: str, size: tuple[int, int], timeout_s: float = 10.0) -> None:
        """Switch a playing mount's resolution mid-session (new SPS/PPS at the next IDR)."""
        self._command(f"size {mount} {size[0]}x{size[1]}", timeout_s)

    def shift_timestamps(self, mount: str, seconds: float, timeout_s: float = 10.0) -> None:
        """Make a playing mount's RTP timestamps jump by ``seconds`` (negative: a clock reset)."""
        self._command(f"shift {mount} {seconds}", timeout_s)

    def set_clock_rate(self, mount: str, rate: float, timeout_s: float = 10.0) -> None:
        """Make a playing mount's clock run ``rate`` times as fast as real time from now on."""
        self._command(f"rate {mount} {rate}", timeout_s)

    def set_noise(self, mount: str, on: bool, timeout_s: float = 10.0) -> None:
        """Replace (or stop replacing) a playing mount's RTP payload with random bytes."""
        self._command(f"noise {mount} {'on' if on else 'off'}", timeout_s)

    def pause(self) -> None:
        """Freeze the server (SIGSTOP): connections stay open but no data flows."""
        self._running().send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        """Thaw a paused server (SIGCONT)."""
        self._running().send_signal(signal.SIGCONT)

    def restart(self, timeout_s: float = 20.0) -> None:
        """Stop, then start again on the same port."""
        self.stop()
        self.start(timeout_s)

    def __enter__(self) -> RtspCamera:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _running(self) -> subprocess.Popen[str]:
        if self._proc is None:
            raise RuntimeError("RtspCamera not started")
        return self._proc

    def _command(self, line: str, timeout_s: float) -> None:
        """Send one control command and wait for its answer (one at a time)."""
        proc = self._running()
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(timeout_s):
                raise RuntimeError(f"rtsp_camera did not answer {line!r} in {timeout_s} s")
        reply = proc.stdout.readline().strip()
        if reply != f"OK {line}":
            raise RuntimeError(f"rtsp_camera refused {line!r}: {reply or 'no answer'}")

    def _launch(self) -> tuple[subprocess.Popen[str], IO[str]]:
        # stderr goes to a file: a pipe nobody drains could fill up and stall the server.
        stderr = tempfile.TemporaryFile("w+", prefix="rtsp_camera-")  # noqa: SIM115
        proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(SCRIPT), *self._args],
            stdin=subprocess.PIPE,  # control commands (see rtsp_camera.py)
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=_system_env(),
            text=True,
        )
        return proc, stderr

    @staticmethod
    def _wait_ready(proc: subprocess.Popen[str], deadline: float) -> int | str | None:
        """None once READY is printed; else the exit status, or ``"timeout"`` (process killed)."""
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            while (remaining := deadline - time.monotonic()) > 0:
                if not sel.select(remaining):
                    continue
                line = proc.stdout.readline()
                if line.startswith("READY "):
                    return None
                if not line:  # EOF: the process is exiting
                    status = proc.wait()
                    _close_pipes(proc)
                    return status
        _terminate(proc)
        _close_pipes(proc)
        return "timeout"


def _close_pipes(proc: subprocess.Popen[str]) -> None:
    for pipe in (proc.stdin, proc.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):  # a dead server: nothing left to flush to
                pipe.close()


def _terminate(proc: subprocess.Popen[str]) -> None:
    """SIGCONT + SIGTERM the process (a stopped one cannot handle SIGTERM), SIGKILL if it hangs."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
