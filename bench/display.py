"""A private X server (Xvfb) for the console under test and under benchmark, with screenshots.

Screenshots are taken from the X server itself (``ffmpeg -f x11grab``), i.e. what an operator
would see, not what the application believes it drew.
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np


def xvfb_available() -> bool:
    return shutil.which("Xvfb") is not None and shutil.which("ffmpeg") is not None


class VirtualDisplay:
    """``Xvfb`` on a free display number; ``stop`` ends exactly the server this started."""

    def __init__(self, width: int = 1280, height: int = 720) -> None:
        self.width, self.height = width, height
        self.proc: subprocess.Popen[bytes] | None = None
        self.display = ""

    def start(self, timeout_s: float = 15.0) -> VirtualDisplay:
        read_fd, write_fd = os.pipe()
        self.proc = subprocess.Popen(
            [
                "Xvfb",
                "-displayfd",
                str(write_fd),
                "-screen",
                "0",
                f"{self.width}x{self.height}x24",
                "-nolisten",
                "tcp",
            ],
            pass_fds=(write_fd,),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(write_fd)
        # Xvfb writes the number and then a newline: read both before closing the pipe, or its
        # second write fails and the server exits ("Cannot write display number").
        received = b""
        deadline = time.monotonic() + timeout_s
        try:
            while not received.endswith(b"\n") and time.monotonic() < deadline:
                ready, _, _ = select.select(
                    [read_fd], [], [], max(0.0, deadline - time.monotonic())
                )
                chunk = os.read(read_fd, 32) if ready else b""
                if not chunk:
                    break
                received += chunk
        finally:
            os.close(read_fd)
        number = received.decode().strip() if received.endswith(b"\n") else ""
        if not number:
            self.stop()
            raise RuntimeError(f"Xvfb did not report a display within {timeout_s} s")
        self.display = f":{number}"
        return self

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "DISPLAY": self.display}

    def screenshot(self, path: Path) -> np.ndarray:
        """Grab the whole screen into ``path`` (PNG); returns it as an RGB array."""
        import cv2  # here, not at the top: the console's benchmark probe imports this module

        path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "ffmpeg",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "x11grab",
                "-video_size",
                f"{self.width}x{self.height}",
                "-i",
                self.display,
                "-frames:v",
                "1",
                str(path),
            ],
            check=True,
            timeout=30,
            env=self.env,
        )
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise RuntimeError(f"screenshot {path} is unreadable")
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)

    def xdotool(self, *args: str) -> None:
        subprocess.run(["xdotool", *args], check=True, timeout=10, env=self.env)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def __enter__(self) -> VirtualDisplay:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
