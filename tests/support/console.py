"""``nvr console`` as a real process on a virtual display, for the end-to-end tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.display import VirtualDisplay

ROOT = Path(__file__).resolve().parents[2]  # the repository

WIDTH, HEIGHT = 1280, 720


class ConsoleProcess:
    def __init__(
        self, display: VirtualDisplay, api: str, token_file: Path, state: Path, log: Path
    ) -> None:
        self.display, self.api, self.token_file = display, api, token_file
        self.state, self.log = state, log
        self.proc: subprocess.Popen[bytes] | None = None
        self.env: dict[str, str] = {}  # more environment (HOME for where exports go)
        self.args: list[str] = []  # more options

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "nvr",
                "console",
                "--api",
                self.api,
                "--token-file",
                str(self.token_file),
                "--state",
                str(self.state),
                "--size",
                f"{WIDTH}x{HEIGHT}",
                *self.args,
            ],
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            env={**self.display.env, **self.env},
        )

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode
