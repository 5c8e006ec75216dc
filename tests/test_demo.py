"""``nvr demo --headless`` for 30 s: synthetic cameras produce cataloged, playable recordings,
and the web server comes up beside the engine with a demo admin."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nvr.demo import CAMERAS
from nvr.storage.catalog import Catalog
from tests.conftest import ROOT
from tests.support.cameras import free_port
from tests.test_engine import check_playable

pytestmark = pytest.mark.slow


def test_demo_records_every_synthetic_camera(tmp_path: Path):
    data = tmp_path / "demo"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "nvr",
            "demo",
            "--headless",
            "--data",
            str(data),
            "--duration",
            "30",
            "--port",
            str(free_port()),
            "--web-port",
            str(free_port()),
        ],
        capture_output=True,
        text=True,
        timeout=180,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and " ERROR " not in result.stderr
    assert "web: listening on https://127.0.0.1:" in result.stdout  # nvr web came up too
    assert "demo: web login" in result.stdout and "user: demo" in result.stdout
    storage = data / "storage"
    with Catalog(storage / "catalog.db", readonly=True) as catalog:
        rows = catalog.recordings()
        events = catalog.motion_events()
        assert catalog.gaps() == []
    check_playable(storage, rows)
    on_disk = {
        p.relative_to(storage / "recordings").as_posix()
        for p in (storage / "recordings").rglob("*.mp4")
    }
    assert {r.file_path for r in rows} == on_disk
    for camera_id, mode in CAMERAS:
        mine = [r for r in rows if r.camera_id == camera_id]
        assert mine and {r.recording_type for r in mine} == {mode}, (camera_id, mine)
        assert all(r.width == 1920 and r.height == 1080 for r in mine)
        assert [e for e in events if e.camera_id == camera_id], f"no motion on {camera_id}"
    # Continuous cameras record without holes from their first frame to the stop (the start
    # itself may wait a few seconds for a cold Numba compile on a fresh machine).
    for camera_id, mode in CAMERAS:
        if mode != "continuous":
            continue
        segs = [r for r in rows if r.camera_id == camera_id]
        total_s = sum(r.duration_90k for r in segs) / 90000
        span_s = (segs[-1].end_ns - segs[0].start_ns) / 1e9
        assert abs(total_s - span_s) < 0.5 and 18 <= total_s <= 31, (camera_id, total_s, span_s)
