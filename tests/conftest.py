"""Shared fixtures: a real RTSP camera server, an engine process, API helpers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.cameras import RtspCamera, gst_rtsp_available

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"

requires_rtsp = pytest.mark.skipif(
    not gst_rtsp_available(),
    reason="GStreamer RTSP server not installed: run scripts/setup.sh",
)


def api_get(base: str, path: str, timeout: float = 5.0) -> Any:
    with urllib.request.urlopen(base + path, timeout=timeout) as resp:
        body = resp.read().decode()
    return body if path == "/metrics" else json.loads(body)


def api_command(base: str, command: str, camera_id: str = "*", **params: Any) -> tuple[int, Any]:
    body = json.dumps(
        {
            "schema_version": "2.0",
            "command": command,
            "camera_id": camera_id,
            "ui_session_id": "tests",
            "timestamp": time.strftime("%FT%TZ"),
            "params": params,
        }
    ).encode()
    req = urllib.request.Request(
        base + "/api/command",
        data=body,
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def wait_for(predicate, timeout: float, interval: float = 0.25, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` after timeout."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as err:  # the engine may not be up yet
            last_error = err
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what} ({last_error!r})")


class Engine:
    """``nvr run -c CONFIG`` as a real subprocess, with its API discovered from the run file."""

    def __init__(self, config: Path, storage: Path) -> None:
        self.config = config
        self.storage = storage
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = storage.parent / "engine.out"

    def start(self, timeout: float = 60.0) -> str:
        run_file = self.storage / "run" / "engine.json"
        run_file.unlink(missing_ok=True)
        self.storage.mkdir(parents=True, exist_ok=True)
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nvr", "run", "-c", str(self.config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        info = wait_for(lambda: self._run_info(run_file), timeout, what="engine API")
        self.api = info["api"]
        return self.api

    def _run_info(self, run_file: Path) -> dict | None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"engine exited with {self.proc.returncode}:\n{self.output()}")
        if not run_file.exists():
            return None
        info = json.loads(run_file.read_text())
        return info if info.get("pid") == self.proc.pid else None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""

    def health(self) -> dict:
        return api_get(self.api, "/health")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (clean stop), then SIGKILL this engine's process group if it hangs."""
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
            raise AssertionError(f"engine did not stop on SIGTERM:\n{self.output()}") from None


@pytest.fixture
def rtsp_camera() -> Iterator[RtspCamera]:
    if not gst_rtsp_available():
        pytest.skip("GStreamer RTSP server not installed: run scripts/setup.sh")
    camera = RtspCamera()
    camera.start()
    try:
        yield camera
    finally:
        camera.stop()


@pytest.fixture
def engine_factory(tmp_path: Path) -> Iterator[Any]:
    engines: list[Engine] = []

    def make(config_text: str) -> Engine:
        config = tmp_path / "nvr.yaml"
        config.write_text(config_text)
        engine = Engine(config, tmp_path / "storage")
        engines.append(engine)
        return engine

    yield make
    for engine in engines:
        if engine.proc is not None and engine.proc.poll() is None:
            with contextlib.suppress(AssertionError):
                engine.stop()
