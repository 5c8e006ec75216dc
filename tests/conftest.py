"""Shared fixtures: a real RTSP camera server, an engine process, API helpers."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nvr.protocol.runfile import RunFile, read_run_file, read_token, run_file_path
from tests.support.api import TOKENS, api_command, api_get
from tests.support.cameras import RtspCamera, gst_rtsp_available

__all__ = ["api_command", "api_get"]  # tests import them from here

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"

requires_rtsp = pytest.mark.skipif(
    not gst_rtsp_available(),
    reason="GStreamer RTSP server not installed: run scripts/setup.sh",
)


def _free_disk() -> str:
    folder = tempfile.gettempdir()
    usage = shutil.disk_usage(folder)
    return f"{usage.free / 1e9:.1f} GB free of {usage.total / 1e9:.1f} GB in {folder}"


def pytest_report_header() -> str:
    """The test files' disk, in the header: engines write real recordings there (a passing
    test's folder is removed at its end, see ``tmp_path_retention_policy``)."""
    return f"disk for test files: {_free_disk()}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(f"disk for test files at the end: {_free_disk()}")


class Hopeless(AssertionError):
    """Raised by a ``wait_for`` predicate when its condition can never hold (the engine
    exited): the wait fails at once instead of at its timeout."""


def wait_for(predicate, timeout: float, interval: float = 0.25, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail with ``what`` after timeout."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Hopeless:
            raise
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
        run_file_path(self.storage).unlink(missing_ok=True)
        out = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "nvr", "run", "-c", str(self.config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            start_new_session=True,
        )
        info = wait_for(self._run_info, timeout, what="engine API")
        self.api = info.api
        TOKENS[self.api] = read_token(self.storage)
        return self.api

    def _run_info(self) -> RunFile | None:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise Hopeless(f"engine exited with {self.proc.returncode}:\n{self.output()}")
        if not run_file_path(self.storage).exists():
            return None
        info = read_run_file(self.storage)
        return info if info.pid == self.proc.pid else None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:] if self.log.exists() else ""

    def health(self) -> dict:
        return api_get(self.api, "/health")

    def alarms(self) -> list[dict]:
        return api_get(self.api, "/api/alarms")["alarms"]

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


@pytest.fixture(scope="session")
def web_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One camera server, engine and ``nvr web`` (TLS auto) with a user per role, shared by
    the web tests (they make their own sessions)."""
    from tests.support.onvif_camera import OnvifCamera, Preset
    from tests.support.web import Site, WebServer, create_users, site_config

    if not gst_rtsp_available():
        pytest.skip("GStreamer RTSP server not installed: run scripts/setup.sh")
    tmp = tmp_path_factory.mktemp("web")
    storage = tmp / "storage"
    with RtspCamera(sub_size=(640, 360)) as camera, OnvifCamera() as onvif:
        onvif.presets["1"] = Preset("1", "gate", (0.25, 0.1, 0.0))
        config = tmp / "nvr.yaml"
        config.write_text(site_config(storage, camera, onvif.port))
        engine = Engine(config, storage)
        engine.start()
        try:
            wait_for(
                lambda: (
                    engine.health()["cameras"]["door"]["state"] == "live"
                    and (engine.health()["cameras"]["yard"].get("ptz") or {}).get("reachable")
                ),
                60,
                what="camera door live and yard's PTZ connected",
            )
            create_users(config)
            with WebServer(config, tmp / "web.out") as web:
                site = Site(tmp, engine, web)
                site.onvif = onvif
                yield site
        finally:
            engine.stop()


@pytest.fixture
def context() -> Iterator[None]:
    """A Dear PyGui context for a test that builds console items (no window is shown)."""
    import dearpygui.dearpygui as dpg  # only the console's tests load it

    dpg.create_context()
    try:
        yield
    finally:
        dpg.destroy_context()


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
